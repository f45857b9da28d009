//! One PostgreSQL client connection, held to the listener limits
//! ([`crate::serve::listener`]).
//!
//! pgwire's own connection loop would buffer a message of any announced length
//! (up to 1 GiB) and waits 60 s for a startup message, so this module runs the
//! loop itself around pgwire's codec and message processing:
//! - a [`Guarded`] stream follows the message framing as bytes arrive, and
//!   fails the read as soon as a message's header announces more than
//!   `max_request_bytes`: the body is never buffered. The client then gets a
//!   FATAL ErrorResponse (SQLSTATE 54000) and the connection is closed;
//! - the TLS negotiation (with `--tls-cert`, a TLS handshake; else answered
//!   "no TLS") and the startup message must arrive within the header timeout;
//!   with TLS, a client that starts in plain text is refused (28000), as
//!   PostgreSQL's `hostssl` does; only a CancelRequest (which libpq before 17
//!   always sends in plain text) is taken;
//! - between messages, a connection idle for the idle timeout gets a FATAL
//!   ErrorResponse (57P05, as PostgreSQL's idle_session_timeout) and is closed;
//! - at shutdown, a connection waiting for its next message is closed.

use super::Backend;
use crate::serve::listener::Limits;
use futures_util::{SinkExt, StreamExt};
use pgwire::api::{ClientInfo, NoopHandler, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::server::{
    MaybeTls, PgWireMessageServerCodec, negotiate_tls, process_error, process_message,
};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until};
use tokio_util::codec::{Framed, FramedParts};
use tokio_util::sync::CancellationToken;

/// Serves one client until it leaves, breaks a limit, or `shutdown`; with
/// `tls`, over TLS only.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    backend: Arc<Backend>,
    cancels: Arc<super::cancel::Cancels>,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
) {
    let startup_deadline = Instant::now() + limits.header_timeout;
    let tls_required = tls.is_some();
    let Some((mut socket, announced, plain)) = negotiate(stream, peer, limits, tls, startup_deadline).await
    else {
        return;
    };
    let mut refuse_plain = tls_required && plain;
    let copy = Arc::new(NoopHandler);
    let startup = backend.startup();
    loop {
        let Some(message) =
            next_message(&mut socket, peer, limits, startup_deadline, &announced, &shutdown).await
        else {
            return;
        };
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            return;
        }
        if std::mem::take(&mut refuse_plain) && !matches!(message, PgWireFrontendMessage::CancelRequest(_)) {
            tracing::debug!("pg: {peer} started without TLS; refused");
            let why = "this server takes TLS connections only (it was started with --tls-cert): connect with \
                       sslmode=require (or verify-full with the server's CA as sslrootcert)";
            fatal(&mut socket, "28000", why.to_owned()).await;
            return;
        }
        let extended_query = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        let cancel_request = matches!(message, PgWireFrontendMessage::CancelRequest(_));
        let processed = process_message(
            message,
            &mut socket,
            startup.clone(),
            backend.clone(),
            backend.clone(),
            copy.clone(),
            cancels.clone(),
        )
        .await;
        if let Err(e) = processed {
            backend.failed();
            let fatal = e.is_fatal();
            if process_error(&mut socket, e, extended_query).await.is_err() || fatal {
                return;
            }
        }
        if cancel_request {
            return;
        }
    }
}

