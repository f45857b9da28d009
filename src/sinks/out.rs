//! `stream --out DIR`: the final tables written as files when the run ends,
//! one per table (`DIR/sentiment_by_day.csv`, …), as CSV with a header or as
//! JSON records ([`crate::sql::text`]). Each file is written to a temporary name
//! and renamed, so a reader never sees half a table.

use crate::engine::tables::Snapshot;
use crate::sql::text;
use anyhow::Context;
use std::path::{Path, PathBuf};

/// The files' format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutFormat {
    #[default]
    Csv,
    Json,
}

/// Writes every table of `snapshot` into `dir` (made if missing); returns the files.
pub fn write(dir: &Path, snapshot: &Snapshot, format: OutFormat) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("--out {}", dir.display()))?;
    let mut written = Vec::new();
    for name in snapshot.table_names() {
        let Some(table) = snapshot.table(name, None) else { continue };
        let columns: Vec<String> = table.columns.iter().map(|c| (*c).to_owned()).collect();
        let rows = table.rows.iter().map(Vec::as_slice);
        let (text, ext) = match format {
            OutFormat::Csv => (text::csv(&columns, rows), "csv"),
            OutFormat::Json => (serde_json::to_string_pretty(&text::records(&columns, rows))? + "\n", "json"),
        };
        let path = dir.join(format!("{name}.{ext}"));
        let partial = dir.join(format!(".{name}.{ext}.partial"));
        std::fs::write(&partial, text).with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &path).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
