//! Languages: each post keeps the language its source gives (Jetstream's
//! `record.langs[0]`, Mastodon's `language`), `und` where it gives none or
//! one that is no tag. Against the local Jetstream and Mastodon servers of
//! `jetstream::` and `http_feeds::` (which follow each service's documented
//! protocol), with posts in several languages and some with none:
//!
//! - `languages` counts every post, whatever `--lang` keeps;
//! - `tag_totals` counts the posts `--lang` keeps (all without it);
//! - `sentiment_by_day` sums the kept posts in English (any region) or
//!   `und` only: the models are English.
//!
//! The truth is computed here from the generated posts, with the tag rule
//! and the scorer of `common` (the scorer held to Python by the reference
//! tests), not from the engine's own rules.

use crate::common::*;
use crate::http_feeds::{Answer, End, Gen, TOKEN, pieces, serve};
use crate::jetstream::{Ending, Event, metric};
use std::collections::BTreeMap;

/// A generated post: its UTC day, its text, and the code the `languages`
/// table must count it under.
#[derive(Clone, Debug)]
struct Post {
    day: String,
    text: String,
    lang: &'static str,
}

/// What a source may say of a post's language, and the code it reads as.
/// None: the field is absent.
const JETSTREAM_LANGS: [(Option<&str>, &str); 9] = [
    (Some(r#"["en"]"#), "en"),
    (Some(r#"["en-gb"]"#), "en-GB"),
    (Some(r#"["es"]"#), "es"),
    (Some(r#"["ES", "en"]"#), "es"),
    (Some(r#"["ja"]"#), "ja"),
    (Some(r#"["pt-BR"]"#), "pt-BR"),
    (Some("[]"), "und"),
    (Some(r#"["not a tag!"]"#), "und"),
    (None, "und"),
];

const MASTODON_LANGS: [(Option<&str>, &str); 7] = [
    (Some(r#""en""#), "en"),
    (Some(r#""es""#), "es"),
    (Some(r#""ja""#), "ja"),
    (Some(r#""pt""#), "pt"),
    (Some("null"), "und"),
    (Some(r#""""#), "und"),
    (None, "und"),
];

const WORDS: [&str; 12] =
    ["#spark", "#Rust", "#bluesky", "good", "bad", "great", "awful", "love", "the", "day", "not", "bueno"];

fn text(g: &mut Gen) -> String {
    let words: Vec<&str> = (0..1 + g.next(6)).map(|_| WORDS[g.next(WORDS.len() as u64) as usize]).collect();
    words.join(" ")
}

/// `n` Jetstream post events (and a like now and then), 10 ms apart.
fn jetstream_posts(n: usize, seed: u64) -> (Vec<Event>, Vec<Post>) {
    let mut g = Gen(seed);
    let (mut events, mut posts) = (Vec::new(), Vec::new());
    for i in 0..n {
        let time_us = 1_725_000_000_000_000 + i as i64 * 10_000;
        if g.next(8) == 0 {
            let json = format!(
                r#"{{"did":"did:plc:u{i}","time_us":{time_us},"kind":"commit","commit":{{"rev":"r{i}","operation":"create","collection":"app.bsky.feed.like","rkey":"k{i}","record":{{}}}}}}"#
            );
            events.push(Event { time_us, json, post: None });
            continue;
        }
        let (langs, lang) = JETSTREAM_LANGS[g.next(JETSTREAM_LANGS.len() as u64) as usize];
        let (text, day) = (text(&mut g), g.day());
        let langs = langs.map(|l| format!(r#","langs":{l}"#)).unwrap_or_default();
        let json = format!(
            r#"{{"did":"did:plc:u{i}","time_us":{time_us},"kind":"commit","commit":{{"rev":"r{i}","operation":"create","collection":"app.bsky.feed.post","rkey":"k{i}","record":{{"$type":"app.bsky.feed.post","createdAt":"{day}T10:00:00.000Z"{langs},"text":{}}},"cid":"c{i}"}}}}"#,
            serde_json::to_string(&text).unwrap()
        );
        events.push(Event { time_us, json, post: Some((day.clone(), text.clone())) });
        posts.push(Post { day, text, lang });
    }
    (events, posts)
}

/// `n` Mastodon `update` events (and a heartbeat now and then).
fn mastodon_posts(n: usize, seed: u64) -> (Vec<String>, Vec<Post>) {
    let mut g = Gen(seed);
    let (mut events, mut posts) = (Vec::new(), Vec::new());
    for id in 0..n {
        if g.next(8) == 0 {
            events.push(":thump\n".to_owned());
        }
        let (language, lang) = MASTODON_LANGS[g.next(MASTODON_LANGS.len() as u64) as usize];
        let (text, day) = (text(&mut g), g.day());
        let language = language.map(|l| format!(r#","language":{l}"#)).unwrap_or_default();
        let content = serde_json::to_string(&format!("<p>{text}</p>")).unwrap();
        events.push(format!(
            "event: update\ndata: {{\"id\":\"{id}\",\"created_at\":\"{day}T10:00:00.000Z\",\"content\":{content}{language},\"reblog\":null}}\n\n"
        ));
        posts.push(Post { day, text, lang });
    }
    (events, posts)
}

/// What a run must end with: tag totals over the kept posts, sentiment per
/// day over the kept posts in English or `und`, posts per language over
/// all, and how many posts were kept.
struct Truth {
    tags: BTreeMap<String, u64>,
    days: BTreeMap<String, (f64, u64)>,
    langs: BTreeMap<String, u64>,
    kept: u64,
}

fn truth(posts: &[Post], kept: &[&str]) -> Truth {
    // `--lang` as RFC 4647 basic filtering: the code, or the code then '-'.
    let keeps = |p: &Post| {
        kept.is_empty() || kept.iter().any(|k| p.lang == *k || p.lang.starts_with(&format!("{k}-")))
    };
    let english = |p: &Post| p.lang == "und" || p.lang == "en" || p.lang.starts_with("en-");
    let mut tags = BTreeMap::<String, u64>::new();
    let mut langs = BTreeMap::<String, u64>::new();
    for p in posts {
        *langs.entry(p.lang.to_owned()).or_default() += 1;
    }
    let kept_posts: Vec<&Post> = posts.iter().filter(|p| keeps(p)).collect();
    for p in &kept_posts {
        for t in twitter_tags(&p.text) {
            *tags.entry(t).or_default() += 1;
        }
    }
    let scored = kept_posts.iter().filter(|p| english(p)).map(|p| (p.day.clone(), p.text.clone()));
    Truth { tags, days: per_day(scored), langs, kept: kept_posts.len() as u64 }
}

/// Runs an engine on `source` with `extra` flags until its source has taken
/// every post, and checks its final tables against the truth for `kept`.
fn check_run(source: &[&str], extra: &[&str], metric_source: &str, posts: &[Post], kept: &[&str]) {
    let want = truth(posts, kept);
    let mut flags = source.to_vec();
    flags.extend_from_slice(extra);
    let (mut engine, http) = crate::http_feeds::engine(&flags, &[("MASTODON_TOKEN", TOKEN)]);
    poll_until("every post taken", || {
        let series = format!("tweetstream_live_posts_total{{source=\"{metric_source}\"}}");
        (metric(&http, &series) >= posts.len() as u64).then_some(())
    });
    engine.tick();
    let tables = engine.finish();
    let what = format!("{extra:?}");
    assert_eq!(table_counts(&tables["languages"]), want.langs, "languages, {what}");
    assert_eq!(table_counts(&tables["tag_totals"]), want.tags, "tag_totals, {what}");
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want.days, "sentiment_by_day, {what}");
    let batches = rows(&tables["batches"]);
    let sum = |column: usize| batches.iter().map(|r| r[column].as_u64().unwrap()).sum::<u64>();
    // records (1) less filtered (6): the posts kept.
    assert_eq!((sum(1), sum(1) - sum(6)), (posts.len() as u64, want.kept), "batches, {what}");
}

/// Every run's truth differs from the others' (the test could not pass
/// with a filter that did nothing, or one that kept nothing).
fn assert_runs_differ(posts: &[Post]) {
    let (all, es, en) = (truth(posts, &[]), truth(posts, &["es"]), truth(posts, &["en", "und"]));
    assert!(all.kept > en.kept && en.kept > es.kept && es.kept > 0);
    assert!(es.days.is_empty() && !en.days.is_empty());
    assert_eq!(all.days, en.days, "only English and und posts are scored, kept or not");
    assert!(all.langs.len() >= 5, "{:?}", all.langs);
}

#[test]
fn jetstream_posts_are_counted_by_language_and_only_english_ones_scored() {
    let (events, posts) = jetstream_posts(600, 46);
    assert_runs_differ(&posts);
    for (extra, kept) in
        [(vec![], vec![]), (vec!["--lang", "es"], vec!["es"]), (vec!["--lang", "en,und"], vec!["en", "und"])]
    {
        let server = crate::jetstream::serve(
            events
                .iter()
                .map(|e| Event { time_us: e.time_us, json: e.json.clone(), post: e.post.clone() })
                .collect(),
            vec![(events.len(), Ending::Open)],
        );
        let url = format!("ws://{}/subscribe", server.addr);
        check_run(&["--jetstream", &url], &extra, &format!("jetstream {url}"), &posts, &kept);
    }
}

#[test]
fn mastodon_posts_are_counted_by_language_and_only_english_ones_scored() {
    let (events, posts) = mastodon_posts(500, 47);
    assert_runs_differ(&posts);
    for (extra, kept) in
        [(vec![], vec![]), (vec!["--lang", "es"], vec!["es"]), (vec!["--lang", "en,und"], vec!["en", "und"])]
    {
        let server =
            serve(vec![Answer::ok("text/event-stream", pieces(&events), End::KeepAlive(":thump\n"))]);
        let url = format!("http://{}", server.addr);
        check_run(&["--mastodon", &url], &extra, &format!("mastodon {url} public"), &posts, &kept);
    }
}

/// `live` writes each post's language, and `--lang` there keeps only the
/// posts in it (a post with another, or none, is left out).
#[test]
fn live_writes_the_language_and_keeps_only_the_languages_asked_for() {
    let (events, posts) = jetstream_posts(300, 48);
    let n_events = events.len();
    let server = crate::jetstream::serve(events, vec![(n_events, Ending::Open)]);
    let url = format!("ws://{}/subscribe", server.addr);
    let want: Vec<(String, &str)> =
        posts.iter().filter(|p| p.lang.starts_with("pt")).map(|p| (p.text.clone(), p.lang)).collect();
    assert!(want.len() >= 10, "enough posts in Portuguese");
    let n = want.len().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["live", "--jetstream", &url, "--lang", "pt", "--limit", &n])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got: Vec<(String, String)> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["text"].as_str().unwrap().to_owned(), v["lang"].as_str().unwrap().to_owned())
        })
        .collect();
    let want: Vec<(String, String)> = want.into_iter().map(|(t, l)| (t, l.to_owned())).collect();
    assert_eq!(got, want);
    assert!(stderr.contains("left out by --lang"), "{stderr}");
}

/// `produce --jetstream` keeps each post's language in its message, so an
/// engine on the other side of the Kafka topic (the stand-in broker)
/// applies the same rules: `languages` per code, sentiment for English and
/// `und` only.
#[test]
fn produced_messages_keep_the_language_for_the_engine_on_kafka() {
    let (events, posts) = jetstream_posts(400, 49);
    let want = truth(&posts, &[]);
    let n_events = events.len();
    let server = crate::jetstream::serve(events, vec![(n_events, Ending::Open)]);
    let url = format!("ws://{}/subscribe", server.addr);
    let (brokers, topic) = (brokers(), unique("languages_produce"));
    let n = posts.len().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["produce", "--jetstream", &url, "--limit", &n, "--brokers", &brokers, "--topic", &topic])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains(&format!("{n} delivered")), "{stderr}");
    let group = unique("languages_produce_group");
    let stream = format!(
        "stream --kafka {brokers} --topic {topic} --group {group} --from earliest --batch 200ms \
         --stop-after-records {n} --print-every never --top 0 --format json"
    );
    let tables = Proc::spawn(&words(&stream)).final_tables();
    assert_eq!(table_counts(&tables["languages"]), want.langs);
    assert_eq!(table_counts(&tables["tag_totals"]), want.tags);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want.days);
}
