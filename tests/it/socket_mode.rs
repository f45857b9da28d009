//! Socket mode end to end with the real binary: `replay --listen` serving the
//! fixture, `stream --connect` reading it, batches closed from the test
//! (`--batch manual`), results checked against values computed here.

use crate::common::*;

const MAX_LINE: usize = 300;

fn engine(addr: &str, hashtags: &str) -> Proc {
    let max = MAX_LINE.to_string();
    manual_engine(
        addr,
        &["--print-every", "batch", "--top", "0", "--hashtags", hashtags, "--max-line-bytes", &max],
    )
}

/// Per-day (sum, count) of compound scores, as the engine should report them.
fn expected_days(lines: &[Expected]) -> std::collections::BTreeMap<String, (f64, u64)> {
    per_day(lines.iter().filter_map(|l| match l {
        Expected::Tweet { text, day: Some(day) } => Some((day.clone(), text.clone())),
        _ => None,
    }))
}

#[test]
fn batches_tags_and_days_match_an_independent_computation() {
    let file = fixture("tweets.jsonl");
    let lines = expected_lines(&std::fs::read(&file).unwrap(), MAX_LINE);
    let first = 500;
    assert!(lines.len() > first + 100);
    assert!(lines.iter().any(|l| matches!(l, Expected::Bad)), "the fixture has bad lines");

    // Batch 1: the first 500 lines.
    let (_replay, addr) = replay_listen(&file, "127.0.0.1:0", &["--limit", &first.to_string()]);
    let mut engine = engine(&addr, "twitter");
    engine.wait_stderr(&format!("closed after {first} lines"));
    engine.tick();
    let b1 = engine.next_json();
    assert_eq!(b1["query"], "select tag, count from tag_counts order by count desc limit -1");
    assert_eq!(table_counts(&b1), count_tags(&lines[..first], twitter_tags));

    // Batch 2: the rest, from a second replay on the same port.
    let rest = lines.len() - first;
    let (_replay2, _) = replay_listen(&file, &addr, &["--skip", &first.to_string()]);
    engine.wait_stderr(&format!("closed after {rest} lines"));
    engine.tick();
    let b2 = engine.next_json();
    assert_eq!(table_counts(&b2), count_tags(&lines[first..], twitter_tags));

    let tables = engine.finish();
    assert_eq!(table_counts(&tables["tag_totals"]), count_tags(&lines, twitter_tags));

    let days = day_rows(&tables["sentiment_by_day"]);
    assert_eq!(days, expected_days(&lines));
    assert_eq!(days.len(), 5, "the fixture spans five days");

    let batches = tables["batches"]["rows"].as_array().unwrap();
    assert_eq!(batches.len(), 2);
    for (row, range) in batches.iter().zip([&lines[..first], &lines[first..]]) {
        let bad = range.iter().filter(|l| matches!(l, Expected::Bad)).count() as u64;
        let undated = range.iter().filter(|l| matches!(l, Expected::Tweet { day: None, .. })).count() as u64;
        assert_eq!(row[1].as_u64(), Some(range.len() as u64), "records");
        assert_eq!(row[2].as_u64(), Some(bad), "bad_records");
        assert_eq!(row[3].as_u64(), Some(undated), "undated");
    }
}

#[test]
fn spark_mode_counts_the_naive_split_exactly() {
    let file = fixture("tweets.jsonl");
    let lines = expected_lines(&std::fs::read(&file).unwrap(), MAX_LINE);
    let (_replay, addr) = replay_listen(&file, "127.0.0.1:0", &[]);
    let mut engine = engine(&addr, "spark");
    engine.wait_stderr(&format!("closed after {} lines", lines.len()));
    engine.tick();
    let got = table_counts(&engine.next_json());
    let want = count_tags(&lines, spark_tags);
    // The odd tags of the original job are there.
    for odd in ["#", "#russia's", "#rust,", "#rust!", "#a#b"] {
        assert!(want.contains_key(odd) && got.contains_key(odd), "{odd}");
    }
    assert_eq!(got, want);
}

