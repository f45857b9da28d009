//! A validating JSON scanner for the hot path: it walks one line's object, hands
//! the few fields a tweet needs to the caller, and skips everything else without
//! building it.
//!
//! Why not serde: a Twitter object carries a dozen fields the engine never reads
//! (`user`, `entities`, …), and serde's derive still tokenizes each of them through
//! its visitor machinery; this scanner only checks their grammar, sixteen bytes at
//! a time inside strings. It accepts what `serde_json` accepts (the oracle of the
//! differential test in `tests/it/decode.rs`): strict RFC 8259 grammar, no control
//! characters inside strings, escapes decoded (surrogates must pair) only in the
//! keys of the objects the caller reads and in the strings it decodes. Like
//! `serde_json::Value`, a repeated key keeps its last value. One deliberate
//! difference: nesting deeper than 128 levels is refused (skipped values keep
//! their open brackets in a 128-bit stack), where serde_json skips unread values
//! of any depth.
//!
//! The input is bytes: the scanner checks UTF-8 itself, inside strings (the
//! only place JSON allows non-ASCII bytes), so a line is read once, not first
//! validated whole and then scanned. A scan that succeeds has seen every byte,
//! so the whole input was UTF-8.

/// The line is not valid JSON (or not the shape the caller asked for).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid;

type Result<T> = std::result::Result<T, Invalid>;

/// Nesting limit, the same as `serde_json`'s default recursion limit.
const MAX_DEPTH: u32 = 128;

/// A JSON string as it appears in the input, between its quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawStr<'a> {
    raw: &'a str,
    escaped: bool,
}

impl<'a> RawStr<'a> {
    /// The string, when it has no escapes.
    #[inline]
    pub fn plain(self) -> Option<&'a str> {
        (!self.escaped).then_some(self.raw)
    }

    /// The string's value: borrowed when it has no escapes, else decoded into
    /// `scratch` (so that escaped text costs no allocation either).
    #[inline]
    pub fn decode_into<'s>(self, scratch: &'s mut String) -> Result<&'s str>
    where
        'a: 's,
    {
        if !self.escaped {
            return Ok(self.raw);
        }
        scratch.clear();
        unescape(self.raw, scratch)?;
        Ok(scratch)
    }
}

/// A cursor over one JSON text.
///
/// Invariant: the scanner only moves past ASCII bytes it has matched
/// (structure, whitespace, numbers, literals) and past string contents whose
/// non-ASCII bytes [`Scanner::string`] checked as UTF-8. So whatever it has
/// moved past, from one value boundary to another, is UTF-8.
pub struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    depth: u32,
}

impl<'a> Scanner<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Scanner { b, pos: 0, depth: 0 }
    }

    /// The text of `from..to`, which the scanner has moved past (both ends at
    /// value boundaries).
    fn text(&self, from: usize, to: usize) -> &'a str {
        let bytes = &self.b[from..to];
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: by the invariant of `Scanner`, these bytes are ASCII that was
        // matched, or string contents checked as UTF-8; `from` and `to` are at
        // value boundaries (ASCII bytes), so no character is cut.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// Skips JSON whitespace; returns the next byte, if any.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        // The byte that decides is the one returned: one bounds check, not
        // one in `skip_space` and another here (a peek is made four times a
        // member).
        match self.b.get(self.pos) {
            Some(&c) if c > b' ' => Some(c),
            _ => {
                self.pos = skip_space_slowly(self.b, self.pos);
                self.b.get(self.pos).copied()
            }
        }
    }

    #[inline]
    fn expect(&mut self, want: u8) -> Result<()> {
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// Checks that nothing but whitespace is left.
    pub fn end(&mut self) -> Result<()> {
        if self.peek().is_none() { Ok(()) } else { Err(Invalid) }
    }

    /// Reads an object, calling `member` with each key (escapes decoded); `member`
    /// must consume the key's value (with [`Scanner::string`], [`Scanner::skip`], …).
    pub fn object(&mut self, mut member: impl FnMut(&mut Self, &str) -> Result<()>) -> Result<()> {
        self.expect(b'{')?;
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(Invalid);
        }
        if self.peek() != Some(b'}') {
            loop {
                let key = self.string()?;
                let mut decoded = String::new(); // stays unallocated for keys without escapes
                let key = key.decode_into(&mut decoded)?;
                self.expect(b':')?;
                member(self, key)?;
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => break,
                    _ => return Err(Invalid),
                }
            }
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(())
    }

    /// Reads a string value.
    #[inline(always)]
    pub fn string(&mut self) -> Result<RawStr<'a>> {
        self.expect(b'"')?;
        let start = self.pos;
        let (end, escaped) = string_end(self.b, start)?;
        self.pos = end + 1;
        Ok(RawStr { raw: self.text(start, end), escaped })
    }

    /// Skips one value of any kind; returns its text.
    ///
    /// Strings and numbers, most of the values a tweet's reader skips (`id`,
    /// `lang`, `created_at`), are checked here, inline; containers and literals
    /// go through [`skip_value`]'s loop.
    #[inline(always)]
    pub fn skip(&mut self) -> Result<&'a str> {
        let first = self.peek();
        let start = self.pos;
        self.pos = match first {
            Some(b'"') => string_end(self.b, start + 1)?.0 + 1,
            Some(b'-' | b'0'..=b'9') => number(self.b, start)?,
            Some(_) => skip_value(self.b, start, self.depth)?,
            None => return Err(Invalid),
        };
        Ok(self.text(start, self.pos))
    }
}

