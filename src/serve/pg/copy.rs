//! `COPY (query) TO STDOUT` and `COPY table TO STDOUT`: a result as text
//! or CSV, what psql's `\copy`, psycopg's `copy()` and asyncpg's
//! `copy_from_query` ask for. `COPY … FROM` writes, and is refused.

use super::dialect::lex::{self, Kind, Token};
use super::session::Refusal;
use crate::sql::text::TextFormat;

/// A `COPY … TO STDOUT`.
#[derive(Clone, Debug, PartialEq)]
pub struct Copy {
    /// The query whose rows are copied.
    pub query: String,
    pub format: TextFormat,
    /// PostgreSQL's binary COPY format (`FORMAT binary`, what connectorx
    /// and polars ask for) instead of text or CSV.
    pub binary: bool,
}

/// `sql` (lexed into `words`) as a COPY, or None when it is not one.
pub fn read(sql: &str, words: &[Token<'_>]) -> Option<Result<Copy, Refusal>> {
    if !words.first()?.is("copy") {
        return None;
    }
    Some(parse_words(sql, words))
}

#[cfg(test)]
fn parse(sql: &str) -> Option<Result<Copy, Refusal>> {
    read(sql, &lex::words(sql))
}

fn bad(message: &str) -> Refusal {
    Refusal { code: "42601", message: message.to_owned() }
}

fn unsupported(message: String) -> Refusal {
    Refusal { code: "0A000", message }
}

/// A COPY statement's words (after `COPY`) as a [`Copy`].
fn parse_words(sql: &str, words: &[Token<'_>]) -> Result<Copy, Refusal> {
    let (query, mut i) = source(sql, words)?;
    if words.get(i).is_some_and(|t| t.is("from")) {
        return Err(Refusal { code: "25006", message: crate::sql::SqlError::ReadOnly.to_string() });
    }
    if !(words.get(i).is_some_and(|t| t.is("to")) && words.get(i + 1).is_some_and(|t| t.is("stdout"))) {
        return Err(unsupported(
            "only COPY … TO STDOUT is supported (the server writes no files): use psql's \\copy".into(),
        ));
    }
    i += 2;
    if words.get(i).is_some_and(|t| t.is("with")) {
        i += 1;
    }
    options(query, &words[i.min(words.len())..])
}

/// What is copied, as a query, and the word after it: `(query)` as written,
/// or `table [(columns)]` as a select.
fn source(sql: &str, words: &[Token<'_>]) -> Result<(String, usize), Refusal> {
    if words.get(1).is_some_and(|t| t.is_punct("(")) {
        let end = lex::matching(words, 1, "(", ")").ok_or_else(|| bad("COPY (query …: the ) is missing"))?;
        // The text between the parentheses, as written.
        let tokens = lex::tokens(sql);
        let start = offset(&tokens, &words[1]) + 1;
        let stop = offset(&tokens, &words[end]);
        return Ok((sql[start..stop].to_owned(), end + 1));
    }
    let mut table = words
        .get(1)
        .filter(|t| t.name().is_some())
        .map(|t| t.text.to_owned())
        .ok_or_else(|| bad("COPY needs a table or a (query)"))?;
    let mut i = 2;
    if words.get(i).is_some_and(|t| t.is_punct(".")) {
        table = words.get(i + 1).map(|t| t.text.to_owned()).unwrap_or_default();
        i += 2;
    }
    let mut columns = "*".to_owned();
    if words.get(i).is_some_and(|t| t.is_punct("(")) {
        let mut names = Vec::new();
        i += 1;
        while let Some(t) = words.get(i) {
            i += 1;
            if t.is_punct(")") {
                break;
            }
            if !t.is_punct(",") {
                names.push(t.text.to_owned());
            }
        }
        columns = names.join(", ");
    }
    Ok((format!("select {columns} from {table}"), i))
}

/// The options after `TO STDOUT [WITH]`, old style (`CSV HEADER`) or new
/// (`(FORMAT csv, HEADER)`).
fn options(query: String, options: &[Token<'_>]) -> Result<Copy, Refusal> {
    let mut copy = Copy { query, format: TextFormat::text(), binary: false };
    let (format, binary) = (&mut copy.format, &mut copy.binary);
    let (mut delimiter, mut null) = (None, None);
    let is = |k: usize, w: &str| options.get(k).is_some_and(|t| t.is(w));
    let value = |k: usize| options.get(k).and_then(|t: &Token<'_>| t.string().or_else(|| t.name()));
    let mut k = 0;
    while k < options.len() {
        let t = &options[k];
        if t.is_punct("(") || t.is_punct(")") || t.is_punct(",") {
            k += 1;
        } else if is(k, "format") {
            (format.csv, *binary) = match value(k + 1).as_deref() {
                Some("csv") => (true, false),
                Some("text") => (false, false),
                Some("binary") => (false, true),
                Some(other) => {
                    return Err(unsupported(format!(
                        "COPY format {other} is not supported (text, csv or binary)"
                    )));
                }
                None => return Err(bad("COPY: FORMAT needs a value")),
            };
            k += 2;
        } else if is(k, "csv") {
            format.csv = true;
            k += 1;
        } else if is(k, "header") {
            let given = value(k + 1);
            format.header = !matches!(given.as_deref(), Some("false" | "off" | "0"));
            let valued = matches!(given.as_deref(), Some("true" | "false" | "on" | "off" | "1" | "0"));
            k += if valued { 2 } else { 1 };
        } else if is(k, "delimiter") {
            match value(k + 1).map(|v| v.chars().collect::<Vec<_>>()) {
                Some(c) if c.len() == 1 => delimiter = Some(c[0]),
                _ => return Err(bad("COPY delimiter must be a single character")),
            }
            k += 2;
        } else if is(k, "null") {
            null = value(k + 1);
            k += 2;
        } else if t.kind == Kind::Word && is(k, "binary") {
            *binary = true;
            k += 1;
        } else {
            let message =
                format!("COPY option {} is not supported (format, header, delimiter, null)", t.text);
            return Err(unsupported(message));
        }
    }
    format.delimiter = delimiter.unwrap_or(if format.csv { ',' } else { '\t' });
    format.null = null.unwrap_or_else(|| if format.csv { String::new() } else { "\\N".into() });
    Ok(copy)
}

/// The byte offset of `word` (a token of `tokens`) in the statement.
fn offset(tokens: &[Token<'_>], word: &Token<'_>) -> usize {
    let mut at = 0;
    for t in tokens {
        if std::ptr::eq(t.text, word.text) {
            return at;
        }
        at += t.text.len();
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(sql: &str) -> Copy {
        parse(sql).unwrap().unwrap()
    }

    #[test]
    fn copy_statements_are_read_with_their_options() {
        let c = copy(
            "COPY (select tag, count from tag_totals where tag <> ')' order by count desc) TO STDOUT WITH (FORMAT csv, HEADER)",
        );
        assert_eq!(c.query, "select tag, count from tag_totals where tag <> ')' order by count desc");
        assert_eq!(c.format, TextFormat::csv());
        let c = copy("copy tag_totals (tag, count) to stdout");
        assert_eq!(c.query, "select tag, count from tag_totals");
        assert_eq!(c.format, TextFormat::text());
        let c = copy("COPY public.batches TO STDOUT WITH CSV HEADER DELIMITER ';'");
        assert_eq!(
            (c.query.as_str(), c.format.delimiter, c.format.header),
            ("select * from batches", ';', true)
        );
        assert_eq!(parse("copy t from stdin").unwrap().unwrap_err().code, "25006");
        assert_eq!(parse("copy t to '/etc/x'").unwrap().unwrap_err().code, "0A000");
        assert!(copy("copy (select 1) to stdout (format binary)").binary);
        assert!(copy("copy t to stdout with binary").binary);
        assert_eq!(parse("copy (select 1) to stdout (format xml)").unwrap().unwrap_err().code, "0A000");
        assert!(parse("select 1").is_none());
    }
}