#[test]
fn engine_reconnects_when_the_server_is_killed_and_restarted() {
    let file = fixture("tweets.jsonl");
    let lines = expected_lines(&std::fs::read(&file).unwrap(), MAX_LINE);
    // The engine starts first: nothing listens yet, so it retries.
    let (probe, addr) = replay_listen(&file, "127.0.0.1:0", &["--limit", "0"]);
    drop(probe); // frees a known-free port
    let mut engine = engine(&addr, "twitter");
    engine.wait_stderr("cannot connect to");

    let (mut replay, _) = replay_listen(&file, &addr, &["--rate", "2000"]);
    engine.wait_stderr("connected to");
    // Close batches until some records have arrived, then kill the server.
    poll_until("records arrive", || {
        engine.tick();
        (!rows(&engine.next_json()).is_empty()).then_some(())
    });
    replay.child.kill().unwrap();
    let line = engine.wait_stderr(&format!("connection to {addr}"));
    let n: usize = line.split(" after ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let cut = line.contains("cut off");
    assert!(n > 0 && n < lines.len(), "killed mid-stream: {line}");

    // Restart where the complete lines ended.
    let complete = n - usize::from(cut);
    let (_replay2, _) = replay_listen(&file, &addr, &["--skip", &complete.to_string()]);
    engine.wait_stderr(&format!("closed after {} lines", lines.len() - complete));
    let tables = engine.finish();
    assert_eq!(table_counts(&tables["tag_totals"]), count_tags(&lines, twitter_tags));
    let records: u64 =
        tables["batches"]["rows"].as_array().unwrap().iter().map(|r| r[1].as_u64().unwrap()).sum();
    assert_eq!(records, lines.len() as u64 + u64::from(cut), "every line once, plus the cut-off fragment");
}

#[test]
fn a_line_cut_off_by_a_connection_reset_counts_as_bad() {
    // A server that sends two tweets and half of a third, then resets the
    // connection (SO_LINGER 0: an RST instead of a FIN).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        std::io::Write::write_all(
            &mut s,
            b"{\"text\": \"one #a\"}\n{\"text\": \"two #a\"}\n{\"text\": \"thr",
        )
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let s = socket2::Socket::from(s);
        s.set_linger(Some(std::time::Duration::ZERO)).unwrap();
        drop(s);
    });
    let mut engine = manual_engine(&addr, &["--print-every", "never"]);
    let line = engine.wait_stderr(&format!("connection to {addr} failed"));
    assert!(line.contains("after 3 lines (the last one cut off)"), "{line}");
    server.join().unwrap();
    let tables = engine.finish();
    let batches = tables["batches"]["rows"].as_array().unwrap();
    let (records, bad): (u64, u64) = batches
        .iter()
        .map(|r| (r[1].as_u64().unwrap(), r[2].as_u64().unwrap()))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert_eq!((records, bad), (3, 1), "{batches:?}");
    assert_eq!(table_counts(&tables["tag_totals"]), std::collections::BTreeMap::from([("#a".to_owned(), 2)]));
}

/// The tweets fixture served once to a manual-batch engine with `--http`:
/// (expected lines, replay, engine, HTTP address).
fn fixture_with_http() -> (Vec<Expected>, Proc, Proc, String) {
    let file = fixture("tweets.jsonl");
    let lines = expected_lines(&std::fs::read(&file).unwrap(), MAX_LINE);
    let (replay, addr) = replay_listen(&file, "127.0.0.1:0", &[]);
    let max = MAX_LINE.to_string();
    let mut engine =
        manual_engine(&addr, &["--print-every", "never", "--max-line-bytes", &max, "--http", "127.0.0.1:0"]);
    let http = logged_http_addr(&engine.wait_stderr("serving the tables on http://"));
    (lines, replay, engine, http)
}

#[test]
fn http_endpoint_serves_the_latest_batch() {
    let (lines, _replay, mut engine, http) = fixture_with_http();
    let (status, health) = http_get(&http, "/health");
    assert_eq!(status, 200);
    assert_eq!(health["batch_time"], serde_json::Value::Null);

    engine.wait_stderr(&format!("closed after {} lines", lines.len()));
    engine.tick();
    // The batch is published before the next tick is read; poll the endpoint
    // for it.
    let body = poll_until("the batch is published", || {
        let (status, body) = http_get(&http, "/tables/tag_counts?limit=3");
        assert_eq!(status, 200);
        (!rows(&body).is_empty()).then_some(body)
    });
    let got: Vec<(String, u64)> =
        rows(&body).iter().map(|r| (r[0].as_str().unwrap().into(), r[1].as_u64().unwrap())).collect();
    assert_eq!(got, top_n(count_tags(&lines, twitter_tags), 3));
    assert_eq!(body["columns"], serde_json::json!(["tag", "count"]));

    let (_, list) = http_get(&http, "/tables");
    assert_eq!(
        list["tables"],
        serde_json::json!(["tag_counts", "tag_totals", "sentiment_by_day", "batches", "languages"])
    );
    let (status, days) = http_get(&http, "/tables/sentiment_by_day");
    assert_eq!(status, 200);
    assert_eq!(days["rows"].as_array().unwrap().len(), 5);
    let (status, err) = http_get(&http, "/tables/nope");
    assert_eq!(status, 404);
    assert!(err["error"].as_str().unwrap().contains("no table"));
    let (status, _) = http_get(&http, "/tables/batches?limit=ten");
    assert_eq!(status, 400);
    engine.finish();
}

