//! The engine's hand-written tweet decoder against an oracle built on serde_json:
//! the same lines must be accepted or refused for the same reason, and give the
//! same text and date. Inputs are real-looking tweet lines cut, spliced and
//! salted with JSON's special bytes, plus generated objects with escapes,
//! surrogates, odd numbers, duplicate keys and deep nesting.

use proptest::prelude::*;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use tweetstream::tweet::date::parse_json_date;
use tweetstream::tweet::{BadRecord, DateStatus, InputFormat, decode};

/// An object's members in order, keys decoded (duplicates kept).
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit)
    }
}

impl<'a> Members<'a> {
    /// The value of the last member named `name`, whatever its ASCII case.
    fn last_ci(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
    }
}

/// What the decoder should make of a line, by serde_json: a JSON object (the
/// last of duplicate keys wins, but every `extended_tweet` object is read, keys
/// decoded). Text fields, best first: `full_text` (top-level, or inside
/// `extended_tweet`, or `text` inside `note_tweet`: whichever comes last),
/// `text`, `tweet`; date fields, best first: `created_at`, `date`,
/// `tweet_created`, `timestamp`; names match without regard to ASCII case. The
/// text is the best text field that is a string; the date, the best date
/// field. A `data` object (Twitter API v2) is read the same way, and its text
/// fields count if the object has no text field that is a string, its date
/// fields if it has none. Nesting deeper than 128 levels is refused (a
/// documented limit).
fn oracle(line: &[u8]) -> Result<(String, DateStatus), BadRecord> {
    let line = std::str::from_utf8(line).map_err(|_| BadRecord::InvalidUtf8)?;
    if depth(line) >= 128 {
        return Err(BadRecord::InvalidJson);
    }
    let top: Members<'_> = serde_json::from_str(line).map_err(|_| BadRecord::InvalidJson)?;
    let (mut texts, mut dates, data) = fields(&top, true)?;
    if let Some((inner_texts, inner_dates)) = data {
        if texts.iter().all(|t| string(*t).is_none()) {
            texts = inner_texts;
        }
        if dates.iter().all(Option::is_none) {
            dates = inner_dates;
        }
    }
    let text = texts.into_iter().find_map(string).ok_or(BadRecord::NoText)?;
    let text: String = serde_json::from_str(text.get()).map_err(|_| BadRecord::InvalidJson)?;
    let date = match dates.into_iter().flatten().next() {
        None => DateStatus::Missing,
        Some(raw) => match parse_json_date(raw.get()) {
            Ok(Some(ms)) => DateStatus::At(ms),
            Ok(None) => DateStatus::Missing,
            Err(_) => DateStatus::Unreadable,
        },
    };
    Ok((text, date))
}

type Ranked<'a> = ([Option<&'a RawValue>; 3], [Option<&'a RawValue>; 4]);
type Fields<'a> = ([Option<&'a RawValue>; 3], [Option<&'a RawValue>; 4], Option<Ranked<'a>>);

/// An object's text and date fields by rank and, `with_data`, those of its
/// last `data` member if that is an object (every `data` object is read: a
/// key it cannot decode makes the line invalid even if a later `data`
/// replaces it).
fn fields<'a>(members: &Members<'a>, with_data: bool) -> Result<Fields<'a>, BadRecord> {
    const TEXT: [&str; 3] = ["full_text", "text", "tweet"];
    const DATE: [&str; 4] = ["created_at", "date", "tweet_created", "timestamp"];
    let invalid = |_| BadRecord::InvalidJson;
    let rank = |names: &[&str], key: &str| names.iter().position(|n| n.eq_ignore_ascii_case(key));
    let mut texts: [Option<&RawValue>; 3] = [None; 3];
    let mut dates: [Option<&RawValue>; 4] = [None; 4];
    let mut data = None;
    for (key, value) in &members.0 {
        if let Some(r) = rank(&TEXT, key) {
            texts[r] = Some(value);
        } else if let Some(r) = rank(&DATE, key) {
            dates[r] = Some(value);
        } else if key == "extended_tweet" || key == "note_tweet" {
            let inner = if key == "extended_tweet" { "full_text" } else { "text" };
            texts[0] = match value.get().starts_with('{') {
                true => serde_json::from_str::<Members<'_>>(value.get()).map_err(invalid)?.last_ci(inner),
                false => None,
            };
        } else if key == "data" && with_data {
            // The last `data` is the object's, whatever it is.
            data = match value.get().starts_with('{') {
                true => {
                    let inner = serde_json::from_str::<Members<'_>>(value.get()).map_err(invalid)?;
                    let (texts, dates, _) = fields(&inner, false)?;
                    Some((texts, dates))
                }
                false => None,
            };
        }
    }
    Ok((texts, dates, data))
}

