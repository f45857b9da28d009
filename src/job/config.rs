//! What a streaming job is made of, as plain values with defaults: the
//! engine's configuration, independent of the command line. `stream` builds it
//! from its arguments; `demo` and `lab` build it directly.

use crate::codec::{DEFAULT_MAX_LINE_BYTES, PartitionId};
use crate::engine::run::PrintEvery;
use crate::engine::window::WindowSpec;
use crate::sentiment::Model;
use crate::serve::listener;
use crate::sinks::print::OutputFormat;
use crate::sources::kafka::StartFrom;
use crate::sources::kafka::exactly_once::truncation::{OnGap, OnTruncation};
use crate::sql;
use crate::state::Identity;
use crate::transforms::hashtags::HashtagMode;
use crate::tweet::InputFormat;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The batch interval, or manual batches (one per line on stdin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchSpec {
    Every(Duration),
    Manual,
}

/// Where records come from.
#[derive(Clone, Debug)]
pub enum SourceConfig {
    /// Sources that push lines as they come, read as one stream (their
    /// union): TCP servers, each read as a client (`socketTextStream`), and
    /// live feeds (Jetstream, X, Mastodon).
    Live {
        sockets: Vec<String>,
        /// Files read at full speed (`--file`); the run ends at their end
        /// when they are its only sources.
        files: Vec<std::path::PathBuf>,
        feeds: Vec<crate::sources::live::Feed>,
        /// How long a feed may be silent (None: each feed's default).
        silence: Option<Duration>,
    },
    Kafka(KafkaConfig),
}

/// Kafka topics, read in a consumer group.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    pub brokers: String,
    /// One or more topics, read as one stream (their union).
    pub topics: Vec<String>,
    pub group: String,
    pub from: StartFrom,
    /// librdkafka settings (`-X key=value`), applied last.
    pub options: Vec<(String, String)>,
    /// Read exactly these partitions from these offsets instead of joining the
    /// group's assignment (`lab`: only what it produced itself).
    pub start_at: Option<Vec<(PartitionId, i64)>>,
    /// Store results exactly once in MongoDB.
    pub results: Option<ResultsTarget>,
    /// With stored positions (results or a checkpoint): what to do when a
    /// partition's log went backwards.
    pub on_truncation: OnTruncation,
    /// With stored positions: what to do when messages were deleted unread.
    pub on_gap: OnGap,
}

impl KafkaConfig {
    /// Topic `tweets` on `brokers`, group `tweetstream`, from the earliest offset.
    pub fn new(brokers: &str) -> Self {
        KafkaConfig {
            brokers: brokers.to_owned(),
            topics: vec!["tweets".into()],
            group: "tweetstream".into(),
            from: StartFrom::Earliest,
            options: Vec::new(),
            start_at: None,
            results: None,
            on_truncation: OnTruncation::default(),
            on_gap: OnGap::default(),
        }
    }
}

/// Where and how results are stored exactly once.
#[derive(Clone, Debug)]
pub struct ResultsTarget {
    pub uri: String,
    pub db: String,
    pub collection: String,
    /// Testing aid, honoured by debug builds only: abort the process after
    /// this many stored batches, before offsets are committed to Kafka.
    pub crash_after_stores: Option<u64>,
}

/// A streaming job: source, operators, batches, outputs and limits.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    pub source: SourceConfig,
    pub input: InputFormat,
    pub batch: BatchSpec,
    pub hashtags: HashtagMode,
    /// The sentiment model (None: hashtags only).
    pub sentiment: Option<Model>,
    /// Which posts are kept (`--track`, `--lang`).
    pub select: crate::transforms::select::Select,
    /// What day a tweet with no date counts on.
    pub undated: crate::engine::batch::Undated,
    pub print_every: PrintEvery,
    /// Rows of printed tag tables (0: all).
    pub top: usize,
    pub format: OutputFormat,
    /// The statement the timer prints (None: the original job's, with `top`).
    pub print_sql: Option<String>,
    /// Stop after this many batches.
    pub batches: Option<u64>,
    /// Stop after this many empty batches in a row, once data has been seen.
    pub stop_when_idle: Option<u64>,
    /// Stop once this many records were counted (u64::MAX while not yet known).
    pub stop_at_records: Option<Arc<AtomicU64>>,
    pub max_line_bytes: usize,
    /// `tag_window`: its length and slide (None: every batch).
    pub window: Option<(Duration, Option<Duration>)>,
    /// `--max-tags`: `tag_totals` keeps at most this many tags.
    pub max_tags: Option<usize>,
    pub workers: usize,
    pub http: Option<String>,
    pub dashboard: Option<String>,
    /// How often the dashboard page refreshes.
    pub refresh: Duration,
    pub pg: Option<String>,
    /// Write the final tables into this directory when the run ends.
    pub out: Option<std::path::PathBuf>,
    pub out_format: crate::sinks::out::OutFormat,
    /// The token clients of `http` and `dashboard` must present.
    pub token: crate::serve::auth::Credentials,
    /// The certificate of the listeners, which then take TLS only.
    pub tls: Option<crate::serve::tls::Certificate>,
    /// Origins whose web pages may read `http` and `dashboard` (CORS).
    pub cors_origins: Vec<String>,
    pub sql: sql::Limits,
    pub listener: listener::Limits,
    /// Keep the engine's state (and Kafka offsets) in this file across restarts.
    pub checkpoint: Option<CheckpointTarget>,
}

/// The checkpoint file of a job.
#[derive(Clone, Debug)]
pub struct CheckpointTarget {
    pub path: PathBuf,
    /// Drop its saved state and start over.
    pub reset: bool,
}

