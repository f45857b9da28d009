//! Hashtag extraction, the `flatMap` half of the DStream job's word count.
//!
//! Two modes: [`HashtagMode::Spark`] reproduces the original job exactly (split on
//! a single space, keep words starting with `#`, lowercase), quirks included;
//! [`HashtagMode::Twitter`] extracts the tags Twitter itself would link.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// How hashtags are found in a tweet's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HashtagMode {
    /// Proper hashtags: `#` then letters, marks, digits or `_` (not all digits), not
    /// inside a URL or a word, trailing punctuation excluded; lowercased.
    Twitter,
    /// The original Spark job: `text.split(" ")`, words starting with `#`,
    /// lowercased, so `#russia's` and a lone `#` count as tags.
    Spark,
}

/// Calls `f` with each hashtag of `text`, lowercased, in order. `scratch` is
/// reused for lowercasing so the hot path does not allocate.
pub fn for_each_hashtag(mode: HashtagMode, text: &str, scratch: &mut String, mut f: impl FnMut(&str)) {
    for_each_raw_hashtag(mode, text, |tag, plain| f(if plain { tag } else { lowercase(tag, scratch) }));
}

/// Calls `f(tag, plain)` with each hashtag of `text` as it stands in the
/// text, in order; `plain`: the tag is lowercase already. The tag as counted
/// is [`lowercase`]`(tag)` when not `plain`: a pure function of the tag, so
/// a caller may count tags as written and lowercase each distinct one once
/// (the engine does, per chunk).
#[inline]
pub fn for_each_raw_hashtag<'a>(mode: HashtagMode, text: &'a str, f: impl FnMut(&'a str, bool)) {
    match mode {
        HashtagMode::Spark => spark_tags(text, f),
        HashtagMode::Twitter => twitter_tags::<true>(text, f),
    }
}

/// The words of `text.split(' ')` that start with `#`, found from the `#`s
/// rather than word by word: a `#` at the start or after a space starts
/// one, which runs to the next space. Most words of a tweet are not tags,
/// and `#` is rare, so a vector search for it skips them in bulk. Calls
/// `f(word, plain)`; `plain`: the word is lowercase ASCII already.
#[inline]
fn spark_tags<'a>(text: &'a str, mut f: impl FnMut(&'a str, bool)) {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(at) = find_either(b, from, b'#', b'#') {
        if at > 0 && b[at - 1] != b' ' {
            from = at + 1;
            continue;
        }
        let end = find_either(b, at, b' ', b' ').unwrap_or(b.len());
        let plain = !b[at..end].iter().any(|&c| c.is_ascii_uppercase() || !c.is_ascii());
        // `#` and ' ' are ASCII: both ends are character boundaries.
        f(&text[at..end], plain);
        from = end;
    }
}

/// Byte classes of the ASCII fast paths (one table lookup per byte).
const SPACE: u8 = 1; // ASCII `White_Space`
const LETTER: u8 = 2; // ASCII letter
const DIGIT: u8 = 4; // decimal digit
const UNDERSCORE: u8 = 8;
const UPPER: u8 = 16; // ASCII capital
const COLON: u8 = 32;
const HIGH: u8 = 64; // part of a non-ASCII character
/// ASCII characters of a tag.
const TAG: u8 = LETTER | DIGIT | UNDERSCORE;
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b >= 0x80 {
            HIGH
        } else if b.is_ascii_uppercase() {
            LETTER | UPPER
        } else if b.is_ascii_lowercase() {
            LETTER
        } else if b.is_ascii_digit() {
            DIGIT
        } else if b == b'_' {
            UNDERSCORE
        } else if b == b':' {
            COLON
        } else if matches!(b, b' ' | b'\t'..=b'\r') {
            SPACE
        } else {
            0
        };
        c += 1;
    }
    t
};

#[inline]
fn class(b: u8) -> u8 {
    CLASS[usize::from(b)]
}

