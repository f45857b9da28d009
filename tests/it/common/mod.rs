//! Helpers for end-to-end tests: run the real binary, follow its stdout and
//! stderr line by line, and compute expected results independently of the
//! engine's code (serde_json for decoding, chrono for dates, regex for tags).

#![allow(dead_code)]

pub mod reference;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// How long a test waits for an expected event before failing.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(60);

pub fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A running `tweetstream` process whose output is followed line by line.
pub struct Proc {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    pub stderr_seen: Vec<String>,
}

impl Proc {
    pub fn spawn(args: &[&str]) -> Proc {
        Proc::spawn_env(args, &[])
    }

    /// [`Proc::spawn`] with more environment variables.
    pub fn spawn_env(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tweetstream");
        let stdout = follow(child.stdout.take().unwrap());
        let stderr = follow(child.stderr.take().unwrap());
        let stdin = child.stdin.take();
        Proc { child, stdin, stdout, stderr, stderr_seen: Vec::new() }
    }

    /// Waits for a stderr line containing `needle` (for [`EVENT_TIMEOUT`]
    /// in all, however many other lines come); returns it.
    pub fn wait_stderr(&mut self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
        loop {
            match self.stderr.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
                Ok(line) => {
                    self.stderr_seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => {
                    panic!("no stderr line with {needle:?} ({e}); seen:\n{}", self.stderr_seen.join("\n"))
                }
            }
        }
    }

    /// The next stdout line, parsed as JSON.
    pub fn next_json(&mut self) -> serde_json::Value {
        let line = self
            .stdout
            .recv_timeout(EVENT_TIMEOUT)
            .unwrap_or_else(|e| panic!("no stdout line ({e}); stderr:\n{}", self.stderr_seen.join("\n")));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {line}"))
    }

