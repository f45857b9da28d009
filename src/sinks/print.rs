//! Printing tables to the terminal: the timer query of the original job
//! (`select tag, count from tag_counts order by count desc limit 10`) and the
//! final tables, as aligned text or one JSON object per line.

use crate::engine::clock::now_millis;
use crate::engine::tables::{Snapshot, Table, format_millis};
use serde_json::{Value, json};
use std::io::{self, Write};

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
    /// The table the timer prints: `tag_counts` (the original query), or
    /// `sentiment_by_day` (the Kafka lab's global table after each batch).
    pub timer_table: String,
    out: Box<dyn Write + Send>,
}

impl Printer {
    pub fn new(format: OutputFormat, top: Option<usize>, out: Box<dyn Write + Send>) -> Self {
        Printer { format, top, timer_table: "tag_counts".into(), out }
    }

    pub fn stdout(format: OutputFormat, top: Option<usize>) -> Self {
        Self::new(format, top, Box::new(io::stdout()))
    }

    /// The timer query: by default the top tags of the latest batch.
    pub fn print_timer(&mut self, snap: &Snapshot) -> io::Result<()> {
        let limit = if self.timer_table.starts_with("tag_") { self.top } else { None };
        match snap.table(&self.timer_table, limit) {
            Some(table) => self.print(&table),
            None => Ok(()),
        }
    }

    /// The final tables: tag totals, sentiment per day, and the batch log.
    pub fn print_final(&mut self, snap: &Snapshot) -> io::Result<()> {
        for (name, limit) in [("tag_totals", self.top), ("sentiment_by_day", None), ("batches", Some(20))] {
            let table = snap.table(name, limit).expect("known table");
            self.print(&table)?;
        }
        self.out.flush()
    }

    pub fn print(&mut self, table: &Table) -> io::Result<()> {
        let now = now_millis();
        match self.format {
            OutputFormat::Json => {
                let obj = json!({
                    "time": format_millis(now),
                    "table": table.name,
                    "batch_time": table.batch_time.map(format_millis),
                    "columns": table.columns,
                    "rows": table.rows,
                });
                writeln!(self.out, "{obj}")?;
            }
            OutputFormat::Table => {
                let batch = table.batch_time.map_or_else(|| "none yet".to_owned(), format_millis);
                writeln!(self.out, "-------------------------------------------")?;
                writeln!(self.out, "Time: {}  {} (batch {batch})", format_millis(now), table.name)?;
                write_aligned(&mut self.out, table)?;
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

fn write_aligned(out: &mut dyn Write, table: &Table) -> io::Result<()> {
    let cells: Vec<Vec<String>> = table.rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    let widths: Vec<usize> = (0..table.columns.len())
        .map(|i| {
            cells.iter().map(|r| r[i].chars().count()).chain([table.columns[i].len()]).max().unwrap_or(0)
        })
        .collect();
    let line = |out: &mut dyn Write, row: &[String]| -> io::Result<()> {
        let mut s = String::new();
        for (i, c) in row.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
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
    let header: Vec<String> = table.columns.iter().map(|c| c.to_string()).collect();
    line(out, &header)?;
    for row in &cells {
        line(out, row)?;
    }
    if cells.is_empty() {
        writeln!(out, "(no rows)")?;
    }
    Ok(())
}
