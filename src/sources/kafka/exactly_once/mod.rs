//! Exactly-once results from Kafka (`stream --kafka … --results`): the
//! source's half of the protocol, in one place. (The store's half, the
//! conditional write of one document per partition, is in
//! `sinks/results.rs`; the two meet through [`crate::sources::acks`].)
//!
//! The protocol:
//! 1. The store keeps, per partition, the totals of every message below
//!    `next_offset`, and a fingerprint of the message at `next_offset - 1`.
//! 2. When the source gets a partition (start, rebalance), it reads that
//!    position from the store ([`crate::sources::acks::PositionStore`]), checks
//!    the log still holds what was counted ([`truncation`]), and forwards the
//!    partition's messages strictly in offset order from there
//!    ([`positions::Positions`]): older ones were counted and are skipped; a
//!    jump ahead seeks back; a jump back it did not ask for restarts the
//!    partition from the store, with the check.
//! 3. Each chunk carries its partition, offsets and the source's *epoch* of the
//!    partition ([`crate::codec::Origin`]). After each batch the store writes
//!    each partition's new totals and `next_offset` in one atomic conditional
//!    write whose filter is the offset the batch started from: all or nothing,
//!    never twice.
//! 4. The store acknowledges through the handle the source gave it
//!    ([`KafkaAcks`]): the source commits the stored offsets to Kafka (for
//!    lag monitoring only; the store's position is the truth), and a partition
//!    stored further by another engine is rewound there in a new epoch, so the
//!    stale chunks of the old epoch are dropped.
//!
//! Crash cases: a crash before the write loses nothing (the batch is read
//! again from the stored position); during it, the write happened or did not,
//! atomically; after it and before the Kafka commit, the messages below the
//! stored position are read again and skipped as counted. A rebalance while a
//! batch is in flight: the engine that lost the partition finds the document
//! further along and drops its part. A log that went backwards or lost its
//! start is never skipped silently ([`truncation`]).

pub mod positions;
pub mod truncation;

use super::{KafkaConsumer, KafkaSource};
use crate::codec::{PartitionId, Topics};
use crate::connect::kafka::client_config;
use crate::retry::retrying;
use crate::sources::acks::{Acknowledge, Resume};
use positions::{Positions, Verdict};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use truncation::{LogCheck, OnGap, OnTruncation};

/// The store's handle back to the Kafka source: epochs and rewinds go to the
/// positions, stored offsets are committed on the consumer.
pub struct KafkaAcks {
    topics: Topics,
    consumer: Arc<KafkaConsumer>,
    positions: Arc<Positions>,
}

impl KafkaAcks {
    pub fn new(topics: Topics, consumer: Arc<KafkaConsumer>, positions: Arc<Positions>) -> Self {
        KafkaAcks { topics, consumer, positions }
    }
}

impl Acknowledge for KafkaAcks {
    fn epoch(&self, partition: PartitionId) -> Option<u64> {
        self.positions.epoch(partition)
    }

    fn stored(&self, up_to: &[(PartitionId, i64)]) {
        let mut committed = TopicPartitionList::new();
        for &(id, next) in up_to {
            let topic = self.topics.name(id.topic);
            if let Err(e) = committed.add_partition_offset(topic, id.partition, Offset::Offset(next)) {
                tracing::debug!("kafka offset of {}: {e}", self.topics.describe(id));
            }
        }
        if committed.count() > 0
            && let Err(e) = self.consumer.commit(&committed, CommitMode::Async)
        {
            tracing::debug!("kafka offset commit failed (the store has the results): {e}");
        }
    }

    fn stored_elsewhere(&self, partition: PartitionId, at: i64) {
        self.positions.rewind(partition, at);
    }
}

/// Whether a message is forwarded, as `(epoch, first offset of its range)`.
/// Without a results store every message is; with one, see [`Positions::check`].
/// An error is fatal: the stored offsets cannot be trusted (see [`truncation`]).
pub async fn admit(
    src: &KafkaSource,
    consumer: &KafkaConsumer,
    partition: PartitionId,
    msg: &BorrowedMessage<'_>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<(u64, i64)>> {
    let offset = msg.offset();
    let Some(positions) = &src.positions else { return Ok(Some((0, offset))) };
    let verdict = match positions.check(partition, offset) {
        Some(Verdict::Restart) => {
            tracing::warn!(
                "{}: the consumer went back to offset {offset} by itself; \
                 checking the log against the stored results",
                src.topics.describe(partition)
            );
            start_partition(src, consumer, positions, partition, offset, shutdown).await?
        }
        Some(verdict) => Some(verdict),
        None => start_partition(src, consumer, positions, partition, offset, shutdown).await?,
    };
    Ok(match verdict {
        Some(Verdict::Take { epoch, first }) => Some((epoch, first)),
        Some(Verdict::Gap { to }) => {
            seek_back(src, consumer, positions, partition, to)?;
            None
        }
        Some(Verdict::Skip | Verdict::Restart) | None => None,
    })
}

/// How a partition's tracking started from the store.
pub(super) enum Started {
    /// Nothing is stored for it: it starts where the consumer is.
    Unstored,
    /// At the stored position, its log checked.
    Resumed(i64),
    /// Its log went backwards; its stored results were dropped and it is
    /// counted again from this offset (`--on-truncation recount`).
    Recounted(i64),
}

