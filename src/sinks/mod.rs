//! Where results go: the terminal (timer print and final tables), files
//! (`--out`) and MongoDB (exactly once, in Kafka mode). The servers that
//! *read* the live tables (HTTP, the dashboard, PostgreSQL) are in
//! [`crate::serve`]; the engine's own state across restarts is in
//! [`crate::state`].

pub mod out;
pub mod print;
pub mod results;
