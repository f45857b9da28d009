//! The Kafka source: consumes one or more topics in a consumer group and hands
//! the messages to the engine as chunks of lines, one message per line and one
//! partition per chunk, each chunk carrying its topic, partition and offsets
//! ([`Origin`]). Several topics are read as one stream: the batch holds their
//! union.
//!
//! A JSON message never needs a raw newline (inside strings they must be
//! escaped), so newlines in a payload are turned into spaces: valid JSON stays
//! valid, and one message stays one record.
//!
//! With a results store ([`positions`]), offsets are not committed automatically:
//! the store says where each partition resumes, and the store commits offsets
//! to Kafka after it has stored a batch, for monitoring only. With a
//! checkpoint, the source assigns itself every partition of its topics instead
//! of joining the group's rebalancing, and adds partitions created later.

pub mod close;
pub mod exactly_once;
pub mod log_watch;

use super::{Context, Source, SourceStatus};
use crate::codec::{Chunk, Origin, PartitionId, Topics};
use crate::connect::kafka::{ClientLog, client_config};
use bytes::BytesMut;
use exactly_once::positions::Positions;
use exactly_once::truncation::{self, OnGap, OnTruncation};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{ClientContext, TopicPartitionList};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where a group without committed offsets starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StartFrom {
    Earliest,
    Latest,
}

#[derive(Clone)]
pub struct KafkaSource {
    pub brokers: String,
    pub topics: Topics,
    pub group: String,
    pub from: StartFrom,
    pub max_line_bytes: usize,
    /// Read exactly these partitions from these offsets instead of joining the
    /// group's assignment (the `lab` command: only what it produced itself).
    pub start_at: Option<Vec<(PartitionId, i64)>>,
    /// Resume each partition where the results store says (exactly-once mode).
    pub positions: Option<Arc<Positions>>,
    /// Extra librdkafka settings (`-X key=value`), applied last.
    pub options: Vec<(String, String)>,
    /// With a results store: what to do when a partition's log went backwards.
    pub on_truncation: OnTruncation,
    /// With a results store: what to do when messages were deleted unread.
    pub on_gap: OnGap,
    /// Read every partition of the topics, assigned by the source itself
    /// (each from its stored position) instead of joining the group's
    /// rebalancing: a checkpoint belongs to one engine.
    pub assign_all: bool,
}

/// The consumer, as the source and the results store share it (closed within
/// a deadline when the last of them drops it).
pub type KafkaConsumer = close::Closing<StreamConsumer<Rebalances>>;

/// Logs partition assignments, forgets the positions of revoked partitions,
/// and says the source is connected once it has partitions (before any
/// message arrives: an empty topic is a healthy source).
pub struct Rebalances {
    topics: Topics,
    positions: Option<Arc<Positions>>,
    status: Arc<SourceStatus>,
    log: ClientLog,
}

impl ClientContext for Rebalances {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        self.log.log(level, facility, message);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.log.error(error, reason);
    }
}

impl ConsumerContext for Rebalances {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let parts = partitions_of(tpl, &self.topics);
                tracing::info!("kafka: partitions revoked: {}", self.topics.list(&parts));
                if let Some(p) = &self.positions {
                    p.forget(&parts);
                }
            }
            Rebalance::Assign(tpl) => {
                if tpl.count() > 0 {
                    self.status.set_connected(true);
                }
                tracing::info!(
                    "kafka: assigned partitions {}",
                    self.topics.list(&partitions_of(tpl, &self.topics))
                );
            }
            Rebalance::Error(e) => tracing::warn!("kafka: rebalance error: {e}"),
        }
    }
}

/// The partitions in `tpl` of the source's topics.
fn partitions_of(tpl: &TopicPartitionList, topics: &Topics) -> Vec<PartitionId> {
    tpl.elements()
        .iter()
        .filter_map(|e| Some(PartitionId { topic: topics.index(e.topic())?, partition: e.partition() }))
        .collect()
}

