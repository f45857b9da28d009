//! `stream --file PATH`: files read at full speed into the stream, in any
//! format `replay` reads ([`crate::files::lines`]), so that analysing a file
//! takes one command. The source ends at the end of its files; a job whose
//! sources have all ended closes its last batch and stops.

use super::{Context, Source};
use crate::codec::Chunk;
use crate::files::lines::{self, Input, Selection};
use crate::tweet::InputFormat;
use futures_util::future::BoxFuture;
use std::path::PathBuf;

/// Checks the files can be read (before anything starts): each exists, is
/// text or Parquet, and has tweets; with `--input json` (the default), a
/// file of plain text lines is refused too (each line would be a bad
/// record), naming `--input text`.
pub async fn check(paths: &[PathBuf], input: InputFormat) -> anyhow::Result<()> {
    let inputs: Vec<Input> = paths.iter().cloned().map(Input::File).collect();
    let records = input == InputFormat::Json;
    tokio::task::spawn_blocking(move || lines::check_text(&inputs, records)).await??;
    Ok(())
}

/// Files read in order, at full speed (`--file`).
pub struct Files {
    pub paths: Vec<PathBuf>,
}

impl Source for Files {
    fn name(&self) -> String {
        let names: Vec<String> = self.paths.iter().map(|p| p.display().to_string()).collect();
        format!("file {}", names.join(", "))
    }

    /// Sends every line of the files as chunks; returns when all are sent
    /// or the engine is gone.
    fn run(self: Box<Self>, cx: Context) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            cx.status.set_connected(true);
            let inputs: Vec<Input> = self.paths.iter().cloned().map(Input::File).collect();
            let (tx, max_line_bytes) = (cx.tx.clone(), cx.max_line_bytes);
            let read = tokio::task::spawn_blocking(move || {
                lines::read_all(&inputs, Selection::default(), |l| {
                    tx.blocking_send(Chunk::from_lines(l.data, max_line_bytes, None)).is_ok()
                })
            })
            .await;
            cx.status.set_connected(false);
            let stats = read??;
            let skipped = match stats.skipped_bad {
                0 => String::new(),
                n => format!(" ({n} unreadable rows skipped)"),
            };
            tracing::info!(
                "file: read {} lines of {}{skipped}",
                stats.emitted,
                self.name().trim_start_matches("file ")
            );
            Ok(())
        })
    }
}
