//! `tweetstream stream`: the engine. Reads lines from a TCP server, cuts them
//! into micro-batches, counts hashtags and scores sentiment, keeps the live
//! tables and prints the top tags on a timer.

use crate::codec::DEFAULT_MAX_LINE_BYTES;
use crate::engine::Engine;
use crate::engine::batch::Operators;
use crate::engine::clock::BatchClock;
use crate::engine::outputs::BatchStore;
use crate::engine::run::{self, Ended, PrintEvery, StopWhen};
use crate::engine::window::WindowSpec;
use crate::sinks::print::{OutputFormat, Printer};
use crate::sinks::results::{Results, ResultsConfig, ResultsStore};
use crate::sinks::{dashboard, http, listener, pg};
use crate::sources::kafka::exactly_once::KafkaAcks;
use crate::sources::kafka::exactly_once::positions::Positions;
use crate::sources::kafka::exactly_once::truncation::{OnGap, OnTruncation};
use crate::sources::kafka::{self, KafkaSource, StartFrom};
use crate::sources::{SourceStatus, socket};
use crate::sql::{self, SqlEngine};
use crate::transforms::hashtags::HashtagMode;
use crate::tweet::InputFormat;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Example (the classic DStream job):\n  \
tweetstream replay fixtures/tweets.jsonl --rate 500 --loop | nc -lk 9999\n  \
tweetstream stream --connect localhost:9999 --batch 10s --print-every 15s --top 10\n\n\
Kafka mode:\n  \
tweetstream stream --kafka 127.0.0.1:9092 --topic tweets --group lab --from earliest")]
#[command(group(clap::ArgGroup::new("source").required(true).args(["connect", "kafka"])))]
pub struct Args {
    /// Server to read lines from, as a TCP client (like Spark's socketTextStream).
    /// Retries with backoff until it answers, and reconnects if it goes away.
    #[arg(long, value_name = "HOST:PORT", value_parser = super::values::host_port)]
    pub connect: Option<String>,

    /// Consume a Kafka topic instead, from these bootstrap servers.
    #[arg(long, value_name = "BROKERS")]
    pub kafka: Option<String>,

    /// Kafka topic.
    #[arg(long, default_value = "tweets", requires = "kafka")]
    pub topic: String,

    /// Kafka consumer group (several engines in one group share the partitions).
    #[arg(long, default_value = "tweetstream", requires = "kafka")]
    pub group: String,

    /// Where a group without committed offsets starts.
    #[arg(long, value_enum, default_value_t = StartFrom::Earliest, requires = "kafka")]
    pub from: StartFrom,

    /// A librdkafka consumer setting, such as `session.timeout.ms=6000` (repeatable).
    #[arg(long = "kafka-option", short = 'X', value_name = "KEY=VALUE", value_parser = parse_key_value, requires = "kafka")]
    pub kafka_options: Vec<(String, String)>,

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

    /// Count hashtags only; skip sentiment scoring.
    #[arg(long)]
    pub no_sentiment: bool,

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
    #[arg(long, value_name = "N")]
    pub batches: Option<u64>,

    /// Stop after this many empty batches in a row, once data has been seen.
    #[arg(long, value_name = "N")]
    pub stop_when_idle: Option<u64>,

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
    /// and several engines of one group share it.
    #[arg(long, value_name = "MONGODB_URI", requires = "kafka")]
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

    /// With --results: what to do when messages were deleted from the log
    /// (retention) before they were counted: stop with an error, or continue at
    /// the first offset that still exists.
    #[arg(long, value_enum, default_value_t = OnGap::Fail, requires = "results", value_name = "POLICY")]
    pub on_gap: OnGap,

    /// Testing aid: abort the process right after this many batches have stored
    /// records, before offsets are committed to Kafka.
    #[arg(long, hide = true, requires = "results")]
    pub crash_after_stores: Option<u64>,
}

impl Args {
    /// `stream` arguments as the command line `args` would give them (for commands
    /// that run the engine themselves: defaults stay defined in one place).
    pub fn from_command_line(args: &[&str]) -> anyhow::Result<Args> {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: Args,
        }
        use clap::Parser;
        let argv = std::iter::once("stream").chain(args.iter().copied());
        Ok(Wrapper::try_parse_from(argv).map_err(|e| anyhow::anyhow!("internal stream arguments: {e}"))?.args)
    }
}

