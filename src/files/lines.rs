//! Files as newline-delimited tweet lines (what `replay` serves and `stream --file` reads), whatever the file
//! ([`crate::files`]: gzip undone, the format from the name and first bytes):
//! JSON Lines and text pass through unchanged; a JSON array's objects become
//! lines; CSV/TSV rows and Parquet rows (a text and a date column, as
//! [`crate::tweet::record`] names them) become `{"tweet": …, "date": …}`. A
//! file none of whose rows can be read is an error, not a silent nothing.

use super::{self as files, Format, Opened};
use crate::buffer::RecycledBuf;
use crate::codec::{self, CHUNK_BYTES, Line};
use crate::transforms::select::Select;
use crate::tweet::csv_input::{QuoteCheck, unclosed_error};
use crate::tweet::{self, InputFormat, record};
use bytes::Bytes;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// One input of a replay.
#[derive(Clone, Debug)]
pub enum Input {
    File(PathBuf),
    /// Bytes in memory (the demo's fixtures), with a name whose extension gives
    /// the format.
    Memory {
        name: &'static str,
        data: Bytes,
    },
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Memory { name, .. } => (*name).to_owned(),
        }
    }

    /// The input opened as a file of its format, decompressed.
    fn open_file(&self) -> io::Result<Opened> {
        files::open_reader(&self.name(), self.open()?)
    }

    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Input::File(p) => Ok(Box::new(
                std::fs::File::open(p)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?,
            )),
            Input::Memory { data, .. } => Ok(Box::new(io::Cursor::new(data.clone()))),
        }
    }
}

/// How much of each input is looked at for a NUL byte.
const SNIFF_BYTES: u64 = 64 * 1024;

/// Refuses, before a replay waits for its first client, an input it could
/// only serve as garbage or nothing: one that is not text (a NUL byte in its
/// first 64 KiB once decompressed, as grep and ripgrep tell binary files:
/// never in JSON, CSV or a tweet's text), a Parquet file it cannot read, and
/// a JSON Lines file none of whose first lines is a tweet; with `records`
/// (the engine reads JSON records), a file of plain text lines as well.
/// Regular files are looked at here; others (a FIFO can be read once only)
/// as they are read.
pub fn check_text(inputs: &[Input], records: bool) -> io::Result<()> {
    for input in inputs {
        if let Input::File(p) = input
            && !std::fs::metadata(p).is_ok_and(|m| m.is_file())
        {
            continue;
        }
        let opened = input.open_file()?;
        match (opened.format, input) {
            (Format::Parquet, Input::File(p)) => {
                files::rows::check(p)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            }
            (Format::Parquet, Input::Memory { name, .. }) => {
                return Err(io::Error::other(format!("{name}: Parquet is read from a file only")));
            }
            (format, _) => {
                let mut head = Vec::new();
                TextOnly::new(opened.reader, input.name()).take(SNIFF_BYTES).read_to_end(&mut head)?;
                if format == Format::JsonLines || (records && format == Format::Text) {
                    no_tweets(&head, &input.name(), format)?;
                }
            }
        }
    }
    Ok(())
}

/// An error when `head` (a JSON Lines file's first bytes) has whole lines
/// and none of them is a tweet, naming why the first is not.
fn no_tweets(head: &[u8], name: &str, format: Format) -> io::Result<()> {
    let mut lines = head.split(|&b| b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace));
    let whole: Vec<&[u8]> = match head.len() as u64 {
        n if n < SNIFF_BYTES => lines.collect(),
        _ => {
            // The last piece may be cut off at the sniff's end.
            let mut v: Vec<&[u8]> = lines.by_ref().collect();
            v.pop();
            v
        }
    };
    let mut text = String::new();
    let mut first_error = None;
    for line in &whole {
        match tweet::decode(line, InputFormat::Json, &mut text) {
            Ok(_) => return Ok(()),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    // A file of plain text: say how to read it as tweets' texts.
    let hint = match format {
        Format::Text => "; a file of one tweet's text per line is read with --input text",
        _ => "",
    };
    match first_error {
        None => Ok(()),
        Some(e) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{name}: none of its first {} lines is a tweet (the first: {}); a tweet is a JSON object \
                 with a text field ({}), or a CSV or Parquet row with a text column{hint}",
                whole.len(),
                e.reason(),
                record::TEXT_FIELDS.join(", ")
            ),
        )),
    }
}

