//! The live sources against servers that misbehave, each a local server of
//! the test's own that follows the provider's documented protocol (the
//! build machines cannot reach Bluesky, X or Mastodon) and then does the one
//! thing a hostile or careless server does: posts that share a `time_us` or
//! go back in time, cut between two posts of one time; a connection
//! accepted and closed at once, again and again; a message over the bound;
//! an error object quoting the token; credentials in the URL; a status of
//! 900 KB of `&`; an event over `--max-line-bytes`; a Kafka topic deleted
//! of two. Every test ends on counts (polled with a deadline), never on
//! seconds of silence.

use crate::common::*;
use crate::http_feeds::{Answer, End, Gen, TOKEN, engine, everything_said, expected, pieces, serve};
use crate::jetstream::{Ending, Event, metric};

/// A Jetstream post event of author `u{k}`, at `time_us`, and the post it is.
fn post_event(k: usize, time_us: i64, g: &mut Gen) -> Event {
    let text = g.words().join(" ");
    let day = g.day();
    let json = format!(
        r#"{{"did":"did:plc:u{k}","time_us":{time_us},"kind":"commit","commit":{{"rev":"r{k}","operation":"create","collection":"app.bsky.feed.post","rkey":"k{k}","record":{{"$type":"app.bsky.feed.post","createdAt":"{day}T10:30:00.000Z","text":{}}},"cid":"c{k}"}}}}"#,
        serde_json::to_string(&text).unwrap()
    );
    Event { time_us, json, post: Some((day, text)) }
}

/// `n` posts, two per `time_us`, and every 200th followed by one that goes
/// 50 ms back in time.
fn shared_time_events(n: usize, g: &mut Gen) -> Vec<Event> {
    let mut events = Vec::new();
    for i in 0..n {
        let time_us = 1_725_000_000_000_000 + (i / 2) as i64 * 10_000;
        events.push(post_event(i, time_us, g));
        if i % 200 == 199 {
            events.push(post_event(n + i, time_us - 50_000, g));
        }
    }
    events
}

/// Finding 1: within a connection, a post whose `time_us` equals the
/// previous one's, or goes back, is counted; a reconnection cut between two
/// posts of one `time_us` loses neither and repeats nothing.
#[test]
fn jetstream_posts_that_share_a_time_or_go_back_are_each_counted_once() {
    let events = shared_time_events(2_000, &mut Gen(41));
    let posts: Vec<(String, String)> = events.iter().filter_map(|e| e.post.clone()).collect();
    assert_eq!(posts.len(), 2_010);
    let (want_tags, want_days) = expected(&posts);
    // The first connection ends after the first post of a pair.
    let cut = (1_000..)
        .find(|&c| events[c].time_us == events[c + 1].time_us && events[c - 1].time_us < events[c].time_us)
        .unwrap();
    let server = crate::jetstream::serve(events, vec![(cut + 1, Ending::Close), (2_010, Ending::Open)]);
    let url = format!("ws://{}/subscribe", server.addr);
    let (mut engine, http) = engine(&["--jetstream", &url], &[]);
    let source = format!("{{source=\"jetstream {url}\"}}");
    poll_until("every post taken", || {
        (metric(&http, &format!("tweetstream_live_posts_total{source}")) >= posts.len() as u64).then_some(())
    });
    // What the second connection replayed (from 3 s before the newest) was
    // skipped as replayed, not taken again.
    let replayed = metric(
        &http,
        &format!("tweetstream_live_skipped_total{{source=\"jetstream {url}\",reason=\"replayed\"}}"),
    );
    assert!(replayed > 0, "nothing was replayed: the test does not test the reconnection");
    engine.tick();
    let tables = engine.finish();
    assert_eq!(table_counts(&tables["tag_totals"]), want_tags);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want_days);
    assert_eq!(server.requests.lock().unwrap().len(), 2);
}

/// Finding 1, across a restart: posts seven to a `time_us`, the engine
/// killed (`-9`) while they come and restarted on its checkpoint (whose last
/// batch most likely ends inside a group of one time): its tables equal
/// those of an uninterrupted run.
#[test]
fn jetstream_restart_from_a_checkpoint_inside_one_time_loses_and_repeats_nothing() {
    let mut g = Gen(53);
    let base = 1_725_000_000_000_000i64;
    let events = (0..2_100).map(|i| post_event(i, base + (i / 7) as i64 * 10_000, &mut g)).collect();
    crate::jetstream::kill_9_then_restart(events);
}

/// The waits between connections, from the server's side.
fn gaps(times: &[std::time::Instant]) -> Vec<u128> {
    times.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect()
}

