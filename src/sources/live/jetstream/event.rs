//! One Jetstream event, as the engine sees it: a new post becomes a tweet line
//! (`{"text": …, "created_at": <ms>, "lang": …}`); anything else is skipped with a reason.
//!
//! Jetstream (Bluesky's JSON firehose) sends one JSON object per WebSocket
//! text message: `{"did", "time_us", "kind", …}`. A post is a `commit` whose
//! `operation` is `create` and `collection` is `app.bsky.feed.post`, with the
//! post in `commit.record` (`text`, `createdAt`). Deletes, updates, likes,
//! follows, `identity` and `account` events come on the same socket.

use crate::tweet::date::parse_millis;
use serde::Deserialize;
use std::borrow::Cow;

/// The collection of posts (what `wantedCollections` asks for).
pub const POSTS: &str = "app.bsky.feed.post";

#[derive(Deserialize)]
struct Event<'a> {
    time_us: Option<i64>,
    #[serde(borrow)]
    did: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    commit: Option<Commit<'a>>,
}

#[derive(Deserialize)]
struct Commit<'a> {
    #[serde(borrow)]
    rev: Option<Cow<'a, str>>,
    #[serde(borrow)]
    rkey: Option<Cow<'a, str>>,
    #[serde(borrow)]
    operation: Option<Cow<'a, str>>,
    #[serde(borrow)]
    collection: Option<Cow<'a, str>>,
    #[serde(borrow)]
    record: Option<Record<'a>>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "createdAt")]
    created_at: Option<Cow<'a, str>>,
    /// The post's languages, as its author's client guessed them: the first
    /// is the post's.
    #[serde(borrow, default)]
    langs: First<'a>,
}

/// The first string of an array (`langs`), kept without collecting the
/// array; anything else is None.
#[derive(Default)]
struct First<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for First<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = First<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of language tags")
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(self, mut seq: S) -> Result<First<'a>, S::Error> {
                // The first element if it is a string; the rest skipped.
                let first = seq.next_element::<serde_json::Value>()?;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(First(first.and_then(|v| v.as_str().map(|s| Cow::Owned(s.to_owned())))))
            }
            fn visit_unit<E>(self) -> Result<First<'a>, E> {
                Ok(First(None))
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}

/// What an event is to the engine.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// A new post: its line was appended to the output.
    Post { time_us: i64, id: Identity },
    /// Not a post, with why (and its time and identity, where it has them:
    /// a skipped event is still one a reconnection replays).
    Skipped { time_us: Option<i64>, id: Option<Identity>, reason: &'static str },
}

/// What makes an event the one it is, whatever its `time_us`: its kind and
/// author, and for a commit the record (collection, rkey), the operation
/// and the revision; hashed (foldhash) with the process's random seed, so a
/// server cannot aim at a collision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Identity(pub u64);

fn identity(parts: &[&str]) -> Identity {
    use std::hash::{BuildHasher, Hasher};
    static SEED: std::sync::OnceLock<foldhash::quality::RandomState> = std::sync::OnceLock::new();
    let mut h = SEED.get_or_init(Default::default).build_hasher();
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0xFF);
    }
    Identity(h.finish())
}

