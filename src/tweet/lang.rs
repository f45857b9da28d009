//! A post's language: the BCP 47 tag its source gave (Jetstream's
//! `record.langs[0]`, X's and Twitter's `lang`, Mastodon's `language`, a
//! `lang` or `language` column), or `und` (undetermined, as BCP 47 says)
//! where it gave none.
//!
//! A tag is kept in a few bytes, by value, so a post carries it at no cost:
//! subtags of letters and digits joined by `-`, the first of two or three
//! letters (`en`, `pt-BR`, `zh-Hant-TW`, `und`), at most [`MAX_TAG`] bytes,
//! written in BCP 47's conventional case (language lower case, a region
//! upper case, a script in title case). Anything else a source sends (empty,
//! `null`, a number, a made-up string) reads as `und`.
//!
//! Languages are matched as RFC 4647's basic filtering does: `pt` matches
//! `pt` and `pt-BR`; `und` matches only `und`.

use std::fmt;

/// The longest tag kept (`zh-Hant-TW` is 10 bytes; private-use tags can be
/// longer, and read as `und`).
pub const MAX_TAG: usize = 16;

/// A language tag (see the module's documentation): its bytes, padded with
/// NULs (which no tag holds), so that comparing two is comparing 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lang {
    bytes: [u8; MAX_TAG],
}

impl Lang {
    /// `und`: undetermined.
    pub const UND: Lang = Lang { bytes: *b"und\0\0\0\0\0\0\0\0\0\0\0\0\0" };

    /// The tag `s` in its conventional case, or None when `s` is not a
    /// well-formed tag of at most [`MAX_TAG`] bytes.
    #[inline]
    pub fn parse(s: &str) -> Option<Lang> {
        let b = s.as_bytes();
        let mut bytes = [0u8; MAX_TAG];
        // Most tags are a language alone, in lower case (`en`, `ja`).
        if let &[x, y] = b
            && x.is_ascii_lowercase()
            && y.is_ascii_lowercase()
        {
            bytes[0] = x;
            bytes[1] = y;
            return Some(Lang { bytes });
        }
        Lang::parse_tag(s)
    }

    /// [`Lang::parse`] of any other tag.
    #[inline(never)]
    fn parse_tag(s: &str) -> Option<Lang> {
        let (b, mut bytes) = (s.as_bytes(), [0u8; MAX_TAG]);
        if b.is_empty() || b.len() > MAX_TAG {
            return None;
        }
        for (i, subtag) in s.split('-').enumerate() {
            let ok = match i {
                0 => (2..=3).contains(&subtag.len()) && subtag.bytes().all(|c| c.is_ascii_alphabetic()),
                _ => (1..=8).contains(&subtag.len()) && subtag.bytes().all(|c| c.is_ascii_alphanumeric()),
            };
            if !ok {
                return None;
            }
        }
        // The case BCP 47 writes: the language lower case; after it, a
        // two-letter region upper case, a four-letter script in title case,
        // anything else lower case.
        let mut at = 0;
        for (i, subtag) in s.split('-').enumerate() {
            if i > 0 {
                bytes[at] = b'-';
                at += 1;
            }
            for (k, c) in subtag.bytes().enumerate() {
                bytes[at] = match (i, subtag.len()) {
                    (1.., 2) => c.to_ascii_uppercase(),
                    (1.., 4) if k == 0 && subtag.bytes().all(|c| c.is_ascii_alphabetic()) => {
                        c.to_ascii_uppercase()
                    }
                    _ => c.to_ascii_lowercase(),
                };
                at += 1;
            }
        }
        Some(Lang { bytes })
    }

    /// What a source gave: its tag, or `und` when it gave none that reads.
    pub fn or_und(s: Option<&str>) -> Lang {
        s.and_then(Lang::parse).unwrap_or(Lang::UND)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters, digits and '-' are ever stored.
        let len = self.bytes.iter().position(|&b| b == 0).unwrap_or(MAX_TAG);
        std::str::from_utf8(&self.bytes[..len]).unwrap_or("und")
    }

