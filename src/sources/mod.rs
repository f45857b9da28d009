//! Where records come from (a TCP server, files, a live feed — Bluesky's Jetstream,
//! X's filtered stream, Mastodon — or a Kafka topic). Each source sends [`crate::codec::Chunk`]s of lines
//! into the engine's channel and keeps going through faults.

pub mod acks;
pub mod file;
pub mod http_feed;
pub mod http_stream;
pub mod jetstream;
pub mod kafka;
pub mod live;
pub mod mastodon;
pub mod socket;
pub mod x_stream;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether a source is connected right now (for `/health`), shared by the
/// source that sets it and the servers that report it.
#[derive(Debug, Default)]
pub struct SourceStatus {
    pub connected: AtomicBool,
}

/// Every source of a job (several sockets are read as one stream, their
/// union), by name, with its status.
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

    /// Every source is connected (the job's readiness needs them all).
    pub fn connected(&self) -> bool {
        self.list.iter().all(|(_, s)| s.connected.load(Ordering::Relaxed))
    }

    /// The names of the sources not connected right now.
    pub fn disconnected(&self) -> Vec<&str> {
        self.each().filter(|(_, c)| !c).map(|(n, _)| n).collect()
    }

    /// Each source's name and whether it is connected.
    pub fn each(&self) -> impl Iterator<Item = (&str, bool)> {
        self.list.iter().map(|(n, s)| (n.as_str(), s.connected.load(Ordering::Relaxed)))
    }
}
