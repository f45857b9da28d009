//! Sentiment throughput, single-threaded, on the 4,200 real tweets of the
//! reference set: this project's VADER port against the `vader_sentiment`
//! crate, and its TextBlob port, in the same run.
//!
//! Run with `cargo bench --bench sentiment`. Prints tweets per second for each
//! and the ratio, plus how many of the reference scores each one reproduces.
//! `VADER_BENCH_SECONDS` sets the time per measurement (3 s);
//! `VADER_BENCH_OURS_ONLY=1` measures this project's two models only.

use std::hint::black_box;
use std::time::{Duration, Instant};
use tweetstream::sentiment::textblob::TextBlob;
use tweetstream::sentiment::vader::SentimentAnalyzer;

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vader/reference.jsonl");
    let body = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let rows: Vec<serde_json::Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let tweets: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["source"] == "tweets_GroundTruth").collect();
    // One contiguous buffer, as tweets sit in the engine's read chunks (texts
    // scattered among JSON values would measure cache misses instead).
    let mut arena = String::new();
    let mut spans = Vec::new();
    for r in &tweets {
        let t = r["text"].as_str().unwrap();
        spans.push(arena.len()..arena.len() + t.len());
        arena.push_str(t);
    }
    let texts: Vec<&str> = spans.into_iter().map(|s| &arena[s]).collect();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    println!(
        "input: {} reference tweets, {:.0} bytes on average",
        texts.len(),
        bytes as f64 / texts.len() as f64
    );

    let mut ours = SentimentAnalyzer::new();
    let theirs = vader_sentiment::SentimentIntensityAnalyzer::new();

    let budget = Duration::from_secs_f64(
        std::env::var("VADER_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0),
    );
    let mut scored = 0u64;
    let (ours_rate, ours_ns) = measure(&texts, budget, |t| {
        scored += 1;
        ours.polarity_scores(t).compound
    });
    let mut blob = TextBlob::new();
    let (blob_rate, blob_ns) = measure(&texts, budget, |t| blob.sentiment(t).polarity);
    if std::env::var_os("TEXTBLOB_BENCH_PROFILE").is_some() {
        // For a profiler: TextBlob alone, 10 more measurements.
        for _ in 0..10 {
            measure(&texts, budget, |t| blob.sentiment(t).polarity);
        }
        return;
    }
    println!("tweetstream VADER        {:>12.0} tweets/s  ({ours_ns:.0} ns/tweet)", ours_rate);
    println!("tweetstream TextBlob     {:>12.0} tweets/s  ({blob_ns:.0} ns/tweet)", blob_rate);
    textblob_agreement(&mut blob);
    if std::env::var_os("VADER_BENCH_OURS_ONLY").is_some() {
        println!("scored {scored} tweets with VADER (with warm-up)");
        return;
    }
    let (theirs_rate, theirs_ns) = measure(&texts, budget, |t| theirs.polarity_scores(t)["compound"]);
    println!("vader_sentiment 0.1.1    {:>12.0} tweets/s  ({theirs_ns:.0} ns/tweet)", theirs_rate);
    println!("speed-up                 {:>12.1}x", ours_rate / theirs_rate);

    // Agreement with Python vaderSentiment 3.3.2 on all reference lines (compound).
    let (mut ours_ok, mut theirs_ok) = (0, 0);
    for r in &rows {
        let text = r["text"].as_str().unwrap();
        let want = r["compound"].as_f64().unwrap();
        ours_ok += (ours.polarity_scores(text).compound == want) as usize;
        let c = theirs.polarity_scores(text)["compound"];
        theirs_ok += ((c * 1e4).round() / 1e4 == want) as usize;
    }
    let pct = |k: usize| 100.0 * k as f64 / rows.len() as f64;
    println!(
        "VADER compound equal to the reference on {} lines: tweetstream {:.1}%, vader_sentiment {:.1}%",
        rows.len(),
        pct(ours_ok),
        pct(theirs_ok)
    );
}

/// How many of the TextBlob reference scores the port reproduces, bit for bit.
fn textblob_agreement(blob: &mut TextBlob) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/textblob/reference.jsonl");
    let body = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let (mut equal, mut n) = (0, 0);
    for line in body.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = blob.sentiment(r["text"].as_str().unwrap());
        let same = |got: f64, key: &str| got.to_bits() == r[key].as_f64().unwrap().to_bits();
        equal += (same(s.polarity, "polarity") && same(s.subjectivity, "subjectivity")) as usize;
        n += 1;
    }
    println!("TextBlob polarity and subjectivity bit-identical to the reference on {equal} of {n} lines");
}

/// Scores the texts round after round until `budget` has passed; returns
/// (tweets per second, nanoseconds per tweet).
fn measure(texts: &[&str], budget: Duration, mut score: impl FnMut(&str) -> f64) -> (f64, f64) {
    for t in texts {
        black_box(score(t)); // warm-up
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for t in texts {
            black_box(score(black_box(t)));
        }
        n += texts.len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    (n as f64 / secs, secs * 1e9 / n as f64)
}
