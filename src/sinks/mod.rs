//! Where results go: the terminal (timer print and final tables), HTTP, the
//! dashboard, the PostgreSQL wire protocol and MongoDB (exactly once, in
//! Kafka mode). The engine's own state across restarts is in [`crate::state`].

pub mod auth;
pub mod cors;
pub mod dashboard;
pub mod failures;
pub mod health;
pub mod http;
pub mod listener;
pub mod out;
pub mod pg;
pub mod print;
pub mod results;
pub mod tabular;
pub mod tls;
