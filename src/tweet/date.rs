//! Tweet dates: the formats found in the wild, reduced to a UTC calendar day.
//!
//! Accepted: Twitter's `created_at` (`Sun Nov 01 06:08:46 +0000 2015`), ISO-8601
//! (`2015-11-01`, `2015-11-01T06:08:46Z`, `2015-11-01 06:08:46.123+02:00`), epoch
//! milliseconds (a JSON number or a string of digits), spreadsheet dates
//! (`02/24/2015 11:35`, month first unless the first number is over 12; see
//! [`parse_slashed`]), and MongoDB extended JSON (`{"$date": <any of those>}`,
//! `{"$date": {"$numberLong": "…"}}`).
//! Parsing is hand-written: it runs once per tweet on the hot path.

use super::json::{Invalid, Scanner};
use std::fmt;

/// A calendar day in UTC, as days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

impl Day {
    /// The day of a civil date, if the date exists.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Day> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some(Day(days_from_civil(y, m, d)))
    }

    /// The day containing `ms` milliseconds since the epoch.
    pub fn from_epoch_millis(ms: i64) -> Day {
        Day(ms.div_euclid(86_400_000) as i32)
    }

    /// (year, month, day).
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// A moment split into its UTC day and time of day: the one place that does the
/// arithmetic for every formatter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    pub day: Day,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub milli: i64,
}

impl CivilTime {
    pub fn from_epoch_millis(ms: i64) -> Self {
        let t = ms.rem_euclid(86_400_000);
        CivilTime {
            day: Day::from_epoch_millis(ms),
            hour: t / 3_600_000,
            minute: t / 60_000 % 60,
            second: t / 1000 % 60,
            milli: t % 1000,
        }
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe as u32 * 365 + yoe as u32 / 4 - yoe as u32 / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses a date string in any accepted format to its UTC day.
pub fn parse_date(s: &str) -> Option<Day> {
    parse_millis(s).map(Day::from_epoch_millis)
}

/// The user's date form (`--date-format`), read before the built-in ones.
static FORMAT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Reads dates in `format` (strftime's fields as chrono reads them, such as
/// `%d/%m/%Y %H:%M`) before the built-in forms: with an offset (`%z`) the
/// moment it names, else a time in UTC, else a day. Set once, at start, from
/// `--date-format` (as the log settings are); a second call is refused.
pub fn set_format(format: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!(
            "--date-format {format:?}: not a strftime format (fields such as %Y-%m-%d %H:%M)"
        ));
    }
    if !["%Y", "%y", "%C", "%G", "%F", "%D", "%x", "%s", "%+", "%c"].iter().any(|f| format.contains(f)) {
        return Err(format!("--date-format {format:?}: names no year (%Y, %y, %F, %D or %s)"));
    }
    FORMAT.set(format.to_owned()).map_err(|_| "the date format is already set".to_owned())
}

/// `s` read with the user's format, if one is set and reads it.
fn parse_formatted(s: &str) -> Option<i64> {
    let format = FORMAT.get()?;
    if let Ok(t) = chrono::DateTime::parse_from_str(s, format) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, format) {
        return Some(t.and_utc().timestamp_millis());
    }
    let day = chrono::NaiveDate::parse_from_str(s, format).ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// Parses a date string in any accepted format to milliseconds since the epoch.
pub fn parse_millis(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(ms) = parse_formatted(s) {
        return Some(ms);
    }
    let b = s.as_bytes();
    if b.first().is_some_and(u8::is_ascii_alphabetic) {
        return parse_twitter(s);
    }
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        return parse_iso(s);
    }
    if b.get(1..3).is_some_and(|w| w.contains(&b'/')) || b.get(4) == Some(&b'/') {
        return parse_slashed(s);
    }
    if !b.is_empty() && b.iter().enumerate().all(|(i, c)| c.is_ascii_digit() || (i == 0 && *c == b'-')) {
        return s.parse::<i64>().ok();
    }
    None
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A UTC offset `+0000`, `+02:00` or `-0530` in minutes.
fn offset_minutes(s: &str) -> Option<i64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (hh, mm) = match rest.len() {
        4 => (rest.get(..2)?, rest.get(2..)?),
        5 if rest.as_bytes()[2] == b':' => (rest.get(..2)?, rest.get(3..)?),
        _ => return None,
    };
    let h = i64::from(num(hh)?);
    let m = i64::from(num(mm)?);
    (h <= 23 && m <= 59).then_some(sign * (h * 60 + m))
}

