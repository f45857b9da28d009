//! `tweetstream replay` with the real binary: formats, selection, and exits.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn replay_stdout(args: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream")).arg("replay").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn committed_fixtures_match_the_generator() {
    for (name, data) in tweetstream::fixtures::default_files() {
        let committed = std::fs::read(fixture(name)).unwrap();
        assert!(committed == data, "fixtures/{name} is stale: run `cargo run -- fixtures`");
    }
}

#[test]
fn csv_rows_become_json_lines() {
    let file = fixture("tweets.csv");
    let rows = replay_stdout(&[&file]);
    let mut csv = csv::Reader::from_path(&file).unwrap();
    let records: Vec<csv::StringRecord> = csv.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), records.len());
    for (row, rec) in rows.iter().zip(&records) {
        assert_eq!(row["date"], rec[0]);
        assert_eq!(row["tweet"], rec[1]);
    }
    assert!(rows.iter().any(|r| r["tweet"].as_str().unwrap().contains("\"quotes\", commas")));
}

#[test]
fn skip_limit_and_loop_select_lines() {
    let file = fixture("lab.jsonl");
    let all = replay_stdout(&[&file]);
    assert_eq!(all.len(), 600);
    assert_eq!(replay_stdout(&[&file, "--skip", "590"]), all[590..].to_vec());
    assert_eq!(replay_stdout(&[&file, "--skip", "10", "--limit", "5"]), all[10..15].to_vec());
    let looped = replay_stdout(&[&file, "--loop", "--limit", "1500"]);
    assert_eq!(looped.len(), 1500);
    assert_eq!(looped[600..1200], all[..]);
}

#[test]
fn a_closed_stdout_ends_the_replay_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["replay", &fixture("tweets.jsonl"), "--loop"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The reader is dropped here: the pipe closes while the replay loops forever.
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("error") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn missing_files_and_bad_options_are_clear_errors() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_tweetstream")).args(["replay", "no/such.jsonl"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such.jsonl: no such file"));
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["replay", &fixture("lab.jsonl"), "--rate", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("a rate must be from 0.001"));
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["replay", &fixture("lab.jsonl"), "--speedup", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "--speedup needs --realtime");
}

#[test]
fn inputs_that_are_not_plain_files() {
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_tweetstream")).args(args).output().unwrap();
    // A directory is named as one, for every command that reads a file.
    let dir = std::env::temp_dir();
    let dir = dir.to_str().unwrap();
    for cmd in ["replay", "load", "lab"] {
        let out = run(&[cmd, dir]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("{dir}: is a directory, not a file")), "{cmd}: {stderr}");
    }
    // /dev/null is an empty input.
    let out = run(&["replay", "/dev/null"]);
    assert!(out.status.success() && out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    // A FIFO is read like a file (`replay <(generate)`).
    let fifo = std::env::temp_dir().join(format!("tweetstream-fifo-{}", std::process::id()));
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let lines = std::fs::read(fixture("lab.jsonl")).unwrap();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, lines))
    };
    let out = run(&["replay", fifo.to_str().unwrap()]);
    writer.join().unwrap().unwrap();
    std::fs::remove_file(&fifo).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, std::fs::read(fixture("lab.jsonl")).unwrap());
}

#[test]
fn track_keeps_exactly_the_matching_tweets() {
    let (path, texts) = track_tweets();
    let kept = replay_stdout(&[path.to_str().unwrap(), "--track", TRACK]);
    let got: Vec<&str> = kept.iter().map(|v| v["text"].as_str().unwrap()).collect();
    let want: Vec<&str> = texts.iter().map(String::as_str).filter(|t| track_keeps(t)).collect();
    assert!(want.len() > 20 && want.len() < texts.len() / 2, "the data holds matches and misses");
    assert_eq!(got, want);
    // A phrase that is empty is refused, naming it.
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["replay", path.to_str().unwrap(), "--track", "u.s.,,x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("phrase 2 is empty"));
    std::fs::remove_file(path).unwrap();
}

/// A binary file is refused at once (before a client is waited for, with
/// --listen), naming the file; a CSV whose quote is never closed is an error
/// naming the quote's line, not one last row holding the rest of the file.
#[test]
fn binary_files_and_unclosed_csv_quotes_are_errors() {
    let dir = std::env::temp_dir().join(format!("tweetstream-replay-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join("tweets.jsonl.gz");
    std::fs::write(&binary, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03{\"text\"").unwrap();
    let binary = binary.to_str().unwrap();
    for args in [vec!["replay", binary], vec!["replay", binary, "--listen", "127.0.0.1:0"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_tweetstream")).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("{binary}: not a text file (a NUL byte at byte 3)")), "{stderr}");
    }
    let csv = dir.join("open.csv");
    std::fs::write(&csv, "text,date\nfine,2015-11-01\n\"never closed,2015-11-02\nmore,2015-11-03\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream")).arg("replay").arg(&csv).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("open.csv: line 3: a quoted field is never closed"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
