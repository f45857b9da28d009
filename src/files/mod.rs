//! The files people have, read the same way by every tool that takes one
//! (`replay`, `load`, `lab`): the format comes from the name and the first
//! bytes, and gzip is undone on the way in. The record inside (which field is
//! the text, which the date) is [`crate::tweet::record`]'s rule; [`rows`]
//! reads a file row by row as documents.
//!
//! - JSON Lines (`.jsonl`, `.ndjson`, `.json`): one object per line, Twitter
//!   API v1.1 or v2 or the lab's `{"tweet", "date"}`;
//! - a JSON array of such objects (`.json` whose first byte is `[`), read
//!   element by element, never whole;
//! - delimited text with a header (`.csv`, `.tsv`): the delimiter is the
//!   one of `,`, `;` and tab that the header line uses most (spreadsheets
//!   write `;` in many locales);
//! - Parquet (`.parquet`, or a file that starts with Parquet's magic);
//! - any of these compressed with gzip (`.gz`, or a file that starts with
//!   gzip's magic), except Parquet, which compresses itself.

pub mod lines;
pub mod rows;

use flate2::bufread::MultiGzDecoder;
use serde::de::{Deserializer as _, SeqAccess, Visitor};
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// A file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    JsonArray,
    /// Delimited text with a header line.
    Csv {
        delimiter: u8,
    },
    Parquet,
    /// None of the above: lines of text (replay passes them on as they are).
    Text,
}

impl Format {
    pub fn describe(self) -> &'static str {
        match self {
            Format::JsonLines => "JSON Lines",
            Format::JsonArray => "a JSON array",
            Format::Csv { delimiter: b'\t' } => "TSV",
            Format::Csv { delimiter: b';' } => "CSV (;)",
            Format::Csv { .. } => "CSV",
            Format::Parquet => "Parquet",
            Format::Text => "text",
        }
    }
}

/// A file opened for reading: its format, and its bytes decompressed.
pub struct Opened {
    pub format: Format,
    /// It was gzip-compressed.
    pub gzip: bool,
    pub reader: Box<dyn BufRead + Send>,
}

/// The extensions [`open`] knows, for messages.
pub const KNOWN: &str = ".jsonl, .json, .csv, .tsv or .parquet, optionally gzipped (.gz)";

/// Opens the file at `path`.
pub fn open(path: &Path) -> io::Result<Opened> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))?;
    open_reader(&name, Box::new(file))
}

/// Reads `raw`, named `name` (whose extension counts), as a file.
pub fn open_reader(name: &str, raw: Box<dyn Read + Send>) -> io::Result<Opened> {
    let mut raw = BufReader::with_capacity(64 << 10, raw);
    let gzip = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead + Send> = if gzip {
        let gz = Gunzip { inner: MultiGzDecoder::new(raw), name: name.to_owned() };
        Box::new(BufReader::with_capacity(256 << 10, gz))
    } else {
        Box::new(raw)
    };
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").or_else(|| lower.strip_suffix(".gzip")).unwrap_or(&lower);
    let ext = Path::new(stem).extension().and_then(|e| e.to_str()).unwrap_or("").to_owned();
    let head = reader.fill_buf().map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))?;
    let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head); // a byte-order mark
    let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
    let format = if head.starts_with(b"PAR1") {
        Format::Parquet
    } else {
        match ext.as_str() {
            "parquet" | "pq" => Format::Parquet,
            "csv" => Format::Csv { delimiter: delimiter(head) },
            "tsv" | "tab" => Format::Csv { delimiter: b'\t' },
            _ if first == Some(b'[') => Format::JsonArray,
            "json" | "jsonl" | "ndjson" | "jsonlines" => Format::JsonLines,
            _ if first == Some(b'{') => Format::JsonLines,
            _ => Format::Text,
        }
    };
    Ok(Opened { format, gzip, reader })
}

/// gzip undone, its errors naming the file.
struct Gunzip<R> {
    inner: MultiGzDecoder<R>,
    name: String,
}

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: not a valid gzip file: {e}", self.name)))
    }
}

/// The delimiter a header line uses most of `,`, `;` and tab (outside
/// quotes); `,` when it uses none.
fn delimiter(head: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in head.iter().take_while(|&&b| b != b'\n') {
        crate::cost::add(1);
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|c| c.0 == b) {
            c.1 += 1;
        }
    }
    counts.iter().max_by_key(|c| (c.1, c.0 == b',')).filter(|c| c.1 > 0).map_or(b',', |c| c.0)
}