    /// The next stdout line as JSON, or None once stdout is closed (the process ended).
    pub fn try_next_json(&mut self) -> Option<serde_json::Value> {
        match self.stdout.recv_timeout(EVENT_TIMEOUT) {
            Ok(line) => {
                Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => None,
            Err(e) => panic!("no stdout line ({e}); stderr:\n{}", self.stderr_seen.join("\n")),
        }
    }

    /// Waits (with the usual deadline) for the process to exit; returns its status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if std::time::Instant::now() >= deadline {
                while let Ok(line) = self.stderr.try_recv() {
                    self.stderr_seen.push(line);
                }
                panic!(
                    "the process did not exit within {EVENT_TIMEOUT:?}; stderr:\n{}",
                    self.stderr_seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the process wrote to stderr, once it has exited.
    pub fn rest_of_stderr(&mut self) -> String {
        while let Ok(line) = self.stderr.recv_timeout(EVENT_TIMEOUT) {
            self.stderr_seen.push(line);
        }
        self.stderr_seen.join("\n")
    }

    /// Everything left on stdout, once the process has exited.
    pub fn rest_of_stdout(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(EVENT_TIMEOUT) {
            lines.push(line);
        }
        lines
    }

    /// Asks the process to stop (SIGTERM), like Ctrl-C.
    pub fn terminate(&mut self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Closes a manual batch.
    pub fn tick(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes stdin (ends a manual-batch run) and returns the final tables
    /// (timer prints before them are skipped).
    pub fn finish(&mut self) -> HashMap<String, serde_json::Value> {
        drop(self.stdin.take());
        self.final_tables()
    }

    /// The final tables, up to the batch log, which comes last (timer prints
    /// before them are skipped); then waits for a successful exit.
    pub fn final_tables(&mut self) -> HashMap<String, serde_json::Value> {
        let mut tables = HashMap::new();
        while !tables.contains_key("batches") {
            let t = self.next_json();
            if let Some(name) = t["table"].as_str() {
                tables.insert(name.to_owned(), t);
            }
        }
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exit status {status}");
        tables
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn follow(r: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Runs `tweetstream ARGS` with stdin closed, to the end (with the usual
/// deadline); returns its status, stdout lines and stderr.
pub fn run_to_end(args: &[&str]) -> (std::process::ExitStatus, Vec<String>, String) {
    let mut p = Proc::spawn(args);
    drop(p.stdin.take());
    let status = p.wait_exit();
    let stdout = p.rest_of_stdout();
    (status, stdout, p.rest_of_stderr())
}

/// `stream --connect ADDR --batch manual --format json` with `extra`: an
/// engine whose batches the test closes ([`Proc::tick`]).
pub fn manual_engine(addr: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["stream", "--connect", addr, "--batch", "manual", "--format", "json"];
    args.extend_from_slice(extra);
    Proc::spawn(&args)
}

/// The `host:port` of the `http://host:port/…` (or `https://`) a log line announces.
pub fn logged_http_addr(line: &str) -> String {
    let url = line.split("://").nth(1).unwrap_or_else(|| panic!("no URL in {line:?}"));
    url.split(['/', ' ']).next().unwrap().trim().to_owned()
}

/// Starts `replay --listen` on `addr` and returns it with the bound address.
pub fn replay_listen(file: &str, addr: &str, extra: &[&str]) -> (Proc, String) {
    let mut args = vec!["replay", file, "--listen", addr];
    args.extend_from_slice(extra);
    let mut p = Proc::spawn(&args);
    let line = p.wait_stderr("listening on ");
    let bound = line.rsplit("listening on ").next().unwrap().trim().to_owned();
    (p, bound)
}

/// A fixture line as the test understands it, independently of the engine.
pub enum Expected {
    Bad,
    Tweet { text: String, day: Option<String> },
}

/// Decodes fixture lines the way the engine should, written independently.
pub fn expected_lines(bytes: &[u8], max_line_bytes: usize) -> Vec<Expected> {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.into_iter().map(|l| expect_line(l, max_line_bytes)).collect()
}

fn expect_line(line: &[u8], max: usize) -> Expected {
    if line.len() > max {
        return Expected::Bad;
    }
    let Ok(s) = std::str::from_utf8(line) else { return Expected::Bad };
    let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(s) else {
        return Expected::Bad;
    };
    let text = o
        .get("extended_tweet")
        .and_then(|e| e.get("full_text"))
        .and_then(|t| t.as_str())
        .or_else(|| o.get("text").and_then(|t| t.as_str()))
        .or_else(|| o.get("tweet").and_then(|t| t.as_str()));
    let Some(text) = text else { return Expected::Bad };
    let day = o.get("created_at").and_then(|d| d.as_str()).and_then(|d| {
        chrono::DateTime::parse_from_str(d, "%a %b %d %H:%M:%S %z %Y")
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d").to_string())
    });
    Expected::Tweet { text: text.to_owned(), day }
}

/// Proper hashtags, lowercased: the engine's `--hashtags twitter` rules, restated
/// with regex character classes.
pub fn twitter_tags(text: &str) -> Vec<String> {
    static RES: std::sync::OnceLock<[regex::Regex; 4]> = std::sync::OnceLock::new();
    let [tag_char, body, letter, url] = RES.get_or_init(|| {
        [
            regex::Regex::new(r"^[\p{L}\p{M}\p{Nd}_]$").unwrap(),
            regex::Regex::new(r"^[\p{L}\p{M}\p{Nd}_]*").unwrap(),
            regex::Regex::new(r"[\p{L}\p{M}]").unwrap(),
            regex::Regex::new(r"(?i)^[^\p{Alphabetic}\p{N}]*(https?://|www\.)|://").unwrap(),
        ]
    });
    let mut tags = Vec::new();
    for word in text.split_whitespace().filter(|w| !url.is_match(w)) {
        for (i, hash) in word.char_indices().filter(|(_, c)| *c == '#' || *c == '＃') {
            let before = word[..i].chars().last().map(|c| c.to_string());
            if before.is_some_and(|c| c == "&" || tag_char.is_match(&c)) {
                continue;
            }
            let rest = &word[i + hash.len_utf8()..];
            let m = body.find(rest).map_or("", |m| m.as_str());
            if letter.is_match(m) {
                tags.push(format!("{hash}{m}").to_lowercase());
            }
        }
    }
    tags
}

/// The original job's hashtags: split on " ", words starting with "#", lowercased.
pub fn spark_tags(text: &str) -> Vec<String> {
    text.split(' ').filter(|w| w.starts_with('#')).map(|w| w.to_lowercase()).collect()
}

/// Tag counts over some lines.
pub fn count_tags(lines: &[Expected], tags: fn(&str) -> Vec<String>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for l in lines {
        if let Expected::Tweet { text, .. } = l {
            for t in tags(text) {
                *counts.entry(t).or_default() += 1;
            }
        }
    }
    counts
}

/// A printed tag table as a map.
pub fn table_counts(table: &serde_json::Value) -> BTreeMap<String, u64> {
    rows(table).iter().map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_u64().unwrap())).collect()
}

/// `GET http://{addr}{path}` with HTTP/1.0; returns (status, JSON body).
pub fn http_get(addr: &str, path: &str) -> (u16, serde_json::Value) {
    json_body(http_request(addr, &format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")))
}

/// `GET http://{addr}{path}`; returns (status, body as text).
pub fn http_get_text(addr: &str, path: &str) -> (u16, String) {
    http_request(addr, &format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n"))
}

/// `POST http://{addr}{path}` with `body`; returns (status, JSON body).
pub fn http_post(addr: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let len = body.len();
    json_body(http_request(
        addr,
        &format!("POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {len}\r\n\r\n{body}"),
    ))
}

/// `METHOD http://{addr}{path}` with a JSON body (none for `null`); returns
/// (status, JSON body).
pub fn http_json(addr: &str, method: &str, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let body = if body.is_null() { String::new() } else { body.to_string() };
    let len = body.len();
    json_body(http_request(
        addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n{body}"
        ),
    ))
}

fn json_body((status, body): (u16, String)) -> (u16, serde_json::Value) {
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {body}")))
}

fn http_request(addr: &str, request: &str) -> (u16, String) {
    let (status, _, body) = http_exchange(addr, request);
    (status, body)
}

/// Sends `request` (raw HTTP) to `addr`; returns (status, head, body).
pub fn http_exchange(addr: &str, request: &str) -> (u16, String, String) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the HTTP endpoint");
    s.set_read_timeout(Some(EVENT_TIMEOUT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    // Read the head, then the body by Content-Length (some servers keep the
    // connection open after answering), or to the end.
    let mut resp = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let head_end = loop {
        if let Some(i) = resp.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed before the HTTP head: {}", String::from_utf8_lossy(&resp));
        resp.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(resp[..head_end].to_vec()).unwrap();
    let mut body = resp[head_end + 4..].to_vec();
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().unwrap())
    });
    match length {
        Some(len) => {
            while body.len() < len {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "connection closed after {} of {len} body bytes", body.len());
                body.extend_from_slice(&buf[..n]);
            }
        }
        None => {
            s.read_to_end(&mut body).unwrap();
        }
    }
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, String::from_utf8(body).unwrap())
}

/// A printed `sentiment_by_day` table as date → (score_sum, score_count).
pub fn day_rows(table: &serde_json::Value) -> BTreeMap<String, (f64, u64)> {
    rows(table)
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), (r[1].as_f64().unwrap(), r[2].as_u64().unwrap())))
        .collect()
}

/// The rows of a printed table.
pub fn rows(table: &serde_json::Value) -> &[serde_json::Value] {
    table["rows"].as_array().unwrap_or_else(|| panic!("no rows in {table}"))
}

/// Per-day (score_sum, count) of (UTC day, text) pairs: VADER compound
/// rounded to 4 decimals, summed as integers of ten-thousandths as the engine
/// promises, computed here from the scorer alone (which the reference test
/// holds to Python).
pub fn per_day(tweets: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, (f64, u64)> {
    let mut days = BTreeMap::<String, (i64, u64)>::new();
    for (day, text) in tweets {
        let c = tweetstream::sentiment::vader::compound(&text);
        let e = days.entry(day).or_default();
        e.0 += (c * 10_000.0).round() as i64;
        e.1 += 1;
    }
    days.into_iter().map(|(d, (s, n))| (d, (s as f64 / 10_000.0, n))).collect()
}

/// Python TextBlob's polarity of a fixture text, from
/// `fixtures/textblob-polarity.jsonl` (made by
/// `scripts/textblob-fixture-scores.py` with textblob 0.20.1).
pub fn python_polarity(text: &str) -> f64 {
    static SCORES: std::sync::OnceLock<HashMap<String, f64>> = std::sync::OnceLock::new();
    let scores = SCORES.get_or_init(|| {
        let body = std::fs::read_to_string(fixture("textblob-polarity.jsonl")).unwrap();
        body.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["text"].as_str().unwrap().to_owned(), v["polarity"].as_f64().unwrap())
            })
            .collect()
    });
    *scores.get(text).unwrap_or_else(|| panic!("no Python score for {text:?}: rerun the script"))
}