#[test]
fn options_that_can_never_work_are_refused_at_once() {
    let refused = |args: &[&str], message: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tweetstream"))
            .arg("stream")
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    };
    refused(
        &["--connect", "127.0.0.1:1", "--batch", "10s", "--window", "25s"],
        "not a multiple of the batch interval",
    );
    // A host that does not answer yet is retried; an address without a port never works.
    refused(&["--connect", "localhost"], "\"localhost\" is not HOST:PORT");
    refused(&["--connect", "127.0.0.1:1", "--max-line-bytes", "0"], "a size in bytes must be from 1 to");
    // The results store keeps every tag of every engine of a group.
    refused(&["--kafka", "127.0.0.1:1", "--results", "--max-tags", "10"], "cannot be used with");
    refused(&["--jetstream", "http://h/subscribe"], "is not a WebSocket URL");
    refused(&["--kafka", "127.0.0.1:1", "--jetstream"], "cannot be used with");
}

#[test]
fn health_ready_follows_the_source() {
    let file = fixture("lab.jsonl");
    let (replay, addr) = replay_listen(&file, "127.0.0.1:0", &["--loop", "--rate", "100"]);
    let mut engine = manual_engine(&addr, &["--print-every", "never", "--http", "127.0.0.1:0"]);
    let http = logged_http_addr(&engine.wait_stderr("http: serving the tables on http://"));
    let (status, live) = http_get(&http, "/health/live");
    assert_eq!((status, &live["status"]), (200, &serde_json::json!("live")));
    let ready = |want: u16| {
        poll_until(&format!("/health/ready answers {want}"), || {
            let (status, body) = http_get(&http, "/health/ready");
            (status == want).then_some(body)
        })
    };
    ready(200);
    drop(replay); // the server goes away
    let body = ready(503);
    assert_eq!(body["reason"], format!("the source is not connected: socket {addr}"), "{body}");
    let (_, health) = http_get(&http, "/health");
    assert_eq!(
        (health["ready"].clone(), health["reason"].clone()),
        (serde_json::json!(false), body["reason"].clone())
    );
    let _back = replay_listen(&file, &addr, &["--loop", "--rate", "100"]);
    ready(200);
    engine.finish();
}

/// The samples of an OpenMetrics text, checked line by line: `# HELP`,
/// `# TYPE`, `# UNIT` comments, `name{label="value",…} number` samples, and
/// `# EOF` last. Keys are the name with its labels as written.
fn parse_exposition(text: &str) -> std::collections::BTreeMap<String, f64> {
    let name = regex::Regex::new(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$").unwrap();
    let sample = regex::Regex::new(
        r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (\S+)$"#,
    )
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "the text ends with # EOF");
    let mut samples = std::collections::BTreeMap::new();
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, metric) = (parts.next().unwrap(), parts.next().unwrap_or(""));
            assert!(matches!(kind, "HELP" | "TYPE" | "UNIT") && name.is_match(metric), "comment: {line}");
            continue;
        }
        let caps = sample.captures(line).unwrap_or_else(|| panic!("not a sample: {line:?}"));
        let value: f64 = caps[5].parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        let key = line.rsplit_once(' ').unwrap().0.to_owned();
        samples.insert(key, value);
    }
    samples
}

