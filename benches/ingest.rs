//! Per-core cost of the engine's hot path, without sockets or threads: the
//! generated tweets of `tweetstream fixtures` (the input of
//! `scripts/bench-socket.sh`) cut into 256 KiB chunks and folded into a batch by
//! one [`Ingest`], for each stage on its own and for the two pipelines.
//!
//! Run with `cargo bench --bench ingest` (`INGEST_BENCH_TWEETS`, default 200,000;
//! `INGEST_BENCH_SECONDS` per figure, default 2; `INGEST_BENCH_ONLY=decode` runs
//! only the figures whose name contains `decode`, for a profiler).

use std::hint::black_box;
use std::time::{Duration, Instant};
use tweetstream::codec::{Chunk, DEFAULT_MAX_LINE_BYTES, Line, read_chunks};
use tweetstream::engine::batch::{Batch, Ingest, Operators};
use tweetstream::sentiment::Model;
use tweetstream::transforms::hashtags::{HashtagMode, for_each_hashtag};
use tweetstream::tweet::{self, InputFormat};

fn main() {
    let env =
        |name: &str, default: f64| std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    let count = env("INGEST_BENCH_TWEETS", 200_000.0) as usize;
    let budget = Duration::from_secs_f64(env("INGEST_BENCH_SECONDS", 2.0));
    let data = tweetstream::fixtures::twitter_jsonl(count, 7);
    // Whole lines in chunks of about `codec::CHUNK_BYTES`, as the socket source makes them.
    let mut chunks = Vec::new();
    read_chunks(&data[..], DEFAULT_MAX_LINE_BYTES, |c| {
        chunks.push(c.clone());
        Ok(())
    })
    .expect("reading from memory");
    let lines = chunks.iter().map(Chunk::line_count).sum::<usize>();
    println!("input: {lines} generated tweets, {:.0} bytes per line", data.len() as f64 / lines as f64);

    let each_line = |f: &mut dyn FnMut(&[u8])| {
        for c in &chunks {
            c.for_each_line(|l| {
                if let Line::Ok(b) = l {
                    f(b)
                }
            });
        }
    };
    report("framing only", lines, budget, || {
        let mut n = 0usize;
        each_line(&mut |b| n += b.len());
        black_box(n);
    });
    let mut scratch = String::new();
    report("decode: JSON and date", lines, budget, || {
        each_line(&mut |b| {
            black_box(tweet::decode(b, InputFormat::Json, &mut scratch).ok());
        })
    });
    let texts: Vec<String> = {
        let mut v = Vec::new();
        each_line(&mut |b| {
            v.extend(tweet::decode(b, InputFormat::Json, &mut String::new()).ok().map(|t| t.text.to_owned()))
        });
        v
    };
    report("hashtags (of decoded text)", lines, budget, || {
        for t in &texts {
            for_each_hashtag(HashtagMode::Twitter, t, &mut scratch, |tag| {
                black_box(tag);
            });
        }
    });
    let pipelines = [
        ("pipeline: hashtags only", None),
        ("pipeline: hashtags + sentiment", Some(Model::Vader)),
        ("pipeline: hashtags + textblob", Some(Model::TextBlob)),
    ];
    for (name, sentiment) in pipelines {
        let ops = Operators {
            input: InputFormat::Json,
            hashtags: HashtagMode::Twitter,
            sentiment,
            select: tweetstream::transforms::select::Select::default(),
            undated: tweetstream::engine::batch::Undated::Skip,
        };
        let mut ingest = Ingest::new(ops);
        report(name, lines, budget, || {
            let mut batch = Batch::default();
            for c in &chunks {
                ingest.chunk(&mut batch, c);
            }
            assert_eq!(batch.records as usize, lines);
            black_box(batch);
        });
    }
}

/// Runs `round` (one pass over all `lines`) until `budget` has passed and prints
/// lines per second.
fn report(name: &str, lines: usize, budget: Duration, mut round: impl FnMut()) {
    // INGEST_BENCH_ONLY=text runs only the figures whose name contains it (for profiling).
    if std::env::var("INGEST_BENCH_ONLY").is_ok_and(|only| !name.contains(&only)) {
        return;
    }
    round(); // warm-up
    let start = Instant::now();
    let mut rounds = 0u32;
    while rounds == 0 || start.elapsed() < budget {
        round();
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let per_sec = lines as f64 * rounds as f64 / secs;
    println!("{name:<32} {per_sec:>12.0} tweets/s  ({:.0} ns/tweet)", 1e9 / per_sec);
}