/// Per-day (score_sum, count) of (UTC day, text) pairs with Python TextBlob's
/// polarities: summed exactly here (as integers of 2^-100, which every score
/// of the fixtures is) and rounded once, as the engine promises.
pub fn per_day_polarity(tweets: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, (f64, u64)> {
    let unit = 2f64.powi(100);
    let mut days = BTreeMap::<String, (i128, u64)>::new();
    for (day, text) in tweets {
        let p = python_polarity(&text);
        let scaled = p * unit;
        assert!(scaled.fract() == 0.0 && scaled.abs() < 2f64.powi(120), "{p} is not a multiple of 2^-100");
        let e = days.entry(day).or_default();
        e.0 += scaled as i128;
        e.1 += 1;
    }
    days.into_iter().map(|(d, (s, n))| (d, (s as f64 / unit, n))).collect()
}

/// A `{"tweet", "date"}` message as (UTC day, text); the date as ISO-8601,
/// epoch milliseconds or `{"$date": millis}`.
pub fn lab_tweet(line: &str) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let ms = match &v["date"] {
        serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis(),
        serde_json::Value::Number(n) => n.as_i64().unwrap(),
        obj => obj["$date"].as_i64().unwrap(),
    };
    let day = chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%d").to_string();
    (day, v["tweet"].as_str().unwrap().to_owned())
}

