//! The reconnecting reader behind the feeds that stream over one long HTTP
//! response (X's filtered stream, Mastodon's streaming API). What differs
//! between them, the request and what a line of the body means, is a
//! [`Protocol`]; the rest is here, once:
//!
//! - reconnection with X's documented policy (the one Mastodon leaves
//!   open): network errors wait 250 ms more each time up to 16 s; HTTP errors
//!   double from 5 s up to 320 s; a 429 waits until the `x-rate-limit-reset`
//!   the server sent, or doubles from 1 minute without one;
//! - 401 and 403 end the run with an error that names the token's variable
//!   (retrying cannot fix a token);
//! - a connection silent (not even a keep-alive) for the stall time is
//!   reconnected;
//! - neither provider can replay what was sent while disconnected: each
//!   reconnection is counted, and the time spent disconnected is logged and
//!   added to `tweetstream_live_disconnected_seconds_total`, so a gap is
//!   never hidden;
//! - the reader waits for the engine (`tx.send`), so a slow engine slows
//!   the reading (back-pressure) and memory stays bounded: one chunk and one
//!   line of at most `max_line_bytes`.

use super::SourceStatus;
use super::http_stream::{self, Line, Lines, Token};
use crate::codec::{CHUNK_BYTES, Chunk};
use crate::retry::Backoff;
use futures_util::FutureExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What a line of a feed's body was.
#[derive(Debug, PartialEq)]
pub enum Seen {
    /// Nothing to count: a keep-alive, a heartbeat, part of an event.
    Nothing,
    /// A post: its tweet line was appended to the output.
    Post,
    /// An event that is not a post, and why.
    Skipped(&'static str),
}

/// One provider's side of the connection.
pub trait Protocol: Send {
    /// The source's name in logs, `/health` and the metrics.
    fn name(&self) -> &str;
    /// The URL to GET.
    fn request(&self) -> &str;
    /// The `Accept` header.
    fn accept(&self) -> &'static str;
    /// The bearer token, if any.
    fn token(&self) -> Option<&Token>;
    /// The environment variable the token is read from (for errors).
    fn token_variable(&self) -> &'static str;
    /// A new connection begins: forget any event cut short.
    fn restart(&mut self);
    /// One line of the body, without its end of line; a post's tweet line
    /// is appended to `out`.
    fn line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Seen;
}

/// Reads the feed until `shutdown`; an error is a fault no retry can fix
/// (a refused token).
pub async fn run(
    mut protocol: impl Protocol,
    stall: Duration,
    max_line_bytes: usize,
    tx: mpsc::Sender<Chunk>,
    status: Arc<SourceStatus>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let m = crate::metrics::metrics();
    let source = crate::metrics::Source { source: protocol.name().to_owned() };
    let mut network = Backoff::linear(Duration::from_millis(250), Duration::from_secs(16));
    let mut http = Backoff::new(Duration::from_secs(5), Duration::from_secs(320));
    let mut rate = Backoff::new(Duration::from_secs(60), Duration::from_secs(15 * 60));
    // Since when the feed has been disconnected (None: never connected yet).
    let mut down_since: Option<Instant> = None;
    let mut failures = 0u32;
    loop {
        let connecting = http_stream::get(protocol.request(), protocol.accept(), protocol.token());
        let answer = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            a = tokio::time::timeout(stall, connecting) => a.unwrap_or_else(|_| Err("no answer".to_owned())),
        };
        let wait = match answer {
            Err(why) => {
                failures += 1;
                report(protocol.name(), failures, &why, &network);
                network.next_delay()
            }
            Ok(response) if response.status == 200 => {
                failures = 0;
                network.reset();
                http.reset();
                rate.reset();
                if let Some(since) = down_since.take() {
                    let gap = since.elapsed().as_secs_f64();
                    m.live_disconnected.get_or_create(&source).inc_by(gap);
                    tracing::warn!(
                        "{}: connected again after {gap:.1} s; this feed cannot replay, so its posts of that time are lost",
                        protocol.name()
                    );
                } else {
                    tracing::info!("{}: connected", protocol.name());
                }
                status.connected.store(true, Ordering::Relaxed);
                protocol.restart();
                let ended =
                    read(&mut protocol, response, stall, max_line_bytes, &tx, &source, &shutdown).await;
                status.connected.store(false, Ordering::Relaxed);
                if shutdown.is_cancelled() || tx.is_closed() {
                    return Ok(());
                }
                down_since = Some(Instant::now());
                m.live_reconnects.get_or_create(&source).inc();
                tracing::warn!("{}: {ended}; reconnecting", protocol.name());
                network.next_delay()
            }
            Ok(response) if matches!(response.status, 401 | 403) => {
                let variable = protocol.token_variable();
                let status = response.status;
                let why = response.text(300, Duration::from_secs(2)).await;
                let why = hide(why.trim(), protocol.token());
                anyhow::bail!(match protocol.token() {
                    Some(_) => format!(
                        "{}: the server refused the token in {variable} ({} {why}); check the token and its access",
                        protocol.name(),
                        status,
                    ),
                    None => format!(
                        "{}: the server needs a token ({} {why}); put one in {variable}",
                        protocol.name(),
                        status,
                    ),
                });
            }
            Ok(response) if response.status == 429 => {
                let now = (crate::time::now_millis() / 1000).max(0) as u64;
                let wait = match response.rate_limit_reset {
                    // At most the longest wait of the policy, whatever the server says.
                    Some(reset) if reset > now => Duration::from_secs(reset - now + 1).min(rate.max()),
                    _ => rate.next_delay(),
                };
                tracing::warn!(
                    "{}: too many connections (429); waiting {wait:?} as the server asks",
                    protocol.name()
                );
                wait
            }
            Ok(response) => {
                let status = response.status;
                let why = response.text(300, Duration::from_secs(2)).await;
                let wait = http.next_delay();
                tracing::warn!(
                    "{}: the server answered {status} ({}); retrying in {wait:?}",
                    protocol.name(),
                    hide(why.trim(), protocol.token())
                );
                wait
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// A server's text with the token, were it echoed, cut out.
fn hide(text: &str, token: Option<&Token>) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    match token {
        Some(t) => t.hide_in(&text),
        None => text,
    }
}

fn report(name: &str, failures: u32, why: &str, backoff: &Backoff) {
    if failures == 1 {
        tracing::warn!("{name}: cannot connect: {why}; retrying with backoff (up to {:?})", backoff.max());
    } else {
        tracing::debug!("{name}: still cannot connect: {why}");
    }
}

/// Forwards one response's posts; returns why it ended.
async fn read(
    protocol: &mut impl Protocol,
    mut response: http_stream::Response,
    stall: Duration,
    max_line_bytes: usize,
    tx: &mpsc::Sender<Chunk>,
    source: &crate::metrics::Source,
    shutdown: &CancellationToken,
) -> String {
    let m = crate::metrics::metrics();
    let mut lines = Lines::new(max_line_bytes);
    let mut out = Vec::with_capacity(CHUNK_BYTES);
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => return "shut down".into(),
            next = tokio::time::timeout(stall, response.next()) => match next {
                Ok(next) => next,
                Err(_) => return format!("nothing, not even a keep-alive, for {stall:?} (stalled)"),
            },
        };
        // What has arrived already goes into the same chunk.
        let mut next = Some(first);
        let mut ended = None;
        while let Some(piece) = next.take() {
            match piece {
                None => ended = Some("the server ended the response".to_owned()),
                Some(Err(e)) => ended = Some(format!("the connection failed: {e}")),
                Some(Ok(bytes)) => lines.feed(&bytes, |line| {
                    let seen = match line {
                        Line::Text(text) => protocol.line(text, &mut out),
                        Line::TooLong => Seen::Skipped("oversized"),
                    };
                    match seen {
                        Seen::Nothing => {}
                        Seen::Post => {
                            m.live_events.get_or_create(source).inc();
                            m.live_posts.get_or_create(source).inc();
                            m.live_last_event.get_or_create(source).set(crate::time::now_millis() / 1000);
                        }
                        Seen::Skipped(reason) => {
                            m.live_events.get_or_create(source).inc();
                            m.live_last_event.get_or_create(source).set(crate::time::now_millis() / 1000);
                            super::live::skipped(source, reason);
                        }
                    }
                }),
            }
            if ended.is_some() || out.len() >= CHUNK_BYTES {
                break;
            }
            next = response.next().now_or_never();
        }
        if !out.is_empty() {
            let chunk = Chunk::from_lines(std::mem::take(&mut out).into(), max_line_bytes, None);
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