#[test]
fn metrics_equal_the_batch_log() {
    let (lines, _replay, mut engine, http) = fixture_with_http();
    engine.wait_stderr(&format!("closed after {} lines", lines.len()));
    engine.tick();
    engine.tick();
    let batches = poll_until("two batches are published", || {
        let (_, t) = http_get(&http, "/tables/batches");
        (rows(&t).len() == 2).then_some(t)
    });
    // No batch closes between the two reads: batches close only when told.
    // OpenMetrics, asked for as Prometheus does; without an Accept, the
    // classic format (no `# EOF`).
    let ask =
        format!("GET /metrics HTTP/1.0\r\nHost: {http}\r\nAccept: application/openmetrics-text\r\n\r\n");
    let (status, head, text) = http_exchange(&http, &ask);
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("application/openmetrics-text"), "{head}");
    let (_, classic) = http_get_text(&http, "/metrics");
    assert!(!classic.contains("# EOF") && classic.contains("tweetstream_records_total "), "{classic}");
    let m = parse_exposition(&text);
    let column = |i: usize| rows(&batches).iter().map(|r| r[i].as_f64().unwrap()).sum::<f64>();
    assert_eq!(m["tweetstream_records_total"], column(1));
    assert_eq!(m["tweetstream_records_total"], lines.len() as f64);
    let bad: f64 =
        m.iter().filter(|(k, _)| k.starts_with("tweetstream_bad_records_total{")).map(|(_, v)| v).sum();
    assert_eq!(bad, column(2));
    assert_eq!(bad, lines.iter().filter(|l| matches!(l, Expected::Bad)).count() as f64);
    assert_eq!(m["tweetstream_batches_total"], 2.0);
    assert_eq!(m["tweetstream_batch_records_count"], 2.0);
    assert_eq!(m["tweetstream_batch_records_sum"], column(1));
    // The replay has sent its file and closed: the source is disconnected.
    let (_, health) = http_get(&http, "/health");
    for source in health["sources"].as_array().unwrap() {
        let key = format!("tweetstream_source_connected{{source={}}}", source["name"]);
        assert_eq!(m[&key], if source["connected"] == true { 1.0 } else { 0.0 }, "{text}");
    }
    assert!(m["tweetstream_resident_memory_bytes"] > 1e6);
    assert!(m.contains_key("tweetstream_batch_processing_seconds_count"));
    engine.finish();
}

#[test]
fn textblob_days_equal_python_textblob_summed_exactly() {
    let file = fixture("tweets.jsonl");
    let lines = expected_lines(&std::fs::read(&file).unwrap(), MAX_LINE);
    let (_replay, addr) = replay_listen(&file, "127.0.0.1:0", &[]);
    let max = MAX_LINE.to_string();
    let mut engine = manual_engine(
        &addr,
        &["--sentiment", "textblob", "--print-every", "never", "--max-line-bytes", &max],
    );
    engine.wait_stderr(&format!("closed after {} lines", lines.len()));
    engine.tick();
    let tables = engine.finish();
    let days = &tables["sentiment_by_day"];
    let want = per_day_polarity(lines.iter().filter_map(|l| match l {
        Expected::Tweet { text, day: Some(day) } => Some((day.clone(), text.clone())),
        _ => None,
    }));
    assert_eq!(day_rows(days), want);
    // Every row says which measure it holds; the average is sum / count.
    for r in rows(days) {
        assert_eq!(r[4], "textblob");
        assert_eq!(r[3].as_f64().unwrap(), r[1].as_f64().unwrap() / r[2].as_f64().unwrap());
    }
    assert_eq!(days["columns"][4], "model");
}

#[test]
fn track_keeps_the_matching_tweets_and_counts_the_others() {
    let (path, texts) = track_tweets();
    let (_replay, addr) = replay_listen(path.to_str().unwrap(), "127.0.0.1:0", &[]);
    let mut engine = manual_engine(&addr, &["--track", TRACK, "--print-every", "never"]);
    engine.wait_stderr(&format!("closed after {} lines", texts.len()));
    engine.tick();
    let tables = engine.finish();
    let kept = texts.iter().filter(|t| track_keeps(t)).count() as u64;
    let batch = &rows(&tables["batches"])[0];
    assert_eq!(tables["batches"]["columns"][6], "filtered");
    assert_eq!(batch[1].as_u64(), Some(texts.len() as u64), "records");
    assert_eq!(batch[6].as_u64(), Some(texts.len() as u64 - kept), "filtered");
    let counted: u64 = day_rows(&tables["sentiment_by_day"]).values().map(|(_, n)| n).sum();
    assert_eq!(counted, kept);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn two_servers_are_read_as_one_stream_each_on_its_own() {
    let file = fixture("tweets.jsonl");
    let lines = expected_lines(&std::fs::read(&file).unwrap(), MAX_LINE);
    let (first, second) = (200, 300);
    // Server A serves the first lines and goes away; server B is not up yet.
    let (_a, a) = replay_listen(&file, "127.0.0.1:0", &["--limit", &first.to_string()]);
    let b = {
        let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        reserved.local_addr().unwrap().to_string()
    };
    let max = MAX_LINE.to_string();
    let extra = [
        "--connect",
        &b,
        "--http",
        "127.0.0.1:0",
        "--print-every",
        "never",
        "--top",
        "0",
        "--max-line-bytes",
        &max,
    ];
    let mut engine = manual_engine(&a, &extra);
    let http = logged_http_addr(&engine.wait_stderr("http: serving the tables on http://"));
    engine.wait_stderr(&format!("connection to {a} closed after {first} lines"));
    // Both are listed, neither is connected now, so the engine is not ready.
    let (_, health) = http_get(&http, "/health");
    let sources = health["sources"].as_array().unwrap();
    let names: Vec<&str> = sources.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, [format!("socket {a}"), format!("socket {b}")]);
    assert_eq!(health["source_connected"], false);
    let (status, ready) = http_get(&http, "/health/ready");
    assert_eq!(status, 503);
    assert!(ready["reason"].as_str().unwrap().contains(&format!("socket {b}")), "{ready}");
    // One series per source in the metrics.
    let (_, text) = http_get_text(&http, "/metrics");
    for name in &names {
        assert!(text.contains(&format!("tweetstream_source_connected{{source=\"{name}\"}} 0")), "{text}");
    }

    // Server B comes up with the next lines: counted into the same batch.
    let (_b, _) = replay_listen(&file, &b, &["--skip", &first.to_string(), "--limit", &second.to_string()]);
    engine.wait_stderr(&format!("connection to {b} closed after {second} lines"));
    engine.tick();
    let tables = engine.finish();
    let both = &lines[..first + second];
    assert_eq!(table_counts(&tables["tag_totals"]), count_tags(both, twitter_tags));
    assert_eq!(rows(&tables["batches"])[0][1].as_u64(), Some(both.len() as u64));
    assert_eq!(day_rows(&tables["sentiment_by_day"]), expected_days(both));
}

