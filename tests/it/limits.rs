//! Hostile clients against every listener: a 300 MB PostgreSQL message, clients
//! that never finish their headers or startup message, idle connections, too
//! many connections, an HTTP body over the limit, and a replay client that
//! stops reading. Each limit is set short on the command line, so no test waits
//! longer than the limit it checks (plus the usual deadline for failing).

use crate::common::*;
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// An engine with all three listeners on free ports and `extra` arguments;
/// returns it with the HTTP, dashboard and PostgreSQL addresses.
fn engine(extra: &[&str]) -> (Proc, String, String, String) {
    let mut args = vec!["--http", "127.0.0.1:0", "--dashboard", "127.0.0.1:0", "--pg", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    // Nothing listens on port 9: the source retries, the listeners serve.
    let mut p = manual_engine("127.0.0.1:9", &args);
    let http = logged_http_addr(&p.wait_stderr("http: serving the tables on "));
    let dashboard = logged_http_addr(&p.wait_stderr("dashboard: open "));
    let pg = p.wait_stderr("pg: serving SQL on postgresql://");
    let pg = pg.split("postgresql://").nth(1).unwrap().split([' ', '/']).next().unwrap().to_owned();
    (p, http, dashboard, pg)
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(EVENT_TIMEOUT)).unwrap();
    s
}

/// PostgreSQL's startup message (protocol 3.0) for user `tweetstream`.
fn startup() -> Vec<u8> {
    let mut body = 196_608u32.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0tweetstream\0\0");
    let mut m = (body.len() as u32 + 4).to_be_bytes().to_vec();
    m.extend(body);
    m
}

/// A frontend message of type `kind`.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend((body.len() as u32 + 4).to_be_bytes());
    m.extend(body);
    m
}

/// Reads backend messages until one of type `kind`; returns its body.
fn read_until(s: &mut TcpStream, kind: u8) -> Vec<u8> {
    loop {
        let mut head = [0u8; 5];
        s.read_exact(&mut head).unwrap_or_else(|e| panic!("waiting for {:?}: {e}", kind as char));
        let len = u32::from_be_bytes(head[1..].try_into().unwrap()) as usize - 4;
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).unwrap();
        if head[0] == kind {
            return body;
        }
    }
}

/// The SQLSTATE of an ErrorResponse body.
fn sqlstate(error: &[u8]) -> String {
    let fields = error.split(|b| *b == 0);
    let code = fields.into_iter().find(|f| f.first() == Some(&b'C')).expect("a code field");
    String::from_utf8_lossy(&code[1..]).into_owned()
}

/// True once the peer has closed: a read gives EOF or a reset.
fn closed_by_peer(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false, // the read deadline passed
        }
    }
}

#[test]
fn a_300_mb_postgres_message_is_refused_without_buffering_it() {
    let (p, http, _, pg) = engine(&[]);
    let pid = p.child.id();
    let mut s = connect(&pg);
    s.write_all(&startup()).unwrap();
    read_until(&mut s, b'Z');
    let before = peak_rss_kib(pid);
    let size: usize = 300 << 20;
    let mut header = vec![b'Q'];
    header.extend_from_slice(&(size as u32 + 4).to_be_bytes());
    s.write_all(&header).unwrap();
    // The header is enough for the server to refuse (sending more first could
    // meet a reset before the answer is read).
    let error = read_until(&mut s, b'E');
    assert_eq!(sqlstate(&error), "54000", "{}", String::from_utf8_lossy(&error));
    assert!(String::from_utf8_lossy(&error).contains("over the limit of 1048576 bytes"));
    // The client goes on sending the 300 MB; the server has hung up.
    let chunk = vec![b'x'; 1 << 20];
    let mut sent = 0;
    while sent < size && s.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
    assert!(sent < size, "the server took all 300 MB");
    let grown = peak_rss_kib(pid).saturating_sub(before);
    assert!(grown < 16 * 1024 + 1024, "peak RSS grew by {grown} KiB");
    // Everyone else is still served.
    let (status, _) = http_get(&http, "/tables");
    assert_eq!(status, 200);
    let mut t = connect(&pg);
    t.write_all(&startup()).unwrap();
    read_until(&mut t, b'Z');
}

