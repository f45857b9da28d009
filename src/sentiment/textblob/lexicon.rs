//! TextBlob's sentiment lexicon (`en-sentiment.xml`, from Pattern), embedded at
//! build time and loaded the way `textblob.en.Sentiment.load` loads it, in one
//! table with the other tokens the assessments have a rule for (negations,
//! `!`, `(!)`, emoticons), so that a token is looked up once.
//!
//! What a lookup needs is the entry for part of speech `None` (TextBlob tags no
//! words when it scores a plain string) and whether the word has an `RB` sense
//! (such a word modifies the next one). Loading builds exactly that, in Python's
//! order of operations so that every average is the same double:
//! 1. each `<word>` adds a `(polarity, subjectivity, intensity)` to its form's
//!    part of speech, in file order;
//! 2. senses are averaged per part of speech (`sum(xs) / len(xs)`, summed left
//!    to right), then the parts of speech are averaged in first-seen order;
//! 3. every adjective (`JJ`) derives an adverb: `y` → `i`, a final `le` dropped,
//!    then `ly` ("terrible" → "terribly", "happy" → "happily"), whose `RB` and
//!    `None` entries become the adjective's `JJ` average, overwriting what the
//!    file says for that adverb; the last adjective to derive a form wins.

use super::tokenizer::{EMOTICONS, PUNCTUATION};
use crate::sentiment::word_table::{Key, WordTable};
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

const XML: &str = include_str!("data/en-sentiment.xml");

/// A word's scores, as TextBlob looks them up for an untagged word.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Entry {
    polarity: f64,
    subjectivity: f64,
    intensity: f64,
    /// The word has an adverb (`RB`) sense, so it modifies the next known word.
    modifier: bool,
}

/// What a lowercased token means to the assessments: a word of the lexicon
/// with its scores, or a token with a rule of its own, or nothing (the
/// default).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Word {
    pub kind: Kind,
    /// A known word's scores; an emoticon's polarity.
    pub polarity: f64,
    pub subjectivity: f64,
    pub intensity: f64,
    /// For a known word with an adverb sense (it modifies the next known
    /// word): whether it ends in "ly".
    pub modifier: Option<bool>,
    /// One of Python's `negations`: "no", "not", "n't", "never".
    pub negation: bool,
}

/// Which rule of the assessments a token takes. A word of the lexicon takes
/// no other (Python tests the lexicon first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    #[default]
    Other,
    /// A word of the lexicon.
    Known,
    /// `!`: boosts the last assessment.
    Exclamation,
    /// `(!)`: an ironic assessment.
    Irony,
    /// An emoticon: an assessment with its mood's polarity.
    Emoticon,
}

/// The lexicon and the rule tokens: lowercase forms to what they mean, in a
/// perfect hash (every form is short enough for a [`Key`]; the lexicon test
/// checks it).
pub struct Lexicon {
    words: WordTable<Word>,
    #[cfg(test)]
    len: usize,
}

/// The word table's first working attempt for this lexicon (see
/// [`WordTable::new`]; a test holds it).
const TABLE_ATTEMPT: u32 = 2;

