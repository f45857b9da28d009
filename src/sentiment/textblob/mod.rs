//! TextBlob's polarity and subjectivity: a faithful port of TextBlob 0.20.1's
//! `TextBlob(text).sentiment` (the default `PatternAnalyzer`), bit-identical to
//! it: the same tokens, the same lexicon averages, the same arithmetic in the
//! same order.
//!
//! ```
//! use tweetstream::sentiment::textblob::TextBlob;
//! let mut blob = TextBlob::new();
//! let s = blob.sentiment("The movie was very good!");
//! assert!(s.polarity > 0.9 && s.subjectivity > 0.5);
//! ```
//!
//! The lexicon (`data/en-sentiment.xml`, from Pattern, PDDL; TextBlob is MIT,
//! `data/LICENSE-TextBlob.txt`) is embedded in the binary.
//!
//! How a text is scored (`textblob._text.Sentiment.__call__` and
//! `assessments`): the lowercased tokens are read in order; each word of the
//! lexicon opens an assessment (or, right after a modifier such as "very",
//! takes over the modifier's, multiplied by its intensity); a negation ("no",
//! "not", "never", "n't") before it inverts the intensity and flips and halves
//! the polarity; `!` boosts the last assessment by 1.25; `(!)` adds an ironic
//! (0 polarity, 1 subjectivity) one, and an emoticon one with its mood's
//! polarity. Polarity and subjectivity are the means over the assessments.

mod lexicon;
mod tokenizer;

use rustc_hash::FxHashMap;
use std::sync::OnceLock;

use lexicon::Lexicon;
use tokenizer::{EMOTICONS, Tokenizer};

/// What TextBlob returns for a text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sentiment {
    /// -1.0 (negative) to 1.0 (positive).
    pub polarity: f64,
    /// 0.0 (objective) to 1.0 (subjective).
    pub subjectivity: f64,
}

/// One assessed chunk (Python's `dict(w=…, p=…, s=…, i=…, n=…)`).
#[derive(Clone, Copy, Debug)]
struct Assessment {
    polarity: f64,
    subjectivity: f64,
    intensity: f64,
    negated: bool,
}

/// A TextBlob scorer; reuses its buffers from one text to the next.
pub struct TextBlob {
    lexicon: &'static Lexicon,
    tokenizer: Tokenizer,
    assessments: Vec<Assessment>,
    lower: String,
}

impl Default for TextBlob {
    fn default() -> Self {
        TextBlob::new()
    }
}

/// Python's `max(-1.0, min(x, +1.0))`.
#[inline]
fn clamp(x: f64) -> f64 {
    let x = if 1.0 < x { 1.0 } else { x };
    if x > -1.0 { x } else { -1.0 }
}

/// Python's `negations`: "no", "not", "n't", "never".
#[inline]
fn is_negation(w: &str) -> bool {
    matches!(w.as_bytes(), b"no" | b"not" | b"n't" | b"never")
}

/// The polarity of an emoticon token (already lowercased). Python checks only
/// tokens that are not alphabetic (so `xd` never counts), of at most five
/// characters, and not a substring of `PUNCTUATION`; then the first mood
/// (in order) holding the token lowercased.
fn emoticon(w: &str) -> Option<f64> {
    static TABLE: OnceLock<FxHashMap<String, f64>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        const PUNCTUATION: &str = ".,;:!?()[]{}`''\"@#$^&*+-|=~_";
        let mut t = FxHashMap::default();
        for (polarity, mood) in EMOTICONS {
            for e in *mood {
                let e = e.to_lowercase();
                let checked = !e.chars().all(char::is_alphabetic)
                    && e.chars().count() <= 5
                    && !PUNCTUATION.contains(&e);
                if checked {
                    t.entry(e).or_insert(*polarity);
                }
            }
        }
        t
    });
    if w.len() > 10 {
        return None;
    }
    table.get(w).copied()
}

impl TextBlob {
    pub fn new() -> TextBlob {
        TextBlob {
            lexicon: Lexicon::get(),
            tokenizer: Tokenizer::default(),
            assessments: Vec::new(),
            lower: String::new(),
        }
    }

    /// `TextBlob(text).sentiment`.
    pub fn sentiment(&mut self, text: &str) -> Sentiment {
        self.tokenizer.tokenize(text);
        self.assess();
        // Python's `avg`: an integer 0 plus each value in turn, over the count (or 1).
        let (mut p, mut s) = (0.0f64, 0.0f64);
        for a in &self.assessments {
            p += if a.negated { a.polarity * -0.5 } else { a.polarity };
            s += a.subjectivity;
        }
        let n = self.assessments.len().max(1) as f64;
        Sentiment { polarity: p / n, subjectivity: s / n }
    }

    /// `Sentiment.assessments` over the lowercased tokens.
    fn assess(&mut self) {
        let a = &mut self.assessments;
        a.clear();
        // The word before, if it modifies the next one; whether it ends in "ly".
        let mut modifier: Option<bool> = None;
        let mut negation = false;
        for i in 0..self.tokenizer.count() {
            let (w, key) = self.tokenizer.lowercase(i, &mut self.lower);
            if let Some(e) = self.lexicon.entry(&key) {
                match (modifier, a.last_mut()) {
                    (Some(_), Some(last)) => {
                        last.polarity = clamp(e.polarity * last.intensity);
                        last.subjectivity = clamp(e.subjectivity * last.intensity);
                        last.intensity = e.intensity;
                    }
                    _ => a.push(Assessment {
                        polarity: e.polarity,
                        subjectivity: e.subjectivity,
                        intensity: e.intensity,
                        negated: false,
                    }),
                }
                if negation && let Some(last) = a.last_mut() {
                    last.intensity = 1.0 / last.intensity;
                    last.negated = true;
                }
                modifier = e.modifier.then(|| w.ends_with("ly"));
                negation = is_negation(w);
                continue;
            }
            if is_negation(w) {
                negation = true;
            } else if negation && w.trim_matches('\'').chars().count() > 1 {
                negation = false;
            }
            if negation && modifier == Some(true) {
                // "really not good": the negation joins the modifier's chunk.
                if let Some(last) = a.last_mut() {
                    last.negated = true;
                }
                negation = false;
            } else if modifier.is_some() && w.chars().count() > 2 {
                modifier = None;
            }
            if w == "!"
                && let Some(last) = a.last_mut()
            {
                last.polarity = clamp(last.polarity * 1.25);
            }
            let neutral =
                |polarity| Assessment { polarity, subjectivity: 1.0, intensity: 1.0, negated: false };
            if w == "(!)" {
                a.push(neutral(0.0));
            }
            if w.as_bytes().first().is_some_and(|b| tokenizer::may_start_emoticon(*b))
                && let Some(p) = emoticon(w)
            {
                a.push(neutral(p));
            }
        }
    }
}
