//! `stream --x-stream` and `stream --mastodon` against servers of the test's
//! own that speak each provider's documented protocol (the build machines
//! cannot reach X or a Mastodon instance), over plain HTTP/1.1 with chunked
//! bodies:
//!
//! - X's filtered stream: `GET /2/tweets/search/stream` with the app's
//!   bearer token, one JSON object per `\r\n`-ended line, `\r\n`
//!   keep-alives, an `operational-disconnect` error object before the
//!   server closes, 401 for a bad token, 429 with `x-rate-limit-reset`;
//! - Mastodon's streaming API: Server-Sent Events at
//!   `/api/v1/streaming/public`, `event: update` with a Status whose
//!   `content` is HTML, `delete`, `status.update`, boosts, `:` heartbeats.
//!
//! Posts are generated here from a fixed seed; the engine's tag totals and
//! per-day sentiment must equal a computation over the generated posts'
//! plain text. Neither protocol can replay, so each server sends each post
//! once, on whichever connection comes next.

use crate::common::*;
use crate::jetstream::metric;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) const TOKEN: &str = "AAAA-test-token-7f3e9b";

/// One answer of the server: its head, and body pieces sent as chunks.
#[derive(Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub pieces: Vec<String>,
    pub end: End,
}

/// How an answer's body ends.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum End {
    /// The last chunk (`0\r\n\r\n`), then the connection closes.
    Finish,
    /// The connection drops in the middle of the body.
    Drop,
    /// Stays open, sending nothing more.
    Silent,
    /// Stays open, sending this keep-alive every 300 ms.
    KeepAlive(&'static str),
}

impl Answer {
    pub(crate) fn ok(content_type: &str, pieces: Vec<String>, end: End) -> Answer {
        Answer { status: 200, headers: vec![("content-type".into(), content_type.into())], pieces, end }
    }
}

/// A request the server received: its target and `Authorization` header,
/// and when it came.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub target: String,
    pub authorization: Option<String>,
    pub at: std::time::SystemTime,
}

/// A streaming HTTP server of the test's own on 127.0.0.1: the n-th
/// connection gets the n-th answer (later ones: silent).
pub(crate) struct Server {
    pub addr: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    _runtime: tokio::runtime::Runtime,
}

pub(crate) fn serve(answers: Vec<Answer>) -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    runtime.spawn(async move {
        let mut n = 0;
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let answer = answers.get(n).cloned().unwrap_or(Answer::ok("text/plain", vec![], End::Silent));
            n += 1;
            tokio::spawn(connection(stream, answer, seen.clone()));
        }
    });
    Server { addr, requests, _runtime: runtime }
}

async fn connection(mut stream: tokio::net::TcpStream, answer: Answer, seen: Arc<Mutex<Vec<Request>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        assert!(head.len() < 16 << 10, "a request head over 16 KiB");
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
    let authorization = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("authorization")))
        .map(|(_, v)| v.trim().to_owned());
    seen.lock().unwrap().push(Request { target, authorization, at: std::time::SystemTime::now() });
    let reason = match answer.status {
        200 => "OK",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\ntransfer-encoding: chunked\r\n", answer.status);
    for (k, v) in &answer.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    if stream.write_all(out.as_bytes()).await.is_err() {
        return;
    }
    for piece in &answer.pieces {
        let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            return;
        }
    }
    match answer.end {
        End::Finish => {
            let _ = stream.write_all(b"0\r\n\r\n").await;
        }
        End::Drop => {}
        End::Silent => {
            // Until the client goes away.
            let _ = stream.read(&mut buf).await;
        }
        End::KeepAlive(beat) => loop {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let chunk = format!("{:x}\r\n{beat}\r\n", beat.len());
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        },
    }
}

/// A little generator of post texts and days, from a seed.
pub(crate) struct Gen(pub u64);