impl Lexicon {
    /// The lexicon, loaded once per process.
    pub fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(|| Lexicon::load(XML))
    }

    /// What a lowercased word means.
    #[cfg(test)]
    pub fn lookup(&self, word: &str) -> Word {
        self.words.get(&Key::new(word.as_bytes()).unwrap_or(Key::NONE))
    }

    /// What a lowercased word means, by its key.
    #[inline(always)]
    pub fn word(&self, key: &Key) -> Word {
        self.words.get(key)
    }

    fn load(xml: &str) -> Lexicon {
        // form → [(part of speech, senses)], both in first-seen order.
        type Senses = Vec<[f64; 3]>;
        let mut order: Vec<&str> = Vec::new();
        let mut forms: FxHashMap<&str, Vec<(Option<&str>, Senses)>> = FxHashMap::default();
        for element in xml.split("<word ").skip(1) {
            let element = element.split("/>").next().unwrap_or("");
            let Some(form) = attribute(element, "form").filter(|f| !f.is_empty()) else {
                continue;
            };
            let number = |name, default| attribute(element, name).map_or(default, parse_float);
            let psi = [number("polarity", 0.0), number("subjectivity", 0.0), number("intensity", 1.0)];
            let pos = attribute(element, "pos");
            let tags = forms.entry(form).or_insert_with(|| {
                order.push(form);
                Vec::new()
            });
            match tags.iter_mut().find(|(p, _)| *p == pos) {
                Some((_, senses)) => senses.push(psi),
                None => tags.push((pos, vec![psi])),
            }
        }
        let mut words: FxHashMap<Box<str>, Entry> = FxHashMap::default();
        let mut adjectives: Vec<(&str, [f64; 3])> = Vec::new();
        for form in &order {
            let per_pos: Vec<(Option<&str>, [f64; 3])> =
                forms[form].iter().map(|(pos, senses)| (*pos, average(senses))).collect();
            let all: Vec<[f64; 3]> = per_pos.iter().map(|(_, psi)| *psi).collect();
            let [polarity, subjectivity, intensity] = average(&all);
            let modifier = per_pos.iter().any(|(pos, _)| *pos == Some("RB"));
            words.insert((*form).into(), Entry { polarity, subjectivity, intensity, modifier });
            if let Some((_, jj)) = per_pos.iter().find(|(pos, _)| *pos == Some("JJ")) {
                adjectives.push((form, *jj));
            }
        }
        for (form, [polarity, subjectivity, intensity]) in adjectives {
            let mut adverb = match form.strip_suffix('y') {
                Some(stem) => format!("{stem}i"),
                None => form.to_owned(),
            };
            if adverb.ends_with("le") {
                adverb.truncate(adverb.len() - 2);
            }
            adverb.push_str("ly");
            words.insert(adverb.into(), Entry { polarity, subjectivity, intensity, modifier: true });
        }
        let mut table: FxHashMap<Box<str>, Word> = words
            .iter()
            .map(|(form, e)| {
                let modifier = e.modifier.then(|| form.ends_with("ly"));
                let (polarity, subjectivity, intensity) = (e.polarity, e.subjectivity, e.intensity);
                let word =
                    Word { kind: Kind::Known, polarity, subjectivity, intensity, modifier, negation: false };
                (form.clone(), word)
            })
            .collect();
        add_rule_tokens(&mut table);
        let keyed: FxHashMap<Key, Word> = table
            .iter()
            .map(|(form, word)| (Key::new(form.as_bytes()).expect("a form short enough for a key"), *word))
            .collect();
        Lexicon {
            words: WordTable::new(&keyed, TABLE_ATTEMPT),
            #[cfg(test)]
            len: words.len(),
        }
    }
}

/// Adds the tokens the assessments have a rule for. Negation holds for known
/// words too; the other rules only for words the lexicon does not have.
/// Emoticons are Python's: only tokens that are not alphabetic (so `xd` never
/// counts), of at most five characters and not a substring of `PUNCTUATION`
/// are checked, against each mood in order, lowercased.
fn add_rule_tokens(table: &mut FxHashMap<Box<str>, Word>) {
    for negation in ["no", "not", "n't", "never"] {
        table.entry(negation.into()).or_default().negation = true;
    }
    let mut rule = |token: &str, kind, polarity| {
        let word = table.entry(token.into()).or_default();
        if word.kind == Kind::Other {
            (word.kind, word.polarity) = (kind, polarity);
        }
    };
    rule("!", Kind::Exclamation, 0.0);
    rule("(!)", Kind::Irony, 0.0);
    for (polarity, mood) in EMOTICONS {
        for e in *mood {
            let e = e.to_lowercase();
            if !e.chars().all(char::is_alphabetic) && e.chars().count() <= 5 && !PUNCTUATION.contains(&e) {
                rule(&e, Kind::Emoticon, *polarity);
            }
        }
    }
}

/// Python's `avg` per column: `sum(column) / float(len(column) or 1)`.
fn average(rows: &[[f64; 3]]) -> [f64; 3] {
    let mut sums = [0.0f64; 3];
    for row in rows {
        for (sum, x) in sums.iter_mut().zip(row) {
            *sum += x;
        }
    }
    let n = rows.len().max(1) as f64;
    sums.map(|s| s / n)
}

