//! What every listener of the engine (HTTP, the dashboard, PostgreSQL) allows
//! a client, and the accept loop that holds them to it.
//!
//! A client can send any bytes at any pace, so each listener bounds:
//! - the largest request: an HTTP body (413 above it) or a PostgreSQL message
//!   (an ErrorResponse, then the connection is closed), so no client makes
//!   the process buffer more than that per connection;
//! - the time to send a request's head: HTTP headers, or PostgreSQL's startup
//!   message (a slowloris client sending a byte a second is closed then);
//! - idle time between requests (PostgreSQL; an HTTP connection waits for its
//!   next request's headers at most the header timeout, as hyper starts that
//!   clock when it is ready for a request);
//! - the number of connections at once: one more is answered with an error
//!   (HTTP 503, PostgreSQL SQLSTATE 53300) and closed. An HTTP listener keeps
//!   a few connections beyond the limit for probes ([`PROBE_RESERVE`]): there
//!   only `/health…` and `/metrics` are answered, one request a connection,
//!   so a crowd of clients (256 watchers, say) never makes an orchestrator's
//!   probe fail and restart a healthy engine. Refusals are logged at most
//!   once per [`REFUSAL_LOG_EVERY`], with how many there were.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The limits of one listener; see the module's doc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_request_bytes: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_bytes: 1 << 20,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            max_connections: 256,
        }
    }
}

/// Binds a listener for the command-line option `option` (e.g. `--http`);
/// returns it with the bound address (port 0 picks a free one).
/// `guarded`: clients must present credentials (else binding beyond
/// loopback is warned about).
pub async fn listen(addr: &str, option: &str, guarded: bool) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for {option}: {e}"))?;
    let bound = listener.local_addr()?;
    if !bound.ip().is_loopback() && !guarded {
        tracing::warn!(
            "{option} listens on {bound}, beyond this machine, and asks for no credentials: whoever can \
             reach it can read the tables and run SQL on them. Bind 127.0.0.1 unless the network is yours, or set \
             a token (TWEETSTREAM_TOKEN or --token-file)"
        );
    }
    Ok((listener, bound))
}

/// An address a client can connect to for `bound`: a listener on every
/// interface (`0.0.0.0`, `::`) is reached on this machine at loopback.
pub fn reachable(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), bound.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), bound.port()),
        _ => bound,
    }
}

/// Connections an HTTP listener accepts beyond `--max-connections`, for
/// probes only.
pub const PROBE_RESERVE: usize = 8;

/// How often refused connections are logged at most.
pub const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// How a connection was let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Within `--max-connections`: everything is served.
    Full,
    /// Beyond it, in the probes' reserve: only probes are served.
    ProbesOnly,
}

/// Accepts connections on `listener` until `shutdown`, and runs `serve` on
/// each while fewer than `limits.max_connections` are open; beyond that, on
/// up to `reserve` more as [`Admission::ProbesOnly`]. A connection beyond
/// both gets `refusal` written to it and is closed. Returns once `shutdown`
/// has come and every connection has ended (each `serve` is handed the token,
/// to finish gracefully).
pub async fn accept_loop<S, F>(
    listener: TcpListener,
    limits: Limits,
    shutdown: CancellationToken,
    name: &'static str,
    refusal: Vec<u8>,
    reserve: usize,
    serve: S,
) where
    S: Fn(TcpStream, SocketAddr, CancellationToken, Admission) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let probe_slots = Arc::new(Semaphore::new(reserve));
    let refusal: Arc<[u8]> = refusal.into();
    let tasks = TaskTracker::new();
    let mut refusals = RefusalLog::default();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %e, "{name}: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (permit, admission) = match slots.clone().try_acquire_owned() {
            Ok(permit) => (Some(permit), Admission::Full),
            Err(_) => (probe_slots.clone().try_acquire_owned().ok(), Admission::ProbesOnly),
        };
        match permit {
            Some(permit) => {
                let connection = serve(stream, peer, shutdown.clone(), admission);
                tasks.spawn(holding(permit, connection));
            }
            None => {
                refusals.refused(name, peer, limits.max_connections);
                tasks.spawn(refuse(stream, refusal.clone()));
            }
        }
    }
    tasks.close();
    tasks.wait().await;
}

/// Logs refused connections: the first at once, then at most one line per
/// [`REFUSAL_LOG_EVERY`] saying how many more there were (a flood of
/// connections must not flood the log too).
#[derive(Default)]
struct RefusalLog {
    last: Option<Instant>,
    unlogged: u64,
}

impl RefusalLog {
    fn refused(&mut self, name: &str, peer: SocketAddr, max: usize) {
        self.unlogged += 1;
        if self.last.is_some_and(|t| t.elapsed() < REFUSAL_LOG_EVERY) {
            return;
        }
        if self.unlogged == 1 {
            tracing::warn!(%peer, "{name}: refused {peer}: already {max} connections (--max-connections)");
        } else {
            tracing::warn!(
                %peer,
                refused = self.unlogged,
                "{name}: refused {} connections in the last {}s (the latest from {peer}): already {max} \
                 connections (--max-connections)",
                self.unlogged,
                self.last.map_or(0, |t| t.elapsed().as_secs()),
            );
        }
        self.last = Some(Instant::now());
        self.unlogged = 0;
    }
}

async fn holding(permit: OwnedSemaphorePermit, connection: impl Future<Output = ()>) {
    connection.await;
    drop(permit);
}

/// Writes `refusal` (at most a second's wait) and closes.
async fn refuse(mut stream: TcpStream, refusal: Arc<[u8]>) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(&refusal).await?;
        stream.shutdown().await
    })
    .await;
}