/// Two ingest workers per core keep the cores busy while one waits its turn.
pub fn default_workers() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl StreamConfig {
    /// A job reading `source` with every default (those of `stream --help`).
    pub fn new(source: SourceConfig) -> Self {
        StreamConfig {
            source,
            input: InputFormat::Json,
            batch: BatchSpec::Every(Duration::from_secs(10)),
            hashtags: HashtagMode::Twitter,
            sentiment: Some(Model::Vader),
            select: crate::transforms::select::Select::default(),
            undated: crate::engine::batch::Undated::Skip,
            print_every: PrintEvery::Every(Duration::from_secs(15)),
            top: 10,
            format: OutputFormat::Table,
            print_sql: None,
            batches: None,
            stop_when_idle: None,
            stop_at_records: None,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            window: None,
            max_tags: None,
            workers: default_workers(),
            http: None,
            dashboard: None,
            refresh: Duration::from_secs(5),
            pg: None,
            out: None,
            out_format: crate::sinks::out::OutFormat::Csv,
            token: Default::default(),
            tls: None,
            cors_origins: Vec::new(),
            sql: sql::Limits::default(),
            listener: listener::Limits::default(),
            checkpoint: None,
        }
    }

    /// The statement the timer prints: the original's top tags of the latest
    /// batch, or of the window when there is one (what a windowed DStream
    /// job prints).
    pub fn timer_sql(&self) -> String {
        self.print_sql.clone().unwrap_or_else(|| {
            let top = if self.top == 0 { -1 } else { self.top as i64 };
            let table = if self.window.is_some() { "tag_window" } else { "tag_counts" };
            format!("select tag, count from {table} order by count desc limit {top}")
        })
    }

    /// `--window`/`--slide` as batch counts, or why they don't fit.
    pub fn window_spec(&self) -> anyhow::Result<Option<WindowSpec>> {
        let Some((window, slide)) = self.window else { return Ok(None) };
        let BatchSpec::Every(batch) = self.batch else {
            anyhow::bail!("--window needs a timed --batch interval, not manual batches");
        };
        let in_batches = |d: Duration, what: &str| -> anyhow::Result<usize> {
            let n = d.as_nanos() / batch.as_nanos();
            anyhow::ensure!(
                n >= 1 && n * batch.as_nanos() == d.as_nanos(),
                "{what} {d:?} is not a multiple of the batch interval {batch:?}"
            );
            Ok(n as usize)
        };
        let spec = WindowSpec {
            size: in_batches(window, "--window")?,
            slide: in_batches(slide.unwrap_or(batch), "--slide")?,
        };
        Ok(Some(spec))
    }

    /// The settings a checkpoint's state depends on: those that change what
    /// is counted or how batches and the window are cut.
    pub fn checkpoint_identity(&self) -> Identity {
        let mut entries = vec![(
            "source",
            match &self.source {
                // `socket`, `jetstream`, `socket+jetstream`, …
                SourceConfig::Live { sockets, files, feeds, .. } => {
                    let socket = (!sockets.is_empty()).then_some("socket");
                    let file = (!files.is_empty()).then_some("file");
                    let kinds: Vec<&str> =
                        socket.into_iter().chain(file).chain(feeds.iter().map(|f| f.kind())).collect();
                    kinds.join("+")
                }
                SourceConfig::Kafka(_) => "kafka".to_owned(),
            },
        )];
        if let SourceConfig::Kafka(k) = &self.source {
            let mut topics = k.topics.clone();
            topics.sort();
            topics.dedup();
            entries.push(("--topic", topics.join(",")));
        }
        let batch = match self.batch {
            BatchSpec::Every(d) => Some(d),
            BatchSpec::Manual => None,
        };
        let window = self.window.map(|(length, slide)| (length, slide.or(batch)));
        let duration = |d: Option<Duration>| d.map_or_else(|| "none".to_owned(), |d| format!("{d:?}"));
        entries.extend([
            (
                "--hashtags",
                clap::ValueEnum::to_possible_value(&self.hashtags)
                    .map(|v| v.get_name().to_owned())
                    .unwrap_or_default(),
            ),
            ("--sentiment", self.sentiment.map_or("none", Model::name).to_owned()),
            ("--batch", batch.map_or_else(|| "manual".to_owned(), |d| format!("{d:?}"))),
            ("--window", duration(window.map(|w| w.0))),
            ("--slide", duration(window.and_then(|w| w.1))),
        ]);
        // Only when given: a checkpoint of a run without it has no such entry.
        if let Some(max) = self.max_tags {
            entries.push(("--max-tags", max.to_string()));
        }
        Identity(entries)
    }

    /// Each source's name (as `/health` and the metrics list them).
    pub fn source_names(&self) -> Vec<String> {
        match &self.source {
            SourceConfig::Live { sockets, files, feeds, .. } => sockets
                .iter()
                .map(|a| format!("socket {a}"))
                .chain((!files.is_empty()).then(|| {
                    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                    format!("file {}", names.join(", "))
                }))
                .chain(feeds.iter().map(|f| f.name()))
                .collect(),
            SourceConfig::Kafka(_) => vec![self.source_name()],
        }
    }

    /// Where records come from, in words (for the dashboard).
    pub fn source_name(&self) -> String {
        match &self.source {
            SourceConfig::Live { .. } => self.source_names().join(", "),
            SourceConfig::Kafka(k) => {
                let s = if k.topics.len() == 1 { "" } else { "s" };
                format!("Kafka topic{s} {} on {}", k.topics.join(", "), k.brokers)
            }
        }
    }
}