/// The deepest nesting of brackets outside strings.
fn depth(line: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for b in line.bytes() {
        match (in_string, b) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') | (false, b'"') => in_string = !in_string,
            (false, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The value if it is a JSON string.
fn string(v: Option<&RawValue>) -> Option<&RawValue> {
    v.filter(|v| v.get().starts_with('"'))
}

fn ours(line: &[u8]) -> Result<(String, DateStatus), BadRecord> {
    decode(line, InputFormat::Json, &mut String::new()).map(|t| (t.text.to_owned(), t.date))
}

fn check(line: &[u8]) -> Result<(), TestCaseError> {
    prop_assert_eq!(ours(line), oracle(line), "line: {:?}", String::from_utf8_lossy(line));
    Ok(())
}

/// Lines like the ones the engine sees: the generator's Twitter objects and the
/// lab's `{"tweet", "date"}` objects.
fn sample_lines() -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for data in [tweetstream::fixtures::twitter_jsonl(300, 11), tweetstream::fixtures::lab_jsonl(100, 12)] {
        lines.extend(data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec));
    }
    lines
}

/// Bytes and snippets that move a JSON line between valid and invalid, and
/// between valid and invalid UTF-8 (the scanner checks UTF-8 itself, inside
/// strings): a lone continuation byte, truncated and overlong sequences, an
/// encoded surrogate, a code point above U+10FFFF, and bytes never in UTF-8.
const SALT: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b" ",
    b"\t",
    b"\n",
    b"0",
    b"-",
    b"1e5",
    b".",
    b"e",
    b"+",
    b"null",
    b"true",
    b"fals",
    b"\\u00e9",
    b"\\ud83d\\ude00",
    b"\\ud83d",
    b"\\ude00",
    b"\\u12",
    b"\\x",
    "\u{1}".as_bytes(),
    "é".as_bytes(),
    b"\"text\":",
    b"\"created_at\":",
    b"\"extended_tweet\":{\"full_text\":\"x\"}",
    b"\"date\":{\"$date\":1446358126000}",
    b"\"tweet\":\"t\"",
    b"\"full_text\":\"f\"",
    b"\"Tweet\":\"T\"",
    b"\"TIMESTAMP\":1446358126000",
    b"\"tweet_created\":\"2015-11-01\"",
    b"\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xf0\x9f\x98",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xff",
    "\u{e9}\u{1f600}\u{2028}".as_bytes(),
];

fn mutated_line() -> impl Strategy<Value = Vec<u8>> {
    let lines = sample_lines();
    let n = lines.len();
    (0..n, prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(SALT), 0..4u8), 0..4))
        .prop_map(move |(k, edits)| {
            let mut line = lines[k].clone();
            for (at, salt, op) in edits {
                let i = at.index(line.len() + 1);
                match op {
                    0 => drop(line.splice(i..i, salt.iter().copied())), // insert
                    1 => drop(line.drain(i..(i + salt.len()).min(line.len()))), // cut
                    2 => line.truncate(i),
                    _ => {
                        let end = (i + salt.len()).min(line.len());
                        line.splice(i..end, salt.iter().copied()); // overwrite
                    }
                }
            }
            line
        })
}

/// Any JSON value (a string may carry escapes; numbers in every form).
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(vec![
            "0",
            "-0",
            "12",
            "-3.25",
            "1e400",
            "6E-2",
            "1446358126000",
            "true",
            "false",
            "null",
            "\"\"",
            "\"a\\\"b\"",
            "\"\\u00e9\\n\"",
            "\"\\ud83d\\ude00\"",
            "\"\\ud800\"",
            "\"Sun Nov 01 06:08:46 +0000 2015\"",
            "\"2015-11-01\"",
            "{\"$date\":\"2015-11-01T06:08:46Z\"}",
            "{\"$numberLong\":\"1446358126000\"}",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z #é😀]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key(), inner), 0..4).prop_map(|m| {
                let members: Vec<String> = m.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// Keys the decoder reads (some spelled with escapes) and keys it skips.
fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "\"text\"",
        "\"t\\u0065xt\"",
        "\"tweet\"",
        "\"Tweet\"",
        "\"created_at\"",
        "\"date\"",
        "\"Date\"",
        "\"extended_tweet\"",
        "\"note_tweet\"",
        "\"data\"",
        "\"full_text\"",
        "\"user\"",
        "\"id\"",
        "\"\\ud800\"",
        "\"$date\"",
    ])
    .prop_map(str::to_owned)
}

fn generated_object() -> impl Strategy<Value = String> {
    prop::collection::vec((key(), json_value()), 0..6).prop_map(|m| {
        let members: Vec<String> = m.into_iter().map(|(k, v)| format!("{k} : {v}")).collect();
        format!(" {{{}}} ", members.join(", "))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn mutated_tweet_lines_decode_like_serde_json(line in mutated_line()) {
        check(&line)?;
    }

    #[test]
    fn generated_objects_decode_like_serde_json(line in generated_object()) {
        check(line.as_bytes())?;
    }
}

#[test]
fn every_fixture_line_decodes_like_serde_json() {
    for line in sample_lines() {
        assert_eq!(ours(&line), oracle(&line), "{}", String::from_utf8_lossy(&line));
    }
    for path in ["fixtures/tweets.jsonl", "fixtures/lab.jsonl"] {
        let body = std::fs::read(path).unwrap();
        for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            assert_eq!(ours(line), oracle(line), "{}", String::from_utf8_lossy(line));
        }
    }
}

#[test]
fn nesting_is_limited_without_overflowing_the_stack() {
    let deep = |n: usize| format!("{{\"text\":\"x\",\"user\":{}{}}}", "[".repeat(n), "]".repeat(n));
    assert!(ours(deep(120).as_bytes()).is_ok());
    assert_eq!(ours(deep(100_000).as_bytes()), Err(BadRecord::InvalidJson));
}
