//! The reference sets of Python's sentiment scores (`tests/data/*/reference.jsonl`)
//! and the two checks both ports go through: every line scored identically,
//! and the same scores on every thread and in any order.

use std::fmt::Debug;
use std::path::PathBuf;

/// One reference line: where it comes from, its text, and Python's scores.
pub struct Case<S> {
    pub source: String,
    pub line: u64,
    pub text: String,
    pub expected: S,
}

/// The lines of `tests/data/<set>/reference.jsonl`; `scores` builds the
/// expected scores from a reader of the line's numeric fields.
pub fn load<S>(set: &str, scores: impl Fn(&dyn Fn(&str) -> f64) -> S) -> Vec<Case<S>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/{set}/reference.jsonl"));
    let body =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    body.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("reference line is JSON");
            let field = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} missing in {line}"));
            Case {
                source: v["source"].as_str().unwrap().to_owned(),
                line: v["line"].as_u64().unwrap(),
                text: v["text"].as_str().unwrap().to_owned(),
                expected: scores(&field),
            }
        })
        .collect()
}

/// Scores every case; panics with the first differences if any line's
/// scores are not `identical` to Python's.
pub fn assert_all_identical<S: Debug>(
    cases: &[Case<S>],
    mut score: impl FnMut(&str) -> S,
    identical: impl Fn(&S, &S) -> bool,
) {
    let failures: Vec<(&Case<S>, S)> =
        cases.iter().map(|c| (c, score(&c.text))).filter(|(c, got)| !identical(got, &c.expected)).collect();
    if failures.is_empty() {
        return;
    }
    let mut report = format!("{} of {} lines differ; first ones:\n", failures.len(), cases.len());
    for (case, got) in failures.iter().take(15) {
        let text: String = case.text.chars().take(160).collect();
        report += &format!(
            "  {}:{} {:?}\n    expected {:?}\n    got      {:?}\n",
            case.source, case.line, text, case.expected, got
        );
    }
    panic!("{report}");
}

/// Scores the texts once, then again on four threads, each in a different
/// order and twice over, with scorers made by `scorer`: every score must be
/// `identical` to the first.
pub fn assert_deterministic<S: Debug + Send + Sync, F: FnMut(&str) -> S>(
    texts: &[&str],
    scorer: impl Fn() -> F + Sync,
    identical: impl Fn(&S, &S) -> bool + Sync,
) {
    let mut score = scorer();
    let first: Vec<S> = texts.iter().map(|t| score(t)).collect();
    std::thread::scope(|scope| {
        for shift in 0..4usize {
            let (first, scorer, identical) = (&first, &scorer, &identical);
            scope.spawn(move || {
                let mut score = scorer();
                for _ in 0..2 {
                    for k in 0..texts.len() {
                        let i = (k * 7919 + shift * 1013) % texts.len();
                        let got = score(texts[i]);
                        assert!(
                            identical(&got, &first[i]),
                            "text {i} {:?}: {got:?} then {:?}",
                            texts[i],
                            first[i]
                        );
                    }
                }
            });
        }
    });
}
