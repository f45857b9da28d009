//! A streaming job, wired from a [`StreamConfig`]: the source feeding the
//! engine, the servers reading its tables (HTTP, dashboard, PostgreSQL), and
//! the sinks it hands batches and reports to (the terminal, the MongoDB
//! results store). This is the one place that knows every stage; each stage
//! knows only those upstream of it.

pub mod config;

pub use config::{BatchSpec, CheckpointTarget, KafkaConfig, ResultsTarget, SourceConfig, StreamConfig};

use crate::codec::Topics;
use crate::engine::Engine;
use crate::engine::batch::Operators;
use crate::engine::clock::BatchClock;
use crate::engine::outputs::{BatchStore, StateStore};
use crate::engine::run::{self, Ended, StopWhen};
use crate::serve::health::Readiness;
use crate::serve::{dashboard, http, pg};
use crate::sinks::print::Printer;
use crate::sinks::results::{Results, ResultsConfig, ResultsStore};
use crate::sources::acks::PositionStore;
use crate::sources::kafka::exactly_once::KafkaAcks;
use crate::sources::kafka::exactly_once::positions::Positions;
use crate::sources::kafka::{self, KafkaSource};
use crate::sources::live::{Feed, FeedSettings, LiveFeed, jetstream};
use crate::sources::{Source, SourceStatus, Sources, file::Files, socket::Socket};
use crate::sql::{self, SqlEngine};
use crate::state::{Checkpoint, CheckpointConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Chunks queued between the source and the engine: up to 16 of 256 KiB
/// (socket) or 2,000 messages (Kafka), enough to ride out a slow batch close.
const QUEUED_CHUNKS: usize = 16;

/// Runs the job until it stops (a stop condition, the end of manual batches,
/// `shutdown`, or a source that must end the run: its error is the job's).
pub async fn run(config: StreamConfig, shutdown: CancellationToken) -> anyhow::Result<Ended> {
    let window = config.window_spec()?;
    let ops = Operators {
        input: config.input,
        hashtags: config.hashtags,
        sentiment: config.sentiment,
        select: config.select.clone(),
        undated: config.undated,
    };
    let mut engine = Engine::new(ops, config.workers, window).with_max_tags(config.max_tags);
    // A checkpoint that cannot be used stops the run before anything starts.
    let mut checkpoint = open_checkpoint(&config, &mut engine).await?;
    sql::sandbox::set_process_ceiling(config.sql.memory);
    let sql = Arc::new(
        SqlEngine::new(engine.tables(), window.is_some(), config.sql).with_extension(pg::catalog::install),
    );
    let timer_sql = config.timer_sql();
    // A bad statement fails now, not at the first print.
    sql.query(&timer_sql).map_err(|e| anyhow::anyhow!("--print-sql: {e}"))?;
    let (tx, rx) = mpsc::channel(QUEUED_CHUNKS);
    let (sources, statuses) = Sources::new(config.source_names());
    let source_stop = shutdown.child_token();
    // Stops the engine like a shutdown; a source cancels it when it must end the run.
    let engine_stop = shutdown.child_token();
    let shared = shared(&config, &engine, sources, sql.clone());
    let servers = Servers::start(&config, shared, &source_stop).await?;
    let stores = (&source_stop, &engine_stop, checkpoint.as_mut());
    let (source, mut results) = start_source(&config, tx, statuses, stores).await?;
    let mut printer = Printer::stdout(config.format, (config.top > 0).then_some(config.top));
    printer.timer = Some((sql, timer_sql));
    let plan = run::Plan {
        clock: match config.batch {
            BatchSpec::Every(period) => BatchClock::interval(period),
            BatchSpec::Manual => BatchClock::manual(stdin_ticks()),
        },
        print_every: config.print_every,
        stop: StopWhen {
            batches: config.batches,
            idle_batches: config.stop_when_idle,
            records: config.stop_at_records.clone(),
        },
        reporter: &mut printer,
        store: results.as_mut().map(|r| r as &mut dyn BatchStore),
        checkpoint: checkpoint.as_mut().map(|c| c as &mut dyn StateStore),
        replayable: replayable(&config),
    };
    let ended = run::run(&mut engine, rx, plan, engine_stop).await;
    source_stop.cancel();
    let source_failed = source.await.ok().and_then(Result::err);
    servers.stop().await;
    let ended = match source_failed {
        Some(e) => return Err(e),
        None => ended?,
    };
    // The final tables as files, once the run ended well.
    if let Some(dir) = &config.out {
        let snapshot = engine.tables().snapshot();
        let files = crate::sinks::out::write(dir, &snapshot, config.out_format)?;
        tracing::info!("out: wrote {} tables into {}", files.len(), dir.display());
    }
    Ok(ended)
}

/// What the servers reading the live tables share.
fn shared(
    config: &StreamConfig,
    engine: &Engine,
    sources: Arc<Sources>,
    sql: Arc<SqlEngine>,
) -> http::Shared {
    let readiness = Readiness {
        batch_every: match config.batch {
            BatchSpec::Every(period) => Some(period),
            BatchSpec::Manual => None,
        },
        started_ms: crate::time::now_millis(),
    };
    http::Shared {
        readiness,
        tables: engine.tables(),
        source: sources,
        sql,
        limits: config.listener,
        frames: Default::default(),
        cors: crate::serve::cors::Origins(config.cors_origins.clone().into()),
        credentials: config.token.clone(),
        tls: config.tls.clone(),
    }
}

/// Whether what was not saved is read again after a restart: from Kafka's
/// offsets, or from a Jetstream's cursor when a checkpoint keeps it.
fn replayable(config: &StreamConfig) -> bool {
    match &config.source {
        SourceConfig::Kafka(_) => true,
        SourceConfig::Live { sockets, feeds, .. } => {
            sockets.is_empty()
                && matches!(feeds.as_slice(), [Feed::Jetstream { .. }])
                && config.checkpoint.is_some()
        }
    }
}

/// Opens the job's checkpoint, if it has one, and restores the engine's state from it.
async fn open_checkpoint(config: &StreamConfig, engine: &mut Engine) -> anyhow::Result<Option<Checkpoint>> {
    let Some(target) = &config.checkpoint else { return Ok(None) };
    let identity = config.checkpoint_identity();
    let opening = CheckpointConfig { path: target.path.clone(), reset: target.reset, identity };
    let (checkpoint, saved) = tokio::task::spawn_blocking(move || Checkpoint::open(&opening)).await??;
    if let Some(saved) = saved {
        engine.restore(saved);
    }
    Ok(Some(checkpoint))
}

/// The servers reading the live tables.
struct Servers(Vec<JoinHandle<()>>);

impl Servers {
    /// Starts those the configuration asks for; they stop taking connections
    /// at `stop`.
    async fn start(
        config: &StreamConfig,
        shared: http::Shared,
        stop: &CancellationToken,
    ) -> anyhow::Result<Self> {
        let mut tasks = Vec::new();
        if let Some(addr) = &config.http {
            tasks.push(http::serve(addr, shared.clone(), stop.clone()).await?.1);
        }
        if let Some(addr) = &config.dashboard {
            let view = dashboard::render::View {
                batch_every: match config.batch {
                    BatchSpec::Every(period) => Some(period),
                    BatchSpec::Manual => None,
                },
                window: config.window.map(|(length, _)| length),
                source: config.source_name(),
            };
            let dash = dashboard::Config { view, refresh: config.refresh };
            tasks.push(dashboard::serve(addr, shared.clone(), dash, stop.clone()).await?.1);
        }
        if let Some(addr) = &config.pg {
            let token = config.token.0.as_ref().map(crate::secret::Secret::expose);
            let (sql, tls) = (shared.sql.clone(), config.tls.as_ref());
            tasks.push(pg::serve(addr, sql, token, tls, config.listener, stop.clone()).await?.1);
        }
        Ok(Servers(tasks))
    }

    /// The open connections (a dashboard page or a driver keeping its
    /// connection alive) get a moment to finish.
    async fn stop(self) {
        for mut server in self.0 {
            if tokio::time::timeout(Duration::from_secs(2), &mut server).await.is_err() {
                server.abort();
            }
        }
    }
}

/// Starts the source; with results stored exactly once, returns the results
/// store too (wired to the source's acknowledgements). A Kafka source with a
/// checkpoint resumes from its offsets and acknowledges to it.
async fn start_source(
    config: &StreamConfig,
    tx: mpsc::Sender<crate::codec::Chunk>,
    statuses: Vec<Arc<SourceStatus>>,
    stores: Stores<'_>,
) -> anyhow::Result<(JoinHandle<anyhow::Result<()>>, Option<Results>)> {
    match &config.source {
        SourceConfig::Live { sockets, files, feeds, silence } => {
            let live = Live { sockets, files, feeds, silence: *silence };
            Ok((start_live(config, live, tx, statuses, stores).await?, None))
        }
        SourceConfig::Kafka(k) => start_kafka(config, k, tx, statuses, stores).await,
    }
}

/// What [`start_source`] hands on: the run's stop, the engine's stop, and
/// the checkpoint, if any.
type Stores<'a> = (&'a CancellationToken, &'a CancellationToken, Option<&'a mut Checkpoint>);