#[test]
fn a_client_that_never_finishes_its_headers_or_startup_is_closed() {
    let (_p, http, dashboard, pg) = engine(&["--header-timeout", "1s"]);
    for addr in [&http, &dashboard] {
        // A slowloris client: the start of a request, then a byte at a time.
        let mut s = connect(addr);
        s.write_all(b"GET /tables HTTP/1.1\r\nHost: x\r\n").unwrap();
        let started = Instant::now();
        let mut stopped = false;
        while started.elapsed() < EVENT_TIMEOUT {
            if s.write_all(b"X").is_err() {
                stopped = true;
                break;
            }
            s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
            let mut buf = [0u8; 64];
            match s.read(&mut buf) {
                Ok(_) => {
                    stopped = true;
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    stopped = true;
                    break;
                }
                Err(_) => {}
            }
        }
        assert!(stopped, "{addr}: still open after {:?}", started.elapsed());
    }
    // A PostgreSQL client that connects and sends nothing.
    let mut s = connect(&pg);
    assert!(closed_by_peer(&mut s), "the startup timeout did not close the connection");
    // A half-sent startup message.
    let mut s = connect(&pg);
    s.write_all(&startup()[..6]).unwrap();
    assert!(closed_by_peer(&mut s));
}

#[test]
fn with_tls_a_client_that_never_finishes_its_handshake_is_closed() {
    let (cert, key) = (crate::tls::tls_data("server.pem"), crate::tls::tls_data("server.key"));
    let tls = ["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let (_p, http, dashboard, pg) = engine(&[&["--header-timeout", "1s"][..], &tls].concat());
    // A TLS record header announcing a ClientHello that never comes.
    for addr in [&http, &dashboard] {
        let mut s = connect(addr);
        s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap();
        assert!(closed_by_peer(&mut s), "{addr}: still open");
    }
    // PostgreSQL: an SSLRequest, answered 'S', then no handshake.
    let mut s = connect(&pg);
    s.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).unwrap();
    let mut answer = [0u8; 1];
    s.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"S");
    assert!(closed_by_peer(&mut s), "the startup timeout did not close a handshake that never came");
    // A plain-text startup is refused: TLS only.
    let mut s = connect(&pg);
    s.write_all(&startup()).unwrap();
    let error = read_until(&mut s, b'E');
    assert_eq!(sqlstate(&error), "28000", "{}", String::from_utf8_lossy(&error));
    assert!(closed_by_peer(&mut s));
}