impl Gen {
    pub(crate) fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }

    pub(crate) fn words(&mut self) -> Vec<&'static str> {
        let words = [
            "#spark",
            "#Rust",
            "#mastodon",
            "good",
            "bad",
            "great",
            "awful",
            "love",
            "the",
            "day",
            "not",
            "&",
            "<3",
        ];
        (0..1 + self.next(6)).map(|_| words[self.next(words.len() as u64) as usize]).collect()
    }

    pub(crate) fn day(&mut self) -> String {
        format!("2024-11-0{}", 1 + self.next(3))
    }
}

/// The filtered stream's lines for `n` posts (posts with and without
/// `note_tweet`, keep-alives, malformed lines) and the posts' (day, text).
pub(crate) fn x_lines(n: usize, seed: u64) -> (Vec<String>, Vec<(String, String)>) {
    let mut g = Gen(seed);
    let (mut lines, mut posts) = (Vec::new(), Vec::new());
    while posts.len() < n {
        match g.next(10) {
            0 => lines.push("\r\n".to_owned()),
            1 => lines.push("{\"data\": {\"text\": \r\n".to_owned()),
            _ => {
                let text = g.words().join(" ");
                let day = g.day();
                let created = format!("{day}T{:02}:15:00.000Z", g.next(24));
                let data = if g.next(3) == 0 {
                    // A long post: `text` is cut, the whole one is the note's.
                    serde_json::json!({"id": "1", "text": "cut…", "created_at": created,
                        "note_tweet": {"text": text}, "edit_history_tweet_ids": ["1"]})
                } else {
                    serde_json::json!({"id": "1", "text": text, "created_at": created, "edit_history_tweet_ids": ["1"]})
                };
                let message = serde_json::json!({"data": data, "matching_rules": [{"id": "9", "tag": "t"}]});
                lines.push(format!("{message}\r\n"));
                posts.push((day, text));
            }
        }
    }
    (lines, posts)
}

/// `lines` in pieces of up to 3 lines, some cut in the middle of a line.
pub(crate) fn pieces(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for group in lines.chunks(3) {
        let joined = group.concat();
        let cut = (joined.len() / 3..joined.len()).find(|&i| joined.is_char_boundary(i)).unwrap_or(0);
        out.push(joined[..cut].to_owned());
        out.push(joined[cut..].to_owned());
    }
    out.retain(|p| !p.is_empty());
    out
}

pub(crate) fn expected(posts: &[(String, String)]) -> (BTreeMap<String, u64>, BTreeMap<String, (f64, u64)>) {
    let mut tags = BTreeMap::<String, u64>::new();
    for (_, text) in posts {
        for t in twitter_tags(text) {
            *tags.entry(t).or_default() += 1;
        }
    }
    (tags, per_day(posts.iter().cloned()))
}

/// An engine on the live sources of `flags` (a batch per tick), with HTTP;
/// returns it and its HTTP address.
pub(crate) fn engine(flags: &[&str], env: &[(&str, &str)]) -> (Proc, String) {
    let mut args = vec!["stream"];
    args.extend_from_slice(flags);
    args.extend([
        "--batch",
        "manual",
        "--format",
        "json",
        "--print-every",
        "never",
        "--top",
        "0",
        "--http",
        "127.0.0.1:0",
    ]);
    let mut engine = Proc::spawn_env(&args, env);
    let http = logged_http_addr(&engine.wait_stderr("serving the tables on http://"));
    (engine, http)
}

/// Everything the engine let out: stderr, `/health`, `/metrics`.
pub(crate) fn everything_said(engine: &mut Proc, http: &str) -> String {
    let (_, health) = http_get_text(http, "/health");
    let (_, metrics) = http_get_text(http, "/metrics");
    format!("{}\n{health}\n{metrics}", engine.stderr_seen.join("\n"))
}

