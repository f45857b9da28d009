//! The TCP client source, like Spark's `socketTextStream`: connects to a server
//! that writes lines (`tweetstream replay --listen`, or `nc -lk`), reconnects
//! with back-off when the server is not up yet or goes away
//! ([`super::reconnect`]), and never exits on its own.

use super::reconnect::{self, Attempt, Connector, Ended, Policy};
use super::{Context, Source};
use crate::buffer::RecycledBuf;
use crate::codec::{CHUNK_BYTES, Chunk, LineCodec};
use futures_util::future::BoxFuture;
use std::io;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

/// A server's lines that come at any pace: a connection that carried lines
/// for 5 s starts the back-off over; waits double from 100 ms to 5 s.
const POLICY: Policy = Policy {
    first: Duration::from_millis(100),
    max: Duration::from_secs(5),
    linear: false,
    healthy: Duration::from_secs(5),
    connect_timeout: Duration::from_secs(30),
    gaps_lost: false,
};

/// The TCP server at `addr` (`--connect`).
pub struct Socket {
    pub addr: String,
}

impl Source for Socket {
    fn name(&self) -> String {
        format!("socket {}", self.addr)
    }

    fn run(self: Box<Self>, cx: Context) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move { reconnect::run(*self, POLICY, &cx).await })
    }
}

impl Connector for Socket {
    type Connection = TcpStream;

    async fn connect(&mut self, _: &Context) -> Attempt<TcpStream> {
        match TcpStream::connect(&self.addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                Attempt::Connected(stream)
            }
            Err(e) => Attempt::Failed(e.to_string()),
        }
    }

    fn target(&self) -> String {
        self.addr.clone()
    }

    async fn read(&mut self, stream: TcpStream, cx: &Context) -> Ended {
        let (lines, unterminated, error) =
            read_connection(stream, cx.max_line_bytes, &cx.tx, &cx.shutdown).await;
        let cut = if unterminated { " (the last one cut off)" } else { "" };
        let why = match error {
            Some(e) => format!("connection to {} failed after {lines} lines{cut}: {e}", self.addr),
            None => format!("connection to {} closed after {lines} lines{cut}", self.addr),
        };
        Ended { why, events: lines }
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
