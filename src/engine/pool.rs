//! Parallel ingest: decoding, hashtag extraction and sentiment scoring spread
//! over the cores, each of `n` slots folding chunks into its own partial
//! [`Batch`].
//!
//! Each chunk is one short `spawn_blocking` job that takes its slot's state and
//! hands it back; a slot has at most one job in flight, so work in flight is
//! bounded. At a batch boundary every slot's job is awaited and the partials
//! are merged. Merging is
//! order-independent (counts and integer score sums), so results are identical
//! to a single slot's. Chunks of a partitioned source (Kafka) are kept apart by
//! partition, so that each partition's results can be stored with its offsets. (Short jobs, not resident threads: a running blocking job
//! also keeps tokio's paused test clock from jumping ahead, so tests stay exact.)

use super::batch::{Batch, Ingest, Operators};
use crate::codec::{Chunk, PartitionId};
use rustc_hash::FxHashMap;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Which part of the open batch a chunk goes to: its partition and the
/// source's epoch for it, or `None` for unpartitioned sources.
type PartKey = Option<(PartitionId, u64)>;

/// One slot's state: its scorer and its parts of the open batch.
struct Worker {
    ingest: Ingest,
    parts: FxHashMap<PartKey, Batch>,
    busy: Duration,
}

/// A closed batch: one [`Batch`] per partition (a single one for unpartitioned
/// sources), and the longest time any slot spent on it.
#[derive(Debug, Default)]
pub struct Closed {
    pub parts: Vec<Batch>,
    pub busy: Duration,
}

impl Closed {
    /// All parts as one batch.
    pub fn merged(self) -> Batch {
        let mut all = Batch::default();
        for part in self.parts {
            all.merge(part);
        }
        all
    }
}

/// A slot holds its worker, or the job currently using it.
enum Slot {
    Idle(Box<Worker>),
    Running(JoinHandle<Box<Worker>>),
    /// Only between taking and putting back.
    Empty,
}

impl Slot {
    /// Whether taking the worker would not wait.
    fn is_free(&self) -> bool {
        match self {
            Slot::Idle(_) => true,
            Slot::Running(job) => job.is_finished(),
            Slot::Empty => false,
        }
    }

    async fn take(&mut self) -> Box<Worker> {
        match std::mem::replace(self, Slot::Empty) {
            Slot::Idle(w) => w,
            Slot::Running(job) => job.await.unwrap_or_else(|e| panic!("an ingest job failed: {e}")),
            Slot::Empty => unreachable!("a slot is always put back"),
        }
    }
}

pub struct IngestPool {
    slots: Vec<Slot>,
    next: usize,
}

impl IngestPool {
    /// A pool of `n` slots (at least one).
    pub fn new(ops: Operators, n: usize) -> Self {
        let slots = (0..n.max(1))
            .map(|_| {
                Slot::Idle(Box::new(Worker {
                    ingest: Ingest::new(ops.clone()),
                    parts: FxHashMap::default(),
                    busy: Duration::ZERO,
                }))
            })
            .collect();
        IngestPool { slots, next: 0 }
    }

    /// Starts work on a chunk in a free slot; when all are busy, in the slot
    /// after the last one used, once its job is done. (Taking any free slot, not
    /// strictly the next in turn, keeps the others busy while one worker thread
    /// is descheduled.)
    pub async fn submit(&mut self, chunk: Chunk) {
        let index = self.slots.iter().position(Slot::is_free).unwrap_or(self.next);
        self.next = (index + 1) % self.slots.len();
        let slot = &mut self.slots[index];
        let mut worker = slot.take().await;
        *slot = Slot::Running(tokio::task::spawn_blocking(move || {
            let start = Instant::now();
            let key = chunk.origin.map(|o| (o.partition, o.epoch));
            worker.ingest.chunk(worker.parts.entry(key).or_default(), &chunk);
            worker.busy += start.elapsed();
            worker
        }));
    }

    /// Everything submitted so far, the slots' parts merged by partition.
    pub async fn flush(&mut self) -> Closed {
        let mut parts = FxHashMap::<PartKey, Batch>::default();
        let mut busy = Duration::ZERO;
        for slot in &mut self.slots {
            let mut worker = slot.take().await;
            for (key, part) in worker.parts.drain() {
                parts.entry(key).or_default().merge(part);
            }
            busy = busy.max(std::mem::take(&mut worker.busy));
            *slot = Slot::Idle(worker);
        }
        let mut parts: Vec<Batch> = parts.into_values().collect();
        parts.sort_by_key(|b| b.origin.map(|o| (o.partition, o.epoch)));
        Closed { parts, busy }
    }
}