/// A reader that fails on a NUL byte in the first [`SNIFF_BYTES`].
struct TextOnly<R> {
    inner: R,
    name: String,
    read: u64,
}

impl<R> TextOnly<R> {
    fn new(inner: R, name: String) -> Self {
        TextOnly { inner, name, read: 0 }
    }
}

impl<R: Read> Read for TextOnly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.read < SNIFF_BYTES {
            let look = n.min((SNIFF_BYTES - self.read) as usize);
            if let Some(at) = buf[..look].iter().position(|&b| b == 0) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: not a text file (a NUL byte at byte {}); replay serves JSON Lines, CSV \
                         or text, uncompressed",
                        self.name,
                        self.read + at as u64
                    ),
                ));
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// Lines of output gathered for sending, at most about [`CHUNK_BYTES`].
#[derive(Debug)]
pub struct Lines {
    pub data: Bytes,
    pub lines: usize,
}

/// Replay passes lines through; only absurd ones (over 64 MiB) are skipped.
const MAX_REPLAY_LINE: usize = 64 << 20;

/// Which lines to emit: `skip` first, then at most `limit`, looping if asked;
/// with a `select` (`--track`, `--lang`), only the tweets it keeps (`limit`
/// counts those).
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub skip: u64,
    pub limit: Option<u64>,
    pub looping: bool,
    pub select: Select,
}

/// Counts of what was read, for the summary.
#[derive(Debug, Default)]
pub struct ReadStats {
    pub emitted: u64,
    pub skipped_bad: u64,
    /// Lines left out by `select` (including lines that are not tweets).
    pub filtered: u64,
}

/// Applies the selection and gathers lines into chunks for `emit`.
struct Emitter<F: FnMut(Lines) -> bool> {
    sel: Selection,
    emit: F,
    out: RecycledBuf,
    lines: usize,
    /// Lines seen in the current pass, for `skip`.
    position: u64,
    stats: ReadStats,
    /// The consumer is gone or the limit is reached.
    done: bool,
    /// Scratch for `select`: a tweet's unescaped text, its lowercased copy.
    text: String,
    lowered: String,
}

