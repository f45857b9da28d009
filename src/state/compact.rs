//! Rewriting a checkpoint whole: when the batch records after the base have
//! grown past a quarter of the base (and past [`REWRITE_AT_LEAST`]), a new file is
//! written beside it in the background, from a snapshot of the state as of
//! the last save: the tags in the tables' order (a copy of the engine's tree
//! is one reference, so the engine goes on meanwhile) and the store's copy of
//! the small parts. Saves go on into the old file and are kept for the new
//! one; when it is written, they are appended to it and it is renamed over
//! the old one, under the store's lock. A crash at any point leaves the old
//! file whole (the half-written one is removed at the next start).
//!
//! So a save never waits for a rewrite, the file stays at most about a
//! quarter larger than the state, and a restart replays at most that quarter
//! on top of the base.

use super::log::Log;
use super::records::{self, Kind, TAGS_PER_RECORD};
use super::{Kept, Open, sibling};
use crate::engine::ranked::Ranked;
use std::path::Path;
use std::thread::JoinHandle;

/// The batch records a file carries before it is rewritten, at least: a
/// small state is not rewritten every few batches. The environment variable
/// `TWEETSTREAM_CHECKPOINT_REWRITE_BYTES` sets another (tests use it to
/// rewrite often).
pub const REWRITE_AT_LEAST: u64 = 16 << 20;

pub fn rewrite_at_least() -> u64 {
    std::env::var("TWEETSTREAM_CHECKPOINT_REWRITE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(REWRITE_AT_LEAST)
}

/// A rewrite under way.
pub struct Compaction {
    handle: JoinHandle<std::io::Result<Log>>,
    /// Records saved since its snapshot, for the new file.
    pub pending: Vec<u8>,
}

/// A file holding `identity` and a base of `tags` and `kept`, at `path`
/// (which must not exist).
pub fn write_base(
    path: &Path,
    identity: &[(String, String)],
    tags: &Ranked,
    kept: &Kept,
) -> std::io::Result<Log> {
    let mut log = Log::create(path, &[(Kind::Identity as u8, records::identity(identity))])?;
    let bounded = records::bounded(identity);
    let mut rows = tags.iter();
    while rows.len() > 0 {
        let take = rows.len().min(TAGS_PER_RECORD);
        let chunk: Vec<_> = rows.by_ref().take(take).collect();
        log.append(Kind::BaseTags as u8, &records::tags(chunk.into_iter(), bounded))?;
    }
    for (kind, payload) in records::base_rest(kept, tags.len() as u64) {
        log.append(kind as u8, &payload)?;
    }
    Ok(log)
}

/// After a save: swaps in a finished rewrite, and starts one if the file
/// has outgrown its base. `totals` are the tags as of the save.
pub fn after_save(
    open: &mut Open,
    path: &Path,
    identity: &std::sync::Arc<Vec<(String, String)>>,
    totals: Ranked,
) -> anyhow::Result<()> {
    finish(open, path, false)?;
    let records = open.log.len() - open.base_end;
    if open.compaction.is_some() || records < open.rewrite_at.max(open.base_end / 4) {
        return Ok(());
    }
    let (new, kept, identity) = (sibling(path, ".compact"), open.kept.clone(), identity.clone());
    let _ = std::fs::remove_file(&new);
    tracing::info!(
        "checkpoint {}: rewriting it ({} bytes of batches on a base of {})",
        path.display(),
        records,
        open.base_end
    );
    let handle = std::thread::Builder::new()
        .name("checkpoint-rewrite".into())
        .spawn(move || write_base(&new, &identity, &totals, &kept))?;
    open.compaction = Some(Compaction { handle, pending: Vec::new() });
    Ok(())
}

/// Swaps in a finished rewrite (waiting for it if `wait`). A rewrite that
/// failed is dropped: the old file goes on.
pub fn finish(open: &mut Open, path: &Path, wait: bool) -> anyhow::Result<()> {
    let Some(c) = open.compaction.take_if(|c| wait || c.handle.is_finished()) else { return Ok(()) };
    let new = sibling(path, ".compact");
    let written = c.handle.join().unwrap_or_else(|_| Err(std::io::Error::other("the rewrite panicked")));
    let swapped = written.and_then(|mut log| {
        let base_end = log.len();
        log.append_raw(&c.pending)?;
        super::lock(log.file(), path).map_err(std::io::Error::other)?;
        std::fs::rename(&new, path)?;
        Ok((log, base_end))
    });
    match swapped {
        Ok((log, base_end)) => {
            tracing::info!("checkpoint {}: rewritten, {} bytes", path.display(), log.len());
            open.log = log;
            open.base_end = base_end;
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&new);
            anyhow::bail!("the rewrite failed: {e}")
        }
    }
}
