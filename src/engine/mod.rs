//! The micro-batch engine: records go into the open [`Batch`]; at each batch time
//! the batch is closed, merged into the running state, and published as a new
//! [`Snapshot`] of the live tables.
//!
//! The engine itself knows no clock and no I/O: [`run`] drives it from a source
//! and a batch clock, and tests can drive it directly.

pub mod batch;
pub mod clock;
pub mod pool;
pub mod run;
pub mod tables;
pub mod window;

use batch::{Batch, DayStats, Operators};
use pool::IngestPool;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tables::{BATCH_HISTORY, BatchRow, Snapshot, Tables, sort_tags};
use window::{Window, WindowSpec};

use crate::codec::Chunk;
use crate::tweet::Day;

/// The engine: the open batch (in the ingest workers), the state since start,
/// and the published tables.
pub struct Engine {
    pool: IngestPool,
    totals: FxHashMap<Box<str>, u64>,
    days: BTreeMap<Day, DayStats>,
    history: VecDeque<BatchRow>,
    window: Option<Window>,
    /// The last published window counts (between slides they stay as they were).
    tag_window: Option<Vec<(Box<str>, u64)>>,
    tables: Arc<Tables>,
    /// Any record seen since start (for `--stop-when-idle`).
    pub seen_data: bool,
}

impl Engine {
    /// An engine with `workers` ingest threads; `window` adds the `tag_window` table.
    pub fn new(ops: Operators, workers: usize, window: Option<WindowSpec>) -> Self {
        Engine {
            pool: IngestPool::new(ops, workers),
            window: window.map(Window::new),
            tag_window: window.map(|_| Vec::new()),
            totals: FxHashMap::default(),
            days: BTreeMap::new(),
            history: VecDeque::new(),
            tables: Arc::new(Tables::default()),
            seen_data: false,
        }
    }

    /// The live tables, for readers on other tasks.
    pub fn tables(&self) -> Arc<Tables> {
        self.tables.clone()
    }

    /// Adds a chunk of lines to the open batch (waits if the workers are busy).
    pub async fn ingest(&mut self, chunk: Chunk) {
        self.pool.submit(chunk).await;
    }

    /// Closes the open batch as of `batch_time` (ms since the epoch), merges it
    /// into the running state and publishes the new tables. `delay` is how late
    /// the close started after its scheduled time.
    pub async fn close_batch(&mut self, batch_time: i64, delay: Duration) -> BatchRow {
        let (batch, busy) = self.pool.flush().await;
        self.publish(batch, busy, batch_time, delay)
    }

    /// At the end of a run: closes the open batch if it has any records.
    pub async fn close_final_batch(&mut self, batch_time: i64) {
        let (batch, busy) = self.pool.flush().await;
        if batch.records > 0 {
            self.publish(batch, busy, batch_time, Duration::ZERO);
        }
    }

    /// Merges a closed batch into the running state and publishes the tables.
    fn publish(&mut self, batch: Batch, busy: Duration, batch_time: i64, delay: Duration) -> BatchRow {
        let start = Instant::now();
        self.seen_data |= batch.records > 0;
        if batch.bad_records > 0 {
            let mut reasons: Vec<_> = batch.bad_reasons.iter().collect();
            reasons.sort();
            let list: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
            tracing::info!(
                "batch {}: {} bad records skipped ({})",
                tables::format_millis(batch_time),
                batch.bad_records,
                list.join(", ")
            );
        }
        for (tag, n) in &batch.tags {
            match self.totals.get_mut(tag) {
                Some(total) => *total += n,
                None => {
                    self.totals.insert(tag.clone(), *n);
                }
            }
        }
        for (day, stats) in &batch.days {
            self.days.entry(*day).or_default().add(*stats);
        }
        let mut tag_counts: Vec<(Box<str>, u64)> = batch.tags.iter().map(|(t, n)| (t.clone(), *n)).collect();
        sort_tags(&mut tag_counts);
        if let Some(window) = &mut self.window
            && let Some(counts) = window.push(batch.tags)
        {
            let mut v: Vec<(Box<str>, u64)> = counts.iter().map(|(t, n)| (t.clone(), *n)).collect();
            sort_tags(&mut v);
            self.tag_window = Some(v);
        }
        let mut tag_totals: Vec<(Box<str>, u64)> = self.totals.iter().map(|(t, n)| (t.clone(), *n)).collect();
        sort_tags(&mut tag_totals);
        let row = BatchRow {
            batch_time,
            records: batch.records,
            bad_records: batch.bad_records,
            undated: batch.undated,
            processing_ms: (busy + start.elapsed()).as_secs_f64() * 1e3,
            delay_ms: delay.as_secs_f64() * 1e3,
        };
        if self.history.len() == BATCH_HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(row.clone());
        self.tables.publish(Snapshot {
            batch_time: Some(batch_time),
            tag_counts,
            tag_totals,
            tag_window: self.tag_window.clone(),
            sentiment_by_day: self.days.iter().map(|(d, s)| (*d, *s)).collect(),
            batches: self.history.iter().cloned().collect(),
        });
        row
    }
}