/// Finding 2: a server that accepts the WebSocket and closes it at once is
/// retried with a growing back-off (each wait at least half of 250 ms,
/// 500 ms, 1 s, 2 s, 4 s: jittered), not at once for ever.
#[test]
fn jetstream_accepted_and_closed_at_once_is_retried_with_a_growing_back_off() {
    let server = crate::jetstream::serve(Vec::new(), vec![(0, Ending::Close)]);
    let url = format!("ws://{}/subscribe", server.addr);
    let (mut engine, _http) = engine(&["--jetstream", &url], &[]);
    let times = poll_until("six connections", || {
        let seen = server.seen.lock().unwrap();
        (seen.len() >= 6).then(|| seen.iter().map(|(_, at)| *at).collect::<Vec<_>>())
    });
    let gaps = gaps(&times);
    for (k, gap) in gaps.iter().take(5).enumerate() {
        assert!(*gap >= 125 << k, "wait {k} was {gap} ms: {gaps:?}");
    }
    engine.terminate();
    engine.wait_exit();
}

/// The same for X (and Mastodon, which shares its connector): a 200 whose
/// body ends at once is no progress, so the waits grow (linearly, by 250 ms,
/// as X documents for network errors).
#[test]
fn x_answering_200_and_ending_at_once_is_retried_with_a_growing_back_off() {
    let answers = vec![Answer::ok("application/json", vec![], End::Finish); 6];
    let server = serve(answers);
    let url = format!("http://{}", server.addr);
    let (mut engine, _http) = engine(&["--x-stream", &url], &[("X_BEARER_TOKEN", TOKEN)]);
    let times = poll_until("six connections", || {
        let seen = server.requests.lock().unwrap();
        (seen.len() >= 6).then(|| seen.iter().map(|r| r.at).collect::<Vec<_>>())
    });
    let gaps: Vec<u128> = times.windows(2).map(|w| w[1].duration_since(w[0]).unwrap().as_millis()).collect();
    for (k, gap) in gaps.iter().enumerate() {
        assert!(*gap >= 125 * (k as u128 + 1), "wait {k} was {gap} ms: {gaps:?}");
    }
    engine.terminate();
    engine.wait_exit();
}

/// Finding 2: a message over 16 MiB is skipped, counted once, and the posts
/// after it are counted, on the same connection.
#[test]
fn jetstream_message_over_the_bound_is_skipped_once_and_the_rest_counted() {
    let mut g = Gen(43);
    let mut events: Vec<Event> =
        (0..10).map(|i| post_event(i, 1_725_000_000_000_000 + i as i64, &mut g)).collect();
    let mut huge = post_event(10, 1_725_000_000_000_010, &mut g);
    huge.json = huge.json.replace(r#""text":""#, &format!(r#""text":"{}"#, "#big ".repeat(17 << 18)));
    assert!(huge.json.len() > 17 << 20);
    huge.post = None;
    events.push(huge);
    events.extend((11..1_010).map(|i| post_event(i, 1_725_000_000_000_000 + i as i64, &mut g)));
    let posts: Vec<(String, String)> = events.iter().filter_map(|e| e.post.clone()).collect();
    let (want_tags, want_days) = expected(&posts);
    let n = events.len();
    let server = crate::jetstream::serve(events, vec![(n, Ending::Open)]);
    let url = format!("ws://{}/subscribe", server.addr);
    let (mut engine, http) = engine(&["--jetstream", &url, "--max-line-bytes", "33554432"], &[]);
    let source = format!("jetstream {url}");
    poll_until("every post but the huge one taken", || {
        (metric(&http, &format!("tweetstream_live_posts_total{{source=\"{source}\"}}")) >= 1_009)
            .then_some(())
    });
    let oversized = format!("tweetstream_live_skipped_total{{source=\"{source}\",reason=\"oversized\"}}");
    assert_eq!(metric(&http, &oversized), 1);
    assert_eq!(metric(&http, &format!("tweetstream_live_reconnects_total{{source=\"{source}\"}}")), 0);
    engine.tick();
    let tables = engine.finish();
    assert_eq!(table_counts(&tables["tag_totals"]), want_tags);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want_days);
    assert_eq!(server.requests.lock().unwrap().len(), 1);
}

/// Finding 3: an error object that quotes the bearer token is logged with
/// the token cut out.
#[test]
fn x_error_object_quoting_the_token_never_shows_it() {
    let (lines, posts) = crate::http_feeds::x_lines(50, 45);
    let error = serde_json::json!({"errors": [{"title": "invalid-request",
        "detail": format!("The header Authorization: Bearer {TOKEN} is not allowed for this rule set")}]});
    let mut body = vec![format!("{error}\r\n")];
    body.extend(pieces(&lines));
    let server = serve(vec![Answer::ok("application/json", body, End::KeepAlive("\r\n"))]);
    let url = format!("http://{}", server.addr);
    let (mut engine, http) = engine(&["--x-stream", &url], &[("X_BEARER_TOKEN", TOKEN)]);
    let source = format!("x {url}");
    poll_until("every post taken", || {
        let taken = metric(&http, &format!("tweetstream_live_posts_total{{source=\"{source}\"}}"));
        (taken >= posts.len() as u64).then_some(())
    });
    let said = engine.wait_stderr("the stream says");
    assert!(said.contains("is not allowed") && said.contains("***"), "{said}");
    let said = everything_said(&mut engine, &http);
    assert!(!said.contains(TOKEN), "the token was let out: {said}");
    engine.terminate();
    engine.wait_exit();
}