#[test]
fn x_stream_counts_every_post_once_across_an_operational_disconnect() {
    let (lines, posts) = x_lines(600, 3);
    let (want_tags, want_days) = expected(&posts);
    let half = lines.len() / 2;
    let mut first = pieces(&lines[..half]);
    first.push(
        r#"{"errors":[{"title":"operational-disconnect","disconnect_type":"UpstreamOperationalDisconnect","detail":"This stream has been disconnected upstream for operational reasons.","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}"#
            .to_owned()
            + "\r\n",
    );
    let server = serve(vec![
        Answer::ok("application/json", first, End::Finish),
        Answer::ok("application/json", pieces(&lines[half..]), End::KeepAlive("\r\n")),
    ]);
    let url = format!("http://{}", server.addr);
    let (mut engine, http) = engine(&["--x-stream", &url], &[("X_BEARER_TOKEN", TOKEN)]);
    let source = format!("{{source=\"x {url}\"}}");
    poll_until("every post taken", || {
        (metric(&http, &format!("tweetstream_live_posts_total{source}")) >= posts.len() as u64).then_some(())
    });
    assert_eq!(metric(&http, &format!("tweetstream_live_reconnects_total{source}")), 1);
    let error_objects =
        format!("tweetstream_live_skipped_total{{source=\"x {url}\",reason=\"error object\"}}");
    assert_eq!(metric(&http, &error_objects), 1);
    let (_, health) = http_get(&http, "/health");
    assert_eq!(health["sources"], serde_json::json!([{"name": format!("x {url}"), "connected": true}]));
    let said = everything_said(&mut engine, &http);
    engine.tick();
    let tables = engine.finish();
    assert_eq!(table_counts(&tables["tag_totals"]), want_tags);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want_days);

    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    for r in &requests {
        assert!(r.target.starts_with("/2/tweets/search/stream?"), "{r:?}");
        assert!(r.target.contains("tweet.fields=created_at,note_tweet"), "{r:?}");
        assert_eq!(r.authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    }
    let said = said + &engine.rest_of_stderr();
    assert!(said.contains("operational-disconnect"), "the error object is not logged");
    assert!(said.contains("cannot replay"), "the gap is not reported");
    assert!(!said.contains(TOKEN), "the token was let out");
}

#[test]
fn a_refused_token_is_a_clear_error_that_names_the_variable_not_the_token() {
    let body = r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#;
    let server = serve(vec![Answer {
        status: 401,
        headers: vec![("content-type".into(), "application/problem+json".into())],
        pieces: vec![body.to_owned()],
        end: End::Finish,
    }]);
    let url = format!("http://{}", server.addr);
    let (status, stdout, stderr) = {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tweetstream"))
            .args(["stream", "--x-stream", &url, "--batch", "1s", "--http", "127.0.0.1:0"])
            .env("X_BEARER_TOKEN", TOKEN)
            .env("RUST_LOG", "debug")
            .output()
            .unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(!status.success());
    assert!(stderr.contains("refused the token in X_BEARER_TOKEN"), "{stderr}");
    assert!(!stderr.contains(TOKEN) && !stdout.contains(TOKEN), "{stderr}");
    assert_eq!(server.requests.lock().unwrap().len(), 1, "a refused token is not retried");

    // No token at all: refused before anything starts.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["live", "--x-stream", &url])
        .env_remove("X_BEARER_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs your app's bearer token in X_BEARER_TOKEN"));
}

