//! Hashtag extraction, the `flatMap` half of the DStream job's word count.
//!
//! Two modes: [`HashtagMode::Spark`] reproduces the original job exactly (split on
//! a single space, keep words starting with `#`, lowercase), quirks included;
//! [`HashtagMode::Twitter`] extracts the tags Twitter itself would link.

use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

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
    match mode {
        HashtagMode::Spark => {
            for word in text.split(' ').filter(|w| w.starts_with('#')) {
                f(lowercase(word, scratch));
            }
        }
        HashtagMode::Twitter => {
            // Visit only the words that contain a hash sign, found with memchr.
            let mut from = 0;
            while let Some(hash) = next_hash(text.as_bytes(), from) {
                let (start, end) = (word_start(text, hash), word_end(text, hash));
                let word = &text[start..end];
                if !is_url(word) {
                    twitter_tags_in_word(word, |tag| f(lowercase(tag, scratch)));
                }
                from = end;
            }
        }
    }
}

/// Whether `c` is Unicode `White_Space` (what `char::is_whitespace` and
/// `split_whitespace` use), for an ASCII byte.
#[inline]
fn is_ascii_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t'..=b'\r')
}

/// Where the word containing byte `i` starts: after the last whitespace before it.
#[inline]
fn word_start(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    while i > 0 {
        if b[i - 1].is_ascii() {
            if is_ascii_space(b[i - 1]) {
                return i;
            }
            i -= 1;
        } else {
            let c = text[..i].chars().next_back().expect("not at the start");
            if c.is_whitespace() {
                return i;
            }
            i -= c.len_utf8();
        }
    }
    0
}

/// Where the word containing byte `i` ends: at the next whitespace.
#[inline]
fn word_end(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    while i < b.len() {
        if b[i].is_ascii() {
            if is_ascii_space(b[i]) {
                return i;
            }
            i += 1;
        } else {
            let c = text[i..].chars().next().expect("not at the end");
            if c.is_whitespace() {
                return i;
            }
            i += c.len_utf8();
        }
    }
    b.len()
}

/// `s` lowercased, like `str::to_lowercase`; borrowed when already lowercase
/// ASCII, else written into `scratch` (without allocating, but for the rare
/// capital sigma, whose lowercase depends on its position in the word).
fn lowercase<'a>(s: &'a str, scratch: &'a mut String) -> &'a str {
    let b = s.as_bytes();
    if !b.iter().any(|&c| c.is_ascii_uppercase() || !c.is_ascii()) {
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

/// The byte offset of the next `#` or fullwidth `＃` (UTF-8 EF BC 83) at or after `from`.
#[inline]
fn next_hash(b: &[u8], mut from: usize) -> Option<usize> {
    while let Some(off) = memchr::memchr2(b'#', 0xef, &b[from..]) {
        let at = from + off;
        if b[at] == b'#' || b[at..].starts_with("＃".as_bytes()) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// A word that is a link: `http://`, `https://` or `www.` after any leading
/// non-alphanumeric characters (case-insensitive), or containing `://`.
fn is_url(word: &str) -> bool {
    let b = word.as_bytes();
    // Plain loops: words are short, and a call to memchr costs more here.
    if (2..b.len()).any(|i| b[i - 2] == b':' && b[i - 1] == b'/' && b[i] == b'/') {
        return true;
    }
    let lead = match b.iter().position(|c| c.is_ascii_alphanumeric() || !c.is_ascii()) {
        Some(i) if b[i].is_ascii() => i,
        // A non-ASCII character may be alphanumeric: ask Unicode from there.
        Some(i) => word[i..].find(char::is_alphanumeric).map_or(word.len(), |j| i + j),
        None => return false,
    };
    let w = &b[lead..];
    let starts = |p: &[u8]| w.get(..p.len()).is_some_and(|s| s.eq_ignore_ascii_case(p));
    starts(b"http://") || starts(b"https://") || starts(b"www.")
}

/// What a character is to a hashtag.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TagChar {
    /// Not part of a tag.
    No,
    /// A letter or mark (a tag needs one: `#123` is no tag).
    Letter,
    /// `_` or a decimal digit.
    Other,
}

#[inline]
fn tag_char(c: char) -> TagChar {
    if c.is_ascii() {
        return match c {
            'a'..='z' | 'A'..='Z' => TagChar::Letter,
            '0'..='9' | '_' => TagChar::Other,
            _ => TagChar::No,
        };
    }
    match c.general_category_group() {
        GeneralCategoryGroup::Letter | GeneralCategoryGroup::Mark => TagChar::Letter,
        GeneralCategoryGroup::Number if c.general_category() == GeneralCategory::DecimalNumber => {
            TagChar::Other
        }
        _ => TagChar::No,
    }
}

/// The hashtags inside one whitespace-free word.
fn twitter_tags_in_word(word: &str, mut f: impl FnMut(&str)) {
    let mut prev: Option<char> = None;
    let mut chars = word.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_hash = c == '#' || c == '＃';
        // A tag starts at a hash not glued to a word (`a#b`) or an HTML entity (`&#39;`).
        if is_hash && !prev.is_some_and(|p| p == '&' || tag_char(p) != TagChar::No) {
            let start = i + c.len_utf8();
            let (mut end, mut has_letter) = (start, false);
            while let Some(&(j, d)) = chars.peek() {
                match tag_char(d) {
                    TagChar::No => break,
                    class => has_letter |= class == TagChar::Letter,
                }
                end = j + d.len_utf8();
                chars.next();
            }
            if has_letter {
                f(&word[i..end]);
            }
            prev = word[..end].chars().next_back();
            continue;
        }
        prev = Some(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(mode: HashtagMode, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_hashtag(mode, text, &mut String::new(), |t| out.push(t.to_owned()));
        out
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
