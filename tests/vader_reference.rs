//! The sentiment port against the reference: every line of
//! `tests/data/vader/reference.jsonl` (scores of Python vaderSentiment 3.3.2)
//! must give identical compound, pos, neu and neg.

use std::path::PathBuf;
use tweetstream::sentiment::vader::{Scores, SentimentAnalyzer};

fn reference_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/vader/reference.jsonl")
}

struct Case {
    source: String,
    line: u64,
    text: String,
    expected: Scores,
}

fn load_reference() -> Vec<Case> {
    let path = reference_path();
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
                expected: Scores { compound: f("compound"), pos: f("pos"), neu: f("neu"), neg: f("neg") },
            }
        })
        .collect()
}

#[test]
fn every_reference_line_scores_identically() {
    let cases = load_reference();
    assert_eq!(cases.len(), 10_487, "reference.jsonl should have 10,487 lines");
    let mut vader = SentimentAnalyzer::new();
    let mut failures = Vec::new();
    for case in &cases {
        let got = vader.polarity_scores(&case.text);
        // Compare bit patterns: "identical", not "close".
        let same = [
            (got.compound, case.expected.compound),
            (got.pos, case.expected.pos),
            (got.neu, case.expected.neu),
            (got.neg, case.expected.neg),
        ]
        .iter()
        .all(|(a, b)| a == b);
        if !same {
            failures.push(case);
        }
    }
    if !failures.is_empty() {
        let mut report = format!("{} of {} lines differ; first ones:\n", failures.len(), cases.len());
        for case in failures.iter().take(15) {
            let got = vader.polarity_scores(&case.text);
            let text: String = case.text.chars().take(120).collect();
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
    let first: Vec<Scores> = {
        let mut vader = SentimentAnalyzer::new();
        texts.iter().map(|t| vader.polarity_scores(t)).collect()
    };
    // Score the same texts on four threads, each in a different order, twice.
    std::thread::scope(|scope| {
        for shift in 0..4usize {
            let (texts, first) = (&texts, &first);
            scope.spawn(move || {
                let mut vader = SentimentAnalyzer::new();
                for _ in 0..2 {
                    for k in 0..texts.len() {
                        let i = (k * 7919 + shift * 1013) % texts.len();
                        assert_eq!(vader.polarity_scores(texts[i]), first[i], "text {i}");
                    }
                }
            });
        }
    });
}