/// The next offset of every partition of `topic` (its end now), creating nothing.
pub fn end_offsets(
    brokers: &str,
    options: &[(String, String)],
    topic: &str,
) -> anyhow::Result<Vec<(i32, i64)>> {
    let consumer: BaseConsumer<ClientLog> = client_config(brokers, options)
        .set("group.id", "tweetstream-watermarks")
        .create_with_context(ClientLog::default())?;
    let timeout = Duration::from_secs(30);
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut ends = Vec::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            let (_, high) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
            ends.push((p.id(), high));
        }
    }
    Ok(ends)
}

/// Messages gathered into one chunk at most.
const CHUNK_MESSAGES: usize = 2000;

impl KafkaSource {
    /// Creates the consumer and subscribes (configuration errors surface here);
    /// `status` follows the partition assignments.
    pub fn subscribe(&self, status: Arc<SourceStatus>) -> anyhow::Result<KafkaConsumer> {
        let context = Rebalances {
            topics: self.topics.clone(),
            positions: self.positions.clone(),
            status,
            log: ClientLog::default(),
        };
        // With a results store, offsets are committed by the store after each
        // stored batch; otherwise Kafka commits what was read every few seconds.
        let auto_commit = if self.positions.is_some() { "false" } else { "true" };
        // The user's settings go on last (below), over the consumer's own.
        let mut config = client_config(&self.brokers, &[]);
        config
            .set("group.id", &self.group)
            .set("auto.offset.reset", if self.from == StartFrom::Earliest { "earliest" } else { "latest" })
            .set("enable.auto.commit", auto_commit)
            .set("enable.partition.eof", "false")
            // A topic deleted and created again (or given partitions) is
            // assigned within seconds, not at the default 5 minutes: the
            // log watch then checks it against the stored results.
            .set("topic.metadata.refresh.interval.ms", "5000");
        for (key, value) in &self.options {
            config.set(key, value);
        }
        let consumer: StreamConsumer<Rebalances> = config
            .create_with_context(context)
            .map_err(|e| anyhow::anyhow!("kafka consumer for {}: {e}", self.brokers))?;
        match &self.start_at {
            None if self.assign_all => {}
            None => {
                let names: Vec<&str> = self.topics.names().iter().map(String::as_str).collect();
                consumer.subscribe(&names)?;
                tracing::info!(
                    "consuming {} {} from {} as group {}",
                    if names.len() == 1 { "topic" } else { "topics" },
                    names.join(", "),
                    self.brokers,
                    self.group
                );
            }
            Some(starts) => {
                let mut tpl = rdkafka::TopicPartitionList::new();
                for (id, offset) in starts {
                    let topic = self.topics.name(id.topic);
                    tpl.add_partition_offset(topic, id.partition, rdkafka::Offset::Offset(*offset))?;
                }
                consumer.assign(&tpl)?;
                tracing::info!(
                    "consuming {} partitions of {} from given offsets",
                    starts.len(),
                    self.topics.names().join(", ")
                );
            }
        }
        Ok(close::Closing::new(consumer))
    }
}

/// How often the consumer lag is measured.
const LAG_EVERY: Duration = Duration::from_secs(5);

/// Measures the group's lag per assigned partition (the log's end minus the
/// committed offset) every [`LAG_EVERY`], for `/metrics`, until `shutdown`.
async fn report_lag(consumer: Arc<KafkaConsumer>, topics: Topics, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(LAG_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let (consumer, topics) = (consumer.clone(), topics.clone());
        let measured = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<(String, i32, i64)>> {
            let timeout = Duration::from_secs(2);
            let committed = consumer.committed(timeout)?;
            let mut lags = Vec::new();
            for topic in topics.names() {
                for e in committed.elements_for_topic(topic) {
                    let (low, high) = consumer.fetch_watermarks(topic, e.partition(), timeout)?;
                    // Nothing committed yet: the whole log is the lag.
                    let at = match e.offset() {
                        rdkafka::Offset::Offset(n) => n,
                        _ => low,
                    };
                    lags.push((topic.clone(), e.partition(), (high - at).max(0)));
                }
            }
            Ok(lags)
        })
        .await;
        match measured {
            Ok(Ok(lags)) => {
                for (topic, partition, lag) in lags {
                    crate::metrics::metrics()
                        .kafka_lag
                        .get_or_create(&crate::metrics::Partition { topic, partition })
                        .set(lag);
                }
            }
            Ok(Err(e)) => tracing::debug!("kafka: measuring the lag failed: {e:#}"),
            Err(_) => return,
        }
    }
}