/// The Twitter rules. Calls `f(tag, lowercase)` for each tag in order;
/// `lowercase` says the tag is lowercase already.
///
/// Only hash signs are visited; each one's word is looked at once for being a
/// URL, however many hash signs it has.
///
/// With `SHORTCUT`, a word that is a tag from start to end (most tags) skips
/// the URL check: it has neither `:` nor `.`, and every URL prefix has one.
/// (A test compares it with the full rules: `SHORTCUT` false.)
fn twitter_tags<'a, const SHORTCUT: bool>(text: &'a str, mut f: impl FnMut(&'a str, bool)) {
    let b = text.as_bytes();
    let (mut from, mut word_to, mut in_url) = (0, 0, false);
    while let Some(hash) = next_hash(b, from) {
        let body = hash + if b[hash] == b'#' { 1 } else { "＃".len() };
        if SHORTCUT && hash >= word_to && (hash == 0 || class(b[hash - 1]) & SPACE != 0) {
            let (end, has_letter, plain) = tag_body(text, body);
            if b.get(end).is_none_or(|&c| class(c) & SPACE != 0) {
                (from, word_to, in_url) = (end, end, false);
                if has_letter {
                    f(&text[hash..end], plain);
                }
                continue;
            }
        }
        if hash >= word_to {
            let (start, end, colon) = word_around(text, hash);
            word_to = end;
            in_url = is_url(&text[start..end], colon);
        }
        if in_url {
            from = word_to;
            continue;
        }
        from = body;
        // A tag starts at a hash not glued to a word (`a#b`) or an HTML entity (`&#39;`).
        if hash > 0 && glued(text, hash) {
            continue;
        }
        let (end, has_letter, plain) = tag_body(text, body);
        from = end;
        if has_letter {
            // `＃` lowercases to itself, so `plain` holds for the whole tag.
            f(&text[hash..end], plain);
        }
    }
}

/// Whether the character before the hash at `i` (> 0) keeps it from starting a tag.
#[inline]
fn glued(text: &str, i: usize) -> bool {
    let before = text.as_bytes()[i - 1];
    if class(before) & HIGH == 0 {
        return before == b'&' || class(before) & TAG != 0;
    }
    let c = text[..i].chars().next_back().expect("not at the start");
    tag_char(c) != TagChar::No
}

/// Scans a tag's characters from `i`: returns where they end, whether there is
/// a letter or mark among them, and whether lowercasing leaves them as they
/// are (so `#日本語` or `#café` need no copy).
#[inline]
fn tag_body(text: &str, mut i: usize) -> (usize, bool, bool) {
    let b = text.as_bytes();
    let (mut seen, mut has_letter) = (0u8, false);
    while let Some(&c) = b.get(i) {
        let k = class(c);
        if k & TAG != 0 {
            seen |= k;
            i += 1;
        } else if k & HIGH != 0 {
            let ch = text[i..].chars().next().expect("not at the end");
            match tag_char(ch) {
                TagChar::No => break,
                TagChar::Letter => has_letter = true,
                // Counted as a capital: the tag needs lowercasing.
                TagChar::Capital => (has_letter, seen) = (true, seen | UPPER),
                TagChar::Other => {}
            }
            i += ch.len_utf8();
        } else {
            break;
        }
    }
    (i, has_letter || seen & LETTER != 0, seen & UPPER == 0)
}

/// The word around byte `i`, between whitespace: its start, its end, and
/// whether it has a colon.
#[inline]
fn word_around(text: &str, i: usize) -> (usize, usize, bool) {
    let b = text.as_bytes();
    let mut seen = 0u8;
    let mut start = i;
    while start > 0 {
        let k = class(b[start - 1]);
        if k & HIGH == 0 {
            if k & SPACE != 0 {
                break;
            }
            seen |= k;
            start -= 1;
        } else {
            let c = text[..start].chars().next_back().expect("not at the start");
            if c.is_whitespace() {
                break;
            }
            start -= c.len_utf8();
        }
    }
    let mut end = i;
    while let Some(&c) = b.get(end) {
        let k = class(c);
        if k & HIGH == 0 {
            if k & SPACE != 0 {
                break;
            }
            seen |= k;
            end += 1;
        } else {
            let c = text[end..].chars().next().expect("not at the end");
            if c.is_whitespace() {
                break;
            }
            end += c.len_utf8();
        }
    }
    (start, end, seen & COLON != 0)
}