    /// The language subtag (`pt` of `pt-BR`).
    pub fn primary(&self) -> &str {
        self.as_str().split('-').next().unwrap_or("und")
    }

    /// Whether a filter of `self` keeps `post` (RFC 4647 basic filtering:
    /// the same tag, or `self` followed by `-` and more).
    pub fn matches(&self, post: Lang) -> bool {
        let (range, tag) = (self.as_str(), post.as_str());
        tag == range
            || (tag.len() > range.len() && tag.starts_with(range) && tag.as_bytes()[range.len()] == b'-')
    }

    /// Whether the English sentiment models score a post of this language:
    /// English in any region, or undetermined (so files without languages
    /// are scored as before).
    pub fn is_scored_in_english(&self) -> bool {
        *self == Lang::UND || (self.bytes[..2] == *b"en" && matches!(self.bytes[2], 0 | b'-'))
    }
}

impl Default for Lang {
    fn default() -> Self {
        Lang::UND
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lang({})", self.as_str())
    }
}

/// The languages `--lang` keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct LangFilter(Vec<Lang>);

impl LangFilter {
    /// A comma-separated list of tags (`en,pt-BR,und`).
    pub fn parse(list: &str) -> Result<LangFilter, String> {
        let mut langs = Vec::new();
        for item in list.split(',').map(str::trim) {
            let lang = Lang::parse(item).ok_or_else(|| {
                format!("'{item}' is not a language tag (BCP 47, as sources give them: en, pt-BR, ja, und)")
            })?;
            if !langs.contains(&lang) {
                langs.push(lang);
            }
        }
        Ok(LangFilter(langs))
    }

    pub fn keeps(&self, lang: Lang) -> bool {
        self.0.iter().any(|range| range.matches(lang))
    }
}

impl fmt::Display for LangFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<&str> = self.0.iter().map(Lang::as_str).collect();
        f.write_str(&list.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(s: &str) -> Option<String> {
        Lang::parse(s).map(|l| l.to_string())
    }

    #[test]
    fn tags_are_read_in_their_conventional_case() {
        assert_eq!(tag("en").as_deref(), Some("en"));
        assert_eq!(tag("EN-gb").as_deref(), Some("en-GB"));
        assert_eq!(tag("pt-br").as_deref(), Some("pt-BR"));
        assert_eq!(tag("zh-hant-tw").as_deref(), Some("zh-Hant-TW"));
        assert_eq!(tag("es-419").as_deref(), Some("es-419"));
        assert_eq!(tag("UND").as_deref(), Some("und"));
        assert_eq!(tag("ja-JP-x-private").as_deref(), Some("ja-JP-x-private"), "16 bytes");
        for bad in
            ["", "e", "english", "en_GB", "en-", "-en", "en--gb", "12", "en-abcdefghi", "ja-JP-x-private-t"]
        {
            assert_eq!(tag(bad), None, "{bad}");
        }
        assert_eq!(Lang::or_und(Some("")), Lang::UND);
        assert_eq!(Lang::or_und(None).as_str(), "und");
        assert_eq!(Lang::default(), Lang::UND);
    }

    #[test]
    fn filters_match_as_rfc_4647_basic_filtering() {
        let f = LangFilter::parse("pt, en-GB,und").unwrap();
        let keeps = |s: &str| f.keeps(Lang::parse(s).unwrap());
        assert!(keeps("pt") && keeps("pt-BR") && keeps("en-GB") && keeps("und"));
        assert!(!keeps("en") && !keeps("en-US") && !keeps("ptx") && !keeps("es"));
        assert_eq!(f.to_string(), "pt,en-GB,und");
        assert!(LangFilter::parse("en,english").unwrap_err().contains("'english'"));
    }

    #[test]
    fn english_and_undetermined_posts_are_scored() {
        for (s, scored) in
            [("en", true), ("en-GB", true), ("und", true), ("es", false), ("ja", false), ("eng", false)]
        {
            assert_eq!(Lang::parse(s).unwrap().is_scored_in_english(), scored, "{s}");
        }
    }
}
