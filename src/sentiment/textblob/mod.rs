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
mod scan;
mod tokenizer;

use lexicon::{Kind, Lexicon};
use tokenizer::Tokenizer;

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
            let word = self.lexicon.word(&key);
            if word.kind == Kind::Known {
                match (modifier, a.last_mut()) {
                    (Some(_), Some(last)) => {
                        last.polarity = clamp(word.polarity * last.intensity);
                        last.subjectivity = clamp(word.subjectivity * last.intensity);
                        last.intensity = word.intensity;
                    }
                    _ => a.push(Assessment {
                        polarity: word.polarity,
                        subjectivity: word.subjectivity,
                        intensity: word.intensity,
                        negated: false,
                    }),
                }
                if negation && let Some(last) = a.last_mut() {
                    last.intensity = 1.0 / last.intensity;
                    last.negated = true;
                }
                modifier = word.modifier;
                negation = word.negation;
                continue;
            }
            if word.negation {
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
            let neutral =
                |polarity| Assessment { polarity, subjectivity: 1.0, intensity: 1.0, negated: false };
            match word.kind {
                Kind::Exclamation => {
                    if let Some(last) = a.last_mut() {
                        last.polarity = clamp(last.polarity * 1.25);
                    }
                }
                Kind::Irony => a.push(neutral(0.0)),
                Kind::Emoticon => a.push(neutral(word.polarity)),
                Kind::Known | Kind::Other => {}
            }
        }
    }
}