/// Starts tracking `partition` from its stored position, once its log is
/// checked against that position (`None`: shut down meanwhile).
pub(super) async fn start_from_store(
    src: &KafkaSource,
    consumer: &KafkaConsumer,
    positions: &Positions,
    partition: PartitionId,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Started>> {
    let what = src.topics.describe(partition);
    let Some(stored) = retrying(
        shutdown,
        || positions.resume_from(partition),
        || format!("{what}: cannot read the stored position"),
    )
    .await
    else {
        return Ok(None);
    };
    let Some(stored) = stored else { return Ok(Some(Started::Unstored)) };
    let next = stored.next;
    match check_log(src, consumer, partition, stored, shutdown).await {
        None => return Ok(None),
        Some(LogCheck::Intact) => positions.start(partition, next),
        Some(LogCheck::Truncated { why, low }) => {
            return Ok(went_backwards(src, positions, partition, next, why, low, shutdown)
                .await?
                .then_some(Started::Recounted(low)));
        }
        Some(LogCheck::Gap { low }) => {
            gap(src, partition, next, low)?;
            positions.start(partition, next);
            positions.skip_hole(partition, low);
        }
    }
    Ok(Some(Started::Resumed(next)))
}

/// Starts tracking a partition seen for the first time (at `offset`) from its
/// stored position, once its log is checked against that position, and
/// decides about that first message (`None`: shut down meanwhile).
async fn start_partition(
    src: &KafkaSource,
    consumer: &KafkaConsumer,
    positions: &Positions,
    partition: PartitionId,
    offset: i64,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Verdict>> {
    let what = src.topics.describe(partition);
    match start_from_store(src, consumer, positions, partition, shutdown).await? {
        None => return Ok(None),
        Some(Started::Unstored) => positions.start(partition, offset),
        // A consumer past the offset seeks back to it at the first check.
        Some(Started::Recounted(_)) => {}
        Some(Started::Resumed(next)) if offset < next => tracing::info!(
            "{what}: resuming at offset {next}, where the stored results end \
             (offsets {offset}..{next} were already counted: skipping them)"
        ),
        Some(Started::Resumed(next)) => {
            tracing::info!("{what}: resuming at offset {next}, where the stored results end")
        }
    }
    Ok(positions.check(partition, offset))
}

/// The log of `partition` no longer holds what the store counted up to
/// `next`: an error (`--on-truncation fail`), or the stored results dropped
/// and the partition tracked again from `low` (`recount`; false: shut down
/// meanwhile).
pub(super) async fn went_backwards(
    src: &KafkaSource,
    positions: &Positions,
    partition: PartitionId,
    next: i64,
    why: String,
    low: i64,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
    let what = src.topics.describe(partition);
    match src.on_truncation {
        OnTruncation::Fail => anyhow::bail!(
            "{what}: {why}. The log went backwards (a broker lost \
             acknowledged messages, or the topic was created again), so the stored results for \
             offsets 0..{next} no longer match it; nothing more was stored. {}",
            positions.recount_advice()
        ),
        OnTruncation::Recount => {
            tracing::warn!(
                "{what}: {why}; --on-truncation recount: dropping its \
                 stored results and counting it again from offset {low}"
            );
            let reset = retrying(
                shutdown,
                || positions.reset_store(partition, low),
                || format!("{what}: cannot reset the stored results"),
            )
            .await;
            if reset.is_none() {
                return Ok(false);
            }
            positions.start(partition, low);
            Ok(true)
        }
    }
}

/// Checks `partition`'s log against its stored position, retrying while
/// the broker does not answer (`None`: shut down meanwhile).
async fn check_log(
    src: &KafkaSource,
    consumer: &KafkaConsumer,
    partition: PartitionId,
    stored: Resume,
    shutdown: &CancellationToken,
) -> Option<LogCheck> {
    let config = client_config(&src.brokers, &src.options);
    let (topic, p) = (src.topics.name(partition.topic), partition.partition);
    retrying(
        shutdown,
        || async {
            tokio::task::block_in_place(|| {
                truncation::check_log(&**consumer, &config, topic, p, stored.next, stored.last)
            })
        },
        || format!("{}: cannot check the log", src.topics.describe(partition)),
    )
    .await
}

/// Offsets `next..low` were deleted before they were counted: an error, or a
/// logged skip with `--on-gap skip`.
fn gap(src: &KafkaSource, partition: PartitionId, next: i64, low: i64) -> anyhow::Result<()> {
    let what = format!(
        "{}: offsets {next}..{low} were deleted from the log (retention) before they were counted",
        src.topics.describe(partition)
    );
    match src.on_gap {
        OnGap::Fail => {
            anyhow::bail!("{what}; to continue at offset {low} without them, run with --on-gap skip")
        }
        OnGap::Skip => {
            tracing::error!("{what}; --on-gap skip: continuing at offset {low}");
            Ok(())
        }
    }
}

/// Seeks `partition` back to `to`, unless those offsets are gone from the topic.
fn seek_back(
    src: &KafkaSource,
    consumer: &KafkaConsumer,
    positions: &Positions,
    partition: PartitionId,
    to: i64,
) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(10);
    let (topic, p, what) =
        (src.topics.name(partition.topic), partition.partition, src.topics.describe(partition));
    tokio::task::block_in_place(|| {
        if let Ok((low, _)) = consumer.fetch_watermarks(topic, p, timeout)
            && low > to
        {
            gap(src, partition, to, low)?;
            positions.skip_hole(partition, low);
            if let Err(e) = consumer.seek(topic, p, Offset::Offset(low), timeout) {
                tracing::warn!("{what}: seek to {low} failed: {e}");
                positions.seek_failed(partition);
            }
            return Ok(());
        }
        tracing::info!("{what}: seeking back to offset {to}");
        if let Err(e) = consumer.seek(topic, p, Offset::Offset(to), timeout) {
            tracing::warn!("{what}: seek to {to} failed: {e}; trying again");
            positions.seek_failed(partition);
        }
        Ok(())
    })
}