/// A local date and time of day at a UTC offset, as milliseconds since the epoch.
fn utc_millis(day: Day, millis_of_day: i64, offset_min: i64) -> i64 {
    i64::from(day.0) * 86_400_000 + millis_of_day - offset_min * 60_000
}

/// `HH:MM[:SS[.fff]]` as milliseconds of the day.
fn hms(s: &str) -> Option<i64> {
    let mut parts = s.split(':');
    let h = num(parts.next()?)?;
    let m = num(parts.next()?)?;
    let (sec, milli) = match parts.next() {
        Some(p) => {
            let (whole, frac) = p.split_once('.').unwrap_or((p, ""));
            let frac = if frac.is_empty() { 0 } else { num(&format!("{:0<3}", &frac[..frac.len().min(3)]))? };
            (num(whole)?, frac)
        }
        None => (0, 0),
    };
    (parts.next().is_none() && h <= 23 && m <= 59 && sec <= 60)
        .then_some((i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(sec)) * 1000 + i64::from(milli))
}

/// `Sun Nov 01 06:08:46 +0000 2015`.
fn parse_twitter(s: &str) -> Option<i64> {
    twitter_fixed(s.as_bytes()).or_else(|| twitter_fields(s))
}

/// The exact layout Twitter writes (one space between fields, two-digit day),
/// read at fixed positions: this runs once per tweet. Anything else goes to
/// [`twitter_fields`], which gives the same result on this layout.
#[inline]
fn twitter_fixed(b: &[u8]) -> Option<i64> {
    let b: &[u8; 30] = b.try_into().ok()?;
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    if !b[..3].iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let of_day = time_of_day(word(11))?;
    // Month, day of the month, offset and year, with the spaces between:
    // " Oct 31 ", " -0500 2", "2015". A key found in the cache was checked by
    // `twitter_fixed_day` when it went in.
    let key = (word(3), word(19), u32::from_le_bytes(b[26..30].try_into().expect("4 bytes")));
    Some(remembered_day(key, || twitter_fixed_day(b))? + of_day)
}

