//! Command-line interface: one binary, one subcommand per pipeline role.
//!
//! Each subcommand lives in its own file and exposes `run(args) -> anyhow::Result<()>`.

pub mod vader;

use clap::{Parser, Subcommand};

/// Streaming tweet analytics: hashtag counts and VADER sentiment in micro-batches.
#[derive(Parser, Debug)]
#[command(name = "tweetstream", version, about, long_about = None)]
pub struct Cli {
    /// Log level for messages on stderr (error, warn, info, debug, trace), or a
    /// tracing filter such as `tweetstream=debug`. Also read from RUST_LOG.
    #[arg(long, global = true, env = "RUST_LOG", default_value = "info")]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Score lines from stdin with VADER; one JSON object per line on stdout.
    Vader(vader::Args),
}
