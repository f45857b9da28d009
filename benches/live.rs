//! Posts per second through the Jetstream source: a local server (its own
//! thread) sends N generated events over a WebSocket as fast as the client
//! takes them; the source (`tweetstream::sources::jetstream::run`, the code
//! `stream --jetstream` runs) decodes them into tweet lines, which are only
//! counted here. Most events are posts, about as long as Bluesky's (a
//! sentence or two, a language list, a `$type`, some facets).
//!
//!   cargo bench --bench live            (LIVE_BENCH_EVENTS=N, default 1,000,000)

use futures_util::SinkExt;
use std::sync::Arc;
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tweetstream::sources::SourceStatus;
use tweetstream::sources::jetstream;

/// `n` events; 9 of 10 are new posts.
fn events(n: usize) -> Vec<String> {
    let texts = [
        "Good morning everyone! The light over the bay is just beautiful today #photography #sunrise",
        "not sure how I feel about the new update, it is slow and the colours are bad",
        "Reading a great thread on stream processing. #rust #dataengineering",
        "lol",
    ];
    (0..n)
        .map(|i| {
            let time_us = 1_725_000_000_000_000i64 + i as i64 * 100;
            if i % 10 == 9 {
                return format!(
                    r#"{{"did":"did:plc:u{i}","time_us":{time_us},"kind":"commit","commit":{{"rev":"r{i}","operation":"create","collection":"app.bsky.feed.like","rkey":"k{i}","record":{{"$type":"app.bsky.feed.like","createdAt":"2024-11-01T10:00:00.000Z","subject":{{"cid":"c","uri":"at://did:plc:x/app.bsky.feed.post/y"}}}},"cid":"c{i}"}}}}"#
                );
            }
            let text = serde_json::to_string(texts[i % texts.len()]).unwrap();
            format!(
                r#"{{"did":"did:plc:abcdefghijklmnopqrstu{i}","time_us":{time_us},"kind":"commit","commit":{{"rev":"3l3qo2vutsw2b{i}","operation":"create","collection":"app.bsky.feed.post","rkey":"3l3qo2vuowo2b{i}","record":{{"$type":"app.bsky.feed.post","createdAt":"2024-11-01T10:{:02}:00.000Z","langs":["en"],"text":{text},"facets":[{{"features":[{{"$type":"app.bsky.richtext.facet#tag","tag":"rust"}}],"index":{{"byteEnd":10,"byteStart":5}}}}]}},"cid":"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a{i}"}}}}"#,
                i % 60
            )
        })
        .collect()
}

fn main() {
    let n: usize = std::env::var("LIVE_BENCH_EVENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let events = events(n);
    let posts = (0..n).filter(|i| i % 10 != 9).count();
    let bytes: usize = events.iter().map(String::len).sum();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            for e in events {
                ws.feed(Message::text(e)).await.unwrap();
            }
            ws.flush().await.unwrap();
            // Open until the client is done.
            std::future::pending::<()>().await;
        });
    });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let stop = CancellationToken::new();
        let url = format!("ws://{addr}/subscribe");
        let start = Instant::now();
        let source = tokio::spawn(jetstream::run(
            url,
            None,
            1 << 20,
            tx,
            Arc::new(SourceStatus::default()),
            stop.clone(),
        ));
        let mut lines = 0usize;
        while lines < posts {
            let chunk: tweetstream::codec::Chunk = rx.recv().await.expect("the source ended early");
            lines += chunk.line_count();
        }
        let secs = start.elapsed().as_secs_f64();
        stop.cancel();
        let _ = source.await;
        println!(
            "jetstream: {n} events ({posts} posts, {:.0} MB) in {secs:.2} s: {:.0} posts/s, {:.0} MB/s",
            bytes as f64 / 1e6,
            posts as f64 / secs,
            bytes as f64 / 1e6 / secs
        );
    });
}