/// Answers the TLS negotiation by `deadline` (a handshake with `tls`, else
/// "no TLS"), and puts the connection behind a [`Guarded`] stream; returns it
/// with the guard's record of an announced length over the limit, and
/// whether it is in plain text. `None`: the client is gone, slow, failed the
/// handshake, or is over the limit already (it was told).
async fn negotiate(
    stream: TcpStream,
    peer: SocketAddr,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    deadline: Instant,
) -> Option<(Socket, Arc<AtomicU64>, bool)> {
    let negotiated = tokio::select! {
        n = negotiate_tls::<super::Prepared>(stream, tls) => n,
        () = sleep_until(deadline) => {
            tracing::debug!("pg: {peer} sent no startup message within {:?}; closed", limits.header_timeout);
            return None;
        }
    };
    let negotiated = match negotiated {
        Ok(Some(negotiated)) => negotiated,
        Ok(None) => return None,
        Err(e) => {
            tracing::debug!("pg: {peer}: TLS negotiation failed: {e}");
            return None;
        }
    };
    // Bytes already read while negotiating go through the guard first.
    let parts = negotiated.into_parts();
    let plain = matches!(parts.io, MaybeTls::Plain(_));
    let announced = Arc::new(AtomicU64::new(0));
    let mut guard = FrameGuard::new(limits.max_request_bytes);
    let early = guard.feed(&parts.read_buf);
    let io = Guarded { inner: parts.io, guard, announced: announced.clone() };
    let mut guarded = FramedParts::new(io, parts.codec);
    guarded.read_buf = parts.read_buf;
    guarded.write_buf = parts.write_buf;
    let mut socket = Framed::from_parts(guarded);
    if let Err(len) = early {
        too_large(&mut socket, peer, len, limits).await;
        return None;
    }
    Some((socket, announced, plain))
}

/// The client's next message, within the startup deadline while it starts and
/// the idle timeout after. `None`: the connection ends (the client left, timed
/// out, broke the size limit, or the engine shuts down; the client was told).
async fn next_message(
    socket: &mut Socket,
    peer: SocketAddr,
    limits: Limits,
    startup_deadline: Instant,
    announced: &AtomicU64,
    shutdown: &CancellationToken,
) -> Option<PgWireFrontendMessage> {
    let starting = matches!(
        socket.state(),
        PgWireConnectionState::AwaitingStartup | PgWireConnectionState::AuthenticationInProgress
    );
    let wait_until = if starting { startup_deadline } else { Instant::now() + limits.idle_timeout };
    let message = tokio::select! {
        m = socket.next() => m,
        () = sleep_until(wait_until) => {
            if !starting {
                let why = format!("terminating connection due to idle-session timeout ({:?})", limits.idle_timeout);
                fatal(socket, "57P05", why).await;
            }
            tracing::debug!("pg: {peer} timed out (starting: {starting}); closed");
            return None;
        }
        () = shutdown.cancelled() => {
            fatal(socket, "57P01", "terminating connection: the engine is shutting down".to_owned()).await;
            return None;
        }
    };
    match message {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            match announced.load(Ordering::Relaxed) {
                0 => tracing::debug!("pg: connection from {peer} ended: {e}"),
                len => too_large(socket, peer, len, limits).await,
            }
            None
        }
    }
}

type Socket = Framed<Guarded<MaybeTls>, PgWireMessageServerCodec<super::Prepared>>;

async fn too_large(socket: &mut Socket, peer: SocketAddr, len: u64, limits: Limits) {
    tracing::warn!(
        "pg: {peer} sent a message of {len} bytes, over the limit of {} (--max-request-bytes); closed",
        limits.max_request_bytes
    );
    let why = format!(
        "a message of {len} bytes is over the limit of {} bytes (--max-request-bytes)",
        limits.max_request_bytes
    );
    fatal(socket, "54000", why).await;
}

/// Sends a FATAL ErrorResponse (at most a second's wait); the caller closes.
async fn fatal(socket: &mut Socket, code: &str, message: String) {
    let error = ErrorInfo::new("FATAL".to_owned(), code.to_owned(), message);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        socket.send(PgWireBackendMessage::ErrorResponse(error.into())).await?;
        Ok::<_, PgWireError>(())
    })
    .await;
}

