//! What a checkpoint's records hold, and how a file's records become the
//! state again. A file is: the identity; the base (the whole state as of
//! batch `seq`: tags in the tables' order in chunks, days, panes, the batch
//! log, offsets, posts per language, then an end record with `seq` and the
//! running sums); then
//! one record per batch saved since. Restoring applies each batch record to
//! the base; saving applies the same record to the store's copy of the small
//! parts ([`apply`]), so both go one way.

use super::encoding::{In, Out, Short};
use super::{BATCH_LOG, Kept};
use crate::engine::Totals;
use crate::engine::batch::DayStats;
use crate::engine::exact_sum::ExactSum;
use crate::engine::ranked::{Row, Tag};
use crate::engine::state::{Change, Saved};
use crate::engine::tables::BatchRow;
use crate::engine::tag_table::TagTable;
use crate::engine::window::Pane;
use crate::sources::acks::Resume;
use crate::tweet::{Day, Lang};

/// The kinds of records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Identity = 1,
    BaseTags = 2,
    BaseDays = 3,
    BasePanes = 4,
    BaseBatches = 5,
    BaseOffsets = 6,
    BaseEnd = 7,
    Batch = 8,
    /// Posts per language (files written before languages were counted
    /// have none, and their batch records end before the languages).
    BaseLangs = 9,
}

impl Kind {
    fn of(byte: u8) -> Option<Kind> {
        use Kind::*;
        [Identity, BaseTags, BaseDays, BasePanes, BaseBatches, BaseOffsets, BaseEnd, Batch, BaseLangs]
            .into_iter()
            .find(|k| *k as u8 == byte)
    }
}

/// Tags per base record (a record of about a megabyte).
pub const TAGS_PER_RECORD: usize = 32_768;

pub fn identity(identity: &[(String, String)]) -> Vec<u8> {
    let mut out = Out::default();
    out.len(identity.len());
    for (flag, value) in identity {
        out.str(flag).str(value);
    }
    out.0
}

/// Whether a checkpoint of this identity keeps `tag_totals` to `--max-tags`:
/// its tags then carry their errors, and a batch's record lists the tags
/// that left with a total of 0.
pub fn bounded(identity: &[(String, String)]) -> bool {
    identity.iter().any(|(flag, _)| flag == "--max-tags")
}

pub fn tags<'a>(rows: impl ExactSizeIterator<Item = &'a Row>, bounded: bool) -> Vec<u8> {
    let mut out = Out::default();
    out.len(rows.len());
    for r in rows {
        out.str(&r.tag).u64(r.count);
        if bounded {
            out.u64(r.error);
        }
    }
    out.0
}

fn put_day(out: &mut Out, day: Day, stats: &DayStats) {
    let parts = stats.sum.to_parts();
    out.i32(day.0).len(parts.len());
    for p in parts {
        out.f64(p);
    }
    out.u64(stats.count);
}

fn put_pane<'a>(out: &mut Out, pane: impl ExactSizeIterator<Item = (&'a str, u64)>) {
    out.len(pane.len());
    for (tag, n) in pane {
        out.str(tag).u64(n);
    }
}

fn put_row(out: &mut Out, b: &BatchRow) {
    out.i64(b.batch_time).u64(b.records).u64(b.bad_records).u64(b.undated).u64(b.filtered);
    out.f64(b.processing_ms).f64(b.delay_ms);
}

fn put_langs<'a>(out: &mut Out, langs: impl ExactSizeIterator<Item = (&'a Lang, &'a u64)>) {
    out.len(langs.len());
    for (lang, n) in langs {
        out.str(lang.as_str()).u64(*n);
    }
}

/// Posts per language, into `into` (each code with its new total).
fn get_langs(r: &mut In<'_>, into: &mut std::collections::BTreeMap<Lang, u64>) -> Result<(), String> {
    let n = r.len(9).map_err(short)?;
    for _ in 0..n {
        let code = r.str().map_err(short)?;
        let lang = Lang::parse(code).ok_or_else(|| format!("a language that is no tag, {code:?}"))?;
        into.insert(lang, r.u64().map_err(short)?);
    }
    Ok(())
}

