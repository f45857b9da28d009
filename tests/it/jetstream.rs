//! `stream --jetstream` against a Jetstream server of the test's own, which
//! follows Jetstream's documented protocol (the build machines cannot reach
//! Bluesky): a WebSocket at `/subscribe`, one JSON event per text message,
//! `wantedCollections` and `cursor=<time_us>` in the query, replay from the
//! cursor. The events are generated here: posts, deletes, updates, likes,
//! identity and account events. The server ends its first connection with a
//! close frame and drops its second one abruptly; the tag totals and the
//! per-day sentiment must equal an independent computation over the posts,
//! every post counted exactly once.

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// One generated event: its `time_us`, its JSON, and, for a post the engine
/// must count, its (day, text).
pub struct Event {
    pub time_us: i64,
    pub json: String,
    pub post: Option<(String, String)>,
}

/// `n` events, 10 ms apart, from a fixed seed.
pub fn events(n: usize, seed: u64) -> Vec<Event> {
    let mut state = seed;
    let mut next = move |below: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % below
    };
    let words = ["#spark", "#Rust", "#bluesky", "good", "bad", "great", "awful", "love", "the", "day", "not"];
    (0..n)
        .map(|i| {
            let time_us = 1_725_000_000_000_000 + i as i64 * 10_000;
            let text: Vec<&str> = (0..1 + next(6)).map(|_| words[next(words.len() as u64) as usize]).collect();
            let text = text.join(" ");
            let commit = |op: &str, collection: &str, record: &str| {
                format!(
                    r#"{{"did":"did:plc:u{i}","time_us":{time_us},"kind":"commit","commit":{{"rev":"r{i}","operation":"{op}","collection":"{collection}","rkey":"k{i}"{record}}}}}"#
                )
            };
            let (json, post) = match next(20) {
                0..=10 => {
                    let day = format!("2024-11-0{}", 1 + next(3));
                    let record = format!(
                        r#","record":{{"$type":"app.bsky.feed.post","createdAt":"{day}T{:02}:30:00.000Z","langs":["en"],"text":{}}},"cid":"c{i}""#,
                        next(24),
                        serde_json::to_string(&text).unwrap()
                    );
                    (commit("create", "app.bsky.feed.post", &record), Some((day, text.clone())))
                }
                11 => {
                    // No creation time: dated by the event.
                    let record = format!(r#","record":{{"text":{}}}"#, serde_json::to_string(&text).unwrap());
                    let day = chrono::DateTime::from_timestamp_micros(time_us).unwrap().format("%Y-%m-%d");
                    (commit("create", "app.bsky.feed.post", &record), Some((day.to_string(), text.clone())))
                }
                12 | 13 => (commit("delete", "app.bsky.feed.post", ""), None),
                14 => (commit("update", "app.bsky.feed.post", r##","record":{"text":"#spark edited"}"##), None),
                15 | 16 => (commit("create", "app.bsky.feed.like", r#","record":{"subject":{}}"#), None),
                17 => (
                    format!(r#"{{"did":"did:plc:u{i}","time_us":{time_us},"kind":"identity","identity":{{"did":"did:plc:u{i}","seq":{i}}}}}"#),
                    None,
                ),
                _ => (
                    format!(r#"{{"did":"did:plc:u{i}","time_us":{time_us},"kind":"account","account":{{"active":true,"seq":{i}}}}}"#),
                    None,
                ),
            };
            Event { time_us, json, post }
        })
        .collect()
}

/// How a connection of the server ends once it has sent its events.
#[derive(Clone, Copy, Debug)]
pub enum Ending {
    /// A WebSocket close frame.
    Close,
    /// The TCP connection dropped, no close frame.
    Drop,
    /// Stays open, sending nothing more.
    Open,
}

/// A connection's `Authorization` header and when it came.
pub type Head = (Option<String>, std::time::Instant);

/// A Jetstream server of the test's own on 127.0.0.1.
pub struct Server {
    pub addr: String,
    /// Each connection's request target (path and query), in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    /// Each connection's `Authorization` header and when it came.
    pub seen: Arc<Mutex<Vec<Head>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `events`: connection k sends, from its cursor on (all without
/// one), the events up to `plan[k].0` (exclusive), then ends as `plan[k].1`;
/// connections past the plan use its last entry.
pub fn serve(events: Vec<Event>, plan: Vec<(usize, Ending)>) -> Server {
    serve_paced(events, plan, None)
}

/// [`serve`], with `pace` between events (None: as fast as they go).
pub fn serve_paced(
    events: Vec<Event>,
    plan: Vec<(usize, Ending)>,
    pace: Option<std::time::Duration>,
) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let heads = Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (seen, seen_heads) = (requests.clone(), heads.clone());
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let events = Arc::new(events);
            let accepting = async {
                for k in 0.. {
                    let (stream, _) = listener.accept().await.unwrap();
                    let (upto, ending) = plan[k.min(plan.len() - 1)];
                    let (events, seen, heads) = (events.clone(), seen.clone(), seen_heads.clone());
                    tokio::spawn(async move {
                        connection(stream, &events, (upto, ending), pace, (&seen, &heads)).await
                    });
                }
            };
            tokio::select! {
                _ = stopped => {}
                () = accepting => {}
            }
        });
    });
    Server { addr, requests, seen: heads, stop: Some(stop), thread: Some(thread) }
}

/// The events a Jetstream keeps, in the order they came: a cursor replays
/// from the first one at or after it (events that came back in time after
/// it included, as they were stored).
async fn connection(
    stream: tokio::net::TcpStream,
    events: &[Event],
    (upto, ending): (usize, Ending),
    pace: Option<std::time::Duration>,
    (seen, heads): (&Mutex<Vec<String>>, &Mutex<Vec<Head>>),
) {
    let mut target = String::new();
    let mut authorization = None;
    // The type the library asks for (its error is an HTTP response).
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| {
        target = req.uri().to_string();
        authorization = req.headers().get("authorization").map(|v| v.to_str().unwrap().to_owned());
        Ok(resp)
    };
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await
    else {
        return;
    };
    seen.lock().unwrap().push(target.clone());
    heads.lock().unwrap().push((authorization, std::time::Instant::now()));
    let cursor = target
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("cursor="))
        .map(|c| c.parse::<i64>().expect("a cursor is a time_us"));
    let from = cursor.map_or(0, |c| events.iter().position(|e| e.time_us >= c).unwrap_or(events.len()));
    for e in &events[from.min(upto)..upto] {
        let sent = match pace {
            Some(pause) => {
                tokio::time::sleep(pause).await;
                ws.send(Message::text(e.json.clone())).await
            }
            None => ws.feed(Message::text(e.json.clone())).await,
        };
        if sent.is_err() {
            return;
        }
    }
    let _ = ws.flush().await;
    match ending {
        Ending::Close => {
            let _ = ws.close(None).await;
        }
        Ending::Drop => drop(ws),
        Ending::Open => {
            // Until the client goes away.
            while let Some(Ok(_)) = ws.next().await {}
        }
    }
}

/// The value of a metric series whose line starts with `series` (0: none).
pub fn metric(http: &str, series: &str) -> u64 {
    let (_, text) = http_get_text(http, "/metrics");
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// Posts taken by every live source of the engine at `http`.
pub fn posts_taken(http: &str) -> u64 {
    let (_, text) = http_get_text(http, "/metrics");
    text.lines()
        .filter(|l| l.starts_with("tweetstream_live_posts_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_close_frame_and_a_dropped_connection_lose_and_repeat_nothing() {
    let events = events(3_000, 7);
    let posts: Vec<(String, String)> = events.iter().filter_map(|e| e.post.clone()).collect();
    let mut want_tags = BTreeMap::<String, u64>::new();
    for (_, text) in &posts {
        for t in twitter_tags(text) {
            *want_tags.entry(t).or_default() += 1;
        }
    }
    let want_days = per_day(posts.iter().cloned());
    assert!(want_days.len() >= 3 && want_tags.len() >= 3);
    let server = serve(events, vec![(1_000, Ending::Close), (2_000, Ending::Drop), (3_000, Ending::Open)]);
    let url = format!("ws://{}/subscribe", server.addr);
    let (mut engine, http) = crate::http_feeds::engine(&["--jetstream", &url], &[]);
    let source = format!("{{source=\"jetstream {url}\"}}");
    poll_until("every post taken", || {
        // At least: more would be posts counted twice, which the tables show.
        (metric(&http, &format!("tweetstream_live_posts_total{source}")) >= posts.len() as u64).then_some(())
    });
    assert_eq!(metric(&http, &format!("tweetstream_live_reconnects_total{source}")), 2);
    let (_, health) = http_get(&http, "/health");
    assert_eq!(
        health["sources"],
        serde_json::json!([{"name": format!("jetstream {url}"), "connected": true}])
    );
    engine.tick();
    let tables = engine.finish();
    assert_eq!(table_counts(&tables["tag_totals"]), want_tags);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want_days);

    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(requests.iter().all(|r| r.contains("wantedCollections=app.bsky.feed.post")), "{requests:?}");
    assert!(!requests[0].contains("cursor="), "{requests:?}");
    // Each reconnection asks from a few seconds before the last event taken.
    for (r, last) in requests[1..].iter().zip([999, 1_999]) {
        let cursor: i64 = r.split("cursor=").nth(1).unwrap().parse().unwrap();
        let last_us = 1_725_000_000_000_000 + last * 10_000;
        assert_eq!(cursor, last_us - 3_000_000, "{r}");
    }
}

/// The tag totals and per-day table a run over `posts` must end with.
fn expected(posts: &[(String, String)]) -> (BTreeMap<String, u64>, BTreeMap<String, (f64, u64)>) {
    let mut tags = BTreeMap::<String, u64>::new();
    for (_, text) in posts {
        for t in twitter_tags(text) {
            *tags.entry(t).or_default() += 1;
        }
    }
    (tags, per_day(posts.iter().cloned()))
}

/// `kill -9` in the middle of a Jetstream run with `--checkpoint`, then a
/// restart: the restarted engine resumes from the cursor saved with the last
/// batch, and its tables equal those of a run that was never interrupted
/// (computed here from the posts).
#[test]
fn kill_9_with_a_checkpoint_then_a_restart_loses_and_repeats_nothing() {
    kill_9_then_restart(events(3_000, 11));
}

/// Serves `events` (about 1 ms apart) to an engine with a checkpoint, kills
/// it (`-9`) once it has taken a third of the posts, restarts it, and checks
/// its tables equal those of an uninterrupted run.
pub(crate) fn kill_9_then_restart(events: Vec<Event>) {
    let posts: Vec<(String, String)> = events.iter().filter_map(|e| e.post.clone()).collect();
    let (want_tags, want_days) = expected(&posts);
    // The first engine gets the events at about 1 ms each; the second all
    // that is left, from its cursor.
    let n = events.len();
    let server = serve_paced(events, vec![(n, Ending::Open)], Some(std::time::Duration::from_millis(1)));
    let url = format!("ws://{}/subscribe", server.addr);
    let path = std::env::temp_dir().join(unique("jetstream-checkpoint"));
    let path = path.to_str().unwrap();
    let args = [
        "stream",
        "--jetstream",
        &url,
        "--batch",
        "100ms",
        "--print-every",
        "never",
        "--checkpoint",
        path,
        "--http",
        "127.0.0.1:0",
    ];
    let mut first = Proc::spawn(&args);
    let http = logged_http_addr(&first.wait_stderr("serving the tables on http://"));
    let source = format!("{{source=\"jetstream {url}\"}}");
    // Killed once it has taken a third of the posts, while they still come.
    poll_until("a third of the posts taken", || {
        (metric(&http, &format!("tweetstream_live_posts_total{source}")) >= posts.len() as u64 / 3)
            .then_some(())
    });
    let taken = metric(&http, &format!("tweetstream_live_posts_total{source}")) as usize;
    first.child.kill().unwrap();
    first.wait_exit();
    let mut second = Proc::spawn(&args);
    let http = logged_http_addr(&second.wait_stderr("serving the tables on http://"));
    let resumed = second.wait_stderr("resuming after event");
    assert!(taken < posts.len(), "killed before the end: {taken}");
    let days = poll_until("the tables of an uninterrupted run", || {
        let (_, tags) = http_get(&http, "/tables/tag_totals?limit=all");
        let (_, days) = http_get(&http, "/tables/sentiment_by_day?limit=all");
        (table_counts(&tags) == want_tags && day_rows(&days) == want_days).then_some(days)
    });
    assert_eq!(day_rows(&days), want_days, "{resumed}");
    second.terminate();
    assert!(second.wait_exit().success());
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[1].contains("cursor="), "{requests:?}");
    let _ = std::fs::remove_file(path);
}

/// Whether `--track spark` keeps a text: a word that is "spark" once the
/// punctuation around it is taken away, in any case (the generated words
/// have no inner punctuation).
fn mentions_spark(text: &str) -> bool {
    text.split_whitespace()
        .any(|w| w.trim_matches(|c: char| c.is_ascii_punctuation()).eq_ignore_ascii_case("spark"))
}

/// The (day, text) of each tweet line `live` wrote.
pub(crate) fn live_posts(stdout: &[u8]) -> Vec<(String, String)> {
    std::str::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let ms = v["created_at"].as_i64().unwrap();
            let day = chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%d").to_string();
            (day, v["text"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// `live --jetstream` writes the posts as tweet lines, in order: with
/// `--track`, only the matching ones; `--limit` stops it.
#[test]
fn live_writes_the_posts_as_tweet_lines() {
    let events = events(2_000, 5);
    let posts: Vec<(String, String)> = events.iter().filter_map(|e| e.post.clone()).collect();
    let server = serve(events, vec![(2_000, Ending::Open)]);
    let url = format!("ws://{}/subscribe", server.addr);
    let want: Vec<(String, String)> =
        posts.iter().filter(|(_, t)| mentions_spark(t)).take(100).cloned().collect();
    assert_eq!(want.len(), 100, "enough posts mention spark");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["live", "--jetstream", &url, "--track", "spark", "--limit", "100"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(live_posts(&out.stdout), want);
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote 100 posts"));
}

/// The tutorial's two processes, live: `live --jetstream --listen` serves the
/// posts to `stream --connect`, whose tables equal a computation over them.
#[test]
fn live_listen_feeds_a_stream_engine_like_the_tutorial() {
    let events = events(3_000, 9);
    let posts: Vec<(String, String)> = events.iter().filter_map(|e| e.post.clone()).collect();
    let (want_tags, want_days) = expected(&posts);
    let server = serve(events, vec![(3_000, Ending::Open)]);
    let url = format!("ws://{}/subscribe", server.addr);
    let mut live = Proc::spawn(&["live", "--jetstream", &url, "--listen", "127.0.0.1:0"]);
    let line = live.wait_stderr("listening on ");
    let addr = line.rsplit("listening on ").next().unwrap().trim().to_owned();
    let mut engine = manual_engine(&addr, &["--print-every", "never", "--top", "0", "--http", "127.0.0.1:0"]);
    let http = logged_http_addr(&engine.wait_stderr("serving the tables on http://"));
    // A batch closed now and then, until they hold every post.
    poll_until("every post received", || {
        engine.tick();
        std::thread::sleep(std::time::Duration::from_millis(100));
        (metric(&http, "tweetstream_records_total") >= posts.len() as u64).then_some(())
    });
    let tables = engine.finish();
    assert_eq!(table_counts(&tables["tag_totals"]), want_tags);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want_days);
    live.terminate();
    assert!(live.wait_exit().success());
}

/// `produce --jetstream` feeds the Kafka lab live: the posts go to the topic
/// as the lab's `{"tweet", "date"}` messages, and an engine reading the
/// topic ends with the tables of a computation over the posts.
#[test]
fn produce_feeds_the_kafka_lab_with_the_posts() {
    let events = events(1_500, 13);
    let posts: Vec<(String, String)> = events.iter().filter_map(|e| e.post.clone()).collect();
    let (want_tags, want_days) = expected(&posts);
    let server = serve(events, vec![(1_500, Ending::Open)]);
    let url = format!("ws://{}/subscribe", server.addr);
    let (brokers, topic) = (brokers(), unique("jetstream_produce"));
    let n = posts.len().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["produce", "--jetstream", &url, "--limit", &n, "--brokers", &brokers, "--topic", &topic])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("{n} posts, {n} delivered, 0 failed")), "{stderr}");
    let group = unique("jetstream_produce_group");
    let mut engine = Proc::spawn(&[
        "stream",
        "--kafka",
        &brokers,
        "--topic",
        &topic,
        "--group",
        &group,
        "--from",
        "earliest",
        "--batch",
        "200ms",
        "--stop-after-records",
        &n,
        "--print-every",
        "never",
        "--top",
        "0",
        "--format",
        "json",
    ]);
    let tables = engine.final_tables();
    assert_eq!(table_counts(&tables["tag_totals"]), want_tags);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want_days);
}