/// A Server-Sent Events client of `path`: each event's data, parsed, on a
/// channel (HTTP/1.0, so the events come unchunked until the server closes).
fn sse(http: &str, path: &str) -> std::sync::mpsc::Receiver<serde_json::Value> {
    use std::io::{BufRead, Write};
    let mut stream = std::net::TcpStream::connect(http).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {http}\r\n\r\n").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if let Some(data) = line.strip_prefix("data: ")
                && tx.send(serde_json::from_str(data).unwrap()).is_err()
            {
                return;
            }
        }
    });
    rx
}

#[test]
fn watchers_get_every_batch_as_it_closes() {
    let file = fixture("lab.jsonl");
    let (_replay, addr) = replay_listen(&file, "127.0.0.1:0", &["--loop", "--rate", "400"]);
    let mut engine = manual_engine(&addr, &["--print-every", "never", "--http", "127.0.0.1:0"]);
    let http = logged_http_addr(&engine.wait_stderr("http: serving the tables on http://"));
    let tables = sse(&http, "/tables/tag_totals/watch");
    let results = sse(&http, "/sql/watch?q=select%20count(*)%20as%20n%20from%20batches");
    let mut follow = Proc::spawn(&[
        "query",
        "--follow",
        "--server",
        &http,
        "--format",
        "json",
        "select count(*) as n, sum(records) as r from batches",
    ]);
    let deadline = std::time::Duration::from_secs(30);
    // Before the first batch nothing is pushed.
    assert!(tables.recv_timeout(std::time::Duration::from_millis(300)).is_err());
    let mut last_time = String::new();
    engine.wait_stderr("connected to");
    for batch in 1..=3u64 {
        std::thread::sleep(std::time::Duration::from_millis(200)); // some lines arrive
        engine.tick();
        let pushed = tables.recv_timeout(deadline).expect("an event per batch");
        // The event is the table as of that batch: what a GET returns now
        // (no other batch closes until the next tick).
        let (_, now) = http_get(&http, "/tables/tag_totals");
        assert_eq!(pushed, now, "batch {batch}");
        let time = pushed["batch_time"].as_str().unwrap().to_owned();
        assert!(time > last_time, "in order: {time} after {last_time}");
        last_time = time;
        let result = results.recv_timeout(deadline).expect("a result per batch");
        assert_eq!(result["rows"][0][0], batch, "{result}");
        let followed = follow.next_json();
        assert_eq!(followed["rows"][0][0], batch, "{followed}");
        let (_, batches) = http_get(&http, "/tables/batches");
        let records: u64 = rows(&batches).iter().map(|r| r[1].as_u64().unwrap()).sum();
        assert_eq!(followed["rows"][0][1], records);
        if batch < 3 {
            // Only one event per batch.
            assert!(tables.recv_timeout(std::time::Duration::from_millis(200)).is_err());
        }
    }
}