#[test]
fn idle_postgres_connections_are_closed_and_busy_ones_are_not() {
    let (_p, _, _, pg) = engine(&["--idle-timeout", "1s"]);
    let mut s = connect(&pg);
    s.write_all(&startup()).unwrap();
    read_until(&mut s, b'Z');
    let error = read_until(&mut s, b'E');
    assert_eq!(sqlstate(&error), "57P05", "{}", String::from_utf8_lossy(&error));
    assert!(closed_by_peer(&mut s));
    // A client that keeps asking stays connected past the idle timeout.
    let mut s = connect(&pg);
    s.write_all(&startup()).unwrap();
    read_until(&mut s, b'Z');
    let query = {
        let mut m = vec![b'Q'];
        m.extend_from_slice(&(4 + 9u32).to_be_bytes());
        m.extend_from_slice(b"select 1\0");
        m
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        s.write_all(&query).unwrap();
        read_until(&mut s, b'Z');
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn one_connection_over_the_limit_is_refused_with_an_error() {
    let (_p, http, _, pg) = engine(&["--max-connections", "2"]);
    let _held: Vec<TcpStream> = (0..2).map(|_| connect(&http)).collect();
    // The two held connections are accepted first (the server takes them in
    // order);
    // a third is answered 503, unless it is a probe.
    std::thread::sleep(Duration::from_millis(200));
    let mut third = connect(&http);
    third.write_all(b"GET /tables HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    third.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.0 503"), "{answer}");
    assert!(answer.contains("too many connections (the limit is 2)"), "{answer}");
    assert_eq!(status_of(&http, "/health/live"), 200);
    drop(_held);

    let held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = connect(&pg);
            s.write_all(&startup()).unwrap();
            read_until(&mut s, b'Z');
            s
        })
        .collect();
    let mut third = connect(&pg);
    third.write_all(&startup()).unwrap();
    let error = read_until(&mut third, b'E');
    assert_eq!(sqlstate(&error), "53300");
    drop(held);
    // Once the others leave, a new client is served again.
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let mut s = connect(&pg);
        s.write_all(&startup()).unwrap();
        let mut head = [0u8; 1];
        s.read_exact(&mut head).unwrap();
        if head[0] == b'R' {
            break;
        }
        assert!(Instant::now() < deadline, "pg still refuses after the others left");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_http_body_over_the_limit_gets_413() {
    let (_p, http, _, _) = engine(&["--max-request-bytes", "4KiB"]);
    let (status, body) = http_post(&http, "/sql", &format!("select '{}'", "x".repeat(5000)));
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].as_str().unwrap().contains("limit of 4096 bytes"), "{body}");
    let (status, _) = http_post(&http, "/sql", "select 1");
    assert_eq!(status, 200);
}

#[test]
fn a_replay_client_that_stops_reading_is_dropped_and_the_others_go_on() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let file = fixture("tweets.jsonl");
    let (mut replay, addr) = replay_listen(&file, "127.0.0.1:0", &["--loop", "--stall-timeout", "1s"]);
    let stalled = connect(&addr);
    let mut reader = connect(&addr);
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 20];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                return;
            }
            counter.fetch_add(n as u64, Ordering::Relaxed);
        }
    });
    let line = replay.wait_stderr("stopped reading");
    assert!(line.contains(&stalled.local_addr().unwrap().to_string()), "{line}");
    // The reader keeps receiving after the stalled client was dropped.
    let at_drop = received.load(Ordering::Relaxed);
    let deadline = Instant::now() + EVENT_TIMEOUT;
    while received.load(Ordering::Relaxed) < at_drop + (64 << 20) {
        assert!(
            Instant::now() < deadline,
            "the reader got only {} bytes more",
            received.load(Ordering::Relaxed) - at_drop
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stalled);
}

/// Sends `GET path` on a new connection; returns the status line's code.
fn status_of(addr: &str, path: &str) -> u16 {
    let mut s = connect(addr);
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status: {answer:?}"))
}

