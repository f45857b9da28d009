//! CSV input read whole or refused: the `csv` crate takes a quote that is
//! never closed as a field that runs to the end of the file, so the rest of
//! the file would silently become one row. [`QuoteCheck`] follows the same
//! quoting rules (RFC 4180 with `""` inside quotes, as the crate reads by
//! default) over the raw bytes as they are read, so a reader can tell that
//! row apart from a real one and name the line where the quote opened.

use std::io::{self, Read};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a field.
    Start,
    /// In a field without quotes.
    Plain,
    /// In a quoted field.
    Quoted,
    /// Just after a quote in a quoted field: the end of the field, or the
    /// first half of `""`.
    QuoteInQuoted,
}

/// A reader that follows the CSV quoting of what passes through it.
pub struct QuoteCheck<R> {
    inner: R,
    state: State,
    /// The line being read (1 is the first).
    line: u64,
    /// The line where the open quoted field began.
    opened_at: u64,
    at_end: bool,
}

impl<R> QuoteCheck<R> {
    pub fn new(inner: R) -> Self {
        QuoteCheck { inner, state: State::Start, line: 1, opened_at: 0, at_end: false }
    }

    /// Once the input is read to its end: the line of a quote that was never
    /// closed (None: every quoted field was closed, or the end is not read yet).
    pub fn unclosed(&self) -> Option<u64> {
        (self.at_end && self.state == State::Quoted).then_some(self.opened_at)
    }

    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = match (self.state, b) {
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::Quoted, _) => State::Quoted,
                (State::QuoteInQuoted, b'"') => State::Quoted,
                (State::Start, b'"') => {
                    self.opened_at = self.line;
                    State::Quoted
                }
                (_, b',' | b'\n' | b'\r') => State::Start,
                // A quote inside a plain field, or text after a closing
                // quote, is taken as it is.
                _ => State::Plain,
            };
            if b == b'\n' {
                self.line += 1;
            }
        }
    }
}

impl<R: Read> Read for QuoteCheck<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.at_end = true;
        }
        self.scan(&buf[..n]);
        Ok(n)
    }
}

/// The error for a quote opened at `line` and never closed.
pub fn unclosed_error(name: &str, line: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{name}: line {line}: a quoted field is never closed (the rest of the file would be \
             one row); close it with \" or write a quote inside a quoted field as \"\""
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line of an unclosed quote in `text`, read to its end.
    fn unclosed(text: &str) -> Option<u64> {
        let mut r = QuoteCheck::new(text.as_bytes());
        io::copy(&mut r, &mut io::sink()).unwrap();
        r.unclosed()
    }

    #[test]
    fn an_unclosed_quote_is_found_at_its_line() {
        assert_eq!(unclosed("text,date\nhello,1\n\"open,2\nmore\n"), Some(3));
        assert_eq!(unclosed("text\n\"a \"\"quoted\"\" word\nand on\n"), Some(2));
        assert_eq!(unclosed("\"never"), Some(1));
    }

    #[test]
    fn closed_and_literal_quotes_are_not_errors() {
        assert_eq!(unclosed("text,date\n\"a, b\",1\n\"two\nlines\",2\n"), None);
        assert_eq!(unclosed("text\n\"say \"\"hi\"\"\"\n"), None);
        // A quote that does not start a field is a character like others.
        assert_eq!(unclosed("text\nhe said \"hi\n5\" tall\n"), None);
        assert_eq!(unclosed("text\n\"\"\n"), None);
    }

    /// The check agrees with the `csv` crate: on random inputs of quotes,
    /// commas, newlines and letters, the crate's last row runs to the end of
    /// the file from inside quotes exactly when the check says so. (The
    /// crate's last field then holds the raw rest of the file.)
    #[test]
    fn it_agrees_with_the_csv_crate() {
        let mut rng = crate::rng::Rng::new(7);
        let alphabet = [b'"', b',', b'\n', b'a', b'b', b'\r'];
        for _ in 0..5_000 {
            let len = rng.below(16);
            let text: Vec<u8> = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
            let mut check = QuoteCheck::new(&text[..]);
            io::copy(&mut check, &mut io::sink()).unwrap();
            // Independently: the quoted field open at the end, if any, by
            // reading with the crate and asking where its last row began.
            let mut reader =
                csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&text[..]);
            let mut last = None;
            let mut record = csv::ByteRecord::new();
            while reader.read_byte_record(&mut record).unwrap() {
                last = Some(record.clone());
            }
            let open_by_crate = last.is_some_and(|r| {
                let start = r.position().unwrap().byte() as usize;
                ends_inside_quotes(&text[start..])
            });
            assert_eq!(check.unclosed().is_some(), open_by_crate, "{:?}", String::from_utf8_lossy(&text));
        }
    }

    /// Whether the crate, reading `rest` (its last row), ends inside quotes.
    fn ends_inside_quotes(rest: &[u8]) -> bool {
        // Appending a newline closes any row but one inside quotes: the
        // crate then reads the newline as part of the last field.
        let mut with_newline = rest.to_vec();
        with_newline.extend_from_slice(b"\nX");
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&with_newline[..]);
        let mut record = csv::ByteRecord::new();
        let mut rows = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            rows.push(record.clone());
        }
        // Inside quotes, "\nX" joined the last row instead of being a row of its own.
        rows.last().is_none_or(|r| r.iter().count() != 1 || r.get(0) != Some(b"X"))
    }
}
