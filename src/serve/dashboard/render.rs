//! Draws the dashboard's panels as HTML with inline SVG, from one snapshot of
//! the live tables.
//!
//! Drawing on the server keeps the page free of a chart library, and every
//! panel comes from the same snapshot, so the charts always agree with each
//! other and with `/tables` and `/sql` at that batch. Each mark carries its
//! value in `data-*` attributes and a `<title>` tooltip, and every chart is
//! followed by a plain table of the same values (for screen readers, copying,
//! and the browser test).

use crate::engine::batch::DayStats;
use crate::engine::ranked::Ranked;
use crate::engine::tables::{BatchRow, Snapshot, format_millis};
use crate::sentiment::Model;
use crate::tweet::Day;
use std::fmt::Write;
use std::time::Duration;

/// What the panels need besides the snapshot.
#[derive(Clone, Debug)]
pub struct View {
    /// The batch interval (None: manual batches), to tell when data is stale.
    pub batch_every: Option<Duration>,
    /// The window's length when `tag_window` is kept.
    pub window: Option<Duration>,
    /// Where records come from, e.g. `socket localhost:9999`.
    pub source: String,
}

/// The widths, in CSS pixels, the page has for the charts, so they are drawn
/// at their real size (text stays readable from 390 px screens up).
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub sentiment: f64,
    pub tags: f64,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes { sentiment: 960.0, tags: 480.0 }
    }
}

impl Sizes {
    /// Widths as the page measured them, within sane bounds.
    pub fn clamped(sentiment: Option<f64>, tags: Option<f64>) -> Sizes {
        let d = Sizes::default();
        let fit = |w: Option<f64>, default: f64| {
            w.filter(|w| w.is_finite()).map_or(default, |w| w.clamp(240.0, 4000.0))
        };
        Sizes { sentiment: fit(sentiment, d.sentiment), tags: fit(tags, d.tags) }
    }
}

/// How many recent batches the health charts show.
const HEALTH_BATCHES: usize = 60;
/// How many recent batches the health table lists.
const HEALTH_ROWS: usize = 10;
/// How many tags a bar chart shows.
const TOP: usize = 10;

/// The freshness of what the panels show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No batch yet.
    Waiting,
    Live,
    /// The last batch is older than the interval allows, or the source is down.
    Stale,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Live => "live",
            State::Stale => "stale",
        }
    }
}

/// The panels' HTML (the part of the page that refreshes). `now_ms`: the
/// server's clock, milliseconds since the epoch.
pub fn panels(snap: &Snapshot, view: &View, connected: bool, now_ms: i64, sizes: Sizes) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let state = state(snap, view, connected, now_ms);
    let batch_time = snap.batch_time.map(format_millis).unwrap_or_default();
    let _ = write!(
        out,
        r#"<div id="view" data-state="{}" data-batch-time="{}" data-now="{now_ms}">"#,
        state.name(),
        esc(&batch_time)
    );
    status(&mut out, snap, view, connected, now_ms, state);
    out.push_str(r#"<div class="grid">"#);
    sentiment(&mut out, snap, sizes.sentiment);
    tags(&mut out, snap, view, sizes.tags);
    languages(&mut out, &snap.languages);
    health(&mut out, &snap.batches);
    out.push_str("</div></div>");
    out
}

fn state(snap: &Snapshot, view: &View, connected: bool, now_ms: i64) -> State {
    let Some(t) = snap.batch_time else { return State::Waiting };
    // A timed batch closes every interval, data or not; give it two more and
    // some slack before calling the data stale.
    let late = view.batch_every.is_some_and(|every| {
        let allowed = 3 * every.as_millis() as i64 + 5_000;
        now_ms - t > allowed
    });
    if late || !connected { State::Stale } else { State::Live }
}

fn status(out: &mut String, snap: &Snapshot, view: &View, connected: bool, now_ms: i64, state: State) {
    let source = if connected { "connected" } else { "not connected" };
    let _ = write!(
        out,
        r#"<p id="status" role="status" class="status {}"><strong>{}</strong> "#,
        state.name(),
        match state {
            State::Waiting => "Waiting for the first batch.",
            State::Live => "Live.",
            State::Stale => "Stale:",
        }
    );
    if state == State::Stale {
        out.push_str(if connected { "no new batch for a while. " } else { "the source is not connected. " });
    }
    let _ = write!(out, "Source {} ({source}).", esc(&view.source));
    if let Some(t) = snap.batch_time {
        let age = (now_ms - t).max(0) / 1000;
        let _ = write!(
            out,
            " Last batch <time>{}</time> UTC ({age} s ago), {} batches shown.",
            esc(&format_millis(t)),
            snap.batches.len()
        );
    }
    if let Some(every) = view.batch_every {
        let _ = write!(out, " Batch interval {}.", human(every));
    }
    out.push_str("</p>");
}

