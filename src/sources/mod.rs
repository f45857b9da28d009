//! Where records come from. Each source sends [`crate::codec::Chunk`]s of lines
//! into the engine's channel and keeps going through faults.

pub mod socket;
