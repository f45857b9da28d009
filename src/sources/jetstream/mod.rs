//! Bluesky's Jetstream as a source (`stream --jetstream [URL]`): new posts,
//! live, as tweet lines, with no account needed.
//!
//! The source is a WebSocket client of `…/subscribe`, asking only for posts
//! (`wantedCollections=app.bsky.feed.post`). Every event carries `time_us`,
//! and Jetstream replays from any `cursor=<time_us>` it still holds, so a
//! dropped connection loses nothing: the source reconnects with the cursor a
//! few seconds before the last event it took ([`REWIND_US`], as Jetstream's
//! documentation advises: events of one microsecond may straddle the cut)
//! and skips every event up to that one, so nothing is counted twice. A
//! connection silent for the stall time ([`STALL`] unless set) is taken as
//! stalled and reconnected.
//! What each event becomes is [`event`]'s.
//!
//! With `--checkpoint`, each chunk carries where the source stands (an
//! [`Origin`] whose offsets are `time_us`), the checkpoint saves it with the
//! batch, and a restarted engine resumes after the last event of the last
//! batch saved, with the same rewind and skip: a restart, even after
//! `kill -9`, loses and repeats nothing that the server still holds.

pub mod event;

use super::SourceStatus;
use super::acks::Acknowledge;
use crate::codec::{CHUNK_BYTES, Chunk, Origin, PartitionId};
use crate::retry::Backoff;
use event::Decoded;
use futures_util::{FutureExt, StreamExt};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

/// Bluesky's public instance (`stream --jetstream` without a URL).
pub const PUBLIC: &str = "wss://jetstream2.us-east.bsky.network/subscribe";

/// How far before the last event taken a reconnection's cursor starts.
pub const REWIND_US: i64 = 3_000_000;

/// A connection without a message for this long is stalled. (The firehose of
/// posts brings several a second.)
pub const STALL: Duration = Duration::from_secs(30);

/// A message larger than this ends the connection (an event is a few KiB).
const MAX_MESSAGE: usize = 16 << 20;

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(16);

/// What a reconnection needs to know.
#[derive(Debug, Default)]
struct Resume {
    /// `time_us` of the last event taken (None: none yet).
    last: Option<i64>,
}

/// The one "partition" of a Jetstream, as a checkpoint names it: the source
/// is `jetstream URL` (its only topic), its offsets are `time_us`.
pub const PARTITION: PartitionId = PartitionId { topic: 0, partition: 0 };

/// The checkpoint's name for the source's position (one per URL: another
/// instance's times are not this one's).
pub fn position_name(url: &str) -> String {
    format!("jetstream {url}")
}

/// The checkpoint's handle back to the source: there is one partition and
/// it never changes hands, so every part is current and nothing is committed
/// anywhere else.
pub struct Acks;

impl Acknowledge for Acks {
    fn epoch(&self, partition: PartitionId) -> Option<u64> {
        (partition == PARTITION).then_some(0)
    }

    fn stored(&self, _: &[(PartitionId, i64)]) {}

    fn stored_elsewhere(&self, _: PartitionId, _: i64) {}
}

/// The subscription URL: `base` asking for posts only, from `cursor` if given.
pub fn subscribe_url(base: &str, cursor: Option<i64>) -> String {
    let (path, query) = base.split_once('?').unwrap_or((base, ""));
    let mut params: Vec<&str> =
        query.split('&').filter(|p| !p.is_empty() && !p.starts_with("cursor=")).collect();
    let wanted = format!("wantedCollections={}", event::POSTS);
    if !params.iter().any(|p| p.starts_with("wantedCollections=")) {
        params.push(&wanted);
    }
    let cursor = cursor.map(|c| format!("cursor={c}"));
    params.extend(cursor.as_deref());
    format!("{path}?{}", params.join("&"))
}

/// Reads posts from the Jetstream at `url` until `shutdown`, reconnecting
/// (with the cursor) as needed; `after`: the `time_us` of the last event a
/// checkpoint saved (None: from the live edge).
pub async fn run(
    url: String,
    after: Option<i64>,
    stall: Duration,
    max_line_bytes: usize,
    tx: mpsc::Sender<Chunk>,
    status: Arc<SourceStatus>,
    shutdown: CancellationToken,
) {
    let m = crate::metrics::metrics();
    let source = crate::metrics::Source { source: format!("jetstream {url}") };
    let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
    let mut resume = Resume { last: after };
    let mut failures = 0u32;
    loop {
        let target = subscribe_url(&url, resume.last.map(|t| t - REWIND_US));
        let config =
            WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE)).max_frame_size(Some(MAX_MESSAGE));
        let connecting = tokio_tungstenite::connect_async_with_config(target.as_str(), Some(config), true);
        let connected = tokio::select! {
            () = shutdown.cancelled() => return,
            r = tokio::time::timeout(stall, connecting) => r,
        };
        let ws = match connected {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => {
                failures += 1;
                report_failure(&url, failures, &e.to_string());
                if !backoff.wait(shutdown.cancelled()).await {
                    return;
                }
                continue;
            }
            Err(_) => {
                failures += 1;
                report_failure(&url, failures, "no answer");
                if !backoff.wait(shutdown.cancelled()).await {
                    return;
                }
                continue;
            }
        };
        failures = 0;
        backoff.reset();
        match resume.last {
            Some(last) => tracing::info!("jetstream {url}: connected, resuming after event {last}"),
            None => tracing::info!("jetstream {url}: connected"),
        }
        status.connected.store(true, Ordering::Relaxed);
        let ended = read_connection(ws, &mut resume, stall, max_line_bytes, &tx, &source, &shutdown).await;
        status.connected.store(false, Ordering::Relaxed);
        if shutdown.is_cancelled() || tx.is_closed() {
            return;
        }
        m.live_reconnects.get_or_create(&source).inc();
        tracing::warn!("jetstream {url}: {ended}; reconnecting with the cursor");
    }
}

