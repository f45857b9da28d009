//! The live tables: an immutable snapshot per completed batch, swapped in whole.
//!
//! Readers (the timer print, HTTP, SQL, the dashboard) take the current `Arc<Snapshot>`
//! and see every table as of the same batch, while the next batch is computed.
//! A concurrent map updated in place could not give that consistency.

use super::batch::DayStats;
use super::ranked::{Iter, Ranked, Row};
use crate::sentiment::Model;
use crate::tweet::date::CivilTime;
use crate::tweet::{Day, Lang};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, RwLock};

/// One row of the `batches` table (like Spark's Streaming UI).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchRow {
    /// Batch time, milliseconds since the epoch (the end of the interval).
    pub batch_time: i64,
    pub records: u64,
    pub bad_records: u64,
    pub undated: u64,
    /// Tweets left out by `--track`.
    pub filtered: u64,
    pub processing_ms: f64,
    pub delay_ms: f64,
}

/// Every table as of one completed batch.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The batch these tables reflect (None before the first batch).
    pub batch_time: Option<i64>,
    /// `tag_counts`: the latest batch, by count descending then tag.
    pub tag_counts: Ranked,
    /// `tag_totals`: since start, same order (shared with the engine's own
    /// totals but for what changed since: see [`Ranked`]).
    pub tag_totals: Ranked,
    /// `tag_window`: the sliding window, if one is configured.
    pub tag_window: Option<Ranked>,
    /// `sentiment_by_day`, by date.
    pub sentiment_by_day: Vec<(Day, DayStats)>,
    /// `languages`: posts per language since start, by posts descending
    /// then code.
    pub languages: Vec<(Lang, u64)>,
    /// The model whose scores `sentiment_by_day` sums (None: sentiment off,
    /// the table stays empty).
    pub model: Option<Model>,
    /// `batches`, oldest first (the most recent [`BATCH_HISTORY`]).
    pub batches: Vec<BatchRow>,
    /// Batches closed since the job began (restarts from a checkpoint
    /// included), which `batches` keeps only the last of.
    pub batches_closed: u64,
    /// `tag_totals` is kept to `--max-tags` and has an `error` column.
    pub totals_error: bool,
}

/// How many batch rows the `batches` table keeps.
pub const BATCH_HISTORY: usize = 1000;

/// The live tables, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    TagCounts,
    TagTotals,
    TagWindow,
    SentimentByDay,
    Batches,
    Languages,
}

/// A column's SQL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Integer,
    Real,
    /// True or false: no live table has one, but SQL answers can (the
    /// PostgreSQL catalog's flags, declared BOOLEAN).
    Boolean,
}

/// One value of a table.
#[derive(Debug, PartialEq)]
pub enum Cell<'a> {
    Text(std::borrow::Cow<'a, str>),
    Integer(i64),
    Real(f64),
}

impl Cell<'_> {
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Text(s) => json!(s),
            Cell::Integer(n) => json!(n),
            Cell::Real(x) => json!(x),
        }
    }
}

const TAG_COLUMNS: &[(&str, ColumnType)] = &[("tag", ColumnType::Text), ("count", ColumnType::Integer)];
/// `tag_totals` kept to `--max-tags`: a row's count is at most `error` above
/// the tag's true count.
const TAG_ERROR_COLUMNS: &[(&str, ColumnType)] =
    &[("tag", ColumnType::Text), ("count", ColumnType::Integer), ("error", ColumnType::Integer)];

impl TableKind {
    pub const ALL: [TableKind; 6] = [
        TableKind::TagCounts,
        TableKind::TagTotals,
        TableKind::TagWindow,
        TableKind::SentimentByDay,
        TableKind::Batches,
        TableKind::Languages,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TableKind::TagCounts => "tag_counts",
            TableKind::TagTotals => "tag_totals",
            TableKind::TagWindow => "tag_window",
            TableKind::SentimentByDay => "sentiment_by_day",
            TableKind::Batches => "batches",
            TableKind::Languages => "languages",
        }
    }

    pub fn from_name(name: &str) -> Option<TableKind> {
        TableKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Column names and types; `totals_error`: `tag_totals` is kept to
    /// `--max-tags`. Rows come ordered by the first column listed in
    /// [`TableKind::order`].
    pub fn columns(self, totals_error: bool) -> &'static [(&'static str, ColumnType)] {
        use ColumnType::*;
        match self {
            TableKind::TagTotals if totals_error => TAG_ERROR_COLUMNS,
            TableKind::TagCounts | TableKind::TagTotals | TableKind::TagWindow => TAG_COLUMNS,
            TableKind::SentimentByDay => &[
                ("date", Text),
                ("score_sum", Real),
                ("score_count", Integer),
                ("score_avg", Real),
                ("model", Text),
            ],
            TableKind::Batches => &[
                ("batch_time", Text),
                ("records", Integer),
                ("bad_records", Integer),
                ("undated", Integer),
                ("processing_ms", Real),
                ("delay_ms", Real),
                ("filtered", Integer),
            ],
            TableKind::Languages => &[("lang", Text), ("posts", Integer)],
        }
    }

    /// The order rows are kept in, as (column index, descending): tags by count
    /// descending then tag; days and batches by time.
    pub fn order(self) -> &'static [(usize, bool)] {
        match self {
            TableKind::TagCounts | TableKind::TagTotals | TableKind::TagWindow | TableKind::Languages => {
                &[(1, true), (0, false)]
            }
            TableKind::SentimentByDay | TableKind::Batches => &[(0, false)],
        }
    }
}

