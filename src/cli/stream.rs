//! `tweetstream stream`: the engine's command line. Its arguments become a
//! [`StreamConfig`], which [`crate::job`] runs: lines from a TCP server or a
//! Kafka topic, cut into micro-batches, hashtags counted and sentiment scored,
//! live tables kept, printed on a timer and served.

use crate::codec::DEFAULT_MAX_LINE_BYTES;
use crate::engine::run::PrintEvery;
use crate::job::config::default_workers;
use crate::job::{self, BatchSpec, CheckpointTarget, KafkaConfig, ResultsTarget, SourceConfig, StreamConfig};
use crate::serve::listener;
use crate::sinks::print::OutputFormat;
use crate::sources::kafka::StartFrom;
use crate::sources::kafka::exactly_once::truncation::{OnGap, OnTruncation};
use crate::sql;
use crate::transforms::hashtags::HashtagMode;
use crate::tweet::InputFormat;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Example (the classic DStream job):\n  \
tweetstream replay fixtures/tweets.jsonl --rate 500 --loop | nc -lk 9999\n  \
tweetstream stream --connect localhost:9999 --batch 10s --print-every 15s --top 10\n\n\
Kafka mode:\n  \
tweetstream stream --kafka 127.0.0.1:9092 --topic tweets --group lab --from earliest")]
#[command(group(clap::ArgGroup::new("source").required(true).multiple(true).args(["connect", "file", "kafka", "jetstream", "x_stream", "mastodon"])))]
#[command(group(clap::ArgGroup::new("stored").args(["results", "checkpoint"])))]
pub struct Args {
    /// Server to read lines from, as a TCP client (like Spark's socketTextStream).
    /// Retries with backoff until it answers, and reconnects if it goes away.
    /// Repeatable: several servers are read as one stream (their union), each
    /// connecting on its own.
    #[arg(long, value_name = "HOST:PORT", value_parser = super::values::host_port)]
    pub connect: Vec<String>,

    /// Read this file at full speed, in any format `replay` reads (JSON Lines,
    /// a JSON array, CSV/TSV, Parquet; gzipped or not), and end at its end with
    /// the final tables. Repeatable (read in order); with --connect or a feed,
    /// all are read as one stream (which then goes on after the files).
    #[arg(long, value_name = "PATH")]
    pub file: Vec<std::path::PathBuf>,

    /// Live feeds (Bluesky, X, Mastodon). With each other and --connect,
    /// all are read as one stream.
    #[command(flatten)]
    pub feeds: super::feeds::FeedArgs,

    #[command(flatten)]
    pub dates: super::dates::DateArgs,

    /// Consume a Kafka topic instead, from these bootstrap servers. Without a
    /// value: $KAFKA_BROKERS, else 127.0.0.1:9092 (the environment gives the
    /// value only: Kafka mode needs --kafka).
    #[arg(long, value_name = "BROKERS", num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["connect", "file", "jetstream", "x_stream", "mastodon"])]
    pub kafka: Option<String>,

    /// Kafka topic. Several (comma-separated, or the flag repeated) are read as
    /// one stream, their union.
    #[arg(long, value_name = "TOPIC", default_value = "tweets", value_delimiter = ',', requires = "kafka")]
    pub topic: Vec<String>,

    /// Kafka consumer group (several engines in one group share the partitions).
    #[arg(long, default_value = "tweetstream", requires = "kafka")]
    pub group: String,

    /// Where a group without committed offsets starts.
    #[arg(long, value_enum, default_value_t = StartFrom::Earliest, requires = "kafka")]
    pub from: StartFrom,

    /// A librdkafka setting for every Kafka client of the run, such as
    /// `session.timeout.ms=6000` (repeatable).
    #[arg(long = "kafka-option", short = 'X', value_name = "KEY=VALUE", value_parser = super::values::key_value, requires = "kafka")]
    pub kafka_options: Vec<(String, String)>,

    /// librdkafka settings from a properties file (`key=value` lines, as kcat's
    /// -F), applied before -X: keeps passwords out of the process list.
    #[arg(long = "kafka-config", short = 'F', value_name = "FILE", env = "KAFKA_CONFIG_FILE", value_parser = super::values::properties_file)]
    pub kafka_config: Option<super::values::Properties>,

