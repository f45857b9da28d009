//! The dashboard end to end, in a real headless Chromium driven by ChromeDriver
//! (WebDriver over HTTP): the engine counts the tweets fixture, the page must
//! show the fixture's days and tags, its marks and text tables must hold the
//! values of `/tables` (and of an independent count of the fixture), it must
//! refresh on its own, fit 1280×800 and 390 px screens, and say so when the
//! engine goes away. Screenshots go to `target/dashboard-*.png`.
//!
//! Waiting is event-driven: the page fires `tweetstream:refreshed` after each
//! poll, and an async WebDriver script resolves on the condition.

use crate::common::*;
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const CHROMIUM: &str = "/usr/bin/chromium";

/// ChromeDriver on a free port, killed on drop.
struct Driver {
    child: Child,
    addr: String,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new("chromedriver")
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver) is installed");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("started successfully") => break,
                Some(Ok(_)) => {}
                other => panic!("chromedriver did not start: {other:?}"),
            }
        }
        Driver { child, addr: format!("127.0.0.1:{port}") }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
struct Browser<'a> {
    driver: &'a Driver,
    id: String,
    _profile: TempDir,
}

impl<'a> Browser<'a> {
    fn open(driver: &'a Driver, width: u32, height: u32) -> Browser<'a> {
        let profile = TempDir::new("chromium-profile");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--disable-dev-shm-usage",
            &format!("--user-data-dir={}", profile.0.display()),
            &format!("--window-size={width},{height}"),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let (status, body) = http_json(&driver.addr, "POST", "/session", &caps);
        assert_eq!(status, 200, "new session: {body}");
        let id = body["value"]["sessionId"].as_str().unwrap().to_owned();
        let b = Browser { driver, id, _profile: profile };
        b.call("POST", "timeouts", json!({"script": 30_000, "pageLoad": 30_000}));
        b
    }

    fn call(&self, method: &str, what: &str, body: Value) -> Value {
        let path = format!("/session/{}/{what}", self.id);
        let (status, body) = http_json(&self.driver.addr, method, &path, &body);
        assert_eq!(status, 200, "{method} {what}: {body}");
        body["value"].clone()
    }

    fn go(&self, url: &str) {
        self.call("POST", "url", json!({"url": url}));
    }

    fn script(&self, js: &str) -> Value {
        self.call("POST", "execute/sync", json!({"script": js, "args": []}))
    }

    /// Resolves once `condition` (a JS expression) is truthy, checking now and
    /// after each refresh of the page; fails after the script timeout.
    fn wait_for(&self, condition: &str) -> Value {
        let js = r#"
            const done = arguments[arguments.length - 1];
            const test = new Function("return (" + arguments[0] + ");");
            function check() {
                let v = null;
                try { v = test(); } catch (e) {}
                if (v) { document.removeEventListener("tweetstream:refreshed", check); done(v); }
            }
            document.addEventListener("tweetstream:refreshed", check);
            check();
        "#;
        let path = format!("/session/{}/execute/async", self.id);
        let (status, body) =
            http_json(&self.driver.addr, "POST", &path, &json!({"script": js, "args": [condition]}));
        if status != 200 {
            let state =
                self.script("return [document.body.dataset.state, document.body.innerText.slice(0, 600)];");
            panic!("waited in vain for {condition}: {}\npage: {state}", body["value"]["message"]);
        }
        body["value"].clone()
    }

    fn screenshot(&self, name: &str) {
        let png = self.call("GET", "screenshot", Value::Null);
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_owned();
        let path = dir.join(format!("dashboard-{name}.png"));
        std::fs::write(&path, bytes).unwrap();
        eprintln!("screenshot: {}", path.display());
    }

    fn resize(&self, width: u32, height: u32) {
        self.call("POST", "window/rect", json!({"width": width, "height": height}));
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let _ = http_json(&self.driver.addr, "DELETE", &format!("/session/{}", self.id), &Value::Null);
    }
}

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{name}-{}-{:?}",
            std::process::id(),
            std::time::Instant::now()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the page shows, read from its DOM: the marks with their values and
/// geometry, and the text tables.
const READ: &str = r##"
    const q = (s, root) => Array.from((root || document).querySelectorAll(s));
    const tags = {};
    for (const f of q("figure.tagchart")) {
        tags[f.dataset.table] = {
            bars: q("rect[data-tag]", f).map(b => [b.dataset.tag, +b.dataset.count, +b.getAttribute("width")]),
            rows: q("tbody tr", f).map(r => [r.dataset.tag, +r.dataset.count]),
            labels: q("text.label", f).map(t => t.textContent),
        };
    }
    const svg = document.querySelector("#sentiment svg");
    return {
        days: q("#days-table tbody tr").map(r => [r.dataset.date, +r.dataset.avg, +r.dataset.count]),
        dots: q("circle.dot").map(c => [c.dataset.date, +c.dataset.avg, +c.getAttribute("cy")]),
        day_bars: q("rect.bar.count").map(b => [b.dataset.date, +b.dataset.count, +b.getAttribute("height")]),
        tags: tags,
        batches: q("#batches-table tbody tr").map(r => [r.dataset.batchTime, +r.dataset.records, +r.dataset.bad]),
        health: q("figure.spark").map(f => f.dataset.measure),
        legend: document.querySelector("#sentiment .legend").textContent,
        text: document.body.innerText,
        state: document.body.dataset.state,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        svg_scale: svg.getBoundingClientRect().width / svg.viewBox.baseVal.width,
    };
"##;

/// The fixture's tweets per day, counted here.
fn days_of(lines: &[Expected]) -> BTreeMap<String, u64> {
    let mut days = BTreeMap::new();
    for l in lines {
        if let Expected::Tweet { day: Some(day), .. } = l {
            *days.entry(day.clone()).or_default() += 1;
        }
    }
    days
}

/// Values that must be in proportion to their marks' sizes (a linear scale
/// from zero): `size / value` is the same for all.
fn assert_proportional(what: &str, pairs: &[(f64, f64)]) {
    let (v0, s0) = pairs[0];
    for &(v, s) in pairs {
        if s > 1.0 {
            assert!((s / v - s0 / v0).abs() < 0.02 * (s0 / v0), "{what}: {v} drawn as {s}, {v0} as {s0}");
        }
    }
}

#[test]
fn the_dashboard_draws_the_tables_refreshes_and_reports_an_unreachable_engine() {
    let file = fixture("tweets.jsonl");
    let lines = expected_lines(&std::fs::read(&file).unwrap(), 1 << 20);
    // The test serves the fixture itself: once on a first connection, which it
    // closes (so the engine logs that every line arrived), then it holds the
    // engine's reconnection open, so the source stays connected until the test
    // lets go.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let bytes = std::fs::read(&file).unwrap();
    let feeder = std::thread::spawn(move || {
        let (mut first, _) = listener.accept().unwrap();
        std::io::Write::write_all(&mut first, &bytes).unwrap();
        drop(first);
        listener.accept().unwrap().0
    });
    let mut engine =
        manual_engine(&addr, &["--print-every", "batch", "--dashboard", "127.0.0.1:0", "--refresh", "1s"]);
    let dash = logged_http_addr(&engine.wait_stderr("dashboard: open http://"));
    engine.wait_stderr(&format!("closed after {} lines", lines.len()));
    let socket = feeder.join().unwrap();
    engine.wait_stderr("connected to");
    engine.tick();
    engine.next_json();

    // The tables the page must agree with, from the same server's JSON API.
    let table = |name: &str| {
        let (status, t) = http_get(&dash, &format!("/tables/{name}"));
        assert_eq!(status, 200, "{t}");
        t["rows"].as_array().unwrap().clone()
    };
    let by_day = table("sentiment_by_day");
    let want_days = days_of(&lines);
    let got_days: BTreeMap<String, u64> =
        by_day.iter().map(|r| (r[0].as_str().unwrap().to_owned(), r[2].as_u64().unwrap())).collect();
    assert_eq!(got_days, want_days, "the engine's table is the fixture's count");

    let driver = Driver::start();
    let browser = Browser::open(&driver, 1280, 800);
    browser.go(&format!("http://{dash}/"));
    let last_day = want_days.keys().next_back().unwrap().clone();
    browser.wait_for(&format!(
        "document.querySelectorAll('#days-table tbody tr').length === {} && \
         document.body.innerText.includes('{last_day}') && document.body.dataset.state === 'live' && document.body.dataset.refreshed",
        want_days.len()
    ));
    let page = browser.script(READ);

    // Per-day sentiment: the table rows, the dots and the bars hold the engine's values.
    let want: Vec<(String, f64, u64)> = by_day
        .iter()
        .rev()
        .map(|r| (r[0].as_str().unwrap().into(), r[3].as_f64().unwrap(), r[2].as_u64().unwrap()))
        .collect();
    let rows: Vec<(String, f64, u64)> = serde_json::from_value(page["days"].clone()).unwrap();
    assert_eq!(rows, want, "days table (newest first)");
    let dots: Vec<(String, f64, f64)> = serde_json::from_value(page["dots"].clone()).unwrap();
    let mut want_oldest_first = want.clone();
    want_oldest_first.reverse();
    assert_eq!(
        dots.iter().map(|d| (d.0.clone(), d.1)).collect::<Vec<_>>(),
        want_oldest_first.iter().map(|w| (w.0.clone(), w.1)).collect::<Vec<_>>()
    );
    // The line's scale is linear: cy falls as the average rises, at one rate.
    for pair in dots.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if (a.1 - b.1).abs() > 1e-3 {
            let rate = (a.2 - b.2) / (a.1 - b.1);
            let first_rate = (dots[0].2 - dots[1].2) / (dots[0].1 - dots[1].1);
            assert!(rate < 0.0, "higher average is drawn higher: {a:?} {b:?}");
            if (dots[0].1 - dots[1].1).abs() > 1e-3 {
                assert!((rate - first_rate).abs() < 0.02 * first_rate.abs(), "{a:?} {b:?}");
            }
        }
    }
    let bars: Vec<(String, u64, f64)> = serde_json::from_value(page["day_bars"].clone()).unwrap();
    assert_eq!(
        bars.iter().map(|b| (b.0.clone(), b.1)).collect::<BTreeMap<_, _>>(),
        want_days,
        "bars per day"
    );
    assert_proportional("tweets per day", &bars.iter().map(|b| (b.1 as f64, b.2)).collect::<Vec<_>>());

