//! Mastodon's streaming API as a source (`stream --mastodon URL`): the
//! public timeline of an instance (or its local part, or one hashtag), live.
//!
//! The API is Server-Sent Events over one long GET
//! (`/api/v1/streaming/public`, `public/local`, `hashtag?tag=NAME`): blocks
//! of `event:` and `data:` lines ended by a blank line, and `:` comment
//! lines as heartbeats. An `update` event's data is a Status whose `content`
//! is HTML ([`html`] turns it into text); `delete` and `status.update`
//! (an edit) come on the same stream. A token (`MASTODON_TOKEN`) is sent
//! when set; an instance that requires one answers 401 without it.
//! Mastodon cannot replay: a reconnection's gap is counted
//! ([`super::http_feed`]).

pub mod html;

use super::http_feed::{Provider, Seen};
use super::http_stream::Line;
use crate::secret::{Secret, SecretUrl};
use serde::Deserialize;
use std::borrow::Cow;

/// The variable the token is read from.
pub const TOKEN_VARIABLE: &str = "MASTODON_TOKEN";

/// Which timeline to follow (`--mastodon-stream`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timeline {
    /// Every public status the instance knows (`public`).
    Public,
    /// The instance's own public statuses (`local`).
    Local,
    /// Public statuses with one hashtag (`hashtag:NAME`).
    Hashtag(String),
}

impl std::str::FromStr for Timeline {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "public" => Ok(Timeline::Public),
            "local" => Ok(Timeline::Local),
            _ => match s.strip_prefix("hashtag:").map(|t| t.trim_start_matches('#')) {
                Some(tag) if !tag.is_empty() && tag.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                    Ok(Timeline::Hashtag(tag.to_owned()))
                }
                _ => Err(format!("{s:?} is not a timeline: use public, local or hashtag:NAME")),
            },
        }
    }
}

impl std::fmt::Display for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Timeline::Public => f.write_str("public"),
            Timeline::Local => f.write_str("local"),
            Timeline::Hashtag(t) => write!(f, "hashtag:{t}"),
        }
    }
}

/// The streaming URL of `timeline` on the instance at `base` (a URL that
/// already names a streaming endpoint is used as it is).
pub fn stream_url(base: &str, timeline: &Timeline) -> String {
    if base.contains("/api/v1/streaming") {
        return base.to_owned();
    }
    let base = base.trim_end_matches('/');
    match timeline {
        Timeline::Public => format!("{base}/api/v1/streaming/public"),
        Timeline::Local => format!("{base}/api/v1/streaming/public/local"),
        // A tag is letters, digits and `_` (checked when parsed): nothing to escape.
        Timeline::Hashtag(tag) => format!("{base}/api/v1/streaming/hashtag?tag={tag}"),
    }
}

/// The source's side of the streaming API.
pub struct Mastodon {
    request: SecretUrl,
    token: Option<Secret>,
    /// The event being read: its name and data so far.
    event: Option<String>,
    data: Vec<u8>,
    /// Its data went over the bound: it is skipped when it ends.
    oversized: bool,
    max_data: usize,
}

impl Mastodon {
    pub fn new(
        base: &SecretUrl,
        timeline: &Timeline,
        token: Option<Secret>,
        max_line_bytes: usize,
    ) -> Mastodon {
        Mastodon {
            request: base.rewritten(|b| stream_url(b, timeline)),
            token,
            event: None,
            data: Vec::new(),
            oversized: false,
            max_data: max_line_bytes,
        }
    }

    /// An event ended (a blank line): what it was.
    fn dispatch(&mut self, out: &mut Vec<u8>) -> Seen {
        let event = self.event.take();
        let data = std::mem::take(&mut self.data);
        if std::mem::take(&mut self.oversized) {
            return Seen::Skipped("oversized");
        }
        match event.as_deref() {
            None if data.is_empty() => Seen::Nothing,
            Some("update") => status(&data, out),
            Some("delete") => Seen::Skipped("delete"),
            Some("status.update") => Seen::Skipped("edit"),
            _ => Seen::Skipped("other event"),
        }
    }
}

/// The source's name: the instance and the timeline.
pub fn name(base: &SecretUrl, timeline: &Timeline) -> String {
    format!("mastodon {base} {timeline}")
}

impl Provider for Mastodon {
    fn request(&self) -> &SecretUrl {
        &self.request
    }

    fn accept(&self) -> &'static str {
        "text/event-stream"
    }

    fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    fn token_variable(&self) -> &'static str {
        TOKEN_VARIABLE
    }

    fn restart(&mut self) {
        self.event = None;
        self.data.clear();
        self.oversized = false;
    }

    fn line(&mut self, line: Line<'_>, out: &mut Vec<u8>) -> Seen {
        let Line::Text(line) = line else {
            // Counted once, when its event ends.
            self.oversized = true;
            self.data.clear();
            return Seen::Nothing;
        };
        crate::cost::add(line.len());
        if line.is_empty() {
            return self.dispatch(out);
        }
        if line[0] == b':' {
            return Seen::Nothing; // a heartbeat
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => (&line[..i], line[i + 1..].strip_prefix(b" ").unwrap_or(&line[i + 1..])),
            None => (line, &b""[..]),
        };
        match field {
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            b"data" => {
                if self.data.len() + value.len() + 1 > self.max_data {
                    self.oversized = true;
                    self.data.clear();
                } else if !self.oversized {
                    if !self.data.is_empty() {
                        self.data.push(b'\n');
                    }
                    self.data.extend_from_slice(value);
                }
            }
            _ => {} // id, retry and unknown fields
        }
        Seen::Nothing
    }
}

