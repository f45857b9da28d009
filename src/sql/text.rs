//! Rows as text: the text and CSV formats of PostgreSQL's `COPY … TO`
//! (escapes, quoting, NULL), and JSON records. One writer for everything
//! that hands a table to a data tool: `COPY` on the pg listener,
//! `GET /tables/NAME?format=csv|json` and `stream --out`.

use serde_json::{Map, Value};

/// How rows are written: `COPY`'s options.
#[derive(Clone, Debug, PartialEq)]
pub struct TextFormat {
    /// CSV (quoted where needed) rather than PostgreSQL's text format
    /// (backslash escapes).
    pub csv: bool,
    pub header: bool,
    pub delimiter: char,
    /// How NULL is written.
    pub null: String,
}

impl TextFormat {
    /// PostgreSQL's text format: tab-separated, `\N` for NULL, no header.
    pub fn text() -> TextFormat {
        TextFormat { csv: false, header: false, delimiter: '\t', null: "\\N".into() }
    }

    /// CSV with a header, as `COPY … TO STDOUT (FORMAT csv, HEADER)` writes it.
    pub fn csv() -> TextFormat {
        TextFormat { csv: true, header: true, delimiter: ',', null: String::new() }
    }

    /// The header line, if one was asked for.
    pub fn header(&self, columns: &[String]) -> Option<String> {
        self.header.then(|| self.line(columns.iter().map(|c| Some(c.as_str()))))
    }

    /// One row as a line.
    pub fn row(&self, row: &[Value]) -> String {
        let texts: Vec<Option<std::borrow::Cow<'_, str>>> = row
            .iter()
            .map(|v| match v {
                Value::Null => None,
                Value::String(s) => Some(s.as_str().into()),
                // As Postgres writes a boolean.
                Value::Bool(b) => Some(if *b { "t" } else { "f" }.into()),
                other => Some(other.to_string().into()),
            })
            .collect();
        self.line(texts.iter().map(Option::as_deref))
    }

    fn line<'a>(&self, values: impl Iterator<Item = Option<&'a str>>) -> String {
        let mut out = String::new();
        for (i, v) in values.enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            match v {
                None => out.push_str(&self.null),
                Some(v) if self.csv => self.quoted(&mut out, v),
                Some(v) => self.escaped(&mut out, v),
            }
        }
        out.push('\n');
        out
    }

    /// CSV: quoted when the value holds a delimiter, a quote, a line break,
    /// or reads as NULL.
    fn quoted(&self, out: &mut String, v: &str) {
        if v == self.null || v.contains([self.delimiter, '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&v.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(v);
        }
    }

    /// Text format: backslash escapes.
    fn escaped(&self, out: &mut String, v: &str) {
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c == self.delimiter => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
    }
}

/// A table as CSV with a header.
pub fn csv<'a>(columns: &[String], rows: impl IntoIterator<Item = &'a [Value]>) -> String {
    let csv = TextFormat::csv();
    let mut text = csv.header(columns).unwrap_or_default();
    for row in rows {
        text += &csv.row(row);
    }
    text
}

/// A table as JSON records (`[{column: value}, …]`, what `pandas.read_json` reads).
pub fn records<'a>(
    columns: &[String],
    rows: impl IntoIterator<Item = &'a [Value]>,
) -> Vec<Map<String, Value>> {
    rows.into_iter().map(|row| columns.iter().cloned().zip(row.iter().cloned()).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_are_written_as_postgres_writes_them() {
        let csv = TextFormat::csv();
        assert_eq!(csv.header(&["tag".into(), "n".into()]).unwrap(), "tag,n\n");
        assert_eq!(
            csv.row(&[json!("a,\"b\""), json!(3), Value::Null, json!("")]),
            "\"a,\"\"b\"\"\",3,,\"\"\n"
        );
        let text = TextFormat::text();
        assert_eq!(text.header(&["tag".into()]), None);
        assert_eq!(text.row(&[json!("a\tb\\c\nd"), json!(1.5), Value::Null]), "a\\tb\\\\c\\nd\t1.5\t\\N\n");
    }
}