    /// How to read each line: a JSON tweet, or the tweet's text itself.
    #[arg(long, value_enum, default_value_t = InputFormat::Json)]
    pub input: InputFormat,

    /// Batch interval (10s, 500ms, 1m), aligned to the clock; or `manual`: a batch
    /// closes at each line read from stdin, and stdin's end ends the run.
    #[arg(long, default_value = "10s", value_parser = parse_batch, value_name = "INTERVAL|manual")]
    pub batch: BatchSpec,

    /// Hashtag extraction: proper hashtags, or the original job's naive split.
    #[arg(long, value_enum, default_value_t = HashtagMode::Twitter)]
    pub hashtags: HashtagMode,

    #[command(flatten)]
    pub sentiment: super::SentimentArgs,

    #[command(flatten)]
    pub select: super::select::SelectArgs,

    /// A tweet with no date is left out of sentiment_by_day (`skip`; it still
    /// counts in batches.undated), or counted on the day it arrived
    /// (`arrival`, UTC: for text typed into nc, or lines without dates).
    #[arg(long, value_enum, default_value_t = crate::engine::batch::Undated::Skip, value_name = "skip|arrival")]
    pub undated: crate::engine::batch::Undated,

    /// Print the top tags of the latest batch this often, after every `batch`, or `never`.
    #[arg(long, default_value = "15s", value_parser = parse_print_every, value_name = "INTERVAL|batch|never")]
    pub print_every: PrintEvery,

    /// Rows of tag tables to print (0: all).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,

    /// Printed tables as aligned text or one JSON object per line.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Stop after this many batches and print the final tables.
    #[arg(long, value_name = "N", value_parser = super::values::number_in(super::values::BATCH_COUNTS, "--batches"))]
    pub batches: Option<u64>,

    /// Stop after this many empty batches in a row, once data has been seen.
    #[arg(long, value_name = "N", value_parser = super::values::number_in(super::values::BATCH_COUNTS, "--stop-when-idle"))]
    pub stop_when_idle: Option<u64>,

    /// Stop once this many records (bad ones included) have been counted,
    /// at the end of the batch that reaches it, and print the final tables.
    #[arg(long, value_name = "N", value_parser = super::values::number_in(super::values::BATCH_COUNTS, "--stop-after-records"))]
    pub stop_after_records: Option<u64>,

    /// Lines longer than this are skipped and counted as bad records.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE_BYTES, value_name = "BYTES", value_parser = super::values::byte_limit)]
    pub max_line_bytes: usize,

    /// Also keep `tag_window`: tag counts over this much time (reduceByKeyAndWindow).
    /// A multiple of the batch interval.
    #[arg(long, value_parser = super::values::duration, value_name = "DURATION")]
    pub window: Option<Duration>,

    /// How often the window is recomputed (default: every batch). A multiple of
    /// the batch interval.
    #[arg(long, value_parser = super::values::duration, value_name = "DURATION", requires = "window")]
    pub slide: Option<Duration>,

    /// Keep at most N tags in `tag_totals`, for runs that never end: a new tag
    /// that finds it full takes the place of the least counted one and starts
    /// from its count (Space-Saving). The table then has an `error` column:
    /// a row's count is at most `error` above the tag's true count, and every
    /// tag counted more than the last row's count is in the table.
    /// `tag_counts` and `tag_window` stay exact. Not with --results.
    #[arg(long, value_name = "N", conflicts_with = "results", value_parser = super::values::count_in(super::values::MAX_TAGS, "--max-tags"))]
    pub max_tags: Option<usize>,

    /// Chunks decoded and scored at once, each on its own thread (default: two
    /// per core, so that the cores stay busy while one thread waits its turn).
    #[arg(long, value_name = "N", default_value_t = default_workers(), value_parser = super::values::count_in(super::values::WORKERS, "--workers"))]
    pub workers: usize,

    /// Serve the live tables as JSON over HTTP on this address (e.g. 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,

    /// Serve the live dashboard (charts of sentiment per day, top hashtags and
    /// batch health) on this address, e.g. 127.0.0.1:8081.
    #[arg(long, value_name = "ADDR")]
    pub dashboard: Option<String>,

