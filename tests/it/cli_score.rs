//! `tweetstream vader` and `tweetstream textblob` end to end: reference texts
//! on stdin, identical scores on stdout, one output line per input line even
//! for bad input.

use crate::common::run_with_stdin;

fn run_vader(input: &[u8], args: &[&str]) -> (Vec<serde_json::Value>, String) {
    run_scorer("vader", input, args)
}

fn run_scorer(command: &str, input: &[u8], args: &[&str]) -> (Vec<serde_json::Value>, String) {
    let argv: Vec<&str> = std::iter::once(command).chain(args.iter().copied()).collect();
    let (status, stdout, stderr) = run_with_stdin(&argv, input);
    assert!(status.success(), "exit {status:?}: {stderr}");
    let rows = stdout.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    (rows, stderr)
}

/// The reference lines of `model` whose text has no '\n' (those can go
/// through stdin one per line), and that input.
fn reference(model: &str) -> (Vec<serde_json::Value>, String) {
    let path = format!("{}/tests/data/{model}/reference.jsonl", env!("CARGO_MANIFEST_DIR"));
    let body = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let cases: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| !v["text"].as_str().unwrap().contains('\n'))
        .collect();
    let mut input = String::new();
    for c in &cases {
        input.push_str(c["text"].as_str().unwrap());
        input.push('\n');
    }
    (cases, input)
}

#[test]
fn scores_reference_lines_like_python() {
    let (cases, input) = reference("vader");
    assert!(cases.len() > 10_000);
    let (rows, _) = run_vader(input.as_bytes(), &["--with-text"]);
    assert_eq!(rows.len(), cases.len());
    for (row, case) in rows.iter().zip(&cases) {
        for key in ["compound", "pos", "neu", "neg", "text"] {
            assert_eq!(row[key], case[key], "{key} of line {}", case["line"]);
        }
    }
}

#[test]
fn textblob_scores_reference_lines_bit_for_bit() {
    let (cases, input) = reference("textblob");
    assert_eq!(cases.len(), 25_671 - 407);
    let (rows, _) = run_scorer("textblob", input.as_bytes(), &["--with-text"]);
    assert_eq!(rows.len(), cases.len());
    for (row, case) in rows.iter().zip(&cases) {
        assert_eq!(row["text"], case["text"]);
        for key in ["polarity", "subjectivity"] {
            // As doubles, bit for bit (the printed number reads back the same).
            let (got, want) = (row[key].as_f64().unwrap(), case[key].as_f64().unwrap());
            assert_eq!(got.to_bits(), want.to_bits(), "{key} of {}:{}", case["source"], case["line"]);
        }
    }
    let (rows, _) = run_scorer("textblob", b"\xff bad\n:)\n", &[]);
    assert_eq!(rows[0]["error"], "invalid UTF-8");
    assert_eq!(rows[1]["polarity"], 0.5);
}

#[test]
fn bad_lines_are_reported_in_place() {
    let mut input = b"good\n\xff\xfe bad utf-8\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 300));
    input.extend(b"\nThe book was good.\r\nlast line without newline");
    let (rows, stderr) = run_vader(&input, &["--max-line-bytes", "100"]);
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_eq!(rows[0]["compound"], 0.4404);
    assert_eq!(rows[1]["error"], "invalid UTF-8");
    assert_eq!(rows[1]["line"], 2);
    assert_eq!(rows[2]["line"], 3);
    assert!(rows[2]["error"].as_str().unwrap().contains("max-line-bytes"));
    // The "\r" stays part of the text, as with Python's split('\n').
    assert_eq!(rows[3]["compound"], 0.4404);
    assert_eq!(rows[4]["neu"], 1.0);
    assert!(stderr.contains("2 of 5 lines not scored"), "{stderr}");
}
