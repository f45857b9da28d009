//! Where results go: the terminal (timer print and final tables), HTTP, the
//! dashboard, the PostgreSQL wire protocol, MongoDB (exactly once, in Kafka
//! mode), and the checkpoint file (the engine's state across restarts).

pub mod checkpoint;
pub mod dashboard;
pub mod health;
pub mod http;
pub mod listener;
pub mod pg;
pub mod print;
pub mod results;