/// `s` lowercased, like `str::to_lowercase`; borrowed when already lowercase
/// ASCII, else written into `scratch` (without allocating, but for the rare
/// capital sigma, whose lowercase depends on its position in the word).
pub fn lowercase<'a>(s: &'a str, scratch: &'a mut String) -> &'a str {
    // Nothing to lower (`#rust`, `#日本語`, `#café`): for non-ASCII, the
    // table of the Basic Multilingual Plane says so without Unicode's case
    // tables.
    if !s.bytes().any(|c| c.is_ascii_uppercase()) && s.chars().all(unchanged_by_lowercase) {
        return s;
    }
    scratch.clear();
    if s.is_ascii() {
        scratch.push_str(s);
        scratch.make_ascii_lowercase();
        return scratch;
    }
    for c in s.chars() {
        if c.is_ascii() {
            scratch.push(c.to_ascii_lowercase());
        } else if c == 'Σ' {
            *scratch = s.to_lowercase();
            break;
        } else {
            scratch.extend(c.to_lowercase());
        }
    }
    scratch
}

/// Whether lowercasing leaves `c` as it is: letters and marks as the table
/// says, digits and `_`; anything else (symbols such as `Ⓐ`, which has a
/// lowercase) as Unicode says.
#[inline]
fn unchanged_by_lowercase(c: char) -> bool {
    match tag_char(c) {
        TagChar::Letter | TagChar::Other => true,
        TagChar::Capital => false,
        TagChar::No => c.is_ascii() || c.to_lowercase().eq([c]),
    }
}

/// The byte offset of the next `#` or fullwidth `＃` (UTF-8 EF BC 83) at or
/// after `from`.
#[inline]
fn next_hash(b: &[u8], mut from: usize) -> Option<usize> {
    while let Some(at) = find_either(b, from, b'#', 0xef) {
        if b[at] == b'#' || b[at..].starts_with("＃".as_bytes()) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The first byte `x` or `y` at or after `i` (`#` or 0xEF, which starts a
/// fullwidth `＃`; a space): sixteen bytes at a time with SSE2 (in the
/// x86-64 baseline), inline, as tweets are short and a call to memchr costs
/// more than the search.
#[inline]
fn find_either(b: &[u8], mut i: usize, x: u8, y: u8) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    // SAFETY: SSE2 is enabled, and every 16-byte load is inside `b` (the
    // intrinsics have no alignment needs).
    unsafe {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        let (vx, vy) = (_mm_set1_epi8(x as i8), _mm_set1_epi8(y as i8));
        let hits = |at: usize| {
            let v = _mm_loadu_si128(b.as_ptr().add(at).cast::<__m128i>());
            _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, vx), _mm_cmpeq_epi8(v, vy))) as u32
        };
        while i + 16 <= b.len() {
            let mask = hits(i);
            if mask != 0 {
                return Some(i + mask.trailing_zeros() as usize);
            }
            i += 16;
        }
        // The last few bytes (most searches end there, finding nothing): one
        // load of the last sixteen, its bytes before `i` shifted out, not a
        // byte loop.
        if i < b.len() && b.len() >= 16 {
            let last = b.len() - 16;
            let mask = hits(last) >> (i - last);
            return (mask != 0).then(|| i + mask.trailing_zeros() as usize);
        }
    }
    b.get(i..)?.iter().position(|&c| c == x || c == y).map(|j| i + j)
}

