//! Which posts are kept: `--track` (phrases, as the streaming API's `track`)
//! and `--lang` (languages). One rule for everything that selects posts: the
//! engine (`stream`), `live`, `replay` and `produce`.

use super::track::Track;
use crate::tweet::lang::LangFilter;
use crate::tweet::{self, InputFormat, Tweet};
use std::sync::Arc;

/// The filters a command was given; none keeps every post.
#[derive(Clone, Debug, Default)]
pub struct Select {
    pub track: Option<Arc<Track>>,
    pub lang: Option<Arc<LangFilter>>,
}

impl Select {
    /// Whether every post is kept.
    #[inline]
    pub fn keeps_all(&self) -> bool {
        self.track.is_none() && self.lang.is_none()
    }

    /// Whether `tweet` is kept (`lowered`: scratch for the phrase match).
    /// The language is looked at first: it costs next to nothing; with no
    /// filter, nothing is looked at. Inlined: it runs for every post, and
    /// as a call it cost more than the look (44 instructions a post).
    #[inline]
    pub fn keeps(&self, tweet: &Tweet<'_>, lowered: &mut String) -> bool {
        self.lang.as_ref().is_none_or(|l| l.keeps(tweet.lang))
            && self.track.as_ref().is_none_or(|t| t.matches(tweet.text, lowered))
    }

    /// Whether a line is kept: a tweet line that [`Select::keeps`] (a line
    /// that is no tweet is not). `text`: scratch for its unescaped text.
    pub fn keeps_line(&self, line: &[u8], text: &mut String, lowered: &mut String) -> bool {
        if self.keeps_all() {
            return true;
        }
        tweet::decode(line, InputFormat::Json, text).is_ok_and(|t| self.keeps(&t, lowered))
    }

    /// The flags that leave posts out, for a summary: "--track", "--lang",
    /// "--track and --lang" (None: no filter).
    pub fn flags(&self) -> Option<&'static str> {
        match (self.track.is_some(), self.lang.is_some()) {
            (false, false) => None,
            (true, false) => Some("--track"),
            (false, true) => Some("--lang"),
            (true, true) => Some("--track and --lang"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_is_kept_when_every_filter_keeps_it() {
        let select = Select {
            track: Some(Arc::new(Track::parse("spark").unwrap())),
            lang: Some(Arc::new(LangFilter::parse("es,und").unwrap())),
        };
        let (mut text, mut lowered) = (String::new(), String::new());
        let mut keeps = |line: &str| select.keeps_line(line.as_bytes(), &mut text, &mut lowered);
        assert!(keeps(r#"{"text":"hola #Spark","lang":"es"}"#));
        assert!(keeps(r#"{"text":"Spark!"}"#), "no language is und");
        assert!(!keeps(r#"{"text":"hello spark","lang":"en"}"#));
        assert!(!keeps(r#"{"text":"hola","lang":"es"}"#));
        assert!(!keeps("not a tweet"));
        assert_eq!(select.flags(), Some("--track and --lang"));
        assert!(Select::default().keeps_all() && Select::default().flags().is_none());
    }
}
