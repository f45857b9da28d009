//! The TextBlob port against the reference: every line of
//! `tests/data/textblob/reference.jsonl` (Python TextBlob 0.20.1's
//! `TextBlob(text).sentiment`) must give the same polarity and subjectivity,
//! bit for bit.

use std::path::PathBuf;
use tweetstream::sentiment::textblob::{Sentiment, TextBlob};

struct Case {
    source: String,
    line: u64,
    text: String,
    expected: Sentiment,
}

fn load_reference() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/textblob/reference.jsonl");
    let body =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    body.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("reference line is JSON");
            let f = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} missing in {line}"));
            Case {
                source: v["source"].as_str().unwrap().to_owned(),
                line: v["line"].as_u64().unwrap(),
                text: v["text"].as_str().unwrap().to_owned(),
                expected: Sentiment { polarity: f("polarity"), subjectivity: f("subjectivity") },
            }
        })
        .collect()
}

fn identical(a: Sentiment, b: Sentiment) -> bool {
    a.polarity.to_bits() == b.polarity.to_bits() && a.subjectivity.to_bits() == b.subjectivity.to_bits()
}

#[test]
fn every_reference_line_scores_identically() {
    let cases = load_reference();
    assert_eq!(cases.len(), 25_671, "reference.jsonl should have 25,671 lines");
    assert_eq!(cases.iter().filter(|c| c.text.contains('\n')).count(), 407);
    let mut blob = TextBlob::new();
    let failures: Vec<&Case> =
        cases.iter().filter(|c| !identical(blob.sentiment(&c.text), c.expected)).collect();
    if !failures.is_empty() {
        let mut report = format!("{} of {} lines differ; first ones:\n", failures.len(), cases.len());
        for case in failures.iter().take(15) {
            let got = blob.sentiment(&case.text);
            let text: String = case.text.chars().take(160).collect();
            report += &format!(
                "  {}:{} {:?}\n    expected {:?}\n    got      {:?}\n",
                case.source, case.line, text, case.expected, got
            );
        }
        panic!("{report}");
    }
}

#[test]
fn scores_are_the_same_on_every_thread_and_every_run() {
    let cases = load_reference();
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let mut blob = TextBlob::new();
    let first: Vec<Sentiment> = texts.iter().map(|t| blob.sentiment(t)).collect();
    std::thread::scope(|s| {
        for offset in [1, 7, 101] {
            let (texts, first) = (&texts, &first);
            s.spawn(move || {
                let mut blob = TextBlob::new();
                for k in 0..texts.len() {
                    let i = (k * offset) % texts.len();
                    assert!(identical(blob.sentiment(texts[i]), first[i]), "{:?}", texts[i]);
                }
            });
        }
    });
}
