//! The integration tests, as one crate: every file of `tests/` used to be a
//! crate of its own, and each linked the whole dependency tree (rdkafka, the
//! MongoDB driver, arrow, SQLite, axum), which cost most of a fresh build's
//! time. One module per area; shared helpers and the independent oracles are
//! in [`common`]. Run one area with `cargo test --test it AREA::`, e.g.
//! `cargo test --test it sql::` (docs/development.md lists them).

mod common;

mod browse;
mod checkpoint;
mod cli_score;
mod clients;
mod dashboard;
mod decode;
mod demo;
mod file_task;
mod flags;
mod fuzz;
mod hostile_sources;
mod http_feeds;
mod jetstream;
mod kafka_cluster;
mod kafka_mongo;
mod kafka_truncation;
mod languages;
mod limits;
mod logging;
mod replay;
mod socket_mode;
mod sql;
mod textblob_reference;
mod tls;
mod vader_reference;