/// Assigns the consumer every partition of the source's topics, each from its
/// stored position (or where `--from` says when none is stored), waiting for
/// topics that do not exist yet. Returns the partitions (`None`: shut down
/// meanwhile).
async fn assign_all(
    src: &KafkaSource,
    consumer: &KafkaConsumer,
    status: &SourceStatus,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Vec<PartitionId>>> {
    let mut backoff = crate::retry::Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    let mut reported = None;
    let partitions = loop {
        // A short wait, tried again: a shutdown is not held up by a broker
        // that does not answer.
        let found = tokio::task::block_in_place(|| {
            partitions_of_topics(consumer, &src.topics, Duration::from_secs(2))
        });
        let missing = match found {
            Ok(Ok(partitions)) => break partitions,
            Ok(Err(missing)) => format!("topic {missing} does not exist (yet); waiting for it"),
            Err(e) => format!("kafka: reading the topics' partitions failed ({e}); retrying"),
        };
        if reported.as_ref() != Some(&missing) {
            tracing::warn!("{missing}");
            reported = Some(missing);
        }
        if !backoff.wait(shutdown.cancelled()).await {
            return Ok(None);
        }
    };
    let unstored = match src.from {
        StartFrom::Earliest => rdkafka::Offset::Beginning,
        StartFrom::Latest => rdkafka::Offset::End,
    };
    let (tpl, stored) = starting_points(src, &partitions, unstored).await?;
    consumer.assign(&tpl)?;
    status.set_connected(true);
    tracing::info!(
        "kafka: reading all {} partitions of {} ({stored} from saved offsets), without a group's \
         rebalancing",
        partitions.len(),
        src.topics.names().join(", ")
    );
    Ok(Some(partitions))
}

/// `partitions` with the offsets to read them from: each one's stored
/// position, or `unstored`; and how many had a stored position.
async fn starting_points(
    src: &KafkaSource,
    partitions: &[PartitionId],
    unstored: rdkafka::Offset,
) -> anyhow::Result<(TopicPartitionList, usize)> {
    let positions = src.positions.as_ref().expect("assign_all comes with stored positions");
    let mut tpl = TopicPartitionList::new();
    let mut stored = 0;
    for &id in partitions {
        let offset = match positions.resume_from(id).await? {
            Some(at) => {
                stored += 1;
                rdkafka::Offset::Offset(at.next)
            }
            None => unstored,
        };
        tpl.add_partition_offset(src.topics.name(id.topic), id.partition, offset)?;
    }
    Ok((tpl, stored))
}

/// How often a source that assigned itself every partition looks for
/// partitions added to its topics since.
const NEW_PARTITIONS_EVERY: Duration = Duration::from_secs(5);

/// Adds the partitions created in the source's topics after [`assign_all`]
/// to the consumer's assignment, every [`NEW_PARTITIONS_EVERY`] until
/// `shutdown`. A new partition is read from its beginning (unless a position
/// is stored): everything in it was written after the engine started.
async fn follow_new_partitions(
    src: KafkaSource,
    consumer: Arc<KafkaConsumer>,
    mut known: Vec<PartitionId>,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(NEW_PARTITIONS_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let (reader, topics) = (consumer.clone(), src.topics.clone());
        // A short wait: a shutdown waits for this call to return.
        let found = tokio::task::spawn_blocking(move || {
            partitions_of_topics(&reader, &topics, Duration::from_secs(2))
        })
        .await;
        let added: Vec<PartitionId> = match found {
            Ok(Ok(Ok(found))) => found.into_iter().filter(|p| !known.contains(p)).collect(),
            // A topic gone or a broker away: the source's own errors say so.
            Ok(_) => continue,
            Err(_) => return,
        };
        if added.is_empty() {
            continue;
        }
        let assigned = async {
            let (tpl, _) = starting_points(&src, &added, rdkafka::Offset::Beginning).await?;
            consumer.incremental_assign(&tpl)?;
            anyhow::Ok(())
        };
        match assigned.await {
            Ok(()) => {
                tracing::info!(
                    "kafka: partitions added to the topics, now read too: {}",
                    src.topics.list(&added)
                );
                known.extend(added);
            }
            Err(e) => {
                tracing::warn!("kafka: cannot read the partitions added to the topics ({e:#}); retrying")
            }
        }
    }
}

/// Every partition of `topics`, or the name of one that does not exist (each
/// topic's metadata waited for `timeout` at most).
fn partitions_of_topics(
    consumer: &KafkaConsumer,
    topics: &Topics,
    timeout: Duration,
) -> anyhow::Result<Result<Vec<PartitionId>, String>> {
    let mut all = Vec::new();
    for (index, name) in topics.names().iter().enumerate() {
        let metadata = consumer.fetch_metadata(Some(name), timeout)?;
        let found = metadata.topics().iter().find(|t| t.name() == name);
        match found {
            Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
                all.extend(
                    t.partitions().iter().map(|p| PartitionId { topic: index as u16, partition: p.id() }),
                );
            }
            _ => return Ok(Err(name.clone())),
        }
    }
    Ok(Ok(all))
}