/// A table rendered for output: column names and JSON rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: &'static str,
    pub batch_time: Option<i64>,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Value>>,
}

impl Snapshot {
    /// A table's columns in this run.
    pub fn columns(&self, kind: TableKind) -> &'static [(&'static str, ColumnType)] {
        kind.columns(self.totals_error)
    }

    /// Names of the tables this snapshot has, in listing order.
    pub fn table_names(&self) -> Vec<&'static str> {
        TableKind::ALL.into_iter().filter(|k| self.rows(*k).is_some()).map(TableKind::name).collect()
    }

    /// The rows of a tag table (None: not a tag table, or no window).
    pub fn tags(&self, kind: TableKind) -> Option<&Ranked> {
        match kind {
            TableKind::TagCounts => Some(&self.tag_counts),
            TableKind::TagTotals => Some(&self.tag_totals),
            TableKind::TagWindow => self.tag_window.as_ref(),
            _ => None,
        }
    }

    /// Rows in a table (None: this run has no such table, e.g. no window).
    pub fn rows(&self, kind: TableKind) -> Option<usize> {
        match kind {
            TableKind::SentimentByDay => Some(self.sentiment_by_day.len()),
            TableKind::Batches => Some(self.batches.len()),
            TableKind::Languages => Some(self.languages.len()),
            tags => self.tags(tags).map(Ranked::len),
        }
    }

    /// The value at `row`, `column` of a table (both in range).
    pub fn cell(&self, kind: TableKind, row: usize, column: usize) -> Cell<'_> {
        match kind {
            TableKind::SentimentByDay => {
                let (day, s) = &self.sentiment_by_day[row];
                let model = self.model.unwrap_or_default();
                match column {
                    0 => Cell::Text(day.to_string().into()),
                    1 => Cell::Real(s.score_sum(model)),
                    2 => Cell::Integer(s.count as i64),
                    3 => Cell::Real(s.score_avg(model)),
                    _ => Cell::Text(model.name().into()),
                }
            }
            TableKind::Batches => {
                let b = &self.batches[row];
                match column {
                    0 => Cell::Text(format_millis(b.batch_time).into()),
                    1 => Cell::Integer(b.records as i64),
                    2 => Cell::Integer(b.bad_records as i64),
                    3 => Cell::Integer(b.undated as i64),
                    4 => Cell::Real(b.processing_ms),
                    5 => Cell::Real(b.delay_ms),
                    _ => Cell::Integer(b.filtered as i64),
                }
            }
            TableKind::Languages => {
                let (lang, posts) = &self.languages[row];
                match column {
                    0 => Cell::Text(lang.as_str().to_owned().into()),
                    _ => Cell::Integer(*posts as i64),
                }
            }
            tags => {
                let r = self.tags(tags).and_then(|t| t.get(row)).expect("a row of a tag table");
                tag_cell(r, column)
            }
        }
    }

    /// Renders the named table, at most `limit` rows (`None`: all). For
    /// `batches`, the limit keeps the most recent rows.
    pub fn table(&self, name: &str, limit: Option<usize>) -> Option<Table> {
        let kind = TableKind::from_name(name)?;
        let n = self.rows(kind)?;
        let take = limit.map_or(n, |l| l.min(n));
        let width = self.columns(kind).len();
        let rows = match self.tags(kind) {
            // In order from the first row, not row by row from the root.
            Some(tags) => tags
                .iter()
                .take(take)
                .map(|r| (0..width).map(|c| tag_cell(r, c).to_json()).collect())
                .collect(),
            None => {
                let range = if kind == TableKind::Batches { n - take..n } else { 0..take };
                range.map(|r| (0..width).map(|c| self.cell(kind, r, c).to_json()).collect()).collect()
            }
        };
        Some(Table {
            name: kind.name(),
            batch_time: self.batch_time,
            columns: self.columns(kind).iter().map(|(c, _)| *c).collect(),
            rows,
        })
    }

    /// The rows of a tag table in order from `row` (None: not a tag
    /// table), for readers that go through many rows.
    pub fn tag_rows(&self, kind: TableKind, row: usize) -> Option<Iter<'_>> {
        self.tags(kind).map(|t| t.iter_from(row))
    }
}

