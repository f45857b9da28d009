//! Where results go: the terminal (timer print and final tables).

pub mod print;
