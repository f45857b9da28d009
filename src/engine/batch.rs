//! One micro-batch in the making: every line that arrived during the interval,
//! decoded, with its hashtags counted (reduceByKey) and its sentiment folded
//! into per-day sums.

use crate::codec::{Chunk, Line, Origin};
use crate::sentiment::SentimentAnalyzer;
use crate::transforms::hashtags::{HashtagMode, for_each_hashtag};
use crate::tweet::{self, BadRecord, Day, InputFormat};
use rustc_hash::FxHashMap;

/// What the engine computes per record.
#[derive(Clone, Copy, Debug)]
pub struct Operators {
    pub input: InputFormat,
    pub hashtags: HashtagMode,
    /// Score sentiment (off: the hashtag-only pipeline).
    pub sentiment: bool,
}

/// Per-day sentiment, summed exactly: VADER's compound is rounded to 4 decimals,
/// so it is kept as an integer number of ten-thousandths. Sums are then exact
/// and independent of order (batches, partitions, restarts all agree to the bit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayStats {
    pub score_sum_e4: i64,
    pub count: u64,
}

impl DayStats {
    pub fn add(&mut self, other: DayStats) {
        self.score_sum_e4 += other.score_sum_e4;
        self.count += other.count;
    }
    pub fn score_sum(&self) -> f64 {
        self.score_sum_e4 as f64 / 10_000.0
    }
    pub fn score_avg(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.score_sum_e4 as f64 / 10_000.0 / self.count as f64 }
    }
}

/// Converts a compound score (4 decimals) to ten-thousandths.
pub fn compound_e4(compound: f64) -> i64 {
    (compound * 10_000.0).round() as i64
}

/// The partial results of one batch.
#[derive(Debug, Default)]
pub struct Batch {
    /// Lines received, good and bad.
    pub records: u64,
    pub bad_records: u64,
    /// Tweets with no usable date (counted for hashtags, not per day).
    pub undated: u64,
    pub tags: FxHashMap<Box<str>, u64>,
    pub days: FxHashMap<Day, DayStats>,
    /// Bad records by reason, for the log.
    pub bad_reasons: FxHashMap<&'static str, u64>,
    /// The partition and offsets these records came from (partitioned sources
    /// keep one `Batch` per partition; see [`super::pool`]).
    pub origin: Option<Origin>,
}

impl Batch {
    /// Adds another partial batch of the same interval.
    pub fn merge(&mut self, other: Batch) {
        self.records += other.records;
        self.bad_records += other.bad_records;
        self.undated += other.undated;
        if self.tags.is_empty() {
            self.tags = other.tags;
        } else {
            for (tag, n) in other.tags {
                *self.tags.entry(tag).or_default() += n;
            }
        }
        for (day, stats) in other.days {
            self.days.entry(day).or_default().add(stats);
        }
        for (reason, n) in other.bad_reasons {
            *self.bad_reasons.entry(reason).or_default() += n;
        }
        self.origin = match (self.origin, other.origin) {
            (Some(a), Some(b)) if a.partition == b.partition && a.epoch == b.epoch => Some(a.span(b)),
            (a, None) => a,
            (None, b) => b,
            // Parts of different partitions merged: the sum has no single origin.
            (Some(_), Some(_)) => None,
        };
    }
}

/// Counts a bad record (and logs it at debug).
fn bad(batch: &mut Batch, reason: &'static str) {
    batch.records += 1;
    batch.bad_records += 1;
    *batch.bad_reasons.entry(reason).or_default() += 1;
    tracing::debug!("bad record skipped: {reason}");
}

/// Folds records into the open batch. Owns the scratch state of the hot path.
pub struct Ingest {
    ops: Operators,
    /// Only when sentiment is on (building the lexicon costs a millisecond).
    vader: Option<SentimentAnalyzer>,
    /// Lowercased hashtags.
    scratch: String,
    /// Tweet text that had JSON escapes.
    text: String,
}

impl Ingest {
    pub fn new(ops: Operators) -> Self {
        let vader = ops.sentiment.then(SentimentAnalyzer::new);
        Ingest { ops, vader, scratch: String::new(), text: String::new() }
    }

    /// Adds every line of `chunk` to `batch`. A final line cut off by a closed
    /// connection (`chunk.unterminated`) is a bad record, never decoded: only a
    /// newline makes a line complete.
    pub fn chunk(&mut self, batch: &mut Batch, chunk: &Chunk) {
        if let Some(origin) = chunk.origin {
            batch.origin = Some(batch.origin.map_or(origin, |o| o.span(origin)));
        }
        chunk.for_each_line(|line| match line {
            Line::Ok(bytes) => self.line(batch, bytes),
            Line::TooLong { .. } => bad(batch, BadRecord::TooLong.reason()),
            Line::Cut(_) => bad(batch, "line cut off by a closed connection"),
        });
    }

    /// Adds one line.
    pub fn line(&mut self, batch: &mut Batch, bytes: &[u8]) {
        let tweet = match tweet::decode(bytes, self.ops.input, &mut self.text) {
            Ok(t) => t,
            Err(e) => return bad(batch, e.reason()),
        };
        batch.records += 1;
        for_each_hashtag(self.ops.hashtags, tweet.text, &mut self.scratch, |tag| {
            match batch.tags.get_mut(tag) {
                Some(n) => *n += 1,
                None => {
                    batch.tags.insert(tag.into(), 1);
                }
            }
        });
        match tweet.date.day() {
            None => batch.undated += 1,
            Some(day) => {
                if let Some(vader) = &mut self.vader {
                    let score = compound_e4(vader.polarity_scores(tweet.text).compound);
                    batch.days.entry(day).or_default().add(DayStats { score_sum_e4: score, count: 1 });
                }
            }
        }
    }
}