    /// How often the dashboard page refreshes.
    #[arg(long, default_value = "5s", value_parser = super::values::duration, value_name = "DURATION")]
    pub refresh: Duration,

    /// The statement the timer prints, in SQL over the live tables (default: the
    /// original job's `select tag, count from tag_counts order by count desc limit N`
    /// with N from --top).
    #[arg(long, value_name = "SQL")]
    pub print_sql: Option<String>,

    /// Serve SQL over the PostgreSQL wire protocol on this address (e.g.
    /// 127.0.0.1:5433), for psql and Postgres drivers.
    #[arg(long, value_name = "ADDR")]
    pub pg: Option<String>,

    /// When the run ends, write the final tables into this directory, one file
    /// per table (sentiment_by_day.csv, tag_totals.csv, ...; made if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,

    /// The files of --out: CSV with a header, or JSON records ([{column: value}, ...]).
    #[arg(long, value_enum, default_value_t = crate::sinks::out::OutFormat::Csv, requires = "out")]
    pub out_format: crate::sinks::out::OutFormat,

    /// Require a token of every client of --http and --dashboard (the
    /// probes /health/live and /health/ready excepted) and --pg (as the
    /// password, checked with SCRAM-SHA-256): read from this file (its first
    /// line), else from $TWEETSTREAM_TOKEN. HTTP clients send it as
    /// `Authorization: Bearer TOKEN` or as the password of basic auth.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,

    /// Serve --http and --dashboard as HTTPS and --pg over TLS only, with
    /// this certificate chain (PEM, the server's certificate first; e.g.
    /// certbot's fullchain.pem). Read again when it changes on disk.
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Let web pages of this origin (e.g. http://localhost:8888, a notebook)
    /// read --http and --dashboard, events included (CORS). Repeatable; `*`
    /// for any origin. Off by default: pages of other origins cannot read.
    #[arg(long, value_name = "ORIGIN")]
    pub cors_origin: Vec<String>,

    /// Time limit of one SQL query.
    #[arg(long, default_value = "5s", value_parser = super::values::duration, value_name = "DURATION")]
    pub sql_timeout: Duration,

    /// Rows one SQL query returns at most (the rest is cut off and flagged).
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = super::values::count_in(super::values::SQL_ROWS, "--sql-max-rows"))]
    pub sql_max_rows: usize,

    /// Memory SQLite may use for queries (sorts, temporary tables): a query that
    /// needs more is stopped with an error. 1MiB to 1TiB.
    #[arg(long, default_value = "256MiB", value_name = "SIZE", value_parser = super::values::size_in(super::values::SQL_MEMORY, "--sql-memory"))]
    pub sql_memory: usize,

    /// Largest request a client of --http, --dashboard or --pg may send: an HTTP
    /// body (413 above it) or a PostgreSQL message (an error, then closed).
    #[arg(long, default_value = "1MiB", value_name = "SIZE", value_parser = super::values::size_in(super::values::REQUEST_BYTES, "--max-request-bytes"), help_heading = "Listener limits")]
    pub max_request_bytes: usize,

    /// Time a client has to send its request headers (HTTP; also the longest an
    /// HTTP connection waits idle for its next request) or its startup message
    /// (PostgreSQL).
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = super::values::duration, help_heading = "Listener limits")]
    pub header_timeout: Duration,

    /// A PostgreSQL connection idle this long between messages is closed.
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = super::values::duration, help_heading = "Listener limits")]
    pub idle_timeout: Duration,

    /// Connections each of --http, --dashboard and --pg serves at once; one more
    /// is answered with an error (HTTP 503) and closed.
    #[arg(long, default_value_t = 256, value_name = "N", value_parser = super::values::count_in(super::values::CONNECTIONS, "--max-connections"), help_heading = "Listener limits")]
    pub max_connections: usize,

    /// Keep the per-day sentiment and tag totals in MongoDB, exactly once (Kafka
    /// mode): one document per partition with its totals and next offset, written
    /// atomically per batch; the engine resumes from there after a restart or crash,
    /// and several engines of one group share it. Without a value: $MONGO_URI,
    /// else mongodb://127.0.0.1:27017 (a URI with a password is best given
    /// that way, out of the process list).
    #[arg(long, value_name = "MONGODB_URI", requires = "kafka", num_args = 0..=1, default_missing_value = "")]
    pub results: Option<String>,

    /// Database of the results.
    #[arg(long, default_value = "lab4", requires = "results", value_name = "DB")]
    pub results_db: String,

    /// Collection of the per-partition result documents.
    #[arg(long, default_value = "stream_results", requires = "results", value_name = "NAME")]
    pub results_collection: String,

    /// With --results: what to do when a partition's log went backwards below
    /// the stored offset (a broker lost acknowledged messages, or the topic was
    /// created again): stop with an error, or drop that partition's stored
    /// results and count its log again from the start.
    #[arg(long, value_enum, default_value_t = OnTruncation::Fail, requires = "results", value_name = "POLICY")]
    pub on_truncation: OnTruncation,

    /// With --results or --checkpoint in Kafka mode: what to do when messages
    /// were deleted from the log (retention) before they were counted: stop
    /// with an error, or continue at the first offset that still exists.
    #[arg(long, value_enum, default_value_t = OnGap::Fail, requires = "stored", value_name = "POLICY")]
    pub on_gap: OnGap,

    /// Keep the engine's state (tag totals, per-day sums, the window, the batch
    /// log) and, in Kafka mode, every partition's next offset in this file,
    /// saved as one record per batch; a restart goes on from it, so Kafka
    /// mode counts every message exactly once without MongoDB. A Kafka engine
    /// with a checkpoint reads every partition of its topics itself instead of
    /// sharing them in a group: to scale out to several engines, use --results.
    #[arg(long, value_name = "PATH", conflicts_with = "results")]
    pub checkpoint: Option<PathBuf>,

    /// Drop the --checkpoint's saved state and start over (needed to change a
    /// setting the state depends on: the source or topics, --hashtags,
    /// --sentiment, --batch, --window, --slide).
    #[arg(long, requires = "checkpoint")]
    pub checkpoint_reset: bool,

    /// Testing aid, in debug builds only (the tests'): abort the process
    /// right after this many batches have stored records, before offsets are
    /// committed to Kafka. A release binary has no such flag.
    #[cfg(debug_assertions)]
    #[arg(long, hide = true, requires = "results")]
    pub crash_after_stores: Option<u64>,
}

