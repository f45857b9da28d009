//! Can stored offsets still be trusted? Checks a partition's log against the
//! position the results were stored at, before anything more is counted.
//!
//! Stored results say "every message below offset N of partition P is
//! counted", and keep a fingerprint of the message at N - 1. Kafka's offsets
//! only mean the same messages while the log is the same log, and it may not
//! be: a broker that lost acknowledged writes (an unclean leader election, a
//! `kill -9` of a broker without replicas) or a topic deleted and created again
//! under the same name starts its offsets again from 0. Skipping "already
//! counted" offsets of such a log silently counts the wrong messages. So when a
//! partition (re)starts, and when its consumer jumps back without being asked:
//! - the log **went backwards** if its end (high watermark) is below N, or if
//!   the message at N - 1 is not the one counted there (its fingerprint
//!   differs). Policy `--on-truncation`: `fail` (the default) stops the engine
//!   with exit status 1 and an error naming the topic, partition and offsets,
//!   storing nothing of that partition; `recount` drops the partition's stored
//!   results and counts its log again from its start;
//! - the log **lost its start** if its first offset (low watermark) is above N:
//!   messages N.. were deleted (retention) before they were counted. Policy
//!   `--on-gap`: `fail` (the default, like Spark's `failOnDataLoss`) or `skip`
//!   (continue at the first offset that exists; the stored range covers the
//!   hole, so it is never asked for again).

use crate::connect::kafka::ClientLog;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};

/// What to do when a partition's log went backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnTruncation {
    /// Stop with an error (exit status 1), storing nothing of that partition.
    #[default]
    Fail,
    /// Drop the partition's stored results and count its log from the start.
    Recount,
}

/// What to do when messages were deleted before they were counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnGap {
    /// Stop with an error (exit status 1).
    #[default]
    Fail,
    /// Continue at the first offset that still exists.
    Skip,
}

/// The fingerprint of a message as the source forwards it: its line (the
/// payload with line breaks turned into spaces) and its timestamp. FNV-1a, so
/// that it is the same in every build and on every machine.
pub fn fingerprint(line: &[u8], timestamp: Option<i64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    for &b in line {
        eat(if b == b'\n' || b == b'\r' { b' ' } else { b });
    }
    for b in timestamp.unwrap_or(i64::MIN).to_le_bytes() {
        eat(b);
    }
    h
}

/// The fingerprint of a consumed message.
pub fn of_message(msg: &BorrowedMessage<'_>) -> u64 {
    fingerprint(msg.payload().unwrap_or_default(), msg.timestamp().to_millis())
}

/// What the log says about a stored position.
#[derive(Debug, PartialEq, Eq)]
pub enum LogCheck {
    /// The log holds what was counted: go on from the position.
    Intact,
    /// The log went backwards (the reason, in words); it now starts at `low`.
    Truncated { why: String, low: i64 },
    /// Offsets from the position up to `low` were deleted before they were counted.
    Gap { low: i64 },
}

/// Checks `partition`'s log against a stored position: `next` (the first offset
/// not counted) and `last`, the fingerprint of the message at `next - 1` (None
/// for results stored before fingerprints were kept). Blocking: run it with
/// `block_in_place`. `config` connects a short-lived consumer that reads the
/// message at `next - 1`.
pub fn check_log<C: rdkafka::consumer::ConsumerContext>(
    consumer: &impl Consumer<C>,
    config: &rdkafka::ClientConfig,
    topic: &str,
    partition: i32,
    next: i64,
    last: Option<u64>,
) -> anyhow::Result<LogCheck> {
    let timeout = Duration::from_secs(10);
    let (low, high) = consumer
        .fetch_watermarks(topic, partition, timeout)
        .map_err(|e| anyhow::anyhow!("reading the offsets of {topic} partition {partition}: {e}"))?;
    if high < next {
        let why = format!("the log ends at offset {high}, below offset {next} where the stored results end");
        return Ok(LogCheck::Truncated { why, low });
    }
    if low > next {
        return Ok(LogCheck::Gap { low });
    }
    let Some(expected) = last else { return Ok(LogCheck::Intact) };
    if next == 0 || low > next - 1 {
        // The message counted last was deleted by retention: nothing to compare.
        return Ok(LogCheck::Intact);
    }
    match read_one(config, topic, partition, next - 1, timeout)? {
        Some(found) if found == expected => Ok(LogCheck::Intact),
        Some(_) => Ok(LogCheck::Truncated {
            why: format!(
                "the message at offset {} is not the one counted there (the log was rewritten)",
                next - 1
            ),
            low,
        }),
        None => Ok(LogCheck::Truncated { why: format!("no message at offset {} any more", next - 1), low }),
    }
}

/// The fingerprint of the message at `offset`, read with a consumer of its own
/// (no group: it commits nothing and joins no rebalance).
fn read_one(
    config: &rdkafka::ClientConfig,
    topic: &str,
    partition: i32,
    offset: i64,
    timeout: Duration,
) -> anyhow::Result<Option<u64>> {
    let mut config = config.clone();
    config.set("group.id", "tweetstream-log-check").set("enable.auto.commit", "false");
    let reader: BaseConsumer<ClientLog> = config.create_with_context(ClientLog::default())?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    reader.assign(&tpl)?;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match reader.poll(Duration::from_millis(200)) {
            Some(Ok(msg)) if msg.partition() == partition && msg.offset() == offset => {
                return Ok(Some(of_message(&msg)));
            }
            Some(Ok(msg)) if msg.partition() == partition && msg.offset() > offset => return Ok(None),
            Some(Err(e)) => tracing::debug!("reading offset {offset} of {topic}/{partition}: {e}"),
            _ => {}
        }
    }
    anyhow::bail!("could not read offset {offset} of {topic} partition {partition} within {timeout:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_follow_the_forwarded_line_and_the_timestamp() {
        let a = fingerprint(b"{\"tweet\": \"x\"}", Some(5));
        assert_eq!(a, fingerprint(b"{\"tweet\": \"x\"}", Some(5)));
        assert_ne!(a, fingerprint(b"{\"tweet\": \"y\"}", Some(5)));
        assert_ne!(a, fingerprint(b"{\"tweet\": \"x\"}", Some(6)));
        assert_ne!(a, fingerprint(b"{\"tweet\": \"x\"}", None));
        // Line breaks are spaces in the forwarded line.
        assert_eq!(fingerprint(b"a\nb\r", None), fingerprint(b"a b ", None));
        // FNV-1a of the empty line and no timestamp, computed by hand.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in i64::MIN.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        assert_eq!(fingerprint(b"", None), h);
    }
}