    // Top tags: latest batch and since start, as counted here from the fixture.
    let top = top_n(count_tags(&lines, twitter_tags), 10);
    for name in ["tag_counts", "tag_totals"] {
        let chart = &page["tags"][name];
        let drawn: Vec<(String, u64, f64)> = serde_json::from_value(chart["bars"].clone()).unwrap();
        assert_eq!(drawn.iter().map(|b| (b.0.clone(), b.1)).collect::<Vec<_>>(), top, "{name} bars");
        assert_proportional(name, &drawn.iter().map(|b| (b.1 as f64, b.2)).collect::<Vec<_>>());
        let rows: Vec<(String, u64)> = serde_json::from_value(chart["rows"].clone()).unwrap();
        assert_eq!(rows, top, "{name} table");
        let api: Vec<(String, u64)> = serde_json::from_value(Value::Array(table(name))).unwrap();
        assert_eq!(api[..top.len()], top[..], "{name} from /tables");
        assert_eq!(chart["labels"].as_array().unwrap().len(), top.len(), "every bar has a text label");
        for (tag, _) in &top {
            assert!(page["text"].as_str().unwrap().contains(tag.as_str()), "{tag} is on the page as text");
        }
    }

    // Batch health: one batch so far, with the fixture's records and bad lines.
    let bad = lines.iter().filter(|l| matches!(l, Expected::Bad)).count() as u64;
    let batches: Vec<(String, u64, u64)> = serde_json::from_value(page["batches"].clone()).unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!((batches[0].1, batches[0].2), (lines.len() as u64, bad));
    assert_eq!(page["health"], json!(["records", "processing_ms", "delay_ms", "bad_records"]));

