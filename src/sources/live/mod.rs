//! The live feeds (Bluesky's Jetstream, X's filtered stream, Mastodon's
//! streaming API) as one kind of source: what the commands configure
//! (`stream`, `live` and `produce` take the same flags) and what a job
//! starts. Each feed turns a post into the tweet line the engine reads
//! ([`post::line`]); the connection loop is [`crate::sources::reconnect`]'s,
//! the read loop [`read`]'s.
//!
//! Layout: `post.rs` and `read.rs` are the leaves every feed uses;
//! `websocket.rs` (Jetstream's transport) and `http_stream.rs` (X's and
//! Mastodon's) under them; `http_feed.rs` the connector of the two HTTP
//! feeds; one module per provider. Nothing here imports this file.

pub mod http_feed;
pub mod http_stream;
pub mod jetstream;
pub mod mastodon;
pub mod post;
pub mod read;
pub mod websocket;
pub mod x_stream;

use super::{Context, Source, SourceStatus};
use crate::codec::Chunk;
use crate::secret::{Secret, SecretUrl};
use futures_util::future::BoxFuture;
use mastodon::{Mastodon, Timeline};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use x_stream::XStream;

/// A live feed and where to find it.
#[derive(Clone, Debug)]
pub enum Feed {
    /// `after`: the `time_us` (and the events of that time taken) where a
    /// checkpoint left it.
    Jetstream {
        url: SecretUrl,
        after: Option<jetstream::Resume>,
    },
    X {
        url: SecretUrl,
        token: Secret,
    },
    Mastodon {
        url: SecretUrl,
        timeline: Timeline,
        token: Option<Secret>,
    },
}

impl Feed {
    /// Its name (see [`crate::sources::Context::name`]).
    pub fn name(&self) -> String {
        match self {
            Feed::Jetstream { url, .. } => jetstream::name(url),
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
}

/// The live feeds' settings shared by all of them.
#[derive(Clone, Copy, Debug)]
pub struct FeedSettings {
    /// How long a feed may be silent (None: each feed's default).
    pub stall: Option<Duration>,
}

/// A feed with the settings it runs with.
pub struct LiveFeed {
    pub feed: Feed,
    pub settings: FeedSettings,
}

impl Source for LiveFeed {
    fn name(&self) -> String {
        self.feed.name()
    }

    fn run(self: Box<Self>, cx: Context) -> BoxFuture<'static, anyhow::Result<()>> {
        let stall = self.settings.stall;
        Box::pin(async move {
            match self.feed {
                Feed::Jetstream { url, after } => jetstream::run(url, after, stall, &cx).await,
                Feed::X { url, token } => http_feed::run(XStream::new(&url, token), stall, &cx).await,
                Feed::Mastodon { url, timeline, token } => {
                    let m = Mastodon::new(&url, &timeline, token, cx.max_line_bytes);
                    http_feed::run(m, stall, &cx).await
                }
            }
        })
    }
}

/// Starts every feed into one channel (their union), each reconnecting on
/// its own (`live` and `produce`); the task ends when all have, or at the
/// first that fails.
pub fn start_all(
    feeds: Vec<Feed>,
    settings: FeedSettings,
    max_line_bytes: usize,
    tx: mpsc::Sender<Chunk>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let sources = feeds
        .into_iter()
        .map(|feed| {
            let source: Box<dyn Source> = Box::new(LiveFeed { feed, settings });
            (source, std::sync::Arc::new(SourceStatus::default()))
        })
        .collect();
    super::spawn_all(sources, tx, &shutdown, shutdown.clone(), max_line_bytes)
}
