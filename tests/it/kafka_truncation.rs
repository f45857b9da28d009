//! Stored offsets that the log no longer matches. A broker of this test's own
//! (its own port and data directory; the shared services are untouched) is
//! counted with `--results`, then stopped, wiped and started again, and the
//! topic is produced anew: (a) with fewer messages than were counted, (b) with
//! more, so the new log runs past the stored offset with other messages. Each
//! time the engine must refuse to go on (exit 1, naming the topic, partition and
//! offsets), and with `--on-truncation recount` end with results equal to an
//! independent computation over the new messages.

use crate::common::*;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A Kafka broker of this test's own, in the foreground of a child process.
struct Broker {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

/// Starts `scripts/services.sh kafka PORT DIR` and waits for the port.
fn spawn_broker(port: u16, dir: &std::path::Path) -> Child {
    spawn_server("kafka", port, dir)
}

/// Starts `scripts/services.sh KIND PORT DIR` (`kafka` or `mongo`) and waits for the port.
fn spawn_server(kind: &str, port: u16, dir: &std::path::Path) -> Child {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/services.sh");
    let child = Command::new(script)
        .args([kind, &port.to_string(), dir.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("scripts/services.sh kafka");
    let deadline = Instant::now() + EVENT_TIMEOUT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the test's {kind} server did not open port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

impl Broker {
    fn start(port: u16, dir: &std::path::Path) -> Broker {
        Broker { child: Some(spawn_broker(port, dir)), port, dir: dir.to_path_buf() }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker (-9: it loses what it did not write out), deletes its
    /// data and starts it again, empty, on the same port.
    fn wipe_and_restart(&mut self) {
        self.kill();
        std::fs::remove_dir_all(&self.dir).unwrap();
        self.child = Some(spawn_broker(self.port, &self.dir));
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let deadline = Instant::now() + EVENT_TIMEOUT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "the test's broker did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Creates `topic` with one partition and produces `messages` to it, in order.
fn produce(brokers: &str, topic: &str, messages: &[String]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", brokers);
        let admin: AdminClient<_> = config.create().unwrap();
        let new = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
        let created = admin.create_topics([&new], &AdminOptions::new()).await.unwrap();
        assert!(created.iter().all(Result::is_ok), "{created:?}");
        let producer: FutureProducer = config.create().unwrap();
        for m in messages {
            let record = FutureRecord::<(), _>::to(topic).payload(m.as_str());
            producer.send(record, Duration::from_secs(30)).await.expect("delivered");
        }
    });
}

/// The lab fixture's messages (`{"tweet", "date"}`), in file order.
fn lab_messages() -> Vec<String> {
    std::fs::read_to_string(fixture("lab.jsonl")).unwrap().lines().map(str::to_owned).collect()
}

/// Per-day (score_sum, count) of `messages`, computed here.
fn days_of(messages: &[String]) -> BTreeMap<String, (f64, u64)> {
    per_day(messages.iter().map(|m| lab_tweet(m)))
}

/// Where a run keeps its results and offsets.
enum Store<'a> {
    /// MongoDB results (`--results`, in this database).
    Results(&'a str),
    /// A checkpoint file (`--checkpoint`).
    Checkpoint(&'a std::path::Path),
}

struct Run<'a> {
    brokers: &'a str,
    topic: &'a str,
    group: &'a str,
    store: Store<'a>,
}

impl Run<'_> {
    fn engine(&self, extra: &[&str]) -> Proc {
        let mut args = vec!["--batch", "200ms"];
        args.extend_from_slice(extra);
        match self.store {
            Store::Results(db) => results_engine(self.brokers, self.topic, self.group, db, &args),
            Store::Checkpoint(path) => {
                let (b, t, g, p) = (self.brokers, self.topic, self.group, path.to_str().unwrap());
                let line = format!(
                    "stream --kafka {b} --topic {t} --group {g} --checkpoint {p} --print-every batch --format json"
                );
                let mut all = words(&line);
                all.extend(["--print-sql", "select * from sentiment_by_day"]);
                all.extend_from_slice(&args);
                Proc::spawn(&all)
            }
        }
    }

    /// The flag that counts again what the store counted.
    fn recount(&self) -> &'static str {
        match self.store {
            Store::Results(_) => "--on-truncation recount",
            Store::Checkpoint(_) => "--checkpoint-reset",
        }
    }

    /// Counts until the per-day table equals `want` (the tables may show the
    /// stored results from before a recount at first), then stops the engine.
    fn count_until(&self, want: &BTreeMap<String, (f64, u64)>, extra: &[&str]) {
        let mut engine = self.engine(extra);
        let deadline = Instant::now() + EVENT_TIMEOUT;
        let mut last = BTreeMap::new();
        while &last != want {
            assert!(Instant::now() < deadline, "the per-day table never became\n{want:?}\nlast:\n{last:?}");
            let t = engine.next_json();
            if t["query"].is_string() {
                last = day_rows(&t);
            }
        }
        engine.terminate();
        let status = engine.wait_exit();
        assert!(status.success(), "{status}: {}", engine.rest_of_stderr());
    }

    /// Starts the engine with the default policy: it must exit 1 naming `needle`.
    fn refused(&self, needle: &str) {
        let mut engine = self.engine(&[]);
        let status = engine.wait_exit();
        let stderr = engine.rest_of_stderr();
        assert_eq!(status.code(), Some(1), "{stderr}");
        let error = stderr.lines().find(|l| l.starts_with("tweetstream: error:")).unwrap_or_default();
        assert!(error.contains(&format!("topic {} partition 0", self.topic)), "{stderr}");
        assert!(error.contains(needle), "{error}");
        assert!(error.contains(self.recount()), "{error}");
    }
}

#[test]
fn a_log_that_went_backwards_is_refused_or_recounted_never_skipped() {
    let dir = std::env::temp_dir().join(format!("tweetstream-truncation-{}", std::process::id()));
    let mut broker = Broker::start(free_port(), &dir);
    let brokers = broker.addr();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let db = format!("truncation_{}_{}", std::process::id(), nanos % 1_000_000_000);
    let run = Run { brokers: &brokers, topic: "tweets", group: "truncation", store: Store::Results(&db) };
    let all = lab_messages();
    assert!(all.len() >= 600);

    // 300 messages counted and stored.
    produce(&brokers, run.topic, &all[..300]);
    run.count_until(&days_of(&all[..300]), &[]);

    // (a) The broker loses everything; the new log has 100 other messages,
    // fewer than were counted.
    broker.wipe_and_restart();
    produce(&brokers, run.topic, &all[300..400]);
    run.refused("the log ends at offset 100, below offset 300");
    run.count_until(&days_of(&all[300..400]), &["--on-truncation", "recount"]);

    // (b) Again, and now the new log runs past the stored offset (100) with
    // other messages.
    broker.wipe_and_restart();
    produce(&brokers, run.topic, &all[100..600]);
    run.refused("the message at offset 99 is not the one counted there");
    run.count_until(&days_of(&all[100..600]), &["--on-truncation", "recount"]);

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        client.database(&db).drop().await.unwrap();
    });
}

/// The same check for offsets kept in a checkpoint: the engine refuses to go
/// on, and `--checkpoint-reset` counts the new log from its start.
#[test]
fn checkpointed_offsets_of_a_log_that_went_backwards_are_refused_never_skipped() {
    let dir = std::env::temp_dir().join(format!("tweetstream-truncation-ck-{}", std::process::id()));
    let mut broker = Broker::start(free_port(), &dir);
    let brokers = broker.addr();
    let file = std::env::temp_dir().join(unique("truncation-checkpoint"));
    let run =
        Run { brokers: &brokers, topic: "tweets", group: "truncation", store: Store::Checkpoint(&file) };
    let all = lab_messages();

    produce(&brokers, run.topic, &all[..300]);
    run.count_until(&days_of(&all[..300]), &[]);

    broker.wipe_and_restart();
    produce(&brokers, run.topic, &all[300..400]);
    run.refused("the log ends at offset 100, below offset 300");
    run.count_until(&days_of(&all[300..400]), &["--checkpoint-reset"]);

    broker.wipe_and_restart();
    produce(&brokers, run.topic, &all[100..600]);
    run.refused("the message at offset 99 is not the one counted there");
    run.count_until(&days_of(&all[100..600]), &["--checkpoint-reset"]);
    let _ = std::fs::remove_file(&file);
}

/// While an engine runs, its broker loses the topic: that is logged and the
/// engine is not ready; the topic comes back empty, below the offset the
/// results were stored at, with no message to show it: the engine stops
/// with the same error as at a start (the log checked every few seconds),
/// instead of waiting, not ready, forever.
#[test]
fn a_running_engine_stops_when_its_log_goes_back_under_it() {
    let dir = std::env::temp_dir().join(format!("tweetstream-truncation-live-{}", std::process::id()));
    let mut broker = Broker::start(free_port(), &dir);
    let brokers = broker.addr();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let db = format!("truncation_live_{}_{}", std::process::id(), nanos % 1_000_000_000);
    let run =
        Run { brokers: &brokers, topic: "tweets", group: "truncation-live", store: Store::Results(&db) };
    let all = lab_messages();
    produce(&brokers, run.topic, &all[..300]);
    // Static membership: the restarted broker sees the engine join again as
    // several members (librdkafka resets its member id when the broker no
    // longer knows it), and the stand-in never times the extra ones out, so
    // the group could wait for them forever (docs/kafka-mongodb.md).
    let mut engine = run.engine(&["--http", "127.0.0.1:0", "-X", "group.instance.id=truncation-live-engine"]);
    let http = logged_http_addr(&engine.wait_stderr("serving the tables on http://"));
    let want = days_of(&all[..300]);
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        assert!(Instant::now() < deadline, "the 300 messages were never counted");
        let t = engine.next_json();
        if t["query"].is_string() && day_rows(&t) == want {
            break;
        }
    }
    // Ready while it runs (polled: with 200 ms batches, a busy machine can
    // leave one batch late for a moment, which readiness reports).
    poll_until("ready while counting", || (http_get(&http, "/health/ready").0 == 200).then_some(()));