fn put_offsets<'a>(out: &mut Out, offsets: impl ExactSizeIterator<Item = (&'a str, i32, i64, u64)>) {
    out.len(offsets.len());
    for (topic, partition, next, last) in offsets {
        out.str(topic).i32(partition).i64(next).u64(last);
    }
}

/// The base records after the tags: days, panes, batch log, offsets, end.
pub fn base_rest(kept: &Kept, tags: u64) -> Vec<(Kind, Vec<u8>)> {
    let mut days = Out::default();
    days.len(kept.days.len());
    for (day, stats) in &kept.days {
        put_day(&mut days, *day, stats);
    }
    let mut panes = Out::default();
    panes.len(kept.panes.len());
    for (seq, pane) in &kept.panes {
        panes.u64(*seq);
        put_pane(&mut panes, pane.iter().map(|(t, n)| (&**t, *n)));
    }
    let mut batches = Out::default();
    batches.len(kept.batches.len());
    for (seq, row) in &kept.batches {
        batches.u64(*seq);
        put_row(&mut batches, row);
    }
    let mut offsets = Out::default();
    let list: Vec<_> =
        kept.offsets.iter().map(|((t, p), r)| (t.as_str(), *p, r.next, r.last.unwrap_or(0))).collect();
    put_offsets(&mut offsets, list.into_iter());
    let mut langs = Out::default();
    put_langs(&mut langs, kept.langs.iter());
    let mut end = Out::default();
    end.u64(kept.seq).u64(tags).u64(kept.tags_total).u64(kept.days_count);
    vec![
        (Kind::BaseDays, days.0),
        (Kind::BasePanes, panes.0),
        (Kind::BaseBatches, batches.0),
        (Kind::BaseOffsets, offsets.0),
        (Kind::BaseLangs, langs.0),
        (Kind::BaseEnd, end.0),
    ]
}

/// A batch's record.
pub fn batch(change: &Change<'_>, offsets: &[(String, i32, i64, u64)], bounded: bool) -> Vec<u8> {
    let mut out = Out::default();
    out.u64(change.seq);
    out.len(change.tags.len());
    for (tag, total, error) in &change.tags {
        out.str(tag).u64(*total);
        if bounded {
            out.u64(*error);
        }
    }
    out.len(change.days.len());
    for (day, stats) in &change.days {
        put_day(&mut out, *day, stats);
    }
    match change.pane {
        Some(pane) => {
            out.u8(1);
            put_pane(&mut out, pane.iter().map(|r| (&*r.tag, r.count)));
        }
        None => {
            out.u8(0);
        }
    }
    out.u64(change.keep_panes_from);
    put_row(&mut out, change.row);
    put_offsets(&mut out, offsets.iter().map(|(t, p, n, l)| (t.as_str(), *p, *n, *l)));
    out.u64(change.counted.0).u64(change.counted.1);
    put_langs(&mut out, change.langs.iter().map(|(l, n)| (l, n)));
    out.0
}

fn get_day(r: &mut In<'_>) -> Result<(Day, DayStats), String> {
    let day = Day(r.i32().map_err(short)?);
    let n = r.len(8).map_err(short)?;
    let parts: Vec<f64> = (0..n).map(|_| r.f64()).collect::<Result<_, _>>().map_err(short)?;
    let sum = ExactSum::from_parts(&parts).ok_or_else(|| format!("the sum of {day} is not a sum"))?;
    let count = r.u64().map_err(short)?;
    Ok((day, DayStats { sum, count }))
}

fn get_pane(r: &mut In<'_>) -> Result<Pane, String> {
    let n = r.len(12).map_err(short)?;
    let mut pane = Pane::with_capacity(n);
    for _ in 0..n {
        let tag = r.str().map_err(short)?;
        let count = r.u64().map_err(short)?;
        if tag.is_empty() || count == 0 {
            return Err("a pane with an empty tag or a zero count".into());
        }
        pane.push((Tag::from(tag), count));
    }
    Ok(pane)
}