/// A word that is a link: `http://`, `https://` or `www.` after any leading
/// non-alphanumeric characters (case-insensitive), or containing `://` (only
/// looked for when the word has a colon).
fn is_url(word: &str, colon: bool) -> bool {
    let b = word.as_bytes();
    if colon && b.windows(3).any(|w| w == b"://") {
        return true;
    }
    let lead = match b.iter().position(|&c| class(c) & (LETTER | DIGIT | HIGH) != 0) {
        Some(i) if b[i].is_ascii() => i,
        // A non-ASCII character may be alphanumeric: ask Unicode from there.
        Some(i) => word[i..].find(char::is_alphanumeric).map_or(word.len(), |j| i + j),
        None => return false,
    };
    let w = &b[lead..];
    if !matches!(w.first(), Some(b'h' | b'H' | b'w' | b'W')) {
        return false;
    }
    let starts = |p: &[u8]| w.get(..p.len()).is_some_and(|s| s.eq_ignore_ascii_case(p));
    starts(b"http://") || starts(b"https://") || starts(b"www.")
}

/// What a character is to a hashtag.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TagChar {
    /// Not part of a tag.
    No,
    /// A letter or mark (a tag needs one: `#123` is no tag) that lowercasing
    /// leaves as it is.
    Letter,
    /// A letter that lowercasing changes.
    Capital,
    /// `_` or a decimal digit.
    Other,
}

#[inline]
fn tag_char(c: char) -> TagChar {
    if c.is_ascii() {
        return match c {
            'a'..='z' => TagChar::Letter,
            'A'..='Z' => TagChar::Capital,
            '0'..='9' | '_' => TagChar::Other,
            _ => TagChar::No,
        };
    }
    match BMP.get(c as usize / 4) {
        Some(&four) => match four >> (c as usize % 4 * 2) & 3 {
            0 => TagChar::No,
            1 => TagChar::Letter,
            2 => TagChar::Other,
            _ => TagChar::Capital,
        },
        None => tag_char_by_category(c),
    }
}

/// What `c` is to a hashtag, by its Unicode general category (and whether
/// lowercasing changes it: only cased letters are asked, as other letters and
/// marks have no case, which a test checks for every character).
fn tag_char_by_category(c: char) -> TagChar {
    use GeneralCategory as G;
    match c.general_category() {
        G::UppercaseLetter | G::LowercaseLetter | G::TitlecaseLetter => {
            if c.to_lowercase().eq([c]) {
                TagChar::Letter
            } else {
                TagChar::Capital
            }
        }
        G::ModifierLetter | G::OtherLetter | G::NonspacingMark | G::SpacingMark | G::EnclosingMark => {
            TagChar::Letter
        }
        G::DecimalNumber => TagChar::Other,
        _ => TagChar::No,
    }
}