/// Lines of one partition being gathered into a chunk.
struct Pending {
    buf: BytesMut,
    origin: Origin,
    /// Where the last line starts in `buf`, and its message's timestamp (for
    /// the fingerprint of the last message, [`Origin::last`]).
    last_start: usize,
    last_timestamp: Option<i64>,
}

/// The Kafka source as a job runs it: the consumer (shared with a results
/// store, which commits through it), and the engine's stop, cancelled when
/// stored offsets cannot be trusted.
pub struct Kafka {
    pub src: KafkaSource,
    pub consumer: Arc<KafkaConsumer>,
    /// Its name (the topics and brokers, as the dashboard says them).
    pub name: String,
    pub abort: CancellationToken,
}

impl Source for Kafka {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn run(self: Box<Self>, cx: Context) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            let abort = self.abort.clone();
            let ended = run(*self, &cx).await;
            if ended.is_err() {
                abort.cancel();
            }
            ended
        })
    }
}

/// Forwards messages until the shutdown; broker errors are logged and
/// retried. Stored offsets that cannot be trusted end it with an error.
async fn run(kafka: Kafka, cx: &Context) -> anyhow::Result<()> {
    let Kafka { src, consumer, .. } = kafka;
    if src.assign_all {
        let Some(partitions) = assign_all(&src, &consumer, &cx.status, &cx.shutdown).await? else {
            return Ok(());
        };
        tokio::spawn(follow_new_partitions(src.clone(), consumer.clone(), partitions, cx.shutdown.clone()));
    }
    tokio::spawn(report_lag(consumer.clone(), src.topics.clone(), cx.shutdown.clone()));
    let mut reader = Reader { src, pending: Vec::new(), last_error: None };
    let mut watch = log_watch::LogWatch::default();
    let mut check_logs = tokio::time::interval(log_watch::EVERY);
    check_logs.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            () = cx.shutdown.cancelled() => return Ok(()),
            _ = check_logs.tick() => {
                watch.look(&reader.src, &consumer, &cx.status, &cx.shutdown).await?;
                continue;
            }
            m = consumer.recv() => m,
        };
        reader.gather(&consumer, first, cx).await?;
        for p in reader.pending.drain(..) {
            if send(&cx.tx, p, reader.src.max_line_bytes).await.is_err() {
                return Ok(());
            }
        }
    }
}

