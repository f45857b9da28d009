//! Kafka/Mongo mode against a real broker and database on 127.0.0.1 (started by
//! `scripts/services.sh up`; `scripts/test.sh` does it for you): load → MongoDB,
//! produce → Kafka, consume → per-day sentiment, checked against values
//! computed here from the fixtures.

use crate::common::*;
use mongodb::bson::{Bson, Document, doc};
use std::collections::BTreeMap;
use std::process::Command;

fn tweetstream(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(args)
        .env("MONGO_URI", mongo_uri())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The documents of `db.coll` (a collection or a view), by `_id`.
fn documents_keep(db: &str, coll: &str) -> Vec<Document> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use futures_util::TryStreamExt;
        let client = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        let c = client.database(db).collection::<Document>(coll);
        c.find(doc! {}).sort(doc! {"_id": 1}).await.unwrap().try_collect().await.unwrap()
    })
}

/// The documents of `db.coll`, then the database dropped.
fn documents(db: &str, coll: &str) -> Vec<Document> {
    let docs = documents_keep(db, coll);
    drop_database(db);
    docs
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
    per_day(std::fs::read_to_string(fixture("lab.jsonl")).unwrap().lines().map(lab_tweet))
}

#[test]
fn produce_then_consume_gives_the_per_day_table() {
    let (db, topic, group) = (unique("lab"), unique("tweets"), unique("group"));
    let (ok, stderr) = tweetstream(&["load", &fixture("lab.jsonl"), "--db", &db]);
    assert!(ok, "{stderr}");
    let b = brokers();
    let produce =
        format!("produce --db {db} --brokers {b} --topic {topic} --partitions 2 --date-format bson");
    let (ok, stderr) = tweetstream(&words(&produce));
    assert!(ok, "produce failed:\n{stderr}");
    assert!(stderr.contains("600 delivered, 0 failed"), "{stderr}");

    let stream = format!(
        "stream --kafka {b} --topic {topic} --group {group} --batch 500ms --print-every never \
         --stop-after-records 600 --format json"
    );
    let mut engine = Proc::spawn(&words(&stream));
    let tables = engine.final_tables();
    assert_eq!(day_rows(&tables["sentiment_by_day"]), lab_days());
    let records: u64 =
        tables["batches"]["rows"].as_array().unwrap().iter().map(|r| r[1].as_u64().unwrap()).sum();
    assert_eq!(records, 600);
    // Producing again with another partition count says the topic keeps its own.
    let again = format!("produce --db {db} --brokers {b} --topic {topic} --date-format bson");
    let (ok, stderr) = tweetstream(&words(&again));
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(&format!("topic {topic} exists with 2 partitions; --partitions 1 applies only")),
        "{stderr}"
    );
    documents(&db, "tweets");
}

#[test]
fn produced_twitter_objects_keep_their_untruncated_text() {
    // The tweets fixture holds Twitter API objects, some truncated (`text`
    // cut off, the whole in `extended_tweet.full_text`): Kafka gets the whole
    // text, as the socket path reads it, so no hashtag or score is lost.
    let (db, topic, group) = (unique("full"), unique("fulltopic"), unique("fullgroup"));
    let bytes = std::fs::read(fixture("tweets.jsonl")).unwrap();
    assert!(String::from_utf8_lossy(&bytes).matches("extended_tweet").count() > 10);
    let n = load_and_produce(&fixture("tweets.jsonl"), &db, "tweets", &topic, "2");
    // What `load` keeps: the lines with a text whose date, if any, is readable.
    let kept: Vec<Expected> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty() && !String::from_utf8_lossy(l).contains("sometime next week"))
        .flat_map(|l| expected_lines(l, usize::MAX))
        .filter(|e| matches!(e, Expected::Tweet { .. }))
        .collect();
    assert_eq!(n as usize, kept.len());
    let b = brokers();
    let stream = format!(
        "stream --kafka {b} --topic {topic} --group {group} --batch 500ms --print-every never \
         --stop-after-records {n} --format json --top 0"
    );
    let mut engine = Proc::spawn(&words(&stream));
    let tables = engine.final_tables();
    assert_eq!(table_counts(&tables["tag_totals"]), count_tags(&kept, twitter_tags));
    let dated = kept.iter().filter_map(|e| match e {
        Expected::Tweet { text, day: Some(day) } => Some((day.clone(), text.clone())),
        _ => None,
    });
    assert_eq!(day_rows(&tables["sentiment_by_day"]), per_day(dated));
    documents(&db, "tweets");
}