#[test]
fn probes_answer_while_watchers_hold_every_connection_and_refusals_are_logged_sparingly() {
    let (mut p, http, dashboard, _) = engine(&[]);
    for addr in [&http, &dashboard] {
        // As many idle watchers as the default connection limit allows.
        let watchers: Vec<TcpStream> = (0..256)
            .map(|_| {
                let mut s = connect(addr);
                write!(s, "GET /tables/batches/watch HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
                s
            })
            .collect();
        // Every slot is taken once a request past them is turned away.
        poll_until("all 256 connections are held", || (status_of(addr, "/tables") == 503).then_some(()));
        for _ in 0..20 {
            assert_eq!(status_of(addr, "/health/live"), 200, "{addr}");
            assert_eq!(status_of(addr, "/metrics"), 200, "{addr}");
            assert_eq!(status_of(addr, "/health"), 200, "{addr}");
        }
        // The source never connects: not ready, and the probe says so.
        assert_eq!(status_of(addr, "/health/ready"), 503);
        drop(watchers);
    }
    // A flood past the probes' reserve too: every connection is refused,
    // and the log has a line for the first, not one per connection.
    // (The reserve's slots free themselves after 2 s without a request, so
    // a late one of the flood may be served as a probe instead.)
    let _held: Vec<TcpStream> = (0..256 + 8).map(|_| connect(&http)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut refused = 0;
    for _ in 0..50 {
        let mut s = connect(&http);
        let _ = write!(s, "GET /health/live HTTP/1.0\r\n\r\n");
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 503") || answer.starts_with("HTTP/1.1 200"), "{answer}");
        refused += usize::from(answer.starts_with("HTTP/1.1 503"));
    }
    assert!(refused > 0);
    drop(_held);
    p.terminate();
    let stderr = p.rest_of_stderr();
    let lines = stderr.lines().filter(|l| l.contains("http: refused")).count();
    assert!((1..=2).contains(&lines), "{lines} refusal lines for {refused} refusals:\n{stderr}");
}

#[test]
fn a_large_table_comes_with_the_default_limit_unless_all_is_asked() {
    // 1,500 distinct tags, at counts from 1 to 4.
    let dir = std::env::temp_dir().join(unique("manytags"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tags.txt");
    let mut counts = std::collections::BTreeMap::new();
    let mut text = String::new();
    for i in 0..1500u64 {
        let tag = format!("#w{i}");
        let n = 1 + i % 4;
        text.push_str(&format!("{{\"text\":\"{}\"}}\n", format!("{tag} ").repeat(n as usize)));
        counts.insert(tag, n);
    }
    std::fs::write(&file, text).unwrap();
    let (_replay, addr) = replay_listen(file.to_str().unwrap(), "127.0.0.1:0", &[]);
    let mut engine = manual_engine(&addr, &["--print-every", "never", "--http", "127.0.0.1:0"]);
    let http = logged_http_addr(&engine.wait_stderr("http: serving the tables on http://"));
    let watch = {
        let mut s = connect(&http);
        write!(s, "GET /tables/tag_totals/watch HTTP/1.0\r\nHost: {http}\r\n\r\n").unwrap();
        std::io::BufReader::new(s)
    };
    engine.wait_stderr("closed after 1500 lines");
    engine.tick();
    let body = poll_until("the batch is published", || {
        let (_, body) = http_get(&http, "/tables/tag_totals");
        (body["rows_total"] == 1500).then_some(body)
    });
    let got: Vec<(String, u64)> =
        rows(&body).iter().map(|r| (r[0].as_str().unwrap().into(), r[1].as_u64().unwrap())).collect();
    assert_eq!(got, top_n(counts.clone(), 1000));
    assert_eq!((body["limit"].as_u64(), body["truncated"].as_bool()), (Some(1000), Some(true)));
    let (_, all) = http_get(&http, "/tables/tag_totals?limit=all");
    assert_eq!(rows(&all).len(), 1500);
    assert_eq!(all["truncated"], false);
    let (_, some) = http_get(&http, "/tables/tag_totals?limit=10");
    assert_eq!(rows(&some).len(), 10);
    // The watcher's event is the same table, at the same default limit.
    let event = watch
        .lines()
        .map(Result::unwrap)
        .find_map(|l| l.strip_prefix("data: ").map(|d| serde_json::from_str::<serde_json::Value>(d).unwrap()))
        .expect("an event");
    assert_eq!(event, body);
    let _ = std::fs::remove_dir_all(dir);
}

/// The resident size of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// A tokio-postgres client of the engine's `--pg` listener at `addr`.
/// [`engine`], started off the async threads; with its PostgreSQL address.
async fn pg_engine(extra: &'static [&'static str]) -> (Proc, String) {
    let (engine, _, _, pg) = tokio::task::spawn_blocking(|| engine(extra)).await.unwrap();
    (engine, pg)
}

async fn pg_client(addr: &str) -> tokio_postgres::Client {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let config = format!("host={host} port={port} user=tweetstream connect_timeout=10");
    let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

const MB: u64 = 1 << 20;

/// A careless client declares 800 `WITH HOLD` cursors of 10,000 rows over
/// two sessions: past the documented caps (64 a session, 128 MiB for all)
/// each DECLARE is refused with its SQLSTATE, the engine grows by less than
/// 300 MB, and once the clients are gone its resident size comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_are_capped_and_their_memory_given_back_when_clients_leave() {
    let (mut engine, pg) = pg_engine(&[]).await;
    let pid = engine.child.id();
    let clients = [pg_client(&pg).await, pg_client(&pg).await];
    // Warm: a first query sets up the SQL engine's connections.
    clients[0].simple_query("select 1").await.unwrap();
    let before = rss(pid);
    let (mut declared, mut refused, mut peak) = (0, std::collections::BTreeMap::<String, u32>::new(), before);
    for i in 0..400 {
        for (k, client) in clients.iter().enumerate() {
            let sql = format!(
                "DECLARE c{k}_{i} CURSOR WITH HOLD FOR select value, printf('%0150d', value) from generate_series(1, 10000)"
            );
            match client.batch_execute(&sql).await {
                Ok(()) => declared += 1,
                Err(e) => {
                    let code = e.code().map(|c| c.code().to_owned()).unwrap_or_else(|| panic!("{e}"));
                    assert!(code == "54000" || code == "53200", "{code}: {e:?}");
                    *refused.entry(code).or_default() += 1;
                }
            }
            peak = peak.max(rss(pid));
        }
    }
    assert!(declared >= 20 && declared + refused.values().sum::<u32>() == 800, "{declared} {refused:?}");
    assert!(peak - before < 300 * MB, "grew by {} MB with {declared} cursors", (peak - before) / MB);
    // What was declared holds its rows.
    let rows = clients[0].query("FETCH 3 FROM c0_0", &[]).await.unwrap();
    let values: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(values, [1, 2, 3]);
    drop(clients);
    let after = tokio::task::spawn_blocking(move || {
        poll_until("the memory given back", || {
            let now = rss(pid);
            (now < before + 64 * MB).then_some(now)
        })
    })
    .await
    .unwrap();
    eprintln!("rss: {} MB before, {} MB at the peak, {} MB after", before / MB, peak / MB, after / MB);
    engine.terminate();
    engine.wait_exit();
}

/// A client that prepares statements and never closes them is refused past
/// 1,000 with SQLSTATE 54000; closing one (Close), `DEALLOCATE name` and
/// `DEALLOCATE ALL` give room back, and a refused Parse leaves the session
/// usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_are_capped_per_session() {
    let (mut engine, pg) = pg_engine(&[]).await;
    let client = pg_client(&pg).await;
    let mut kept = Vec::new();
    let code = loop {
        // Each text differs, so the client keeps every statement apart.
        match client.prepare(&format!("select count from tag_totals where count > {}", kept.len())).await {
            Ok(statement) => kept.push(statement),
            Err(e) => break e.code().map(|c| c.code().to_owned()).unwrap_or_else(|| panic!("{e}")),
        }
        assert!(kept.len() <= 1000, "no cap after {} statements", kept.len());
    };
    assert_eq!((code.as_str(), kept.len()), ("54000", 1000));
    // The session goes on (a simple query prepares nothing), and a statement
    // kept still runs.
    let n = match &client.simple_query("select count(*) from tag_totals").await.unwrap()[1] {
        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).unwrap().parse::<i64>().unwrap(),
        other => panic!("{other:?}"),
    };
    let rows = client.query(&kept[0], &[]).await.unwrap();
    assert_eq!(rows.len() as i64, n);
    // Dropping a statement closes it: room for one more, not two.
    kept.pop();
    kept.push(client.prepare("select 1").await.unwrap());
    assert!(client.prepare("select 2").await.is_err());
    let e = client.batch_execute("DEALLOCATE no_such_statement").await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("26000"), "{e}");
    client.batch_execute("DEALLOCATE ALL").await.unwrap();
    for i in 0..10 {
        client.prepare(&format!("select {i}")).await.unwrap();
    }
    // DEALLOCATE by name, on a statement of a name we choose (raw protocol).
    let mut raw = connect(&pg);
    raw.write_all(&startup()).unwrap();
    read_until(&mut raw, b'Z');
    raw.write_all(&[message(b'P', b"mine\0select 1\0\0\0"), message(b'S', b"")].concat()).unwrap();
    read_until(&mut raw, b'Z');
    raw.write_all(&message(b'Q', b"DEALLOCATE mine\0")).unwrap();
    assert_eq!(read_until(&mut raw, b'C'), b"DEALLOCATE\0");
    raw.write_all(&message(b'Q', b"DEALLOCATE mine\0")).unwrap();
    assert_eq!(sqlstate(&read_until(&mut raw, b'E')), "26000");
    drop(kept);
    engine.terminate();
    engine.wait_exit();
}

