//! Sentiment scoring: a faithful port of VADER (vaderSentiment 3.3.2, the Python
//! reference implementation), score-identical to it.
//!
//! ```
//! use tweetstream::sentiment::vader::SentimentAnalyzer;
//! let mut vader = SentimentAnalyzer::new();
//! let s = vader.polarity_scores("The book was good.");
//! assert_eq!((s.compound, s.pos, s.neu, s.neg), (0.4404, 0.492, 0.508, 0.0));
//! ```
//!
//! The lexicons (`data/`, MIT license in `data/LICENSE-vaderSentiment.txt`) are
//! embedded in the binary; the tables are built once per process.

mod analyzer;
mod lexicon;
mod tokenizer;

pub use analyzer::{Scores, SentimentAnalyzer};

use std::cell::RefCell;

/// Scores `text` with this thread's analyzer (no allocation after warm-up).
pub fn polarity_scores(text: &str) -> Scores {
    thread_local! {
        static ANALYZER: RefCell<SentimentAnalyzer> = RefCell::new(SentimentAnalyzer::new());
    }
    ANALYZER.with(|a| a.borrow_mut().polarity_scores(text))
}

/// The compound score alone, the figure the per-day tables average.
pub fn compound(text: &str) -> f64 {
    polarity_scores(text).compound
}