impl<F: FnMut(Lines) -> bool> Emitter<F> {
    fn push(&mut self, line: &[u8]) {
        self.position += 1;
        if self.done || self.position <= self.sel.skip {
            return;
        }
        if self.sel.limit.is_some_and(|l| self.stats.emitted >= l) {
            self.done = true;
            return;
        }
        if !self.sel.select.keeps_line(line, &mut self.text, &mut self.lowered) {
            self.stats.filtered += 1;
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

    /// Whether every line from here on is taken (no `skip` or `limit` left
    /// to apply), so that whole chunks can be sent as they are.
    fn takes_all(&self) -> bool {
        !self.done
            && self.sel.limit.is_none()
            && self.sel.select.keeps_all()
            && self.position >= self.sel.skip
    }

    /// Sends `data`, `lines` whole lines as read, without copying them (when
    /// [`Emitter::takes_all`]).
    fn push_whole(&mut self, data: &Bytes, lines: usize) {
        self.flush(); // lines gathered before go first
        if self.done {
            return;
        }
        self.position += lines as u64;
        self.stats.emitted += lines as u64;
        if !(self.emit)(Lines { data: data.clone(), lines }) {
            self.done = true;
        }
    }

    fn flush(&mut self) {
        if self.lines > 0 {
            let batch =
                Lines { data: self.out.get_mut().split().freeze(), lines: std::mem::take(&mut self.lines) };
            if !(self.emit)(batch) {
                self.done = true;
            }
        }
    }
}

/// Reads `inputs` (blocking), calling `emit` with chunks of whole lines.
/// `emit` returns false to stop early (the consumer is gone).
pub fn read_all(inputs: &[Input], sel: Selection, emit: impl FnMut(Lines) -> bool) -> io::Result<ReadStats> {
    let mut e = Emitter {
        sel,
        emit,
        out: RecycledBuf::new(),
        lines: 0,
        position: 0,
        stats: ReadStats::default(),
        done: false,
        text: String::new(),
        lowered: String::new(),
    };
    loop {
        let emitted_before = e.stats.emitted;
        e.position = 0;
        for input in inputs {
            let name = input.name();
            let opened = input.open_file()?;
            let (bad_before, input_emitted) = (e.stats.skipped_bad, e.stats.emitted);
            let rows = match (opened.format, input) {
                (Format::Parquet, Input::File(path)) => Some(read_parquet(path, &mut e)?),
                (Format::Parquet, Input::Memory { .. }) => {
                    return Err(io::Error::other(format!("{name}: Parquet is read from a file only")));
                }
                (Format::Csv { delimiter }, _) => {
                    Some(read_csv(TextOnly::new(opened.reader, name.clone()), &name, delimiter, &mut e)?)
                }
                (Format::JsonArray, _) => {
                    Some(read_array(TextOnly::new(opened.reader, name.clone()), &name, &mut e)?)
                }
                (Format::JsonLines | Format::Text, _) => {
                    pass_through(TextOnly::new(opened.reader, name.clone()), &name, &mut e)?;
                    None
                }
            };
            // A converted file none of whose rows could be read (on the
            // first pass, taking every row) is an error, not a silent nothing.
            if let Some(rows) = rows
                && !e.done
                && e.stats.emitted == input_emitted
                && e.stats.skipped_bad - bad_before == rows
            {
                let why = if rows == 0 {
                    "no rows in it".to_owned()
                } else {
                    format!("none of its {rows} rows could be read (see the warnings above)")
                };
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {why}")));
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

/// JSON Lines or text, line by line as read (whole chunks when every line
/// is taken).
fn pass_through<F: FnMut(Lines) -> bool>(
    reader: impl Read,
    name: &str,
    e: &mut Emitter<F>,
) -> io::Result<()> {
    let result = codec::read_chunks(reader, MAX_REPLAY_LINE, |chunk| {
        // Most chunks pass through whole (as fast as the output takes them,
        // the line-by-line copy was a large part of the replay's work).
        match chunk.whole_lines() {
            Some(data) if e.takes_all() => e.push_whole(data, chunk.line_count()),
            _ => chunk.for_each_line(|line| match line {
                Line::Ok(bytes) | Line::Cut(bytes) => e.push(bytes),
                Line::TooLong { len } => {
                    e.stats.skipped_bad += 1;
                    tracing::warn!("{name}: skipped a line of {len} bytes (over 64 MiB)");
                }
            }),
        }
        // Stop reading the file once the selection is done.
        if e.done { Err(io::Error::other(StopReading)) } else { Ok(()) }
    });
    match result {
        Err(err) if err.get_ref().is_some_and(|inner| inner.is::<StopReading>()) => Ok(()),
        other => other,
    }
}

/// Emits a row as the lab's `{"tweet", "date"}`, with its `"lang"` when
/// the row has one.
fn push_row<F: FnMut(Lines) -> bool>(
    e: &mut Emitter<F>,
    json: &mut Vec<u8>,
    row: [Option<&str>; 3],
) -> io::Result<()> {
    let [text, date, lang] = row;
    json.clear();
    let line = match lang.filter(|l| !l.trim().is_empty()) {
        None => serde_json::json!({"tweet": text, "date": date}),
        Some(lang) => serde_json::json!({"tweet": text, "date": date, "lang": lang}),
    };
    serde_json::to_writer(&mut *json, &line)?;
    e.push(json);
    Ok(())
}

/// CSV or TSV rows; returns how many rows were read.
fn read_csv<F: FnMut(Lines) -> bool>(
    reader: impl Read,
    name: &str,
    delimiter: u8,
    e: &mut Emitter<F>,
) -> io::Result<u64> {
    let mut csv =
        csv::ReaderBuilder::new().flexible(true).delimiter(delimiter).from_reader(QuoteCheck::new(reader));
    let headers = csv
        .headers()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {e}")))?
        .clone();
    if let Some(line) = csv.get_ref().unclosed() {
        return Err(unclosed_error(name, line));
    }
    let columns = record::pick(headers.iter());
    let text_col = columns.text.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{name}: no text column (one of {}) in the header, read as {} ({:?})",
                record::TEXT_FIELDS.join(", "),
                Format::Csv { delimiter }.describe(),
                headers.iter().collect::<Vec<_>>()
            ),
        )
    })?;
    let mut json = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => rows += 1,
            Ok(false) => break,
            Err(err) if err.is_io_error() => return Err(io::Error::other(format!("{name}: {err}"))),
            Err(err) => {
                rows += 1;
                e.stats.skipped_bad += 1;
                tracing::warn!(file = %name, row = rows + 1, error = %err, "{name}: row {}: {err}; skipped", rows + 1);
                continue;
            }
        }
        // The file's end inside quotes: this "row" is the rest of the file.
        if let Some(line) = csv.get_ref().unclosed() {
            return Err(unclosed_error(name, line));
        }
        let field = |i: usize| record.get(i).map(String::from_utf8_lossy);
        let Some(text) = field(text_col) else {
            e.stats.skipped_bad += 1;
            tracing::warn!(file = %name, row = rows + 1, reason = "no text field", "{name}: row {}: no text field; skipped", rows + 1);
            continue;
        };
        let (date, lang) = (columns.date.and_then(field), columns.lang.and_then(field));
        push_row(e, &mut json, [Some(&text), date.as_deref(), lang.as_deref()])?;
        if e.done {
            break;
        }
    }
    Ok(rows)
}