/// The midnight of the day whose bytes are `key`, from [`RECENT`], else
/// from `read` (which checks those bytes), then remembered.
#[inline]
fn remembered_day(key: (u64, u64, u32), read: impl FnOnce() -> Option<i64>) -> Option<i64> {
    // The slot of this day and offset: a multiplicative hash of the bytes.
    let slot = ((key.0 ^ key.1.rotate_left(17) ^ u64::from(key.2)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        >> (64 - RECENT_DAYS.ilog2())) as usize;
    match RECENT.with(|recent| recent[slot].get()) {
        (seen, midnight) if seen == key => Some(midnight),
        _ => {
            let midnight = read()?;
            RECENT.with(|recent| recent[slot].set((key, midnight)));
            Some(midnight)
        }
    }
}

/// Slots of [`RECENT`] (a power of two).
const RECENT_DAYS: usize = 16;

/// A day's bytes in Twitter's layout (see [`twitter_fixed`]), and its local
/// midnight in UTC milliseconds.
type RecentDay = ((u64, u64, u32), i64);

thread_local! {
    /// Days read lately by [`twitter_fixed`] on this thread (their bytes, and
    /// their local midnight in UTC milliseconds), one per slot. Tweets come in
    /// time order, so most share the day, and one of a few UTC offsets, of a
    /// tweet just before: only their time of day is left to read. (No real key
    /// is all zeros: it holds spaces.)
    static RECENT: [std::cell::Cell<RecentDay>; RECENT_DAYS] =
        const { [const { std::cell::Cell::new(((0, 0, 0), 0)) }; RECENT_DAYS] };
}

/// `HH:MM:SS` (eight bytes, the first in the lowest byte of `w`) as
/// milliseconds of the day, its fields read all at once.
#[inline]
fn time_of_day(w: u64) -> Option<i64> {
    const COLONS: u64 = 0x0000_3a00_003a_0000;
    const DIGITS: u64 = 0xffff_00ff_ff00_ffff;
    // The colons, and digits everywhere else.
    if w & !DIGITS != COLONS || super::json::non_digits(w) & DIGITS != 0 {
        return None;
    }
    let x = (w ^ 0x3030_3030_3030_3030) & DIGITS; // digits minus '0'
    let two = |k: u32| (x >> (8 * k) & 0xff) * 10 + (x >> (8 * k + 8) & 0xff);
    let (h, min, sec) = (two(0), two(3), two(6));
    (h <= 23 && min <= 59 && sec <= 60).then_some((h * 3600 + min * 60 + sec) as i64 * 1000)
}

/// The local midnight of a date in Twitter's layout (every byte but the
/// weekday and the time of day checked here), in UTC milliseconds.
#[inline(never)]
fn twitter_fixed_day(b: &[u8; 30]) -> Option<i64> {
    if [3, 7, 10, 19, 25].iter().any(|&i| b[i] != b' ') {
        return None;
    }
    let m = month(&b[4..7])?;
    let year = two_digits(b, 26)? * 100 + two_digits(b, 28)?;
    let day = Day::from_ymd(year as i32, m, two_digits(b, 8)?)?;
    let sign = match b[20] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (oh, om) = (two_digits(b, 21)?, two_digits(b, 23)?);
    if oh > 23 || om > 59 {
        return None;
    }
    Some(utc_millis(day, 0, sign * i64::from(oh * 60 + om)))
}

/// The number written by the two ASCII digits at `b[i..i + 2]`.
#[inline]
fn two_digits(b: &[u8], i: usize) -> Option<u32> {
    let (a, c) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
    (a < 10 && c < 10).then_some(u32::from(a) * 10 + u32::from(c))
}

/// A month's number from its English abbreviation, in any case.
fn month(name: &[u8]) -> Option<u32> {
    let &[a, b, c] = name else { return None };
    // `| 0x20` lowercases a letter, and only a letter becomes a lowercase one.
    Some(match [a | 0x20, b | 0x20, c | 0x20] {
        [b'j', b'a', b'n'] => 1,
        [b'f', b'e', b'b'] => 2,
        [b'm', b'a', b'r'] => 3,
        [b'a', b'p', b'r'] => 4,
        [b'm', b'a', b'y'] => 5,
        [b'j', b'u', b'n'] => 6,
        [b'j', b'u', b'l'] => 7,
        [b'a', b'u', b'g'] => 8,
        [b's', b'e', b'p'] => 9,
        [b'o', b'c', b't'] => 10,
        [b'n', b'o', b'v'] => 11,
        [b'd', b'e', b'c'] => 12,
        _ => return None,
    })
}

/// Twitter's layout, field by field (any spacing, one-digit days, …).
fn twitter_fields(s: &str) -> Option<i64> {
    let mut f = s.split_ascii_whitespace();
    let (_weekday, month, dom, time, offset, year) =
        (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    if f.next().is_some() {
        return None;
    }
    let m = self::month(month.as_bytes())?;
    let day = Day::from_ymd(year.parse().ok()?, m, num(dom)?)?;
    Some(utc_millis(day, hms(time)?, offset_minutes(offset)?))
}

/// `2015-11-01`, `2015-11-01T06:08:46Z`, `2015-11-01 06:08:46.5+02:00`, and
/// with a space before the offset, `2015-02-24 11:35:52 -0800` (the Kaggle
/// airline data set's `tweet_created`).
fn parse_iso(s: &str) -> Option<i64> {
    let day = Day::from_ymd(s.get(..4)?.parse().ok()?, num(s.get(5..7)?)?, num(s.get(8..10)?)?)?;
    let rest = s.get(10..)?;
    if rest.is_empty() {
        return Some(i64::from(day.0) * 86_400_000);
    }
    let rest = rest.strip_prefix(['T', ' '])?;
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let time = time.strip_suffix(' ').filter(|_| !zone.is_empty()).unwrap_or(time);
    let offset = match zone {
        "" | "Z" | "z" => 0,
        z => offset_minutes(z)?,
    };
    Some(utc_millis(day, hms(time)?, offset))
}

/// Dates as spreadsheets write them: `02/24/2015 11:35`, `2/24/2015 11:35:07
/// AM`, `2015/02/24 11:35`, with or without the time, read as UTC. The order
/// of day and month is Excel's US one (month first) unless the first number
/// cannot be a month (`24/02/2015`).
fn parse_slashed(s: &str) -> Option<i64> {
    let (date, time) = s.split_once(' ').map_or((s, ""), |(d, t)| (d, t.trim()));
    let mut parts = date.split('/');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let day = if a.len() == 4 {
        Day::from_ymd(a.parse().ok()?, num(b)?, num(c)?)?
    } else {
        let (a, b, year) = (num(a)?, num(b)?, c);
        let year: i32 = match year.len() {
            4 => year.parse().ok()?,
            _ => return None,
        };
        let (month, day) = if a > 12 { (b, a) } else { (a, b) };
        Day::from_ymd(year, month, day)?
    };
    let millis = match time {
        "" => 0,
        t => {
            let upper = t.to_ascii_uppercase();
            let (clock, half) = match upper.rsplit_once(' ') {
                Some((clock, half @ ("AM" | "PM"))) => (clock.trim().to_owned(), Some(half == "PM")),
                _ => (upper, None),
            };
            let ms = hms(&clock)?;
            match half {
                None => ms,
                Some(pm) => {
                    let hour = ms / 3_600_000;
                    if !(1..=12).contains(&hour) {
                        return None;
                    }
                    ms % (12 * 3_600_000) + if pm { 12 * 3_600_000 } else { 0 }
                }
            }
        }
    };
    Some(utc_millis(day, millis, 0))
}

/// A date was given, but in no format we can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnreadableDate;

/// A date given as raw JSON: a string, a number of epoch milliseconds, `null`, or
/// extended JSON `{"$date": …}` / `{"$numberLong": "…"}`, as milliseconds since the
/// epoch. `Ok(None)` means no date was given; `Err(UnreadableDate)` means one was
/// given in a form we cannot read.
pub fn parse_json_date(raw: &str) -> Result<Option<i64>, UnreadableDate> {
    // Twitter's own layout, read in place. Its 30 bytes are letters, digits,
    // spaces, ':' and a sign, so the quoted value is a JSON string without escapes
    // and the general path below would give the same result.
    // ISO 8601 in UTC and epoch milliseconds are likewise read in place.
    match fast_json_date(raw.as_bytes()) {
        Some(ms) => Ok(Some(ms)),
        None => parse_json_date_general(raw),
    }
}

/// A date value in one of the forms read in place: Twitter's layout, ISO
/// 8601 in UTC as most exports write it, and epoch milliseconds (a number,
/// or BSON's {"$date": …}). None for any other (and whenever `--date-format`
/// is set, which is read first); where it answers, the general reader gives
/// the same.
#[inline]
pub fn fast_json_date(raw: &[u8]) -> Option<i64> {
    if FORMAT.get().is_some() {
        return None;
    }
    match raw {
        [b'"', inner @ .., b'"'] => twitter_fixed(inner).or_else(|| iso_fixed(inner)),
        [b'{', ..] => {
            raw.strip_prefix(br#"{"$date":"#).and_then(|r| r.strip_suffix(b"}")).and_then(epoch_digits)
        }
        _ => epoch_digits(raw),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.fffZ`, at fixed
/// positions, as [`parse_iso`] reads them; the day is remembered as
/// Twitter's layout's is.
#[inline]
fn iso_fixed(b: &[u8]) -> Option<i64> {
    // The milliseconds, if any; both forms share the first 19 bytes, read
    // in place.
    let milli = match b.len() {
        20 if b[19] == b'Z' => 0,
        24 if b[19] == b'.' && b[23] == b'Z' => {
            let digits = &b[20..23];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0'))
        }
        _ => return None,
    };
    let head: &[u8; 19] = b.first_chunk()?;
    if head[10] != b'T' {
        return None;
    }
    let word = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().expect("8 bytes"));
    let of_day = time_of_day(word(11))?;
    // `YYYY-MM-` and `DD` (a Twitter key always holds spaces: no clash).
    let key = (word(0), u64::from(u16::from_le_bytes([head[8], head[9]])), 0);
    let midnight = remembered_day(key, || iso_day(head))?;
    Some(midnight + of_day + milli)
}

/// The midnight (UTC milliseconds) of an ISO date's `YYYY-MM-DD`.
#[inline(never)]
fn iso_day(b: &[u8; 19]) -> Option<i64> {
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = two_digits(b, 0)? * 100 + two_digits(b, 2)?;
    let day = Day::from_ymd(year as i32, two_digits(b, 5)?, two_digits(b, 8)?)?;
    Some(utc_millis(day, 0, 0))
}

/// Epoch milliseconds written as 1 to 15 digits (exact as the general
/// path's floating-point reading is), else None.
///
/// Read as two words of eight digits (the first left-padded with `0`s),
/// each checked and converted without a loop.
#[inline]
fn epoch_digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 15 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let (head, tail) = b.split_at(b.len().saturating_sub(8));
    let word = |digits: &[u8]| {
        let mut w = [b'0'; 8];
        w[8 - digits.len()..].copy_from_slice(digits);
        u64::from_le_bytes(w)
    };
    let (high, low) = (word(head), word(tail));
    if super::json::non_digits(high) | super::json::non_digits(low) != 0 {
        return None;
    }
    Some((eight_digits(high) * 100_000_000 + eight_digits(low)) as i64)
}

/// The number written by the eight ASCII digits of `w` (the first in its
/// lowest byte): pairs, then fours, then the eight, each by one multiply.
#[inline]
fn eight_digits(w: u64) -> u64 {
    let w = (w & 0x0f0f_0f0f_0f0f_0f0f).wrapping_mul(2561) >> 8;
    let w = (w & 0x00ff_00ff_00ff_00ff).wrapping_mul(6_553_601) >> 16;
    (w & 0x0000_ffff_0000_ffff).wrapping_mul(42_949_672_960_001) >> 32
}

/// [`parse_json_date`] without the fast path.
fn parse_json_date_general(raw: &str) -> Result<Option<i64>, UnreadableDate> {
    let mut p = Scanner::new(raw.as_bytes());
    let date = json_date(&mut p)?;
    p.end().map_err(|_| UnreadableDate)?;
    Ok(date)
}

/// The date value at the scanner's position (see [`parse_json_date`]).
fn json_date(p: &mut Scanner<'_>) -> Result<Option<i64>, UnreadableDate> {
    let invalid = |_: Invalid| UnreadableDate;
    let mut scratch = String::new();
    match p.peek() {
        None => Ok(None),
        Some(b'"') => {
            let s = p.string().and_then(|s| s.decode_into(&mut scratch)).map_err(invalid)?;
            if s.trim().is_empty() {
                return Ok(None);
            }
            parse_millis(s).map(Some).ok_or(UnreadableDate)
        }
        Some(b'-' | b'0'..=b'9') => {
            let ms: f64 = p.skip().map_err(invalid)?.parse().map_err(|_| UnreadableDate)?;
            if !ms.is_finite() || ms.abs() > 1e16 {
                return Err(UnreadableDate);
            }
            Ok(Some(ms.floor() as i64))
        }
        Some(b'{') => {
            // The last `$date` wins, else `$numberLong`; other members are ignored.
            // Values are taken whole first, so a bad one cannot derail the object.
            let (mut date, mut number_long) = (None, None);
            p.object(|p, key| {
                match key {
                    "$date" => date = Some(p.skip()?),
                    "$numberLong" => number_long = Some(p.skip()?),
                    _ => drop(p.skip()?),
                }
                Ok(())
            })
            .map_err(invalid)?;
            match (date, number_long) {
                (Some(inner), _) => parse_json_date(inner),
                (None, Some(n)) => {
                    let n = Scanner::new(n.as_bytes())
                        .string()
                        .and_then(|s| s.decode_into(&mut scratch))
                        .map_err(invalid)?;
                    n.trim().parse::<i64>().map(Some).map_err(|_| UnreadableDate)
                }
                (None, None) => Err(UnreadableDate),
            }
        }
        Some(b'n') => match p.skip() {
            Ok("null") => Ok(None),
            _ => Err(UnreadableDate),
        },
        _ => Err(UnreadableDate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        let (y, rest) = s.split_at(4);
        Day::from_ymd(y.parse().unwrap(), rest[1..3].parse().unwrap(), rest[4..6].parse().unwrap()).unwrap()
    }

    #[test]
    fn spreadsheet_dates_read_as_chrono_reads_them() {
        let chrono_ms = |s: &str, f: &str| {
            chrono::NaiveDateTime::parse_from_str(s, f).unwrap().and_utc().timestamp_millis()
        };
        for (s, f) in [
            ("02/24/2015 11:35", "%m/%d/%Y %H:%M"),
            ("2/4/2015 9:05:07", "%m/%d/%Y %H:%M:%S"),
            ("2/24/2015 11:35:07 PM", "%m/%d/%Y %I:%M:%S %p"),
            ("2/24/2015 12:05:00 AM", "%m/%d/%Y %I:%M:%S %p"),
            ("2/24/2015 12:05 PM", "%m/%d/%Y %I:%M %p"),
            ("24/02/2015 11:35", "%d/%m/%Y %H:%M"),
            ("2015/02/24 23:59:59", "%Y/%m/%d %H:%M:%S"),
        ] {
            assert_eq!(parse_millis(s), Some(chrono_ms(s, f)), "{s}");
        }
        assert_eq!(parse_date("02/24/2015"), Some(day("2015-02-24")));
        for bad in
            ["02/30/2015", "13/13/2015", "2/24/15", "2/24/2015 13:00 PM", "1/2/3/2015", "2/24/2015 25:00"]
        {
            assert_eq!(parse_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 16_740, 20_000, 2_000_000] {
            let (y, m, d) = Day(z).ymd();
            assert_eq!(Day::from_ymd(y, m, d), Some(Day(z)));
        }
        assert_eq!(Day(0).to_string(), "1970-01-01");
        assert_eq!(Day::from_ymd(2015, 11, 1).unwrap().to_string(), "2015-11-01");
        assert_eq!(Day::from_ymd(2015, 2, 29), None);
    }

    #[test]
    fn formats() {
        assert_eq!(parse_date("Sun Nov 01 06:08:46 +0000 2015"), Some(day("2015-11-01")));
        // 23:30 at -0200 is 01:30 the next day in UTC.
        assert_eq!(parse_date("Sun Nov 01 23:30:00 -0200 2015"), Some(day("2015-11-02")));
        assert_eq!(parse_date("2015-11-01"), Some(day("2015-11-01")));
        assert_eq!(parse_date("2015-11-01T06:08:46Z"), Some(day("2015-11-01")));
        assert_eq!(parse_date("2015-11-01 00:30:00.250+02:00"), Some(day("2015-10-31")));
        assert_eq!(parse_date("2015-11-01T23:59:59-0100"), Some(day("2015-11-02")));
        // The airline data set's form: 20:35 at -0800 is 04:35 the next day.
        assert_eq!(parse_millis("2015-02-24 11:35:52 -0800"), parse_millis("2015-02-24T19:35:52Z"));
        assert_eq!(parse_date("2015-02-24 20:35:52 -0800"), Some(day("2015-02-25")));
        assert_eq!(parse_date("1446358126000"), Some(day("2015-11-01")));
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("2015-13-01"), None);
        assert_eq!(parse_date("01/11/2015"), Some(day("2015-01-11")), "month first, as Excel (US) writes");
    }

    /// The fixed-position reader and the field reader agree wherever the first
    /// one answers, and it answers for every well-formed Twitter date.
    #[test]
    fn twitter_fast_path_agrees() {
        let mut rng = crate::rng::Rng::new(3);
        let months =
            ["Jan", "feb", "MAR", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Foo"];
        for _ in 0..20_000 {
            let s = format!(
                "Sun {} {:02} {:02}:{:02}:{:02} {}{:02}{:02} {:04}",
                rng.pick(&months),
                rng.below(33),
                rng.below(26),
                rng.below(62),
                rng.below(62),
                rng.pick(&["+", "-", "~"]),
                rng.below(26),
                rng.below(62),
                1900 + rng.below(200),
            );
            let fast = twitter_fixed(s.as_bytes());
            assert_eq!(fast.or_else(|| twitter_fields(&s)), twitter_fields(&s), "{s}");
            let quoted = format!("\"{s}\"");
            assert_eq!(parse_json_date(&quoted), parse_json_date_general(&quoted), "{s}");
            if twitter_fields(&s).is_some() {
                assert!(fast.is_some(), "{s}");
            }
        }
    }

    /// ISO dates and epoch milliseconds read in place agree with the general
    /// reader, and every one-byte change of an ISO date too (read right after
    /// the date itself, so that its day is remembered).
    #[test]
    fn iso_and_epoch_fast_paths_agree() {
        let mut rng = crate::rng::Rng::new(5);
        for _ in 0..20_000 {
            let s = format!(
                "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}Z\"",
                1960 + rng.below(100),
                rng.below(14),
                rng.below(33),
                rng.below(26),
                rng.below(62),
                rng.below(62),
                rng.pick(&["", ".5", ".123", ".999", ".12x"]),
            );
            assert_eq!(parse_json_date(&s), parse_json_date_general(&s), "{s}");
            let inner = &s.as_bytes()[1..s.len() - 1];
            if parse_json_date_general(&s).ok().flatten().is_some() && matches!(inner.len(), 20 | 24) {
                assert!(iso_fixed(inner).is_some(), "the fast path answers for {s}");
            }
            let n = rng.below(10_000_000_000_000_000).to_string();
            let digits = &n[..1 + rng.below(n.len())];
            for raw in [
                digits.to_owned(),
                format!("{{\"$date\":{digits}}}"),
                format!("0{digits}"),
                format!("{digits}.5"),
            ] {
                assert_eq!(parse_json_date(&raw), parse_json_date_general(&raw), "{raw}");
            }
        }
        for date in
            ["\"2015-11-01T06:08:46Z\"", "\"2016-02-29T23:59:60.250Z\"", "1446358126000", "999999999999999"]
        {
            for at in 1..date.len() - 1 {
                for c in 0..0x80u8 {
                    let mut b = date.as_bytes().to_vec();
                    b[at] = c;
                    let Ok(s) = std::str::from_utf8(&b) else { continue };
                    assert!(parse_json_date(date).unwrap().is_some());
                    assert_eq!(parse_json_date(s), parse_json_date_general(s), "{s}");
                }
            }
        }
    }

    /// Epoch digits read two words at a time give the digits' number, for
    /// every length and every digit in every place.
    #[test]
    fn epoch_digits_are_the_number() {
        for len in 1..=15 {
            for at in 0..len {
                for d in b'0'..=b'9' {
                    let mut b = vec![b'7'; len];
                    b[at] = d;
                    let want = (len == 1 || b[0] != b'0')
                        .then(|| b.iter().fold(0, |n, &c| n * 10 + i64::from(c - b'0')));
                    assert_eq!(epoch_digits(&b), want, "{}", String::from_utf8_lossy(&b));
                }
            }
        }
        assert_eq!(epoch_digits(b""), None);
        assert_eq!(epoch_digits(b"1234567890123456"), None, "16 digits go to the general reader");
    }

    /// Every one-byte change of a date, read right after the date itself (so
    /// that its day is remembered), reads like the field reader does.
    #[test]
    fn twitter_fast_path_checks_every_byte() {
        for date in ["Sun Nov 01 06:08:46 +0000 2015", "Sat Oct 31 19:59:60 -0500 2015"] {
            for at in 0..date.len() {
                for c in 0..0x80u8 {
                    let mut b = date.as_bytes().to_vec();
                    b[at] = c;
                    let s = std::str::from_utf8(&b).unwrap();
                    assert!(twitter_fixed(date.as_bytes()).is_some());
                    let fast = twitter_fixed(&b);
                    assert_eq!(fast.or_else(|| twitter_fields(s)), twitter_fields(s), "{s}");
                }
            }
        }
    }

    /// Runs of tweets of one day (the remembered day is reused), with valid
    /// and invalid days and times mixed in, read like the field reader does.
    #[test]
    fn twitter_fast_path_remembers_days_correctly() {
        let mut rng = crate::rng::Rng::new(5);
        let days = [
            "Sun Nov 01",
            "Sun Nov 01",
            "Mon Nov 02",
            "Sat Feb 29",
            "Sun Feb 29",
            "Tue Feb 30",
            "Wed Dec 31",
        ];
        let offsets = ["+0000", "-0500", "+0530", "+2400", "~0000"];
        let years = ["2015", "2016", "1999"];
        let (mut day, mut offset, mut year) = (days[0], offsets[0], years[0]);
        for _ in 0..20_000 {
            // Mostly the same day as the tweet before.
            if rng.chance(10) {
                (day, offset, year) = (*rng.pick(&days), *rng.pick(&offsets), *rng.pick(&years));
            }
            let s = format!(
                "{day} {:02}:{:02}:{:02} {offset} {year}",
                rng.below(25),
                rng.below(61),
                rng.below(62)
            );
            assert_eq!(twitter_fixed(s.as_bytes()), twitter_fields(&s), "{s}");
        }
    }

    #[test]
    fn millis() {
        assert_eq!(parse_millis("2015-11-01T06:08:46.5Z"), Some(1_446_358_126_500));
        assert_eq!(parse_millis("Sun Nov 01 06:08:46 +0000 2015"), Some(1_446_358_126_000));
        assert_eq!(parse_millis("2015-11-01T08:08:46.123+02:00"), Some(1_446_358_126_123));
    }

    #[test]
    fn json_dates() {
        let d = Some(1_446_358_126_000);
        assert_eq!(parse_json_date("\"2015-11-01T06:08:46Z\""), Ok(d));
        assert_eq!(parse_json_date("1446358126000"), Ok(d));
        assert_eq!(parse_json_date("1446358126000.0"), Ok(d));
        assert_eq!(parse_json_date("\"2015-11-01\""), Ok(Some(1_446_336_000_000)));
        assert_eq!(parse_json_date(r#"{"$date": 1446358126000}"#), Ok(d));
        assert_eq!(parse_json_date(r#"{"$date": "2015-11-01T06:08:46.000Z"}"#), Ok(d));
        assert_eq!(parse_json_date(r#"{"$date": {"$numberLong": "1446358126000"}}"#), Ok(d));
        assert_eq!(parse_json_date("null"), Ok(None));
        assert_eq!(parse_json_date("\"\""), Ok(None));
        assert_eq!(parse_json_date("\"next tuesday\""), Err(UnreadableDate));
        assert_eq!(parse_json_date("true"), Err(UnreadableDate));
        assert_eq!(parse_json_date("[1]"), Err(UnreadableDate));
    }
}
