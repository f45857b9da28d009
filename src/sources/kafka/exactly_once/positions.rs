//! Where the Kafka source stands in each partition when results are stored
//! exactly once (`stream --results`): the results store, not Kafka's committed
//! offsets, says where each partition resumes.
//!
//! The source forwards each partition's messages strictly in offset order from
//! the stored position: older messages were already counted and are skipped; a
//! jump ahead makes it seek back. A jump back that the source did not ask for
//! (the consumer reset its position: the log may have been truncated) makes it
//! start the partition again from the store, with the checks of
//! [`super::truncation`]. The results store rewinds a partition when its
//! conditional write finds that someone else stored it further (another engine of
//! the group, after a rebalance); the rewind starts a new *epoch*, so chunks read
//! before it are recognized as stale and dropped instead of stored.

use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::codec::PartitionId;
use crate::sources::acks::{PositionStore, Resume};

#[derive(Clone, Copy, Debug)]
struct Position {
    epoch: u64,
    /// The next offset to forward.
    next: i64,
    /// A seek back to `next` is under way: later offsets still in flight are skipped.
    seeking: bool,
    /// After offsets that no longer exist were given up: the offset the next
    /// forwarded range starts from (so the store's position moves past the hole).
    hole_from: Option<i64>,
    /// A message was forwarded in this epoch: a later one below `next` means
    /// the consumer jumped back by itself.
    took: bool,
}

/// What to do with a message at some offset.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Forward it, in a range starting at `first` (its own offset, unless a hole
    /// of deleted offsets is being stepped over).
    Take { epoch: u64, first: i64 },
    /// Already counted, or in flight from before a seek.
    Skip,
    /// Offsets are missing before it: seek back to `to`.
    Gap { to: i64 },
    /// The consumer went back by itself: start the partition again from the
    /// store (and check its log).
    Restart,
}

pub struct Positions {
    map: Mutex<FxHashMap<PartitionId, Position>>,
    epochs: AtomicU64,
    store: Arc<dyn PositionStore>,
}

impl Positions {
    pub fn new(store: Arc<dyn PositionStore>) -> Self {
        Positions { map: Mutex::default(), epochs: AtomicU64::new(1), store }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FxHashMap<PartitionId, Position>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The stored position of `partition`, from the results store.
    pub async fn resume_from(&self, partition: PartitionId) -> anyhow::Result<Option<Resume>> {
        self.store.resume_from(partition).await
    }

    /// How the user counts a partition whose log went backwards again.
    pub fn recount_advice(&self) -> &'static str {
        self.store.recount_advice()
    }

    /// Drops the partition's stored results; they start again at `offset`.
    pub async fn reset_store(&self, partition: PartitionId, offset: i64) -> anyhow::Result<()> {
        self.store.reset(partition, offset).await
    }

    /// Starts tracking `partition` at `next` (the stored position, or the first
    /// offset Kafka delivers when nothing is stored), in a new epoch.
    pub fn start(&self, partition: PartitionId, next: i64) {
        let epoch = self.epochs.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(partition, Position { epoch, next, seeking: false, hole_from: None, took: false });
    }

    /// The partitions tracked, each with the next offset it forwards.
    pub fn tracked(&self) -> Vec<(PartitionId, i64)> {
        self.lock().iter().map(|(p, pos)| (*p, pos.next)).collect()
    }

    /// The current epoch of `partition` (None: not assigned, or forgotten).
    pub fn epoch(&self, partition: PartitionId) -> Option<u64> {
        self.lock().get(&partition).map(|p| p.epoch)
    }

    /// Rewinds (or advances) `partition` to `next` in a new epoch: what was read
    /// before is stale.
    pub fn rewind(&self, partition: PartitionId, next: i64) {
        self.start(partition, next);
    }

    /// Forgets partitions taken away by a rebalance: their results in flight are
    /// stale, and if they come back their position is read from the store again.
    pub fn forget(&self, partitions: &[PartitionId]) {
        let mut map = self.lock();
        for p in partitions {
            map.remove(p);
        }
    }

