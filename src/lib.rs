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

pub mod buffer;
pub mod cli;
pub mod codec;
pub mod connect;
pub mod cost;
pub mod engine;
pub mod files;
pub mod fixtures;
pub mod job;
pub mod lab;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod progress;
pub mod replay;
pub mod retry;
pub mod rng;
pub mod secret;
pub mod sentiment;
pub mod serve;
pub mod shutdown;
pub mod sinks;
pub mod sources;
pub mod sql;
pub mod state;
pub mod time;
pub mod transforms;
pub mod tweet;