/// Finding 4: credentials in a live URL (`user:password@`, `access_token=`)
/// are used (HTTP Basic, the query as given) and shown nowhere: not in
/// stderr, `/metrics`, `/health`, nor in `tweetstream checkpoint`.
#[test]
fn credentials_in_a_live_url_are_used_and_never_shown() {
    let (password, access) = ("pa55-w0rd-91", "tok-3c1e7a77");
    // Mastodon, with a streaming URL that carries its token.
    let (events, posts) = crate::http_feeds::mastodon_events(30, 47);
    let server = serve(vec![Answer::ok("text/event-stream", pieces(&events), End::KeepAlive(":thump\n"))]);
    let url =
        format!("http://reader:{password}@{}/api/v1/streaming/public?access_token={access}", server.addr);
    // A Jetstream behind a proxy with credentials, with a checkpoint.
    let j = crate::jetstream::events(200, 48);
    let j_posts = j.iter().filter(|e| e.post.is_some()).count();
    let j_server = crate::jetstream::serve(j, vec![(200, Ending::Open)]);
    let j_url = format!("ws://reader:{password}@{}/subscribe?token={access}", j_server.addr);
    let path = std::env::temp_dir().join(unique("secret-checkpoint"));
    let checkpoint = path.to_str().unwrap();
    let (mut engine, http) =
        engine(&["--mastodon", &url, "--jetstream", &j_url, "--checkpoint", checkpoint], &[]);
    poll_until("every post taken", || {
        (crate::jetstream::posts_taken(&http) >= (posts.len() + j_posts) as u64).then_some(())
    });
    engine.tick();
    let mut said = everything_said(&mut engine, &http);
    let (_, health) = http_get(&http, "/health");
    let names: Vec<String> = health["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    let shown = |u: &str| u.replace(password, "***").replace(access, "***");
    assert!(names.contains(&format!("mastodon {} public", shown(&url))), "{names:?}");
    assert!(names.contains(&format!("jetstream {}", shown(&j_url))), "{names:?}");
    engine.finish();
    said += &engine.rest_of_stderr();
    let (status, out, err) = run_with_stdin(&["checkpoint", checkpoint], b"");
    assert!(status.success(), "{err}");
    assert!(out.contains("jetstream ws://reader:***@"), "{out}");
    said += &out;
    for secret in [password, access] {
        assert!(!said.contains(secret), "{secret} was let out:\n{said}");
    }
    // Used as curl uses them: the password as HTTP Basic, the query as given.
    let basic = format!("Basic {}", base64_of(&format!("reader:{password}")));
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests[0].target, format!("/api/v1/streaming/public?access_token={access}"));
    assert_eq!(requests[0].authorization.as_deref(), Some(basic.as_str()));
    let seen = j_server.seen.lock().unwrap().clone();
    assert_eq!(seen[0].0.as_deref(), Some(basic.as_str()));
    let _ = std::fs::remove_file(&path);
}

