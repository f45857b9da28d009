//! The micro-batch engine: records go into the open [`Batch`]; at each batch time
//! the batch is closed, merged into the running state, and published as a new
//! [`Snapshot`] of the live tables.
//!
//! The [`Engine`] itself knows no clock and no I/O: [`run`] drives it from a
//! source and a batch clock, and hands what it produces to the interfaces of
//! [`outputs`], which the sinks implement; tests can drive it directly.

pub mod batch;
pub(crate) mod clock;
pub(crate) mod exact_sum;
pub(crate) mod outputs;
pub(crate) mod pool;
pub mod ranked;
mod raw_tags;
pub(crate) mod run;
pub(crate) mod state;
pub mod tables;
pub(crate) mod tag_table;
pub(crate) mod window;

use batch::{Batch, DayStats, Operators};
use pool::{Closed, IngestPool};
use ranked::{Ranked, Row, Tag};
use state::{Change, Saved};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tables::{BATCH_HISTORY, BatchRow, Snapshot, Tables};
use tag_table::TagTable;
use window::{Window, WindowSpec};

use crate::codec::{Chunk, Origin};
use crate::sentiment::Model;
use crate::tweet::{Day, Lang};

/// Running totals since start: tag counts, per-day sentiment, posts per
/// language.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub tags: TagTable,
    pub days: BTreeMap<Day, DayStats>,
    /// Posts per language (at most [`MAX_LANGUAGES`] codes).
    pub langs: BTreeMap<Lang, u64>,
}

/// Language codes the `languages` table keeps apart: a source that sends
/// more distinct (well-formed) codes than any language list has gets its
/// posts of further codes counted as `und`, so the table stays bounded.
pub const MAX_LANGUAGES: usize = 1_000;

impl Totals {
    /// Adds a batch's counts.
    pub fn add(&mut self, batch: &Batch) {
        for (tag, n) in &batch.tags {
            self.tags.add(tag, *n, Some(tag));
        }
        self.add_days(&batch.days);
        self.add_langs(&batch.langs);
    }

    /// Adds other totals (of another partition).
    pub fn add_totals(&mut self, other: &Totals) {
        for (tag, n) in other.tags.iter() {
            self.tags.add(tag, *n, Some(tag));
        }
        self.add_days(&other.days);
        self.add_langs(&other.langs);
    }

    /// Adds a batch's posts per language; returns the codes whose totals
    /// changed.
    pub fn add_langs<'a>(&mut self, langs: impl IntoIterator<Item = (&'a Lang, &'a u64)>) -> Vec<Lang> {
        let mut touched = Vec::new();
        for (lang, n) in langs {
            let full = self.langs.len() >= MAX_LANGUAGES;
            let lang = if full && !self.langs.contains_key(lang) { Lang::UND } else { *lang };
            *self.langs.entry(lang).or_default() += n;
            touched.push(lang);
        }
        touched.sort_unstable();
        touched.dedup();
        touched
    }

    fn add_days<'a>(&mut self, days: impl IntoIterator<Item = (&'a Day, &'a DayStats)>) {
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
    /// The last published window rows (between slides they stay as they were).
    tag_window: Option<Ranked>,
    tables: Arc<Tables>,
    /// Any record seen since start (for `--stop-when-idle`).
    pub seen_data: bool,
    /// The sentiment model, named in the tables.
    model: Option<Model>,
    /// Batches applied since the state began (a restored state goes on counting).
    seq: u64,
    /// `--max-tags`: `tag_totals` keeps at most this many tags (see
    /// [`tag_table`]); None: every tag.
    max_tags: Option<usize>,
    /// When the last warning about undated tweets was given.
    undated_warned: Option<Instant>,
}