/// The index of the first byte at or after `i` that is not JSON whitespace.
#[inline(always)]
fn skip_space(b: &[u8], i: usize) -> usize {
    // Tweets are mostly minified: a byte above ' ' is never whitespace.
    match b.get(i) {
        Some(&c) if c > b' ' => i,
        _ => skip_space_slowly(b, i),
    }
}

#[cold]
fn skip_space_slowly(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Checks the contents of a string whose opening quote is just before `i`;
/// returns the index of the closing quote and whether there were escapes.
#[inline(always)]
fn string_end(b: &[u8], mut i: usize) -> Result<(usize, bool)> {
    let mut escaped = false;
    loop {
        i = find_special(b, i);
        match b.get(i) {
            Some(b'"') => return Ok((i, escaped)),
            Some(b'\\') => {
                escaped = true;
                i = skip_escape(b, i + 1)?;
            }
            Some(&c) if c >= 0x80 => i += utf8_sequence(b, i)?,
            _ => return Err(Invalid), // a control character or the end
        }
    }
}

/// Skips the value at `i` (no whitespace before it) inside `depth` open
/// containers; returns the index after it.
///
/// One loop with an explicit stack (a bit per open container: set for an
/// object), not one call per nested value: the position stays in a register,
/// and the common members of a tweet (`"id":…`, `"user":{…}`) cost a few
/// instructions per byte of structure. Keys of a skipped object are only
/// checked as strings (like any skipped string, their escapes are not decoded).
fn skip_value(b: &[u8], mut i: usize, depth: u32) -> Result<usize> {
    const _: () = assert!(MAX_DEPTH <= 128, "the stack of open containers is a u128");
    let (mut objects, mut open) = (0u128, 0u32);
    loop {
        // A value starts at `i`.
        let mut closed = true;
        match b.get(i) {
            Some(b'"') => i = string_end(b, i + 1)?.0 + 1,
            Some(&c @ (b'{' | b'[')) => {
                if depth + open + 1 >= MAX_DEPTH {
                    return Err(Invalid);
                }
                let object = c == b'{';
                objects = objects << 1 | u128::from(object);
                open += 1;
                i = skip_space(b, i + 1);
                if b.get(i) == Some(if object { &b'}' } else { &b']' }) {
                    i += 1;
                    objects >>= 1;
                    open -= 1;
                } else {
                    if object {
                        i = member_key(b, i)?;
                    }
                    closed = false;
                }
            }
            Some(b't') => i = literal(b, i, b"true")?,
            Some(b'f') => i = literal(b, i, b"false")?,
            Some(b'n') => i = literal(b, i, b"null")?,
            Some(b'-' | b'0'..=b'9') => i = number(b, i)?,
            _ => return Err(Invalid),
        }
        // After a value: a comma starts the next one; closing brackets end
        // containers.
        while closed {
            if open == 0 {
                return Ok(i);
            }
            i = skip_space(b, i);
            let object = objects & 1 == 1;
            match b.get(i) {
                Some(b',') => {
                    i = skip_space(b, i + 1);
                    if object {
                        i = member_key(b, i)?;
                    }
                    closed = false;
                }
                Some(&c @ (b'}' | b']')) if (c == b'}') == object => {
                    i += 1;
                    objects >>= 1;
                    open -= 1;
                }
                _ => return Err(Invalid),
            }
        }
    }
}

/// Checks `"key" :` at `i`; returns the index of the value after it.
#[inline(always)]
fn member_key(b: &[u8], i: usize) -> Result<usize> {
    if b.get(i) != Some(&b'"') {
        return Err(Invalid);
    }
    let i = skip_space(b, string_end(b, i + 1)?.0 + 1);
    if b.get(i) != Some(&b':') {
        return Err(Invalid);
    }
    Ok(skip_space(b, i + 1))
}

/// Checks the literal `word` at `i`; returns the index after it.
#[inline]
fn literal(b: &[u8], i: usize, word: &[u8]) -> Result<usize> {
    if b[i..].starts_with(word) { Ok(i + word.len()) } else { Err(Invalid) }
}

/// The bytes of `w` that are not ASCII digits: the high bit of each such byte
/// is set in the result, and no other bit.
#[inline]
pub(super) fn non_digits(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Each byte minus '0' is below 10 for a digit. Subtracting 10 from it with
    // its high bit set keeps that bit exactly for the others, and no borrow
    // crosses into the next byte; a byte with its own high bit set is no digit.
    let x = w ^ (LO * u64::from(b'0'));
    (((x | HI) - LO * 10) | x) & HI
}

/// Checks the number at `i`; returns the index after it.
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
#[inline(always)]
fn number(b: &[u8], mut i: usize) -> Result<usize> {
    let digits = |i: &mut usize| {
        let from = *i;
        // Eight bytes at a time (ids are long): the first byte that is not a
        // digit ends the run.
        while let Some(w) = b.get(*i..*i + 8) {
            let other = non_digits(u64::from_le_bytes(w.try_into().expect("8 bytes")));
            if other != 0 {
                *i += (other.trailing_zeros() / 8) as usize;
                return if *i > from { Ok(()) } else { Err(Invalid) };
            }
            *i += 8;
        }
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        if *i > from { Ok(()) } else { Err(Invalid) }
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    if b.get(i) == Some(&b'0') {
        i += 1;
    } else {
        digits(&mut i)?;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        digits(&mut i)?;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        digits(&mut i)?;
    }
    Ok(i)
}

/// The index of the first `"`, `\`, control character or non-ASCII byte at or
/// after `i` (or `b.len()`): sixteen bytes at a time with SSE2 (part of every
/// x86-64 CPU), eight at a time elsewhere.
#[inline]
fn find_special(b: &[u8], mut i: usize) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    // SAFETY: SSE2 is enabled (it is in the x86-64 baseline), and every 16-byte
    // load is inside `b` (the intrinsics have no alignment needs).
    unsafe {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        let special = |at: usize| {
            let v = _mm_loadu_si128(b.as_ptr().add(at).cast::<__m128i>());
            let quote_backslash_or_control = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)),
                ),
                _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v),
            );
            // The sign bit of a byte is set for non-ASCII ones.
            _mm_movemask_epi8(_mm_or_si128(quote_backslash_or_control, v)) as u32
        };
        while i + 16 <= b.len() {
            let mask = special(i);
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
        // The last few bytes (a line ends with `"lang":"en"}`): one load of the
        // last sixteen, its bytes before `i` shifted out.
        if i < b.len() && b.len() >= 16 {
            let last = b.len() - 16;
            let mask = special(last) >> (i - last);
            return if mask != 0 { i + mask.trailing_zeros() as usize } else { b.len() };
        }
    }
    // Elsewhere, eight bytes at a time (on x86-64, only lines shorter than
    // sixteen bytes are left, for the byte loop).
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        i = find_special_by_words(b, i);
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c) {
            return i;
        }
        i += 1;
    }
    i
}

