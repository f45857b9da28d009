//! The sentiment port against the reference: every line of
//! `tests/data/vader/reference.jsonl` (scores of Python vaderSentiment 3.3.2)
//! must give identical compound, pos, neu and neg.

use crate::common::reference::{Case, assert_all_identical, assert_deterministic, load};
use tweetstream::engine::batch::compound_e4;
use tweetstream::sentiment::vader::{Scores, SentimentAnalyzer};

fn load_reference() -> Vec<Case<Scores>> {
    load("vader", |f| Scores { compound: f("compound"), pos: f("pos"), neu: f("neu"), neg: f("neg") })
}

#[test]
fn every_reference_line_scores_identically() {
    let cases = load_reference();
    assert_eq!(cases.len(), 10_487, "reference.jsonl should have 10,487 lines");
    // Compared with `==` on every score: "identical", not "close". Both
    // copies of the scorer: the one for this CPU and the baseline one.
    for mut vader in [SentimentAnalyzer::new(), SentimentAnalyzer::baseline()] {
        assert_all_identical(&cases, |t| vader.polarity_scores(t), |a, b| a == b);
    }
}

/// The compound score alone, in ten-thousandths (what the engine sums per
/// day), is Python's too.
#[test]
fn every_reference_line_has_the_compound_score_alone_identically() {
    let cases: Vec<Case<i64>> = load_reference()
        .into_iter()
        .map(|c| Case {
            expected: compound_e4(c.expected.compound),
            source: c.source,
            line: c.line,
            text: c.text,
        })
        .collect();
    for mut vader in [SentimentAnalyzer::new(), SentimentAnalyzer::baseline()] {
        assert_all_identical(&cases, |t| vader.compound_e4(t), |a, b| a == b);
    }
}

#[test]
fn scores_are_the_same_on_every_thread_and_every_run() {
    let cases = load_reference();
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    assert_deterministic(
        &texts,
        || {
            let mut vader = SentimentAnalyzer::new();
            move |t: &str| vader.polarity_scores(t)
        },
        |a, b| a == b,
    );
}
