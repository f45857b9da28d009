//! Where results go: the terminal (timer print and final tables), HTTP, and
//! MongoDB (exactly once, in Kafka mode).

pub mod dashboard;
pub mod http;
pub mod pg;
pub mod print;
pub mod results;
