//! `stream --checkpoint`: the engine's state in a file across restarts.
//! Socket mode keeps what it counted across a clean restart; Kafka mode counts
//! every message exactly once across `kill -9` at random moments (Kafka on
//! 127.0.0.1, from `scripts/services.sh`); a checkpoint of another
//! configuration, in use, damaged or truncated is refused with a clear error.
//! Expected tables are computed here from the fixtures.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const MAX_LINE: usize = 300;

/// A new directory for a test's checkpoint files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A socket engine with manual batches and a checkpoint, printing each batch.
fn socket_engine(addr: &str, checkpoint: &Path, extra: &[&str]) -> Proc {
    let max = MAX_LINE.to_string();
    let mut args = vec![
        "--print-every",
        "batch",
        "--top",
        "0",
        "--max-line-bytes",
        &max,
        "--checkpoint",
        path(checkpoint),
    ];
    args.extend_from_slice(extra);
    manual_engine(addr, &args)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn expected_days(lines: &[Expected]) -> std::collections::BTreeMap<String, (f64, u64)> {
    per_day(lines.iter().filter_map(|l| match l {
        Expected::Tweet { text, day: Some(day) } => Some((day.clone(), text.clone())),
        _ => None,
    }))
}

/// Runs an engine on the checkpoint over `--limit`/`--skip` lines of the
/// fixture, one batch, and stops it cleanly; returns the final tables.
fn one_socket_run(
    checkpoint: &Path,
    replay: &[&str],
    lines: usize,
    extra: &[&str],
) -> std::collections::HashMap<String, serde_json::Value> {
    let (_replay, addr) = replay_listen(&fixture("tweets.jsonl"), "127.0.0.1:0", replay);
    let mut engine = socket_engine(&addr, checkpoint, extra);
    engine.wait_stderr(&format!("closed after {lines} lines"));
    engine.tick();
    engine.next_json();
    engine.finish()
}

#[test]
fn socket_state_survives_a_clean_restart() {
    let dir = scratch("ck_socket");
    let checkpoint = dir.join("state.db");
    let lines = expected_lines(&std::fs::read(fixture("tweets.jsonl")).unwrap(), MAX_LINE);
    let first = 500;
    let before = one_socket_run(&checkpoint, &["--limit", "500"], first, &[]);
    assert_eq!(table_counts(&before["tag_totals"]), count_tags(&lines[..first], twitter_tags));

    // The second run starts from what the first counted.
    let rest = lines.len() - first;
    let after = one_socket_run(&checkpoint, &["--skip", "500"], rest, &[]);
    assert_eq!(table_counts(&after["tag_totals"]), count_tags(&lines, twitter_tags));
    assert_eq!(day_rows(&after["sentiment_by_day"]), expected_days(&lines));
    let batches: Vec<u64> = rows(&after["batches"]).iter().map(|r| r[1].as_u64().unwrap()).collect();
    assert_eq!(batches, vec![first as u64, rest as u64], "the batch log of both runs");

    // A third run with nothing new to read stops when idle, as the first two
    // would have: the restored state has seen data.
    let mut idle = socket_engine("127.0.0.1:9", &checkpoint, &["--stop-when-idle", "2"]);
    idle.tick();
    idle.tick();
    let status = idle.wait_exit();
    assert!(status.success(), "{status}: {}", idle.rest_of_stderr());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_checkpoint_of_another_configuration_is_refused_unless_reset() {
    let dir = scratch("ck_config");
    let checkpoint = dir.join("state.db");
    one_socket_run(&checkpoint, &["--limit", "100"], 100, &[]);
    let ck = path(&checkpoint);
    for (flags, says) in [
        (vec!["--sentiment", "textblob"], "--sentiment vader (this run: textblob)"),
        (vec!["--hashtags", "spark"], "--hashtags twitter (this run: spark)"),
        (vec!["--batch", "5s"], "--batch manual (this run: 5s)"),
        (vec!["--kafka", "127.0.0.1:1", "--topic", "t"], "source socket (this run: kafka)"),
    ] {
        let source = if flags[0] == "--kafka" { vec![] } else { vec!["--connect", "127.0.0.1:1"] };
        let args = [&["stream", "--checkpoint", ck][..], &source, &flags].concat();
        let (status, _, stderr) = run_to_end(&args);
        assert_eq!(status.code(), Some(1), "{flags:?}: {stderr}");
        assert!(stderr.contains("written by another configuration") && stderr.contains(says), "{stderr}");
        assert!(stderr.contains("--checkpoint-reset"), "says how to start over: {stderr}");
    }
    // Starting over: only the new run's tweets are counted.
    let lines = expected_lines(&std::fs::read(fixture("tweets.jsonl")).unwrap(), MAX_LINE);
    let fresh = one_socket_run(
        &checkpoint,
        &["--skip", "100", "--limit", "50"],
        50,
        &["--checkpoint-reset", "--hashtags", "spark"],
    );
    assert_eq!(table_counts(&fresh["tag_totals"]), count_tags(&lines[100..150], spark_tags));
    assert_eq!(rows(&fresh["batches"]).len(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs an engine on `checkpoint`; it must exit 1 with an error containing
/// every one of `says`, and no panic.
/// `tweetstream checkpoint PATH`: what the file holds.
fn inspect(checkpoint: &Path) -> serde_json::Value {
    let (status, stdout, stderr) = run_to_end(&["checkpoint", path(checkpoint), "--top", "0"]);
    assert!(status.success(), "{stderr}");
    serde_json::from_str(&stdout.join("\n")).unwrap()
}

fn refused(checkpoint: &Path, says: &[&str]) {
    let args = ["stream", "--connect", "127.0.0.1:1", "--batch", "manual", "--checkpoint", path(checkpoint)];
    let (status, _, stderr) = run_to_end(&args);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for s in says {
        assert!(stderr.contains(s), "no {s:?} in: {stderr}");
    }
}

#[test]
fn damaged_truncated_foreign_and_busy_checkpoints_are_refused_clearly() {
    let dir = scratch("ck_damaged");
    let good = dir.join("good.db");
    let (_replay, addr) =
        replay_listen(&fixture("tweets.jsonl"), "127.0.0.1:0", &["--loop", "--rate", "2000"]);
    // Enough batches and tags for a file of several pages.
    let mut engine = socket_engine(&addr, &good, &[]);
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(20));
        engine.tick();
        engine.next_json();
    }
    // While it runs, the file is its own, and not started over under it.
    refused(&good, &["in use by another process"]);
    let args = ["stream", "--connect", "127.0.0.1:1", "--batch", "manual", "--checkpoint", path(&good)];
    let (status, _, stderr) = run_to_end(&[&args[..], &["--checkpoint-reset"]].concat());
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("in use by another process") && good.exists(), "{stderr}");
    engine.finish();
    let saved = inspect(&good)["batches_saved"].as_u64().unwrap();
    assert!(saved >= 20, "every batch saved: {saved}");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["good.db"], "nothing is left beside the file");
    let bytes = std::fs::read(&good).unwrap();
    assert!(bytes.len() >= 4 * 1024, "a file of some size: {}", bytes.len());
    let damaged = "It is damaged or not a tweetstream checkpoint";

    let garbage = dir.join("garbage.db");
    std::fs::write(&garbage, b"these are not the bytes of a checkpoint, but they are long enough".repeat(80))
        .unwrap();
    refused(&garbage, &[damaged, "does not start as a tweetstream checkpoint does"]);

    let truncated = dir.join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    refused(&truncated, &[damaged, "truncated"]);

    // The last byte missing.
    std::fs::write(&truncated, &bytes[..bytes.len() - 1]).unwrap();
    refused(&truncated, &[damaged, "truncated"]);

    // A range in the middle overwritten.
    let scribbled = dir.join("scribbled.db");
    let mut copy = bytes.clone();
    let middle = bytes.len() / 2;
    copy[middle..middle + 1024].fill(0x5a);
    std::fs::write(&scribbled, &copy).unwrap();
    refused(&scribbled, &[damaged, "fails its checksum"]);

    // One bit of a tag's text changed (by hand, or by the disk).
    let edited = dir.join("edited.db");
    let mut copy = bytes.clone();
    let at = bytes.windows(5).rposition(|w| w == b"#rust").expect("a tag in the file");
    copy[at + 1] ^= 0x20;
    std::fs::write(&edited, &copy).unwrap();
    refused(&edited, &[damaged, "fails its checksum"]);

    // Another program's file, and an empty one: refused, not taken as new.
    let foreign = dir.join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    refused(&foreign, &[damaged, "does not start as a tweetstream checkpoint does"]);
    let empty = dir.join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    refused(&empty, &[damaged, "it is empty"]);
    // Unless started over.
    let (_replay3, addr3) = replay_listen(&fixture("tweets.jsonl"), "127.0.0.1:0", &["--limit", "10"]);
    let mut fresh = socket_engine(&addr3, &empty, &["--checkpoint-reset"]);
    fresh.wait_stderr("created");
    fresh.finish();

    // The good one still opens (and is not changed by any of the above).
    let (_replay2, addr2) = replay_listen(&fixture("tweets.jsonl"), "127.0.0.1:0", &["--limit", "10"]);
    let mut engine = socket_engine(&addr2, &good, &[]);
    engine.wait_stderr(&format!("restored {saved} batches"));
    engine.finish();
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------
// Kafka mode: exactly once across kill -9, with no MongoDB results.

/// The seed of the kill schedule; printed on failure.
const SEED: u64 = 0x5eed_2026_1202;

/// splitmix64: the kill schedule from the seed.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn tweetstream(args: &[&str]) -> (bool, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_tweetstream")).args(args).env("NO_COLOR", "1").output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Per-day sums and tag totals of the lab fixture's tweets, each counted
/// `times` times, computed here.
fn lab_expected(
    times: usize,
) -> (std::collections::BTreeMap<String, (f64, u64)>, std::collections::BTreeMap<String, u64>) {
    let text = std::fs::read_to_string(fixture("lab.jsonl")).unwrap();
    let tweets = || std::iter::repeat_n(text.as_str(), times).flat_map(str::lines).map(lab_tweet);
    let days = per_day(tweets());
    let mut tags = std::collections::BTreeMap::new();
    for (_, tweet) in tweets() {
        for t in twitter_tags(&tweet) {
            *tags.entry(t).or_default() += 1;
        }
    }
    (days, tags)
}

/// A Kafka test's database, topic and group (new names), a directory and a
/// checkpoint path in it; the lab fixture is loaded into the database.
fn kafka_case(name: &str) -> (String, String, String, PathBuf, PathBuf) {
    let (db, topic, group) = (unique(&format!("{name}_db")), unique(&format!("{name}_topic")), unique(name));
    let dir = scratch(name);
    let checkpoint = dir.join("state.db");
    let (ok, stderr) = tweetstream(&["load", &fixture("lab.jsonl"), "--db", &db, "--collection", "tweets"]);
    assert!(ok, "load failed (are the services up? scripts/services.sh up):\n{stderr}");
    (db, topic, group, dir, checkpoint)
}

/// A Kafka engine on `topic` with a checkpoint, printing the per-day table
/// after every batch.
fn kafka_engine(topic: &str, group: &str, checkpoint: &Path, extra: &[&str]) -> Proc {
    kafka_engine_env(topic, group, checkpoint, extra, &[])
}

/// [`kafka_engine`] with more environment variables.
fn kafka_engine_env(
    topic: &str,
    group: &str,
    checkpoint: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Proc {
    let b = brokers();
    let mut args = words(&format!(
        "stream --kafka {b} --topic {topic} --group {group} --checkpoint {} --print-every batch \
         --format json --top 0",
        path(checkpoint)
    ))
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    args.extend(["--print-sql".to_owned(), "select * from sentiment_by_day".to_owned()]);
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    Proc::spawn_env(&args.iter().map(String::as_str).collect::<Vec<_>>(), env)
}

/// The checkpoint rewritten whenever its batch records outgrow its base, so
/// that kills land in the middle of rewrites too.
const REWRITE_OFTEN: (&str, &str) = ("TWEETSTREAM_CHECKPOINT_REWRITE_BYTES", "1");

#[test]
fn kafka_with_a_checkpoint_counts_every_message_once_across_kill_9() {
    let (db, topic, group, dir, checkpoint) = kafka_case("ck_kafka");
    // The producer sends the 600 tweets over about 3 s while engines are
    // started and killed.
    let b = brokers();
    let produce = format!(
        "produce --db {db} --collection tweets --brokers {b} --topic {topic} --partitions 3 --rate 200"
    );
    let producer = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(words(&produce))
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    let mut state = SEED;
    let kills: Vec<u64> = (0..6).map(|_| 150 + next_random(&mut state) % 1200).collect();
    let context = format!("seed {SEED:#x}, kill -9 after {kills:?} ms");
    eprintln!("{context}");
    let mut rewrites = 0;
    for after in &kills {
        let mut engine =
            kafka_engine_env(&topic, &group, &checkpoint, &["--batch", "100ms"], &[REWRITE_OFTEN]);
        // Each engine reads before its kill comes (on a loaded machine a
        // start can take longer than the wait, and kill nothing but starts).
        engine.wait_stderr("kafka: reading all 3 partitions");
        std::thread::sleep(Duration::from_millis(*after));
        engine.child.kill().unwrap();
        engine.child.wait().unwrap();
        rewrites += engine.rest_of_stderr().matches(": rewriting it").count();
    }
    assert!(rewrites > 0, "the checkpoint was rewritten while the engines ran");
    let out = producer.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains("600 delivered"), "{said}");

    let (want_days, want_tags) = lab_expected(1);
    let mut last = kafka_engine(&topic, &group, &checkpoint, &["--batch", "100ms"]);
    count_until(&mut last, 600, &context);
    let tables = final_tables(&mut last);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want_days, "{context}");
    assert_eq!(table_counts(&tables["tag_totals"]), want_tags, "{context}");
    // The saved batch log (read from the file) counts each message once too.
    let log = inspect(&checkpoint)["batches"].as_array().unwrap().clone();
    assert!(log.len() < 1000, "the whole log is kept: {} batches", log.len());
    let records: u64 = log.iter().map(|b| b[1].as_u64().unwrap()).sum();
    assert_eq!(records, 600, "the saved batch log ({context})");

    // The checkpoint belongs to this topic.
    let other = unique("othertopic");
    let args =
        [&["stream", "--kafka", &b, "--topic", &other, "--checkpoint", path(&checkpoint)][..]].concat();
    let (status, _, stderr) = run_to_end(&args);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("--topic {topic} (this run: {other})")), "{stderr}");
    drop_database(&db);
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs `tweetstream produce` of the loaded tweets to `topic` (created with
/// `partitions` unless it exists) and waits for all 600 to be delivered.
fn produce_all(db: &str, topic: &str, partitions: u32) {
    let b = brokers();
    let produce = format!(
        "produce --db {db} --collection tweets --brokers {b} --topic {topic} --partitions {partitions}"
    );
    let (ok, stderr) = tweetstream(&words(&produce));
    assert!(ok && stderr.contains("600 delivered"), "{stderr}");
}

/// Reads the engine's per-day tables until they count `want` tweets.
fn count_until(engine: &mut Proc, want: u64, context: &str) {
    let mut counted = 0;
    for _ in 0..1000 {
        counted = day_rows(&engine.next_json()).values().map(|(_, n)| n).sum::<u64>();
        assert!(counted <= want, "counted {counted} of {want} ({context})");
        if counted == want {
            return;
        }
    }
    panic!("counted {counted} of {want} ({context})");
}

/// Stops the engine cleanly; the tables it printed last, by name.
fn final_tables(engine: &mut Proc) -> std::collections::HashMap<String, serde_json::Value> {
    engine.terminate();
    let mut tables = std::collections::HashMap::new();
    while let Some(t) = engine.try_next_json() {
        if let Some(name) = t["table"].as_str() {
            tables.insert(name.to_owned(), t);
        }
    }
    assert!(engine.child.wait().unwrap().success());
    tables
}

#[test]
fn kafka_with_a_checkpoint_reads_partitions_added_while_it_runs() {
    let (db, topic, group, dir, checkpoint) = kafka_case("ck_newpart");
    produce_all(&db, &topic, 1);
    let mut engine = kafka_engine(&topic, &group, &checkpoint, &["--batch", "100ms"]);
    engine.wait_stderr("kafka: reading all 1 partitions");
    count_until(&mut engine, 600, "one partition");

    // Two partitions more, then the same tweets again, spread by key over all three.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions};
        let admin: AdminClient<_> =
            rdkafka::ClientConfig::new().set("bootstrap.servers", brokers()).create().unwrap();
        let grown = admin.create_partitions([&NewPartitions::new(&topic, 3)], &AdminOptions::new()).await;
        assert!(grown.unwrap().iter().all(Result::is_ok));
    });
    produce_all(&db, &topic, 3);
    engine.wait_stderr("partitions added to the topics, now read too");
    count_until(&mut engine, 1200, "after the partitions were added");
    let tables = final_tables(&mut engine);

    // Every tweet counted twice.
    let (want_days, want_tags) = lab_expected(2);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want_days);
    assert_eq!(table_counts(&tables["tag_totals"]), want_tags);
    // The new partitions held some of the second round, and were saved.
    let read: Vec<(i64, i64)> = inspect(&checkpoint)["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["partition"].as_i64().unwrap(), o["next"].as_i64().unwrap()))
        .collect();
    assert_eq!(read.len(), 3, "{read:?}");
    assert!(read[1].1 > 0 && read[2].1 > 0 && read.iter().map(|(_, n)| n).sum::<i64>() == 1200, "{read:?}");
    drop_database(&db);
    let _ = std::fs::remove_dir_all(dir);
}