fn get_row(r: &mut In<'_>) -> Result<BatchRow, Short> {
    Ok(BatchRow {
        batch_time: r.i64()?,
        records: r.u64()?,
        bad_records: r.u64()?,
        undated: r.u64()?,
        filtered: r.u64()?,
        processing_ms: r.f64()?,
        delay_ms: r.f64()?,
    })
}

fn get_offsets(r: &mut In<'_>, into: &mut super::Offsets) -> Result<(), Short> {
    let n = r.len(20)?;
    for _ in 0..n {
        let topic = r.str()?.to_owned();
        let partition = r.i32()?;
        let (next, last) = (r.i64()?, r.u64()?);
        into.insert((topic, partition), Resume { next, last: Some(last) });
    }
    Ok(())
}

fn short(_: Short) -> String {
    "a record ends before its contents".into()
}

/// Applies a batch record to the small parts, and to the tag table if
/// given (a restore; a save leaves the tags to the engine).
pub fn apply(
    kept: &mut Kept,
    mut tags: Option<&mut TagTable>,
    payload: &[u8],
    bounded: bool,
) -> Result<(), String> {
    let mut r = In(payload);
    let seq = r.u64().map_err(short)?;
    if seq != kept.seq + 1 {
        return Err(format!("batch {seq} follows batch {}", kept.seq));
    }
    let n = r.len(12).map_err(short)?;
    for _ in 0..n {
        let tag = r.str().map_err(short)?;
        let total = r.u64().map_err(short)?;
        let error = if bounded { r.u64().map_err(short)? } else { 0 };
        // Only a table kept to `--max-tags` loses tags (listed with 0).
        if tag.is_empty() || (total == 0 && !bounded) || error > total {
            return Err("a tag that is empty, counted 0 times or with an error above its count".into());
        }
        if let Some(t) = tags.as_deref_mut() {
            if bounded {
                t.set_with_error(tag, total, error);
            } else {
                t.set(tag, total);
            }
        }
    }
    let n = r.len(16).map_err(short)?;
    for _ in 0..n {
        let (day, stats) = get_day(&mut r)?;
        kept.days.insert(day, stats);
    }
    if r.u8().map_err(short)? == 1 {
        let pane = get_pane(&mut r)?;
        if !pane.is_empty() {
            kept.panes.push_back((seq, pane));
        }
    }
    let keep_from = r.u64().map_err(short)?;
    while kept.panes.front().is_some_and(|(n, _)| *n < keep_from) {
        kept.panes.pop_front();
    }
    let row = get_row(&mut r).map_err(short)?;
    kept.batches.push_back((seq, row));
    while kept.batches.len() as u64 > BATCH_LOG {
        kept.batches.pop_front();
    }
    get_offsets(&mut r, &mut kept.offsets).map_err(short)?;
    let (added_tags, added_days) = (r.u64().map_err(short)?, r.u64().map_err(short)?);
    if !r.0.is_empty() {
        get_langs(&mut r, &mut kept.langs)?;
    }
    r.end().map_err(short)?;
    kept.tags_total = kept.tags_total.saturating_add(added_tags);
    kept.days_count = kept.days_count.saturating_add(added_days);
    kept.seq = seq;
    Ok(())
}

/// A file's records as they are read, in order.
#[derive(Default)]
pub struct Restore {
    pub identity: Option<Vec<(String, String)>>,
    rows: Vec<Row>,
    kept: Kept,
    tags: Option<TagTable>,
    /// Where the base ended (bytes), once it has.
    base_end: Option<u64>,
    /// Bytes read so far (records only).
    at: u64,
    /// The identity says `--max-tags` (see [`bounded`]).
    bounded: bool,
}

