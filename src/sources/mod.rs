//! Where records come from (a TCP server or a Kafka topic). Each source sends [`crate::codec::Chunk`]s of lines
//! into the engine's channel and keeps going through faults.

pub mod kafka;
pub mod socket;