    // Readable without colour: the two series are told apart by words.
    let legend = page["legend"].as_str().unwrap();
    assert!(legend.contains("Line with dots") && legend.contains("Bars"), "{legend}");
    assert_eq!(page["overflow"], 0, "no sideways scrolling at 1280 px");
    browser.screenshot("1280x800");

    // A new (empty) batch shows up without reloading the page.
    engine.tick();
    engine.next_json();
    browser.wait_for("document.querySelectorAll('#batches-table tbody tr').length === 2");
    let page = browser.script(READ);
    assert_eq!(page["tags"]["tag_counts"]["bars"], json!([]), "the latest batch has no tags");
    assert!(page["text"].as_str().unwrap().contains("No hashtags."));
    assert_eq!(page["tags"]["tag_totals"]["rows"].as_array().unwrap().len(), top.len());

    // A narrow screen: everything fits and the charts are drawn at their size.
    browser.resize(390, 844);
    browser.wait_for(
        "window.innerWidth <= 400 && Math.abs(document.querySelector('#sentiment svg').getBoundingClientRect().width \
         / document.querySelector('#sentiment svg').viewBox.baseVal.width - 1) < 0.05",
    );
    let page = browser.script(READ);
    assert!(
        page["overflow"].as_f64().unwrap() <= 0.0,
        "no sideways scrolling at 390 px: {}",
        page["overflow"]
    );
    let scale = page["svg_scale"].as_f64().unwrap();
    assert!((0.95..=1.05).contains(&scale), "the sentiment chart is not shrunk: {scale}");
    assert_eq!(page["days"].as_array().unwrap().len(), want_days.len());
    browser.screenshot("390");