#[test]
fn a_429_waits_for_the_reset_time_the_server_gives() {
    let reset = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 2;
    let (lines, posts) = x_lines(20, 5);
    let server = serve(vec![
        Answer {
            status: 429,
            headers: vec![("x-rate-limit-reset".into(), reset.to_string())],
            pieces: vec![r#"{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit."}"#.into()],
            end: End::Finish,
        },
        Answer::ok("application/json", pieces(&lines), End::Silent),
    ]);
    let url = format!("http://{}", server.addr);
    let (mut engine, http) = engine(&["--x-stream", &url], &[("X_BEARER_TOKEN", TOKEN)]);
    let source = format!("{{source=\"x {url}\"}}");
    poll_until("the posts after the wait", || {
        (metric(&http, &format!("tweetstream_live_posts_total{source}")) >= posts.len() as u64).then_some(())
    });
    engine.tick();
    let tables = engine.finish();
    assert_eq!(table_counts(&tables["tag_totals"]), expected(&posts).0);
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let second = requests[1].at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(second >= reset, "reconnected at {second}, before the reset time {reset}");
}

/// Mastodon's HTML for `words` (hashtags as links, `&` and `<` escaped,
/// some spaces as `<br>`, some as a new paragraph) and the text a reader
/// sees.
fn mastodon_content(g: &mut Gen) -> (String, String) {
    let words = g.words();
    let (mut html, mut text) = ("<p>".to_owned(), String::new());
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            match g.next(6) {
                0 => {
                    html.push_str("<br />");
                    text.push('\n');
                }
                1 => {
                    html.push_str("</p><p>");
                    text.push_str("\n\n");
                }
                _ => {
                    html.push(' ');
                    text.push(' ');
                }
            }
        }
        match w.strip_prefix('#') {
            Some(tag) => html.push_str(&format!(
                r#"<a href="https://m.example/tags/{tag}" class="mention hashtag" rel="tag">#<span>{tag}</span></a>"#
            )),
            None => html.push_str(&w.replace('&', "&amp;").replace('<', "&lt;")),
        }
        text.push_str(w);
    }
    html.push_str("</p>");
    (html, text)
}

/// The streaming API's events for `n` posts (updates, deletes, edits,
/// boosts, notifications, heartbeats) and the posts' (day, text).
pub(crate) fn mastodon_events(n: usize, seed: u64) -> (Vec<String>, Vec<(String, String)>) {
    let mut g = Gen(seed);
    let (mut events, mut posts) = (vec![":)\n".to_owned()], Vec::new());
    let mut id = 0;
    while posts.len() < n {
        id += 1;
        let event = match g.next(12) {
            0 => ":thump\n".to_owned(),
            1 => format!("event: delete\ndata: {id}\n\n"),
            2 => format!(
                "event: status.update\ndata: {}\n\n",
                serde_json::json!({"id": id.to_string(), "content": "<p>#spark edited</p>"})
            ),
            3 => format!(
                "event: update\ndata: {}\n\n",
                serde_json::json!({"id": id.to_string(), "content": "", "reblog": {"id": "1", "content": "<p>#spark boosted</p>"}})
            ),
            4 => "event: notification\ndata: {}\n\n".to_owned(),
            _ => {
                let (html, text) = mastodon_content(&mut g);
                let day = g.day();
                let status = serde_json::json!({
                    "id": id.to_string(),
                    "created_at": format!("{day}T{:02}:45:00.000Z", g.next(24)),
                    "content": html,
                    "reblog": null,
                    "account": {"id": "7", "acct": "someone"},
                });
                posts.push((day, text));
                format!("event: update\ndata: {status}\n\n")
            }
        };
        events.push(event);
    }
    (events, posts)
}

#[test]
fn mastodon_counts_every_post_once_across_a_drop_and_a_stall() {
    let (events, posts) = mastodon_events(600, 9);
    let (want_tags, want_days) = expected(&posts);
    let (a, b) = (events.len() / 3, 2 * events.len() / 3);
    // The first connection drops mid-stream; the second goes silent (a
    // stall, with no heartbeat); the third brings the rest.
    let server = serve(vec![
        Answer::ok("text/event-stream", pieces(&events[..a]), End::Drop),
        Answer::ok("text/event-stream", pieces(&events[a..b]), End::Silent),
        Answer::ok("text/event-stream", pieces(&events[b..]), End::KeepAlive(":thump\n")),
    ]);
    let url = format!("http://{}", server.addr);
    let (mut engine, http) =
        engine(&["--mastodon", &url, "--silence-timeout", "1s"], &[("MASTODON_TOKEN", TOKEN)]);
    let name = format!("mastodon {url} public");
    let source = format!("{{source=\"{name}\"}}");
    poll_until("every post taken", || {
        (metric(&http, &format!("tweetstream_live_posts_total{source}")) >= posts.len() as u64).then_some(())
    });
    assert_eq!(metric(&http, &format!("tweetstream_live_reconnects_total{source}")), 2);
    let said = everything_said(&mut engine, &http);
    engine.tick();
    let tables = engine.finish();
    assert_eq!(table_counts(&tables["tag_totals"]), want_tags);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want_days);
    let said = said + &engine.rest_of_stderr();
    assert!(said.contains("stalled"), "the stall is not reported");
    assert!(!said.contains(TOKEN), "the token was let out");
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "{requests:?}");
    for r in &requests {
        assert_eq!(r.target, "/api/v1/streaming/public");
        assert_eq!(r.authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    }
}

