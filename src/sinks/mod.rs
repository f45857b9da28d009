//! Where results go: the terminal (timer print and final tables) and HTTP.

pub mod http;
pub mod print;
