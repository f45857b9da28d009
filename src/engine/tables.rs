//! The live tables: an immutable snapshot per completed batch, swapped in whole.
//!
//! Readers (the timer print, HTTP, later SQL) take the current `Arc<Snapshot>`
//! and see every table as of the same batch, while the next batch is computed.
//! A concurrent map updated in place could not give that consistency.

use super::batch::DayStats;
use crate::tweet::Day;
use crate::tweet::date::CivilTime;
use serde_json::{Value, json};
use std::sync::{Arc, RwLock};

/// One row of the `batches` table (like Spark's Streaming UI).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchRow {
    /// Batch time, milliseconds since the epoch (the end of the interval).
    pub batch_time: i64,
    pub records: u64,
    pub bad_records: u64,
    pub undated: u64,
    pub processing_ms: f64,
    pub delay_ms: f64,
}

/// Every table as of one completed batch.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The batch these tables reflect (None before the first batch).
    pub batch_time: Option<i64>,
    /// `tag_counts`: the latest batch, by count descending then tag.
    pub tag_counts: Vec<(Box<str>, u64)>,
    /// `tag_totals`: since start, same order.
    pub tag_totals: Vec<(Box<str>, u64)>,
    /// `tag_window`: the sliding window, if one is configured.
    pub tag_window: Option<Vec<(Box<str>, u64)>>,
    /// `sentiment_by_day`, by date.
    pub sentiment_by_day: Vec<(Day, DayStats)>,
    /// `batches`, oldest first (the most recent [`BATCH_HISTORY`]).
    pub batches: Vec<BatchRow>,
}

/// How many batch rows the `batches` table keeps.
pub const BATCH_HISTORY: usize = 1000;

/// A table rendered for output: column names and JSON rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: &'static str,
    pub batch_time: Option<i64>,
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Value>>,
}

impl Snapshot {
    /// Names of the tables this snapshot has, in listing order.
    pub fn table_names(&self) -> Vec<&'static str> {
        let mut names = vec!["tag_counts", "tag_totals"];
        if self.tag_window.is_some() {
            names.push("tag_window");
        }
        names.extend(["sentiment_by_day", "batches"]);
        names
    }

    /// Renders the named table, at most `limit` rows (`None`: all). For
    /// `batches`, the limit keeps the most recent rows.
    pub fn table(&self, name: &str, limit: Option<usize>) -> Option<Table> {
        let take = |n: usize| limit.map_or(n, |l| l.min(n));
        let tags = |name: &'static str, v: &[(Box<str>, u64)]| Table {
            name,
            batch_time: self.batch_time,
            columns: &["tag", "count"],
            rows: v[..take(v.len())].iter().map(|(t, c)| vec![json!(t), json!(c)]).collect(),
        };
        Some(match name {
            "tag_counts" => tags("tag_counts", &self.tag_counts),
            "tag_totals" => tags("tag_totals", &self.tag_totals),
            "tag_window" => tags("tag_window", self.tag_window.as_deref()?),
            "sentiment_by_day" => Table {
                name: "sentiment_by_day",
                batch_time: self.batch_time,
                columns: &["date", "score_sum", "score_count", "score_avg"],
                rows: self.sentiment_by_day[..take(self.sentiment_by_day.len())]
                    .iter()
                    .map(|(d, s)| {
                        vec![json!(d.to_string()), json!(s.score_sum()), json!(s.count), json!(s.score_avg())]
                    })
                    .collect(),
            },
            "batches" => Table {
                name: "batches",
                batch_time: self.batch_time,
                columns: &["batch_time", "records", "bad_records", "undated", "processing_ms", "delay_ms"],
                rows: self.batches[self.batches.len() - take(self.batches.len())..]
                    .iter()
                    .map(|b| {
                        vec![
                            json!(format_millis(b.batch_time)),
                            json!(b.records),
                            json!(b.bad_records),
                            json!(b.undated),
                            json!(b.processing_ms),
                            json!(b.delay_ms),
                        ]
                    })
                    .collect(),
            },
            _ => return None,
        })
    }
}

/// The shared handle to the latest snapshot.
#[derive(Debug, Default)]
pub struct Tables {
    current: RwLock<Arc<Snapshot>>,
}

impl Tables {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn publish(&self, snapshot: Snapshot) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
    }
}

/// Orders tag counts by count descending, then tag ascending.
pub fn sort_tags(v: &mut [(Box<str>, u64)]) {
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
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
