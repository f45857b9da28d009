//! The micro-batch engine: records go into the open [`Batch`]; at each batch time
//! the batch is closed, merged into the running state, and published as a new
//! [`Snapshot`] of the live tables.
//!
//! The [`Engine`] itself knows no clock and no I/O: [`run`] drives it from a
//! source and a batch clock, and hands what it produces to the interfaces of
//! [`outputs`], which the sinks implement; tests can drive it directly.

pub mod batch;
pub mod clock;
pub mod exact_sum;
pub mod outputs;
pub mod pool;
pub mod run;
pub mod tables;
pub mod window;

use batch::{Batch, DayStats, Operators};
use pool::{Closed, IngestPool};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tables::{BATCH_HISTORY, BatchRow, Snapshot, Tables, sort_tags};
use window::{Window, WindowSpec};

use crate::codec::Chunk;
use crate::sentiment::Model;
use crate::tweet::Day;

/// Running totals since start: tag counts and per-day sentiment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub tags: FxHashMap<Box<str>, u64>,
    pub days: BTreeMap<Day, DayStats>,
}

impl Totals {
    /// Adds a batch's counts.
    pub fn add(&mut self, batch: &Batch) {
        self.add_counts(&batch.tags, &batch.days);
    }

    /// Adds other totals (of another partition).
    pub fn add_totals(&mut self, other: &Totals) {
        self.add_counts(&other.tags, &other.days);
    }

    fn add_counts<'a>(
        &mut self,
        tags: impl IntoIterator<Item = (&'a Box<str>, &'a u64)>,
        days: impl IntoIterator<Item = (&'a Day, &'a DayStats)>,
    ) {
        for (tag, n) in tags {
            // Look up before inserting: most tags are already there, and
            // `entry` would clone the key every time.
            match self.tags.get_mut(tag) {
                Some(total) => *total += n,
                None => {
                    self.tags.insert(tag.clone(), *n);
                }
            }
        }
        for (day, stats) in days {
            self.days.entry(*day).or_default().add(stats);
        }
    }
}

/// The engine: the open batch (in the ingest workers), the state since start,
/// and the published tables.
pub struct Engine {
    pool: IngestPool,
    totals: Totals,
    history: VecDeque<BatchRow>,
    window: Option<Window>,
    /// The last published window counts (between slides they stay as they were).
    tag_window: Option<Vec<(Box<str>, u64)>>,
    tables: Arc<Tables>,
    /// Any record seen since start (for `--stop-when-idle`).
    pub seen_data: bool,
    /// The sentiment model, named in the tables.
    model: Option<Model>,
}

impl Engine {
    /// An engine with `workers` ingest threads; `window` adds the `tag_window` table.
    pub fn new(ops: Operators, workers: usize, window: Option<WindowSpec>) -> Self {
        let model = ops.sentiment;
        Engine {
            pool: IngestPool::new(ops, workers),
            window: window.map(Window::new),
            tag_window: window.map(|_| Vec::new()),
            totals: Totals::default(),
            history: VecDeque::new(),
            tables: Arc::new(Tables::default()),
            seen_data: false,
            model,
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

    /// Closes the open batch: waits for the ingest workers and returns what they
    /// made of it, one part per partition. [`Engine::publish`] then makes the tables.
    pub async fn flush(&mut self) -> Closed {
        self.pool.flush().await
    }

    /// Merges a closed batch into the running totals and publishes the tables.
    /// With `stored`, the totals as kept by a results store (the sum over every
    /// consumer of the group) replace the engine's own.
    pub fn publish(
        &mut self,
        closed: Closed,
        stored: Option<Totals>,
        batch_time: i64,
        delay: Duration,
    ) -> BatchRow {
        let start = Instant::now();
        let busy = closed.busy;
        let batch = closed.merged();
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
        match stored {
            Some(totals) => self.totals = totals,
            None => self.totals.add(&batch),
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
        let mut tag_totals: Vec<(Box<str>, u64)> =
            self.totals.tags.iter().map(|(t, n)| (t.clone(), *n)).collect();
        sort_tags(&mut tag_totals);
        let row = BatchRow {
            batch_time,
            records: batch.records,
            bad_records: batch.bad_records,
            undated: batch.undated,
            filtered: batch.filtered,
            processing_ms: (busy + start.elapsed()).as_secs_f64() * 1e3,
            delay_ms: delay.as_secs_f64() * 1e3,
        };
        let m = crate::metrics::metrics();
        m.records.inc_by(row.records);
        for (reason, n) in &batch.bad_reasons {
            m.bad_records.get_or_create(&crate::metrics::Reason { reason: (*reason).to_owned() }).inc_by(*n);
        }
        m.batches.inc();
        m.batch_processing.observe(row.processing_ms / 1e3);
        m.batch_delay.observe(row.delay_ms / 1e3);
        m.batch_records.observe(row.records as f64);
        if self.history.len() == BATCH_HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(row.clone());
        self.tables.publish(Snapshot {
            batch_time: Some(batch_time),
            tag_counts,
            tag_totals,
            tag_window: self.tag_window.clone(),
            sentiment_by_day: self.totals.days.iter().map(|(d, s)| (*d, *s)).collect(),
            model: self.model,
            batches: self.history.iter().cloned().collect(),
        });
        row
    }
}