#[derive(Deserialize)]
struct Status<'a> {
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created_at: Option<Cow<'a, str>>,
    reblog: Option<serde::de::IgnoredAny>,
    #[serde(borrow)]
    language: Option<Cow<'a, str>>,
}

/// An `update` event's Status: a post, unless it is a boost of another.
fn status(data: &[u8], out: &mut Vec<u8>) -> Seen {
    let Ok(status) = serde_json::from_slice::<Status<'_>>(data) else { return Seen::Skipped("malformed") };
    if status.reblog.is_some() {
        return Seen::Skipped("reblog");
    }
    let Some(content) = status.content else { return Seen::Skipped("no text") };
    let created = status.created_at.as_deref().and_then(crate::tweet::date::parse_millis);
    super::post::line(out, &html::text(&content), created, status.language.as_deref());
    Seen::Post
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(m: &mut Mastodon, text: &str) -> (Vec<Seen>, String) {
        let mut out = Vec::new();
        let seen = text
            .split('\n')
            .map(|l| m.line(Line::Text(l.as_bytes()), &mut out))
            .filter(|s| *s != Seen::Nothing)
            .collect();
        (seen, String::from_utf8(out).unwrap())
    }

    #[test]
    fn timelines_and_their_urls() {
        let t = |s: &str| s.parse::<Timeline>();
        assert_eq!(t("public"), Ok(Timeline::Public));
        assert_eq!(t("hashtag:#Spark_2"), Ok(Timeline::Hashtag("Spark_2".into())));
        assert!(t("hashtag:").is_err() && t("hashtag:a&b").is_err() && t("home").is_err());
        assert_eq!(
            stream_url("https://m.social/", &Timeline::Local),
            "https://m.social/api/v1/streaming/public/local"
        );
        assert_eq!(
            stream_url("https://m.social", &Timeline::Hashtag("rust".into())),
            "https://m.social/api/v1/streaming/hashtag?tag=rust"
        );
        assert_eq!(
            stream_url("http://h/api/v1/streaming/user", &Timeline::Public),
            "http://h/api/v1/streaming/user"
        );
    }

    #[test]
    fn events_become_posts_or_counted_skips() {
        let mut m = Mastodon::new(&SecretUrl::new("http://h"), &Timeline::Public, None, 1000);
        let (seen, out) = feed(
            &mut m,
            concat!(
                ":)\n",
                "event: update\n",
                r#"data: {"id":"1","created_at":"2024-09-09T19:46:02.102Z","content":"<p>Hi <a class=\"mention hashtag\">#<span>rust</span></a> &amp; you</p>","reblog":null}"#,
                "\n\n",
                ":thump\n\n",
                "event: delete\ndata: 1\n\n",
                "event: status.update\ndata: {}\n\n",
                "event: update\n",
                r#"data: {"content":"<p>boost</p>","reblog":{"content":"x"}}"#,
                "\n\n",
                "event: update\ndata: {not json\n\n",
                "event: notification\ndata: {}\n\n",
                "event: update\n",
                r#"data: {"content":"<p>no date</p>"}"#,
                "\n\n",
            ),
        );
        assert_eq!(
            seen,
            [
                Seen::Post,
                Seen::Skipped("delete"),
                Seen::Skipped("edit"),
                Seen::Skipped("reblog"),
                Seen::Skipped("malformed"),
                Seen::Skipped("other event"),
                Seen::Post
            ]
        );
        let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["text"], "Hi #rust & you");
        assert_eq!(lines[0]["created_at"], 19975 * 86_400_000i64 + 71_162_102);
        assert_eq!(lines[1]["text"], "no date");
        // Dated when received.
        let now = crate::time::now_millis();
        assert!((lines[1]["created_at"].as_i64().unwrap() - now).abs() < 60_000);
    }

    #[test]
    fn the_work_of_the_events_is_linear_in_the_stream() {
        let hostile: [(&str, &dyn Fn(usize) -> String); 4] = [
            ("one event of many data lines", &|n| format!("event: update\n{}\n", "data: xx\n".repeat(n / 9))),
            ("heartbeats", &|n| ":\n".repeat(n / 2)),
            ("colons", &|n| format!("data{}\n\n", ":".repeat(n))),
            ("empty events", &|n| "event: update\n\n".repeat(n / 15)),
        ];
        for (what, make) in hostile {
            crate::cost::assert_linear(
                what,
                100_000,
                8,
                |n| make(n).into_bytes(),
                |stream| {
                    let mut m = Mastodon::new(&SecretUrl::new("http://h"), &Timeline::Public, None, 1 << 20);
                    let mut out = Vec::new();
                    for line in stream.split(|b| *b == b'\n') {
                        m.line(Line::Text(line), &mut out);
                    }
                },
            );
        }
    }

    #[test]
    fn data_over_the_bound_is_skipped_and_the_next_event_read() {
        let mut m = Mastodon::new(&SecretUrl::new("http://h"), &Timeline::Public, None, 40);
        let long = format!("event: update\ndata: {{\"content\":\"{}\"}}\n\n", "x".repeat(50));
        let (seen, _) = feed(&mut m, &format!("{long}event: update\ndata: {{\"content\":\"ok\"}}\n\n"));
        assert_eq!(seen, [Seen::Skipped("oversized"), Seen::Post]);
        // A line over the bound (cut by the reader) is one skip, when its event ends.
        let mut out = Vec::new();
        let mut seen = vec![m.line(Line::Text(b"event: update"), &mut out), m.line(Line::TooLong, &mut out)];
        seen.push(m.line(Line::Text(b""), &mut out));
        seen.retain(|s| *s != Seen::Nothing);
        assert_eq!(seen, [Seen::Skipped("oversized")]);
    }
}