impl Restore {
    pub fn take(&mut self, kind: u8, payload: &[u8]) -> Result<(), String> {
        self.at += payload.len() as u64 + 9;
        let kind = Kind::of(kind).ok_or_else(|| format!("a record of unknown kind {kind}"))?;
        let expected = match (&self.identity, &self.tags) {
            (None, _) => kind == Kind::Identity,
            (Some(_), None) => !matches!(kind, Kind::Identity | Kind::Batch),
            (Some(_), Some(_)) => kind == Kind::Batch,
        };
        if !expected {
            return Err(format!("a record of kind {kind:?} out of place"));
        }
        let mut r = In(payload);
        match kind {
            Kind::Identity => {
                let n = r.len(8).map_err(short)?;
                let mut pairs = Vec::with_capacity(n);
                for _ in 0..n {
                    pairs.push((r.str().map_err(short)?.to_owned(), r.str().map_err(short)?.to_owned()));
                }
                self.bounded = bounded(&pairs);
                self.identity = Some(pairs);
            }
            Kind::BaseTags => {
                let n = r.len(12).map_err(short)?;
                self.rows.reserve(n);
                for _ in 0..n {
                    let tag = r.str().map_err(short)?;
                    let count = r.u64().map_err(short)?;
                    let error = if self.bounded { r.u64().map_err(short)? } else { 0 };
                    let row = Row::with_error(count, tag.into(), error);
                    if tag.is_empty()
                        || count == 0
                        || error > count
                        || self.rows.last().is_some_and(|last| *last >= row)
                    {
                        return Err("its tags are not in the tables' order".into());
                    }
                    self.rows.push(row);
                }
            }
            Kind::BaseDays => {
                let n = r.len(16).map_err(short)?;
                for _ in 0..n {
                    let (day, stats) = get_day(&mut r)?;
                    self.kept.days.insert(day, stats);
                }
            }
            Kind::BasePanes => {
                let n = r.len(12).map_err(short)?;
                for _ in 0..n {
                    let seq = r.u64().map_err(short)?;
                    self.kept.panes.push_back((seq, get_pane(&mut r)?));
                }
            }
            Kind::BaseBatches => {
                let n = r.len(64).map_err(short)?;
                for _ in 0..n {
                    let seq = r.u64().map_err(short)?;
                    self.kept.batches.push_back((seq, get_row(&mut r).map_err(short)?));
                }
            }
            Kind::BaseOffsets => get_offsets(&mut r, &mut self.kept.offsets).map_err(short)?,
            Kind::BaseLangs => get_langs(&mut r, &mut self.kept.langs)?,
            Kind::BaseEnd => {
                self.kept.seq = r.u64().map_err(short)?;
                let tags = r.u64().map_err(short)?;
                self.kept.tags_total = r.u64().map_err(short)?;
                self.kept.days_count = r.u64().map_err(short)?;
                if tags != self.rows.len() as u64 {
                    return Err(format!("its base has {} tags, not the {tags} it says", self.rows.len()));
                }
                self.tags = Some(TagTable::from_rows_in_table_order(std::mem::take(&mut self.rows)));
                self.base_end = Some(self.at + 128);
            }
            Kind::Batch => return apply(&mut self.kept, self.tags.as_mut(), payload, self.bounded),
        }
        r.end().map_err(short)
    }

    /// The state read, checked against the running sums; with where the
    /// base ended.
    pub fn finish(self) -> Result<(Kept, Saved, u64), String> {
        let (Some(tags), Some(base_end)) = (self.tags, self.base_end) else {
            return Err("its base is incomplete".into());
        };
        let kept = self.kept;
        let sum = tags.iter().fold(0u64, |s, (_, n)| s.saturating_add(*n));
        if sum != kept.tags_total {
            return Err(format!("its tag counts add up to {sum}, not to the {} it saved", kept.tags_total));
        }
        let days: u64 = kept.days.values().fold(0u64, |s, d| s.saturating_add(d.count));
        if days != kept.days_count {
            return Err(format!("its days count {days} tweets, not the {} it saved", kept.days_count));
        }
        if let Some((n, _)) = kept.panes.iter().find(|(n, _)| *n > kept.seq) {
            return Err(format!("a pane of batch {n}, after the last batch {}", kept.seq));
        }
        if kept.batches.back().is_some_and(|(n, _)| *n != kept.seq) {
            return Err(format!("its batch log does not end with its last batch, {}", kept.seq));
        }
        let saved = Saved {
            seq: kept.seq,
            totals: Totals { tags, days: kept.days.clone(), langs: kept.langs.clone() },
            panes: kept.panes.iter().cloned().collect(),
            batches: kept.batches.iter().map(|(_, b)| b.clone()).collect(),
        };
        Ok((kept, saved, base_end))
    }
}