    // The source goes away: the data is marked stale.
    drop(socket);
    browser.wait_for("document.body.dataset.state === 'stale'");
    let status = browser.script("return document.getElementById('status').textContent;");
    assert!(status.as_str().unwrap().contains("the source is not connected"), "{status}");

    // The engine goes away: the page says so and keeps the last data.
    engine.terminate();
    let _ = engine.child.wait();
    browser.wait_for("document.body.dataset.state === 'unreachable'");
    let banner = browser.script(
        "return document.getElementById('conn').hidden ? '' : document.getElementById('conn').textContent;",
    );
    assert!(banner.as_str().unwrap().contains("Engine unreachable since"), "{banner}");
    let page = browser.script(READ);
    assert_eq!(page["days"].as_array().unwrap().len(), want_days.len(), "the last data stays on screen");
    browser.screenshot("unreachable");
}

#[test]
fn the_page_updates_when_a_batch_closes_without_waiting_to_poll() {
    let file = fixture("lab.jsonl");
    let (_replay, addr) = replay_listen(&file, "127.0.0.1:0", &["--loop", "--rate", "200"]);
    // The page polls once an hour: only a pushed batch can update it sooner.
    let mut engine =
        manual_engine(&addr, &["--print-every", "never", "--dashboard", "127.0.0.1:0", "--refresh", "1h"]);
    let dash = logged_http_addr(&engine.wait_stderr("dashboard: open http://"));
    engine.wait_stderr("connected to");
    engine.tick();
    poll_until("the first batch", || (rows(&http_get(&dash, "/tables/batches").1).len() == 1).then_some(()));
    let driver = Driver::start();
    let browser = Browser::open(&driver, 1280, 800);
    browser.go(&format!("http://{dash}/"));
    browser.wait_for("document.querySelectorAll('#batches-table tbody tr').length === 1");
    for batches in 2..=3 {
        engine.tick();
        browser
            .wait_for(&format!("document.querySelectorAll('#batches-table tbody tr').length === {batches}"));
    }
}

/// A dashboard opened with the token in the URL (`http://me:TOKEN@host/`,
/// how many people bookmark a basic-auth page) keeps refreshing: its
/// requests go to the page's origin, and the browser sends the credentials
/// it was given. Each batch closed shows up on the page, which never says
/// the engine is unreachable.
#[test]
fn a_dashboard_opened_with_credentials_in_the_url_keeps_refreshing() {
    let token = "s3cret-Token";
    let file = fixture("lab.jsonl");
    let (_replay, addr) = replay_listen(&file, "127.0.0.1:0", &["--loop", "--rate", "200"]);
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
        "--dashboard",
        "127.0.0.1:0",
        "--refresh",
        "1s",
    ];
    let mut engine = Proc::spawn_env(&args, &[("TWEETSTREAM_TOKEN", token)]);
    let dash = logged_http_addr(&engine.wait_stderr("dashboard: open http://"));
    engine.wait_stderr("connected to");
    engine.tick();
    let driver = Driver::start();
    let browser = Browser::open(&driver, 1280, 800);
    browser.go(&format!("http://me:{token}@{dash}/"));
    browser.wait_for("document.querySelectorAll('#batches-table tbody tr').length === 1");
    for batches in 2..=3 {
        engine.tick();
        browser.wait_for(&format!(
            "document.querySelectorAll('#batches-table tbody tr').length === {batches} && \
             document.body.dataset.state !== 'unreachable' && document.getElementById('conn').hidden"
        ));
    }
    // Two refreshes more (one a second): still reachable.
    let refreshed = browser.script("return Number(document.body.dataset.refreshed)");
    browser.wait_for(&format!("Number(document.body.dataset.refreshed) > {refreshed} + 1500"));
    assert_eq!(
        browser.script("return document.body.dataset.state !== 'unreachable'"),
        serde_json::json!(true)
    );
}