/// [`tag_char_by_category`] of every character of the Basic Multilingual
/// Plane, two bits each (16 KB), computed once: the general category and the
/// lowercase mapping are binary searches in large tables, and tags in Latin,
/// Cyrillic or CJK scripts asked them for every letter.
static BMP: std::sync::LazyLock<Box<[u8]>> = std::sync::LazyLock::new(|| {
    let mut table = vec![0u8; 0x10000 / 4];
    for c in (0..0x10000).filter_map(char::from_u32) {
        let bits = match tag_char_by_category(c) {
            TagChar::No => 0,
            TagChar::Letter => 1,
            TagChar::Other => 2,
            TagChar::Capital => 3,
        };
        table[c as usize / 4] |= bits << (c as usize % 4 * 2);
    }
    table.into_boxed_slice()
});

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_properties::GeneralCategoryGroup;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        #[test]
        fn the_shortcut_finds_what_the_full_rules_find(
            text in "([ #＃a-zA-Z0-9_.:/'&\t\u{a0}\u{2009}éÜ日٣́😀]|http://|https://|www\\.|HTTP://){0,40}"
        ) {
            let (mut fast, mut full) = (Vec::new(), Vec::new());
            twitter_tags::<true>(&text, |t, plain| fast.push((t.to_owned(), plain)));
            twitter_tags::<false>(&text, |t, plain| full.push((t.to_owned(), plain)));
            proptest::prop_assert_eq!(fast, full);
        }

        #[test]
        fn lowercasing_is_unicode_lowercasing(text in "[#a-zA-Z0-9_ éÉΣσςİ日本語Ⓐⓐǅ😀𝐀ß]{0,12}") {
            let mut scratch = String::new();
            let lowered = lowercase(&text, &mut scratch).to_owned();
            proptest::prop_assert_eq!(lowered, text.to_lowercase());
        }

        #[test]
        fn spark_words_are_the_original_split(text in "([ #a-zA-Z.'\t\u{a0}é日😀]|##| #){0,40}") {
            let mut found = Vec::new();
            spark_tags(&text, |w, plain| {
                assert_eq!(plain, w == w.to_lowercase() && w.is_ascii(), "{w}");
                found.push(w)
            });
            let split: Vec<&str> = text.split(' ').filter(|w| w.starts_with('#')).collect();
            proptest::prop_assert_eq!(found, split);
        }
    }

    /// The vector search, its last-sixteen-bytes load included, finds what
    /// a byte loop finds: every length up to 40, every start, hits anywhere.
    #[test]
    fn find_either_finds_the_first_hit_from_any_start() {
        for len in 0usize..40 {
            for hits in
                [vec![], vec![0], vec![len / 2], vec![len.saturating_sub(1)], vec![1, 15, 16, 17, 31, 33]]
            {
                let mut b = vec![b'a'; len];
                for (k, &h) in hits.iter().enumerate() {
                    if h < len {
                        b[h] = if k % 2 == 0 { b'#' } else { 0xef };
                    }
                }
                for from in 0..=len + 1 {
                    let naive = b.get(from..).and_then(|r| r.iter().position(|&c| c == b'#' || c == 0xef));
                    assert_eq!(
                        find_either(&b, from, b'#', 0xef),
                        naive.map(|j| from + j),
                        "{len} {hits:?} {from}"
                    );
                }
            }
        }
    }

    fn tags(mode: HashtagMode, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_hashtag(mode, text, &mut String::new(), |t| out.push(t.to_owned()));
        out
    }

    #[test]
    fn the_table_of_the_basic_plane_agrees_with_unicode() {
        for c in (0x80..0x10000).filter_map(char::from_u32) {
            assert!(tag_char(c) == tag_char_by_category(c), "{c:?}");
        }
        assert!(tag_char('日') == TagChar::Letter && tag_char('٣') == TagChar::Other);
        // Only cased letters change when lowercased, among all letters and marks.
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let t = tag_char_by_category(c);
            let letter_or_mark = matches!(
                c.general_category_group(),
                GeneralCategoryGroup::Letter | GeneralCategoryGroup::Mark
            );
            assert_eq!(letter_or_mark, matches!(t, TagChar::Letter | TagChar::Capital), "{c:?}");
            if letter_or_mark {
                assert_eq!(t == TagChar::Capital, !c.to_lowercase().eq([c]), "{c:?}");
            }
        }
        assert!(tag_char('Ü') == TagChar::Capital && tag_char('ü') == TagChar::Letter);
        assert!(tag_char('Σ') == TagChar::Capital && tag_char('ǅ') == TagChar::Capital);
        assert!(tag_char('😀') == TagChar::No && tag_char('𝐀') == TagChar::Letter);
    }

    #[test]
    fn spark_mode_keeps_the_original_quirks() {
        assert_eq!(
            tags(HashtagMode::Spark, "#Russia's news # #a,#b  #C\t#d http://x.co/#e"),
            vec!["#russia's", "#", "#a,#b", "#c\t#d"]
        );
    }

    #[test]
    fn twitter_mode_extracts_proper_tags() {
        assert_eq!(
            tags(
                HashtagMode::Twitter,
                "Love #Rust! and #rust, #123 #a1 #_x (#paren) #Überfall #日本語 ＃full"
            ),
            vec!["#rust", "#rust", "#a1", "#_x", "#paren", "#überfall", "#日本語", "＃full"]
        );
        assert_eq!(
            tags(HashtagMode::Twitter, "x#notag &#39; http://t.co/a#b https://e.com/#frag #"),
            Vec::<String>::new()
        );
        assert_eq!(tags(HashtagMode::Twitter, "#russia's #a#b #é́"), vec!["#russia", "#a", "#é́"]);
    }
}