/// A JSON array's objects, each as a line; returns how many elements were read.
fn read_array<F: FnMut(Lines) -> bool>(reader: impl Read, name: &str, e: &mut Emitter<F>) -> io::Result<u64> {
    let (mut elements, mut line) = (0u64, Vec::new());
    let mut failed = Ok(());
    files::json_array(name, reader, |value| {
        elements += 1;
        if !value.is_object() {
            e.stats.skipped_bad += 1;
            tracing::warn!("{name}: element {elements} is not an object; skipped");
            return true;
        }
        line.clear();
        if let Err(err) = serde_json::to_writer(&mut line, &value) {
            failed = Err(err.into());
            return false;
        }
        e.push(&line);
        !e.done
    })?;
    failed.map(|()| elements)
}

/// A Parquet file's rows; returns how many rows were read.
fn read_parquet<F: FnMut(Lines) -> bool>(path: &Path, e: &mut Emitter<F>) -> io::Result<u64> {
    let name = path.display().to_string();
    let (mut rows, mut json, mut failed) = (0u64, Vec::new(), Ok(()));
    files::rows::read(path, |row| {
        rows += 1;
        match row {
            Ok(doc) => {
                let text = files::rows::text_of(&doc).unwrap_or_default().to_owned();
                let date = files::rows::date_field(&doc)
                    .and_then(|f| doc.get_datetime(f).ok())
                    .and_then(|d| d.try_to_rfc3339_string().ok());
                let lang = files::rows::lang_of(&doc);
                if let Err(err) = push_row(e, &mut json, [Some(&text), date.as_deref(), lang]) {
                    failed = Err(err);
                }
            }
            Err(skip) => {
                e.stats.skipped_bad += 1;
                tracing::warn!(file = %name, row = rows, reason = skip.reason(), "{name}: row {rows}: {}; skipped", skip.reason());
            }
        }
        failed.is_ok() && !e.done
    })
    .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err.to_string()))?;
    failed.map(|()| rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A JSON Lines source of `n` lines of varying length (a few chunks'
    /// worth), with an empty line and a `\r`, and no newline after the last.
    fn jsonl(name: &'static str, n: usize) -> (Input, Vec<Vec<u8>>) {
        let lines: Vec<Vec<u8>> = (0..n)
            .map(|i| match i % 97 {
                5 => Vec::new(),
                6 => format!("{{\"tweet\":\"{i}\"}}\r").into_bytes(),
                k => format!("{{\"tweet\":\"{}\",\"n\":{i}}}", "x".repeat(k * 3)).into_bytes(),
            })
            .collect();
        let data = lines.join(&b"\n"[..]);
        (Input::Memory { name, data: Bytes::from(data) }, lines)
    }

    /// What `read_all` emits: the output split into lines, and the lines it counted.
    fn replayed(inputs: &[Input], sel: Selection) -> (Vec<Vec<u8>>, u64) {
        let (mut out, mut counted) = (Vec::new(), 0);
        let stats = read_all(inputs, sel, |b| {
            assert!(b.data.ends_with(b"\n"), "a batch of whole lines");
            counted += b.lines;
            out.extend_from_slice(&b.data);
            true
        })
        .unwrap();
        assert_eq!(stats.emitted, counted as u64);
        out.pop();
        (out.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect(), stats.emitted)
    }

    /// Asserts `got == want`, showing the first line that differs.
    fn same(got: &[Vec<u8>], want: &[Vec<u8>], what: &str) {
        let first = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i));
        let show = |l: Option<&Vec<u8>>| l.map(|l| String::from_utf8_lossy(l).into_owned());
        if let Some(i) = first {
            panic!("{what}: line {i} is {:?}, not {:?}", show(got.get(i)), show(want.get(i)));
        }
    }

    #[test]
    fn chunks_passed_whole_and_lines_picked_one_by_one_agree() {
        let (a, a_lines) = jsonl("a.jsonl", 20_000);
        let (b, b_lines) = jsonl("b.jsonl", 3_000);
        let csv = Input::Memory { name: "c.csv", data: Bytes::from_static(b"text,date\nhello,2015-11-01\n") };
        let c_lines = vec![br#"{"tweet":"hello","date":"2015-11-01"}"#.to_vec()];
        assert!(a_lines.iter().map(|l| l.len() + 1).sum::<usize>() > 4 * CHUNK_BYTES);
        let all: Vec<Vec<u8>> =
            [&c_lines, &a_lines, &c_lines, &b_lines].into_iter().flatten().cloned().collect();
        let inputs = [csv.clone(), a, csv, b];
        let sel = |skip, limit, looping| Selection { skip, limit, looping, select: Select::default() };

        let (got, n) = replayed(&inputs, sel(0, None, false));
        assert_eq!(n as usize, all.len());
        same(&got, &all, "everything");
        // `skip` ending inside the second chunk of the first file (chunks are
        // cut at the last newline of each 256 KiB read).
        let skipped: usize = all[..2_000].iter().map(|l| l.len() + 1).sum();
        assert!((CHUNK_BYTES..2 * CHUNK_BYTES - 300).contains(&skipped));
        let (got, _) = replayed(&inputs, sel(2_000, None, false));
        same(&got, &all[2_000..], "skip");
        let (got, _) = replayed(&inputs, sel(7, Some(12_345), false));
        same(&got, &all[7..7 + 12_345], "skip and limit");
        // Looping: each pass skips again.
        let (got, _) = replayed(&inputs, sel(22_000, Some(2_500), true));
        let pass = &all[22_000..];
        let passes: Vec<Vec<u8>> = pass.iter().cycle().take(2_500).cloned().collect();
        same(&got, &passes, "loop");
    }

    /// A CSV's `lang` column goes into the lines, and `--lang` keeps only
    /// its rows in that language (and counts the others).
    #[test]
    fn a_language_column_is_kept_and_selected_on() {
        let data = Bytes::from_static(
            b"Tweet,Date,lang
hola #a,2015-11-01,es
hello,2015-11-02,en
none,2015-11-03,
",
        );
        let csv = [Input::Memory { name: "l.csv", data }];
        let (got, n) = replayed(&csv, Selection::default());
        assert_eq!(n, 3);
        let lines: Vec<String> = got.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
        assert_eq!(lines[0], r##"{"tweet":"hola #a","date":"2015-11-01","lang":"es"}"##);
        assert_eq!(lines[2], r##"{"tweet":"none","date":"2015-11-03"}"##, "an empty language is none");
        let lang = Some(Arc::new(crate::tweet::lang::LangFilter::parse("es").unwrap()));
        let (got, emitted) =
            replayed(&csv, Selection { select: Select { track: None, lang }, ..Selection::default() });
        assert_eq!((got.len(), emitted), (1, 1));
        assert_eq!(got[0], lines[0].as_bytes());
    }
}
