//! The Kafka source: consumes a topic in a consumer group and hands the messages
//! to the engine as chunks of lines, one message per line.
//!
//! A JSON message never needs a raw newline (inside strings they must be
//! escaped), so newlines in a payload are turned into spaces: valid JSON stays
//! valid, and one message stays one record.

use super::socket::SourceStatus;
use crate::codec::Chunk;
use crate::lab::produce::kafka_config;
use bytes::BytesMut;
use futures_util::FutureExt;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where a group without committed offsets starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StartFrom {
    Earliest,
    Latest,
}

#[derive(Clone, Debug)]
pub struct KafkaSource {
    pub brokers: String,
    pub topic: String,
    pub group: String,
    pub from: StartFrom,
    pub max_line_bytes: usize,
    /// Read exactly these partitions from these offsets instead of joining the
    /// group's assignment (the `lab` command: only what it produced itself).
    pub start_at: Option<Vec<(i32, i64)>>,
}

/// The next offset of every partition of `topic` (its end now), creating nothing.
pub fn end_offsets(brokers: &str, topic: &str) -> anyhow::Result<Vec<(i32, i64)>> {
    use rdkafka::consumer::BaseConsumer;
    let consumer: BaseConsumer = kafka_config(brokers).set("group.id", "tweetstream-watermarks").create()?;
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
    /// Creates the consumer and subscribes (configuration errors surface here).
    pub fn subscribe(&self) -> anyhow::Result<StreamConsumer> {
        let consumer: StreamConsumer = kafka_config(&self.brokers)
            .set("group.id", &self.group)
            .set("auto.offset.reset", if self.from == StartFrom::Earliest { "earliest" } else { "latest" })
            .set("enable.auto.commit", "true")
            .set("enable.partition.eof", "false")
            .create()
            .map_err(|e| anyhow::anyhow!("kafka consumer for {}: {e}", self.brokers))?;
        match &self.start_at {
            None => {
                consumer.subscribe(&[&self.topic])?;
                tracing::info!(
                    "consuming topic {} from {} as group {}",
                    self.topic,
                    self.brokers,
                    self.group
                );
            }
            Some(starts) => {
                let mut tpl = rdkafka::TopicPartitionList::new();
                for (partition, offset) in starts {
                    tpl.add_partition_offset(&self.topic, *partition, rdkafka::Offset::Offset(*offset))?;
                }
                consumer.assign(&tpl)?;
                tracing::info!(
                    "consuming {} partitions of topic {} from given offsets",
                    starts.len(),
                    self.topic
                );
            }
        }
        Ok(consumer)
    }
}

/// Forwards messages until `shutdown`; broker errors are logged and retried.
pub async fn run(
    src: KafkaSource,
    consumer: StreamConsumer,
    tx: mpsc::Sender<Chunk>,
    status: Arc<SourceStatus>,
    shutdown: CancellationToken,
) {
    let mut buf = BytesMut::with_capacity(256 * 1024);
    let mut last_error: Option<Instant> = None;
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => return,
            m = consumer.recv() => m,
        };
        let mut next = Some(first);
        let mut n = 0;
        while let Some(result) = next.take() {
            match result {
                Ok(msg) => {
                    if !status.connected.swap(true, Ordering::Relaxed) || last_error.take().is_some() {
                        tracing::info!("receiving from topic {}", src.topic);
                    }
                    let payload = msg.payload().unwrap_or_default();
                    let start = buf.len();
                    buf.extend_from_slice(payload);
                    for b in &mut buf[start..] {
                        if *b == b'\n' || *b == b'\r' {
                            *b = b' ';
                        }
                    }
                    buf.extend_from_slice(b"\n");
                    n += 1;
                }
                Err(e) => {
                    status.connected.store(false, Ordering::Relaxed);
                    if last_error.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                        tracing::warn!("kafka: {e}; retrying");
                        last_error = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            if n < CHUNK_MESSAGES {
                next = consumer.recv().now_or_never();
            }
        }
        if !buf.is_empty() {
            let chunk = Chunk::from_lines(buf.split().freeze(), src.max_line_bytes);
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
    }
}
