//! tweetstream: streaming tweet analytics (hashtag counts and VADER sentiment in
//! micro-batches), a small, fast replacement for two classic Spark labs.
//!
//! Data flow, one folder per stage: [`sources`] (socket) → [`codec`] (line framing)
//! → [`tweet`] (decoding) → [`transforms`] (hashtags, [`sentiment`]) → [`engine`]
//! (micro-batches, live tables) → [`sinks`] (terminal, HTTP, Postgres, MongoDB),
//! with [`sql`] answering queries. [`replay`] feeds a source.

pub mod buffer;
pub mod cli;
pub mod codec;
pub mod connect;
pub mod engine;
pub mod fixtures;
pub mod job;
pub mod lab;
pub mod logging;
pub mod progress;
pub mod replay;
pub mod retry;
pub mod rng;
pub mod sentiment;
pub mod shutdown;
pub mod sinks;
pub mod sources;
pub mod sql;
pub mod time;
pub mod transforms;
pub mod tweet;