/// [`find_special`] eight bytes at a time, up to the last few bytes: the
/// index of the first special byte, or of one of the last seven bytes.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn find_special_by_words(b: &[u8], mut i: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= b.len() {
        let w = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
        // Bytes below 0x20 or above 0x7f, or equal to '"' or '\\'.
        let control = w.wrapping_sub(LO * 0x20) & !w & HI;
        let found =
            control | (w & HI) | has_zero(w ^ (LO * u64::from(b'"'))) | has_zero(w ^ (LO * u64::from(b'\\')));
        if found != 0 {
            // The lowest flagged byte is always a true hit (false ones only
            // appear above a true one, from the borrow).
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// Checks the UTF-8 sequence that starts with the non-ASCII byte at `i`;
/// returns its length. The well-formed sequences of the Unicode standard
/// (table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF.
#[inline]
fn utf8_sequence(b: &[u8], i: usize) -> Result<usize> {
    let at = |j: usize| b.get(i + j).copied().unwrap_or(0);
    let tail = |j: usize| at(j) & 0xc0 == 0x80;
    let (len, second_ok) = match at(0) {
        0xc2..=0xdf => (2, tail(1)),
        0xe0 => (3, matches!(at(1), 0xa0..=0xbf)),
        0xe1..=0xec | 0xee..=0xef => (3, tail(1)),
        0xed => (3, matches!(at(1), 0x80..=0x9f)),
        0xf0 => (4, matches!(at(1), 0x90..=0xbf)),
        0xf1..=0xf3 => (4, tail(1)),
        0xf4 => (4, matches!(at(1), 0x80..=0x8f)),
        _ => return Err(Invalid),
    };
    if second_ok && (len < 3 || tail(2)) && (len < 4 || tail(3)) { Ok(len) } else { Err(Invalid) }
}

/// Checks the escape whose letter is at `i`; returns the index after it.
fn skip_escape(b: &[u8], i: usize) -> Result<usize> {
    match b.get(i) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 1),
        Some(b'u') => {
            hex4(b, i + 1)?;
            Ok(i + 5)
        }
        _ => Err(Invalid),
    }
}

