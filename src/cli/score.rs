//! `tweetstream vader` and `tweetstream textblob`: score each line of stdin
//! like the Python reference (`SentimentIntensityAnalyzer().polarity_scores(line)`,
//! `TextBlob(line).sentiment`), one JSON object per line, so anyone can diff
//! the ports against Python.

use crate::codec::{self, Line};
use crate::sentiment::textblob::TextBlob;
use crate::sentiment::vader::SentimentAnalyzer;
use serde::Serialize;
use std::io::{self, BufWriter, Write};

/// What both commands print after their options.
pub const AFTER_HELP: &str = "Lines are split on \\n only; a trailing \\r is part of the line.\n\
Lines that are not UTF-8 or are too long print {\"line\": N, \"error\": \"...\"} instead,\n\
so output lines stay aligned with input lines. Numbers are printed so that they\n\
read back as the same doubles.";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also print the scored text as "text".
    #[arg(long)]
    pub with_text: bool,

    /// Lines longer than this many bytes are reported and skipped.
    #[arg(long, default_value_t = codec::DEFAULT_MAX_LINE_BYTES, value_name = "BYTES", value_parser = super::values::byte_limit)]
    pub max_line_bytes: usize,
}

#[derive(Serialize)]
struct Vader<'a> {
    compound: f64,
    pos: f64,
    neu: f64,
    neg: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct Blob<'a> {
    polarity: f64,
    subjectivity: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct Skipped<'a> {
    line: u64,
    error: &'a str,
}

/// `tweetstream vader`.
pub fn vader(args: Args) -> anyhow::Result<()> {
    let mut vader = SentimentAnalyzer::new();
    score_lines(&args, |out, text, with_text| {
        let s = vader.polarity_scores(text);
        serde_json::to_writer(
            out,
            &Vader { compound: s.compound, pos: s.pos, neu: s.neu, neg: s.neg, text: with_text },
        )
    })
}

/// `tweetstream textblob`.
pub fn textblob(args: Args) -> anyhow::Result<()> {
    let mut blob = TextBlob::new();
    score_lines(&args, |out, text, with_text| {
        let s = blob.sentiment(text);
        serde_json::to_writer(
            out,
            &Blob { polarity: s.polarity, subjectivity: s.subjectivity, text: with_text },
        )
    })
}

/// Reads stdin's lines and writes one JSON object per line: `score`'s for
/// the lines it can score (with the text if `--with-text`), an error object
/// for the others.
fn score_lines<W>(args: &Args, mut score: W) -> anyhow::Result<()>
where
    W: FnMut(&mut BufWriter<io::StdoutLock<'static>>, &str, Option<&str>) -> serde_json::Result<()>,
{
    let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let (mut line_no, mut bad_utf8, mut too_long) = (0u64, 0u64, 0u64);
    let mut result = Ok(());
    codec::read_chunks(io::stdin().lock(), args.max_line_bytes, |chunk| {
        chunk.for_each_line(|line| {
            if result.is_err() {
                return;
            }
            line_no += 1;
            let written = match line {
                Line::Ok(bytes) | Line::Cut(bytes) => match std::str::from_utf8(bytes) {
                    Ok(text) => score(&mut out, text, args.with_text.then_some(text)),
                    Err(_) => {
                        bad_utf8 += 1;
                        serde_json::to_writer(&mut out, &Skipped { line: line_no, error: "invalid UTF-8" })
                    }
                },
                Line::TooLong { .. } => {
                    too_long += 1;
                    let error = "line longer than --max-line-bytes";
                    serde_json::to_writer(&mut out, &Skipped { line: line_no, error })
                }
            };
            result = written.map_err(io::Error::from).and_then(|()| out.write_all(b"\n"));
        });
        std::mem::replace(&mut result, Ok(()))
    })?;
    out.flush()?;
    if bad_utf8 + too_long > 0 {
        tracing::warn!(
            "{} of {line_no} lines not scored: {bad_utf8} invalid UTF-8, {too_long} longer than {} bytes",
            bad_utf8 + too_long,
            args.max_line_bytes
        );
    }
    Ok(())
}