/// Standard base64 (RFC 4648), written here as the oracle of the header.
fn base64_of(s: &str) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = s.as_bytes();
    let mut out = String::new();
    for group in bytes.chunks(3) {
        let n = group.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= group.len() { ABC[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// Finding 5: statuses of 900 KB of `&` (no `;`) are read in linear time
/// (each took tens of seconds when the search for a `;` ran to the end of
/// the text for every `&`): the posts after them are counted, and each is
/// one post whose text is its `&`s.
#[test]
fn mastodon_statuses_of_900_kb_of_ampersands_do_not_stall_the_feed() {
    let (events, mut posts) = crate::http_feeds::mastodon_events(40, 49);
    let amps = "&".repeat(900_000);
    let mut all = Vec::new();
    for k in 0..4 {
        let status = serde_json::json!({"id": format!("a{k}"), "created_at": "2024-11-02T10:00:00.000Z",
            "content": amps, "reblog": null});
        all.push(format!("event: update\ndata: {status}\n\n"));
        posts.insert(0, ("2024-11-02".to_owned(), amps.clone()));
    }
    all.extend(events);
    let (want_tags, want_days) = expected(&posts);
    let server = serve(vec![Answer::ok("text/event-stream", pieces(&all), End::KeepAlive(":thump\n"))]);
    let url = format!("http://{}", server.addr);
    let (mut engine, http) = engine(&["--mastodon", &url], &[]);
    let source = format!("{{source=\"mastodon {url} public\"}}");
    poll_until("every post taken", || {
        (metric(&http, &format!("tweetstream_live_posts_total{source}")) >= posts.len() as u64).then_some(())
    });
    engine.tick();
    let tables = engine.finish();
    assert_eq!(table_counts(&tables["tag_totals"]), want_tags);
    assert_eq!(day_rows(&tables["sentiment_by_day"]), want_days);
}

/// Finding 7: a Mastodon event over `--max-line-bytes` is one skip
/// (`oversized`), not also a malformed one.
#[test]
fn mastodon_event_over_the_line_bound_is_counted_once() {
    let (events, posts) = crate::http_feeds::mastodon_events(40, 51);
    let big =
        serde_json::json!({"id": "9", "content": format!("<p>{}</p>", "#big ".repeat(400)), "reblog": null});
    let mut all = vec![format!("event: update\ndata: {big}\n\n")];
    all.extend(events);
    let server = serve(vec![Answer::ok("text/event-stream", pieces(&all), End::KeepAlive(":thump\n"))]);
    let url = format!("http://{}", server.addr);
    let (mut engine, http) = engine(&["--mastodon", &url, "--max-line-bytes", "1000"], &[]);
    let name = format!("mastodon {url} public");
    poll_until("every post taken", || {
        let taken = metric(&http, &format!("tweetstream_live_posts_total{{source=\"{name}\"}}"));
        (taken >= posts.len() as u64).then_some(())
    });
    let skipped = |reason: &str| {
        metric(&http, &format!("tweetstream_live_skipped_total{{source=\"{name}\",reason=\"{reason}\"}}"))
    };
    assert_eq!((skipped("oversized"), skipped("malformed")), (1, 0));
    engine.terminate();
    engine.wait_exit();
}

/// Finding 6: of two topics, one deleted makes the source not ready
/// (`/health/ready` 503) for as long as it is gone, however many messages
/// the other brings; back, ready again.
#[test]
fn a_deleted_topic_of_two_makes_the_source_not_ready_until_it_is_back() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let (b, kept, deleted) = (brokers(), unique("ready_kept"), unique("ready_deleted"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &b);
    let admin: AdminClient<_> = config.create().unwrap();
    let producer: FutureProducer = config.create().unwrap();
    let create = |topic: &str| {
        rt.block_on(async {
            let new = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
            let created = admin.create_topics([&new], &AdminOptions::new()).await.unwrap();
            assert!(created.iter().all(Result::is_ok), "{created:?}");
        })
    };
    let produce = |topic: &str, k: usize| {
        rt.block_on(async {
            let m = format!(r##"{{"text":"#ready {k}","created_at":"Tue Feb 24 11:35:52 +0000 2015"}}"##);
            producer
                .send(FutureRecord::<(), _>::to(topic).payload(&m), std::time::Duration::from_secs(30))
                .await
                .unwrap();
        })
    };
    create(&kept);
    create(&deleted);
    produce(&kept, 0);
    produce(&deleted, 0);
    let group = unique("ready_group");
    let mut engine = Proc::spawn(&[
        "stream",
        "--kafka",
        &b,
        "--topic",
        &kept,
        "--topic",
        &deleted,
        "--group",
        &group,
        "--from",
        "earliest",
        "--batch",
        "200ms",
        "--print-every",
        "never",
        "--http",
        "127.0.0.1:0",
    ]);
    let http = logged_http_addr(&engine.wait_stderr("serving the tables on http://"));
    let ready = || http_get_text(&http, "/health/ready").0;
    let records = || metric(&http, "tweetstream_records_total");
    poll_until("ready with both topics", || (ready() == 200 && records() >= 2).then_some(()));
    rt.block_on(async {
        let deleted = admin.delete_topics(&[&deleted], &AdminOptions::new()).await.unwrap();
        assert!(deleted.iter().all(Result::is_ok), "{deleted:?}");
    });
    let mut k = 1;
    poll_until("not ready once the topic is gone", || {
        produce(&kept, k);
        k += 1;
        (ready() == 503).then_some(())
    });
    // Messages of the other topic keep coming and are counted: still not ready.
    let counted = records();
    poll_until("ten more messages of the other topic counted", || {
        produce(&kept, k);
        k += 1;
        assert_eq!(ready(), 503, "ready again while the topic is still gone");
        (records() >= counted + 10).then_some(())
    });
    create(&deleted);
    poll_until("ready once the topic is back", || (ready() == 200).then_some(()));
    engine.terminate();
    engine.wait_exit();
}