impl Engine {
    /// An engine with `workers` ingest threads; `window` adds the `tag_window` table.
    pub fn new(ops: Operators, workers: usize, window: Option<WindowSpec>) -> Self {
        let model = ops.sentiment;
        // Every reason a record can be bad is counted from the start, at 0: a
        // reader of the metrics sees the series before the first bad record.
        let reasons = crate::tweet::BadRecord::ALL.map(|b| b.reason());
        for reason in reasons.into_iter().chain([batch::CUT_OFF]) {
            let reason = crate::metrics::Reason { reason: reason.to_owned() };
            crate::metrics::metrics().bad_records.get_or_create(&reason).inc_by(0);
        }
        Engine {
            pool: IngestPool::new(ops, workers),
            window: window.map(Window::new),
            tag_window: window.map(|_| Ranked::default()),
            totals: Totals::default(),
            history: VecDeque::new(),
            tables: Arc::new(Tables::default()),
            seen_data: false,
            model,
            seq: 0,
            max_tags: None,
            undated_warned: None,
        }
    }

    /// Keeps `tag_totals` to at most `max` tags (Space-Saving: the table
    /// gains an `error` column).
    pub fn with_max_tags(mut self, max: Option<usize>) -> Self {
        self.max_tags = max;
        self.tables = Arc::new(Tables::new(max.is_some()));
        self
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
    /// made of it, one part per partition. [`Engine::apply`] then merges it.
    pub async fn flush(&mut self) -> Closed {
        self.pool.flush().await
    }

    /// Merges a closed batch into the running state: totals, window, batch
    /// log. With `stored`, the totals as kept by a results store (the sum over
    /// every consumer of the group) replace the engine's own.
    /// [`Engine::publish`] then makes the tables (after a checkpoint has saved
    /// [`Engine::change`], if there is one).
    pub fn apply(
        &mut self,
        closed: Closed,
        stored: Option<Totals>,
        batch_time: i64,
        delay: Duration,
    ) -> Applied {
        let start = Instant::now();
        let busy = closed.busy;
        let origins: Vec<Origin> = closed.parts.iter().filter_map(|p| p.origin).collect();
        let batch = closed.merged();
        // Data seen: records in this batch, or counts a results store
        // already holds (a restarted engine with nothing new to read stops
        // when idle, as the run before it would).
        self.seen_data |=
            batch.records > 0 || stored.as_ref().is_some_and(|t| !t.tags.is_empty() || !t.days.is_empty());
        self.seq += 1;
        log_bad_records(&batch, batch_time);
        self.explain_undated(&batch, batch_time);
        let (mut tag_counts, mut evicted) = match stored {
            Some(totals) => self.take_stored(totals, &batch),
            None => {
                self.totals.add_days(&batch.days);
                match self.max_tags {
                    None => (self.add_tags(&batch), Vec::new()),
                    Some(max) => self.add_tags_bounded(&batch, max),
                }
            }
        };
        tag_counts.sort_unstable();
        let langs = self.totals.add_langs(&batch.langs);
        let days: Vec<Day> = batch.days.keys().copied().collect();
        let day_counts = batch.days.values().map(|s| s.count).sum();
        if let Some(window) = &mut self.window {
            let pane = tag_counts.iter().map(|r| (r.tag.clone(), r.count)).collect();
            if let Some(rows) = window.push(pane) {
                self.tag_window = Some(rows.clone());
            }
        }
        let row = self.record(&batch, batch_time, busy, delay);
        // A tag evicted after the batch counted it is in `tag_counts` (its
        // total now 0 says it left); the others are listed apart.
        evicted.retain(|t| !batch.tags.contains_key(&**t));
        Applied { row, tag_counts, evicted, days, day_counts, langs, origins, started: start }
    }

    /// The tags regime of a results store: its totals (the sum over every
    /// consumer of the group) replace the engine's; the batch's tags as they
    /// hold them, with the batch's own counts.
    fn take_stored(&mut self, totals: Totals, batch: &Batch) -> (Vec<Row>, Vec<Tag>) {
        // The store keeps tags and days; the languages are this engine's.
        let langs = std::mem::take(&mut self.totals.langs);
        self.totals = Totals { langs, ..totals };
        let rows = batch
            .tags
            .iter()
            .map(|(tag, n)| Row::new(*n, self.totals.tags.tag(tag).unwrap_or(tag).clone()))
            .collect();
        (rows, Vec::new())
    }

    /// The tags regime without a bound: every tag added to the totals (one
    /// allocation per tag, shared by every table).
    fn add_tags(&mut self, batch: &Batch) -> Vec<Row> {
        let mut rows = Vec::with_capacity(batch.tags.len());
        for (tag, n) in &batch.tags {
            let (tag, _) = self.totals.tags.add(tag, *n, Some(tag));
            rows.push(Row::new(*n, tag));
        }
        rows
    }

    /// The tags regime of `--max-tags`: tags already held first, then new
    /// ones by count and tag, so which tags a new one evicts depends on the
    /// batch alone (a restart from a checkpoint evicts the same). Returns the
    /// batch's rows and the tags evicted.
    fn add_tags_bounded(&mut self, batch: &Batch, max: usize) -> (Vec<Row>, Vec<Tag>) {
        let (mut held, mut new): (Vec<Row>, Vec<Row>) = batch
            .tags
            .iter()
            .map(|(tag, n)| Row::new(*n, tag.clone()))
            .partition(|r| self.totals.tags.get(&r.tag) > 0);
        new.sort_unstable();
        held.append(&mut new);
        let (mut rows, mut evicted) = (Vec::with_capacity(held.len()), Vec::new());
        for row in held {
            let (tag, out) = self.totals.tags.add_bounded(&row.tag, row.count, Some(&row.tag), max);
            evicted.extend(out);
            rows.push(Row::new(row.count, tag));
        }
        if !evicted.is_empty() {
            crate::metrics::metrics().tags_evicted.inc_by(evicted.len() as u64);
        }
        (rows, evicted)
    }

    /// The batch's row of the batch log, kept in the history and counted in
    /// the metrics.
    fn record(&mut self, batch: &Batch, batch_time: i64, busy: Duration, delay: Duration) -> BatchRow {
        let row = BatchRow {
            batch_time,
            records: batch.records,
            bad_records: batch.bad_records,
            undated: batch.undated,
            filtered: batch.filtered,
            // With the time from here to publishing added then.
            processing_ms: busy.as_secs_f64() * 1e3,
            delay_ms: delay.as_secs_f64() * 1e3,
        };
        let m = crate::metrics::metrics();
        m.records.inc_by(row.records);
        for (reason, n) in &batch.bad_reasons {
            m.bad_records.get_or_create(&crate::metrics::Reason { reason: (*reason).to_owned() }).inc_by(*n);
        }
        if self.history.len() == BATCH_HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(row.clone());
        row
    }

    /// What the batch just applied changed, for a checkpoint to save.
    pub fn change<'a>(&'a self, applied: &'a Applied) -> Change<'a> {
        Change {
            seq: self.seq,
            tags: applied
                .tag_counts
                .iter()
                .map(|r| &r.tag)
                .chain(&applied.evicted)
                .map(|t| (t.clone(), self.totals.tags.get(t), self.totals.tags.error(t)))
                .collect(),
            days: applied
                .days
                .iter()
                .map(|d| (*d, self.totals.days.get(d).copied().unwrap_or_default()))
                .collect(),
            langs: applied
                .langs
                .iter()
                .map(|l| (*l, self.totals.langs.get(l).copied().unwrap_or(0)))
                .collect(),
            pane: self.window.is_some().then_some(&applied.tag_counts[..]),
            keep_panes_from: self.window.as_ref().map_or(self.seq + 1, |w| w.needed_from(self.seq)),
            row: &applied.row,
            origins: &applied.origins,
            counted: (applied.tag_counts.iter().map(|r| r.count).sum(), applied.day_counts),
            totals: self.totals.tags.ranked(),
        }
    }

    /// Publishes the tables after a batch was applied; returns its row of the
    /// batch log.
    pub fn publish(&mut self, applied: Applied) -> BatchRow {
        let Applied { mut row, tag_counts, started, .. } = applied;
        // Applying, saving and publishing are all part of processing the
        // batch: publishing copies no table (see `ranked`), so the time up to
        // here is the batch's cost but for the swap of one pointer.
        let tag_counts = Ranked::from_sorted(tag_counts);
        let before_swap = started.elapsed();
        row.processing_ms += before_swap.as_secs_f64() * 1e3;
        if let Some(last) = self.history.back_mut() {
            last.processing_ms = row.processing_ms;
        }
        self.publish_tables(Some(row.batch_time), tag_counts);
        // The swap also frees what only the previous snapshot held: the
        // metric includes it (the row, inside the snapshot, cannot).
        let after_swap = started.elapsed().saturating_sub(before_swap);
        let m = crate::metrics::metrics();
        m.batches.inc();
        m.batch_processing.observe(row.processing_ms / 1e3 + after_swap.as_secs_f64());
        m.batch_delay.observe(row.delay_ms / 1e3);
        m.batch_records.observe(row.records as f64);
        row
    }

    /// Warns when none of a batch's tweets could be put on a day, so that
    /// `sentiment_by_day` stays as it was: the first time, then at most every
    /// ten minutes (a source of undated lines would say it every batch).
    fn explain_undated(&mut self, batch: &batch::Batch, batch_time: i64) {
        let tweets = batch.records - batch.filtered;
        if self.model.is_none() || tweets == 0 || batch.undated < tweets {
            return;
        }
        let now = Instant::now();
        if self.undated_warned.is_some_and(|at| now < at + Duration::from_secs(600)) {
            return;
        }
        self.undated_warned = Some(now);
        let example = match &batch.unreadable_date {
            Some(value) => format!(
                " The first it could not read: {value} (read: Twitter's created_at, ISO 8601 such as \
                 2015-02-24 11:35:52 -0800, epoch milliseconds, MM/DD/YYYY [HH:MM]; --date-format reads \
                 others)."
            ),
            None => " None has a date field.".to_owned(),
        };
        tracing::warn!(
            batch = %tables::format_millis(batch_time),
            "batch {}: none of its {tweets} tweets has a date that can be read, so sentiment_by_day leaves \
             them out (counted in batches.undated).{example} Dates are read from created_at, date, \
             tweet_created or timestamp; --undated arrival counts tweets without one on the day they arrive",
            tables::format_millis(batch_time)
        );
    }

    /// Publishes the state as it is, with `tag_counts` as the latest batch's.
    fn publish_tables(&mut self, batch_time: Option<i64>, tag_counts: Ranked) {
        self.tables.publish(Snapshot {
            batch_time,
            tag_counts,
            tag_totals: self.totals.tags.ranked().clone(),
            tag_window: self.tag_window.clone(),
            sentiment_by_day: self.totals.days.iter().map(|(d, s)| (*d, *s)).collect(),
            languages: tables::ranked_languages(&self.totals.langs),
            model: self.model,
            batches: self.history.iter().cloned().collect(),
            batches_closed: self.seq,
            totals_error: self.max_tags.is_some(),
        });
    }

    /// Takes up a saved state (before the first batch) and publishes it: the
    /// tables show what was counted before the restart.
    pub fn restore(&mut self, saved: Saved) {
        let Saved { seq, totals, panes, batches } = saved;
        self.seq = seq;
        self.totals = totals;
        if let Some(window) = &self.window {
            let (restored, at_slide) = Window::restore(window.spec(), seq, &panes);
            self.window = Some(restored);
            self.tag_window = Some(at_slide);
        }
        // A restored state that counted something has seen data: a restart
        // with nothing new to read stops when idle, as the run before would.
        self.seen_data = !self.totals.days.is_empty()
            || !self.totals.tags.is_empty()
            || !self.totals.langs.is_empty()
            || batches.iter().any(|b| b.records > 0);
        let keep = batches.len().saturating_sub(BATCH_HISTORY);
        self.history = batches.into_iter().skip(keep).collect();
        let last = self.history.back().map(|b| b.batch_time);
        self.publish_tables(last, Ranked::default());
    }
}

/// A batch merged into the state, not yet published.
#[derive(Debug)]
pub struct Applied {
    row: BatchRow,
    /// The batch's tag counts, in the tables' order.
    tag_counts: Vec<Row>,
    /// Tags the batch did not count that left `tag_totals` for new ones.
    evicted: Vec<Tag>,
    /// The days the batch added to, and the tweets it added to them.
    days: Vec<Day>,
    day_counts: u64,
    /// The languages the batch added to.
    langs: Vec<Lang>,
    /// Where the source stands after it, per partition.
    origins: Vec<Origin>,
    started: Instant,
}

/// Says which bad records a batch skipped, by reason.
fn log_bad_records(batch: &Batch, batch_time: i64) {
    if batch.bad_records == 0 {
        return;
    }
    let mut reasons: Vec<_> = batch.bad_reasons.iter().collect();
    reasons.sort();
    let list: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let (batch_at, reasons) = (tables::format_millis(batch_time), list.join(", "));
    tracing::info!(
        batch = %batch_at,
        bad_records = batch.bad_records,
        reasons = %reasons,
        "batch {batch_at}: {} bad records skipped ({reasons})",
        batch.bad_records,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::LineCodec;
    use crate::transforms::hashtags::HashtagMode;
    use crate::tweet::InputFormat;
    use bytes::BytesMut;
    use proptest::prelude::*;
    use tokio_util::codec::Decoder;

    /// Text lines, hashtags only.
    fn hashtags_only() -> Operators {
        Operators {
            input: InputFormat::Text,
            hashtags: HashtagMode::Twitter,
            sentiment: None,
            select: crate::transforms::select::Select::default(),
            undated: crate::engine::batch::Undated::Skip,
        }
    }

    /// A batch: (tag number, times) pairs, one line each.
    type Lines = Vec<(u8, u8)>;

    fn text(lines: &Lines) -> String {
        lines.iter().map(|(t, n)| format!("{}\n", format!("#t{t} ").repeat(*n as usize))).collect()
    }

    /// Tag counts of some batches, computed from the lines alone.
    fn counts<'a>(batches: impl IntoIterator<Item = &'a Lines>) -> Ranked {
        let mut sums = std::collections::BTreeMap::<String, u64>::new();
        for (t, n) in batches.into_iter().flatten() {
            *sums.entry(format!("#t{t}")).or_default() += u64::from(*n);
        }
        Ranked::from_pairs(sums.iter().map(|(t, n)| (t.as_str(), *n)))
    }

    /// `/health` reports the batches closed, which the `batches` table keeps
    /// only the last [`tables::BATCH_HISTORY`] of.
    #[tokio::test]
    async fn the_count_of_batches_closed_goes_past_the_kept_history() {
        let ops = hashtags_only();
        let mut engine = Engine::new(ops, 1, None);
        let n = tables::BATCH_HISTORY + 5;
        for k in 0..n {
            let closed = engine.flush().await;
            let applied = engine.apply(closed, None, k as i64, Duration::ZERO);
            engine.publish(applied);
        }
        let snap = engine.tables().snapshot();
        assert_eq!(snap.batches_closed, n as u64);
        assert_eq!(snap.batches.len(), tables::BATCH_HISTORY);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// After every batch, the tables kept incrementally equal the same
        /// tables computed from scratch: the totals of every batch so far, the
        /// latest batch, and the window as of its last slide.
        #[test]
        fn incremental_tables_equal_a_recomputation(
            batches in prop::collection::vec(prop::collection::vec((0..60u8, 1..4u8), 0..40), 1..30),
            size in 1..6usize,
            slide in 1..4usize,
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let ops = hashtags_only();
                let mut engine = Engine::new(ops, 2, Some(WindowSpec { size, slide }));
                let mut window = Ranked::default();
                for (k, lines) in batches.iter().enumerate() {
                    if !lines.is_empty() {
                        let chunk = LineCodec::new(1 << 20).decode(&mut BytesMut::from(text(lines).as_str()));
                        engine.ingest(chunk.unwrap().unwrap()).await;
                    }
                    let closed = engine.flush().await;
                    let applied = engine.apply(closed, None, k as i64, Duration::ZERO);
                    engine.publish(applied);
                    let snap = engine.tables().snapshot();
                    if (k + 1) % slide == 0 {
                        window = counts(&batches[(k + 1).saturating_sub(size)..=k]);
                    }
                    prop_assert_eq!(&snap.tag_totals, &counts(&batches[..=k]), "totals after batch {}", k);
                    prop_assert_eq!(&snap.tag_counts, &counts([lines]), "batch {}", k);
                    prop_assert_eq!(snap.tag_window.as_ref(), Some(&window), "window after batch {}", k);
                }
                Ok(())
            })?;
        }