/// `COPY … TO STDOUT` of a 4,000,000-row join streams: every row arrives
/// (their values sum as they must), and the engine grows by less than 150 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_of_four_million_rows_streams_in_bounded_memory() {
    use futures_util::StreamExt;
    let (mut engine, pg) = pg_engine(&["--sql-timeout", "600s", "--sql-max-rows", "10000000"]).await;
    let pid = engine.child.id();
    let client = pg_client(&pg).await;
    client.simple_query("select 1").await.unwrap();
    let before = rss(pid);
    let sql = "COPY (select a.value, b.value from generate_series(1, 2000) a, generate_series(1, 2000) b) TO STDOUT";
    let stream = client.copy_out(sql).await.unwrap();
    futures_util::pin_mut!(stream);
    // Rows are `A\tB\n`: counted, and their numbers summed, byte by byte.
    let (mut rows, mut sum, mut number, mut peak) = (0u64, 0u64, 0u64, before);
    while let Some(piece) = stream.next().await {
        for &b in piece.unwrap().iter() {
            match b {
                b'0'..=b'9' => number = number * 10 + u64::from(b - b'0'),
                b'\t' => sum += std::mem::take(&mut number),
                b'\n' => {
                    sum += std::mem::take(&mut number);
                    rows += 1;
                }
                other => panic!("{other} in a COPY of numbers"),
            }
        }
        if rows % 65_536 < 100 {
            peak = peak.max(rss(pid));
        }
    }
    peak = peak.max(rss(pid));
    assert_eq!(rows, 4_000_000);
    // Each of 1..=2000 stands 2000 times in each column.
    assert_eq!(sum, 2 * 2000 * (2000 * 2001 / 2));
    assert!(peak - before < 150 * MB, "grew by {} MB", (peak - before) / MB);
    engine.terminate();
    engine.wait_exit();
}