impl Args {
    /// The job these arguments describe.
    pub fn config(self) -> anyhow::Result<StreamConfig> {
        if self.tls_cert.is_some() && self.http.is_none() && self.dashboard.is_none() && self.pg.is_none() {
            anyhow::bail!(
                "--tls-cert and --tls-key are for the listeners: give --http, --dashboard or --pg too"
            );
        }
        let feeds = self.feeds.feeds()?;
        let source = match (self.connect, self.kafka) {
            (sockets, _) if !sockets.is_empty() || !feeds.is_empty() || !self.file.is_empty() => {
                SourceConfig::Live { sockets, files: self.file, feeds, silence: self.feeds.silence_timeout }
            }
            (_, brokers) => SourceConfig::Kafka(KafkaConfig {
                brokers: or_env(brokers.unwrap_or_default(), "KAFKA_BROKERS", "127.0.0.1:9092"),
                topics: self.topic,
                group: self.group,
                from: self.from,
                options: self.kafka_config.into_iter().flat_map(|p| p.0).chain(self.kafka_options).collect(),
                results: self.results.map(|uri| ResultsTarget {
                    uri: or_env(uri, "MONGO_URI", crate::connect::mongo::DEFAULT_URI),
                    db: self.results_db,
                    collection: self.results_collection,
                    #[cfg(debug_assertions)]
                    crash_after_stores: self.crash_after_stores,
                    #[cfg(not(debug_assertions))]
                    crash_after_stores: None,
                }),
                on_truncation: self.on_truncation,
                on_gap: self.on_gap,
                ..KafkaConfig::new("")
            }),
        };
        Ok(StreamConfig {
            input: self.input,
            batch: self.batch,
            hashtags: self.hashtags,
            sentiment: self.sentiment.model(),
            select: self.select.select(),
            undated: self.undated,
            print_every: self.print_every,
            top: self.top,
            format: self.format,
            print_sql: self.print_sql,
            batches: self.batches,
            stop_when_idle: self.stop_when_idle,
            stop_at_records: self
                .stop_after_records
                .map(|n| std::sync::Arc::new(std::sync::atomic::AtomicU64::new(n))),
            max_line_bytes: self.max_line_bytes,
            window: self.window.map(|w| (w, self.slide)),
            max_tags: self.max_tags,
            workers: self.workers,
            http: self.http,
            dashboard: self.dashboard,
            refresh: self.refresh,
            pg: self.pg,
            out: self.out,
            out_format: self.out_format,
            token: crate::serve::auth::Credentials(token(self.token_file.as_deref())?),
            tls: match (&self.tls_cert, &self.tls_key) {
                (Some(cert), Some(key)) => Some(crate::serve::tls::Certificate::load(cert, key)?),
                _ => None,
            },
            cors_origins: self.cors_origin,
            sql: sql::Limits {
                timeout: self.sql_timeout,
                max_rows: self.sql_max_rows,
                memory: self.sql_memory,
            },
            listener: listener::Limits {
                max_request_bytes: self.max_request_bytes,
                header_timeout: self.header_timeout,
                idle_timeout: self.idle_timeout,
                max_connections: self.max_connections,
            },
            checkpoint: self.checkpoint.map(|path| CheckpointTarget { path, reset: self.checkpoint_reset }),
            ..StreamConfig::new(source)
        })
    }
}