/// Panel 1: the average sentiment per day (a line) with the tweets per day (bars).
fn sentiment(out: &mut String, snap: &Snapshot, w: f64) {
    out.push_str(
        r#"<section class="panel wide" id="sentiment" aria-labelledby="sentiment-h"><h2 id="sentiment-h">Average sentiment per day"#,
    );
    let model = snap.model.unwrap_or_default();
    if snap.model.is_some() {
        let _ = write!(out, ": {}", model.measure());
    }
    out.push_str("</h2>");
    let days = &snap.sentiment_by_day;
    if days.is_empty() {
        out.push_str(r#"<p class="empty">No dated tweets yet.</p></section>"#);
        return;
    }
    let chart = DayChart::new(days, model, w);
    let _ = write!(
        out,
        r#"<p class="legend"><span class="key line"></span>Line with dots: average {} (left axis). <span class="key bar"></span> Bars: tweets per day (right axis).</p>"#,
        model.measure()
    );
    out.push_str(r#"<div class="split"><div class="plot">"#);
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="sentiment-h sentiment-desc"><desc id="sentiment-desc">{} days from {} to {}; the values are in the table below.</desc>"#,
        chart.w,
        chart.h,
        days.len(),
        days[0].0,
        days[days.len() - 1].0
    );
    chart.axes(out);
    chart.marks(out, days);
    chart.date_labels(out, days);
    out.push_str("</svg></div>");
    days_table(out, days, model);
    out.push_str("</div></section>");
}

/// The geometry of the sentiment chart: days along x (placed by date, so gaps
/// show, each with a slot for its bar), the average on the left axis, tweets
/// per day on the right one.
struct DayChart {
    w: f64,
    h: f64,
    left: f64,
    top: f64,
    pw: f64,
    ph: f64,
    first: i32,
    slot: f64,
    /// The left axis: from, to, tick step.
    avg: (f64, f64, f64),
    /// The right axis: to, tick step (from 0).
    count: (f64, f64),
    /// Whose scores the averages are.
    model: Model,
}

impl DayChart {
    fn new(days: &[(Day, DayStats)], model: Model, w: f64) -> Self {
        let w = w.round();
        let h = (w * 0.28).clamp(190.0, 250.0).round();
        let (left, right, top, bottom) = (56.0, 56.0, 12.0, 30.0);
        let (pw, ph) = (w - left - right, h - top - bottom);
        let first = days[0].0.0;
        let span = (days[days.len() - 1].0.0 - first).max(0) as f64;
        let lo = days.iter().map(|(_, s)| s.score_avg(model)).fold(0.0f64, f64::min);
        let hi = days.iter().map(|(_, s)| s.score_avg(model)).fold(0.0f64, f64::max);
        let max_count = days.iter().map(|(_, s)| s.count).max().unwrap_or(1).max(1);
        let (_, count_hi, count_step) = nice_range(0.0, max_count as f64, 1.0);
        DayChart {
            w,
            h,
            left,
            top,
            pw,
            ph,
            first,
            slot: pw / (span + 1.0),
            avg: nice_range(lo, hi, 0.1),
            model,
            count: (count_hi, count_step),
        }
    }

    fn x(&self, day: i32) -> f64 {
        self.left + self.slot * ((day - self.first) as f64 + 0.5)
    }

    fn y(&self, v: f64) -> f64 {
        let (lo, hi, _) = self.avg;
        self.top + self.ph * (hi - v) / (hi - lo)
    }

    fn y_count(&self, c: f64) -> f64 {
        self.top + self.ph * (1.0 - c / self.count.0)
    }

    /// Grid, both axes' ticks and their titles.
    fn axes(&self, out: &mut String) {
        let (lo, hi, step) = self.avg;
        let (left, pw) = (self.left, self.pw);
        let mut v = lo;
        while v <= hi + step / 2.0 {
            let class = if v.abs() < step / 2.0 { "zero" } else { "grid" };
            let _ = write!(
                out,
                r#"<line class="{class}" x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
                left + pw,
                left - 6.0,
                self.y(v) + 4.0,
                trim_num(v),
                y = self.y(v),
            );
            v += step;
        }
        let (count_hi, count_step) = self.count;
        let mut c = 0.0;
        while c <= count_hi + count_step / 2.0 {
            let _ = write!(
                out,
                r#"<text class="tick" x="{}" y="{:.1}">{}</text>"#,
                left + pw + 6.0,
                self.y_count(c) + 4.0,
                thousands(c as u64)
            );
            c += count_step;
        }
        let _ = write!(
            out,
            r#"<text class="axis" transform="translate(12 {mid}) rotate(-90)" text-anchor="middle">average {}</text><text class="axis" transform="translate({} {mid}) rotate(90)" text-anchor="middle">tweets</text>"#,
            self.model.measure(),
            self.w - 8.0,
            mid = self.top + self.ph / 2.0
        );
    }

    /// The bars (tweets), then the line and dots (average) over them.
    fn marks(&self, out: &mut String, days: &[(Day, DayStats)]) {
        let bar_w = (self.slot * 0.7).max(1.0);
        for (day, s) in days {
            let _ = write!(
                out,
                r#"<rect class="bar count" data-date="{day}" data-count="{}" x="{:.2}" y="{:.2}" width="{bar_w:.2}" height="{:.2}"><title>{day}: {} tweets</title></rect>"#,
                s.count,
                self.x(day.0) - bar_w / 2.0,
                self.y_count(s.count as f64),
                self.top + self.ph - self.y_count(s.count as f64),
                thousands(s.count)
            );
        }
        out.push_str(r#"<polyline class="line" points=""#);
        for (day, s) in days {
            let _ = write!(out, "{:.2},{:.2} ", self.x(day.0), self.y(s.score_avg(self.model)));
        }
        out.push_str(r#""/>"#);
        let r = if days.len() > 120 { 1.5 } else { 3.5 };
        for (day, s) in days {
            let avg = s.score_avg(self.model);
            let _ = write!(
                out,
                r#"<circle class="dot" data-date="{day}" data-avg="{avg}" cx="{:.2}" cy="{:.2}" r="{r}"><title>{day}: average {avg:.4} over {} tweets</title></circle>"#,
                self.x(day.0),
                self.y(avg),
                thousands(s.count)
            );
        }
    }

    /// Date labels: one per 100 px at most, evenly spread over the days that
    /// have data.
    fn date_labels(&self, out: &mut String, days: &[(Day, DayStats)]) {
        let labels = days.len().min((self.pw / 100.0) as usize).clamp(1, 8);
        for i in 0..labels {
            let idx = if labels == 1 { 0 } else { i * (days.len() - 1) / (labels - 1) };
            let day = days[idx].0;
            let _ = write!(
                out,
                r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{day}</text>"#,
                self.x(day.0),
                self.top + self.ph + 18.0
            );
        }
    }
}

/// The per-day values as a table, latest first.
fn days_table(out: &mut String, days: &[(Day, DayStats)], model: Model) {
    let _ = write!(
        out,
        r#"<div class="scroll" id="days-scroll"><table id="days-table"><caption>{} per day (UTC)</caption><thead><tr><th scope="col">date</th><th scope="col">average</th><th scope="col">tweets</th><th scope="col">score sum</th></tr></thead><tbody>"#,
        model.measure()
    );
    for (day, s) in days.iter().rev() {
        let _ = write!(
            out,
            r#"<tr data-date="{day}" data-avg="{}" data-count="{}"><th scope="row">{day}</th><td>{:.4}</td><td>{}</td><td>{:.4}</td></tr>"#,
            s.score_avg(model),
            s.count,
            s.score_avg(model),
            thousands(s.count),
            s.score_sum(model)
        );
    }
    out.push_str("</tbody></table></div>");
}

/// Panel 2: the top tags of the latest batch, and of the window or the totals.
fn tags(out: &mut String, snap: &Snapshot, view: &View, w: f64) {
    out.push_str(
        r#"<section class="panel" id="tags" aria-labelledby="tags-h"><h2 id="tags-h">Top hashtags</h2><div class="pair">"#,
    );
    bar_chart(out, "tag_counts", "Latest batch", &snap.tag_counts, w);
    match (&snap.tag_window, view.window) {
        (Some(window), Some(d)) => {
            bar_chart(out, "tag_window", &format!("Window (last {})", human(d)), window, w)
        }
        _ => bar_chart(out, "tag_totals", "Since start", &snap.tag_totals, w),
    }
    out.push_str("</div></section>");
}

fn bar_chart(out: &mut String, table: &str, title: &str, rows: &Ranked, w: f64) {
    let rows: Vec<(&str, u64)> = rows.iter().take(TOP).map(|r| (&*r.tag, r.count)).collect();
    let _ = write!(
        out,
        r#"<figure class="tagchart" data-table="{table}"><figcaption id="{table}-h">{} <span class="muted">({table})</span></figcaption>"#,
        esc(title)
    );
    if rows.is_empty() {
        out.push_str(r#"<p class="empty">No hashtags.</p></figure>"#);
        return;
    }
    let w = w.round();
    let (row_h, label_w) = (26.0, (w * 0.36).clamp(110.0, 170.0).round());
    let h = row_h * rows.len() as f64 + 8.0;
    let bar_max = w - label_w - 64.0;
    let shown_chars = (label_w / 8.0) as usize;
    let max = rows[0].1.max(1) as f64;
    let _ = write!(
        out,
        r#"<svg class="chart bars" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{table}-h">"#
    );
    for (i, &(tag, n)) in rows.iter().enumerate() {
        let top = 4.0 + row_h * i as f64;
        let bw = (bar_max * n as f64 / max).max(1.0);
        let shown = shorten(tag, shown_chars);
        let _ = write!(
            out,
            r#"<text class="label" x="{}" y="{:.1}" text-anchor="end">{}</text><rect class="bar tag" data-tag="{}" data-count="{n}" x="{label_w}" y="{top:.1}" width="{bw:.2}" height="{:.1}"><title>{}: {}</title></rect><text class="value" x="{:.1}" y="{:.1}">{}</text>"#,
            label_w - 8.0,
            top + row_h * 0.62,
            esc(&shown),
            esc(tag),
            row_h - 8.0,
            esc(tag),
            thousands(n),
            label_w + bw + 6.0,
            top + row_h * 0.62,
            thousands(n)
        );
    }
    let _ = write!(
        out,
        r#"</svg><table class="tags" id="{table}-table"><caption>{} ({table})</caption><thead><tr><th scope="col">tag</th><th scope="col">count</th></tr></thead><tbody>"#,
        esc(title)
    );
    for (tag, n) in rows {
        let _ = write!(
            out,
            r#"<tr data-tag="{}" data-count="{n}"><th scope="row">{}</th><td>{}</td></tr>"#,
            esc(tag),
            esc(tag),
            thousands(n)
        );
    }
    out.push_str("</tbody></table></figure>");
}

/// Panel 3: posts per language since start (every post read, kept by
/// `--lang` or not), the top [`TOP`], with each one's share.
fn languages(out: &mut String, langs: &[(crate::tweet::Lang, u64)]) {
    out.push_str(
        r#"<section class="panel" id="languages" aria-labelledby="languages-h"><h2 id="languages-h">Languages</h2>"#,
    );
    if langs.is_empty() {
        out.push_str(r#"<p class="empty">No posts yet.</p></section>"#);
        return;
    }
    let all: u64 = langs.iter().map(|(_, n)| n).sum();
    out.push_str(
        r#"<table class="tags" id="languages-table"><caption>Posts per language since start (languages)</caption><thead><tr><th scope="col">lang</th><th scope="col">posts</th><th scope="col">share</th></tr></thead><tbody>"#,
    );
    for (lang, n) in langs.iter().take(TOP) {
        let _ = write!(
            out,
            r#"<tr data-lang="{lang}" data-posts="{n}"><th scope="row">{lang}</th><td>{}</td><td>{:.1}%</td></tr>"#,
            thousands(*n),
            *n as f64 * 100.0 / all.max(1) as f64
        );
    }
    out.push_str("</tbody></table></section>");
}

/// A health measure: key, title, value of a batch, unit.
type Measure = (&'static str, &'static str, fn(&BatchRow) -> f64, &'static str);

/// Panel 4: batch health, one small chart per measure (like Spark's Streaming tab).
fn health(out: &mut String, batches: &[BatchRow]) {
    out.push_str(
        r#"<section class="panel" id="health" aria-labelledby="health-h"><h2 id="health-h">Batch health</h2>"#,
    );
    if batches.is_empty() {
        out.push_str(r#"<p class="empty">No batches yet.</p></section>"#);
        return;
    }
    let recent = &batches[batches.len().saturating_sub(HEALTH_BATCHES)..];
    let measures: [Measure; 4] = [
        ("records", "Records per batch", |b| b.records as f64, ""),
        ("processing_ms", "Processing time", |b| b.processing_ms, " ms"),
        ("delay_ms", "Scheduling delay", |b| b.delay_ms, " ms"),
        ("bad_records", "Bad records", |b| b.bad_records as f64, ""),
    ];
    out.push_str(r#"<div class="quad">"#);
    for (key, title, value, unit) in measures {
        let latest = value(&recent[recent.len() - 1]);
        let max = recent.iter().map(value).fold(0.0, f64::max);
        let _ = write!(
            out,
            r#"<figure class="spark" data-measure="{key}"><figcaption id="h-{key}">{title}: <strong>{}{unit}</strong> latest, {}{unit} max of the last {}</figcaption>"#,
            fmt_measure(latest),
            fmt_measure(max),
            recent.len()
        );
        let (w, h) = (300.0, 80.0);
        let slot = w / HEALTH_BATCHES as f64;
        let offset = (HEALTH_BATCHES - recent.len()) as f64 * slot;
        let scale = if max > 0.0 { (h - 4.0) / max } else { 0.0 };
        let _ = write!(
            out,
            r#"<svg class="chart spark" viewBox="0 0 {w} {h}" role="img" aria-labelledby="h-{key}">"#
        );
        let _ = write!(out, r#"<line class="grid" x1="0" x2="{w}" y1="{h}" y2="{h}"/>"#);
        for (i, b) in recent.iter().enumerate() {
            let v = value(b);
            let bh = (v * scale).max(if v > 0.0 { 1.0 } else { 0.0 });
            let t = format_millis(b.batch_time);
            let _ = write!(
                out,
                r#"<rect class="bar" data-batch-time="{t}" data-value="{v}" x="{:.2}" y="{:.2}" width="{:.2}" height="{bh:.2}"><title>{t}: {}{unit}</title></rect>"#,
                offset + slot * i as f64 + slot * 0.1,
                h - bh,
                slot * 0.8,
                fmt_measure(v)
            );
        }
        out.push_str("</svg></figure>");
    }
    out.push_str(
        r#"</div><div class="scroll"><table id="batches-table"><caption>Recent batches (UTC)</caption><thead><tr><th scope="col">batch time</th><th scope="col">records</th><th scope="col">bad</th><th scope="col">undated</th><th scope="col">processing ms</th><th scope="col">delay ms</th></tr></thead><tbody>"#,
    );
    for b in batches.iter().rev().take(HEALTH_ROWS) {
        let _ = write!(
            out,
            r#"<tr data-batch-time="{t}" data-records="{}" data-bad="{}"><th scope="row">{t}</th><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td></tr>"#,
            b.records,
            b.bad_records,
            thousands(b.records),
            thousands(b.bad_records),
            thousands(b.undated),
            b.processing_ms,
            b.delay_ms,
            t = format_millis(b.batch_time)
        );
    }
    out.push_str("</tbody></table></div></section>");
}

/// A range that contains `lo..=hi`, at least `min_span` wide, with round ends,
/// and its tick step.
fn nice_range(lo: f64, hi: f64, min_span: f64) -> (f64, f64, f64) {
    let hi = hi.max(lo + min_span);
    let span = hi - lo;
    let raw = span / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let lo = (lo / step).floor() * step;
    let mut hi = (hi / step).ceil() * step;
    if hi <= lo {
        hi = lo + step;
    }
    (lo, hi, step)
}

/// A tick value without float noise: `0.1`, not `0.30000000000000004`.
fn trim_num(v: f64) -> String {
    let s = format!("{:.3}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn fmt_measure(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { thousands(v as u64) } else { format!("{v:.1}") }
}

/// `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `10 s`, `2 min`, `1.5 s`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms >= 60_000 {
        format!("{} min", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{} ms", ms)
    }
}

/// At most `max` characters, with an ellipsis when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::batch::DayStats;
    use crate::tweet::Day;

    fn view() -> View {
        View { batch_every: Some(Duration::from_secs(10)), window: None, source: "socket a:1".into() }
    }

    fn snapshot() -> Snapshot {
        let d = |n| Day::from_ymd(2015, 11, n).unwrap();
        Snapshot {
            batch_time: Some(100_000),
            model: Some(Model::Vader),
            tag_counts: Ranked::from_pairs([("#b<", 4), ("#a", 2)]),
            tag_totals: Ranked::from_pairs([("#b<", 9), ("#a", 3)]),
            tag_window: None,
            sentiment_by_day: vec![(d(1), DayStats::vader(5_000, 2)), (d(3), DayStats::vader(-3_000, 1))],
            languages: vec![(crate::tweet::Lang::parse("en").unwrap(), 5), (crate::tweet::Lang::UND, 3)],
            batches: vec![BatchRow {
                batch_time: 100_000,
                records: 7,
                bad_records: 1,
                undated: 0,
                filtered: 0,
                processing_ms: 2.5,
                delay_ms: 0.5,
            }],
            batches_closed: 1,
            totals_error: false,
        }
    }

    #[test]
    fn marks_and_tables_carry_the_values_escaped() {
        let html = panels(&snapshot(), &view(), true, 101_000, Sizes::default());
        assert!(html.contains(r#"data-state="live""#), "{html}");
        assert!(html.contains(r#"<circle class="dot" data-date="2015-11-01" data-avg="0.25""#));
        assert!(html.contains(r#"data-date="2015-11-03" data-avg="-0.3""#));
        assert!(html.contains(r##"data-tag="#b&lt;" data-count="4""##), "tag text is escaped");
        assert!(html.contains(r##"data-tag="#b&lt;" data-count="9""##), "totals when no window");
        assert!(!html.contains("#b<"), "no raw tag text");
        assert!(html.contains(r#"<tr data-batch-time="1970-01-01 00:01:40" data-records="7" data-bad="1">"#));
        assert!(html.contains(
            r#"<tr data-lang="en" data-posts="5"><th scope="row">en</th><td>5</td><td>62.5%</td></tr>"#
        ));
        assert!(html.contains(r#"<tr data-lang="und" data-posts="3">"#));
        // Bars of the tag chart are proportional to the counts.
        assert!(html.contains(r#"data-count="4" x="170" y="4.0" width="246.00""#), "{html}");
        assert!(html.contains(r#"data-count="2" x="170" y="30.0" width="123.00""#));
    }

    #[test]
    fn the_chart_names_its_measure() {
        let mut snap = snapshot();
        let html = panels(&snap, &view(), true, 101_000, Sizes::default());
        assert!(html.contains("Average sentiment per day: VADER compound</h2>"), "{html}");
        assert!(html.contains(">average VADER compound</text>"));
        snap.model = Some(Model::TextBlob);
        let html = panels(&snap, &view(), true, 101_000, Sizes::default());
        assert!(html.contains("Average sentiment per day: TextBlob polarity</h2>"));
        assert!(html.contains("<caption>TextBlob polarity per day (UTC)</caption>"));
        assert!(!html.contains("VADER"));
    }

    #[test]
    fn freshness() {
        let snap = snapshot();
        let at = |view: &View, connected, now| panels(&snap, view, connected, now, Sizes::default());
        assert!(at(&view(), true, 140_000).contains(r#"data-state="stale""#), "40 s > 3 × 10 s + 5 s");
        assert!(at(&view(), true, 134_000).contains(r#"data-state="live""#));
        assert!(at(&view(), false, 101_000).contains("the source is not connected"));
        let manual = View { batch_every: None, ..view() };
        assert!(at(&manual, true, 10_000_000).contains(r#"data-state="live""#));
        let empty = panels(&Snapshot::default(), &view(), true, 0, Sizes::default());
        assert!(empty.contains(r#"data-state="waiting""#) && empty.contains("No dated tweets yet"));
    }

    #[test]
    fn helpers() {
        assert_eq!(nice_range(-0.3, 0.25, 0.1), (-0.4, 0.4, 0.2));
        assert_eq!(nice_range(0.0, 7.0, 1.0), (0.0, 8.0, 2.0));
        assert_eq!(nice_range(0.0, 0.0, 0.1), (0.0, 0.1, 0.025));
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(trim_num(-0.0001), "0");
        assert_eq!(shorten("#abcdef", 4), "#ab…");
        assert_eq!(human(Duration::from_secs(120)), "2 min");
    }
}