/// Posts per language in the `languages` table's order: by posts
/// descending, then code.
pub fn ranked_languages(langs: &std::collections::BTreeMap<Lang, u64>) -> Vec<(Lang, u64)> {
    let mut rows: Vec<(Lang, u64)> = langs.iter().map(|(l, n)| (*l, *n)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.as_str().cmp(b.0.as_str())));
    rows
}

/// A tag table's value at `column` of the row (tag, count, error).
pub fn tag_cell(row: &Row, column: usize) -> Cell<'_> {
    match column {
        0 => Cell::Text((&*row.tag).into()),
        1 => Cell::Integer(row.count as i64),
        _ => Cell::Integer(row.error as i64),
    }
}

/// The shared handle to the latest snapshot.
#[derive(Debug)]
pub struct Tables {
    current: RwLock<Arc<Snapshot>>,
    /// Snapshots whose last reader was done after a newer one was published,
    /// freed by the next publish.
    retired: Mutex<Vec<Arc<Snapshot>>>,
    /// Counts the snapshots published, for readers that wait for the next
    /// one ([`Tables::watch`]).
    published: tokio::sync::watch::Sender<u64>,
}

impl Default for Tables {
    fn default() -> Self {
        Tables::new(false)
    }
}

impl Tables {
    /// Tables whose `tag_totals` has an `error` column if `totals_error`
    /// (`--max-tags`), from the first snapshot on.
    pub fn new(totals_error: bool) -> Self {
        Tables {
            current: RwLock::new(Arc::new(Snapshot { totals_error, ..Snapshot::default() })),
            retired: Mutex::default(),
            published: tokio::sync::watch::Sender::new(0),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn publish(&self, snapshot: Snapshot) {
        let old = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(|e| e.into_inner()),
            Arc::new(snapshot),
        );
        let retired = std::mem::take(&mut *self.retired.lock().unwrap_or_else(|e| e.into_inner()));
        drop((old, retired));
        self.published.send_modify(|n| *n += 1);
    }

    /// A receiver that changes at every publish: a reader waits on it for
    /// the next batch's tables (one that falls behind sees the latest).
    pub fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.published.subscribe()
    }

    /// Hands back a snapshot a reader is done with. When it is the last
    /// reference (a newer snapshot came out meanwhile), it is not freed here but
    /// by the next publish: freeing 100,000 tags takes milliseconds, which
    /// belong to the engine's thread, not to a query's latency.
    pub fn release(&self, snapshot: Arc<Snapshot>) {
        if Arc::strong_count(&snapshot) == 1 {
            self.retired.lock().unwrap_or_else(|e| e.into_inner()).push(snapshot);
        }
    }
}

/// `2015-11-01 06:08:46.123` (UTC) for milliseconds since the epoch.
pub fn format_millis(ms: i64) -> String {
    let CivilTime { day, hour, minute, second, milli } = CivilTime::from_epoch_millis(ms);
    if milli == 0 {
        format!("{day} {hour:02}:{minute:02}:{second:02}")
    } else {
        format!("{day} {hour:02}:{minute:02}:{second:02}.{milli:03}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_that_outlives_its_snapshot_leaves_the_freeing_to_the_next_publish() {
        let tables = Tables::default();
        tables.publish(Snapshot { batch_time: Some(1), ..Snapshot::default() });
        let read = tables.snapshot();
        let gone = Arc::downgrade(&read);
        tables.publish(Snapshot { batch_time: Some(2), ..Snapshot::default() });
        tables.release(read);
        assert!(gone.upgrade().is_some(), "kept for the publisher");
        tables.publish(Snapshot { batch_time: Some(3), ..Snapshot::default() });
        assert!(gone.upgrade().is_none(), "freed by the next publish");

        // A snapshot still current is simply handed back.
        let current = tables.snapshot();
        tables.release(current);
        assert_eq!(tables.retired.lock().unwrap().len(), 0);
        assert_eq!(tables.snapshot().batch_time, Some(3));
    }
}
