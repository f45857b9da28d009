//! The interface between a source of partitioned records (Kafka) and a store
//! that keeps their results exactly once (`stream --results`).
//!
//! Acknowledgements flow back to the source, as Vector's finalizers do: the
//! source hands the store an [`Acknowledge`] handle, and the store reports
//! through it what it stored; the store never touches the consumer. The other
//! way round, the source reads where each partition's stored results end from a
//! [`PositionStore`], which the store implements. Both sides of the protocol
//! are explained in [`crate::sources::kafka::exactly_once`].

use crate::codec::PartitionId;

/// What a store of results tells the source.
pub trait Acknowledge: Send + Sync {
    /// The partition's current epoch at the source (`None`: the partition is
    /// not the source's any more). Results of another epoch are stale.
    fn epoch(&self, partition: PartitionId) -> Option<u64>;
    /// Every record below these offsets is stored (partition, next offset):
    /// the source may commit them.
    fn stored(&self, up_to: &[(PartitionId, i64)]);
    /// The partition's results are stored further than this source read, up
    /// to `at` (by another engine of the group): the source continues there.
    fn stored_elsewhere(&self, partition: PartitionId, at: i64);
}

/// Where a partition's stored results end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resume {
    /// The first offset not counted.
    pub next: i64,
    /// The fingerprint of the record at `next - 1` (`None`: stored before
    /// fingerprints were kept).
    pub last: Option<u64>,
}

/// The stored positions, as the source reads them.
#[async_trait::async_trait]
pub trait PositionStore: Send + Sync {
    /// Where `partition`'s stored results end (`None`: nothing stored yet).
    async fn resume_from(&self, partition: PartitionId) -> anyhow::Result<Option<Resume>>;
    /// Drops `partition`'s stored results; they start again, empty, at `offset`
    /// (`--on-truncation recount`).
    async fn reset(&self, partition: PartitionId, offset: i64) -> anyhow::Result<()>;
    /// How the user counts a partition whose log went backwards again, in words.
    fn recount_advice(&self) -> &'static str {
        "To count this partition again from its start, run with --on-truncation recount"
    }
}
