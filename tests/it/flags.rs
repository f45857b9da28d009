//! Command-line values at and beyond their limits: out of range is refused when
//! parsed (exit status 2, a message naming the range), the extreme accepted
//! values run without a panic, and no string given to any flag panics the
//! parser.

use crate::common::{Proc, fixture, run_to_end};
use clap::Parser;
use proptest::prelude::*;
use tweetstream::cli::Cli;

/// Each command with a flag and a value beyond its range.
fn out_of_range() -> Vec<Vec<String>> {
    let jsonl = fixture("lab.jsonl");
    let cases: Vec<Vec<&str>> = vec![
        vec!["stream", "--connect", "127.0.0.1:9", "--batch", "100000000000000000000s"],
        vec!["stream", "--connect", "127.0.0.1:9", "--window", "100000000000000000000s"],
        vec!["stream", "--connect", "127.0.0.1:9", "--print-every", "1000000000000000000000000000000s"],
        vec!["stream", "--connect", "127.0.0.1:9", "--sql-timeout", "25h"],
        vec!["stream", "--connect", "127.0.0.1:9", "--refresh", "0.1ms"],
        vec!["stream", "--connect", "127.0.0.1:9", "--workers", "0"],
        vec!["stream", "--connect", "127.0.0.1:9", "--sql-max-rows", "0"],
        vec!["stream", "--connect", "127.0.0.1:9", "--max-line-bytes", "99999999999999"],
        vec!["stream", "--connect", "127.0.0.1:9", "--sql-memory", "2TiB"],
        vec!["stream", "--connect", "127.0.0.1:9", "--max-request-bytes", "99999999999999999999999"],
        vec!["stream", "--connect", "127.0.0.1:9", "--header-timeout", "0s"],
        vec!["stream", "--connect", "127.0.0.1:9", "--idle-timeout", "99999999999999h"],
        vec!["stream", "--connect", "127.0.0.1:9", "--max-connections", "0"],
        vec!["stream", "--connect", "127.0.0.1:9", "--batches", "0"],
        vec!["stream", "--connect", "127.0.0.1:9", "--stop-when-idle", "0"],
        vec!["stream", "--connect", "127.0.0.1:9", "--stop-after-records", "0"],
        vec!["stream", "--connect", "127.0.0.1:9", "--max-tags", "0"],
        vec!["replay", &jsonl, "--listen", "127.0.0.1:0", "--stall-timeout", "0ms"],
        vec!["query", "select 1", "--timeout", "1000000000000000000000s"],
        vec!["lab", &jsonl, "--batch", "100000000000000000000s"],
        vec!["lab", &jsonl, "--partitions", "0"],
        vec!["replay", &jsonl, "--rate", "1e-300"],
        vec!["replay", &jsonl, "--rate", "0"],
        vec!["replay", &jsonl, "--realtime", "--speedup", "1e-300"],
        vec!["demo", "--rate", "0"],
        vec!["demo", "--batch", "99999999999h"],
        vec!["produce", "--rate=-5"],
        vec!["load", &jsonl, "--batch-size", "0"],
        vec!["vader", "--max-line-bytes", "0"],
    ];
    cases.into_iter().map(|c| c.into_iter().map(str::to_owned).collect()).collect()
}

