//! The tweet record: decoding one input line into text and date, or into the
//! reason it is a bad record.
//!
//! Accepted lines: JSON objects with a text and a date field as [`record`]
//! names them (Twitter API objects: `text`, `extended_tweet.full_text`,
//! `created_at`; the lab's `{"tweet": …, "date": …}`), or, with
//! [`InputFormat::Text`], the raw text itself.

pub(crate) mod csv_input;
pub mod date;
pub(crate) mod json;
pub(crate) mod lang;
pub(crate) mod record;

use json::{RawStr, Scanner};
use record::Field;

pub use date::Day;
pub use lang::Lang;

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
    pub text: &'a str,
    pub date: DateStatus,
    /// Its language (`und` where the line gives none).
    pub lang: Lang,
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
    pub const ALL: [BadRecord; 4] =
        [BadRecord::InvalidUtf8, BadRecord::InvalidJson, BadRecord::NoText, BadRecord::TooLong];

    pub fn reason(self) -> &'static str {
        match self {
            BadRecord::InvalidUtf8 => "invalid UTF-8",
            BadRecord::InvalidJson => "not a JSON object",
            BadRecord::NoText => "no tweet text",
            BadRecord::TooLong => "line longer than --max-line-bytes",
        }
    }
}

/// Decodes one line. Escaped text is decoded into `scratch`, so that no line
/// costs an allocation.
pub fn decode<'a>(
    line: &'a [u8],
    format: InputFormat,
    scratch: &'a mut String,
) -> Result<Tweet<'a>, BadRecord> {
    let utf8 = |line| simdutf8::basic::from_utf8(line).map_err(|_| BadRecord::InvalidUtf8);
    match format {
        InputFormat::Text => Ok(Tweet { text: utf8(line)?, date: DateStatus::Missing, lang: Lang::UND }),
        // The scanner checks UTF-8 as it goes (a line that scans is UTF-8); a
        // line it rejects is told apart here, off the hot path.
        InputFormat::Json => decode_json(line, scratch).map_err(|e| match e {
            BadRecord::InvalidJson if utf8(line).is_err() => BadRecord::InvalidUtf8,
            e => e,
        }),
    }
}

/// One member of a tweet object, into `f`; `data`: where a v2 `data`
/// object's fields go (`TOP`: this is the outer object; inside `data`, a
/// `data` is just a key). Always inlined, as one function per level: it runs
/// for every key of every tweet (a call per key cost 5% of the engine's
/// instructions).
#[inline(always)]
fn member<'a, const TOP: bool>(
    p: &mut Scanner<'a>,
    key: &str,
    f: &mut record::Found<RawStr<'a>, &'a str>,
    data: &mut Option<record::Found<RawStr<'a>, &'a str>>,
) -> Result<(), json::Invalid> {
    match record::field(key) {
        Some(Field::Text(rank)) => f.set_text(rank, string_or_skip(p)?),
        Some(Field::Date(rank)) => f.set_date(rank, Some(p.skip()?)),
        Some(Field::Lang(rank)) => f.set_lang(rank, string_or_skip(p)?),
        // The untruncated text: v1.1's `extended_tweet.full_text`, v2's
        // `note_tweet.text`.
        None if key == record::EXTENDED || key == record::NOTE => untruncated(p, key, f)?,
        None if TOP && key == record::V2_DATA => v2_data(p, data)?,
        None => {
            p.skip()?;
        }
    }
    Ok(())
}

/// The untruncated text: v1.1's `extended_tweet.full_text`, v2's
/// `note_tweet.text` (kept out of line: most keys are neither).
#[inline(never)]
fn untruncated<'a>(
    p: &mut Scanner<'a>,
    key: &str,
    f: &mut record::Found<RawStr<'a>, &'a str>,
) -> Result<(), json::Invalid> {
    let inner = if key == record::EXTENDED { Field::Text(0) } else { Field::Text(1) };
    let mut full_text = None;
    if p.peek() == Some(b'{') {
        p.object(|p, key| {
            if record::field(key) == Some(inner) {
                full_text = string_or_skip(p)?;
            } else {
                p.skip()?;
            }
            Ok(())
        })?;
    } else {
        p.skip()?;
    }
    f.set_extended(full_text);
    Ok(())
}