fn report_failure(url: &str, failures: u32, why: &str) {
    if failures == 1 {
        tracing::warn!(
            "jetstream {url}: cannot connect: {why}; retrying with backoff (up to {MAX_BACKOFF:?})"
        );
    } else {
        tracing::debug!("jetstream {url}: still cannot connect: {why}");
    }
}

/// Forwards one connection's posts; returns why it ended.
async fn read_connection<S>(
    mut ws: tokio_tungstenite::WebSocketStream<S>,
    resume: &mut Resume,
    stall: Duration,
    max_line_bytes: usize,
    tx: &mpsc::Sender<Chunk>,
    source: &crate::metrics::Source,
    shutdown: &CancellationToken,
) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let m = crate::metrics::metrics();
    let mut out = Vec::with_capacity(CHUNK_BYTES);
    loop {
        let first_taken = resume.last;
        let first = tokio::select! {
            () = shutdown.cancelled() => return "shut down".into(),
            next = tokio::time::timeout(stall, ws.next()) => match next {
                Ok(next) => next,
                Err(_) => return format!("no message for {stall:?} (stalled)"),
            },
        };
        // What has arrived already goes into the same chunk.
        let mut next = Some(first);
        let mut ended = None;
        while let Some(message) = next.take() {
            match message {
                None => ended = Some("the server closed the connection".to_owned()),
                Some(Err(e)) => ended = Some(format!("the connection failed: {e}")),
                Some(Ok(Message::Text(text))) => {
                    m.live_events.get_or_create(source).inc();
                    take(text.as_str(), resume, &mut out, source);
                }
                Some(Ok(Message::Binary(_))) => super::live::skipped(source, "binary"),
                Some(Ok(Message::Close(frame))) => {
                    let why =
                        frame.map(|f| format!(" ({} {})", u16::from(f.code), f.reason)).unwrap_or_default();
                    ended = Some(format!("the server closed the connection{why}"));
                }
                // Pings are answered by the WebSocket layer.
                Some(Ok(_)) => {}
            }
            if ended.is_some() || out.len() >= CHUNK_BYTES {
                break;
            }
            next = ws.next().now_or_never();
        }
        if !out.is_empty() {
            // Where the source stands after these lines (for a checkpoint).
            let last = resume.last.unwrap_or_default();
            let origin = Origin {
                partition: PARTITION,
                epoch: 0,
                first: first_taken.map_or(last, |t| t + 1),
                next: last + 1,
                last: 0,
            };
            let chunk = Chunk::from_lines(std::mem::take(&mut out).into(), max_line_bytes, Some(origin));
            out = Vec::with_capacity(CHUNK_BYTES);
            if tx.send(chunk).await.is_err() {
                return "shut down".into();
            }
        }
        if let Some(why) = ended {
            return why;
        }
    }
}

/// Takes one event: a post not taken before goes into `out`.
fn take(message: &str, resume: &mut Resume, out: &mut Vec<u8>, source: &crate::metrics::Source) {
    let m = crate::metrics::metrics();
    let before = out.len();
    let time_us = match event::decode(message, out) {
        Decoded::Post { time_us } => Some(time_us),
        Decoded::Skipped { time_us, reason } => {
            super::live::skipped(source, reason);
            time_us
        }
    };
    let Some(time_us) = time_us else { return };
    // Replayed after a reconnection (the cursor starts a little earlier).
    if resume.last.is_some_and(|last| time_us <= last) {
        out.truncate(before);
        super::live::skipped(source, "seen before a reconnection");
        return;
    }
    resume.last = Some(time_us);
    if out.len() > before {
        m.live_posts.get_or_create(source).inc();
    }
    m.live_last_event.get_or_create(source).set(time_us / 1_000_000);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subscription_asks_for_posts_from_the_cursor() {
        let base = "ws://h:1/subscribe";
        assert_eq!(subscribe_url(base, None), "ws://h:1/subscribe?wantedCollections=app.bsky.feed.post");
        assert_eq!(
            subscribe_url(base, Some(17)),
            "ws://h:1/subscribe?wantedCollections=app.bsky.feed.post&cursor=17"
        );
        // A user's own parameters stay; a cursor of theirs is replaced.
        assert_eq!(
            subscribe_url("wss://h/subscribe?compress=false&cursor=5", Some(9)),
            "wss://h/subscribe?compress=false&wantedCollections=app.bsky.feed.post&cursor=9"
        );
        assert_eq!(
            subscribe_url("wss://h/subscribe?wantedCollections=app.bsky.feed.post&wantedDids=did:x", None),
            "wss://h/subscribe?wantedCollections=app.bsky.feed.post&wantedDids=did:x"
        );
    }
}