/// Python's `float(text)` for the lexicon's numbers (all plain decimals); an
/// unreadable one counts as 0, which the lexicon test would show.
fn parse_float(text: &str) -> f64 {
    text.trim().parse().unwrap_or(0.0)
}

/// The value of attribute `name` in the text of one element: the attributes
/// are read in order as `name="value"` pairs (the lexicon's values hold no
/// entities or quotes; the lexicon test checks it).
fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = element;
    loop {
        rest = rest.trim_start();
        let (key, after) = rest.split_once("=\"")?;
        let (value, after) = after.split_once('"')?;
        if key.trim() == name {
            return Some(value);
        }
        rest = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As VADER's: the table is built at the first attempt tried.
    #[test]
    fn the_word_table_is_built_at_its_first_attempt() {
        assert_eq!(Lexicon::get().words.attempt(), TABLE_ATTEMPT);
    }

    #[test]
    fn loads_every_form_and_derives_adverbs() {
        let lex = Lexicon::get();
        // 2,860 entries in Python (`len(dict.keys(sentiment))` after load).
        assert_eq!(lex.len, 2860);
        let words = XML.split("<word ").skip(1);
        assert!(words.clone().all(|w| !w.contains('&')), "the lexicon now holds entities: decode them");
        let great = lex.lookup("great");
        assert!(great.kind == Kind::Known && great.polarity > 0.0 && great.modifier.is_none());
        let very = lex.lookup("very");
        assert!(very.modifier == Some(false) && very.intensity > 1.0);
        // "terrible" → "terribly", "happy" → "happily", both adverbs.
        for (adjective, adverb) in [("terrible", "terribly"), ("happy", "happily")] {
            let (a, b) = (lex.lookup(adjective), lex.lookup(adverb));
            assert_eq!(b.modifier, Some(true), "{adverb}");
            assert_eq!(a.polarity.signum(), b.polarity.signum(), "{adverb}");
        }
    }

    /// The rule tokens, as Python's `assessments` tests them.
    #[test]
    fn rule_tokens_take_their_rules() {
        let lex = Lexicon::get();
        for w in ["no", "not", "n't", "never"] {
            assert!(lex.lookup(w).negation, "{w}");
        }
        for w in ["nor", "none", "n", "not!", "No"] {
            assert!(!lex.lookup(w).negation, "{w}");
        }
        assert_eq!(lex.lookup("!").kind, Kind::Exclamation);
        assert_eq!(lex.lookup("(!)").kind, Kind::Irony);
        let emoticon = |w: &str| {
            let word = lex.lookup(w);
            (word.kind == Kind::Emoticon).then_some(word.polarity)
        };
        // The first mood listing a token wins; both sides are lowercased
        // (":D" is found as ":d"), and "xd" is alphabetic, so never checked.
        for (w, p) in
            [(":)", Some(0.5)), (":-)", Some(0.5)), (":(", Some(-0.75)), ("<3", Some(1.0)), ("♥", Some(1.0))]
        {
            assert_eq!(emoticon(w), p, "{w}");
        }
        for (w, p) in [
            ("°o°", Some(0.05)),
            (":'''(", Some(-1.0)),
            (":p", Some(0.75)),
            (">:o", Some(0.05)),
            ("o_o", Some(0.05)),
        ] {
            assert_eq!(emoticon(w), p, "{w}");
        }
        for (w, p) in [(":d", Some(1.0)), ("x-d", Some(1.0)), (":-b", Some(0.75)), (":s", Some(-0.25))] {
            assert_eq!(emoticon(w), p, "{w}");
        }
        for w in ["xd", ":", ")", "(", "o-o", ":-p)", "great", "!"] {
            assert_eq!(emoticon(w), None, "{w}");
        }
    }

    #[test]
    fn attributes_are_found_by_whole_name() {
        let e = r#"form="x" wordnet_id="a-1" pos="JJ" sense="a pos=" polarity="-0.5""#;
        assert_eq!(attribute(e, "pos"), Some("JJ"));
        assert_eq!(attribute(e, "polarity"), Some("-0.5"));
        assert_eq!(attribute(e, "intensity"), None);
    }
}
