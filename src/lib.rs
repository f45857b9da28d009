//! tweetstream: streaming tweet analytics (hashtag counts and VADER sentiment in
//! micro-batches), a small, fast replacement for two classic Spark labs.
//!
//! Data flow, one folder per stage: [`sources`] (socket, Kafka) → [`codec`] (line
//! framing) → [`tweet`] (decoding) → [`transforms`] (hashtags) and [`sentiment`]
//! → [`engine`] (micro-batches, live tables) → [`sql`], then [`sinks`] (where
//! results go: terminal, files, MongoDB) and [`serve`] (the servers that read
//! the tables: HTTP, dashboard, PostgreSQL); beside the engine, [`state`] keeps its
//! state across restarts (`--checkpoint`). [`job`] wires a streaming job from a
//! configuration; [`replay`] feeds a source; [`lab`] loads and produces the
//! lab's data. docs/design.md has the module map.

pub(crate) mod buffer;
pub mod cli;
pub mod codec;
pub(crate) mod connect;
pub(crate) mod cost;
pub mod engine;
pub(crate) mod files;
pub mod fixtures;
pub(crate) mod job;
pub(crate) mod lab;
pub mod logging;
pub(crate) mod memory;
pub(crate) mod metrics;
pub(crate) mod progress;
pub(crate) mod replay;
pub(crate) mod retry;
pub(crate) mod rng;
pub mod secret;
pub mod sentiment;
pub mod serve;
pub(crate) mod shutdown;
pub(crate) mod sinks;
pub mod sources;
pub mod sql;
pub(crate) mod state;
pub(crate) mod time;
pub mod transforms;
pub mod tweet;
