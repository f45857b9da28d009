//! Printing tables to the terminal: the timer query (by default the original
//! job's `select tag, count from tag_counts order by count desc limit 10`, run
//! through the SQL engine) and the final tables, as aligned text or one JSON
//! object per line.

use crate::engine::outputs::Reporter;
use crate::engine::tables::{Snapshot, Table, format_millis};
use crate::sql::SqlEngine;
use crate::time::now_millis;
use serde_json::{Value, json};
use std::io::{self, Write};
use std::sync::Arc;
use unicode_width::UnicodeWidthStr;

impl Reporter for Printer {
    fn timer(&mut self) -> io::Result<()> {
        self.print_timer()
    }

    fn finished(&mut self, snapshot: &Snapshot) -> io::Result<()> {
        self.print_final(snapshot)
    }
}

/// Output format of printed tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON object per table, one per line, for tools.
    Json,
}

pub struct Printer {
    pub format: OutputFormat,
    /// Rows per printed tag table (`None`: all).
    pub top: Option<usize>,
    /// What the timer prints: a statement and the engine that runs it.
    pub timer: Option<(Arc<SqlEngine>, String)>,
    out: Box<dyn Write + Send>,
}

impl Printer {
    pub fn new(format: OutputFormat, top: Option<usize>, out: Box<dyn Write + Send>) -> Self {
        Printer { format, top, timer: None, out }
    }

    pub fn stdout(format: OutputFormat, top: Option<usize>) -> Self {
        Self::new(format, top, Box::new(io::stdout()))
    }

    /// The timer query, on the latest batch. A failing statement is reported
    /// on stderr and the run goes on.
    pub fn print_timer(&mut self) -> io::Result<()> {
        let Some((sql, statement)) = &self.timer else { return Ok(()) };
        match sql.query(statement) {
            Ok(r) => {
                let statement = statement.clone();
                self.emit(("query", &statement), r.batch_time, &r.columns, &r.rows)
            }
            Err(e) => {
                tracing::error!("--print-sql: {e}");
                Ok(())
            }
        }
    }

    /// The final tables: tag totals, the window if there is one, sentiment
    /// per day, posts per language, and the batch log (always last).
    pub fn print_final(&mut self, snap: &Snapshot) -> io::Result<()> {
        let tables = [
            ("tag_totals", self.top),
            ("tag_window", self.top),
            ("sentiment_by_day", None),
            ("languages", self.top),
            ("batches", Some(20)),
        ];
        for (name, limit) in tables {
            if let Some(table) = snap.table(name, limit) {
                self.print(&table)?;
            }
        }
        self.out.flush()
    }

    pub fn print(&mut self, table: &Table) -> io::Result<()> {
        self.emit(("table", table.name), table.batch_time, &table.columns, &table.rows)
    }

    /// Prints rows titled `key: title` (a table's name, or the query).
    fn emit(
        &mut self,
        (key, title): (&str, &str),
        batch_time: Option<i64>,
        columns: &[impl AsRef<str> + serde::Serialize],
        rows: &[Vec<Value>],
    ) -> io::Result<()> {
        let now = now_millis();
        match self.format {
            OutputFormat::Json => {
                let mut obj = json!({
                    "time": format_millis(now),
                    "batch_time": batch_time.map(format_millis),
                    "columns": columns,
                    "rows": rows,
                });
                obj[key] = json!(title);
                writeln!(self.out, "{obj}")?;
            }
            OutputFormat::Table => {
                let batch = batch_time.map_or_else(|| "none yet".to_owned(), format_millis);
                writeln!(self.out, "-------------------------------------------")?;
                writeln!(self.out, "Time: {}  {title} (batch {batch})", format_millis(now))?;
                write_aligned(&mut self.out, columns, rows)?;
            }
        }
        self.out.flush()
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => format!("{f:.4}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Writes `rows` under `columns` as a text table: the first column left-aligned,
/// the others right-aligned. Widths are display columns, so that tags in CJK
/// (two columns per character) or with emoji line up like the others.
pub fn write_aligned(
    out: &mut dyn Write,
    columns: &[impl AsRef<str>],
    rows: &[Vec<Value>],
) -> io::Result<()> {
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| cells.iter().map(|r| r[i].width()).chain([columns[i].as_ref().width()]).max().unwrap_or(0))
        .collect();
    let line = |out: &mut dyn Write, row: &[String]| -> io::Result<()> {
        let mut s = String::new();
        for (i, c) in row.iter().enumerate() {
            let pad = widths[i] - c.width();
            // Text left-aligned, numbers right-aligned.
            if i == 0 {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str(&" ".repeat(pad + 2));
                s.push_str(c);
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    let header: Vec<String> = columns.iter().map(|c| c.as_ref().to_owned()).collect();
    line(out, &header)?;
    for row in &cells {
        line(out, row)?;
    }
    if cells.is_empty() {
        writeln!(out, "(no rows)")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_in_display_columns() {
        let rows: Vec<Vec<Value>> = [("#rust", 768), ("#日本語", 199), ("#café", 12), ("#🔥", 3)]
            .into_iter()
            .map(|(tag, n)| vec![Value::from(tag), Value::from(n)])
            .collect();
        let mut out = Vec::new();
        write_aligned(&mut out, &["tag", "count"], &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        // Counts are right-aligned: every line ends at the same display column.
        for l in &lines {
            assert_eq!(l.width(), lines[0].width(), "{text}");
        }
        assert!(lines[2].starts_with("#日本語 "), "{text}");
    }
}
