//! The tweet record: decoding one input line into text and date, or into the
//! reason it is a bad record.
//!
//! Accepted lines: Twitter API objects (`text`, `extended_tweet.full_text`,
//! `created_at`), the lab's `{"tweet": …, "date": …}` (also `Tweet`/`Date`), or,
//! with [`InputFormat::Text`], the raw text itself.

pub mod date;

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

pub use date::Day;

/// How stream lines are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// One JSON tweet per line.
    Json,
    /// Each line is a tweet's text (no date), for typing into `nc` by hand.
    Text,
}

/// One decoded tweet, borrowing from the line where it can.
#[derive(Debug, PartialEq)]
pub struct Tweet<'a> {
    pub text: Cow<'a, str>,
    pub date: DateStatus,
}

/// What we know about a tweet's date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateStatus {
    /// Milliseconds since the epoch.
    At(i64),
    /// No date field, or an empty one.
    Missing,
    /// A date in a format we cannot read.
    Unreadable,
}

impl DateStatus {
    /// The UTC day, if the date is known.
    pub fn day(self) -> Option<Day> {
        self.millis().map(Day::from_epoch_millis)
    }

    pub fn millis(self) -> Option<i64> {
        match self {
            DateStatus::At(ms) => Some(ms),
            _ => None,
        }
    }
}

/// Why a line is not a tweet. Counted per batch, never fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BadRecord {
    InvalidUtf8,
    InvalidJson,
    NoText,
    TooLong,
}

impl BadRecord {
    pub fn reason(self) -> &'static str {
        match self {
            BadRecord::InvalidUtf8 => "invalid UTF-8",
            BadRecord::InvalidJson => "not a JSON object",
            BadRecord::NoText => "no tweet text",
            BadRecord::TooLong => "line longer than --max-line-bytes",
        }
    }
}

#[derive(Deserialize)]
struct RawTweet<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    extended_tweet: Option<Extended<'a>>,
    #[serde(borrow, default, alias = "Tweet")]
    tweet: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    created_at: Option<&'a RawValue>,
    #[serde(borrow, default, alias = "Date")]
    date: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Extended<'a> {
    #[serde(borrow, default)]
    full_text: Option<Cow<'a, str>>,
}

/// Decodes one line.
pub fn decode(line: &[u8], format: InputFormat) -> Result<Tweet<'_>, BadRecord> {
    let line = std::str::from_utf8(line).map_err(|_| BadRecord::InvalidUtf8)?;
    match format {
        InputFormat::Text => Ok(Tweet { text: Cow::Borrowed(line), date: DateStatus::Missing }),
        InputFormat::Json => decode_json(line),
    }
}

fn decode_json(line: &str) -> Result<Tweet<'_>, BadRecord> {
    let raw: RawTweet<'_> = serde_json::from_str(line).map_err(|_| BadRecord::InvalidJson)?;
    let text =
        raw.extended_tweet.and_then(|e| e.full_text).or(raw.text).or(raw.tweet).ok_or(BadRecord::NoText)?;
    let date = match raw.created_at.or(raw.date) {
        None => DateStatus::Missing,
        Some(value) => match date::parse_json_date(value.get()) {
            Ok(Some(ms)) => DateStatus::At(ms),
            Ok(None) => DateStatus::Missing,
            Err(date::UnreadableDate) => DateStatus::Unreadable,
        },
    };
    Ok(Tweet { text, date })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> Option<Day> {
        Day::from_ymd(y, m, d)
    }

    #[test]
    fn twitter_objects() {
        let t = decode(
            br#"{"created_at":"Sun Nov 01 06:08:46 +0000 2015","id":1,"text":"hi #a","user":{"x":[1,2]}}"#,
            InputFormat::Json,
        )
        .unwrap();
        assert_eq!(t.text, "hi #a");
        assert_eq!(t.date.day(), day(2015, 11, 1));
        let t = decode(br#"{"text":"short\u2026","extended_tweet":{"full_text":"the full text"},"created_at":"Sun Nov 01 06:08:46 +0000 2015"}"#, InputFormat::Json).unwrap();
        assert_eq!(t.text, "the full text");
    }

    #[test]
    fn lab_objects_and_dates() {
        let t = decode(br#"{"tweet":"x","date":{"$date":1446358126000}}"#, InputFormat::Json).unwrap();
        assert_eq!(t.date.day(), day(2015, 11, 1));
        let t = decode(br#"{"Tweet":"x","Date":"2015-11-02"}"#, InputFormat::Json).unwrap();
        assert_eq!(t.date.day(), day(2015, 11, 2));
        let t = decode(br#"{"tweet":"x"}"#, InputFormat::Json).unwrap();
        assert_eq!(t.date, DateStatus::Missing);
        let t = decode(br#"{"tweet":"x","date":"the day after"}"#, InputFormat::Json).unwrap();
        assert_eq!(t.date, DateStatus::Unreadable);
    }

    #[test]
    fn bad_records() {
        assert_eq!(decode(b"{\"text\":\"a\xff\"}", InputFormat::Json), Err(BadRecord::InvalidUtf8));
        assert_eq!(decode(b"{\"text\":", InputFormat::Json), Err(BadRecord::InvalidJson));
        assert_eq!(decode(b"[1,2]", InputFormat::Json), Err(BadRecord::InvalidJson));
        assert_eq!(decode(b"\"just a string\"", InputFormat::Json), Err(BadRecord::InvalidJson));
        assert_eq!(decode(br#"{"user":"x"}"#, InputFormat::Json), Err(BadRecord::NoText));
        assert_eq!(decode(br#"{"text":null}"#, InputFormat::Json), Err(BadRecord::NoText));
        assert_eq!(decode(b"plain #text", InputFormat::Text).unwrap().text, "plain #text");
    }
}