/// The final `sentiment_by_day` that `lab --format json` prints: it prints the
/// table after every batch, then the final tables, which end with `batches`.
fn final_days(lab: &mut Proc) -> serde_json::Value {
    let mut last_days = None;
    loop {
        let t = lab.next_json();
        if t["query"] == "select * from sentiment_by_day" {
            last_days = Some(t);
        } else if t["table"] == "batches" {
            return last_days.expect("a sentiment_by_day table before the final tables");
        }
    }
}

#[test]
fn lab_prints_the_per_day_table_and_reruns_do_not_double_count() {
    let (db, topic) = (unique("labcmd"), unique("labtopic"));
    for run in 0..2 {
        let (file, b) = (fixture("lab.jsonl"), brokers());
        let lab = format!(
            "lab {file} --db {db} --brokers {b} --topic {topic} --partitions 2 --batch 500ms --format json"
        );
        let mut lab = Proc::spawn(&words(&lab));
        assert_eq!(day_rows(&final_days(&mut lab)), lab_days(), "run {run}");
        let status = lab.child.wait().unwrap();
        assert!(status.success(), "run {run}: {status}");
    }
    documents(&db, "tweets");
}

// ---------------------------------------------------------------------------
// Results in MongoDB, exactly once (`stream --results`).

/// Hashtag totals of the lab fixture, computed independently.
fn lab_tags() -> BTreeMap<String, u64> {
    let mut tags = BTreeMap::new();
    for line in std::fs::read_to_string(fixture("lab.jsonl")).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for t in twitter_tags(v["tweet"].as_str().unwrap()) {
            *tags.entry(t).or_default() += 1;
        }
    }
    tags
}

/// What the results collection holds for `group`: the per-day view, the tag
/// view, the per-day sum over the raw partition documents, and the sum of their
/// next offsets.
struct Stored {
    view_days: BTreeMap<String, (f64, u64)>,
    view_tags: BTreeMap<String, u64>,
    doc_days: BTreeMap<String, (f64, u64)>,
    next_offsets: i64,
}

fn stored(db: &str, group: &str) -> Stored {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use futures_util::TryStreamExt;
        let client = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        let all = |name: String| {
            let c = client.database(db).collection::<Document>(&name);
            async move { c.find(doc! {}).await.unwrap().try_collect::<Vec<Document>>().await.unwrap() }
        };
        let num = |d: &Document, k: &str| match d.get(k) {
            Some(Bson::Int64(n)) => *n as f64,
            Some(Bson::Int32(n)) => f64::from(*n),
            Some(Bson::Double(x)) => *x,
            other => panic!("{k}: {other:?}"),
        };
        let mut s = Stored {
            view_days: BTreeMap::new(),
            view_tags: BTreeMap::new(),
            doc_days: BTreeMap::new(),
            next_offsets: 0,
        };
        for d in all(format!("{group}.sentiment_by_day")).await {
            let date = d.get_str("date").unwrap().to_owned();
            s.view_days.insert(date, (num(&d, "score_sum"), num(&d, "score_count") as u64));
        }
        for d in all(format!("{group}.tag_totals")).await {
            s.view_tags.insert(d.get_str("tag").unwrap().to_owned(), num(&d, "count") as u64);
        }
        let mut sums = BTreeMap::<String, (i64, u64)>::new();
        for d in all("stream_results".into()).await {
            if d.get_str("group").unwrap() != group {
                continue;
            }
            s.next_offsets += num(&d, "next_offset") as i64;
            for day in d.get_array("days").unwrap() {
                let day = day.as_document().unwrap();
                let e = sums.entry(day.get_str("date").unwrap().to_owned()).or_default();
                e.0 += num(day, "score_sum_e4") as i64;
                e.1 += num(day, "count") as u64;
            }
        }
        s.doc_days = sums.into_iter().map(|(d, (sum, n))| (d, (sum as f64 / 10_000.0, n))).collect();
        s
    })
}