/// Reads one event; a post's tweet line (with its `\n`) is appended to `out`.
/// The date is the post's own `createdAt`, or the event's time when that is
/// missing or unreadable.
pub fn decode(message: &str, out: &mut Vec<u8>) -> Decoded {
    let malformed = Decoded::Skipped { time_us: None, id: None, reason: "malformed" };
    let Ok(event) = serde_json::from_str::<Event<'_>>(message) else { return malformed };
    let Some(time_us) = event.time_us else { return malformed };
    let did = event.did.as_deref().unwrap_or_default();
    let kind = event.kind.as_deref().unwrap_or_default();
    let Some(commit) = event.commit.filter(|_| kind == "commit") else {
        // Identity and account events: one per author and time.
        let id = Some(identity(&[kind, did, &time_us.to_string()]));
        let reason = match kind {
            "identity" => "identity",
            "account" => "account",
            "commit" => "malformed",
            _ => "unknown kind",
        };
        return Decoded::Skipped { time_us: Some(time_us), id, reason };
    };
    let collection = commit.collection.as_deref().unwrap_or_default();
    let operation = commit.operation.as_deref().unwrap_or_default();
    let id = identity(&[
        kind,
        did,
        collection,
        commit.rkey.as_deref().unwrap_or_default(),
        operation,
        commit.rev.as_deref().unwrap_or_default(),
    ]);
    let skip = |reason| Decoded::Skipped { time_us: Some(time_us), id: Some(id), reason };
    if collection != POSTS {
        return skip("other collection");
    }
    match operation {
        "create" => {}
        "delete" => return skip("delete"),
        "update" => return skip("update"),
        _ => return skip("malformed"),
    }
    let Some(record) = commit.record else { return skip("malformed") };
    let Some(text) = record.text else { return skip("no text") };
    let created = record.created_at.as_deref().and_then(parse_millis).unwrap_or(time_us.div_euclid(1000));
    super::super::post::line(out, &text, Some(created), record.langs.0.as_deref());
    Decoded::Post { time_us, id }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(message: &str) -> (Decoded, String) {
        let mut out = Vec::new();
        let d = decode(message, &mut out);
        (d, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_new_post_becomes_a_tweet_line_dated_by_its_creation() {
        let (d, out) = line(
            r##"{"did":"did:plc:x","time_us":1725911162329308,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"k","record":{"$type":"app.bsky.feed.post","createdAt":"2024-09-09T19:46:02.102Z","langs":["en"],"text":"Hello \"#world\" \u00e9"},"cid":"c"}}"##,
        );
        assert!(matches!(d, Decoded::Post { time_us: 1725911162329308, .. }));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["text"], "Hello \"#world\" é");
        // 2024-09-09T19:46:02.102Z, computed by hand: 19975 days and 71162.102 s.
        assert_eq!(v["created_at"], 19975 * 86_400_000i64 + 71_162_102);
        assert!(out.ends_with('\n'));
    }

    #[test]
    fn an_unreadable_creation_time_falls_back_to_the_event_time() {
        for record in [r#"{"text":"a","createdAt":"yesterday"}"#, r#"{"text":"a"}"#] {
            let msg = format!(
                r#"{{"time_us":1725911162329308,"kind":"commit","commit":{{"operation":"create","collection":"app.bsky.feed.post","record":{record}}}}}"#
            );
            let (_, out) = line(&msg);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["created_at"], 1725911162329i64, "{record}");
        }
    }

    #[test]
    fn everything_else_is_skipped_with_its_reason() {
        let cases = [
            (r#"{"time_us":5,"kind":"identity","identity":{}}"#, Some(5), "identity"),
            (r#"{"time_us":5,"kind":"account","account":{}}"#, Some(5), "account"),
            (
                r#"{"time_us":5,"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post"}}"#,
                Some(5),
                "delete",
            ),
            (
                r#"{"time_us":5,"kind":"commit","commit":{"operation":"update","collection":"app.bsky.feed.post","record":{"text":"x"}}}"#,
                Some(5),
                "update",
            ),
            (
                r#"{"time_us":5,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like","record":{}}}"#,
                Some(5),
                "other collection",
            ),
            (
                r#"{"time_us":5,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","record":{}}}"#,
                Some(5),
                "no text",
            ),
            (r#"{"time_us":5,"kind":"future"}"#, Some(5), "unknown kind"),
            (r#"{"kind":"commit"}"#, None, "malformed"),
            (r#"{"time_us":5,"kind":"commit"}"#, Some(5), "malformed"),
            (r#"{"time_us":"soon"}"#, None, "malformed"),
            ("not json", None, "malformed"),
        ];
        for (msg, time_us, reason) in cases {
            let (d, out) = line(msg);
            let Decoded::Skipped { time_us: t, reason: r, .. } = d else { panic!("{msg}: {d:?}") };
            assert_eq!((t, r), (time_us, reason), "{msg}");
            assert!(out.is_empty());
        }
    }

    #[test]
    fn events_are_told_apart_by_what_they_are_not_by_their_time() {
        let post = |did: &str, rkey: &str, op: &str, time_us: i64| {
            let msg = format!(
                r#"{{"did":"{did}","time_us":{time_us},"kind":"commit","commit":{{"rev":"r1","operation":"{op}","collection":"app.bsky.feed.post","rkey":"{rkey}","record":{{"text":"x"}}}}}}"#
            );
            match line(&msg).0 {
                Decoded::Post { id, .. } | Decoded::Skipped { id: Some(id), .. } => id,
                other => panic!("{other:?}"),
            }
        };
        let a = post("did:a", "k1", "create", 5);
        // The same post at another time is the same event (a replay).
        assert_eq!(a, post("did:a", "k1", "create", 9));
        // Another author, record or operation is another event, at any time.
        assert_ne!(a, post("did:b", "k1", "create", 5));
        assert_ne!(a, post("did:a", "k2", "create", 5));
        assert_ne!(a, post("did:a", "k1", "delete", 5));
    }
}