fn hex4(b: &[u8], i: usize) -> Result<u32> {
    let digits = b.get(i..i + 4).ok_or(Invalid)?;
    digits.iter().try_fold(0u32, |n, &c| Ok(n << 4 | (c as char).to_digit(16).ok_or(Invalid)?))
}

/// Appends the value of a string's raw contents (already checked by
/// [`Scanner::string`]); surrogates must come in pairs.
#[inline(never)]
fn unescape(raw: &str, out: &mut String) -> Result<()> {
    let b = raw.as_bytes();
    let mut from = 0;
    while let Some(off) = memchr::memchr(b'\\', &b[from..]) {
        let at = from + off;
        out.push_str(&raw[from..at]);
        from = at + 2;
        let c = match b.get(at + 1).ok_or(Invalid)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(b, at + 2)?;
                from = at + 6;
                let code = match hi {
                    0xD800..=0xDBFF => {
                        if b.get(from..from + 2) != Some(b"\\u") {
                            return Err(Invalid);
                        }
                        let lo = hex4(b, from + 2)?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(Invalid);
                        }
                        from += 6;
                        0x1_0000 + ((hi - 0xD800) << 10 | (lo - 0xDC00))
                    }
                    0xDC00..=0xDFFF => return Err(Invalid),
                    _ => hi,
                };
                char::from_u32(code).ok_or(Invalid)?
            }
            _ => return Err(Invalid),
        };
        out.push(c);
    }
    out.push_str(&raw[from..]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_all(s: &str) -> Result<()> {
        let mut p = Scanner::new(s.as_bytes());
        p.skip()?;
        p.end()
    }

    #[test]
    fn grammar() {
        for ok in [
            "0",
            "-0.5e+10",
            "1E9",
            "[]",
            "{}",
            " [1, {\"a\": [true, false, null]}, \"x\\u00e9\\n\"] ",
            "\"\\ud83d\\ude00\"",
            "660000000000000001",
            "-1234567890123.4567890123e+1234567890",
        ] {
            assert_eq!(skip_all(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "[1,]",
            "{,}",
            "{\"a\"}",
            "{\"a\":1,}",
            "tru",
            "\"a",
            "\"\\x\"",
            "\"\t\"",
            "[1] 2",
            "123456789a",
            "12345678.",
            "0123456789",
            // Brackets closed by the other kind, at every level.
            "[1}",
            "{\"a\":1]",
            "[[1]}",
            "{\"a\":[1}}",
            "[{\"a\":1]]",
            "[}",
            "{]",
        ] {
            assert_eq!(skip_all(bad), Err(Invalid), "{bad}");
        }
    }

    #[test]
    fn strings_and_escapes() {
        let decode = |s: &str| {
            let mut scratch = String::new();
            Scanner::new(s.as_bytes()).string()?.decode_into(&mut scratch).map(str::to_owned)
        };
        let plain = r#""plain""#;
        let mut scratch = String::new();
        let value = Scanner::new(plain.as_bytes()).string().unwrap().decode_into(&mut scratch).unwrap();
        assert!(std::ptr::eq(value, &plain[1..6]), "no escapes: borrowed from the input");
        assert_eq!(decode(r#""a\"b\\c\/\u00e9\ud83d\ude00\t""#).unwrap(), "a\"b\\c/é😀\t");
        for lone in [r#""\ud83d""#, r#""\ude00""#, r#""\ud83dx""#, r#""\ud83d\u0041""#] {
            assert_eq!(decode(lone), Err(Invalid), "{lone}");
        }
        // Long strings go through the sixteen- and eight-byte loops; every position
        // of a quote is found.
        for at in 0..40 {
            let s = format!("\"{}\"{}", "x".repeat(at), "tail");
            assert_eq!(decode(&s).unwrap().len(), at);
        }
    }

    /// A run of digits ends at the first byte that is not one, at any length
    /// and whatever that byte is.
    #[test]
    fn numbers_end_where_their_digits_end() {
        // The grammar, a byte at a time.
        fn one_by_one(b: &[u8]) -> Result<usize> {
            let digits = |mut i: usize| {
                let from = i;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                if i > from { Ok(i) } else { Err(Invalid) }
            };
            let mut i = usize::from(b[0] == b'-');
            i = if b.get(i) == Some(&b'0') { i + 1 } else { digits(i)? };
            if b.get(i) == Some(&b'.') {
                i = digits(i + 1)?;
            }
            if matches!(b.get(i), Some(b'e' | b'E')) {
                i += 1;
                i = digits(i + usize::from(matches!(b.get(i), Some(b'+' | b'-'))))?;
            }
            Ok(i)
        }
        for len in 1..20 {
            for next in 0..=0xffu8 {
                for tail in [&b"0000000000"[..], b"x"] {
                    let mut b = "7".repeat(len).into_bytes();
                    b.push(next);
                    b.extend(tail);
                    assert_eq!(number(&b, 0), one_by_one(&b), "{len} {next:#x}");
                    assert_eq!(number(&b[..len], 0), Ok(len));
                }
            }
        }
        assert_eq!(number(b"-x1234567", 0), Err(Invalid));
    }

    /// Both ways of finding special bytes (sixteen and eight at a time) agree
    /// with a byte loop, for every byte at every position.
    #[test]
    fn special_bytes_are_found_at_any_position() {
        let special = |c: u8| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c);
        for len in 0..40 {
            for at in 0..len {
                for c in 0..=0xffu8 {
                    let mut b = vec![b'a'; len];
                    b[at] = c;
                    for from in [0, at.saturating_sub(1), at, at + 1, len] {
                        let want = (from..len).find(|&k| special(b[k])).unwrap_or(len);
                        assert_eq!(find_special(&b, from), want, "{len} {at} {c:#x} {from}");
                        let by_words = find_special_by_words(&b, from);
                        assert!(
                            by_words == want || (by_words + 8 > len && by_words <= want),
                            "{len} {at} {c:#x}"
                        );
                    }
                }
            }
        }
    }

    /// A string is checked from its own opening quote: the special bytes before
    /// it in the same sixteen-byte load (the last-bytes path) are not seen.
    #[test]
    fn strings_near_the_end_of_the_input() {
        for n in 1..12 {
            let items: Vec<String> = (0..n).map(|k| format!("\"{}\"", "ab".repeat(k % 3))).collect();
            let list = format!("[{}]", items.join(","));
            assert_eq!(skip_all(&list), Ok(()), "{list}");
            let bad = format!("{}\u{1}\"]", &list[..list.len() - 2]);
            assert_eq!(skip_all(&bad), Err(Invalid), "{bad:?}");
        }
    }

    /// The sequence check agrees with the standard library on every first and
    /// second byte, and on the edges of the continuation range after them.
    #[test]
    fn utf8_sequences_like_std() {
        let edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0, 0xff];
        for first in 0x80..=0xffu8 {
            for second in 0..=0xffu8 {
                for third in edges {
                    for fourth in edges {
                        let buf = [first, second, third, fourth];
                        let std_len = (2..=4)
                            .find(|&l| std::str::from_utf8(&buf[..l]).is_ok_and(|s| s.chars().count() == 1));
                        assert_eq!(utf8_sequence(&buf, 0).ok(), std_len, "{buf:x?}");
                    }
                }
                // A sequence cut off by the end of the input.
                assert_eq!(utf8_sequence(&[first, second], 0).ok().filter(|&l| l > 2), None);
            }
        }
    }

    #[test]
    fn nesting_limit() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(skip_all(&deep(127)), Ok(()));
        assert_eq!(skip_all(&deep(128)), Err(Invalid));
    }
}
