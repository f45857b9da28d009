//! `tweetstream vader`: scores each line of stdin like Python's
//! `SentimentIntensityAnalyzer().polarity_scores(line)`, so anyone can diff the
//! port against the reference.

use crate::codec::{self, Line};
use crate::sentiment::SentimentAnalyzer;
use serde::Serialize;
use std::io::{self, BufWriter, Write};

#[derive(clap::Args, Debug)]
#[command(after_help = "Lines are split on \\n only; a trailing \\r is part of the line.\n\
Lines that are not UTF-8 or are too long print {\"line\": N, \"error\": \"...\"} instead,\n\
so output lines stay aligned with input lines.\n\n\
Example:\n  printf 'The book was good.\\n' | tweetstream vader\n  \
{\"compound\":0.4404,\"pos\":0.492,\"neu\":0.508,\"neg\":0.0}")]
pub struct Args {
    /// Also print the scored text as "text".
    #[arg(long)]
    pub with_text: bool,

    /// Lines longer than this many bytes are reported and skipped.
    #[arg(long, default_value_t = codec::DEFAULT_MAX_LINE_BYTES, value_name = "BYTES", value_parser = super::values::byte_limit)]
    pub max_line_bytes: usize,
}

#[derive(Serialize)]
struct Scored<'a> {
    compound: f64,
    pos: f64,
    neu: f64,
    neg: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct Skipped<'a> {
    line: u64,
    error: &'a str,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut vader = SentimentAnalyzer::new();
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
                    Ok(text) => {
                        let s = vader.polarity_scores(text);
                        let text = args.with_text.then_some(text);
                        let row = Scored { compound: s.compound, pos: s.pos, neu: s.neu, neg: s.neg, text };
                        serde_json::to_writer(&mut out, &row)
                    }
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