/// Loads `file` into `db.coll` and produces it to `topic`.
fn load_and_produce(file: &str, db: &str, coll: &str, topic: &str, partitions: &str) -> u64 {
    let (ok, stderr) = tweetstream(&["load", file, "--db", db, "--collection", coll]);
    assert!(ok, "load failed (are the services up? scripts/services.sh up):\n{stderr}");
    let (ok, stderr) = tweetstream(&[
        "produce",
        "--db",
        db,
        "--collection",
        coll,
        "--brokers",
        &brokers(),
        "--topic",
        topic,
        "--partitions",
        partitions,
    ]);
    assert!(ok, "produce failed:\n{stderr}");
    let delivered = stderr.split(" delivered").next().unwrap().rsplit(' ').next().unwrap();
    delivered.parse().unwrap_or_else(|_| panic!("no delivered count in:\n{stderr}"))
}

/// A `stream` reading `topic` as `group` with results in `db`.
fn results_engine(topic: &str, group: &str, db: &str, extra: &[&str]) -> Proc {
    crate::common::results_engine(&brokers(), topic, group, db, extra)
}

/// Tweets counted in a printed `sentiment_by_day` table.
fn counted(table: &serde_json::Value) -> u64 {
    day_rows(table).values().map(|(_, n)| n).sum()
}

/// Reads the engine's per-batch tables until they count `target` tweets.
fn until_counted(engine: &mut Proc, target: u64, manual: bool) {
    for _ in 0..100_000 {
        if manual {
            engine.tick();
        }
        let t = engine.next_json();
        if t["query"].is_string() && counted(&t) >= target {
            assert_eq!(counted(&t), target, "counted more than there is");
            return;
        }
    }
    panic!("never counted {target} tweets");
}

fn assert_stored_exactly(db: &str, group: &str, messages: i64) {
    let s = stored(db, group);
    let want = lab_days();
    assert_eq!(s.doc_days, want, "sum over the partition documents");
    assert_eq!(s.view_days, want, "the {group}.sentiment_by_day view");
    assert_eq!(s.view_tags, lab_tags(), "the {group}.tag_totals view");
    assert_eq!(s.next_offsets, messages, "every offset counted once");
}

