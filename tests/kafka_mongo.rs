//! Kafka/Mongo mode against a real broker and database on 127.0.0.1 (started by
//! `scripts/services.sh up`; `scripts/test.sh` does it for you): load → MongoDB,
//! produce → Kafka, consume → per-day sentiment, checked against values
//! computed here from the fixtures.

mod common;
use common::*;
use mongodb::bson::{Bson, Document, doc};
use std::collections::BTreeMap;
use std::process::Command;

fn mongo_uri() -> String {
    std::env::var("MONGO_URI").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into())
}

fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// A name no other test run uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

fn tweetstream(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(args)
        .env("MONGO_URI", mongo_uri())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn documents(db: &str, coll: &str) -> Vec<Document> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use futures_util::TryStreamExt;
        let client = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        let c = client.database(db).collection::<Document>(coll);
        let docs: Vec<Document> =
            c.find(doc! {}).sort(doc! {"_id": 1}).await.unwrap().try_collect().await.unwrap();
        client.database(db).drop().await.unwrap();
        docs
    })
}

#[test]
fn load_parquet_keeps_every_row_with_bson_dates() {
    let db = unique("load");
    let (ok, stderr) =
        tweetstream(&["load", &fixture("tweets.parquet"), "--db", &db, "--collection", "tweets"]);
    assert!(ok, "load failed (are the services up? scripts/services.sh up):\n{stderr}");
    let rows = tweetstream::fixtures::lab_rows(
        tweetstream::fixtures::PARQUET_ROWS,
        tweetstream::fixtures::PARQUET_SEED,
    );
    assert!(stderr.contains(&format!("{} rows read, {} inserted", rows.len(), rows.len())), "{stderr}");
    let docs = documents(&db, "tweets");
    assert_eq!(docs.len(), rows.len());
    for i in [0, 1, 17, 250, rows.len() - 1] {
        assert_eq!(docs[i].get_str("Tweet").unwrap(), rows[i].1, "row {i}");
        match docs[i].get("Date") {
            Some(Bson::DateTime(d)) => assert_eq!(d.timestamp_millis(), rows[i].0, "row {i}"),
            other => panic!("row {i}: Date is {other:?}, not a BSON datetime"),
        }
    }
}

#[test]
fn load_reports_skipped_rows_with_reasons() {
    let db = unique("skips");
    let (ok, stderr) = tweetstream(&["load", &fixture("tweets.jsonl"), "--db", &db]);
    assert!(ok, "{stderr}");
    let lines = expected_lines(&std::fs::read(fixture("tweets.jsonl")).unwrap(), usize::MAX);
    let bad = lines.iter().filter(|l| matches!(l, Expected::Bad)).count();
    let docs = documents(&db, "tweets");
    // Bad lines and lines with an unknown date format are skipped, the rest kept.
    // (The fixture has invalid UTF-8 on purpose: read it lossily.)
    let unknown_date = String::from_utf8_lossy(&std::fs::read(fixture("tweets.jsonl")).unwrap())
        .matches("sometime next week")
        .count();
    assert!(unknown_date > 0);
    assert_eq!(docs.len(), lines.len() - bad - unknown_date, "{stderr}");
    assert!(stderr.contains("skipped") && stderr.contains("date in an unknown format"), "{stderr}");
}

/// Per-day (score_sum, count) of the lab fixture, computed independently.
fn lab_days() -> BTreeMap<String, (f64, u64)> {
    let mut days = BTreeMap::<String, (i64, u64)>::new();
    for line in std::fs::read_to_string(fixture("lab.jsonl")).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let ms = match &v["date"] {
            serde_json::Value::String(s) => {
                chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
            }
            serde_json::Value::Number(n) => n.as_i64().unwrap(),
            obj => obj["$date"].as_i64().unwrap(),
        };
        let day = chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%d").to_string();
        let c = tweetstream::sentiment::compound(v["tweet"].as_str().unwrap());
        let e = days.entry(day).or_default();
        e.0 += (c * 10_000.0).round() as i64;
        e.1 += 1;
    }
    days.into_iter().map(|(d, (s, n))| (d, (s as f64 / 10_000.0, n))).collect()
}

#[test]
fn produce_then_consume_gives_the_per_day_table() {
    let (db, topic, group) = (unique("lab"), unique("tweets"), unique("group"));
    let (ok, stderr) = tweetstream(&["load", &fixture("lab.jsonl"), "--db", &db]);
    assert!(ok, "{stderr}");
    let (ok, stderr) = tweetstream(&[
        "produce",
        "--db",
        &db,
        "--brokers",
        &brokers(),
        "--topic",
        &topic,
        "--partitions",
        "2",
        "--date-format",
        "bson",
    ]);
    assert!(ok, "produce failed:\n{stderr}");
    assert!(stderr.contains("600 delivered, 0 failed"), "{stderr}");

    let mut engine = Proc::spawn(&[
        "stream",
        "--kafka",
        &brokers(),
        "--topic",
        &topic,
        "--group",
        &group,
        "--batch",
        "500ms",
        "--print-every",
        "never",
        "--stop-when-idle",
        "4",
        "--format",
        "json",
    ]);
    let mut tables = std::collections::HashMap::new();
    while tables.len() < 3 {
        let t = engine.next_json();
        tables.insert(t["table"].as_str().unwrap().to_owned(), t);
    }
    assert_eq!(day_rows(&tables["sentiment_by_day"]), lab_days());
    let records: u64 =
        tables["batches"]["rows"].as_array().unwrap().iter().map(|r| r[1].as_u64().unwrap()).sum();
    assert_eq!(records, 600);
    documents(&db, "tweets");
}

#[test]
fn lab_prints_the_per_day_table_and_reruns_do_not_double_count() {
    let (db, topic) = (unique("labcmd"), unique("labtopic"));
    for run in 0..2 {
        let mut lab = Proc::spawn(&[
            "lab",
            &fixture("lab.jsonl"),
            "--db",
            &db,
            "--brokers",
            &brokers(),
            "--topic",
            &topic,
            "--partitions",
            "2",
            "--batch",
            "500ms",
            "--format",
            "json",
        ]);
        // sentiment_by_day after every batch, then the final tables, which end
        // with `batches`: the last sentiment_by_day before it is the final one.
        let mut last_days = None;
        loop {
            let t = lab.next_json();
            match t["table"].as_str().unwrap() {
                "sentiment_by_day" => last_days = Some(t),
                "batches" => break,
                _ => {}
            }
        }
        assert_eq!(day_rows(&last_days.unwrap()), lab_days(), "run {run}");
        let status = lab.child.wait().unwrap();
        assert!(status.success(), "run {run}: {status}");
    }
    documents(&db, "tweets");
}