    broker.wipe_and_restart();
    engine.wait_stderr("topic tweets is not in the broker's metadata any more");
    poll_until("not ready without its topic", || (http_get(&http, "/health/ready").0 == 503).then_some(()));

    produce(&brokers, run.topic, &[]);
    let status = engine.wait_exit();
    let stderr = engine.rest_of_stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("tweetstream: error:")).unwrap_or_default();
    assert!(
        error.contains("topic tweets partition 0: the log ends at offset 0, below offset 300"),
        "{stderr}"
    );
    assert!(error.contains("--on-truncation recount"), "{error}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        client.database(&db).drop().await.unwrap();
    });
}

/// Messages deleted from the log (retention, here `DeleteRecords`) before
/// they were counted: by default the engine refuses to go on (exit 1, naming
/// the offsets lost); with `--on-gap skip` it goes on at the first offset
/// left and counts exactly what is there, once, with a checkpoint and with
/// MongoDB results alike.
#[test]
fn messages_deleted_before_they_were_counted_stop_the_run_or_are_skipped_as_asked() {
    let brokers = brokers();
    let all = lab_messages();
    let path = std::env::temp_dir().join(unique("gap-checkpoint"));
    let db = unique("gap_results");
    for (k, store) in [Store::Checkpoint(&path), Store::Results(&db)].into_iter().enumerate() {
        let (topic, group) = (unique(&format!("gap_{k}")), unique("gap_group"));
        let run = Run { brokers: &brokers, topic: &topic, group: &group, store };
        // 50 counted and stored.
        produce(&brokers, &topic, &all[..50]);
        run.count_until(&days_of(&all[..50]), &[]);
        // 50 more, of which the first 20 are deleted before any engine reads them.
        append(&brokers, &topic, &all[50..100]);
        delete_before(&brokers, &topic, 70);
        // By default: refused.
        let mut engine = run.engine(&[]);
        let status = engine.wait_exit();
        let stderr = engine.rest_of_stderr();
        assert_eq!(status.code(), Some(1), "{stderr}");
        let error = stderr.lines().find(|l| l.starts_with("tweetstream: error:")).unwrap_or_default();
        assert!(
            error.contains(&format!("topic {topic} partition 0: offsets 50..70 were deleted")),
            "{stderr}"
        );
        assert!(error.contains("--on-gap skip"), "{error}");
        // Skipped as asked: the first 50 and the last 30, each once.
        let counted: Vec<String> = all[..50].iter().chain(&all[70..100]).cloned().collect();
        run.count_until(&days_of(&counted), &["--on-gap", "skip"]);
    }
    let _ = std::fs::remove_file(&path);
    drop_database(&db);
}

/// Produces `messages` to an existing `topic`, in order.
fn append(brokers: &str, topic: &str, messages: &[String]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let producer: FutureProducer =
            ClientConfig::new().set("bootstrap.servers", brokers).create().unwrap();
        for m in messages {
            let record = FutureRecord::<(), _>::to(topic).payload(m.as_str());
            producer.send(record, Duration::from_secs(30)).await.expect("delivered");
        }
    });
}

/// Deletes the messages of partition 0 of `topic` before `offset`, as
/// retention would.
fn delete_before(brokers: &str, topic: &str, offset: i64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let admin: AdminClient<_> = ClientConfig::new().set("bootstrap.servers", brokers).create().unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, rdkafka::Offset::Offset(offset)).unwrap();
        let deleted = admin.delete_records(&tpl, &AdminOptions::new()).await.expect("DeleteRecords");
        let low = deleted.elements_for_topic(topic)[0].error();
        assert!(low.is_ok(), "{low:?}");
    });
}