/// Reads a JSON array element by element, calling `each` until it returns
/// false; memory holds one element at a time. A malformed array is an error
/// with its line and column.
pub fn json_array(
    name: &str,
    reader: impl Read,
    each: impl FnMut(serde_json::Value) -> bool,
) -> io::Result<()> {
    struct Elements<F>(F);
    impl<'de, F: FnMut(serde_json::Value) -> bool> Visitor<'de> for Elements<F> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
            while let Some(v) = seq.next_element::<serde_json::Value>()? {
                if !(self.0)(v) {
                    // The rest is not wanted: stop without reading it.
                    return Err(serde::de::Error::custom(Stopped));
                }
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_reader(reader);
    match de.deserialize_seq(Elements(each)).and_then(|()| de.end()) {
        Ok(()) => Ok(()),
        Err(e) if e.to_string().starts_with(STOPPED) => Ok(()),
        Err(e) if e.is_io() => Err(io::Error::other(format!("{name}: {e}"))),
        Err(e) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{name}: not a JSON array of objects: {e}"),
        )),
    }
}

const STOPPED: &str = "stopped by the reader";

#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(STOPPED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn format_of(name: &str, bytes: &[u8]) -> Format {
        open_reader(name, Box::new(io::Cursor::new(bytes.to_vec()))).unwrap().format
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(bytes).unwrap();
        z.finish().unwrap()
    }

    #[test]
    fn sniffing_the_delimiter_is_linear_in_the_head() {
        for (what, unit) in [("quotes", &b"\""[..]), ("separators", b",;\t"), ("a quoted field", b"\"a,b\";")]
        {
            crate::cost::assert_linear(
                what,
                30_000,
                2,
                |n| unit.repeat(n / unit.len()),
                |head| {
                    delimiter(head);
                },
            );
        }
    }

    #[test]
    fn formats_from_names_and_first_bytes() {
        assert_eq!(format_of("a.jsonl", b"{\"text\":1}\n"), Format::JsonLines);
        assert_eq!(format_of("a.json", b"  [ {\"text\":1} ]"), Format::JsonArray);
        assert_eq!(format_of("a.json", b"{\"text\":1}\n"), Format::JsonLines);
        assert_eq!(format_of("a.csv", b"text,date\nx,y\n"), Format::Csv { delimiter: b',' });
        assert_eq!(format_of("a.csv", b"text;date;\"a,b\"\nx;y;z\n"), Format::Csv { delimiter: b';' });
        assert_eq!(format_of("a.csv", b"text\tdate\n"), Format::Csv { delimiter: b'\t' });
        assert_eq!(format_of("a.csv", b"text\n"), Format::Csv { delimiter: b',' });
        assert_eq!(format_of("a.tsv", b"text,date\n"), Format::Csv { delimiter: b'\t' });
        assert_eq!(format_of("a.bin", b"PAR1\x15\x04"), Format::Parquet);
        assert_eq!(format_of("a.txt", b"hello #world\n"), Format::Text);
        assert_eq!(format_of("noext", b"{\"text\":1}\n"), Format::JsonLines);
    }

    #[test]
    fn gzip_is_undone_whatever_the_name() {
        let text = b"text;date\nhi;2015-11-01\n";
        for name in ["a.csv.gz", "a.csv.GZ", "a.csv"] {
            let mut opened = open_reader(name, Box::new(io::Cursor::new(gzip(text)))).unwrap();
            assert!(opened.gzip);
            assert_eq!(opened.format, Format::Csv { delimiter: b';' }, "{name}");
            let mut out = Vec::new();
            opened.reader.read_to_end(&mut out).unwrap();
            assert_eq!(out, text);
        }
        // Two gzip members one after the other (as `cat a.gz b.gz` makes).
        let mut two = gzip(b"{\"text\":\"a\"}\n");
        two.extend(gzip(b"{\"text\":\"b\"}\n"));
        let mut out = String::new();
        open_reader("x.jsonl.gz", Box::new(io::Cursor::new(two)))
            .unwrap()
            .reader
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "{\"text\":\"a\"}\n{\"text\":\"b\"}\n");
    }

    #[test]
    fn arrays_are_read_element_by_element() {
        let mut seen = Vec::new();
        json_array("a.json", &b"[{\"text\":\"a\"}, 2, {\"text\":\"b\"}]"[..], |v| {
            seen.push(v);
            true
        })
        .unwrap();
        assert_eq!(
            seen,
            [serde_json::json!({"text": "a"}), serde_json::json!(2), serde_json::json!({"text": "b"})]
        );
        let mut n = 0;
        json_array("a.json", &b"[1, 2, 3, oops"[..], |_| {
            n += 1;
            n < 2
        })
        .unwrap();
        assert_eq!(n, 2, "stopped when told, before the bad part");
        let e = json_array("a.json", &b"[1, 2,\n oops]"[..], |_| true).unwrap_err().to_string();
        assert!(e.contains("a.json: not a JSON array of objects") && e.contains("line 2"), "{e}");
        let e = json_array("a.json", &b"{\"text\": 1}"[..], |_| true).unwrap_err().to_string();
        assert!(e.contains("a JSON array"), "{e}");
    }
}
