//! The project's own test data, generated deterministically (the original lab
//! data sets cannot be downloaded): several days of tweets with hashtags in many
//! forms, emoji, undated tweets and bad lines, in the three input formats.
//!
//! `tweetstream fixtures --out fixtures` writes the files committed under
//! `fixtures/`; a test checks they still match this generator.

use crate::rng::Rng;
use crate::tweet::date::CivilTime;
use serde_json::json;

const OPENERS: &[&str] = &[
    "Just watched the game",
    "Reading the news",
    "Monday again",
    "New release out today",
    "Coffee first",
    "Stuck in traffic",
    "Our team shipped it",
    "Nobody asked but",
    "Breaking",
    "Weekend plans",
];
const SENTIMENT: &[&str] = &[
    "and I love it",
    "this is terrible",
    "not bad at all",
    "very good indeed",
    "kind of disappointing",
    "absolutely amazing!!!",
    "I hate Mondays",
    "so happy right now :)",
    "worst day ever :(",
    "meh",
    "GREAT work everyone",
    "it was okay but the ending was awful",
    "no problem",
    "LOL",
    "can't complain",
    "never been this good",
    "at least it isn't horrible",
];
const TAGS: &[&str] = &[
    "#Rust",
    "#rust",
    "#RUST!",
    "#rust,",
    "#DataEngineering",
    "#spark",
    "#Spark.",
    "#kafka",
    "#MongoDB",
    "#Überfall",
    "#日本語",
    "#café",
    "#_under_score",
    "#tag2015",
    "#russia's",
    "#love",
    "#Love",
];
const ODD_TAGS: &[&str] = &["#", "#123", "x#notatag", "&#39;", "(#paren)", "#a#b", "＃fullwidth"];
const EMOJI: &[&str] = &["😀", "💔", "❤️", "🔥", "😭", "👍", "👨\u{200d}👩\u{200d}👧"];
const URLS: &[&str] = &["http://example.com/#anchor", "https://t.co/AbC#frag", "www.example.org/#x"];
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// First day of the fixtures: 2015-11-01 (as in the lab's data).
const FIRST_DAY: i64 = 16_740;
const DAYS: i64 = 5;

/// A tweet text with 0–3 hashtags in assorted forms.
pub fn text(rng: &mut Rng) -> String {
    let mut parts = vec![rng.pick(OPENERS).to_string(), rng.pick(SENTIMENT).to_string()];
    for _ in 0..rng.below(4) {
        parts.push(rng.pick(TAGS).to_string());
    }
    if rng.chance(10) {
        parts.push(rng.pick(ODD_TAGS).to_string());
    }
    if rng.chance(20) {
        parts.push(rng.pick(EMOJI).to_string());
    }
    if rng.chance(10) {
        parts.push(rng.pick(URLS).to_string());
    }
    if rng.chance(5) {
        parts.push("@someone".into());
    }
    // Shuffle the tail so tags are not always last.
    let n = parts.len();
    for i in (2..n).rev() {
        let j = 1 + rng.below(i);
        parts.swap(i, j);
    }
    parts.join(" ")
}

/// Milliseconds since the epoch of a random moment in the fixture days.
fn moment(rng: &mut Rng) -> i64 {
    (FIRST_DAY + rng.below(DAYS as usize) as i64) * 86_400_000 + rng.below(86_400_000) as i64
}

/// `count` moments in time order, so a `--realtime` replay plays them as a day.
fn moments(rng: &mut Rng, count: usize) -> Vec<i64> {
    let mut m: Vec<i64> = (0..count).map(|_| moment(rng)).collect();
    m.sort_unstable();
    m
}

/// Twitter's `created_at` for `ms`, written at a UTC offset of `offset_min`.
fn twitter_date(ms: i64, offset_min: i64) -> String {
    let t = CivilTime::from_epoch_millis(ms + offset_min * 60_000);
    let (y, m, d) = t.day.ymd();
    let sign = if offset_min < 0 { '-' } else { '+' };
    format!(
        "{} {} {d:02} {:02}:{:02}:{:02} {sign}{:02}{:02} {y}",
        WEEKDAYS[t.day.0.rem_euclid(7) as usize],
        MONTHS[m as usize - 1],
        t.hour,
        t.minute,
        t.second,
        offset_min.abs() / 60,
        offset_min.abs() % 60
    )
}

fn iso_date(ms: i64) -> String {
    let t = CivilTime::from_epoch_millis(ms);
    format!("{}T{:02}:{:02}:{:02}Z", t.day, t.hour, t.minute, t.second)
}