#[test]
fn with_a_window_the_timer_and_the_final_tables_show_the_window() {
    let file = fixture("tweets.jsonl");
    let (_replay, addr) = replay_listen(&file, "127.0.0.1:0", &[]);
    let lines = expected_lines(&std::fs::read(&file).unwrap(), 1 << 20);
    let mut engine = Proc::spawn(&[
        "stream",
        "--connect",
        &addr,
        "--batch",
        "200ms",
        "--window",
        "400ms",
        "--print-every",
        "batch",
        "--format",
        "json",
        "--top",
        "0",
        "--http",
        "127.0.0.1:0",
    ]);
    let http = logged_http_addr(&engine.wait_stderr("serving the tables on http://"));
    let totals = count_tags(&lines, twitter_tags);
    // Every record counted, then the two-batch window empties once batches
    // come without records: both seen in the tables, on counts.
    poll_until("every record counted", || {
        let (_, t) = http_get(&http, "/tables/tag_totals?limit=all");
        (table_counts(&t) == totals).then_some(())
    });
    poll_until("the window empty again", || {
        let (_, w) = http_get(&http, "/tables/tag_window?limit=all");
        rows(&w).is_empty().then_some(())
    });
    engine.terminate();
    // The timer printed the window's tags, never more than the totals.
    let mut shown = 0;
    let first_table = loop {
        let printed = engine.next_json();
        if printed["table"].is_string() {
            break printed;
        }
        assert_eq!(printed["query"], "select tag, count from tag_window order by count desc limit -1");
        for (tag, n) in table_counts(&printed) {
            assert!(n <= totals[&tag], "{tag}: {n} in the window, {} in all", totals[&tag]);
            shown += 1;
        }
    };
    assert!(shown > 0, "the window showed the tweets while they were in it");
    assert_eq!(first_table["table"], "tag_totals");
    assert_eq!(table_counts(&first_table), totals);
    let tables = engine.final_tables();
    // After the idle batches, the two-batch window is empty again.
    assert_eq!(rows(&tables["tag_window"]).len(), 0);
}

/// `--max-tags`: `tag_totals` keeps that many tags, each with the error its
/// count may carry, and what it shows holds against the exact counts
/// computed here; `tag_counts` stays exact.
#[test]
fn max_tags_bounds_tag_totals_and_says_how_far_off_each_count_may_be() {
    let file = fixture("tweets.jsonl");
    let lines = expected_lines(&std::fs::read(&file).unwrap(), MAX_LINE);
    let max = 5;
    let first = 500;
    let exact = count_tags(&lines, twitter_tags);
    assert!(exact.len() > 3 * max, "the fixture has many more tags than kept: {}", exact.len());
    let (_replay, addr) = replay_listen(&file, "127.0.0.1:0", &["--limit", &first.to_string()]);
    let mut engine = manual_engine(
        &addr,
        &[
            "--max-tags",
            &max.to_string(),
            "--max-line-bytes",
            &MAX_LINE.to_string(),
            "--print-every",
            "batch",
            "--print-sql",
            "select tag, count, error from tag_totals order by count desc",
        ],
    );
    engine.wait_stderr(&format!("closed after {first} lines"));
    engine.tick();
    let b1 = engine.next_json();
    assert_eq!(b1["columns"], serde_json::json!(["tag", "count", "error"]));
    assert_eq!(rows(&b1).len(), count_tags(&lines[..first], twitter_tags).len().min(max));
    let (_replay2, _) = replay_listen(&file, &addr, &["--skip", &first.to_string()]);
    engine.wait_stderr(&format!("closed after {} lines", lines.len() - first));
    engine.tick();
    engine.next_json();
    let tables = engine.finish();
    let totals = rows(&tables["tag_totals"]);
    assert_eq!(totals.len(), max);
    let last = totals[max - 1][1].as_u64().unwrap();
    let mut evicted_into = 0;
    for r in totals {
        let (tag, count, error) = (r[0].as_str().unwrap(), r[1].as_u64().unwrap(), r[2].as_u64().unwrap());
        let truth = exact[tag];
        assert!(count >= truth && count - error <= truth, "{tag}: {count} (error {error}), truly {truth}");
        evicted_into += u64::from(error > 0);
    }
    assert!(evicted_into > 0, "some row took an evicted tag's place");
    for (tag, n) in &exact {
        assert!(*n <= last || totals.iter().any(|r| r[0] == *tag.as_str()), "{tag} ({n}) left out");
    }
    let counted: u64 = totals.iter().map(|r| r[1].as_u64().unwrap()).sum();
    assert_eq!(counted, exact.values().sum::<u64>(), "the counts add up to every tag counted");
}

/// `GET path` with extra header lines; (status, head, body).
fn get_with(http: &str, path: &str, headers: &str) -> (u16, String, String) {
    http_exchange(http, &format!("GET {path} HTTP/1.0\r\nHost: {http}\r\n{headers}\r\n"))
}

