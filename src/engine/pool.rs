//! Parallel ingest: decoding, hashtag extraction and sentiment scoring spread
//! over the cores, each of `n` slots folding chunks into its own partial
//! [`Batch`].
//!
//! Each chunk is one short `spawn_blocking` job that takes its slot's state and
//! hands it back; a slot has at most one job in flight, so work in flight is
//! bounded and a slot's chunks are applied in order. At a batch boundary every
//! slot's job is awaited and the partials are merged. Merging is
//! order-independent (counts and integer score sums), so results are identical
//! to a single slot's. (Short jobs, not resident threads: a running blocking job
//! also keeps tokio's paused test clock from jumping ahead, so tests stay exact.)

use super::batch::{Batch, Ingest, Operators};
use crate::codec::Chunk;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// One slot's state: its scorer and its part of the open batch.
struct Worker {
    ingest: Ingest,
    batch: Batch,
    busy: Duration,
}

/// A slot holds its worker, or the job currently using it.
enum Slot {
    Idle(Box<Worker>),
    Running(JoinHandle<Box<Worker>>),
    /// Only between taking and putting back.
    Empty,
}

impl Slot {
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
                    ingest: Ingest::new(ops),
                    batch: Batch::default(),
                    busy: Duration::ZERO,
                }))
            })
            .collect();
        IngestPool { slots, next: 0 }
    }

    /// Starts work on a chunk in the next slot, first waiting for that slot's
    /// previous chunk if it is still being processed.
    pub async fn submit(&mut self, chunk: Chunk) {
        let index = self.next;
        self.next = (self.next + 1) % self.slots.len();
        let slot = &mut self.slots[index];
        let mut worker = slot.take().await;
        *slot = Slot::Running(tokio::task::spawn_blocking(move || {
            let start = Instant::now();
            worker.ingest.chunk(&mut worker.batch, &chunk);
            worker.busy += start.elapsed();
            worker
        }));
    }

    /// Everything submitted so far, merged into one batch, with the longest time
    /// any slot spent on it.
    pub async fn flush(&mut self) -> (Batch, Duration) {
        let mut merged = Batch::default();
        let mut busy = Duration::ZERO;
        for slot in &mut self.slots {
            let mut worker = slot.take().await;
            merged.merge(std::mem::take(&mut worker.batch));
            busy = busy.max(std::mem::take(&mut worker.busy));
            *slot = Slot::Idle(worker);
        }
        (merged, busy)
    }
}