/// The live sources of a run.
struct Live<'a> {
    sockets: &'a [String],
    files: &'a [std::path::PathBuf],
    feeds: &'a [Feed],
    silence: Option<Duration>,
}

/// Starts the live sources: one reader per socket, file and feed, each
/// reconnecting on its own, all into the same channel (the batch holds the
/// union). The task ends when all have ended, or at the first that fails.
async fn start_live(
    config: &StreamConfig,
    Live { sockets, files, feeds, silence }: Live<'_>,
    tx: mpsc::Sender<crate::codec::Chunk>,
    statuses: Vec<Arc<SourceStatus>>,
    (stop, engine_stop, mut checkpoint): Stores<'_>,
) -> anyhow::Result<JoinHandle<anyhow::Result<()>>> {
    // In the order of `config.source_names()`, which the statuses follow.
    let mut list: Vec<Box<dyn Source>> =
        sockets.iter().map(|addr| Box::new(Socket { addr: addr.clone() }) as Box<dyn Source>).collect();
    if !files.is_empty() {
        crate::sources::file::check(files, config.input).await?;
        list.push(Box::new(Files { paths: files.to_vec() }));
    }
    let settings = FeedSettings { stall: silence };
    for feed in feeds {
        let mut feed = feed.clone();
        // With a checkpoint, a Jetstream's position is saved with each
        // batch, and a restart resumes after it.
        let name = feed.name();
        if let (Feed::Jetstream { after, .. }, Some(c)) = (&mut feed, checkpoint.as_deref_mut()) {
            let names = Topics::new([name]);
            c.acknowledge_to(names.clone(), Arc::new(jetstream::Acks));
            let saved = c.offsets(names).resume_from(jetstream::PARTITION).await?;
            *after = saved.map(|r| jetstream::Resume {
                newest: r.next - 1,
                // A checkpoint written before the count was kept: every
                // event of that time was taken, as it then assumed.
                at_newest: r.last.filter(|n| *n > 0).unwrap_or(u64::MAX),
            });
        }
        list.push(Box::new(LiveFeed { feed, settings }));
    }
    let sources = list.into_iter().zip(statuses).collect();
    // A feed that cannot go on (a refused token) ends the run.
    Ok(crate::sources::spawn_all(sources, tx, stop, engine_stop.clone(), config.max_line_bytes))
}