/// A SELECT of a 2,000,000-row join, read by a driver (tokio-postgres'
/// extended protocol, all rows at once) as it arrives: every row comes (the
/// values sum as they must), and the engine grows by less than 150 MB, as
/// for COPY (gathered whole, 4,000,000 rows grew it by 384 MB). Past
/// `--sql-max-rows`, the rows end with the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_select_of_two_million_rows_streams_in_bounded_memory() {
    use futures_util::StreamExt;
    let (mut engine, pg) = pg_engine(&["--sql-timeout", "600s", "--sql-max-rows", "2000000"]).await;
    let pid = engine.child.id();
    let client = pg_client(&pg).await;
    client.simple_query("select 1").await.unwrap();
    let before = rss(pid);
    let join = |n: u32| {
        format!("select a.value, b.value from generate_series(1, 1000) a, generate_series(1, {n}) b")
    };
    let stream = client.query_raw(join(2000).as_str(), std::iter::empty::<i64>()).await.unwrap();
    futures_util::pin_mut!(stream);
    let (mut rows, mut sum, mut peak) = (0u64, 0i64, before);
    while let Some(row) = stream.next().await {
        let row = row.unwrap();
        sum += row.get::<_, i64>(0) + row.get::<_, i64>(1);
        rows += 1;
        if rows % 65_536 == 0 {
            peak = peak.max(rss(pid));
        }
    }
    peak = peak.max(rss(pid));
    assert_eq!(rows, 2_000_000);
    // Each of 1..=1000 stands 2000 times in the first column, each of 1..=2000 1000 times in the second.
    assert_eq!(sum, 2000 * (1000 * 1001 / 2) + 1000 * (2000 * 2001 / 2));
    assert!(peak - before < 150 * MB, "grew by {} MB", (peak - before) / MB);
    // One row more than the limit: the rows, then the error (54000).
    let stream = client.query_raw(join(2001).as_str(), std::iter::empty::<i64>()).await.unwrap();
    futures_util::pin_mut!(stream);
    let (mut rows, mut failed) = (0u64, None);
    while let Some(row) = stream.next().await {
        match row {
            Ok(_) => rows += 1,
            Err(e) => failed = e.code().map(|c| c.code().to_owned()),
        }
    }
    assert_eq!((rows, failed.as_deref()), (2_000_000, Some("54000")));
    engine.terminate();
    engine.wait_exit();
}

