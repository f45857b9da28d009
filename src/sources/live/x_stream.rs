//! X's API v2 filtered stream as a source (`stream --x-stream [URL]`): the
//! posts matching the rules set on the app, live, with the app's bearer
//! token (`X_BEARER_TOKEN`).
//!
//! One long `GET /2/tweets/search/stream` over HTTP/1.1: one JSON object
//! per `\r\n`-ended line, and blank lines as keep-alives (about every 20
//! s). A post is `{"data": {"text", "created_at", …}, "matching_rules":
//! […]}`; a post over 280 characters has its whole text in
//! `data.note_tweet.text` (asked for with `tweet.fields`), and that is the
//! text taken, never the cut `data.text`. An object with only `errors`
//! (such as `operational-disconnect`) is the server explaining itself,
//! usually before it closes: logged and counted. The stream cannot replay:
//! a reconnection's gap is counted ([`super::http_feed`]). Rules are set
//! with X's own API or tools, not here.

use super::http_feed::{Provider, Seen};
use super::http_stream::Line;
use crate::secret::{Secret, SecretUrl};
use serde::Deserialize;
use std::borrow::Cow;

/// The API's address (`--x-stream` without a URL).
pub const PUBLIC: &str = "https://api.x.com";

/// The variable the app's bearer token is read from.
pub const TOKEN_VARIABLE: &str = "X_BEARER_TOKEN";

const STREAM_PATH: &str = "/2/tweets/search/stream";

/// The request: the stream endpoint at `base`, asking for the fields the
/// tweet record needs.
pub fn stream_url(base: &str) -> String {
    let (path, query) = base.split_once('?').unwrap_or((base, ""));
    let path = path.trim_end_matches('/');
    let path = if path.ends_with(STREAM_PATH) { path.to_owned() } else { format!("{path}{STREAM_PATH}") };
    let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    if !params.iter().any(|p| p.starts_with("tweet.fields=")) {
        params.push("tweet.fields=created_at,note_tweet,lang");
    }
    format!("{path}?{}", params.join("&"))
}

/// The source's side of the filtered stream.
pub struct XStream {
    request: SecretUrl,
    token: Secret,
}

impl XStream {
    pub fn new(base: &SecretUrl, token: Secret) -> XStream {
        XStream { request: base.rewritten(stream_url), token }
    }
}

/// The source's name.
pub fn name(base: &SecretUrl) -> String {
    format!("x {base}")
}

impl Provider for XStream {
    fn request(&self) -> &SecretUrl {
        &self.request
    }

    fn accept(&self) -> &'static str {
        "application/json"
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }

    fn token_variable(&self) -> &'static str {
        TOKEN_VARIABLE
    }

    fn restart(&mut self) {}

    fn line(&mut self, line: Line<'_>, out: &mut Vec<u8>) -> Seen {
        let Line::Text(line) = line else { return Seen::Skipped("oversized") };
        if line.iter().all(u8::is_ascii_whitespace) {
            return Seen::Nothing; // a keep-alive
        }
        match decode(line, out) {
            Decoded::Post => Seen::Post,
            Decoded::Error(why) => Seen::Said(why),
            Decoded::Skipped(reason) => Seen::Skipped(reason),
        }
    }
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    data: Option<Data<'a>>,
    errors: Option<Vec<ErrorObject>>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    note_tweet: Option<Note<'a>>,
    #[serde(borrow)]
    lang: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Note<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ErrorObject {
    title: Option<String>,
    detail: Option<String>,
}

/// What a line of the stream was.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// A post: its tweet line was appended.
    Post,
    /// The server's error object, summed up.
    Error(String),
    Skipped(&'static str),
}

/// Reads one line of the stream.
pub fn decode(line: &[u8], out: &mut Vec<u8>) -> Decoded {
    let Ok(message) = serde_json::from_slice::<Message<'_>>(line) else {
        return Decoded::Skipped("malformed");
    };
    match (message.data, message.errors) {
        (Some(data), _) => {
            let text = data.note_tweet.and_then(|n| n.text).or(data.text);
            let Some(text) = text else { return Decoded::Skipped("no text") };
            let created = data.created_at.as_deref().and_then(crate::tweet::date::parse_millis);
            super::post::line(out, &text, created, data.lang.as_deref());
            Decoded::Post
        }
        (None, Some(errors)) => {
            let why: Vec<String> = errors
                .iter()
                .map(|e| {
                    let title = e.title.as_deref().unwrap_or("error");
                    match &e.detail {
                        Some(d) => format!("{title}: {d}"),
                        None => title.to_owned(),
                    }
                })
                .collect();
            Decoded::Error(why.join("; ").chars().take(300).collect())
        }
        (None, None) => Decoded::Skipped("unknown object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> (Decoded, Option<serde_json::Value>) {
        let mut out = Vec::new();
        let d = decode(s.as_bytes(), &mut out);
        (d, (!out.is_empty()).then(|| serde_json::from_slice(&out).unwrap()))
    }

    #[test]
    fn the_request_asks_for_the_stream_with_the_fields_needed() {
        assert_eq!(
            stream_url(PUBLIC),
            "https://api.x.com/2/tweets/search/stream?tweet.fields=created_at,note_tweet,lang"
        );
        assert_eq!(
            stream_url("http://127.0.0.1:9/2/tweets/search/stream?expansions=author_id"),
            "http://127.0.0.1:9/2/tweets/search/stream?expansions=author_id&tweet.fields=created_at,note_tweet,lang"
        );
    }

    #[test]
    fn a_post_takes_its_whole_text_and_its_own_date() {
        let (d, v) = line(
            r#"{"data":{"id":"1","text":"Hello #world","created_at":"2024-09-09T19:46:02.000Z","edit_history_tweet_ids":["1"]},"matching_rules":[{"id":"9","tag":"t"}]}"#,
        );
        assert_eq!(d, Decoded::Post);
        let v = v.unwrap();
        assert_eq!(v["text"], "Hello #world");
        assert_eq!(v["created_at"], 19975 * 86_400_000i64 + 71_162_000);
        let (_, v) = line(r#"{"data":{"text":"cut short…","note_tweet":{"text":"the whole post #long"}}}"#);
        assert_eq!(v.unwrap()["text"], "the whole post #long");
    }

    #[test]
    fn error_objects_and_the_rest_are_reported_not_counted_as_posts() {
        let (d, v) = line(
            r#"{"errors":[{"title":"operational-disconnect","disconnect_type":"UpstreamOperationalDisconnect","detail":"This stream has been disconnected upstream for operational reasons.","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}"#,
        );
        assert_eq!(
            d,
            Decoded::Error(
                "operational-disconnect: This stream has been disconnected upstream for operational reasons."
                    .into()
            )
        );
        assert!(v.is_none());
        assert_eq!(line("{oops").0, Decoded::Skipped("malformed"));
        assert_eq!(line(r#"{"data":{"id":"1"}}"#).0, Decoded::Skipped("no text"));
        assert_eq!(line(r#"{"meta":{}}"#).0, Decoded::Skipped("unknown object"));
    }
}