/// Starts the Kafka source; with results stored exactly once, returns the
/// results store too, wired to the source's acknowledgements. With a
/// checkpoint, it resumes from its offsets and acknowledges to it.
async fn start_kafka(
    config: &StreamConfig,
    k: &KafkaConfig,
    tx: mpsc::Sender<crate::codec::Chunk>,
    statuses: Vec<Arc<SourceStatus>>,
    (stop, engine_stop, checkpoint): Stores<'_>,
) -> anyhow::Result<(JoinHandle<anyhow::Result<()>>, Option<Results>)> {
    let status = statuses.into_iter().next().unwrap_or_default();
    let topics = Topics::new(&k.topics);
    let mut src = KafkaSource {
        brokers: k.brokers.clone(),
        topics: topics.clone(),
        group: k.group.clone(),
        from: k.from,
        max_line_bytes: config.max_line_bytes,
        start_at: k.start_at.clone(),
        positions: None,
        options: k.options.clone(),
        on_truncation: k.on_truncation,
        on_gap: k.on_gap,
        assign_all: checkpoint.is_some(),
    };
    if let Some(c) = &checkpoint {
        src.positions = Some(Arc::new(Positions::new(Arc::new(c.offsets(topics.clone())))));
    }
    let store = match &k.results {
        Some(target) => {
            let where_to = ResultsConfig {
                uri: target.uri.clone(),
                db: target.db.clone(),
                collection: target.collection.clone(),
                group: k.group.clone(),
                topics: topics.clone(),
                model: config.sentiment,
            };
            let store = ResultsStore::connect(&where_to).await?;
            src.positions = Some(Arc::new(Positions::new(Arc::new(store.clone()))));
            Some(store)
        }
        None => None,
    };
    let consumer = Arc::new(src.subscribe(status.clone())?);
    if let (Some(c), Some(positions)) = (checkpoint, &src.positions) {
        let acks = KafkaAcks::new(topics.clone(), consumer.clone(), positions.clone());
        c.acknowledge_to(topics.clone(), Arc::new(acks));
    }
    let results = match (store, &src.positions, &k.results) {
        (Some(store), Some(positions), Some(target)) => {
            let acks = KafkaAcks::new(topics.clone(), consumer.clone(), positions.clone());
            let mut r = Results::new(store, Arc::new(acks));
            r.crash_after_stores = target.crash_after_stores;
            Some(r)
        }
        _ => None,
    };
    let source = kafka::Kafka { src, consumer, name: config.source_name(), abort: engine_stop.clone() };
    let sources: Vec<(Box<dyn Source>, _)> = vec![(Box::new(source), status)];
    let task = crate::sources::spawn_all(sources, tx, stop, engine_stop.clone(), config.max_line_bytes);
    Ok((task, results))
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