/// The token: the first line of `file`, else `$TWEETSTREAM_TOKEN`; an
/// empty one is an error (it would admit anyone who sends nothing).
pub(super) fn token(file: Option<&std::path::Path>) -> anyhow::Result<Option<crate::secret::Secret>> {
    let token = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--token-file {}: {e}", path.display()))?;
            Some(text.lines().next().unwrap_or("").trim().to_owned())
        }
        None => std::env::var("TWEETSTREAM_TOKEN").ok(),
    };
    match token {
        Some(t) if t.is_empty() => {
            anyhow::bail!("the token (--token-file or TWEETSTREAM_TOKEN) is empty; give one, or unset it")
        }
        other => Ok(other.map(crate::secret::Secret::new)),
    }
}

/// `value`, or when it is empty (the flag given without one) the environment
/// variable `var`, or `default`.
fn or_env(value: String, var: &str, default: &str) -> String {
    if !value.is_empty() {
        return value;
    }
    std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

fn parse_batch(s: &str) -> Result<BatchSpec, String> {
    if s == "manual" { Ok(BatchSpec::Manual) } else { super::values::duration(s).map(BatchSpec::Every) }
}

fn parse_print_every(s: &str) -> Result<PrintEvery, String> {
    match s {
        "batch" => Ok(PrintEvery::Batch),
        "never" => Ok(PrintEvery::Never),
        d => super::values::duration(d).map(PrintEvery::Every),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    args.dates.install()?;
    let runtime = super::runtime()?;
    let result = runtime.block_on(async move {
        let shutdown = crate::shutdown::on_signal();
        job::run(args.config()?, shutdown).await.map(drop)
    });
    // A read of stdin (manual batches) cannot be cancelled; do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: Args,
    }

    /// The command line's defaults are the configuration's.
    #[test]
    fn defaults_agree_with_the_configuration() {
        let parsed = Wrapper::try_parse_from(["stream", "--connect", "h:1"]).unwrap().args.config().unwrap();
        let plain = StreamConfig::new(SourceConfig::Live {
            sockets: vec!["h:1".into()],
            files: vec![],
            feeds: vec![],
            silence: None,
        });
        assert_eq!(format!("{parsed:?}"), format!("{plain:?}"));
        let parsed = Wrapper::try_parse_from(["stream", "--kafka", "b:9"]).unwrap().args.config().unwrap();
        let plain = StreamConfig::new(SourceConfig::Kafka(KafkaConfig::new("b:9")));
        assert_eq!(format!("{parsed:?}"), format!("{plain:?}"));
    }
}
