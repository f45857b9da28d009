//! Command-line interface: one binary, one subcommand per pipeline role.
//!
//! Each subcommand lives in its own file and exposes `run(args) -> anyhow::Result<()>`.

pub mod demo;
pub mod fixtures;
pub mod lab;
pub mod load;
pub mod produce;
pub mod query;
pub mod replay;
pub mod stream;
pub mod vader;

use clap::{Parser, Subcommand};
use std::time::Duration;

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
    /// Run the whole socket job on the bundled fixtures, in one process, and exit.
    Demo(demo::Args),
    /// Write tweets from files as JSON lines to stdout or to TCP clients.
    Replay(replay::Args),
    /// The streaming engine: micro-batches of hashtag counts and sentiment.
    Stream(Box<stream::Args>),
    /// The whole Kafka/MongoDB lab: load, produce, consume, print per-day sentiment.
    Lab(lab::Args),
    /// Load a tweets data set (Parquet, CSV, JSON Lines) into MongoDB.
    Load(load::Args),
    /// Stream the documents of a MongoDB collection into a Kafka topic.
    Produce(produce::Args),
    /// Run a SQL statement on a running engine's live tables (via its --http).
    Query(query::Args),
    /// Score lines from stdin with VADER; one JSON object per line on stdout.
    Vader(vader::Args),
    /// Generate the project's test data (deterministic).
    Fixtures(fixtures::Args),
}

/// Where the tweets collection lives, shared by `load` and `produce`.
#[derive(clap::Args, Debug, Clone)]
pub struct MongoArgs {
    /// MongoDB connection string.
    #[arg(long, default_value = crate::lab::mongo::DEFAULT_URI, env = "MONGO_URI")]
    pub uri: String,

    #[arg(long, default_value = "lab4")]
    pub db: String,

    #[arg(long, default_value = "tweets")]
    pub collection: String,
}

/// The Kafka topic to produce to, shared by `produce` and `lab`.
#[derive(clap::Args, Debug, Clone)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers.
    #[arg(long, default_value = "127.0.0.1:9092", env = "KAFKA_BROKERS")]
    pub brokers: String,

    #[arg(long, default_value = "tweets")]
    pub topic: String,

    /// Partitions, if the topic has to be created.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub partitions: i32,
}

/// Parses `10s`, `500ms`, `2m`, `1h` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("{s:?} is not a duration (try 10s, 500ms, 2m)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {s:?} (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("{s:?}: a duration must be positive"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Checks `HOST:PORT` (a name or an address; IPv6 in brackets): a host that
/// does not resolve yet is retried, but an address without a port never works.
pub fn parse_host_port(s: &str) -> Result<String, String> {
    let usage = || format!("{s:?} is not HOST:PORT (such as localhost:9999 or [::1]:9999)");
    let (host, port) = s.rsplit_once(':').ok_or_else(usage)?;
    let bracketed = host.starts_with('[') && host.ends_with(']');
    if host.is_empty() || (host.contains(':') && !bracketed) || !port.parse::<u16>().is_ok_and(|p| p > 0) {
        return Err(usage());
    }
    Ok(s.to_owned())
}

/// A size of at least one byte.
pub fn parse_byte_limit(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        Ok(_) => Err("the limit must be at least 1 byte".to_owned()),
        Err(_) => Err(format!("{s:?} is not a number of bytes")),
    }
}

/// A tokio runtime for the async subcommands.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn host_ports() {
        for ok in ["localhost:9999", "127.0.0.1:1", "[::1]:9999", "tweets.example:65535"] {
            assert_eq!(parse_host_port(ok).as_deref(), Ok(ok));
        }
        for bad in
            ["nonsense", "localhost", ":9999", "localhost:", "localhost:0", "host:99999", "::1:9999", "h:p"]
        {
            let err = parse_host_port(bad).unwrap_err();
            assert!(err.contains("is not HOST:PORT"), "{bad}: {err}");
        }
    }

    #[test]
    fn byte_limits() {
        assert_eq!(parse_byte_limit("1048576"), Ok(1 << 20));
        assert!(parse_byte_limit("0").unwrap_err().contains("at least 1 byte"));
        assert!(parse_byte_limit("-5").is_err());
        assert!(parse_byte_limit("1MiB").is_err());
    }
}
