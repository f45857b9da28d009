//! Reading replay inputs into newline-delimited JSON: JSON Lines files pass
//! through unchanged; CSV files (header with a text column `text`/`Tweet` and a
//! date column `created_at`/`Date`/`tweet_created`) become `{"tweet": …, "date": …}`.

use crate::buffer::RecycledBuf;
use crate::codec::{self, CHUNK_BYTES, Line};
use bytes::Bytes;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// One input of a replay.
#[derive(Clone, Debug)]
pub enum Source {
    File(PathBuf),
    /// Bytes in memory (the demo's fixtures), with a name whose extension gives
    /// the format.
    Memory {
        name: &'static str,
        data: Bytes,
    },
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Memory { name, .. } => (*name).to_owned(),
        }
    }

    fn is_csv(&self) -> bool {
        let name = match self {
            Source::File(p) => p.as_path(),
            Source::Memory { name, .. } => Path::new(*name),
        };
        name.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    }

    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Source::File(p) => Ok(Box::new(
                std::fs::File::open(p)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?,
            )),
            Source::Memory { data, .. } => Ok(Box::new(io::Cursor::new(data.clone()))),
        }
    }
}

/// Lines of output gathered for sending, at most about [`CHUNK_BYTES`].
#[derive(Debug)]
pub struct Batch {
    pub data: Bytes,
    pub lines: usize,
}

/// Replay passes lines through; only absurd ones (over 64 MiB) are skipped.
const MAX_REPLAY_LINE: usize = 64 << 20;

/// Which lines to emit: `skip` first, then at most `limit`, looping if asked.
#[derive(Clone, Copy, Debug, Default)]
pub struct Selection {
    pub skip: u64,
    pub limit: Option<u64>,
    pub looping: bool,
}

/// Counts of what was read, for the summary.
#[derive(Debug, Default)]
pub struct ReadStats {
    pub emitted: u64,
    pub skipped_bad: u64,
}

/// Applies the selection and gathers lines into chunks for `emit`.
struct Emitter<F: FnMut(Batch) -> bool> {
    sel: Selection,
    emit: F,
    out: RecycledBuf,
    lines: usize,
    /// Lines seen in the current pass, for `skip`.
    position: u64,
    stats: ReadStats,
    /// The consumer is gone or the limit is reached.
    done: bool,
}

impl<F: FnMut(Batch) -> bool> Emitter<F> {
    fn push(&mut self, line: &[u8]) {
        self.position += 1;
        if self.done || self.position <= self.sel.skip {
            return;
        }
        if self.sel.limit.is_some_and(|l| self.stats.emitted >= l) {
            self.done = true;
            return;
        }
        let out = self.out.reserve(line.len() + 1);
        out.extend_from_slice(line);
        out.extend_from_slice(b"\n");
        self.lines += 1;
        self.stats.emitted += 1;
        if self.out.len() >= CHUNK_BYTES {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.lines > 0 {
            let batch =
                Batch { data: self.out.get_mut().split().freeze(), lines: std::mem::take(&mut self.lines) };
            if !(self.emit)(batch) {
                self.done = true;
            }
        }
    }
}

/// Reads `sources` (blocking), calling `emit` with chunks of whole lines.
/// `emit` returns false to stop early (the consumer is gone).
pub fn read_all(
    sources: &[Source],
    sel: Selection,
    emit: impl FnMut(Batch) -> bool,
) -> io::Result<ReadStats> {
    let mut e = Emitter {
        sel,
        emit,
        out: RecycledBuf::new(),
        lines: 0,
        position: 0,
        stats: ReadStats::default(),
        done: false,
    };
    loop {
        let emitted_before = e.stats.emitted;
        e.position = 0;
        for source in sources {
            let reader = source.open()?;
            if source.is_csv() {
                read_csv(reader, &source.name(), &mut e)?;
            } else {
                let name = source.name();
                let result = codec::read_chunks(reader, MAX_REPLAY_LINE, |chunk| {
                    chunk.for_each_line(|line| match line {
                        Line::Ok(bytes) | Line::Cut(bytes) => e.push(bytes),
                        Line::TooLong { len } => {
                            e.stats.skipped_bad += 1;
                            tracing::warn!("{name}: skipped a line of {len} bytes (over 64 MiB)");
                        }
                    });
                    // Stop reading the file once the selection is done.
                    if e.done { Err(io::Error::other(StopReading)) } else { Ok(()) }
                });
                match result {
                    Err(err) if err.get_ref().is_some_and(|inner| inner.is::<StopReading>()) => {}
                    other => other?,
                }
            }
            e.flush();
            if e.done {
                return Ok(e.stats);
            }
        }
        // Loop only if the pass emitted something (else it would spin forever).
        if !e.sel.looping || e.stats.emitted == emitted_before {
            return Ok(e.stats);
        }
    }
}

#[derive(Debug)]
struct StopReading;
impl std::fmt::Display for StopReading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stop reading")
    }
}
impl std::error::Error for StopReading {}

const TEXT_COLUMNS: [&str; 3] = ["text", "tweet", "full_text"];
const DATE_COLUMNS: [&str; 4] = ["created_at", "date", "tweet_created", "timestamp"];

fn read_csv<F: FnMut(Batch) -> bool>(
    reader: Box<dyn Read + Send>,
    name: &str,
    e: &mut Emitter<F>,
) -> io::Result<()> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {e}")))?
        .clone();
    let find =
        |names: &[&str]| headers.iter().position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)));
    let text_col = find(&TEXT_COLUMNS).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{name}: no text column (one of {TEXT_COLUMNS:?}) in the CSV header"),
        )
    })?;
    let date_col = find(&DATE_COLUMNS);
    let mut json = Vec::new();
    for (row, record) in csv.byte_records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(err) => {
                e.stats.skipped_bad += 1;
                tracing::warn!("{name}: row {}: {err}; skipped", row + 2);
                continue;
            }
        };
        let field = |i: usize| record.get(i).map(String::from_utf8_lossy);
        let Some(text) = field(text_col) else {
            e.stats.skipped_bad += 1;
            tracing::warn!("{name}: row {}: no text field; skipped", row + 2);
            continue;
        };
        json.clear();
        let date = date_col.and_then(field);
        serde_json::to_writer(&mut json, &serde_json::json!({"tweet": text, "date": date}))?;
        e.push(&json);
        if e.done {
            break;
        }
    }
    Ok(())
}