#[test]
fn results_are_stored_in_mongodb_and_a_restart_resumes_without_recounting() {
    let (db, topic, group) = (unique("res"), unique("restopic"), unique("resgroup"));
    let n = load_and_produce(&fixture("lab.jsonl"), &db, "tweets", &topic, "3");
    let mut engine = results_engine(&topic, &group, &db, &["--batch", "300ms", "--dashboard", "127.0.0.1:0"]);
    let dashboard = logged_http_addr(&engine.wait_stderr("dashboard: open http://"));
    until_counted(&mut engine, n, false);
    // The dashboard works in Kafka mode too: every day drawn with its count.
    let (status, panels) = http_get_text(&dashboard, "/panels");
    assert_eq!(status, 200, "{panels}");
    assert!(panels.contains(&format!("Kafka topic {topic}")), "{panels}");
    assert!(panels.contains(r#"data-state="live""#), "connected and batches coming: {panels}");
    for (day, (_, count)) in lab_days() {
        let bar = format!(r#"data-date="{day}" data-count="{count}""#);
        assert!(panels.contains(&bar), "no bar {bar} in the dashboard");
    }
    engine.terminate();
    assert!(engine.child.wait().unwrap().success());
    assert_stored_exactly(&db, &group, n as i64);

    // A second run of the group starts where the stored results end: it has
    // nothing new to read, so `--stop-when-idle` ends it, and nothing was
    // added.
    let mut again = results_engine(&topic, &group, &db, &["--batch", "300ms", "--stop-when-idle", "3"]);
    let tables = again.finish();
    assert_eq!(day_rows(&tables["sentiment_by_day"]), lab_days());
    assert_stored_exactly(&db, &group, n as i64);
    documents(&db, "tweets");
}

#[test]
fn two_engines_in_one_group_share_the_partitions_and_store_each_tweet_once() {
    let (db, topic, group) = (unique("two"), unique("twotopic"), unique("twogroup"));
    // Create the topic (4 partitions) before the engines join, so that both
    // get partitions before any data arrives.
    let (ok, stderr) = tweetstream(&[
        "produce",
        "--db",
        &db,
        "--collection",
        "none",
        "--brokers",
        &brokers(),
        "--topic",
        &topic,
        "--partitions",
        "4",
    ]);
    assert!(ok, "{stderr}");
    let mut a = results_engine(&topic, &group, &db, &["--batch", "300ms"]);
    a.wait_stderr("assigned partitions");
    let mut b = results_engine(&topic, &group, &db, &["--batch", "300ms"]);
    // After the rebalance each engine holds two partitions.
    for engine in [&mut a, &mut b] {
        loop {
            let line = engine.wait_stderr("assigned partitions");
            if line.matches(',').count() == 1 {
                break;
            }
        }
    }
    let n = load_and_produce(&fixture("lab.jsonl"), &db, "tweets", &topic, "4");
    until_counted(&mut a, n, false);
    let mut records = Vec::new();
    for engine in [&mut a, &mut b] {
        engine.terminate();
        let mut batches = None;
        while let Some(t) = engine.try_next_json() {
            if t["table"] == "batches" {
                batches = Some(t);
            }
        }
        assert!(engine.child.wait().unwrap().success());
        let rows = batches.expect("final batches table")["rows"].as_array().unwrap().clone();
        records.push(rows.iter().map(|r| r[1].as_u64().unwrap()).sum::<u64>());
    }
    assert!(records.iter().all(|&r| r > 0), "both engines consumed: {records:?}");
    assert_stored_exactly(&db, &group, n as i64);
    documents(&db, "tweets");
}

/// The lab fixture in two files of half its lines each (in a new directory).
fn fixture_halves() -> (std::path::PathBuf, Vec<String>) {
    let text = std::fs::read_to_string(fixture("lab.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = std::env::temp_dir().join(unique("halves"));
    std::fs::create_dir_all(&dir).unwrap();
    let half = lines.len() / 2;
    let files = [&lines[..half], &lines[half..]]
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let path = dir.join(format!("half{i}.jsonl"));
            std::fs::write(&path, part.join("\n") + "\n").unwrap();
            path.to_str().unwrap().to_owned()
        })
        .collect();
    (dir, files)
}

/// Two topics read as one stream: the tables hold their union, and the
/// results are stored per topic and partition, so a restart recounts nothing.
#[test]
fn several_topics_are_read_as_one_stream_and_stored_per_topic() {
    let (db, group) = (unique("topics"), unique("topicsgroup"));
    let topics = [unique("topica"), unique("topicb")];
    let (dir, files) = fixture_halves();
    let mut n = 0;
    for (i, (file, topic)) in files.iter().zip(&topics).enumerate() {
        n += load_and_produce(file, &db, &format!("half{i}"), topic, ["2", "3"][i]);
    }
    let both = topics.join(",");
    let mut engine = results_engine(&both, &group, &db, &["--batch", "300ms"]);
    until_counted(&mut engine, n, false);
    engine.terminate();
    assert!(engine.child.wait().unwrap().success());
    assert_stored_exactly(&db, &group, n as i64);
    // One document per partition of each topic: 2 + 3.
    let docs = documents_keep(&db, "stream_results");
    for (topic, partitions) in topics.iter().zip([2, 3]) {
        let of: Vec<&Document> = docs.iter().filter(|d| d.get_str("topic").unwrap() == topic).collect();
        assert_eq!(of.len(), partitions, "documents of {topic}");
    }
    // The topics given as a repeated flag, in the other order: the same job,
    // whose tables are read back from both topics' documents.
    let mut again = results_engine(&topics[1], &group, &db, &["--topic", &topics[0], "--batch", "300ms"]);
    for _ in 0..3 {
        assert_eq!(counted(&again.next_json()), n, "nothing counted twice");
    }
    again.terminate();
    assert!(again.child.wait().unwrap().success());
    assert_stored_exactly(&db, &group, n as i64);
    documents(&db, "tweets");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn results_are_identical_after_sigkill_and_after_a_crash_between_store_and_commit() {
    let (db, topic, group) = (unique("kill"), unique("killtopic"), unique("killgroup"));
    // The fixture in two halves, produced one after the other.
    let (dir, files) = fixture_halves();

    let first = load_and_produce(&files[0], &db, "half0", &topic, "2");
    // Static group membership: a restarted engine takes its partitions back at
    // once. (Without it, the group waits for the killed member's session to
    // time out; the test broker never times it out.)
    let instance = format!("group.instance.id={group}-engine");
    let engine_args = ["--batch", "manual", "-X", &instance];
    let mut engine = results_engine(&topic, &group, &db, &engine_args);
    until_counted(&mut engine, first, true);
    // The second half arrives; the engine is killed while reading it.
    let second = load_and_produce(&files[1], &db, "half1", &topic, "2");
    engine.child.kill().unwrap();
    engine.child.wait().unwrap();

    // A restart that crashes right after storing a batch, before committing
    // its offsets to Kafka: Kafka's committed offsets are now behind MongoDB.
    let crash_args = [&engine_args[..], &["--crash-after-stores", "1"]].concat();
    let mut crashing = results_engine(&topic, &group, &db, &crash_args);
    for _ in 0..100_000 {
        crashing.tick();
        if crashing.try_next_json().is_none() {
            break;
        }
    }
    let status = crashing.child.wait().unwrap();
    assert!(!status.success(), "the engine was to abort: {status}");
    assert!(stored(&db, &group).next_offsets > first as i64, "the crashing run stored a batch");

    // The next run resumes from MongoDB, skipping what Kafka would replay.
    let mut last = results_engine(&topic, &group, &db, &engine_args);
    until_counted(&mut last, first + second, true);
    last.wait_stderr("were already counted: skipping them");
    for _ in 0..3 {
        last.tick();
        assert_eq!(counted(&last.next_json()), first + second, "nothing counted twice");
    }
    let tables = last.finish();
    assert_eq!(day_rows(&tables["sentiment_by_day"]), lab_days());
    assert_stored_exactly(&db, &group, (first + second) as i64);
    documents(&db, "tweets");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn health_says_connected_once_partitions_are_assigned_before_any_message() {
    let topic = unique("empty");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        let admin: AdminClient<_> =
            rdkafka::ClientConfig::new().set("bootstrap.servers", brokers()).create().unwrap();
        let new = NewTopic::new(&topic, 2, TopicReplication::Fixed(1));
        let created = admin.create_topics([&new], &AdminOptions::new()).await.unwrap();
        assert!(created.iter().all(Result::is_ok), "{created:?}");
    });
    let group = unique("health");
    let mut engine = Proc::spawn(&[
        "stream",
        "--kafka",
        &brokers(),
        "--topic",
        &topic,
        "--group",
        &group,
        "--http",
        "127.0.0.1:0",
    ]);
    let http = logged_http_addr(&engine.wait_stderr("http: serving the tables on http://"));
    engine.wait_stderr("kafka: assigned partitions");
    poll_until("/health says the source is connected", || {
        let (status, health) = http_get(&http, "/health");
        assert_eq!(status, 200);
        (health["source_connected"] == true).then_some(())
    });
}

#[test]
fn kafka_settings_reach_every_client_of_produce_and_lab() {
    let db = unique("xopt");
    let (ok, stderr) = tweetstream(&["load", &fixture("lab.jsonl"), "--db", &db]);
    assert!(ok, "{stderr}");
    // The admin client (creating the topic) is the first Kafka client made:
    // a setting librdkafka does not know fails there, naming it.
    let b = brokers();
    for cmd in [
        format!("produce --db {db} --brokers {b} --topic {} -X no.such.setting=1", unique("t")),
        format!(
            "lab {} --db {db} --brokers {b} --topic {} -X no.such.setting=1",
            fixture("lab.jsonl"),
            unique("t")
        ),
    ] {
        let (ok, stderr) = tweetstream(&words(&cmd));
        assert!(!ok, "{cmd}");
        assert!(stderr.contains("no.such.setting"), "{cmd}: {stderr}");
    }
    // The same from a properties file (-F), for produce, lab and stream.
    let props = std::env::temp_dir().join(format!("{}.properties", unique("kafka")));
    std::fs::write(&props, "# settings\nno.such.setting = 1\n").unwrap();
    let p = props.to_str().unwrap();
    for cmd in [
        format!("produce --db {db} --brokers {b} --topic {} -F {p}", unique("t")),
        format!("lab {} --db {db} --brokers {b} --topic {} -F {p}", fixture("lab.jsonl"), unique("t")),
        format!("stream --kafka {b} --topic {} -F {p}", unique("t")),
    ] {
        let (ok, stderr) = tweetstream(&words(&cmd));
        assert!(!ok && stderr.contains("no.such.setting"), "{cmd}: {stderr}");
    }
    std::fs::remove_file(&props).unwrap();
    documents(&db, "tweets");
}

#[test]
fn the_environment_gives_values_but_never_switches_a_mode_on() {
    let (topic, group, db) = (unique("envtopic"), unique("envgroup"), unique("envdb"));
    let env = [("KAFKA_BROKERS", brokers()), ("MONGO_URI", mongo_uri())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // `--kafka` and `--results` without values take them from the environment.
    let args = format!(
        "stream --kafka --topic {topic} --group {group} --results --results-db {db} --batches 1 --batch 200ms"
    );
    let mut engine = Proc::spawn_env(&words(&args), &env);
    engine.wait_stderr("results: stored exactly once");
    engine.wait_stderr(&format!("consuming topic {topic} from {}", brokers()));
    assert!(engine.wait_exit().success(), "{}", engine.rest_of_stderr());
    // A socket run stays one, whatever the environment says.
    let mut socket = Proc::spawn_env(&words("stream --connect 127.0.0.1:9 --batches 1 --batch 200ms"), &env);
    socket.wait_stderr("cannot connect to 127.0.0.1:9");
    assert!(socket.wait_exit().success());
    assert!(!socket.rest_of_stderr().contains("kafka"));
}

#[test]
fn metrics_report_the_consumer_lag_per_partition() {
    let (db, topic, group) = (unique("lagdb"), unique("lagtopic"), unique("laggroup"));
    let n = load_and_produce(&fixture("lab.jsonl"), &db, "tweets", &topic, "2");
    let mut engine = results_engine(&topic, &group, &db, &["--batch", "300ms", "--http", "127.0.0.1:0"]);
    let http = logged_http_addr(&engine.wait_stderr("http: serving the tables on http://"));
    until_counted(&mut engine, n, false);
    // Everything is counted and stored (offsets committed after each store):
    // within a few lag measurements both partitions show 0.
    let lags = poll_until("both partitions' lag is 0", || {
        let (_, text) = http_get_text(&http, "/metrics");
        let lags: Vec<&str> =
            text.lines().filter(|l| l.starts_with("tweetstream_kafka_consumer_lag{")).collect();
        (lags.len() == 2 && lags.iter().all(|l| l.ends_with(" 0"))).then(|| lags.join("\n"))
    });
    assert!(lags.contains("partition=\"0\"") && lags.contains("partition=\"1\""), "{lags}");
    documents(&db, "tweets");
}

// ---------------------------------------------------------------------------
// TextBlob: the notebook's measure.

/// The lab fixture's per-day table with Python TextBlob's polarities.
fn lab_polarity_days() -> BTreeMap<String, (f64, u64)> {
    per_day_polarity(std::fs::read_to_string(fixture("lab.jsonl")).unwrap().lines().map(lab_tweet))
}

#[test]
fn lab_with_textblob_gives_the_notebooks_per_day_table() {
    let (db, topic) = (unique("labtb"), unique("labtbtopic"));
    let (file, b) = (fixture("lab.jsonl"), brokers());
    let lab = format!(
        "lab {file} --db {db} --brokers {b} --topic {topic} --partitions 2 --batch 500ms --format json \
         --sentiment textblob"
    );
    let mut lab = Proc::spawn(&words(&lab));
    let days = final_days(&mut lab);
    assert_eq!(day_rows(&days), lab_polarity_days());
    assert!(rows(&days).iter().all(|r| r[4] == "textblob"), "{days}");
    assert!(lab.child.wait().unwrap().success());
    documents(&db, "tweets");
}

#[test]
fn stored_results_of_one_model_are_never_mixed_with_another() {
    let (db, topic, group) = (unique("mixdb"), unique("mixtopic"), unique("mixgroup"));
    let n = load_and_produce(&fixture("lab.jsonl"), &db, "tweets", &topic, "2");
    let mut engine = results_engine(&topic, &group, &db, &["--batch", "300ms", "--sentiment", "textblob"]);
    until_counted(&mut engine, n, false);
    engine.terminate();
    assert!(engine.wait_exit().success());
    // The stored documents say which model counted them; the view sums them.
    let view = format!("{group}.sentiment_by_day");
    let rows = documents_keep(&db, &view);
    assert!(!rows.is_empty() && rows.iter().all(|r| r.get_str("model") == Ok("textblob")), "{rows:?}");
    let counted: i64 = rows.iter().map(|r| r.get_i64("score_count").unwrap()).sum();
    assert_eq!(counted as u64, n);

    // A VADER engine on the same results refuses to add its scores to them.
    let mut vader = results_engine(&topic, &group, &db, &["--batch", "300ms"]);
    let status = vader.wait_exit();
    let stderr = vader.rest_of_stderr();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("counted with --sentiment textblob"), "{stderr}");
    documents(&db, "tweets");
}

/// `load` reads what `replay` reads (see `replay::every_file_form…`): a `;`
/// CSV with Excel's dates, gzipped Twitter API v2 lines and a JSON array each
/// load their tweets with BSON dates; a file with no readable row fails,
/// saying why.
#[test]
fn load_reads_the_files_replay_reads_and_fails_on_nothing_readable() {
    let dir = std::env::temp_dir().join(unique("loadforms"));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    // (text, epoch ms) of three tweets, written three ways.
    let tweets =
        [("first #a", 1_424_777_700_000i64), ("second; #b", 1_424_864_100_000), ("third", 1_425_000_000_000)];
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap();
    let mut csv = String::from("tweet_id;text;tweet_created\n");
    for (i, (text, ms)) in tweets.iter().enumerate() {
        csv += &format!("{i};\"{text}\";{}\n", at(*ms).format("%m/%d/%Y %H:%M"));
    }
    let v2: String = tweets
        .iter()
        .map(|(text, ms)| {
            format!("{}\n", serde_json::json!({"data": {"text": text, "created_at": at(*ms).to_rfc3339()}}))
        })
        .collect();
    let array = serde_json::json!(
        tweets
            .iter()
            .map(|(text, ms)| serde_json::json!({"text": text, "created_at": at(*ms).to_rfc3339()}))
            .collect::<Vec<_>>()
    );
    let files = [
        write("excel.csv", csv.as_bytes()),
        write("v2.jsonl.gz", &gzip(v2.as_bytes())),
        write("array.json", array.to_string().as_bytes()),
    ];
    for file in &files {
        let db = unique("loadform");
        let (ok, stderr) = tweetstream(&["load", file, "--db", &db]);
        assert!(ok, "{file}: {stderr}");
        let docs = documents(&db, "tweets");
        assert_eq!(docs.len(), tweets.len(), "{file}");
        for (doc, (text, ms)) in docs.iter().zip(&tweets) {
            let fields = doc.get_document("data").unwrap_or(doc);
            let date = doc.get_datetime("tweet_created").or_else(|_| doc.get_datetime("created_at")).unwrap();
            assert_eq!(fields.get_str("text").unwrap(), *text, "{file}");
            // Excel's dates have minutes only.
            assert_eq!(date.timestamp_millis() / 60_000, ms / 60_000, "{file}");
        }
    }
    for (name, content, why) in [
        ("empty.csv", "text,date\n".to_owned(), "no rows in it"),
        (
            "no-text.csv",
            "id;when\n1;2015-11-01\n2;2015-11-02\n".to_owned(),
            "none of its 2 rows could be read (2 with no tweet text",
        ),
    ] {
        let file = write(name, content.as_bytes());
        let (ok, stderr) = tweetstream(&["load", &file, "--db", &unique("nothing")]);
        assert!(!ok && stderr.contains(name) && stderr.contains(why), "{name}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The lab page's step-by-step commands (docs/kafka-mongodb.md), as written
/// there (with this test's database, topic, group and broker, and shorter
/// batches), give the file's per-day counts; producing the file a second
/// time into the same topic says that the topic already holds it.
#[test]
fn the_lab_pages_steps_count_the_file_once() {
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/kafka-mongodb.md")).unwrap();
    let steps = page.split("# or step by step instead").nth(1).unwrap();
    let block = steps.split("```").next().unwrap();
    let commands: Vec<&str> = block.lines().filter(|l| l.starts_with("tweetstream ")).collect();
    assert_eq!(commands.len(), 3, "load, produce, stream: {block}");
    let (db, topic, group, b) = (unique("steps"), unique("steps_topic"), unique("steps_group"), brokers());
    let adapt = |command: &str| -> Vec<String> {
        let command = command.split('#').next().unwrap();
        let mut args: Vec<String> = command
            .split_whitespace()
            .skip(1)
            .map(|w| match w {
                "lab4" => db.clone(),
                "127.0.0.1:9092" => b.clone(),
                "5s" => "500ms".to_owned(),
                "lab" => group.clone(),
                w if w.starts_with("fixtures/") => fixture(&w["fixtures/".len()..]),
                w => w.to_owned(),
            })
            .collect();
        if let Some(i) = args.iter().position(|a| a == "--topic") {
            args[i + 1] = topic.clone();
        }
        args
    };
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, stderr) = tweetstream(&args);
        assert!(ok, "{args:?}: {stderr}");
        stderr
    };
    run(&adapt(commands[0]));
    let produced = run(&adapt(commands[1]));
    assert!(!produced.contains("already holds"), "{produced}");
    let mut stream = adapt(commands[2]);
    stream.extend(["--format".into(), "json".into(), "--print-every".into(), "never".into()]);
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream")).args(&stream).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tables: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let days = tables.iter().rfind(|t| t["table"] == "sentiment_by_day").unwrap();
    let got: BTreeMap<String, u64> = day_rows(days).into_iter().map(|(d, (_, n))| (d, n)).collect();
    let rows = tweetstream::fixtures::lab_rows(
        tweetstream::fixtures::PARQUET_ROWS,
        tweetstream::fixtures::PARQUET_SEED,
    );
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for (ms, _) in &rows {
        let day = chrono::DateTime::from_timestamp_millis(*ms).unwrap().format("%Y-%m-%d").to_string();
        *want.entry(day).or_default() += 1;
    }
    assert_eq!(got, want, "each tweet of the file counted once");
    // Producing the file again into the same topic is not silent.
    let again = run(&adapt(commands[1]));
    assert!(again.contains(&format!("topic {topic} already holds {} messages", rows.len())), "{again}");
    documents(&db, "tweets");
}
