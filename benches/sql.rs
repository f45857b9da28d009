//! Query latency of the original statement
//! (`select tag, count from tag_counts order by count desc limit 10`) with
//! 100,000 distinct tags in the tables while new batches keep being published
//! (one every 100 ms), in process and over HTTP on loopback.
//!
//!   cargo bench --bench sql        (SQL_BENCH_QUERIES=N to change the count)

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tweetstream::engine::ranked::Ranked;
use tweetstream::engine::tables::{Snapshot, Tables};
use tweetstream::serve::http;
use tweetstream::sql::{Limits, ORIGINAL_QUERY, SqlEngine};

const TAGS: u64 = 100_000;

fn snapshot(batch: i64) -> Snapshot {
    let names: Vec<String> = (0..TAGS).map(|i| format!("#tag{i}")).collect();
    let tags = Ranked::from_pairs(
        names.iter().enumerate().map(|(i, t)| (t.as_str(), (i as u64 * 7919 + batch as u64) % 1000)),
    );
    Snapshot { batch_time: Some(batch), tag_counts: tags.clone(), tag_totals: tags, ..Snapshot::default() }
}

fn percentiles(name: &str, mut micros: Vec<f64>) {
    micros.sort_by(f64::total_cmp);
    let at = |p: f64| micros[((micros.len() as f64 * p) as usize).min(micros.len() - 1)];
    println!(
        "{name:26} {} queries: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        micros.len(),
        at(0.50),
        at(0.99),
        micros[micros.len() - 1]
    );
}

fn main() {
    let n: usize = std::env::var("SQL_BENCH_QUERIES").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let tables = Arc::new(Tables::default());
    tables.publish(snapshot(0));
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (tables, stop) = (tables.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut batch = 1;
            while !stop.load(Ordering::Relaxed) {
                tables.publish(snapshot(batch));
                batch += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            batch
        })
    };
    let sql = Arc::new(SqlEngine::new(tables.clone(), false, Limits::default()));
    let first = sql.query(ORIGINAL_QUERY).unwrap();
    assert_eq!(first.rows.len(), 10);

    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = sql.query(ORIGINAL_QUERY).unwrap();
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(r.rows.len(), 10);
    }
    percentiles("in process", lat);

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let shared = http::Shared {
        tables: tables.clone(),
        source: Arc::default(),
        sql: sql.clone(),
        limits: Default::default(),
        readiness: tweetstream::serve::health::Readiness { batch_every: None, started_ms: 0 },
        frames: Arc::default(),
        cors: Default::default(),
        credentials: Default::default(),
        tls: None,
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (addr, _) = rt.block_on(http::serve("127.0.0.1:0", shared, shutdown.clone())).unwrap();
    let request = format!(
        "POST /sql HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n{ORIGINAL_QUERY}",
        ORIGINAL_QUERY.len()
    );
    let mut lat = Vec::with_capacity(n);
    let mut body = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        body.clear();
        s.read_to_end(&mut body).unwrap();
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(body.starts_with(b"HTTP/1.0 200") || body.starts_with(b"HTTP/1.1 200"));
    }
    percentiles("HTTP, new connection each", lat);

    // One kept-alive connection, as a polling dashboard or driver would use.
    let request = request.replace("HTTP/1.0", "HTTP/1.1");
    let mut s = std::io::BufReader::new(std::net::TcpStream::connect(addr).unwrap());
    s.get_ref().set_nodelay(true).unwrap();
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        s.get_mut().write_all(request.as_bytes()).unwrap();
        let mut len = 0;
        loop {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut s, &mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        body.resize(len, 0);
        s.read_exact(&mut body).unwrap();
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    percentiles("HTTP, kept alive", lat);
    stop.store(true, Ordering::Relaxed);
    let batches = publisher.join().unwrap();
    println!("({TAGS} distinct tags; {batches} batches published during the run)");
    shutdown.cancel();
}
