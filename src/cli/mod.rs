//! Command-line interface: one binary, one subcommand per pipeline role.
//!
//! Each subcommand lives in its own file and exposes `run(args) -> anyhow::Result<()>`.

pub mod checkpoint;
pub(crate) mod dates;
pub mod demo;
pub(crate) mod engine_http;
pub(crate) mod feeds;
pub mod fixtures;
pub mod lab;
pub mod live;
pub mod load;
pub mod produce;
pub mod query;
pub mod replay;
pub mod score;
pub(crate) mod select;
pub mod stream;
pub(crate) mod values;

use clap::{Parser, Subcommand};

/// Streaming tweet analytics: hashtag counts and VADER sentiment in micro-batches.
#[derive(Parser, Debug)]
#[command(name = "tweetstream", version, about, long_about = None)]
pub struct Cli {
    /// Log level for messages on stderr (error, warn, info, debug, trace), or a
    /// tracing filter such as `tweetstream=debug`. Also read from RUST_LOG.
    #[arg(long, global = true, env = "RUST_LOG", default_value = "info")]
    pub log: String,

    /// Log lines as text, or as one JSON object per line (timestamp, level,
    /// target, fields) for a log pipeline.
    #[arg(long, global = true, value_enum, default_value_t = crate::logging::LogFormat::Text)]
    pub log_format: crate::logging::LogFormat,

    /// Colour in log lines: on a terminal unless NO_COLOR is set (auto), always
    /// (even with NO_COLOR), or never.
    #[arg(long, global = true, value_enum, default_value_t = crate::logging::Color::Auto)]
    pub color: crate::logging::Color,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the whole socket job on the bundled fixtures, in one process, and exit.
    Demo(demo::Args),
    /// Write tweets from files as JSON lines to stdout or to TCP clients.
    Replay(replay::Args),
    /// Write posts from a live source (Bluesky's Jetstream) as tweet JSON lines
    /// to stdout or to TCP clients.
    Live(live::Args),
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
    #[command(after_help = format!("{}\n\nExample:\n  printf 'The book was good.\\n' | tweetstream vader\n  \
    {{\"compound\":0.4404,\"pos\":0.492,\"neu\":0.508,\"neg\":0.0}}", score::AFTER_HELP))]
    Vader(score::Args),
    /// Score lines from stdin with TextBlob (polarity, subjectivity); one JSON object per line.
    #[command(after_help = format!("{}\n\nExample:\n  printf 'The movie was very good!\\n' | tweetstream textblob\n  \
    {{\"polarity\":1.0,\"subjectivity\":0.7800000000000001}}", score::AFTER_HELP))]
    Textblob(score::Args),
    /// Show what a --checkpoint file holds (as JSON), checking it as a restart would.
    Checkpoint(checkpoint::Args),
    /// Generate the project's test data (deterministic).
    Fixtures(fixtures::Args),
}

/// The sentiment model of a run, shared by `stream`, `demo` and `lab`.
#[derive(clap::Args, Debug, Clone)]
pub struct SentimentArgs {
    /// Sentiment model: VADER's compound score, TextBlob's polarity (the
    /// measure of the Kafka/MongoDB lab's notebook), or none (hashtags only).
    #[arg(long, value_enum, default_value_t = SentimentChoice::Vader)]
    pub sentiment: SentimentChoice,

    /// Count hashtags only: the same as `--sentiment none`.
    #[arg(long, conflicts_with = "sentiment")]
    pub no_sentiment: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SentimentChoice {
    /// VADER's compound score (vaderSentiment 3.3.2), rounded to 4 decimals.
    Vader,
    /// TextBlob's polarity (TextBlob 0.20.1, `TextBlob(text).sentiment.polarity`).
    Textblob,
    /// No sentiment: count hashtags only.
    None,
}

impl SentimentArgs {
    /// The model to score with (None: no sentiment).
    pub fn model(&self) -> Option<crate::sentiment::Model> {
        use crate::sentiment::Model;
        match (self.no_sentiment, self.sentiment) {
            (true, _) | (_, SentimentChoice::None) => None,
            (_, SentimentChoice::Vader) => Some(Model::Vader),
            (_, SentimentChoice::Textblob) => Some(Model::TextBlob),
        }
    }
}

/// Where the tweets collection lives, shared by `load` and `produce`.
#[derive(clap::Args, Debug, Clone)]
pub struct MongoArgs {
    /// MongoDB connection string.
    #[arg(long, default_value = crate::connect::mongo::DEFAULT_URI, env = "MONGO_URI")]
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

    /// A librdkafka setting for every Kafka client of the command, producer and
    /// admin client included, such as `security.protocol=SASL_SSL` (repeatable).
    #[arg(long = "kafka-option", short = 'X', value_name = "KEY=VALUE", value_parser = values::key_value)]
    pub options: Vec<(String, String)>,

    /// librdkafka settings from a properties file (`key=value` lines, as kcat's
    /// -F), applied before -X: keeps passwords out of the process list.
    #[arg(long = "kafka-config", short = 'F', value_name = "FILE", env = "KAFKA_CONFIG_FILE", value_parser = values::properties_file)]
    pub config_file: Option<values::Properties>,

    /// Partitions, if the topic has to be created.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = values::number_in(values::PARTITIONS, "--partitions"))]
    pub partitions: i32,
}

/// Checks that `path` can be read as an input: a file, or anything else that
/// reads like one (a FIFO, `/dev/stdin`, `/dev/null`), but not a directory.
/// Says which, instead of a bare "no such file".
pub fn readable_input(path: &std::path::Path) -> anyhow::Result<()> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!("{shown}: no such file"),
        Err(e) => anyhow::bail!("{shown}: cannot read it: {e}"),
        Ok(m) if m.is_dir() => anyhow::bail!("{shown}: is a directory, not a file"),
        // Not opened here: opening a FIFO would take its writer's data.
        Ok(_) => Ok(()),
    }
}

impl KafkaArgs {
    /// The librdkafka settings: the properties file's, then `-X`'s.
    pub fn settings(&self) -> Vec<(String, String)> {
        self.config_file.iter().flat_map(|p| &p.0).chain(&self.options).cloned().collect()
    }
}

/// A tokio runtime for the async subcommands.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}