/// X, Mastodon and a Jetstream in one job: the union, each source listed
/// in `/health`.
#[test]
fn feeds_of_three_providers_are_read_as_one_stream() {
    let (x, x_posts) = x_lines(100, 21);
    let (m, m_posts) = mastodon_events(100, 22);
    let j = crate::jetstream::events(300, 23);
    let j_posts: Vec<(String, String)> = j.iter().filter_map(|e| e.post.clone()).collect();
    let x_server = serve(vec![Answer::ok("application/json", pieces(&x), End::Silent)]);
    let m_server = serve(vec![Answer::ok("text/event-stream", pieces(&m), End::Silent)]);
    let j_server = crate::jetstream::serve(j, vec![(300, crate::jetstream::Ending::Open)]);
    let (x_url, m_url) = (format!("http://{}", x_server.addr), format!("http://{}", m_server.addr));
    let j_url = format!("ws://{}/subscribe", j_server.addr);
    let (mut engine, http) = engine(
        &["--x-stream", &x_url, "--mastodon", &m_url, "--jetstream", &j_url],
        &[("X_BEARER_TOKEN", TOKEN)],
    );
    let all: Vec<(String, String)> = x_posts.iter().chain(&m_posts).chain(&j_posts).cloned().collect();
    poll_until("every post taken", || {
        (crate::jetstream::posts_taken(&http) >= all.len() as u64).then_some(())
    });
    let (_, health) = http_get(&http, "/health");
    let names: Vec<&str> =
        health["sources"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    let want = [format!("jetstream {j_url}"), format!("x {x_url}"), format!("mastodon {m_url} public")];
    assert_eq!(names, want.iter().map(String::as_str).collect::<Vec<_>>());
    engine.tick();
    let tables = engine.finish();
    let (want_tags, want_days) = expected(&all);
    assert_eq!(table_counts(&tables["tag_totals"]), want_tags);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want_days);
}

/// `live` with X's and Mastodon's feeds writes their posts as tweet lines,
/// in order, until `--limit`.
#[test]
fn live_writes_x_and_mastodon_posts_as_tweet_lines() {
    let (x, x_posts) = x_lines(150, 31);
    let (m, m_posts) = mastodon_events(150, 32);
    let x_server = serve(vec![Answer::ok("application/json", pieces(&x), End::KeepAlive("\r\n"))]);
    let m_server = serve(vec![Answer::ok("text/event-stream", pieces(&m), End::KeepAlive(":thump\n"))]);
    for (flag, url, posts) in [
        ("--x-stream", format!("http://{}", x_server.addr), &x_posts),
        ("--mastodon", format!("http://{}", m_server.addr), &m_posts),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tweetstream"))
            .args(["live", flag, &url, "--limit", "120"])
            .env("X_BEARER_TOKEN", TOKEN)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{flag}: {stderr}");
        assert_eq!(crate::jetstream::live_posts(&out.stdout), posts[..120], "{flag}");
        assert!(stderr.contains("wrote 120 posts"), "{flag}: {stderr}");
        assert!(!stderr.contains(TOKEN), "{flag}: the token was let out");
    }
}
