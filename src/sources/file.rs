//! `stream --file PATH`: files read at full speed into the stream, in any
//! format `replay` reads ([`crate::files::lines`]), so that analysing a file
//! takes one command. The source ends at the end of its files; a job whose
//! sources have all ended closes its last batch and stops.

use super::SourceStatus;
use crate::codec::Chunk;
use crate::files::lines::{self, Input, Selection};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

/// Checks the files can be read (before anything starts): each exists, is
/// text or Parquet, and has tweets.
pub async fn check(paths: &[PathBuf]) -> anyhow::Result<()> {
    let inputs: Vec<Input> = paths.iter().cloned().map(Input::File).collect();
    tokio::task::spawn_blocking(move || lines::check_text(&inputs)).await??;
    Ok(())
}

/// Sends every line of `paths` (in order) as chunks; returns when all are
/// sent or the engine is gone.
pub async fn run(
    paths: Vec<PathBuf>,
    max_line_bytes: usize,
    tx: mpsc::Sender<Chunk>,
    status: Arc<SourceStatus>,
) -> anyhow::Result<()> {
    status.connected.store(true, Ordering::Relaxed);
    let inputs: Vec<Input> = paths.iter().cloned().map(Input::File).collect();
    let read = tokio::task::spawn_blocking(move || {
        lines::read_all(&inputs, Selection::default(), |l| {
            tx.blocking_send(Chunk::from_lines(l.data, max_line_bytes, None)).is_ok()
        })
    })
    .await;
    status.connected.store(false, Ordering::Relaxed);
    let stats = read??;
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let skipped = match stats.skipped_bad {
        0 => String::new(),
        n => format!(" ({n} unreadable rows skipped)"),
    };
    tracing::info!("file: read {} lines of {}{skipped}", stats.emitted, names.join(", "));
    Ok(())
}
