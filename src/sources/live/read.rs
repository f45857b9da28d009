//! The one read loop of the live feeds: a connection's pieces (WebSocket
//! messages, pieces of an HTTP body) as they arrive, each taken by the
//! feed's [`Protocol`], the posts gathered into chunks for the engine.
//!
//! - A connection silent for the stall time (not even a keep-alive) ends.
//! - What has arrived already goes into the same chunk, up to
//!   [`CHUNK_BYTES`]; a slow feed's posts still go on at once.
//! - The reader waits for the engine (`tx.send`), so a slow engine slows
//!   the reading (back-pressure) and memory stays bounded.

use crate::codec::{CHUNK_BYTES, Chunk, Origin};
use crate::sources::Context;
use crate::sources::events::Events;
use crate::sources::reconnect::Ended;
use futures_util::FutureExt;
use std::future::Future;
use std::time::Duration;

/// What a connection gave next.
pub enum Next<P> {
    Piece(P),
    /// It ended, and why.
    Ended(String),
}

/// A connection's pieces as they arrive.
pub trait Pieces: Send {
    type Piece: Send;
    fn next(&mut self) -> impl Future<Output = Next<Self::Piece>> + Send;
}

/// What a feed makes of the pieces.
pub trait Protocol: Send {
    type Piece;

    /// Takes one piece: each event in it counted once in `events` (a post
    /// or a skip), each post's tweet line appended to `out`. `Some(why)`
    /// ends the connection.
    fn take(&mut self, piece: Self::Piece, out: &mut Vec<u8>, events: &Events) -> Option<String>;

    /// Where the source stands after the lines taken so far, for a
    /// checkpoint (None: the feed cannot resume).
    fn origin(&mut self) -> Option<Origin> {
        None
    }
}

/// Reads `connection` until it ends, stalls, or the shutdown.
pub async fn read<C, P>(connection: &mut C, protocol: &mut P, stall: Duration, cx: &Context) -> Ended
where
    C: Pieces,
    P: Protocol<Piece = C::Piece>,
{
    let before = cx.events.received();
    let ended = |why: String| Ended { why, events: cx.events.received() - before };
    let mut out = Vec::with_capacity(CHUNK_BYTES);
    loop {
        let first = tokio::select! {
            () = cx.shutdown.cancelled() => return ended("shut down".into()),
            next = tokio::time::timeout(stall, connection.next()) => match next {
                Ok(next) => next,
                Err(_) => return ended(format!("nothing, not even a keep-alive, for {stall:?} (stalled)")),
            },
        };
        let mut next = Some(first);
        let mut why = None;
        while let Some(piece) = next.take() {
            why = match piece {
                Next::Piece(piece) => protocol.take(piece, &mut out, &cx.events),
                Next::Ended(why) => Some(why),
            };
            if why.is_some() || out.len() >= CHUNK_BYTES {
                break;
            }
            next = connection.next().now_or_never();
        }
        if !out.is_empty() {
            let data = std::mem::replace(&mut out, Vec::with_capacity(CHUNK_BYTES));
            let chunk = Chunk::from_lines(data.into(), cx.max_line_bytes, protocol.origin());
            if cx.tx.send(chunk).await.is_err() {
                return ended("shut down".into());
            }
        }
        if let Some(why) = why {
            return ended(why);
        }
    }
}
