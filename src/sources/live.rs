//! The live feeds (Bluesky's Jetstream, X's filtered stream, Mastodon's
//! streaming API) as one kind of source: what the commands configure
//! (`stream`, `live` and `produce` take the same flags) and what a job
//! starts. Each feed turns a post into the tweet line the engine reads,
//! `{"text": …, "created_at": <ms>}` ([`post_line`]), and counts what it
//! skipped by reason.

use super::http_stream::Token;
use super::mastodon::{Mastodon, Timeline};
use super::x_stream::XStream;
use super::{SourceStatus, http_feed, jetstream, mastodon, x_stream};
use crate::codec::Chunk;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A live feed and where to find it.
#[derive(Clone, Debug, PartialEq)]
pub enum Feed {
    Jetstream { url: String },
    X { url: String, token: Token },
    Mastodon { url: String, timeline: Timeline, token: Option<Token> },
}

impl Feed {
    /// Its name in logs, `/health` and the metrics.
    pub fn name(&self) -> String {
        match self {
            Feed::Jetstream { url } => format!("jetstream {url}"),
            Feed::X { url, .. } => x_stream::name(url),
            Feed::Mastodon { url, timeline, .. } => mastodon::name(url, timeline),
        }
    }

    /// Its kind, as a checkpoint's identity names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Feed::Jetstream { .. } => "jetstream",
            Feed::X { .. } => "x",
            Feed::Mastodon { .. } => "mastodon",
        }
    }

    /// How long it may stay silent before it is taken as stalled: Jetstream
    /// brings several posts a second; X sends a keep-alive about every 20 s
    /// and Mastodon a heartbeat about every 15 s, so three missed ones.
    pub fn default_stall(&self) -> Duration {
        match self {
            Feed::Jetstream { .. } => jetstream::STALL,
            Feed::X { .. } | Feed::Mastodon { .. } => Duration::from_secs(60),
        }
    }

    /// Reads the feed until `shutdown`; `after`: where a checkpoint left a
    /// Jetstream (the others cannot resume). An error is a fault no retry
    /// can fix (a refused token).
    pub async fn run(
        self,
        after: Option<i64>,
        stall: Option<Duration>,
        max_line_bytes: usize,
        tx: mpsc::Sender<Chunk>,
        status: Arc<SourceStatus>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let stall = stall.unwrap_or(self.default_stall());
        match self {
            Feed::Jetstream { url } => {
                jetstream::run(url, after, stall, max_line_bytes, tx, status, shutdown).await;
                Ok(())
            }
            Feed::X { url, token } => {
                http_feed::run(XStream::new(&url, token), stall, max_line_bytes, tx, status, shutdown).await
            }
            Feed::Mastodon { url, timeline, token } => {
                let m = Mastodon::new(&url, &timeline, token, max_line_bytes);
                http_feed::run(m, stall, max_line_bytes, tx, status, shutdown).await
            }
        }
    }
}

/// Starts every feed into one channel (their union), each reconnecting on
/// its own; the task ends when all have, or at the first that fails.
pub fn start_all(
    feeds: Vec<Feed>,
    stall: Option<Duration>,
    max_line_bytes: usize,
    tx: mpsc::Sender<Chunk>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let readers: Vec<_> = feeds
        .into_iter()
        .map(|feed| {
            let run = feed.run(None, stall, max_line_bytes, tx.clone(), Default::default(), shutdown.clone());
            tokio::spawn(run)
        })
        .collect();
    drop(tx);
    tokio::spawn(first_failure(readers, shutdown))
}

/// Waits for every reader; the first error cancels `stop` (so the rest
/// end too) and is returned.
pub async fn first_failure(
    readers: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    let mut readers: futures_util::stream::FuturesUnordered<_> = readers.into_iter().collect();
    while let Some(ended) = readers.next().await {
        let failed = match ended {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(e) => anyhow::anyhow!("a source failed: {e}"),
        };
        stop.cancel();
        return Err(failed);
    }
    Ok(())
}

/// Appends a post's tweet line (with its `\n`): its text, and its creation
/// time in ms since the epoch, or now where the post gave none.
pub fn post_line(out: &mut Vec<u8>, text: &str, created_ms: Option<i64>) {
    let created = created_ms.unwrap_or_else(crate::time::now_millis);
    out.extend_from_slice(b"{\"text\":");
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec");
    out.extend_from_slice(format!(",\"created_at\":{created}}}\n").as_bytes());
}

/// Counts an event a live source skipped, by reason.
pub fn skipped(source: &crate::metrics::Source, reason: &'static str) {
    crate::metrics::metrics()
        .live_skipped
        .get_or_create(&crate::metrics::SourceReason {
            source: source.source.clone(),
            reason: reason.to_owned(),
        })
        .inc();
}
