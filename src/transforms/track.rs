//! The `--track` filter: keeps the tweets that match any of a list of
//! phrases, with the semantics of the Twitter streaming API's `track`
//! parameter (the original tutorial's `Stream.filter(track=['u.s.'])`).
//!
//! - `--track 'u.s.,delta air'` is two phrases; a tweet is kept if it matches
//!   either.
//! - A phrase of several terms (separated by spaces) matches when every term
//!   matches, in any order, anywhere in the tweet.
//! - A term matches a word of the tweet (a run of characters between
//!   whitespace), ignoring case, when the word is the term with only
//!   punctuation before it (such as `#`, `@`, `(` or `"`) and either nothing
//!   or punctuation right after it: `u.s.` matches `U.S.,` and `#U.S.` but not
//!   `us` or `U.S.A.`; `united` matches `#United`, `United's` and `(united)`,
//!   but not `unitedairlines`. Punctuation here is any character that is not
//!   a letter or a digit.
//!
//! Matching takes time in proportion to the tweet, not to the phrases: the
//! terms are in a hash table, and each word of the tweet is looked up by the
//! few strings a term would have to be to match it ([`candidates`]); then
//! only the phrases of the terms found are counted. (Trying every phrase on
//! every tweet made 400 phrases, the most the streaming API allowed, 200
//! times slower than one.) The straightforward matcher stays in the tests,
//! as the oracle.

use rustc_hash::FxHashMap;
use std::cell::RefCell;

/// Parsed `--track` phrases (terms lowercased).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    phrases: Vec<Vec<String>>,
    index: Index,
}

/// Phrases at most, and bytes per term at most (the streaming API allowed 400
/// phrases of 60 bytes).
pub const MAX_PHRASES: usize = 400;
pub const MAX_TERM_BYTES: usize = 60;

/// The phrases, indexed by their terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Index {
    /// Each distinct term, with its number.
    terms: FxHashMap<Box<str>, u32>,
    /// By term number: the phrases it is in.
    phrases_of: Vec<Vec<u32>>,
    /// By phrase: how many distinct terms it has.
    sizes: Vec<u32>,
}

impl Index {
    fn new(phrases: &[Vec<String>]) -> Index {
        let mut index = Index::default();
        for (p, terms) in phrases.iter().enumerate() {
            let mut distinct: Vec<&str> = terms.iter().map(String::as_str).collect();
            distinct.sort_unstable();
            distinct.dedup();
            index.sizes.push(distinct.len() as u32);
            for term in distinct {
                let next = index.terms.len() as u32;
                let id = *index.terms.entry(term.into()).or_insert(next);
                if id == next {
                    index.phrases_of.push(Vec::new());
                }
                index.phrases_of[id as usize].push(p as u32);
            }
        }
        index
    }
}

/// What a match needs besides the index, kept per thread between tweets.
#[derive(Default)]
struct Scratch {
    /// Terms found in the tweet (numbers), each once after a dedup.
    found: Vec<u32>,
    /// By phrase: (stamp, how many of its terms were found) as of `stamp`.
    hits: Vec<(u32, u32)>,
    stamp: u32,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

impl Track {
    /// Parses comma-separated phrases; empty phrases, too many phrases and
    /// overlong terms are errors that say which.
    pub fn parse(spec: &str) -> Result<Track, String> {
        let mut phrases = Vec::new();
        for (i, phrase) in spec.split(',').enumerate() {
            let terms: Vec<String> = phrase.split_whitespace().map(str::to_lowercase).collect();
            if terms.is_empty() {
                return Err(format!("phrase {} is empty (phrases are separated by commas)", i + 1));
            }
            if let Some(long) = terms.iter().find(|t| t.len() > MAX_TERM_BYTES) {
                return Err(format!("the term {long:?} is longer than {MAX_TERM_BYTES} bytes"));
            }
            phrases.push(terms);
        }
        if phrases.len() > MAX_PHRASES {
            return Err(format!("{} phrases; at most {MAX_PHRASES}", phrases.len()));
        }
        let index = Index::new(&phrases);
        Ok(Track { phrases, index })
    }

