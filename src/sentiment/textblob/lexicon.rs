//! TextBlob's sentiment lexicon (`en-sentiment.xml`, from Pattern), embedded at
//! build time and loaded the way `textblob.en.Sentiment.load` loads it.
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

use crate::sentiment::word_table::{Key, WordTable};
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

const XML: &str = include_str!("data/en-sentiment.xml");

/// A word's scores, as TextBlob looks them up for an untagged word.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry {
    pub polarity: f64,
    pub subjectivity: f64,
    pub intensity: f64,
    /// The word has an adverb (`RB`) sense, so it modifies the next known word.
    pub modifier: bool,
}

/// The lexicon: lowercase forms to entries, in a perfect hash (every form is
/// short enough for a [`Key`]; the lexicon test checks it).
pub struct Lexicon {
    words: WordTable<Option<Entry>>,
    #[cfg(test)]
    len: usize,
}

impl Lexicon {
    /// The lexicon, loaded once per process.
    pub fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(|| Lexicon::load(XML))
    }

    /// The entry of a lowercased word.
    #[cfg(test)]
    pub fn lookup(&self, word: &str) -> Option<Entry> {
        self.words.get(&Key::new(word.as_bytes())?)
    }

    /// The entry of a lowercased word's key.
    #[inline(always)]
    pub fn entry(&self, key: &Key) -> Option<Entry> {
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
        let keyed: FxHashMap<Key, Option<Entry>> = words
            .iter()
            .map(|(form, entry)| {
                (Key::new(form.as_bytes()).expect("a form short enough for a key"), Some(*entry))
            })
            .collect();
        Lexicon {
            words: WordTable::new(&keyed),
            #[cfg(test)]
            len: words.len(),
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

    #[test]
    fn loads_every_form_and_derives_adverbs() {
        let lex = Lexicon::get();
        // 2,860 entries in Python (`len(dict.keys(sentiment))` after load).
        assert_eq!(lex.len, 2860);
        let words = XML.split("<word ").skip(1);
        assert!(words.clone().all(|w| !w.contains('&')), "the lexicon now holds entities: decode them");
        let great = lex.lookup("great").unwrap();
        assert!(great.polarity > 0.0 && !great.modifier);
        let very = lex.lookup("very").unwrap();
        assert!(very.modifier && very.intensity > 1.0);
        // "terrible" → "terribly", "happy" → "happily", both adverbs.
        for (adjective, adverb) in [("terrible", "terribly"), ("happy", "happily")] {
            let (a, b) = (lex.lookup(adjective).unwrap(), lex.lookup(adverb).unwrap());
            assert!(b.modifier, "{adverb}");
            assert_eq!(a.polarity.signum(), b.polarity.signum(), "{adverb}");
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