/// The message loop's state: the chunks being gathered, per partition, and
/// when the last broker error was logged.
struct Reader {
    src: KafkaSource,
    pending: Vec<Pending>,
    last_error: Option<Instant>,
}

impl Reader {
    /// Takes `first` and what else has arrived already, up to
    /// [`CHUNK_MESSAGES`], into the pending chunks.
    async fn gather(
        &mut self,
        consumer: &KafkaConsumer,
        first: Result<BorrowedMessage<'_>, rdkafka::error::KafkaError>,
        cx: &Context,
    ) -> anyhow::Result<()> {
        let src = &self.src;
        let mut next = Some(first);
        let mut n = 0;
        while let Some(result) = next.take() {
            let msg = match result {
                Ok(msg) => msg,
                Err(e) => {
                    cx.status.set_connected(false);
                    if self.last_error.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                        tracing::warn!(error = %e, "kafka: {e}; retrying");
                        self.last_error = Some(Instant::now());
                    }
                    // Back to the outer wait, which also watches for the
                    // shutdown: a broker that stays down gives an error at
                    // every poll, and polling them here would never end.
                    tokio::select! {
                        () = cx.shutdown.cancelled() => {}
                        () = tokio::time::sleep(Duration::from_millis(200)) => {}
                    }
                    return Ok(());
                }
            };
            if !cx.status.swap_connected(true) || self.last_error.take().is_some() {
                tracing::info!("receiving from {}", src.topics.names().join(", "));
            }
            // Every message is of a topic asked for (the index is found).
            let topic = src.topics.index(msg.topic()).unwrap_or_default();
            let id = PartitionId { topic, partition: msg.partition() };
            if let Some((epoch, first)) = exactly_once::admit(src, consumer, id, &msg, &cx.shutdown).await? {
                append(&mut self.pending, id, &msg, epoch, first, src.max_line_bytes, &cx.tx).await;
                n += 1;
            }
            if n < CHUNK_MESSAGES {
                next = consumer.recv().now_or_never();
            }
        }
        Ok(())
    }
}

/// Appends a message to its partition's pending chunk (sending that chunk
/// first if the message does not continue it).
async fn append(
    pending: &mut Vec<Pending>,
    partition: PartitionId,
    msg: &BorrowedMessage<'_>,
    epoch: u64,
    first: i64,
    max_line_bytes: usize,
    tx: &mpsc::Sender<Chunk>,
) {
    let index = match pending.iter().position(|p| p.origin.partition == partition) {
        Some(i) if pending[i].origin.epoch == epoch && pending[i].origin.next == first => i,
        found => {
            if let Some(i) = found {
                let _ = send(tx, pending.swap_remove(i), max_line_bytes).await;
            }
            let origin = Origin { partition, epoch, first, next: first, last: 0 };
            let buf = BytesMut::with_capacity(64 * 1024);
            pending.push(Pending { buf, origin, last_start: 0, last_timestamp: None });
            pending.len() - 1
        }
    };
    let p = &mut pending[index];
    let start = p.buf.len();
    p.last_start = start;
    p.last_timestamp = msg.timestamp().to_millis();
    p.buf.extend_from_slice(msg.payload().unwrap_or_default());
    for b in &mut p.buf[start..] {
        if *b == b'\n' || *b == b'\r' {
            *b = b' ';
        }
    }
    p.buf.extend_from_slice(b"\n");
    p.origin.next = msg.offset() + 1;
}

async fn send(tx: &mpsc::Sender<Chunk>, mut p: Pending, max_line_bytes: usize) -> Result<(), ()> {
    let last_line = &p.buf[p.last_start..p.buf.len() - 1];
    p.origin.last = truncation::fingerprint(last_line, p.last_timestamp);
    let chunk = Chunk::from_lines(p.buf.freeze(), max_line_bytes, Some(p.origin));
    tx.send(chunk).await.map_err(drop)
}
