//! The TextBlob port against the reference: every line of
//! `tests/data/textblob/reference.jsonl` (Python TextBlob 0.20.1's
//! `TextBlob(text).sentiment`) must give the same polarity and subjectivity,
//! bit for bit.

use crate::common::reference::{Case, assert_all_identical, assert_deterministic, load};
use tweetstream::sentiment::textblob::{Sentiment, TextBlob};

fn load_reference() -> Vec<Case<Sentiment>> {
    load("textblob", |f| Sentiment { polarity: f("polarity"), subjectivity: f("subjectivity") })
}

fn identical(a: &Sentiment, b: &Sentiment) -> bool {
    a.polarity.to_bits() == b.polarity.to_bits() && a.subjectivity.to_bits() == b.subjectivity.to_bits()
}

#[test]
fn every_reference_line_scores_identically() {
    let cases = load_reference();
    assert_eq!(cases.len(), 25_671, "reference.jsonl should have 25,671 lines");
    assert_eq!(cases.iter().filter(|c| c.text.contains('\n')).count(), 407);
    let mut blob = TextBlob::new();
    assert_all_identical(&cases, |t| blob.sentiment(t), identical);
}

#[test]
fn scores_are_the_same_on_every_thread_and_every_run() {
    let cases = load_reference();
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    assert_deterministic(
        &texts,
        || {
            let mut blob = TextBlob::new();
            move |t: &str| blob.sentiment(t)
        },
        identical,
    );
}