/// `tweets.jsonl`: Twitter API objects, plus bad and undated lines.
pub fn twitter_jsonl(count: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let times = moments(&mut rng, count);
    let mut out = Vec::new();
    for (i, &ms) in times.iter().enumerate() {
        // About one line in 40 is bad or odd.
        if rng.chance(3) {
            match rng.below(6) {
                0 => out.extend_from_slice(br#"{"created_at":"Sun Nov 01 10:00:00 +0000 2015","text":"unterminated"#),
                1 => out.extend_from_slice(br#"{"id":1,"user":{"name":"no text here"}}"#),
                2 => out.extend_from_slice(b"{\"text\":\"bad bytes \xff\xfe #broken\"}"),
                3 => out.extend_from_slice(b"[1,2,3]"),
                4 => out.extend_from_slice(format!(r#"{{"text":"{} #undated"}}"#, rng.pick(SENTIMENT)).as_bytes()),
                _ => out.extend_from_slice(
                    json!({"text": format!("{} #weirddate", rng.pick(SENTIMENT)), "created_at": "sometime next week"})
                        .to_string()
                        .as_bytes(),
                ),
            }
            out.push(b'\n');
            continue;
        }
        let offset = *rng.pick(&[0i64, 0, 0, 60, -300, 330]);
        let mut obj = json!({
            "created_at": twitter_date(ms, offset),
            "id": 660_000_000_000_000_000u64 + i as u64,
            "text": text(&mut rng),
            "user": {"screen_name": format!("user{}", rng.below(500)), "followers_count": rng.below(10_000)},
            "lang": "en",
        });
        if rng.chance(10) {
            let full = format!("{} {}", obj["text"].as_str().unwrap_or(""), text(&mut rng));
            obj["text"] = json!(format!("{}…", full.chars().take(40).collect::<String>()));
            obj["extended_tweet"] = json!({"full_text": full});
        }
        out.extend_from_slice(obj.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// `lab.jsonl`: the Kafka message shape `{"tweet": …, "date": …}` with dates as
/// ISO strings, extended JSON and epoch milliseconds.
pub fn lab_jsonl(count: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for ms in moments(&mut rng, count) {
        let date = match rng.below(3) {
            0 => json!(iso_date(ms)),
            1 => json!({"$date": ms}),
            _ => json!(ms),
        };
        out.extend_from_slice(json!({"tweet": text(&mut rng), "date": date}).to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// `tweets.csv`: the lab's columns `Date,Tweet`, with quoting and commas.
pub fn csv(count: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["Date", "Tweet", "Likes"]).expect("in-memory write");
    for ms in moments(&mut rng, count) {
        let date =
            if rng.chance(50) { iso_date(ms) } else { iso_date(ms).replace('T', " ").replace('Z', "") };
        let mut t = text(&mut rng);
        if rng.chance(10) {
            t.push_str(", with \"quotes\", commas");
        }
        w.write_record([date, t, rng.below(100).to_string()]).expect("in-memory write");
    }
    w.into_inner().expect("in-memory write")
}

/// The rows of `tweets.parquet`: (epoch milliseconds, text), in time order.
pub fn lab_rows(count: usize, seed: u64) -> Vec<(i64, String)> {
    let mut rng = Rng::new(seed);
    moments(&mut rng, count).into_iter().map(|ms| (ms, text(&mut rng))).collect()
}

/// `tweets.parquet`: the lab's schema, `Date` (timestamp, UTC) and `Tweet`.
pub fn parquet(count: usize, seed: u64) -> Vec<u8> {
    use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampMillisecondArray};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;
    let rows = lab_rows(count, seed);
    let schema = Arc::new(Schema::new(vec![
        Field::new("Date", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false),
        Field::new("Tweet", DataType::Utf8, false),
    ]));
    let dates =
        TimestampMillisecondArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>()).with_timezone("UTC");
    let tweets = StringArray::from(rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>());
    let columns: Vec<ArrayRef> = vec![Arc::new(dates), Arc::new(tweets)];
    let batch = RecordBatch::try_new(schema.clone(), columns).expect("columns match the schema");
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, schema, None).expect("in-memory writer");
    writer.write(&batch).expect("in-memory write");
    writer.close().expect("in-memory write");
    out
}

/// Size and seed of the committed `tweets.parquet`.
pub const PARQUET_ROWS: usize = 500;
pub const PARQUET_SEED: u64 = 4;

/// The committed fixture files: (file name, contents).
pub fn default_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("tweets.jsonl", twitter_jsonl(1200, 1)),
        ("lab.jsonl", lab_jsonl(600, 2)),
        ("tweets.csv", csv(300, 3)),
        ("tweets.parquet", parquet(PARQUET_ROWS, PARQUET_SEED)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twitter_dates_parse_back() {
        let mut rng = Rng::new(9);
        for _ in 0..1000 {
            let ms = moment(&mut rng);
            for offset in [0, 60, -300, 330] {
                let parsed = crate::tweet::date::parse_date(&twitter_date(ms, offset));
                assert_eq!(
                    parsed,
                    Some(crate::tweet::Day::from_epoch_millis(ms)),
                    "{}",
                    twitter_date(ms, offset)
                );
            }
        }
    }

    #[test]
    fn generation_is_deterministic() {
        assert_eq!(default_files(), default_files());
    }
}
