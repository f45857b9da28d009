//! The TCP client source, like Spark's `socketTextStream`: connects to a server
//! that writes lines (`tweetstream replay --listen`, or `nc -lk`), reconnects
//! with backoff when the server is not up yet or goes away, and never exits on
//! its own.

use super::SourceStatus;
use crate::buffer::RecycledBuf;
use crate::codec::{CHUNK_BYTES, Chunk, LineCodec};
use crate::retry::Backoff;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Reads lines from `addr` until `shutdown`, reconnecting as needed.
pub async fn run(
    addr: String,
    max_line_bytes: usize,
    tx: mpsc::Sender<Chunk>,
    status: Arc<SourceStatus>,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
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
                    tracing::debug!("still cannot connect to {addr}: {e}; trying again");
                }
                if !backoff.wait(shutdown.cancelled()).await {
                    return;
                }
                continue;
            }
        };
        failures = 0;
        backoff.reset();
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
/// A fast sender's bytes are gathered into chunks of up to [`CHUNK_BYTES`]; a
/// slow sender's lines still go on at once.
async fn read_connection(
    mut stream: TcpStream,
    max_line_bytes: usize,
    tx: &mpsc::Sender<Chunk>,
    shutdown: &CancellationToken,
) -> (u64, bool, Option<io::Error>) {
    let mut codec = LineCodec::new(max_line_bytes);
    let mut buffer = RecycledBuf::new();
    let (mut lines, mut unterminated) = (0u64, false);
    // Room for the next read: up to a chunk, and more for a line still growing.
    let room = |buffer: &mut RecycledBuf| {
        buffer.reserve(CHUNK_BYTES.saturating_sub(buffer.len()).max(64 * 1024));
    };
    loop {
        room(&mut buffer);
        let read = tokio::select! {
            () = shutdown.cancelled() => return (lines, unterminated, None),
            r = stream.read_buf(buffer.get_mut()) => r,
        };
        // A connection that fails (a reset) ends like one that closes: what
        // arrived is passed on, and a line it cut off is counted as bad.
        let mut failed = None;
        let mut eof = match read {
            Ok(n) => n == 0,
            Err(e) => {
                failed = Some(e);
                true
            }
        };
        // Take in what else has arrived already, up to a chunk.
        while !eof && buffer.len() < CHUNK_BYTES {
            room(&mut buffer);
            match stream.try_read_buf(buffer.get_mut()) {
                Ok(n) => eof = n == 0,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    failed = Some(e);
                    eof = true;
                }
            }
        }
        let buf = buffer.get_mut();
        loop {
            let next = if eof { codec.decode_eof(buf) } else { codec.decode(buf) };
            let chunk = match next {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => return (lines, unterminated, Some(e)),
            };
            lines += chunk.line_count() as u64;
            unterminated |= chunk.unterminated;
            if tx.send(chunk).await.is_err() {
                return (lines, unterminated, None);
            }
        }
        if eof {
            return (lines, unterminated, failed);
        }
    }
}
