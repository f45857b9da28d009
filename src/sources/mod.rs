//! Where records come from (a TCP server or a Kafka topic). Each source sends [`crate::codec::Chunk`]s of lines
//! into the engine's channel and keeps going through faults.

pub mod acks;
pub mod kafka;
pub mod socket;

use std::sync::atomic::AtomicBool;

/// Whether the source is connected right now (for `/health`), shared by the
/// source that sets it and the servers that report it.
#[derive(Debug, Default)]
pub struct SourceStatus {
    pub connected: AtomicBool,
}
