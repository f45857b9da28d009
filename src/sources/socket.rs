//! The TCP client source, like Spark's `socketTextStream`: connects to a server
//! that writes lines (`tweetstream replay --listen`, or `nc -lk`), reconnects
//! with backoff when the server is not up yet or goes away, and never exits on
//! its own.

use crate::codec::{Chunk, LineCodec};
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Whether the source is connected right now (for `/health`).
#[derive(Debug, Default)]
pub struct SourceStatus {
    pub connected: AtomicBool,
}

/// Reads lines from `addr` until `shutdown`, reconnecting as needed.
pub async fn run(
    addr: String,
    max_line_bytes: usize,
    tx: mpsc::Sender<Chunk>,
    status: Arc<SourceStatus>,
    shutdown: CancellationToken,
) {
    let mut backoff = FIRST_BACKOFF;
    let mut failures = 0u32;
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => return,
            r = TcpStream::connect(&addr) => r,
        };
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                failures += 1;
                if failures == 1 {
                    tracing::warn!(
                        "cannot connect to {addr}: {e}; retrying with backoff (up to {MAX_BACKOFF:?})"
                    );
                } else {
                    tracing::debug!("still cannot connect to {addr}: {e}; next try in {backoff:?}");
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        failures = 0;
        backoff = FIRST_BACKOFF;
        let _ = stream.set_nodelay(true);
        tracing::info!("connected to {addr}");
        status.connected.store(true, Ordering::Relaxed);
        let (lines, unterminated, error) = read_connection(stream, max_line_bytes, &tx, &shutdown).await;
        status.connected.store(false, Ordering::Relaxed);
        if shutdown.is_cancelled() || tx.is_closed() {
            return;
        }
        let cut = if unterminated { " (the last one cut off)" } else { "" };
        match error {
            Some(e) => {
                tracing::warn!("connection to {addr} failed after {lines} lines{cut}: {e}; reconnecting")
            }
            None => tracing::info!("connection to {addr} closed after {lines} lines{cut}; reconnecting"),
        }
    }
}

/// Forwards one connection's chunks; returns (lines, last line cut off, error).
async fn read_connection(
    stream: TcpStream,
    max_line_bytes: usize,
    tx: &mpsc::Sender<Chunk>,
    shutdown: &CancellationToken,
) -> (u64, bool, Option<std::io::Error>) {
    let mut frames = FramedRead::with_capacity(stream, LineCodec::new(max_line_bytes), 256 * 1024);
    let (mut lines, mut unterminated) = (0u64, false);
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => return (lines, unterminated, None),
            n = frames.next() => n,
        };
        match next {
            None => return (lines, unterminated, None),
            Some(Err(e)) => return (lines, unterminated, Some(e)),
            Some(Ok(chunk)) => {
                lines += chunk.line_count() as u64;
                unterminated |= chunk.unterminated;
                if tx.send(chunk).await.is_err() {
                    return (lines, unterminated, None);
                }
            }
        }
    }
}