#[test]
fn tables_as_csv_are_never_cut_silently_and_cors_is_off_unless_asked() {
    // More distinct tags than a table request returns unless told.
    let n = 1001;
    let file = std::env::temp_dir().join(format!("{}.txt", unique("tags")));
    std::fs::write(&file, (0..n).map(|i| format!("#t{i:04}\n")).collect::<String>()).unwrap();
    let (_replay, addr) = replay_listen(file.to_str().unwrap(), "127.0.0.1:0", &[]);
    let origin = "http://notebook.example:8888";
    let mut engine = manual_engine(
        &addr,
        &["--input", "text", "--print-every", "never", "--http", "127.0.0.1:0", "--cors-origin", origin],
    );
    let http = logged_http_addr(&engine.wait_stderr("serving the tables on http://"));
    engine.wait_stderr(&format!("closed after {n} lines"));
    engine.tick();
    poll_until("the batch is published", || (http_get(&http, "/health").1["batches"] == 1).then_some(()));

    let (status, _, body) = get_with(&http, "/tables/tag_totals?format=csv", "");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("limit=all"), "{body}");
    let (status, head, body) = get_with(&http, "/tables/tag_totals?format=csv&limit=all", "");
    assert_eq!(status, 200, "{body}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/csv"), "{head}");
    let want: String =
        std::iter::once("tag,count\n".to_owned()).chain((0..n).map(|i| format!("#t{i:04},1\n"))).collect();
    assert_eq!(body, want);
    let (status, _, body) = get_with(&http, "/tables/tag_totals?limit=2", "Accept: text/csv\r\n");
    assert_eq!((status, body.as_str()), (200, "tag,count\n#t0000,1\n#t0001,1\n"));
    let (status, _, body) = get_with(&http, "/tables/tag_totals?format=records&limit=1", "");
    assert_eq!((status, body.as_str()), (200, r##"[{"tag":"#t0000","count":1}]"##));
    let (status, _, body) = get_with(&http, "/tables/tag_totals?format=xml", "");
    assert_eq!(status, 400, "{body}");

    // CORS: the named origin may read, another may not; a preflight is answered.
    let allow = |head: &str| {
        head.lines().find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("access-control-allow-origin: ").map(str::to_owned)
        })
    };
    let (_, head, _) = get_with(&http, "/tables", &format!("Origin: {origin}\r\n"));
    assert_eq!(allow(&head).as_deref(), Some(origin));
    let (_, head, _) = get_with(&http, "/tables", "Origin: http://elsewhere.example\r\n");
    assert_eq!(allow(&head), None, "{head}");
    let (status, head, _) = http_exchange(
        &http,
        &format!(
            "OPTIONS /sql HTTP/1.0\r\nHost: {http}\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\n\r\n"
        ),
    );
    assert_eq!(status, 204, "{head}");
    assert!(head.to_ascii_lowercase().contains("access-control-allow-methods: get, post"), "{head}");
    engine.finish();
    std::fs::remove_file(file).unwrap();
}

/// Lines without dates (text typed into nc): the batch log counts them as
/// undated and a warning says why sentiment_by_day stays empty; with
/// `--undated arrival` they count on the day they arrived.
#[test]
fn undated_tweets_are_explained_or_dated_by_arrival() {
    let file = std::env::temp_dir().join(format!("{}.txt", unique("typed")));
    let lines = ["I love #rust", "what a terrible day #mondays", "ok #rust"];
    std::fs::write(&file, lines.map(|l| format!("{l}\n")).concat()).unwrap();
    let path = file.to_str().unwrap();
    let run = |extra: &[&str]| {
        let (_replay, addr) = replay_listen(path, "127.0.0.1:0", &[]);
        let mut args = vec!["--input", "text", "--print-every", "never"];
        args.extend_from_slice(extra);
        let mut engine = manual_engine(&addr, &args);
        engine.wait_stderr(&format!("closed after {} lines", lines.len()));
        let before = chrono::Utc::now().format("%Y-%m-%d").to_string();
        engine.tick();
        let tables = engine.finish();
        let after = chrono::Utc::now().format("%Y-%m-%d").to_string();
        (tables, engine.rest_of_stderr(), [before, after])
    };
    let (tables, stderr, _) = run(&[]);
    assert_eq!(rows(&tables["batches"])[0][3], lines.len(), "batches.undated");
    assert!(rows(&tables["sentiment_by_day"]).is_empty());
    assert!(
        stderr.contains("none of its 3 tweets has a date") && stderr.contains("--undated arrival"),
        "{stderr}"
    );

    let (tables, stderr, days) = run(&["--undated", "arrival"]);
    assert_eq!(rows(&tables["batches"])[0][3], 0, "batches.undated");
    let by_day = day_rows(&tables["sentiment_by_day"]);
    assert_eq!(by_day.len(), 1, "{by_day:?}");
    let (day, (_, n)) = by_day.into_iter().next().unwrap();
    assert!(days.contains(&day), "{day} is the day they arrived ({days:?})");
    assert_eq!(n, lines.len() as u64);
    assert!(!stderr.contains("has a date"), "{stderr}");
    std::fs::remove_file(file).unwrap();
}

