//! The feeds that stream over one long HTTP response (X's filtered stream,
//! Mastodon's streaming API) as one connector. What differs between them,
//! the request and what a line of the body means, is a [`Provider`]; the
//! rest is here, once:
//!
//! - reconnection ([`crate::sources::reconnect`]) with X's documented
//!   policy (the one Mastodon leaves open): network errors and connections
//!   that bring nothing wait 250 ms more each time up to 16 s; HTTP errors
//!   double from 5 s up to 320 s; a 429 waits until the
//!   `x-rate-limit-reset` the server sent, or doubles from 1 minute
//!   without one;
//! - 401 and 403 end the run with an error that names the token's variable
//!   (retrying cannot fix a token);
//! - neither provider can replay what was sent while disconnected: each
//!   reconnection is counted, and the time spent disconnected is logged and
//!   added to `tweetstream_live_disconnected_seconds_total`, so a gap is
//!   never hidden;
//! - whatever the server sends back (an error body, an error object) is
//!   shown with the token and the URL's secrets cut out.

use super::http_stream::{self, Line, Lines, Response};
use super::read::{self, Next, Pieces, Protocol};
use crate::secret::{Secret, SecretUrl, Secrets};
use crate::sources::Context;
use crate::sources::events::Events;
use crate::sources::reconnect::{self, Attempt, Connector, Ended, Policy};
use bytes::Bytes;
use std::time::Duration;

/// What a line of a feed's body was.
#[derive(Debug, PartialEq)]
pub enum Seen {
    /// Nothing to count: a keep-alive, a heartbeat, part of an event.
    Nothing,
    /// A post: its tweet line was appended to the output.
    Post,
    /// An event that is not a post, and why.
    Skipped(&'static str),
    /// The server explaining itself (an error object): logged, with secrets
    /// cut out, and counted as skipped.
    Said(String),
}

/// One provider's side of the connection.
pub trait Provider: Send + Sync {
    /// The URL to GET.
    fn request(&self) -> &SecretUrl;
    /// The `Accept` header.
    fn accept(&self) -> &'static str;
    /// The bearer token, if any.
    fn token(&self) -> Option<&Secret>;
    /// The environment variable the token is read from (for errors).
    fn token_variable(&self) -> &'static str;
    /// A new connection begins: forget any event cut short.
    fn restart(&mut self);
    /// One line of the body, without its end of line (or a line over the
    /// bound); a post's tweet line is appended to `out`.
    fn line(&mut self, line: Line<'_>, out: &mut Vec<u8>) -> Seen;
}

/// How long a feed may be silent by default: X sends a keep-alive about
/// every 20 s and Mastodon a heartbeat about every 15 s, so three missed ones.
pub const STALL: Duration = Duration::from_secs(60);

const POLICY: Policy = Policy {
    first: Duration::from_millis(250),
    max: Duration::from_secs(16),
    linear: true,
    healthy: Duration::from_secs(10),
    connect_timeout: STALL,
    gaps_lost: true,
};

/// Reads the feed until the shutdown; an error is a fault no retry can fix
/// (a refused token).
pub async fn run(provider: impl Provider, stall: Option<Duration>, cx: &Context) -> anyhow::Result<()> {
    let stall = stall.unwrap_or(STALL);
    let secrets = Secrets::new(provider.request().secrets().iter().chain(provider.token()).cloned());
    let feed = HttpFeed { lines: Lines::new(cx.max_line_bytes), provider, secrets, stall };
    reconnect::run(feed, Policy { connect_timeout: stall, ..POLICY }, cx).await
}

struct HttpFeed<P> {
    provider: P,
    lines: Lines,
    secrets: Secrets,
    stall: Duration,
}

impl<P: Provider> Connector for HttpFeed<P> {
    type Connection = Response;

    async fn connect(&mut self, _: &Context) -> Attempt<Response> {
        let p = &self.provider;
        let response = match http_stream::get(p.request(), p.accept(), p.token()).await {
            Ok(r) => r,
            Err(why) => return Attempt::Failed(self.secrets.hide(&why)),
        };
        match response.status {
            200 => Attempt::Connected(response),
            401 | 403 => {
                let (variable, status) = (p.token_variable(), response.status);
                let why = self.secrets.hide(response.text(300, Duration::from_secs(2)).await.trim());
                Attempt::Fatal(anyhow::anyhow!(match p.token() {
                    Some(_) => format!(
                        "{}: the server refused the token in {variable} ({status} {why}); check the token \
                         and its access",
                        p.request()
                    ),
                    None => format!(
                        "{}: the server needs a token ({status} {why}); put one in {variable}",
                        p.request()
                    ),
                }))
            }
            429 => {
                let now = (crate::time::now_millis() / 1000).max(0) as u64;
                Attempt::Later(match response.rate_limit_reset {
                    Some(reset) if reset > now => Some(Duration::from_secs(reset - now + 1)),
                    _ => None,
                })
            }
            status => {
                let why = self.secrets.hide(response.text(300, Duration::from_secs(2)).await.trim());
                Attempt::Refused(format!("the server answered {status} ({why})"))
            }
        }
    }

    fn target(&self) -> String {
        self.provider.request().to_string()
    }

    async fn read(&mut self, mut response: Response, cx: &Context) -> Ended {
        self.provider.restart();
        self.lines = Lines::new(cx.max_line_bytes);
        let stall = self.stall;
        read::read(&mut response, self, stall, cx).await
    }
}

impl Pieces for Response {
    type Piece = Bytes;

    async fn next(&mut self) -> Next<Bytes> {
        match Response::next(self).await {
            Some(Ok(bytes)) => Next::Piece(bytes),
            Some(Err(e)) => Next::Ended(format!("the connection failed: {e}")),
            None => Next::Ended("the server ended the response".into()),
        }
    }
}

impl<P: Provider> Protocol for HttpFeed<P> {
    type Piece = Bytes;

    fn take(&mut self, bytes: Bytes, out: &mut Vec<u8>, events: &Events) -> Option<String> {
        let (provider, secrets) = (&mut self.provider, &self.secrets);
        self.lines.feed(&bytes, |line| match provider.line(line, out) {
            Seen::Nothing => {}
            Seen::Post => events.post(crate::time::now_millis() / 1000),
            Seen::Skipped(reason) => events.skip(reason, Some(crate::time::now_millis() / 1000)),
            Seen::Said(why) => {
                tracing::warn!(said = %secrets.hide(&why), "the stream says: {}", secrets.hide(&why));
                events.skip("error object", Some(crate::time::now_millis() / 1000));
            }
        });
        None
    }
}
