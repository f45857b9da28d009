//! The README's first command: `tweetstream demo` replays all bundled fixtures
//! through the engine in one process and ends with the right totals.

use crate::common::*;
use std::process::Command;

#[test]
fn demo_counts_every_bundled_tweet() {
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["demo", "--rate", "20000", "--batch", "200ms", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tables: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let find =
        |name: &str| tables.iter().rev().find(|t| t["table"] == name).unwrap_or_else(|| panic!("no {name}"));

    // Expected: every fixture the demo replays (JSONL as is; CSV rows as text).
    let mut lines = expected_lines(&std::fs::read(fixture("tweets.jsonl")).unwrap(), usize::MAX);
    lines.extend(expected_lines(&std::fs::read(fixture("lab.jsonl")).unwrap(), usize::MAX));
    let mut csv = csv::Reader::from_path(fixture("tweets.csv")).unwrap();
    for r in csv.records() {
        lines.push(Expected::Tweet { text: r.unwrap()[1].to_owned(), day: None });
    }
    let want = count_tags(&lines, twitter_tags);
    let got = top_n(table_counts(find("tag_totals")), usize::MAX);
    assert_eq!(got, top_n(want, 10));

    let records: u64 =
        find("batches")["rows"].as_array().unwrap().iter().map(|r| r[1].as_u64().unwrap()).sum();
    assert_eq!(records, lines.len() as u64, "every bundled line counted once");
    assert_eq!(find("sentiment_by_day")["rows"].as_array().unwrap().len(), 5);
    // A demo that ends as it should has nothing to warn about.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(" WARN ") && !stderr.contains(" ERROR "), "{stderr}");
}