/// Turns `--window`/`--slide` into batch counts, or says why they don't fit.
fn window_spec(args: &Args) -> anyhow::Result<Option<WindowSpec>> {
    let Some(window) = args.window else { return Ok(None) };
    let BatchSpec::Every(batch) = args.batch else {
        anyhow::bail!("--window needs a timed --batch interval, not manual batches");
    };
    let slide = args.slide.unwrap_or(batch);
    let in_batches = |d: Duration, what: &str| -> anyhow::Result<usize> {
        let n = d.as_nanos() / batch.as_nanos();
        anyhow::ensure!(
            n >= 1 && n * batch.as_nanos() == d.as_nanos(),
            "{what} {d:?} is not a multiple of the batch interval {batch:?}"
        );
        Ok(n as usize)
    };
    let spec = WindowSpec { size: in_batches(window, "--window")?, slide: in_batches(slide, "--slide")? };
    Ok(Some(spec))
}

fn default_workers() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The batch interval, or manual batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchSpec {
    Every(Duration),
    Manual,
}

fn parse_batch(s: &str) -> Result<BatchSpec, String> {
    if s == "manual" { Ok(BatchSpec::Manual) } else { super::values::duration(s).map(BatchSpec::Every) }
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

fn parse_print_every(s: &str) -> Result<PrintEvery, String> {
    match s {
        "batch" => Ok(PrintEvery::Batch),
        "never" => Ok(PrintEvery::Never),
        d => super::values::duration(d).map(PrintEvery::Every),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = super::runtime()?;
    let result = runtime.block_on(async move {
        let shutdown = crate::shutdown::on_signal();
        stream(args, shutdown).await.map(drop)
    });
    // A read of stdin (manual batches) cannot be cancelled; do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// Runs the engine until it stops; the async core of `stream` and `demo`.
pub async fn stream(args: Args, shutdown: CancellationToken) -> anyhow::Result<Ended> {
    stream_with(args, shutdown, Extras::default()).await
}

/// What other commands (`lab`) add to a `stream` run.
#[derive(Default)]
pub struct Extras {
    /// Stop once this many records were counted (see [`StopWhen::records`]).
    pub stop_at_records: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// Read these Kafka partitions from these offsets (see [`KafkaSource::start_at`]).
    pub kafka_start_at: Option<Vec<(i32, i64)>>,
}

/// [`stream`] with extras.
pub async fn stream_with(args: Args, shutdown: CancellationToken, extras: Extras) -> anyhow::Result<Ended> {
    let ops = Operators { input: args.input, hashtags: args.hashtags, sentiment: !args.no_sentiment };
    anyhow::ensure!(args.workers >= 1, "--workers must be at least 1");
    let window = window_spec(&args)?;
    let mut engine = Engine::new(ops, args.workers, window);
    let limits =
        sql::Limits { timeout: args.sql_timeout, max_rows: args.sql_max_rows, memory: args.sql_memory };
    sql::sandbox::set_process_ceiling(args.sql_memory);
    let sql = Arc::new(SqlEngine::new(engine.tables(), window.is_some(), limits));
    let timer_sql = args.print_sql.clone().unwrap_or_else(|| {
        let top = if args.top == 0 { -1 } else { args.top as i64 };
        format!("select tag, count from tag_counts order by count desc limit {top}")
    });
    // A bad statement fails now, not at the first print.
    sql.query(&timer_sql).map_err(|e| anyhow::anyhow!("--print-sql: {e}"))?;
    // Chunks queued between the source and the engine: up to 16 of 256 KiB
    // (socket) or 2,000 messages (Kafka), enough to ride out a slow batch close.
    let (tx, rx) = mpsc::channel(16);
    let status = Arc::new(SourceStatus::default());
    let source_stop = shutdown.child_token();
    // Stops the engine like a shutdown; a source cancels it when it must end the run.
    let engine_stop = shutdown.child_token();
    let listener_limits = listener::Limits {
        max_request_bytes: args.max_request_bytes,
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        max_connections: args.max_connections,
    };
    let shared = http::Shared {
        tables: engine.tables(),
        source: status.clone(),
        sql: sql.clone(),
        limits: listener_limits,
    };
    let http_server = match &args.http {
        Some(addr) => Some(http::serve(addr, shared.clone(), source_stop.clone()).await?.1),
        None => None,
    };
    let dashboard_server = match &args.dashboard {
        Some(addr) => {
            anyhow::ensure!(!args.refresh.is_zero(), "--refresh must be longer than 0");
            let config = dashboard::Config { view: dashboard_view(&args), refresh: args.refresh };
            Some(dashboard::serve(addr, shared, config, source_stop.clone()).await?.1)
        }
        None => None,
    };
    let pg_server = match &args.pg {
        Some(addr) => Some(pg::serve(addr, sql.clone(), listener_limits, source_stop.clone()).await?.1),
        None => None,
    };
    let mut results = None;
    let source = match (&args.connect, &args.kafka) {
        (Some(addr), _) => {
            let socket = socket::run(addr.clone(), args.max_line_bytes, tx, status, source_stop.clone());
            tokio::spawn(async move {
                socket.await;
                Ok(())
            })
        }
        (None, Some(brokers)) => {
            let mut src = KafkaSource {
                brokers: brokers.clone(),
                topic: args.topic.clone(),
                group: args.group.clone(),
                from: args.from,
                max_line_bytes: args.max_line_bytes,
                start_at: extras.kafka_start_at.clone(),
                positions: None,
                options: args.kafka_options.clone(),
                on_truncation: args.on_truncation,
                on_gap: args.on_gap,
            };
            let store = match &args.results {
                Some(uri) => {
                    let config = ResultsConfig {
                        uri: uri.clone(),
                        db: args.results_db.clone(),
                        collection: args.results_collection.clone(),
                        group: args.group.clone(),
                        topic: args.topic.clone(),
                    };
                    let store = ResultsStore::connect(&config).await?;
                    src.positions = Some(Arc::new(Positions::new(Arc::new(store.clone()))));
                    Some(store)
                }
                None => None,
            };
            let consumer = Arc::new(src.subscribe(status.clone())?);
            if let (Some(store), Some(positions)) = (store, &src.positions) {
                let acks = KafkaAcks::new(&src.topic, consumer.clone(), positions.clone());
                let mut r = Results::new(store, Arc::new(acks));
                r.crash_after_stores = args.crash_after_stores;
                results = Some(r);
            }
            tokio::spawn(kafka::run(src, consumer, tx, status, source_stop.clone(), engine_stop.clone()))
        }
        (None, None) => anyhow::bail!("give --connect HOST:PORT or --kafka BROKERS"),
    };
    let clock = match args.batch {
        BatchSpec::Every(period) => BatchClock::interval(period),
        BatchSpec::Manual => BatchClock::manual(stdin_ticks()),
    };
    let top = (args.top > 0).then_some(args.top);
    let mut printer = Printer::stdout(args.format, top);
    printer.timer = Some((sql.clone(), timer_sql));
    let stop = StopWhen {
        batches: args.batches,
        idle_batches: args.stop_when_idle,
        records: extras.stop_at_records,
    };
    let plan = run::Plan {
        clock,
        print_every: args.print_every,
        stop,
        reporter: &mut printer,
        store: results.as_mut().map(|r| r as &mut dyn BatchStore),
    };
    let ended = run::run(&mut engine, rx, plan, engine_stop).await;
    source_stop.cancel();
    // A source that found its input untrustworthy stopped the engine: its
    // error is the run's.
    let source_failed = source.await.ok().and_then(Result::err);
    // Servers stop taking connections at once; the open ones (a dashboard
    // page or a driver keeping its connection alive) get a moment to finish.
    for mut server in [http_server, dashboard_server, pg_server].into_iter().flatten() {
        if tokio::time::timeout(Duration::from_secs(2), &mut server).await.is_err() {
            server.abort();
        }
    }
    match source_failed {
        Some(e) => Err(e),
        None => ended,
    }
}

/// What the dashboard says about this run.
fn dashboard_view(args: &Args) -> dashboard::render::View {
    let source = match (&args.connect, &args.kafka) {
        (Some(addr), _) => format!("socket {addr}"),
        (None, Some(brokers)) => format!("Kafka topic {} on {brokers}", args.topic),
        (None, None) => String::new(),
    };
    let batch_every = match args.batch {
        BatchSpec::Every(period) => Some(period),
        BatchSpec::Manual => None,
    };
    dashboard::render::View { batch_every, window: args.window, source }
}

/// One tick per line of stdin; the channel closes at its end.
fn stdin_ticks() -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(_)) = lines.next_line().await {
            if tx.send(()).await.is_err() {
                return;
            }
        }
    });
    rx
}
