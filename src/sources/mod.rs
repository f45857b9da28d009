//! Where records come from: a TCP server (`socket.rs`), files (`file.rs`),
//! the live feeds (`live/`: Bluesky's Jetstream, X's filtered stream,
//! Mastodon) or Kafka topics (`kafka/`). Each source sends
//! [`crate::codec::Chunk`]s of lines into the engine's channel and keeps
//! going through faults.
//!
//! Every source is built the same way, as Vector's sources are: from its
//! own configuration and one shared [`Context`] (the channel, its status,
//! the shutdown, its metric handles, its name), and run by [`spawn_all`].
//! Those that connect share one connection loop ([`reconnect`]) and one
//! rule for what they receive ([`events`]). A new source is a module here
//! and one line where the job lists its sources.

pub(crate) mod acks;
pub(crate) mod events;
pub(crate) mod file;
pub(crate) mod kafka;
pub mod live;
pub(crate) mod reconnect;
pub(crate) mod socket;

use crate::codec::Chunk;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Whether a source is ready right now (for `/health`), shared by the
/// source that sets it and the servers that report it: connected, with
/// nothing it reads missing (a Kafka topic deleted under it).
#[derive(Debug, Default)]
pub struct SourceStatus {
    connected: AtomicBool,
    missing: AtomicU32,
}

impl SourceStatus {
    /// The source connected (`true`) or lost its connection.
    pub fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::Relaxed);
    }

    /// Sets whether it was connected before, and returns that.
    pub fn swap_connected(&self, connected: bool) -> bool {
        self.connected.swap(connected, Ordering::Relaxed)
    }

    /// How many of the things it reads are missing (0: all there). A source
    /// with something missing is not ready, whatever else it receives.
    pub fn set_missing(&self, missing: u32) {
        self.missing.store(missing, Ordering::Relaxed);
    }

    /// Connected, and nothing missing.
    pub fn ready(&self) -> bool {
        self.connected.load(Ordering::Relaxed) && self.missing.load(Ordering::Relaxed) == 0
    }
}

/// Every source of a job (several are read as one stream, their union), by
/// name, with its status.
#[derive(Debug, Default)]
pub struct Sources {
    list: Vec<(String, Arc<SourceStatus>)>,
}

impl Sources {
    /// Sources named `names`; their statuses, in the same order, go to them.
    pub fn new(names: impl IntoIterator<Item = String>) -> (Arc<Sources>, Vec<Arc<SourceStatus>>) {
        let list: Vec<(String, Arc<SourceStatus>)> =
            names.into_iter().map(|n| (n, Arc::new(SourceStatus::default()))).collect();
        let statuses = list.iter().map(|(_, s)| s.clone()).collect();
        (Arc::new(Sources { list }), statuses)
    }

    /// Every source is ready (the job's readiness needs them all).
    pub fn connected(&self) -> bool {
        self.list.iter().all(|(_, s)| s.ready())
    }

    /// The names of the sources not ready right now.
    pub fn disconnected(&self) -> Vec<&str> {
        self.each().filter(|(_, c)| !c).map(|(n, _)| n).collect()
    }

    /// Each source's name and whether it is ready.
    pub fn each(&self) -> impl Iterator<Item = (&str, bool)> {
        self.list.iter().map(|(n, s)| (n.as_str(), s.ready()))
    }
}

/// What every source runs with.
pub struct Context {
    /// Its name in logs, `/health`, the metrics and a checkpoint: secrets
    /// masked ([`crate::secret`]).
    pub name: String,
    /// The engine's channel; a slow engine slows the source (back-pressure).
    pub tx: mpsc::Sender<Chunk>,
    pub status: Arc<SourceStatus>,
    pub shutdown: CancellationToken,
    /// Its metric handles, made once.
    pub events: events::Events,
    /// Lines (or messages) longer than this are skipped, counted.
    pub max_line_bytes: usize,
}

impl Context {
    pub fn new(
        name: String,
        status: Arc<SourceStatus>,
        tx: mpsc::Sender<Chunk>,
        shutdown: CancellationToken,
        max_line_bytes: usize,
    ) -> Context {
        let events = events::Events::new(&name);
        Context { name, tx, status, shutdown, events, max_line_bytes }
    }

    /// The run is over: shut down, or the engine gone.
    pub fn stopping(&self) -> bool {
        self.shutdown.is_cancelled() || self.tx.is_closed()
    }
}

/// A configured source.
pub trait Source: Send + 'static {
    /// Its name (see [`Context::name`]).
    fn name(&self) -> String;

    /// Reads until `cx.shutdown` (or its end, for files). An error is a
    /// fault no retry can fix (a refused token); it ends the job.
    fn run(self: Box<Self>, cx: Context) -> BoxFuture<'static, anyhow::Result<()>>;
}

/// Runs each source with its status, all into `tx` (the batch holds their
/// union), each in a span named by the source (so its log lines carry it).
/// The task ends when all have ended, or at the first that fails, which
/// cancels `stop` (so the rest, and whatever `stop` ends, stop too).
pub fn spawn_all(
    sources: Vec<(Box<dyn Source>, Arc<SourceStatus>)>,
    tx: mpsc::Sender<Chunk>,
    shutdown: &CancellationToken,
    stop: CancellationToken,
    max_line_bytes: usize,
) -> JoinHandle<anyhow::Result<()>> {
    let readers: Vec<_> = sources
        .into_iter()
        .map(|(source, status)| {
            let name = source.name();
            let span = tracing::info_span!("source", source = %name);
            let cx = Context::new(name, status, tx.clone(), shutdown.clone(), max_line_bytes);
            tokio::spawn(source.run(cx).instrument(span))
        })
        .collect();
    drop(tx);
    tokio::spawn(first_failure(readers, stop))
}

/// Waits for every reader; the first error cancels `stop` and is returned.
async fn first_failure(
    readers: Vec<JoinHandle<anyhow::Result<()>>>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    let mut readers: futures_util::stream::FuturesUnordered<_> = readers.into_iter().collect();
    while let Some(ended) = readers.next().await {
        let failed = match ended {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(e) => anyhow::anyhow!("a source failed: {e}"),
        };
        stop.cancel();
        return Err(failed);
    }
    Ok(())
}
