//! A running source's watch over its partitions' logs, every few seconds.
//! Messages show most changes by themselves (a consumer that jumps back is
//! checked at once, see [`super::exactly_once`]); these two show nothing:
//! - a partition that is **no longer in its topic's metadata** (the topic was
//!   deleted): logged once, and the source is not ready (`/health/ready`
//!   says 503) until it is back, whatever the other topics bring (their
//!   messages say the broker is there, not that this topic is);
//! - with stored positions (`--results`, `--checkpoint`), a log that now
//!   **ends below the next offset to forward**: it went backwards under the
//!   engine (a broker that lost its data, a topic created again empty) —
//!   the same check and policy as at a partition's start, instead of waiting
//!   forever for messages that were counted already. A partition assigned
//!   without a message yet is started from the store here (its log checked),
//!   as its first message would.

use super::exactly_once::{self, Started};
use super::{KafkaConsumer, KafkaSource};
use crate::codec::PartitionId;
use crate::sources::SourceStatus;
use rdkafka::Offset;
use rdkafka::consumer::Consumer;
use rustc_hash::FxHashSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the logs are looked at.
pub const EVERY: Duration = Duration::from_secs(5);

/// What one look asks of the broker, at most.
const TIMEOUT: Duration = Duration::from_secs(2);

/// What the last looks found.
#[derive(Default)]
pub struct LogWatch {
    /// Topics found missing.
    missing: FxHashSet<String>,
}

impl LogWatch {
    /// One look at the topics and every assigned partition. An error: a log
    /// went backwards and the policy is to stop.
    pub async fn look(
        &mut self,
        src: &KafkaSource,
        consumer: &KafkaConsumer,
        status: &SourceStatus,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        for topic in src.topics.names() {
            let found = tokio::task::block_in_place(|| has_partitions(consumer, topic));
            match found {
                Some(false) if self.missing.insert(topic.clone()) => {
                    status.set_missing(self.missing.len() as u32);
                    tracing::warn!(
                        %topic,
                        "topic {topic} is not in the broker's metadata any more (deleted?); not ready \
                         until it is back"
                    );
                }
                Some(true) if self.missing.remove(topic) => {
                    tracing::info!(%topic, "topic {topic} is back in the broker's metadata");
                    status.set_missing(self.missing.len() as u32);
                }
                _ => {}
            }
        }
        let Some(positions) = &src.positions else { return Ok(()) };
        let Ok(assigned) = consumer.assignment() else { return Ok(()) };
        let mut partitions: Vec<PartitionId> = assigned
            .elements()
            .iter()
            .filter_map(|e| {
                Some(PartitionId { topic: src.topics.index(e.topic())?, partition: e.partition() })
            })
            .collect();
        partitions.sort_unstable_by_key(|p| (p.topic, p.partition));
        let tracked = positions.tracked();
        for partition in partitions {
            let (topic, p) = (src.topics.name(partition.topic), partition.partition);
            let Some(next) = tracked.iter().find(|(t, _)| *t == partition).map(|(_, n)| *n) else {
                // No message yet: start it from the store, as its first would.
                if let Some(Started::Recounted(low)) =
                    exactly_once::start_from_store(src, consumer, positions, partition, shutdown).await?
                {
                    seek(src, consumer, partition, low);
                }
                continue;
            };
            // A broker that does not answer is the consumer's to report.
            let Ok((low, high)) =
                tokio::task::block_in_place(|| consumer.fetch_watermarks(topic, p, TIMEOUT))
            else {
                continue;
            };
            if high >= next {
                continue;
            }
            let why =
                format!("the log ends at offset {high}, below offset {next} where the stored results end");
            tracing::warn!("{}: {why}", src.topics.describe(partition));
            positions.forget(&[partition]);
            if exactly_once::went_backwards(src, positions, partition, next, why, low, shutdown).await? {
                seek(src, consumer, partition, low);
            }
        }
        Ok(())
    }
}

/// Seeks `partition` to `offset` (the source tracks it from there: if the
/// seek fails, the next message past it seeks there again).
fn seek(src: &KafkaSource, consumer: &KafkaConsumer, partition: PartitionId, offset: i64) {
    let topic = src.topics.name(partition.topic);
    let seek = tokio::task::block_in_place(|| {
        consumer.seek(topic, partition.partition, Offset::Offset(offset), Duration::from_secs(10))
    });
    if let Err(e) = seek {
        tracing::warn!("{}: seek to {offset} failed: {e}", src.topics.describe(partition));
    }
}

/// Whether the broker's metadata has `topic` with partitions (None: the
/// broker does not answer, which is not the topic's absence).
fn has_partitions(consumer: &KafkaConsumer, topic: &str) -> Option<bool> {
    let meta = consumer.fetch_metadata(Some(topic), TIMEOUT).ok()?;
    Some(meta.topics().iter().any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty()))
}
