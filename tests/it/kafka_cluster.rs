//! What a real Kafka cluster asks of the clients, against the stand-in broker
//! on 127.0.0.1 (`scripts/services.sh up`): SASL over TLS with SCRAM is a
//! configuration librdkafka accepts (the stand-in speaks plaintext only, so
//! the handshake fails, and must fail visibly), and topics written with every
//! compression codec are read and counted.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpStream;

/// SASL over TLS with SCRAM-SHA-512, as managed Kafka services require.
const SECURED: &[&str] = &[
    "-X",
    "security.protocol=SASL_SSL",
    "-X",
    "sasl.mechanism=SCRAM-SHA-512",
    "-X",
    "sasl.username=analyst",
    "-X",
    "sasl.password=hunter2-secret",
];

/// What librdkafka says when a feature is not compiled in.
fn assert_supported(stderr: &str) {
    for missing in ["No provider", "unsupported", "Unsupported", "recompile"] {
        assert!(!stderr.contains(missing), "librdkafka lacks a feature ({missing}):\n{stderr}");
    }
}

#[test]
fn a_sasl_ssl_scram_client_is_accepted_and_a_failed_handshake_is_logged_and_not_ready() {
    let b = brokers();
    let mut args = vec!["stream", "--kafka", &b, "--topic", "secured", "--http", "127.0.0.1:0"];
    args.extend_from_slice(SECURED);
    let mut engine = Proc::spawn(&args);
    let http = logged_http_addr(&engine.wait_stderr("http: serving the tables on http://"));
    // Within a few seconds (one reconnect backoff) the failure is logged,
    // naming the broker it tried.
    let failed = engine.wait_stderr("SSL handshake failed");
    assert!(failed.contains(&format!("sasl_ssl://{b}")), "{failed}");
    let (status, body) = http_get(&http, "/health/ready");
    assert_eq!(status, 503, "{body}");
    assert!(body["reason"].as_str().unwrap().contains("not connected"), "{body}");
    assert!(engine.child.try_wait().unwrap().is_none(), "the engine stopped");
    engine.terminate();
    assert!(engine.wait_exit().success());
    let stderr = engine.rest_of_stderr();
    assert_supported(&stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "a password was logged:\n{stderr}");

    // The producer side (the admin client that creates the topic, then the
    // producer): the same settings, the same visible failure.
    let mut args = vec!["produce", "--brokers", &b, "--topic", "secured"];
    args.extend_from_slice(SECURED);
    let mut producer = Proc::spawn(&args);
    let failed = producer.wait_stderr("SSL handshake failed");
    assert!(failed.contains(&format!("sasl_ssl://{b}")), "{failed}");
    drop(producer.stdin.take());
    let _ = producer.child.kill();
    let stderr = producer.rest_of_stderr();
    assert_supported(&stderr);
    assert!(!stderr.contains("hunter2") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn topics_compressed_with_every_codec_are_consumed_and_counted() {
    let db = unique("codecs");
    let (status, _, stderr) = run_to_end(&["load", &fixture("lab.jsonl"), "--db", &db]);
    assert!(status.success(), "{stderr}");
    let b = brokers();
    for codec in ["zstd", "lz4", "snappy", "gzip"] {
        let (topic, group) = (unique(&format!("codec_{codec}")), unique("codec_group"));
        let setting = format!("compression.type={codec}");
        let produce = ["produce", "--db", &db, "--brokers", &b, "--topic", &topic, "-X", &setting];
        let (status, _, stderr) = run_to_end(&produce);
        assert!(status.success() && stderr.contains("600 delivered, 0 failed"), "{codec}: {stderr}");
        // The broker holds batches compressed with this codec (read back
        // with a Fetch request of our own, not through librdkafka). A batch
        // that compression would make larger is sent uncompressed
        // (librdkafka's rdkafka_msgset_writer.c), so a small last batch may be.
        let codecs = stored_codecs(&b, &topic);
        let compressed = codecs.iter().filter(|&&c| c == codec_id(codec)).count();
        assert!(
            compressed > 0 && codecs.iter().all(|&c| c == codec_id(codec) || c == 0),
            "{codec}: {codecs:?}"
        );

        let stream = format!(
            "stream --kafka {b} --topic {topic} --group {group} --batch 300ms --print-every never \
             --stop-after-records 600 --format json"
        );
        let (status, stdout, stderr) = run_to_end(&words(&stream));
        assert!(status.success(), "{codec}: {stderr}");
        let tables: Vec<serde_json::Value> =
            stdout.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        let days = tables.iter().find(|t| t["table"] == "sentiment_by_day").expect("sentiment_by_day");
        let want = per_day(std::fs::read_to_string(fixture("lab.jsonl")).unwrap().lines().map(lab_tweet));
        assert_eq!(day_rows(days), want, "{codec}");
    }
    drop_database(&db);
}

/// The codec number of Kafka's record batch attributes (the low 3 bits).
fn codec_id(name: &str) -> i16 {
    match name {
        "gzip" => 1,
        "snappy" => 2,
        "lz4" => 3,
        "zstd" => 4,
        _ => panic!("unknown codec {name}"),
    }
}

/// The codec of every record batch of partition 0 of `topic`, read with a
/// Fetch (version 4) request written here by hand.
fn stored_codecs(brokers: &str, topic: &str) -> Vec<i16> {
    let addr = brokers.split(',').next().unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut body = Vec::new();
    body.extend(1i16.to_be_bytes()); // api key: Fetch
    body.extend(4i16.to_be_bytes()); // version
    body.extend(7i32.to_be_bytes()); // correlation id
    put_str(&mut body, "codec-check");
    body.extend((-1i32).to_be_bytes()); // replica id
    body.extend(100i32.to_be_bytes()); // max wait ms
    body.extend(1i32.to_be_bytes()); // min bytes
    body.extend((16i32 << 20).to_be_bytes()); // max bytes
    body.push(0); // isolation level
    body.extend(1i32.to_be_bytes()); // one topic
    put_str(&mut body, topic);
    body.extend(1i32.to_be_bytes()); // one partition
    body.extend(0i32.to_be_bytes()); // partition 0
    body.extend(0i64.to_be_bytes()); // from offset 0
    body.extend((16i32 << 20).to_be_bytes()); // partition max bytes
    s.write_all(&(body.len() as i32).to_be_bytes()).unwrap();
    s.write_all(&body).unwrap();
    let mut size = [0u8; 4];
    s.read_exact(&mut size).unwrap();
    let mut r = vec![0u8; i32::from_be_bytes(size) as usize];
    s.read_exact(&mut r).unwrap();
    let mut at = 4 + 4 + 4; // correlation id, throttle time, topic count
    at += 2 + i16::from_be_bytes([r[at], r[at + 1]]) as usize; // topic name
    at += 4 + 4; // partition count, partition
    let error = i16::from_be_bytes([r[at], r[at + 1]]);
    assert_eq!(error, 0, "fetch error");
    at += 2 + 8 + 8; // error, high watermark, last stable offset
    let aborted = i32::from_be_bytes(r[at..at + 4].try_into().unwrap());
    at += 4 + 16 * aborted.max(0) as usize;
    let len = i32::from_be_bytes(r[at..at + 4].try_into().unwrap()) as usize;
    let records = &r[at + 4..at + 4 + len];
    let mut codecs = Vec::new();
    let mut b = 0;
    // A batch: base offset (8), length (4), leader epoch (4), magic (1), crc (4), attributes (2).
    while b + 23 <= records.len() {
        let batch_len = i32::from_be_bytes(records[b + 8..b + 12].try_into().unwrap()) as usize;
        if b + 12 + batch_len > records.len() {
            break; // a partial batch at the end of the response
        }
        codecs.push(i16::from_be_bytes([records[b + 21], records[b + 22]]) & 7);
        b += 12 + batch_len;
    }
    codecs
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend((s.len() as i16).to_be_bytes());
    buf.extend(s.as_bytes());
}