/// The peak resident memory (VmHWM) of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A command line written as one string, split on spaces (for arguments
/// without spaces).
pub fn words(line: &str) -> Vec<&str> {
    line.split(' ').filter(|w| !w.is_empty()).collect()
}

/// Runs `tweetstream ARGS` with `input` on stdin, to the end (with the usual
/// deadline); returns its status, stdout and stderr.
pub fn run_with_stdin(args: &[&str], input: &[u8]) -> (std::process::ExitStatus, String, String) {
    let mut p = Proc::spawn(args);
    let mut stdin = p.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let status = p.wait_exit();
    writer.join().unwrap().unwrap();
    let stdout = p.rest_of_stdout().join("\n");
    (status, stdout, p.rest_of_stderr())
}

/// Kafka for the tests (`KAFKA_BROKERS`, as `scripts/test.sh` sets it).
pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// A name (of a database, topic or group) no other test run uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// MongoDB for the tests (`MONGO_URI`, as `scripts/test.sh` sets it).
pub fn mongo_uri() -> String {
    std::env::var("MONGO_URI").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into())
}

/// `stream --kafka BROKERS` reading `topic` as `group`, with results stored in
/// `db` and `extra` arguments; prints `sentiment_by_day` after every batch, as JSON.
pub fn results_engine(brokers: &str, topic: &str, group: &str, db: &str, extra: &[&str]) -> Proc {
    let uri = mongo_uri();
    let mut args = words(&format!(
        "stream --kafka {brokers} --topic {topic} --group {group} --results {uri} --results-db {db} \
         --print-every batch --format json"
    ))
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    args.extend(["--print-sql".to_owned(), "select * from sentiment_by_day".to_owned()]);
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Proc::spawn(&args)
}

/// Tag counts in the tables' order, counted here: by count descending, then
/// by tag; the first `n` (all with `usize::MAX`).
pub fn top_n(counts: impl IntoIterator<Item = (String, u64)>, n: usize) -> Vec<(String, u64)> {
    let mut top: Vec<(String, u64)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(n);
    top
}

/// Calls `probe` until it gives a value, for at most [`EVENT_TIMEOUT`]; fails
/// saying `what` did not happen.
pub fn poll_until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "within {EVENT_TIMEOUT:?}, never: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Drops a test's MongoDB database.
pub fn drop_database(db: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        client.database(db).drop().await.unwrap();
    });
}

/// The phrases of the `--track` tests.
pub const TRACK: &str = "u.s.,delta air";

/// Tweets made to hold matches and near misses of [`TRACK`]'s phrases, in
/// every combination with other words (the fixtures hold neither), written to
/// a file of their own; returns its path and the texts, in order.
pub fn track_tweets() -> (std::path::PathBuf, Vec<String>) {
    let pieces = [
        "U.S.,",
        "#U.S.",
        "(u.s.)",
        "us",
        "U.S.A.",
        "u.s",
        "usa",
        "Delta",
        "#delta",
        "Delta's",
        "AIR",
        "air!",
        "deltaair",
        "delta-air",
        "airline",
        "@united",
        "",
    ];
    let mut texts = Vec::new();
    for (i, a) in pieces.iter().enumerate() {
        for b in pieces {
            texts.push(format!("tweet {i} {a} flying {b} today"));
            texts.push(format!("{b}{a} x"));
        }
    }
    let path = std::env::temp_dir().join(format!("track-{}-{}.jsonl", std::process::id(), unique("t")));
    let mut body = String::new();
    for (k, t) in texts.iter().enumerate() {
        let line = serde_json::json!({"created_at": format!("Sun Nov {:02} 10:00:00 +0000 2015", 1 + k % 3), "text": t});
        body.push_str(&line.to_string());
        body.push('\n');
    }
    std::fs::write(&path, body).unwrap();
    (path, texts)
}

/// Whether `text` matches [`TRACK`], decided here with regular expressions:
/// a term is a whitespace-separated word made of punctuation, the term (any
/// case), then nothing or punctuation and anything.
pub fn track_keeps(text: &str) -> bool {
    static PHRASES: std::sync::OnceLock<Vec<Vec<regex::Regex>>> = std::sync::OnceLock::new();
    let phrases = PHRASES.get_or_init(|| {
        let term = |t: &str| {
            regex::Regex::new(&format!(
                r"(?i)(^|\s)[^\p{{Alphabetic}}\p{{N}}\s]*{}([^\p{{Alphabetic}}\p{{N}}\s]\S*)?(\s|$)",
                regex::escape(t)
            ))
            .unwrap()
        };
        TRACK.split(',').map(|phrase| phrase.split(' ').map(term).collect()).collect()
    });
    phrases.iter().any(|terms| terms.iter().all(|t| t.is_match(text)))
}

/// `bytes` compressed with gzip, as `gzip` writes a file.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}