#[test]
fn values_out_of_range_exit_2_with_a_message() {
    for args in out_of_range() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, _, stderr) = run_to_end(&args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: invalid value"), "{args:?}: {stderr}");
        assert!(first.contains(" must be from ") || first.contains("is not"), "{args:?}: {first}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Starts `args`, lets it run until `ready` shows on stderr, asks it to stop
/// (SIGTERM, like Ctrl-C) and checks it ended without a panic.
fn runs_then_stops(args: &[&str], ready: &str) {
    let mut p = Proc::spawn(args);
    p.wait_stderr(ready);
    std::thread::sleep(std::time::Duration::from_millis(300));
    if p.child.try_wait().unwrap().is_none() {
        p.terminate();
    }
    let status = p.wait_exit();
    let stderr = p.rest_of_stderr();
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(status.success(), "{args:?}: {status}: {stderr}");
}

#[test]
fn extreme_accepted_values_run_without_a_panic() {
    // Nothing listens on port 9: the engine retries, and its clocks run.
    let longest = [
        "--batch",
        "24h",
        "--window",
        "24h",
        "--print-every",
        "24h",
        "--sql-timeout",
        "24h",
        "--refresh",
        "24h",
        "--sql-max-rows",
        "10000000",
        "--max-line-bytes",
        "1073741824",
    ];
    let mut args = vec!["stream", "--connect", "127.0.0.1:9", "--http", "127.0.0.1:0"];
    args.extend(longest);
    runs_then_stops(&args, "serving the tables");
    let shortest = [
        "--batch",
        "1ms",
        "--window",
        "1ms",
        "--print-every",
        "1ms",
        "--sql-timeout",
        "1ms",
        "--refresh",
        "1ms",
        "--sql-max-rows",
        "1",
        "--max-line-bytes",
        "1",
        "--workers",
        "1",
    ];
    let mut args = vec!["stream", "--connect", "127.0.0.1:9", "--dashboard", "127.0.0.1:0"];
    args.extend(shortest);
    runs_then_stops(&args, "dashboard: open");
    runs_then_stops(&["demo", "--rate", "0.001", "--batch", "24h"], "demo: replaying");

    let jsonl = fixture("tweets.jsonl");
    // The slowest pace sends the first tweet, then waits 1,000 s for the next.
    let mut slow = Proc::spawn(&["replay", &jsonl, "--rate", "0.001"]);
    let first: serde_json::Value = slow.next_json();
    assert!(first.is_object());
    slow.terminate();
    let _ = slow.wait_exit();
    assert!(!slow.rest_of_stderr().contains("panicked"));
    for args in [
        vec!["replay", &jsonl, "--rate", "1000000000"],
        vec!["replay", &jsonl, "--realtime", "--speedup", "1000000000"],
        vec!["demo", "--rate", "1000000000", "--batch", "1ms", "--format", "json"],
    ] {
        let (status, stdout, stderr) = run_to_end(&args);
        assert!(status.success(), "{args:?}: {status}: {stderr}");
        assert!(!stdout.is_empty(), "{args:?}");
    }
    let mut realtime = Proc::spawn(&["replay", &jsonl, "--realtime", "--speedup", "0.001"]);
    assert!(realtime.next_json().is_object());
    realtime.terminate();
    let _ = realtime.wait_exit();
    assert!(!realtime.rest_of_stderr().contains("panicked"));
}

/// Every flag that takes a value, in a command line that is otherwise valid.
const FLAGS: &[(&[&str], &str)] = &[
    (&["stream", "--connect", "127.0.0.1:9"], "--batch"),
    (&["stream", "--connect", "127.0.0.1:9"], "--window"),
    (&["stream", "--connect", "127.0.0.1:9", "--window", "10s"], "--slide"),
    (&["stream", "--connect", "127.0.0.1:9"], "--print-every"),
    (&["stream", "--connect", "127.0.0.1:9"], "--top"),
    (&["stream", "--connect", "127.0.0.1:9"], "--batches"),
    (&["stream", "--connect", "127.0.0.1:9"], "--stop-when-idle"),
    (&["stream", "--connect", "127.0.0.1:9"], "--stop-after-records"),
    (&["stream", "--connect", "127.0.0.1:9"], "--max-line-bytes"),
    (&["stream", "--connect", "127.0.0.1:9"], "--workers"),
    (&["stream", "--connect", "127.0.0.1:9"], "--refresh"),
    (&["stream", "--connect", "127.0.0.1:9"], "--sql-timeout"),
    (&["stream", "--connect", "127.0.0.1:9"], "--sql-max-rows"),
    (&["stream", "--connect", "127.0.0.1:9"], "--sql-memory"),
    (&["stream", "--connect", "127.0.0.1:9"], "--max-request-bytes"),
    (&["stream", "--connect", "127.0.0.1:9"], "--header-timeout"),
    (&["stream", "--connect", "127.0.0.1:9"], "--idle-timeout"),
    (&["stream", "--connect", "127.0.0.1:9"], "--max-connections"),
    (&["stream"], "--connect"),
    (&["replay", "f.jsonl", "--listen", "127.0.0.1:0"], "--stall-timeout"),
    (&["query", "select 1"], "--timeout"),
    (&["replay", "f.jsonl"], "--rate"),
    (&["replay", "f.jsonl", "--realtime"], "--speedup"),
    (&["replay", "f.jsonl"], "--limit"),
    (&["replay", "f.jsonl"], "--skip"),
    (&["demo"], "--rate"),
    (&["demo"], "--batch"),
    (&["lab", "f.jsonl"], "--batch"),
    (&["lab", "f.jsonl"], "--partitions"),
    (&["produce"], "--rate"),
    (&["produce"], "--partitions"),
    (&["load", "f.jsonl"], "--batch-size"),
    (&["vader"], "--max-line-bytes"),
    (&["fixtures"], "--count"),
    (&["fixtures"], "--seed"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Parsing never panics, whatever the value: strings, numbers of any size
    /// and sign, with and without a unit.
    #[test]
    fn no_value_panics_the_parser(
        s in any::<String>(),
        x in any::<f64>(),
        n in any::<i128>(),
        unit in "(ms|s|m|h|)",
    ) {
        for (base, flag) in FLAGS {
            for value in [s.clone(), format!("{x}"), format!("{x}{unit}"), format!("{n}{unit}")] {
                let argv = std::iter::once("tweetstream").chain(base.iter().copied()).chain([*flag, value.as_str()]);
                let _ = Cli::try_parse_from(argv);
            }
        }
    }
}