/// `COPY … TO STDOUT (FORMAT binary)`, the default of connectorx and
/// polars' `read_database_uri`: read with tokio-postgres' binary COPY
/// reader, each row's typed fields (bigint, double, text, NULL) are the
/// query's, and a large one streams like the text COPY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_copy_gives_typed_rows() {
    use futures_util::StreamExt;
    use tokio_postgres::binary_copy::BinaryCopyOutStream;
    use tokio_postgres::types::Type;
    let (mut engine, pg) = pg_engine(&["--sql-max-rows", "300000", "--sql-timeout", "600s"]).await;
    let client = pg_client(&pg).await;
    let sql = "COPY (select value, value / 4.0, 'n' || value, nullif(value % 3, 0) from generate_series(1, 300000)) \
               TO STDOUT WITH (FORMAT binary)";
    let types = [Type::INT8, Type::FLOAT8, Type::TEXT, Type::INT8];
    let stream = BinaryCopyOutStream::new(client.copy_out(sql).await.unwrap(), &types);
    futures_util::pin_mut!(stream);
    let mut n = 0i64;
    while let Some(row) = stream.next().await {
        let row = row.unwrap();
        n += 1;
        assert_eq!(row.get::<i64>(0), n);
        assert_eq!(row.get::<f64>(1), n as f64 / 4.0);
        assert_eq!(row.get::<&str>(2), format!("n{n}"));
        assert_eq!(row.get::<Option<i64>>(3), (n % 3 != 0).then_some(n % 3));
    }
    assert_eq!(n, 300_000);
    // One row past the limit, with psql (a simple query): the rows, then the
    // error, as PostgreSQL ends a failing COPY; in either format.
    let (host, port) = pg.rsplit_once(':').unwrap();
    for (format, rows) in [("text", 300_000), ("binary", 0)] {
        let sql = format!("COPY (select value from generate_series(1, 300001)) TO STDOUT (FORMAT {format})");
        let out = tokio::process::Command::new("psql")
            .args(["-h", host, "-p", port, "-U", "tweetstream", "-X", "-c", &sql])
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains("more than 300000 rows"), "{format}: {stderr}");
        if rows > 0 {
            assert_eq!(
                out.stdout.iter().filter(|&&b| b == b'\n').count(),
                rows,
                "{format}: the rows came first"
            );
        } else {
            assert!(
                out.stdout.starts_with(b"PGCOPY\n\xff\r\n\0") && out.stdout.len() > 300_000 * 10,
                "{format}"
            );
        }
    }
    // And in the extended protocol (tokio-postgres' copy_out): the rows, then
    // the error (PostgreSQL's ErrorResponse, not a CopyFail, which only a
    // client may send), and the connection serves on.
    let sql = "COPY (select value from generate_series(1, 300001)) TO STDOUT";
    let stream = client.copy_out(sql).await.unwrap();
    futures_util::pin_mut!(stream);
    let (mut bytes, mut error) = (0usize, None);
    let read = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        while let Some(piece) = stream.next().await {
            match piece {
                Ok(data) => bytes += data.len(),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
    });
    read.await.expect("the COPY ends within its deadline");
    let error = error.expect("the COPY past the row limit ends with an error");
    let db = error.as_db_error().unwrap_or_else(|| panic!("a server error, not {error:?}"));
    assert_eq!(db.code().code(), "54000", "{db:?}");
    let rows: usize = (1..=300_000).map(|n: usize| n.to_string().len() + 1).sum();
    assert_eq!(bytes, rows, "every row within the limit came first");
    // The connection is still usable.
    assert_eq!(client.simple_query("select 1").await.unwrap().len(), 3);
    engine.terminate();
    engine.wait_exit();
}