    /// Decides about a message of a tracked partition at `offset` (`None`: the
    /// partition is not tracked; look up where it resumes and [`Positions::start`] it).
    pub fn check(&self, partition: PartitionId, offset: i64) -> Option<Verdict> {
        let mut map = self.lock();
        let pos = map.get_mut(&partition)?;
        Some(if offset == pos.next {
            pos.next += 1;
            pos.seeking = false;
            pos.took = true;
            Verdict::Take { epoch: pos.epoch, first: pos.hole_from.take().unwrap_or(offset) }
        } else if offset < pos.next && pos.took && !pos.seeking {
            map.remove(&partition);
            Verdict::Restart
        } else if offset < pos.next || pos.seeking {
            Verdict::Skip
        } else {
            pos.seeking = true;
            Verdict::Gap { to: pos.next }
        })
    }

    /// The seek for a gap failed: the next message past the gap tries again.
    pub fn seek_failed(&self, partition: PartitionId) {
        if let Some(pos) = self.lock().get_mut(&partition) {
            pos.seeking = false;
        }
    }

    /// The offsets from the position up to `available` no longer exist in the
    /// topic (deleted by retention before they were counted): continue at
    /// `available`, with the next range starting at the old position so the
    /// store moves past the hole.
    pub fn skip_hole(&self, partition: PartitionId, available: i64) {
        if let Some(pos) = self.lock().get_mut(&partition) {
            pos.hole_from = Some(pos.next);
            pos.next = available;
            pos.seeking = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store with nothing stored.
    struct Empty;

    #[async_trait::async_trait]
    impl PositionStore for Empty {
        async fn resume_from(&self, _: PartitionId) -> anyhow::Result<Option<Resume>> {
            Ok(None)
        }
        async fn reset(&self, _: PartitionId, _: i64) -> anyhow::Result<()> {
            Ok(())
        }
    }

    /// Partition `n` of the first topic.
    fn p(n: i32) -> PartitionId {
        PartitionId { topic: 0, partition: n }
    }

    fn positions() -> Positions {
        Positions::new(Arc::new(Empty))
    }

    #[test]
    fn forwards_in_order_skips_counted_and_seeks_back_over_gaps() {
        let pos = positions();
        assert_eq!(pos.check(p(0), 5), None, "unknown partition");
        pos.start(p(0), 5);
        let epoch = pos.epoch(p(0)).unwrap();
        assert_eq!(pos.check(p(0), 3), Some(Verdict::Skip), "already counted");
        assert_eq!(pos.check(p(0), 5), Some(Verdict::Take { epoch, first: 5 }));
        assert_eq!(pos.check(p(0), 8), Some(Verdict::Gap { to: 6 }));
        assert_eq!(pos.check(p(0), 9), Some(Verdict::Skip), "in flight from before the seek");
        assert_eq!(pos.check(p(0), 6), Some(Verdict::Take { epoch, first: 6 }));
        pos.seek_failed(p(0));
        assert_eq!(pos.check(p(0), 9), Some(Verdict::Gap { to: 7 }));
        pos.skip_hole(p(0), 9);
        assert_eq!(pos.check(p(0), 9), Some(Verdict::Take { epoch, first: 7 }), "the range covers the hole");
        assert_eq!(pos.check(p(0), 10), Some(Verdict::Take { epoch, first: 10 }));
        // The consumer jumps back by itself: start again (and forget the partition).
        assert_eq!(pos.check(p(0), 4), Some(Verdict::Restart));
        assert_eq!(pos.check(p(0), 4), None);
    }

    #[test]
    fn rewinds_and_forgets_start_new_epochs() {
        let pos = positions();
        pos.start(p(1), 0);
        let first = pos.epoch(p(1)).unwrap();
        pos.rewind(p(1), 40);
        let second = pos.epoch(p(1)).unwrap();
        assert_ne!(first, second);
        assert_eq!(pos.check(p(1), 0), Some(Verdict::Skip));
        pos.forget(&[p(1)]);
        assert_eq!(pos.epoch(p(1)), None);
        pos.start(p(1), 40);
        assert!(pos.epoch(p(1)).unwrap() > second, "epochs never repeat");
    }
}