/// A v2 object's `data`, into `data` (`None` until a line has one, so that
/// other lines never make or read it); a repeated `data` replaces the one
/// before, as a repeated key does.
#[inline(never)]
fn v2_data<'a>(
    p: &mut Scanner<'a>,
    data: &mut Option<record::Found<RawStr<'a>, &'a str>>,
) -> Result<(), json::Invalid> {
    *data = None;
    if p.peek() == Some(b'{') {
        let inner = data.insert(record::Found::default());
        let mut unused = None;
        p.object(|p, key| member::<false>(p, key, inner, &mut unused))?;
    } else {
        p.skip()?;
    }
    Ok(())
}

/// A string value, or `None` (after skipping it) for any other kind.
#[inline(always)]
fn string_or_skip<'a>(p: &mut Scanner<'a>) -> Result<Option<RawStr<'a>>, json::Invalid> {
    if p.peek() == Some(b'"') { p.string().map(Some) } else { p.skip().map(|_| None) }
}

/// The lab's message exactly as `produce` and `replay` write it,
/// `{"tweet":"…","date":…}`, with a text of no escapes and a date of a form
/// [`date::fast_json_date`] reads, decoded in place: the prefix, one vector
/// search for the text's end, its UTF-8 check, the date. Anything else
/// (another key, an escape, a control character, another date form) is
/// left to the scanner, which gives the same answer for these lines (a test
/// holds the two together).
#[inline]
fn lab_message(line: &[u8]) -> Option<Tweet<'_>> {
    let body = line.strip_prefix(br#"{"tweet":"#)?.strip_suffix(b"}")?;
    if body.first() != Some(&b'"') {
        return None;
    }
    // The scanner's own string reader: it checks UTF-8 and control characters.
    let text = Scanner::new(body).string().ok()?.plain().filter(|t| !t.is_empty())?;
    // Without escapes the text is its bytes, between two quotes.
    let raw = body[text.len() + 2..].strip_prefix(br#","date":"#)?;
    let ms = date::fast_json_date(raw)?;
    Some(Tweet { text, date: DateStatus::At(ms), lang: Lang::UND })
}

fn decode_json<'a>(line: &'a [u8], scratch: &'a mut String) -> Result<Tweet<'a>, BadRecord> {
    match lab_message(line) {
        Some(tweet) => Ok(tweet),
        None => decode_json_scanned(line, scratch),
    }
}

/// [`decode_json`] by the scanner, for any JSON object.
fn decode_json_scanned<'a>(line: &'a [u8], scratch: &'a mut String) -> Result<Tweet<'a>, BadRecord> {
    // Text fields that are not strings count as absent.
    let mut f = record::Found::<RawStr<'a>, &'a str>::default();
    let mut v2 = None;
    let mut p = Scanner::new(line);
    p.object(|p, key| member::<true>(p, key, &mut f, &mut v2))
        .and_then(|()| p.end())
        .map_err(|_| BadRecord::InvalidJson)?;
    if let Some(v2) = &v2 {
        f.fill_from(v2);
    }
    let (text, date, lang) = f.best();
    let text = text.ok_or(BadRecord::NoText)?;
    let text = text.decode_into(scratch).map_err(|_| BadRecord::InvalidJson)?;
    let date = match date {
        None => DateStatus::Missing,
        Some(value) => match date::parse_json_date(value) {
            Ok(Some(ms)) => DateStatus::At(ms),
            Ok(None) => DateStatus::Missing,
            Err(date::UnreadableDate) => DateStatus::Unreadable,
        },
    };
    Ok(Tweet { text, date, lang: lang.map_or(Lang::UND, lang_of) })
}

/// The value of a line's date field as written (its best one, as
/// [`record`] ranks them), for a message about a date that cannot be read:
/// at most 80 characters. Off the hot path: it reads the line again.
#[inline(never)]
pub fn date_text(line: &[u8]) -> Option<String> {
    let mut f = record::Found::<RawStr<'_>, &str>::default();
    let mut v2 = None;
    let mut p = Scanner::new(line);
    p.object(|p, key| member::<true>(p, key, &mut f, &mut v2)).ok()?;
    if let Some(v2) = &v2 {
        f.fill_from(v2);
    }
    let raw = f.date()?;
    Some(raw.chars().take(80).collect())
}

/// A language field's value (an escaped one, which no tag needs, is
/// decoded first, out of line).
#[inline]
fn lang_of(raw: RawStr<'_>) -> Lang {
    match raw.plain() {
        Some(s) => Lang::parse(s).unwrap_or(Lang::UND),
        None => escaped_lang(raw),
    }
}

#[inline(never)]
fn escaped_lang(raw: RawStr<'_>) -> Lang {
    Lang::or_und(raw.decode_into(&mut String::new()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// Where the lab message's fast path answers, the scanner answers the
        /// same; lines differing from the exact form in any way are included.
        #[test]
        fn the_lab_fast_path_answers_as_the_scanner(
            head in proptest::sample::select(vec![r#"{"tweet":"#, r#"{"tweet": "#, r#"{"text":"#, r#"{"tweet":"#]),
            text in "([a-zA-Z #'é日😀\\\"\t]|\\n|\\u00e9){0,12}",
            middle in proptest::sample::select(vec![r#","date":"#, r#", "date":"#, r#","lang":"en","date":"#, r#","date":"#]),
            date in proptest::sample::select(vec![
                "\"2015-11-01T00:05:42Z\"", "\"2015-02-30T00:05:42Z\"", "\"2015-11-01T00:05:42.123Z\"",
                "1446336570255", "0", "01", "{\"$date\":1446336570255}", "{\"$date\": 1}", "\"Sun Nov 01 06:08:46 +0000 2015\"",
                "null", "\"\"", "1e3", "\"2015-11-01\"", "[1]",
            ]),
            tail in proptest::sample::select(vec!["}", "} ", "}}", ""]),
            bad_byte in proptest::option::of(0usize..40),
        ) {
            let mut line = format!("{head}\"{text}\"{middle}{date}{tail}").into_bytes();
            if let Some(at) = bad_byte.filter(|&at| at < line.len()) {
                line[at] = 0xff;
            }
            if let Some(fast) = lab_message(&line) {
                let mut scratch = String::new();
                proptest::prop_assert_eq!(Ok(fast), decode_json_scanned(&line, &mut scratch));
            }
        }
    }

    #[test]
    fn the_lab_fast_path_takes_the_lab_messages() {
        for line in [
            r#"{"tweet":"Breaking #rust, this is terrible #日本語","date":1446336912771}"#,
            r#"{"tweet":"a","date":"2015-11-01T00:05:42Z"}"#,
            r#"{"tweet":"a","date":{"$date":1446336570255}}"#,
        ] {
            assert!(lab_message(line.as_bytes()).is_some(), "{line}");
        }
        for line in
            [r#"{"tweet":"a\nb","date":1}"#, r#"{"tweet":"","date":1}"#, r#"{"tweet":"a","date":null}"#]
        {
            assert!(lab_message(line.as_bytes()).is_none(), "{line}");
        }
    }

    /// (text, date) of a line.
    fn decode(line: &[u8], format: InputFormat) -> Result<(String, DateStatus), BadRecord> {
        super::decode(line, format, &mut String::new()).map(|t| (t.text.to_owned(), t.date))
    }

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
        assert_eq!(t.0, "hi #a");
        assert_eq!(t.1.day(), day(2015, 11, 1));
        let t = decode(br#"{"text":"short\u2026","extended_tweet":{"full_text":"the full text"},"created_at":"Sun Nov 01 06:08:46 +0000 2015"}"#, InputFormat::Json).unwrap();
        assert_eq!(t.0, "the full text");
    }

    #[test]
    fn twitter_api_v2_objects() {
        let line = br#"{"data":{"id":"1","text":"hi #v2","created_at":"2022-03-01T10:00:00.000Z","edit_history_tweet_ids":["1"]},"includes":{"users":[{"text":"no"}]},"matching_rules":[{"id":"7","tag":"t"}]}"#;
        let t = decode(line, InputFormat::Json).unwrap();
        assert_eq!(t.0, "hi #v2");
        assert_eq!(t.1.day(), day(2022, 3, 1));
        // A long tweet's untruncated text is in note_tweet.
        let long = br#"{"data":{"text":"cut...","note_tweet":{"text":"the whole #long text"},"created_at":"2022-03-02T00:00:00Z"}}"#;
        assert_eq!(decode(long, InputFormat::Json).unwrap().0, "the whole #long text");
        // Fields of the object itself come first; a data that is no object is skipped.
        let both = br#"{"text":"own","data":{"text":"inner","created_at":"2022-03-03"}}"#;
        let t = decode(both, InputFormat::Json).unwrap();
        assert_eq!((t.0.as_str(), t.1.day()), ("own", day(2022, 3, 3)));
        assert_eq!(decode(br#"{"data":"x"}"#, InputFormat::Json), Err(BadRecord::NoText));
        // A repeated `data` replaces the one before, whatever it is.
        assert_eq!(decode(br#"{"data":{"text":"a"},"data":5}"#, InputFormat::Json), Err(BadRecord::NoText));
        assert_eq!(
            decode(br#"{"data":{"text":"a"},"data":{"text":"b"}}"#, InputFormat::Json).unwrap().0,
            "b"
        );
        // Only the outer object's data is read as v2's.
        assert_eq!(
            decode(br#"{"data":{"data":{"text":"deep"}}}"#, InputFormat::Json),
            Err(BadRecord::NoText)
        );
    }

    #[test]
    fn lab_objects_and_dates() {
        let t = decode(br#"{"tweet":"x","date":{"$date":1446358126000}}"#, InputFormat::Json).unwrap();
        assert_eq!(t.1.day(), day(2015, 11, 1));
        let t = decode(br#"{"Tweet":"x","Date":"2015-11-02"}"#, InputFormat::Json).unwrap();
        assert_eq!(t.1.day(), day(2015, 11, 2));
        let t = decode(br#"{"tweet":"x"}"#, InputFormat::Json).unwrap();
        assert_eq!(t.1, DateStatus::Missing);
        let t = decode(br#"{"tweet":"x","date":"the day after"}"#, InputFormat::Json).unwrap();
        assert_eq!(t.1, DateStatus::Unreadable);
    }

    #[test]
    fn languages_are_read_from_lang_then_language() {
        let lang = |line: &str| {
            super::decode(line.as_bytes(), InputFormat::Json, &mut String::new()).unwrap().lang.to_string()
        };
        // Twitter v1.1: `lang` at the top (a retweet's or the user's is not the post's).
        assert_eq!(lang(r#"{"text":"x","user":{"lang":"fr"},"lang":"es"}"#), "es");
        assert_eq!(lang(r#"{"text":"x","retweeted_status":{"lang":"fr","text":"y"}}"#), "und");
        // v2: `data.lang`; the object's own fields first.
        assert_eq!(lang(r#"{"data":{"text":"x","lang":"ja"}}"#), "ja");
        assert_eq!(lang(r#"{"data":{"text":"x","lang":"ja"},"lang":"ko"}"#), "ko");
        // Mastodon's `language`, and a data set's column, in any case; `lang` wins.
        assert_eq!(lang(r#"{"tweet":"x","Language":"pt-br"}"#), "pt-BR");
        assert_eq!(lang(r#"{"tweet":"x","language":"pt","lang":"en"}"#), "en");
        // None, null, a number, an empty or malformed value, an escaped one.
        for none in [r#"{"text":"x"}"#, r#"{"text":"x","lang":null}"#, r#"{"text":"x","lang":7}"#] {
            assert_eq!(lang(none), "und", "{none}");
        }
        assert_eq!(lang(r#"{"text":"x","lang":""}"#), "und");
        assert_eq!(lang(r#"{"text":"x","lang":"qme_bad"}"#), "und");
        assert_eq!(lang(r#"{"text":"x","lang":"e\u006e"}"#), "en");
        assert_eq!(super::decode(b"plain", InputFormat::Text, &mut String::new()).unwrap().lang, Lang::UND);
    }

    #[test]
    fn bad_records() {
        assert_eq!(decode(b"{\"text\":\"a\xff\"}", InputFormat::Json), Err(BadRecord::InvalidUtf8));
        assert_eq!(decode(b"{\"text\":", InputFormat::Json), Err(BadRecord::InvalidJson));
        assert_eq!(decode(b"[1,2]", InputFormat::Json), Err(BadRecord::InvalidJson));
        assert_eq!(decode(b"\"just a string\"", InputFormat::Json), Err(BadRecord::InvalidJson));
        assert_eq!(decode(br#"{"user":"x"}"#, InputFormat::Json), Err(BadRecord::NoText));
        assert_eq!(decode(br#"{"text":null}"#, InputFormat::Json), Err(BadRecord::NoText));
        assert_eq!(decode(b"plain #text", InputFormat::Text).unwrap().0, "plain #text");
    }
}
