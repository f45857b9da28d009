//! Bluesky's Jetstream as a source (`stream --jetstream [URL]`): new posts,
//! live, as tweet lines, with no account needed.
//!
//! The source is a WebSocket client of `…/subscribe`, asking only for posts
//! (`wantedCollections=app.bsky.feed.post`). Every event carries `time_us`,
//! and Jetstream replays from any `cursor=<time_us>` it still holds, so a
//! dropped connection loses nothing: the source reconnects with the cursor a
//! few seconds before the newest event it took ([`REWIND_US`], as
//! Jetstream's documentation advises: events of one microsecond may
//! straddle the cut).
//!
//! **Exactly once by identity** ([`taken`]): within a connection every
//! distinct event is taken, whatever its `time_us` (several events may share
//! one, or go back); what a reconnection replays is told apart by what the
//! event is (author, record, operation, revision), not by its time, so the
//! posts that share the newest `time_us` are neither lost nor counted twice.
//!
//! A message over the bound ([`MAX_MESSAGE`], or `--max-line-bytes` if
//! lower) is read and discarded ([`super::websocket`]), counted once as
//! skipped (`oversized`), and the posts after it are read on the same
//! connection. What each event becomes is [`event`]'s.
//!
//! With `--checkpoint`, each chunk carries where the source stands (an
//! [`Origin`] whose offsets are `time_us`, and the count of events taken at
//! the newest one), the checkpoint saves it with the batch, and a restarted
//! engine resumes there: the replayed events before that time are skipped,
//! and of those at it, as many as were taken. A restart, even after
//! `kill -9`, loses and repeats nothing that the server still holds (but an
//! event that came back in time after the last saved batch, rare, is taken
//! as seen).

pub mod event;
pub mod taken;

use super::read::{self, Protocol};
use super::websocket::{self, Message, WebSocket};
use crate::codec::{Origin, PartitionId};
use crate::secret::SecretUrl;
use crate::sources::Context;
use crate::sources::acks::Acknowledge;
use crate::sources::events::Events;
use crate::sources::reconnect::{self, Attempt, Connector, Ended, Policy};
use event::Decoded;
use std::time::Duration;
pub use taken::Resume;
use taken::{Taken, Verdict};

/// Bluesky's public instance (`stream --jetstream` without a URL).
pub const PUBLIC: &str = "wss://jetstream2.us-east.bsky.network/subscribe";

/// How far before the newest event taken a reconnection's cursor starts.
pub const REWIND_US: i64 = 3_000_000;

/// A connection without a message for this long is stalled. (The firehose of
/// posts brings several a second.)
pub const STALL: Duration = Duration::from_secs(30);

/// Messages larger than this are skipped (an event is a few KiB).
pub const MAX_MESSAGE: usize = 16 << 20;

/// Waits from 250 ms doubling to 16 s; a connection that carried events
/// for 10 s starts them over.
const POLICY: Policy = Policy {
    first: Duration::from_millis(250),
    max: Duration::from_secs(16),
    linear: false,
    healthy: Duration::from_secs(10),
    connect_timeout: STALL,
    gaps_lost: false,
};

/// The one "partition" of a Jetstream, as a checkpoint names it: the source
/// is `jetstream URL` (its only topic), its offsets are `time_us`.
pub const PARTITION: PartitionId = PartitionId { topic: 0, partition: 0 };

/// The source's name, and the checkpoint's name for its position (one per
/// URL: another instance's times are not this one's). Secrets masked.
pub fn name(url: &SecretUrl) -> String {
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

/// Reads posts from the Jetstream at `url` until the shutdown,
/// reconnecting (with the cursor) as needed; `after`: where a checkpoint
/// left it (None: from the live edge).
pub async fn run(
    url: SecretUrl,
    after: Option<Resume>,
    stall: Option<Duration>,
    cx: &Context,
) -> anyhow::Result<()> {
    let stall = stall.unwrap_or(STALL);
    let jetstream = Jetstream {
        url,
        stall,
        max_message: MAX_MESSAGE.min(cx.max_line_bytes),
        taken: Taken::new(after),
        chunk_first: None,
    };
    reconnect::run(jetstream, Policy { connect_timeout: stall, ..POLICY }, cx).await
}

/// The source's state across connections.
struct Jetstream {
    url: SecretUrl,
    stall: Duration,
    max_message: usize,
    taken: Taken,
    /// The newest `time_us` when the chunk being gathered began.
    chunk_first: Option<i64>,
}

impl Connector for Jetstream {
    type Connection = WebSocket;

    async fn connect(&mut self, _: &Context) -> Attempt<WebSocket> {
        let cursor = self.taken.newest().map(|t| t - REWIND_US);
        let target = self.url.rewritten(|full| subscribe_url(full, cursor));
        match websocket::connect(&target, self.max_message).await {
            Ok(ws) => Attempt::Connected(ws),
            Err(why) => Attempt::Failed(why),
        }
    }

    fn target(&self) -> String {
        self.url.to_string()
    }

    fn connected(&self) -> String {
        match self.taken.newest() {
            Some(newest) => format!("connected to {}, resuming after event {newest}", self.url),
            None => format!("connected to {}", self.url),
        }
    }

    async fn read(&mut self, mut ws: WebSocket, cx: &Context) -> Ended {
        self.taken.reconnected();
        let stall = self.stall;
        let ended = read::read(&mut ws, self, stall, cx).await;
        Ended { why: format!("{}; reconnecting with the cursor", ended.why), ..ended }
    }
}

impl Protocol for Jetstream {
    type Piece = Message;

    fn take(&mut self, message: Message, out: &mut Vec<u8>, events: &Events) -> Option<String> {
        if self.chunk_first.is_none() {
            self.chunk_first = Some(self.taken.newest().unwrap_or(i64::MIN));
        }
        let text = match message {
            Message::Text(text) => text,
            Message::Binary => return skip(events, "binary"),
            Message::Malformed => return skip(events, "malformed"),
            Message::Oversized => return skip(events, "oversized"),
        };
        let before = out.len();
        let (time_us, id, reason) = match event::decode(text.as_str(), out) {
            Decoded::Post { time_us, id } => (Some(time_us), Some(id), None),
            Decoded::Skipped { time_us, id, reason } => (time_us, id, Some(reason)),
        };
        let seconds = time_us.map(|t| t.div_euclid(1_000_000));
        match (time_us, id) {
            (Some(t), Some(id)) if self.taken.verdict(t, id) == Verdict::Seen => {
                out.truncate(before);
                events.skip("replayed", seconds);
            }
            _ => match reason {
                None => events.post(seconds.unwrap_or_default()),
                Some(reason) => events.skip(reason, seconds),
            },
        }
        None
    }

    fn origin(&mut self) -> Option<Origin> {
        let first = self.chunk_first.take()?;
        let (newest, at_newest) = self.taken.position()?;
        Some(Origin {
            partition: PARTITION,
            epoch: 0,
            first: if first == i64::MIN { newest } else { first + 1 }.min(newest + 1),
            next: newest + 1,
            last: at_newest,
        })
    }
}

fn skip(events: &Events, reason: &'static str) -> Option<String> {
    events.skip(reason, None);
    None
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
