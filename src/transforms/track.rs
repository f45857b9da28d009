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

/// Parsed `--track` phrases (terms lowercased).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    phrases: Vec<Vec<String>>,
}

/// Phrases at most, and bytes per term at most (the streaming API allowed 400
/// phrases of 60 bytes).
pub const MAX_PHRASES: usize = 400;
pub const MAX_TERM_BYTES: usize = 60;

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
        Ok(Track { phrases })
    }

    /// Whether `text` matches any phrase. `scratch` holds the lowercased text.
    pub fn matches(&self, text: &str, scratch: &mut String) -> bool {
        scratch.clear();
        if text.is_ascii() {
            scratch.extend(text.bytes().map(|b| b.to_ascii_lowercase() as char));
        } else {
            scratch.push_str(&text.to_lowercase());
        }
        let words = || scratch.split_whitespace();
        self.phrases.iter().any(|terms| terms.iter().all(|t| words().any(|w| word_matches(w, t))))
    }
}

/// Whether `word` (lowercased) is `term` with only punctuation before it and
/// nothing or punctuation after it.
fn word_matches(word: &str, term: &str) -> bool {
    let punctuation = |c: char| !c.is_alphanumeric();
    word.match_indices(term).any(|(at, _)| {
        let (before, after) = (&word[..at], &word[at + term.len()..]);
        before.chars().all(punctuation) && after.chars().next().is_none_or(punctuation)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
