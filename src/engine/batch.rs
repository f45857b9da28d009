//! One micro-batch in the making: every line that arrived during the interval,
//! decoded, with its hashtags counted (reduceByKey) and its sentiment folded
//! into per-day sums.

use super::exact_sum::ExactSum;
use super::ranked::TagMap;
use super::raw_tags::RawTags;
use crate::codec::{Chunk, Line, Origin};
use crate::sentiment::Model;
use crate::sentiment::textblob::TextBlob;
use crate::sentiment::vader::SentimentAnalyzer;
use crate::transforms::hashtags::{self, HashtagMode};
use crate::transforms::select::Select;
use crate::tweet::{self, BadRecord, Day, InputFormat, Lang};
use rustc_hash::FxHashMap;

/// What the engine computes per record.
#[derive(Clone, Debug)]
pub struct Operators {
    pub input: InputFormat,
    pub hashtags: HashtagMode,
    /// The sentiment model (None: the hashtag-only pipeline).
    pub sentiment: Option<Model>,
    /// Which posts are kept (`--track`, `--lang`).
    pub select: Select,
    /// What day a tweet with no date counts on (`--undated`).
    pub undated: Undated,
}

/// What becomes of a tweet with no date (`--undated`). The batch log's
/// `undated` column counts the tweets left out of `sentiment_by_day`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Undated {
    /// Left out of `sentiment_by_day` (its hashtags still count).
    #[default]
    Skip,
    /// Counted on the day it arrived (UTC): for lines typed into `nc`, or
    /// a source that sends text without dates. A date that is there but
    /// unreadable is still left out.
    Arrival,
}

/// Why a line cut short by its connection closing is bad.
pub const CUT_OFF: &str = "line cut off by a closed connection";

/// One day's sentiment: the scores summed exactly, whatever the order in which
/// tweets, batches, partitions and restarts add up (see [`ExactSum`]).
///
/// VADER's compound is rounded to 4 decimals, so its scores are summed as
/// integers of ten-thousandths and `score_sum` is that integer / 10,000;
/// TextBlob's polarity is not rounded, so its doubles are summed and
/// `score_sum` is the exact sum rounded once (Python's `math.fsum`). Either
/// way `score_avg` is `score_sum / score_count` (0 for no tweets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayStats {
    pub sum: ExactSum,
    pub count: u64,
}

impl DayStats {
    pub fn add(&mut self, other: &DayStats) {
        self.sum.add_sum(&other.sum);
        self.count += other.count;
    }

    /// Adds one tweet's score, as `model` made it.
    pub fn add_score(&mut self, model: Model, score: f64) {
        match model {
            Model::Vader => self.add_vader_e4(compound_e4(score)),
            Model::TextBlob => {
                self.sum.add(score);
                self.count += 1;
            }
        }
    }

    /// Adds one tweet's VADER compound score, in ten-thousandths.
    pub fn add_vader_e4(&mut self, compound_e4: i64) {
        self.sum.add(compound_e4 as f64);
        self.count += 1;
    }

    /// VADER's stats of `count` tweets whose scores sum to `score_sum_e4`.
    #[cfg(test)]
    pub fn vader(score_sum_e4: i64, count: u64) -> DayStats {
        let mut sum = ExactSum::default();
        sum.add_i64(score_sum_e4);
        DayStats { sum, count }
    }

    pub fn score_sum(&self, model: Model) -> f64 {
        match model {
            Model::Vader => self.sum.to_f64() / 10_000.0,
            Model::TextBlob => self.sum.to_f64(),
        }
    }

