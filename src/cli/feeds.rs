//! The live feeds' flags, one set shared by `stream`, `live` and `produce`
//! (`--jetstream`, `--x-stream`, `--mastodon`), and the feeds they name.
//! Tokens come from the environment only, never from a flag: a flag shows
//! in `ps` and in shell history.

use crate::secret::{Secret, SecretUrl};
use crate::sources::live::mastodon::{self, Timeline};
use crate::sources::live::{Feed, jetstream, x_stream};
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct FeedArgs {
    /// Bluesky's Jetstream: new posts, live, no account needed. Without a
    /// value: the public instance (wss://jetstream2.us-east.bsky.network/subscribe).
    /// Reconnects with a cursor, so a dropped connection loses and repeats
    /// nothing.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = jetstream::PUBLIC, value_parser = super::values::websocket_url)]
    pub jetstream: Option<SecretUrl>,

    /// X's API v2 filtered stream (paid access): the posts matching the
    /// rules set on your app. The app's bearer token is read from
    /// $X_BEARER_TOKEN. Without a value: https://api.x.com.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = x_stream::PUBLIC, value_parser = http_url)]
    pub x_stream: Option<SecretUrl>,

    /// Mastodon's streaming API of the instance at this URL (such as
    /// https://mastodon.social). A token is sent from $MASTODON_TOKEN when
    /// set (some instances require one).
    #[arg(long, value_name = "URL", value_parser = http_url)]
    pub mastodon: Option<SecretUrl>,

    /// With --mastodon: the timeline to follow: public, local (the
    /// instance's own posts) or hashtag:NAME.
    #[arg(long, value_name = "TIMELINE", default_value = "public", requires = "mastodon")]
    pub mastodon_stream: Timeline,

    /// A live feed silent this long (no post, keep-alive or heartbeat) is
    /// taken as stalled and reconnected. Default: 30s for Jetstream, 60s
    /// for X and Mastodon (three missed keep-alives).
    #[arg(long, value_name = "DURATION", value_parser = super::values::duration)]
    pub silence_timeout: Option<Duration>,
}

impl FeedArgs {
    /// The feeds named, with their tokens from the environment; an X feed
    /// without a token is an error here, before anything starts.
    pub fn feeds(&self) -> anyhow::Result<Vec<Feed>> {
        let mut feeds = Vec::new();
        if let Some(url) = &self.jetstream {
            feeds.push(Feed::Jetstream { url: url.clone(), after: None });
        }
        if let Some(url) = &self.x_stream {
            let Some(token) = Secret::from_env(x_stream::TOKEN_VARIABLE) else {
                anyhow::bail!(
                    "--x-stream needs your app's bearer token in {}: export {}=…",
                    x_stream::TOKEN_VARIABLE,
                    x_stream::TOKEN_VARIABLE
                );
            };
            feeds.push(Feed::X { url: url.clone(), token });
        }
        if let Some(url) = &self.mastodon {
            let token = Secret::from_env(mastodon::TOKEN_VARIABLE);
            feeds.push(Feed::Mastodon { url: url.clone(), timeline: self.mastodon_stream.clone(), token });
        }
        Ok(feeds)
    }
}

/// An `http://` or `https://` URL with a host (credentials in it allowed,
/// and never shown: an error shows the URL masked).
fn http_url(s: &str) -> Result<SecretUrl, String> {
    let url = SecretUrl::new(s.trim_end_matches('/'));
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(r)
            if !r.is_empty() && !r.starts_with('/') && url.request_target().parse::<hyper::Uri>().is_ok() =>
        {
            Ok(url)
        }
        _ => Err(format!("\"{url}\" is not an HTTP URL (http://HOST[:PORT] or https://…)")),
    }
}