        /// With `--max-tags`, `tag_totals` keeps what its documentation
        /// promises, checked after every batch against the exact counts: at
        /// most `max` rows, each count at most `error` above the true count
        /// and never below it; every tag counted more than the last row's
        /// count is in the table; the counts add up to everything counted;
        /// while no more than `max` tags were seen, the exact table;
        /// `tag_counts` exact throughout.
        #[test]
        fn max_tags_keeps_its_guarantees_against_exact_counts(
            batches in prop::collection::vec(prop::collection::vec((0..40u8, 1..5u8), 0..30), 1..30),
            max in 1..12usize,
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let ops = hashtags_only();
                let mut engine = Engine::new(ops, 2, None).with_max_tags(Some(max));
                let mut exact = std::collections::BTreeMap::<String, u64>::new();
                for (k, lines) in batches.iter().enumerate() {
                    if !lines.is_empty() {
                        let chunk = LineCodec::new(1 << 20).decode(&mut BytesMut::from(text(lines).as_str()));
                        engine.ingest(chunk.unwrap().unwrap()).await;
                    }
                    for (t, n) in lines {
                        *exact.entry(format!("#t{t}")).or_default() += u64::from(*n);
                    }
                    let closed = engine.flush().await;
                    let applied = engine.apply(closed, None, k as i64, Duration::ZERO);
                    engine.publish(applied);
                    let snap = engine.tables().snapshot();
                    let rows: Vec<&Row> = snap.tag_totals.iter().collect();
                    prop_assert!(rows.len() <= max);
                    prop_assert_eq!(rows.len(), exact.len().min(max));
                    prop_assert_eq!(rows.iter().map(|r| r.count).sum::<u64>(), exact.values().sum::<u64>());
                    for r in &rows {
                        let truth = exact[&*r.tag];
                        prop_assert!(r.count >= truth && r.count - r.error <= truth, "{:?}: true count {}", r, truth);
                    }
                    if let Some(last) = rows.last() {
                        for (tag, n) in &exact {
                            prop_assert!(*n <= last.count || rows.iter().any(|r| *r.tag == **tag),
                                "{} counted {} > {} but not in the table", tag, n, last.count);
                        }
                    }
                    if exact.len() <= max {
                        prop_assert_eq!(&snap.tag_totals, &counts(&batches[..=k]));
                    }
                    prop_assert_eq!(&snap.tag_counts, &counts([lines]), "batch {}", k);
                    let table = snap.table("tag_totals", None).unwrap();
                    prop_assert_eq!(table.columns, vec!["tag", "count", "error"]);
                }
                Ok(())
            })?;
        }
    }
}