    /// Whether `text` matches any phrase. `scratch` holds the lowercased text.
    pub fn matches(&self, text: &str, scratch: &mut String) -> bool {
        lowercase(text, scratch);
        let index = &self.index;
        SCRATCH.with_borrow_mut(|s| {
            s.found.clear();
            for word in scratch.split_whitespace() {
                candidates(word, |term| {
                    if let Some(&id) = index.terms.get(term) {
                        s.found.push(id);
                    }
                });
            }
            if s.found.is_empty() {
                return false;
            }
            s.found.sort_unstable();
            s.found.dedup();
            s.stamp = s.stamp.wrapping_add(1);
            if s.stamp == 0 || s.hits.len() < index.sizes.len() {
                // A larger index than before on this thread, or the stamps
                // went round: start afresh.
                s.hits.clear();
                s.hits.resize(index.sizes.len(), (0, 0));
                s.stamp = 1;
            }
            let Scratch { found, hits, stamp } = s;
            for &term in found.iter() {
                for &p in &index.phrases_of[term as usize] {
                    let (at, n) = &mut hits[p as usize];
                    if *at != *stamp {
                        (*at, *n) = (*stamp, 0);
                    }
                    *n += 1;
                    if *n == index.sizes[p as usize] {
                        return true;
                    }
                }
            }
            false
        })
    }
}

fn lowercase(text: &str, into: &mut String) {
    into.clear();
    if text.is_ascii() {
        into.extend(text.bytes().map(|b| b.to_ascii_lowercase() as char));
    } else {
        into.push_str(&text.to_lowercase());
    }
}

fn punctuation(c: char) -> bool {
    !c.is_alphanumeric()
}

/// Calls `term` with every string a term would have to be to match `word`
/// (lowercased): one that starts where only punctuation is before it, and
/// ends at the word's end or before a punctuation character. A word has few:
/// `#u.s.,` has 8 (from byte 0 or 1, to 2, 4, 5 or 6), a plain word one.
fn candidates(word: &str, mut term: impl FnMut(&str)) {
    let lead = word.find(|c: char| !punctuation(c)).unwrap_or(word.len());
    let starts = word[..lead].char_indices().map(|(i, _)| i).chain(std::iter::once(lead));
    for start in starts {
        let rest = &word[start..];
        for (end, c) in rest.char_indices().skip(1) {
            if end > MAX_TERM_BYTES {
                break;
            }
            if punctuation(c) {
                term(&rest[..end]);
            }
        }
        if !rest.is_empty() && rest.len() <= MAX_TERM_BYTES {
            term(rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The straightforward matcher, the oracle: every phrase, every term,
    /// every word.
    fn matches_slowly(track: &Track, text: &str) -> bool {
        let mut lower = String::new();
        lowercase(text, &mut lower);
        let words = || lower.split_whitespace();
        track.phrases.iter().any(|terms| terms.iter().all(|t| words().any(|w| word_matches(w, t))))
    }

    /// Whether `word` (lowercased) is `term` with only punctuation before it
    /// and nothing or punctuation after it.
    fn word_matches(word: &str, term: &str) -> bool {
        word.match_indices(term).any(|(at, _)| {
            let (before, after) = (&word[..at], &word[at + term.len()..]);
            before.chars().all(punctuation) && after.chars().next().is_none_or(punctuation)
        })
    }

    /// Words made of pieces that terms are made of too, with punctuation
    /// around and between: matches and near misses.
    fn text() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "u",
            "s",
            "us",
            "u.s.",
            "delta",
            "air",
            "#",
            "@",
            "(",
            ")",
            ".",
            ",",
            "'",
            "-",
            "é",
            "É",
            "ß",
            "x1",
            "1",
            "United",
            "unitedairlines",
            "DELTA",
            "Air",
            "\u{ff03}",
            "İ",
        ]);
        let word = prop::collection::vec(piece, 1..4).prop_map(|p| p.concat());
        prop::collection::vec(word, 0..8).prop_map(|w| w.join(" "))
    }

    fn spec() -> impl Strategy<Value = String> {
        let term = prop::sample::select(vec![
            "u.s.", "us", "u", "delta", "air", "#delta", "united", "é", "x1", "s", "(u", "united's", "1",
            "ß", "i̇",
        ]);
        let phrase = prop::collection::vec(term, 1..3).prop_map(|t| t.join(" "));
        prop::collection::vec(phrase, 1..12).prop_map(|p| p.join(","))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn the_index_agrees_with_trying_every_phrase(spec in spec(), text in text()) {
            let track = Track::parse(&spec).unwrap();
            let fast = track.matches(&text, &mut String::new());
            prop_assert_eq!(fast, matches_slowly(&track, &text), "{:?} on {:?}", spec, text);
        }
    }

    #[test]
    fn four_hundred_phrases_agree_with_the_oracle() {
        let spec: Vec<String> = (0..400).map(|i| format!("term{i} t{}", i % 7)).collect();
        let track = Track::parse(&spec.join(",")).unwrap();
        for text in ["term5 and t5", "#TERM399, (t0)", "term12 t3", "nothing here", "t6 term6's"] {
            assert_eq!(track.matches(text, &mut String::new()), matches_slowly(&track, text), "{text}");
        }
        assert!(track.matches("#TERM399, (t0)", &mut String::new()));
    }

    fn keeps(spec: &str, text: &str) -> bool {
        Track::parse(spec).unwrap().matches(text, &mut String::new())
    }

    #[test]
    fn the_examples_of_the_rules() {
        for text in ["Flying to the U.S., finally", "#U.S. elections", "(u.s.) news"] {
            assert!(keeps("u.s.", text), "{text}");
        }
        for text in ["us and them", "the U.S.A. today", "USA", "u.s"] {
            assert!(!keeps("u.s.", text), "{text}");
        }
        for text in ["#United rocks", "United's new plane", "@united help"] {
            assert!(keeps("united", text), "{text}");
        }
        assert!(!keeps("united", "@unitedairlines help"));
        assert!(keeps("delta air", "Air travel with #Delta"));
        assert!(!keeps("delta air", "Delta flights only"));
        assert!(keeps("delta air,u.s.", "back in the U.S."));
    }

    #[test]
    fn bad_specs_say_why() {
        assert!(Track::parse("a,,b").unwrap_err().contains("phrase 2 is empty"));
        assert!(Track::parse(&"x".repeat(61)).unwrap_err().contains("longer than 60"));
        assert!(Track::parse(&vec!["a"; 401].join(",")).unwrap_err().contains("at most 400"));
    }
}