/// A guesser of the token: each wrong password (PostgreSQL) or wrong bearer
/// token (HTTP) is logged with the peer once, not once per try, and each is
/// answered later than the one before (at least 100 ms, doubling: the fifth
/// in a row waits at least 1.6 s, a lower bound however busy the machine).
/// The right token still gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_logged_per_peer_and_slowed() {
    const TOKEN: &str = "t0ken-for-guessers";
    let mut engine = tokio::task::spawn_blocking(|| {
        let args = ["stream", "--connect", "127.0.0.1:9", "--batch", "manual", "--http", "127.0.0.1:0"];
        let mut p =
            Proc::spawn_env(&[&args[..], &["--pg", "127.0.0.1:0"]].concat(), &[("TWEETSTREAM_TOKEN", TOKEN)]);
        p.wait_stderr("http: serving the tables on ");
        p.wait_stderr("pg: serving SQL on postgresql://");
        p
    })
    .await
    .unwrap();
    let said = engine.stderr_seen.join("\n");
    let http = logged_http_addr(said.lines().find(|l| l.contains("http: serving")).unwrap());
    let pg = said.split("postgresql://").nth(1).unwrap().split([' ', '/']).next().unwrap().to_owned();
    let (host, port) = pg.rsplit_once(':').unwrap();
    let login = |password: &str| {
        let config = format!("host={host} port={port} user=guesser password={password} connect_timeout=30");
        async move { tokio_postgres::connect(&config, tokio_postgres::NoTls).await }
    };
    let mut waits = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let err = login("guess").await.err().expect("a wrong password is refused");
        assert_eq!(err.as_db_error().map(|e| e.code().code()), Some("28P01"), "{err}");
        waits.push(started.elapsed());
    }
    assert!(waits[4] >= Duration::from_millis(1600), "{waits:?}");
    let (client, connection) = login(TOKEN).await.expect("the token still logs in");
    tokio::spawn(connection);
    client.simple_query("select 1").await.unwrap();
    // HTTP: a wrong bearer token, five times.
    let mut http_waits = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let request = "GET /tables HTTP/1.1
Host: x
Authorization: Bearer guess
Connection: close

";
        let (status, _, _) = tokio::task::spawn_blocking({
            let http = http.clone();
            move || http_exchange(&http, request)
        })
        .await
        .unwrap();
        assert_eq!(status, 401);
        http_waits.push(started.elapsed());
    }
    assert!(http_waits[4] >= Duration::from_millis(1600), "{http_waits:?}");
    engine.terminate();
    let said = engine.rest_of_stderr();
    let pg_lines = said.lines().filter(|l| l.contains("pg: failed login from 127.0.0.1")).count();
    let http_lines = said.lines().filter(|l| l.contains("http: failed login from 127.0.0.1")).count();
    assert_eq!((pg_lines, http_lines), (1, 1), "{said}");
    assert!(said.contains("(user \"guesser\")"), "{said}");
    assert!(!said.contains(TOKEN) && !said.contains("guess\""), "{said}");
}