/// A FATAL ErrorResponse as bytes, for a connection refused before pgwire
/// takes it (too many connections).
pub fn fatal_bytes(code: &str, message: &str) -> Vec<u8> {
    let mut fields = Vec::new();
    for (tag, value) in [(b'S', "FATAL"), (b'V', "FATAL"), (b'C', code), (b'M', message)] {
        fields.push(tag);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(&fields);
    out
}

/// Follows the frontend's message framing over a byte stream: first the
/// untyped startup message (a 4-byte length that counts itself), then typed
/// messages (a type byte, then such a length). pgwire has already consumed an
/// SSL request, the only message an untyped one may follow.
#[derive(Debug)]
struct FrameGuard {
    max: usize,
    state: Frame,
}

#[derive(Debug)]
enum Frame {
    /// `have` bytes of a header seen (typed: 5 bytes, else 4).
    Header { typed: bool, have: usize, bytes: [u8; 5] },
    /// `left` bytes of the current body still to come.
    Body { left: u64 },
}

const NEXT_TYPED: Frame = Frame::Header { typed: true, have: 0, bytes: [0; 5] };

impl FrameGuard {
    fn new(max: usize) -> Self {
        FrameGuard { max, state: Frame::Header { typed: false, have: 0, bytes: [0; 5] } }
    }

    /// Follows `data`; fails with the size of a message (type byte included)
    /// whose header announces more than the limit.
    fn feed(&mut self, mut data: &[u8]) -> Result<(), u64> {
        while !data.is_empty() {
            match &mut self.state {
                Frame::Header { typed, have, bytes } => {
                    let need = if *typed { 5 } else { 4 };
                    let take = (need - *have).min(data.len());
                    bytes[*have..*have + take].copy_from_slice(&data[..take]);
                    *have += take;
                    data = &data[take..];
                    if *have == need {
                        let len =
                            u32::from_be_bytes(bytes[need - 4..need].try_into().expect("4 bytes")) as u64;
                        let size = len + need as u64 - 4;
                        if size > self.max as u64 {
                            return Err(size);
                        }
                        // The length counts itself.
                        self.state = match len.saturating_sub(4) {
                            0 => NEXT_TYPED,
                            left => Frame::Body { left },
                        };
                    }
                }
                Frame::Body { left } => {
                    let take = (*left).min(data.len() as u64);
                    *left -= take;
                    data = &data[take as usize..];
                    if *left == 0 {
                        self.state = NEXT_TYPED;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A stream whose reads fail once the client announces a message over the
/// limit; the announced length is left in `announced`.
pub struct Guarded<S> {
    inner: S,
    guard: FrameGuard,
    announced: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.announced.load(Ordering::Relaxed) != 0 {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, "message over the limit")));
        }
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if let Err(len) = this.guard.feed(&buf.filled()[before..]) {
            this.announced.store(len, Ordering::Relaxed);
            buf.set_filled(before);
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, "message over the limit")));
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn the_guard_follows_messages_split_anywhere_and_stops_the_first_too_large() {
        let mut startup = (8u32 + 4).to_be_bytes().to_vec();
        startup.extend_from_slice(&[0, 3, 0, 0, b'u', 0, b'x', 0]);
        let mut stream = startup.clone();
        stream.extend(typed(b'Q', b"select 1\0"));
        stream.extend(typed(b'Q', &[b'x'; 90]));
        // Every split into two reads gives the same verdicts.
        for cut in 0..stream.len() {
            let mut g = FrameGuard::new(100);
            assert_eq!(g.feed(&stream[..cut]).and_then(|()| g.feed(&stream[cut..])), Ok(()), "cut {cut}");
        }
        let mut big = stream.clone();
        big.extend(typed(b'Q', &[b'x'; 200]));
        for cut in 0..big.len() {
            let mut g = FrameGuard::new(100);
            let verdict = g.feed(&big[..cut]).and_then(|()| g.feed(&big[cut..]));
            assert_eq!(verdict, Err(205), "cut {cut}");
        }
        // A header alone is enough to refuse: nothing of the body is needed.
        let mut g = FrameGuard::new(1 << 20);
        let mut header = vec![b'Q'];
        header.extend_from_slice(&(300u32 << 20).to_be_bytes());
        assert_eq!(g.feed(&startup), Ok(()));
        assert_eq!(g.feed(&header), Err((300 << 20) + 1));
        // So is an oversized startup message.
        assert_eq!(FrameGuard::new(100).feed(&(1000u32).to_be_bytes()), Err(1000));
    }

    #[test]
    fn fatal_bytes_is_an_error_response() {
        let b = fatal_bytes("53300", "too many");
        assert_eq!(b[0], b'E');
        assert_eq!(u32::from_be_bytes(b[1..5].try_into().unwrap()) as usize, b.len() - 1);
        assert!(b.ends_with(b"too many\0\0"));
    }
}