    pub fn score_avg(&self, model: Model) -> f64 {
        if self.count == 0 { 0.0 } else { self.score_sum(model) / self.count as f64 }
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
    /// Tweets left out by `--track` or `--lang` (counted in `records` and
    /// `langs`, nowhere else).
    pub filtered: u64,
    /// The first date in the batch that could not be read, as written (for
    /// the warning that says so).
    pub unreadable_date: Option<String>,
    /// Posts by language, every post read (kept by `--lang` or not).
    pub langs: FxHashMap<Lang, u64>,
    /// Tags as the tables will hold them: a tag new to the totals keeps this
    /// allocation for good (no copy, and nothing short-lived between the
    /// long-lived tags in memory).
    pub tags: TagMap<u64>,
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
        if self.unreadable_date.is_none() {
            self.unreadable_date = other.unreadable_date;
        }
        self.filtered += other.filtered;
        for (lang, n) in other.langs {
            *self.langs.entry(lang).or_default() += n;
        }
        if self.tags.is_empty() {
            self.tags = other.tags;
        } else {
            for (tag, n) in other.tags {
                *self.tags.entry(tag).or_default() += n;
            }
        }
        for (day, stats) in other.days {
            self.days.entry(day).or_default().add(&stats);
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

/// Adds a run of posts of one language to the batch's counts.
fn count_lang_run(run: &mut (Lang, u64), batch: &mut Batch) {
    let (lang, n) = std::mem::replace(run, (Lang::UND, 0));
    if n > 0 {
        *batch.langs.entry(lang).or_default() += n;
    }
}

/// Adds `n` to `tag`'s count.
fn count_tag(tags: &mut TagMap<u64>, tag: &str, n: u64) {
    match tags.get_mut(tag) {
        Some(count) => *count += n,
        None => {
            tags.insert(tag.into(), n);
        }
    }
}

/// A sentiment model's scorer, with its scratch buffers.
enum Scorer {
    Vader(Box<SentimentAnalyzer>),
    TextBlob(Box<TextBlob>),
}

/// Folds records into the open batch. Owns the scratch state of the hot path.
pub struct Ingest {
    ops: Operators,
    /// The scorer of the model, if sentiment is on (built here: a lexicon
    /// costs a millisecond or two).
    scorer: Option<Scorer>,
    /// Lowercased hashtags.
    scratch: String,
    /// Tweet text that had JSON escapes.
    text: String,
    /// Posts of one language in a row, not yet in the batch's counts (a
    /// chunk's posts are mostly of one or two languages: one comparison a
    /// post instead of a lookup).
    lang_run: (Lang, u64),
    /// Scores of one day in a row, not yet in the batch's days: the same
    /// idea for the per-day table, whose tweets mostly come in date order.
    day_run: DayRun,
}

/// Scored tweets of one day in a row. VADER's scores (whole ten-thousandths)
/// add up as integers, exactly; one lookup and one exact addition per run
/// put them in the batch.
#[derive(Default)]
struct DayRun {
    day: Option<Day>,
    stats: DayStats,
    vader_e4: i64,
}

impl DayRun {
    /// The run's stats for `day`, after the run so far went to `batch` if
    /// it was of another day.
    #[inline]
    fn of(&mut self, day: Day, batch: &mut Batch) -> &mut Self {
        if self.day != Some(day) {
            self.flush(batch);
            self.day = Some(day);
        }
        self
    }

    /// Adds the run to the batch's days and starts an empty one.
    fn flush(&mut self, batch: &mut Batch) {
        let DayRun { day, mut stats, vader_e4 } = std::mem::take(self);
        if let Some(day) = day.filter(|_| stats.count > 0) {
            stats.sum.add_i64(vader_e4);
            batch.days.entry(day).or_default().add(&stats);
        }
    }
}

impl Ingest {
    pub fn new(ops: Operators) -> Self {
        let scorer = ops.sentiment.map(|model| match model {
            Model::Vader => Scorer::Vader(Box::default()),
            Model::TextBlob => Scorer::TextBlob(Box::default()),
        });
        Ingest {
            ops,
            scorer,
            scratch: String::new(),
            text: String::new(),
            lang_run: (Lang::UND, 0),
            day_run: DayRun::default(),
        }
    }

    /// Adds every line of `chunk` to `batch`. A final line cut off by a closed
    /// connection (`chunk.unterminated`) is a bad record, never decoded: only a
    /// newline makes a line complete.
    pub fn chunk(&mut self, batch: &mut Batch, chunk: &Chunk) {
        if let Some(origin) = chunk.origin {
            batch.origin = Some(batch.origin.map_or(origin, |o| o.span(origin)));
        }
        let mut raw_tags = RawTags::default();
        chunk.for_each_line(|line| match line {
            Line::Ok(bytes) => self.line(batch, bytes, &mut raw_tags),
            Line::TooLong { .. } => bad(batch, BadRecord::TooLong.reason()),
            Line::Cut(_) => bad(batch, CUT_OFF),
        });
        count_lang_run(&mut self.lang_run, batch);
        self.day_run.flush(batch);
        for (raw, n) in raw_tags.iter() {
            let raw = std::str::from_utf8(raw).expect("a tag is a slice of a tweet's text");
            count_tag(&mut batch.tags, hashtags::lowercase(raw, &mut self.scratch), n);
        }
    }

    /// Adds one line (its language to the run: see [`Ingest::chunk`]). Its
    /// hashtags, when its text lies in the line as it is (no JSON escapes),
    /// go to `raw_tags` as written.
    fn line<'c>(&mut self, batch: &mut Batch, bytes: &'c [u8], raw_tags: &mut RawTags<'c>) {
        let tweet = match tweet::decode(bytes, self.ops.input, &mut self.text) {
            Ok(t) => t,
            Err(e) => return bad(batch, e.reason()),
        };
        batch.records += 1;
        if tweet.lang != self.lang_run.0 {
            count_lang_run(&mut self.lang_run, batch);
            self.lang_run.0 = tweet.lang;
        }
        self.lang_run.1 += 1;
        if !self.ops.select.keeps(&tweet, &mut self.scratch) {
            batch.filtered += 1;
            return;
        }
        let line = bytes.as_ptr_range();
        if line.contains(&tweet.text.as_ptr()) {
            hashtags::for_each_raw_hashtag(self.ops.hashtags, tweet.text, |tag, _| {
                let at = tag.as_ptr() as usize - line.start as usize;
                raw_tags.add(&bytes[at..at + tag.len()]);
            });
        } else {
            hashtags::for_each_hashtag(self.ops.hashtags, tweet.text, &mut self.scratch, |tag| {
                count_tag(&mut batch.tags, tag, 1)
            });
        }
        let day = match tweet.date {
            tweet::DateStatus::Missing if self.ops.undated == Undated::Arrival => {
                Some(Day::from_epoch_millis(crate::time::now_millis()))
            }
            date => date.day(),
        };
        if tweet.date == tweet::DateStatus::Unreadable && batch.unreadable_date.is_none() {
            batch.unreadable_date = tweet::date_text(bytes);
        }
        match day {
            None => batch.undated += 1,
            Some(day) => {
                // The models are English: a post in another language is
                // not scored (it would score about 0 and pull the day
                // toward neutral).
                if let Some(scorer) = self.scorer.as_mut().filter(|_| tweet.lang.is_scored_in_english()) {
                    let run = self.day_run.of(day, batch);
                    run.stats.count += 1;
                    match scorer {
                        Scorer::Vader(v) => run.vader_e4 += v.compound_e4(tweet.text),
                        Scorer::TextBlob(t) => {
                            run.stats.sum.add(t.sentiment(tweet.text).polarity);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::LineCodec;
    use bytes::BytesMut;
    use proptest::prelude::*;
    use tokio_util::codec::Decoder;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// A chunk's tags, counted as written and lowercased once per chunk,
        /// equal the tags of each text lowercased one by one: with the Spark
        /// rule, `text.split(' ')`'s words that start with `#`, lowercased
        /// (Python's job, restated here), whether the text has JSON escapes
        /// (the per-line path) or not.
        #[test]
        fn tags_counted_per_chunk_equal_tags_lowercased_per_tweet(
            texts in prop::collection::vec("([ #a-zA-Z.\u{e9}\u{dc}\u{3a3}\u{65e5}]|#R|#\u{dc}ber|\n|\"){0,30}", 1..40),
            mode in prop::sample::select(vec![HashtagMode::Spark, HashtagMode::Twitter]),
        ) {
            let lines: String = texts
                .iter()
                .map(|t| format!("{}\n", serde_json::json!({"text": t, "created_at": "Sun Nov 01 00:00:00 +0000 2015"})))
                .collect();
            let chunk = LineCodec::new(1 << 20).decode(&mut BytesMut::from(lines.as_str())).unwrap().unwrap();
            let ops = Operators {
                input: InputFormat::Json,
                hashtags: mode,
                sentiment: None,
                select: Select::default(),
                undated: Undated::Skip,
            };
            let mut batch = Batch::default();
            Ingest::new(ops).chunk(&mut batch, &chunk);
            let mut want = std::collections::BTreeMap::<String, u64>::new();
            let mut scratch = String::new();
            for t in &texts {
                let mut add = |tag: &str| *want.entry(tag.to_owned()).or_default() += 1;
                match mode {
                    HashtagMode::Spark => t.split(' ').filter(|w| w.starts_with('#')).for_each(|w| add(&w.to_lowercase())),
                    HashtagMode::Twitter => hashtags::for_each_hashtag(mode, t, &mut scratch, add),
                }
            }
            let got: std::collections::BTreeMap<String, u64> =
                batch.tags.iter().map(|(t, n)| (t.to_string(), *n)).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(batch.records, texts.len() as u64);
        }

        /// A chunk's per-day stats, gathered in runs of one day, equal each
        /// tweet's score added to its day one by one, whatever the order of
        /// the days (runs broken and taken up again), with either model.
        #[test]
        fn day_stats_gathered_in_runs_equal_scores_added_one_by_one(
            tweets in prop::collection::vec((0i32..3, "(good|bad|not|very|the|!| ){0,8}"), 1..40),
            model in prop::sample::select(vec![Model::Vader, Model::TextBlob]),
        ) {
            let lines: String = tweets
                .iter()
                .map(|(day, t)| {
                    let date = format!("2015-11-0{}", day + 1);
                    format!("{}\n", serde_json::json!({"text": t, "date": date}))
                })
                .collect();
            let chunk = LineCodec::new(1 << 20).decode(&mut BytesMut::from(lines.as_str())).unwrap().unwrap();
            let ops = Operators {
                input: InputFormat::Json,
                hashtags: HashtagMode::Spark,
                sentiment: Some(model),
                select: Select::default(),
                undated: Undated::Skip,
            };
            let mut batch = Batch::default();
            Ingest::new(ops).chunk(&mut batch, &chunk);
            let (mut vader, mut blob) = (SentimentAnalyzer::new(), TextBlob::default());
            let mut want = FxHashMap::<Day, DayStats>::default();
            for (day, t) in &tweets {
                let score = match model {
                    Model::Vader => vader.polarity_scores(t).compound,
                    Model::TextBlob => blob.sentiment(t).polarity,
                };
                want.entry(Day::from_ymd(2015, 11, *day as u32 + 1).unwrap()).or_default().add_score(model, score);
            }
            prop_assert_eq!(batch.days, want);
        }
    }
}