/// A listener on every interface says that anyone who can reach it can read
/// the tables, and logs an address a browser can open.
#[test]
fn binding_beyond_loopback_warns_and_logs_a_usable_url() {
    let (_replay, addr) = replay_listen(&fixture("lab.jsonl"), "127.0.0.1:0", &[]);
    let mut engine = manual_engine(&addr, &["--print-every", "never", "--http", "0.0.0.0:0"]);
    let warning = engine.wait_stderr("--http listens on 0.0.0.0:");
    assert!(warning.contains("asks for no credentials"), "{warning}");
    let http = logged_http_addr(&engine.wait_stderr("serving the tables on http://"));
    assert!(http.starts_with("127.0.0.1:"), "{http}");
    assert_eq!(http_get(&http, "/health/live").0, 200);
    engine.finish();
}

/// With a token (from the environment or a file), HTTP and the dashboard
/// serve only requests that carry it, as a bearer token or a basic-auth
/// password; the probes stay open; a listener beyond loopback is then not
/// warned about, and the token appears in no output.
#[test]
fn a_token_guards_http_and_the_dashboard() {
    let token = "t0ken-of-this-test";
    let (_replay, addr) = replay_listen(&fixture("lab.jsonl"), "127.0.0.1:0", &[]);
    let args = [
        "stream",
        "--connect",
        &addr,
        "--batch",
        "manual",
        "--format",
        "json",
        "--print-every",
        "never",
        "--http",
        "0.0.0.0:0",
        "--dashboard",
        "127.0.0.1:0",
    ];
    let mut engine = Proc::spawn_env(&args, &[("TWEETSTREAM_TOKEN", token)]);
    let http = logged_http_addr(&engine.wait_stderr("serving the tables on http://"));
    let dashboard = logged_http_addr(&engine.wait_stderr("dashboard: open http://"));
    let get = |at: &str, path: &str, auth: &str| {
        http_exchange(at, &format!("GET {path} HTTP/1.0\r\nHost: x\r\n{auth}\r\n"))
    };
    let basic = |pass: &str| {
        use base64::Engine as _;
        format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(format!("me:{pass}"))
        )
    };
    for at in [&http, &dashboard] {
        let (status, head, _) = get(at, "/tables", "");
        assert_eq!(status, 401, "{at}");
        assert!(
            head.to_ascii_lowercase().contains("www-authenticate: basic realm=\"tweetstream\""),
            "{head}"
        );
        assert_eq!(get(at, "/tables", "Authorization: Bearer wrong\r\n").0, 401);
        assert_eq!(get(at, "/tables", &basic("wrong")).0, 401);
        assert_eq!(get(at, "/tables", &format!("Authorization: Bearer {token}\r\n")).0, 200);
        assert_eq!(get(at, "/tables", &basic(token)).0, 200);
        assert_eq!(get(at, "/metrics", "").0, 401);
        assert_eq!(get(at, "/health/live", "").0, 200);
    }
    assert_eq!(get(&dashboard, "/", "").0, 401, "the page itself");
    assert_eq!(get(&dashboard, "/", &basic(token)).0, 200);
    // `tweetstream query` sends the token it is given, as the engine takes it.
    let query = |env: &[(&str, &str)]| {
        crate::sql::query_env(&http, &["--format", "csv", "select count(*) as n from batches"], env)
    };
    let (ok, out, err) = query(&[("TWEETSTREAM_TOKEN", token)]);
    assert!(ok && out.starts_with("n\n"), "{err}");
    let (ok, _, err) = query(&[]);
    assert!(!ok && err.contains("asks for a token") && err.contains("TWEETSTREAM_TOKEN"), "{err}");
    engine.tick();
    engine.finish();
    let stderr = engine.rest_of_stderr();
    assert!(!stderr.contains("asks for no credentials"), "{stderr}");
    assert!(!stderr.contains(token));

    // From a file; an empty token is refused before anything starts.
    let file = std::env::temp_dir().join(unique("token"));
    std::fs::write(&file, "\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["stream", "--connect", &addr, "--http", "127.0.0.1:0", "--token-file", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is empty"));
    std::fs::remove_file(file).unwrap();
}
