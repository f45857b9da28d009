//! Posts per second through each live source: a local server (its own
//! thread) sends N generated events as fast as the client takes them — over
//! a WebSocket for Jetstream, as one chunked HTTP response for X's filtered
//! stream and Mastodon's Server-Sent Events — and the source
//! (`tweetstream::sources::live::start_all`, the code `stream --jetstream`,
//! `--x-stream` and `--mastodon` run) decodes them into tweet lines, which
//! are only counted here. Most events are posts, about as long as the
//! providers' own (a sentence or two, and the fields each sends with it).
//!
//!   cargo bench --bench live            (LIVE_BENCH_EVENTS=N, default 1,000,000)

use futures_util::SinkExt;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tweetstream::secret::{Secret, SecretUrl};
use tweetstream::sources::live::{self, Feed, FeedSettings};

const TEXTS: [&str; 4] = [
    "Good morning everyone! The light over the bay is just beautiful today #photography #sunrise",
    "not sure how I feel about the new update, it is slow and the colours are bad",
    "Reading a great thread on stream processing. #rust #dataengineering",
    "lol",
];

/// `n` Jetstream events; 9 of 10 are new posts.
fn jetstream_events(n: usize) -> Vec<String> {
    let texts = TEXTS;
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

/// `n` lines of X's filtered stream; 9 of 10 are posts, the rest keep-alives.
fn x_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i % 10 == 9 {
                return "\r\n".to_owned();
            }
            let text = serde_json::to_string(TEXTS[i % TEXTS.len()]).unwrap();
            format!(
                r#"{{"data":{{"created_at":"2024-11-01T10:{:02}:00.000Z","edit_history_tweet_ids":["18527{i}"],"id":"18527{i}","text":{text}}},"matching_rules":[{{"id":"1852700000000000001","tag":"rust"}}]}}"#,
                i % 60
            ) + "\r\n"
        })
        .collect()
}

/// `n` Mastodon events; 9 of 10 are new statuses (HTML content with
/// hashtag links), the rest heartbeats.
fn mastodon_events(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i % 10 == 9 {
                return ":thump\n".to_owned();
            }
            let html = TEXTS[i % TEXTS.len()]
                .split(' ')
                .map(|w| match w.strip_prefix('#') {
                    Some(t) => format!(r#"<a href="https://mastodon.social/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>"#),
                    None => w.replace('!', "&#33;"),
                })
                .collect::<Vec<_>>()
                .join(" ");
            let status = serde_json::json!({
                "id": format!("1133{i}"), "created_at": format!("2024-11-01T10:{:02}:00.000Z", i % 60),
                "in_reply_to_id": null, "sensitive": false, "spoiler_text": "", "visibility": "public",
                "language": "en", "uri": format!("https://mastodon.social/users/someone/statuses/1133{i}"),
                "content": format!("<p>{html}</p>"), "reblog": null,
                "account": {"id": "1", "username": "someone", "acct": "someone", "display_name": "Someone"},
                "media_attachments": [], "mentions": [], "tags": [{"name": "rust"}], "emojis": [],
            });
            format!("event: update\ndata: {status}\n\n")
        })
        .collect()
}

/// Serves `events` to the first client over a WebSocket.
async fn serve_websocket(listener: tokio::net::TcpListener, events: Vec<String>) {
    let (stream, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
    for e in events {
        ws.feed(Message::text(e)).await.unwrap();
    }
    ws.flush().await.unwrap();
    // Open until the client is done.
    std::future::pending::<()>().await;
}

/// Serves `events` to the first client as one chunked HTTP response, in
/// chunks of about 64 KiB.
async fn serve_http(listener: tokio::net::TcpListener, events: Vec<String>) {
    let (mut stream, _) = listener.accept().await.unwrap();
    // The request first: a client may not take an answer to a question it
    // has not finished asking.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let mut stream = tokio::io::BufWriter::with_capacity(1 << 20, stream);
    stream.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").await.unwrap();
    let mut chunk = String::new();
    for e in events {
        chunk.push_str(&e);
        if chunk.len() >= 64 << 10 {
            stream.write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes()).await.unwrap();
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        stream.write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes()).await.unwrap();
    }
    stream.flush().await.unwrap();
    std::future::pending::<()>().await;
}

/// Runs `feed` against a server of `events` until it has passed on `posts`
/// posts; prints the rate.
fn measure(name: &str, events: Vec<String>, posts: usize, http: bool) {
    let n = events.len();
    let bytes: usize = events.iter().map(String::len).sum();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            if http { serve_http(listener, events).await } else { serve_websocket(listener, events).await }
        });
    });
    let feed = match name {
        "jetstream" => {
            Feed::Jetstream { url: SecretUrl::new(&format!("ws://{addr}/subscribe")), after: None }
        }
        "x" => Feed::X { url: SecretUrl::new(&format!("http://{addr}")), token: Secret::new("t") },
        _ => Feed::Mastodon {
            url: SecretUrl::new(&format!("http://{addr}")),
            timeline: live::mastodon::Timeline::Public,
            token: None,
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let stop = CancellationToken::new();
        let start = Instant::now();
        let source = live::start_all(vec![feed], FeedSettings { stall: None }, 1 << 20, tx, stop.clone());
        let mut lines = 0usize;
        while lines < posts {
            let chunk: tweetstream::codec::Chunk = rx.recv().await.expect("the source ended early");
            lines += chunk.line_count();
        }
        let secs = start.elapsed().as_secs_f64();
        stop.cancel();
        let _ = source.await;
        println!(
            "{name}: {n} events ({posts} posts, {:.0} MB) in {secs:.2} s: {:.0} posts/s, {:.0} MB/s",
            bytes as f64 / 1e6,
            posts as f64 / secs,
            bytes as f64 / 1e6 / secs
        );
    });
}

fn main() {
    let n: usize = std::env::var("LIVE_BENCH_EVENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let posts = (0..n).filter(|i| i % 10 != 9).count();
    measure("jetstream", jetstream_events(n), posts, false);
    measure("x", x_lines(n), posts, true);
    measure("mastodon", mastodon_events(n), posts, true);
}
