//! The engine's state store (`stream --checkpoint PATH`): the running state
//! (tag totals, exact per-day sums, the window's panes, the batch log) and,
//! for Kafka, the next offset of every partition, in one file that a restart
//! restores. The Kafka source resumes every partition from the saved offsets,
//! so a crash at any moment neither loses nor double-counts a message, with no
//! MongoDB at all (what Spark's checkpoint location does for Structured
//! Streaming).
//!
//! - **A batch costs what it changed.** Each save appends one record: the
//!   batch's tags and days with their new totals, its pane of the window, its
//!   row of the batch log, the offsets it reached ([`records`]).
//! - **A base, rewritten now and then.** The file starts with the whole state
//!   as of some batch (its base); the batch records follow. When they outgrow
//!   the base, a new file is written in the background from a snapshot of
//!   the tables (a copy of the tag tree is one reference) and swapped in with
//!   a rename; saves go on meanwhile ([`compact`]). A restart reads the base
//!   and the records after it: 10 million tags in a few seconds.
//! - **Atomic, not necessarily durable.** A killed process loses nothing
//!   saved; a power cut may lose the last batches, and is then reported as
//!   damage, never read as another state ([`log`]).
//! - **One engine.** The file is locked for the run: a second engine on it
//!   fails at once.
//! - **One configuration.** The file names the settings its state depends on
//!   ([`Identity`]); a run with others is refused unless `--checkpoint-reset`.
//! - **Any damage found.** Every byte is covered by a checksum or by the
//!   committed length; two running sums (all tag counts, all day counts) are
//!   checked on top. A damaged, truncated, empty or foreign file is an error
//!   that says so, never a silently wrong table.

mod compact;
mod crc;
mod encoding;
mod log;
mod records;

use crate::codec::{PartitionId, Topics};
use crate::engine::batch::{Batch, DayStats};
use crate::engine::outputs::{GiveUp, StateStore};
use crate::engine::ranked::Ranked;
use crate::engine::state::{Change, Saved};
use crate::engine::tables::BatchRow;
use crate::engine::window::Pane;
use crate::retry::Backoff;
use crate::sources::acks::{Acknowledge, PositionStore, Resume};
use crate::tweet::Day;
use compact::Compaction;
use log::{Damage, Log};
use records::Kind;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How many rows of the batch log are kept (those the `batches` table shows).
const BATCH_LOG: u64 = crate::engine::tables::BATCH_HISTORY as u64;

/// The settings a checkpoint's state depends on, as (flag, value): a run
/// whose values differ would add up other things, so it is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity(pub Vec<(&'static str, String)>);

/// How a checkpoint is opened.
#[derive(Clone, Debug)]
pub struct CheckpointConfig {
    pub path: PathBuf,
    /// Start over: the file's state is dropped (`--checkpoint-reset`).
    pub reset: bool,
    pub identity: Identity,
}

/// Kafka offsets saved with the state: (topic, partition) → where it resumes.
type Offsets = FxHashMap<(String, i32), Resume>;

/// The small parts of the state, which the store keeps a copy of for the
/// rewrites of the file (the tags, the large part, come from the engine).
#[derive(Clone, Debug, Default)]
struct Kept {
    seq: u64,
    days: BTreeMap<Day, DayStats>,
    /// Posts per language.
    langs: BTreeMap<crate::tweet::Lang, u64>,
    panes: VecDeque<(u64, Pane)>,
    batches: VecDeque<(u64, BatchRow)>,
    offsets: Offsets,
    /// All tag counts added up, and all day counts: checked on restore.
    tags_total: u64,
    days_count: u64,
}

/// The open file and what goes with it, behind one lock.
struct Open {
    log: Log,
    /// Where the batch records start (the size of the base).
    base_end: u64,
    kept: Kept,
    /// The file being written anew, if a rewrite is under way.
    compaction: Option<Compaction>,
    /// Batch records past the base that make a rewrite (at least).
    rewrite_at: u64,
}

/// An open checkpoint, locked for this run.
pub struct Checkpoint {
    open: Arc<Mutex<Open>>,
    path: PathBuf,
    identity: Arc<Vec<(String, String)>>,
    offsets: Arc<Mutex<Offsets>>,
    /// The names of a source's positions and its handle (epochs, commits):
    /// Kafka's topics, or a Jetstream's one position.
    kafka: Option<(Topics, Arc<dyn Acknowledge>)>,
}

/// The saved offsets, as the Kafka source reads them.
#[derive(Clone)]
pub struct SavedOffsets {
    topics: Topics,
    offsets: Arc<Mutex<Offsets>>,
}

/// A checkpoint that cannot be used as it is, in words for the user.
fn damaged(path: &Path, what: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "checkpoint {}: {what}. It is damaged or not a tweetstream checkpoint; its tables cannot be \
         trusted. Move it away (or run with --checkpoint-reset to start over, dropping it)",
        path.display()
    )
}

/// The path of a rewrite or a creation in progress, beside the file.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn lock(file: &File, path: &Path) -> anyhow::Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!("checkpoint {} is in use by another process (another engine?)", path.display())
        }
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("checkpoint {}: cannot lock it: {e}", path.display())
        }
    }
}

/// Whether another process holds the file's lock (a running engine).
fn held_by_another(path: &Path) -> bool {
    File::open(path).is_ok_and(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}

impl Checkpoint {
    /// Opens (or creates) the checkpoint and locks it; returns the saved state
    /// (None: a new checkpoint). Refuses a file of another configuration, and a
    /// damaged one.
    pub fn open(config: &CheckpointConfig) -> anyhow::Result<(Checkpoint, Option<Saved>)> {
        let path = &config.path;
        if config.reset {
            if held_by_another(path) {
                anyhow::bail!(
                    "checkpoint {} is in use by another process (another engine?): not starting it over",
                    path.display()
                );
            }
            match std::fs::remove_file(path) {
                Ok(()) => tracing::warn!("checkpoint {}: --checkpoint-reset: starting over", path.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => anyhow::bail!("checkpoint {}: cannot remove it: {e}", path.display()),
            }
        }
        let identity: Vec<(String, String)> =
            config.identity.0.iter().map(|(f, v)| ((*f).to_owned(), v.clone())).collect();
        let (open, saved) = match File::options().read(true).write(true).open(path) {
            Ok(file) => {
                lock(&file, path)?;
                let _ = std::fs::remove_file(sibling(path, ".compact"));
                let (open, saved) = restore(file, path, &identity)?;
                (open, Some(saved))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (create(path, &identity)?, None),
            Err(e) => anyhow::bail!("checkpoint {}: cannot open it: {e}", path.display()),
        };
        let offsets = open.kept.offsets.clone();
        if let Some(s) = &saved {
            tracing::info!(
                "checkpoint {}: restored {} batches, {} tags, {} days{}",
                path.display(),
                s.seq,
                s.totals.tags.len(),
                s.totals.days.len(),
                if offsets.is_empty() {
                    String::new()
                } else {
                    format!(", {} partition offsets", offsets.len())
                }
            );
        }
        let checkpoint = Checkpoint {
            open: Arc::new(Mutex::new(open)),
            path: path.clone(),
            identity: Arc::new(identity),
            offsets: Arc::new(Mutex::new(offsets)),
            kafka: None,
        };
        Ok((checkpoint, saved))
    }

    /// The saved offsets of `topics`, for the Kafka source.
    pub fn offsets(&self, topics: Topics) -> SavedOffsets {
        SavedOffsets { topics, offsets: self.offsets.clone() }
    }

    /// Connects the Kafka source's handle: stale parts are dropped, and saved
    /// offsets are committed to Kafka (for monitoring).
    pub fn acknowledge_to(&mut self, topics: Topics, acks: Arc<dyn Acknowledge>) {
        self.kafka = Some((topics, acks));
    }

    /// Waits for a rewrite under way to finish and swaps it in (tests, and a
    /// clean end of the run).
    pub fn settle(&self) -> anyhow::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        compact::finish(&mut open, &self.path, true)
    }
}

impl Drop for Checkpoint {
    fn drop(&mut self) {
        if let Err(e) = self.settle() {
            tracing::warn!("checkpoint {}: {e:#}", self.path.display());
        }
    }
}

/// A new checkpoint at `path`: written beside it and renamed into place, so
/// that a file at `path` is always a whole checkpoint.
fn create(path: &Path, identity: &[(String, String)]) -> anyhow::Result<Open> {
    let fail = |e: std::io::Error| anyhow::anyhow!("checkpoint {}: cannot create it: {e}", path.display());
    let new = sibling(path, ".new");
    let _ = std::fs::remove_file(&new);
    let kept = Kept::default();
    let log = compact::write_base(&new, identity, &Ranked::default(), &kept).map_err(fail)?;
    lock(log.file(), path)?;
    std::fs::rename(&new, path).map_err(fail)?;
    tracing::info!("checkpoint {}: created", path.display());
    let base_end = log.len();
    Ok(Open { log, base_end, kept, compaction: None, rewrite_at: compact::rewrite_at_least() })
}

/// Reads the file: its identity, its base, the batch records after it.
fn restore(file: File, path: &Path, identity: &[(String, String)]) -> anyhow::Result<(Open, Saved)> {
    let mut reading = records::Restore::default();
    let log = Log::open(file, |kind, payload| reading.take(kind, payload).map_err(Damage))
        .map_err(|Damage(why)| damaged(path, why))?;
    let stored = reading.identity.as_ref().ok_or_else(|| damaged(path, "it has no identity"))?;
    check_identity(path, stored, identity)?;
    let (kept, saved, base_end) = reading.finish().map_err(|why| damaged(path, why))?;
    Ok((Open { log, base_end, kept, compaction: None, rewrite_at: compact::rewrite_at_least() }, saved))
}

/// What a checkpoint holds, read without taking it (an engine may be
/// writing it): for `tweetstream checkpoint`.
pub struct Inspection {
    pub identity: Vec<(String, String)>,
    pub saved: Saved,
    /// Kafka offsets: (topic, partition, next offset).
    pub offsets: Vec<(String, i32, i64)>,
    /// The file's size, and its base's (the rest is batch records).
    pub bytes: u64,
    pub base_bytes: u64,
}

/// Reads the checkpoint at `path` as of its last save, changing nothing.
pub fn inspect(path: &Path) -> anyhow::Result<Inspection> {
    let file = File::open(path)
        .map_err(|e| anyhow::anyhow!("checkpoint {}: cannot open it: {e}", path.display()))?;
    let mut reading = records::Restore::default();
    let log = Log::read(file, false, |kind, payload| reading.take(kind, payload).map_err(Damage))
        .map_err(|Damage(why)| damaged(path, why))?;
    let identity = reading.identity.clone().ok_or_else(|| damaged(path, "it has no identity"))?;
    let (kept, saved, base_end) = reading.finish().map_err(|why| damaged(path, why))?;
    let mut offsets: Vec<_> = kept.offsets.iter().map(|((t, p), r)| (t.clone(), *p, r.next)).collect();
    offsets.sort();
    Ok(Inspection { identity, saved, offsets, bytes: log.len(), base_bytes: base_end })
}

/// Refuses a checkpoint written by another configuration, naming each difference.
fn check_identity(
    path: &Path,
    stored: &[(String, String)],
    identity: &[(String, String)],
) -> anyhow::Result<()> {
    let mut differences = Vec::new();
    for (flag, value) in identity {
        match stored.iter().find(|(f, _)| f == flag) {
            Some((_, s)) if s == value => {}
            Some((_, s)) => differences.push(format!("{flag} {s} (this run: {value})")),
            None => differences.push(format!("{flag} unknown (this run: {value})")),
        }
    }
    for (flag, value) in stored {
        if !identity.iter().any(|(f, _)| f == flag) {
            differences.push(format!("{flag} {value} (this run: none)"));
        }
    }
    if !differences.is_empty() {
        anyhow::bail!(
            "checkpoint {} was written by another configuration: {}. Its state would not add up with \
             this run's; run with the same settings, or with --checkpoint-reset to start over (its \
             state is dropped)",
            path.display(),
            differences.join(", ")
        );
    }
    Ok(())
}

#[async_trait::async_trait]
impl StateStore for Checkpoint {
    fn admit(&self, parts: &mut Vec<Batch>) {
        if let Some((_, acks)) = &self.kafka {
            parts.retain(|p| p.origin.is_none_or(|o| acks.epoch(o.partition) == Some(o.epoch)));
        }
    }

    async fn save(&mut self, change: &Change<'_>, give_up: &mut GiveUp<'_>) -> anyhow::Result<bool> {
        let offsets: Vec<(String, i32, i64, u64)> = match &self.kafka {
            Some((topics, _)) => change
                .origins
                .iter()
                .map(|o| (topics.name(o.partition.topic).to_owned(), o.partition.partition, o.next, o.last))
                .collect(),
            None => Vec::new(),
        };
        let bounded = records::bounded(&self.identity);
        let payload = records::batch(change, &offsets, bounded);
        let record = Arc::new((log::record(Kind::Batch as u8, &payload), payload));
        let mut backoff = Backoff::default();
        loop {
            let saving = std::time::Instant::now();
            match self.write(record.clone(), bounded, change.totals.clone()).await? {
                Ok(Ok(rewrite)) => {
                    crate::metrics::metrics().checkpoint_save.observe(saving.elapsed().as_secs_f64());
                    if let Err(e) = rewrite {
                        tracing::warn!(
                            error = %format!("{e:#}"),
                            "checkpoint {}: rewriting it failed ({e:#}); going on",
                            self.path.display()
                        );
                    }
                    break;
                }
                Ok(Err(e)) => {
                    let path = self.path.display();
                    return Err(e.context(format!("checkpoint {path}: batch {}", change.seq)));
                }
                Err(e) => {
                    let (path, seq) = (self.path.display(), change.seq);
                    tracing::warn!(error = %e, batch = seq, "checkpoint {path}: saving batch {seq} failed ({e}); retrying");
                    if !backoff.wait(&mut *give_up).await {
                        return Ok(false);
                    }
                }
            }
        }
        let mut saved = self.offsets.lock().unwrap_or_else(|e| e.into_inner());
        for (topic, partition, next, last) in offsets {
            saved.insert((topic, partition), Resume { next, last: Some(last) });
        }
        drop(saved);
        if let Some((_, acks)) = &self.kafka {
            let reached: Vec<(PartitionId, i64)> =
                change.origins.iter().map(|o| (o.partition, o.next)).collect();
            acks.stored(&reached);
        }
        Ok(true)
    }
}

impl Checkpoint {
    /// Appends a batch's record (its bytes and payload) off the async
    /// threads, applies it to the kept parts as a restore would, and rewrites
    /// the file if it is due. `Err`: the write failed (tried again); `Ok(Err)`:
    /// the record does not apply (a fault); `Ok(Ok(Err))`: the rewrite failed.
    async fn write(
        &self,
        record: Arc<(Vec<u8>, Vec<u8>)>,
        bounded: bool,
        totals: crate::engine::ranked::Ranked,
    ) -> anyhow::Result<Result<anyhow::Result<anyhow::Result<()>>, std::io::Error>> {
        let (open, path, identity) = (self.open.clone(), self.path.clone(), self.identity.clone());
        let written = tokio::task::spawn_blocking(move || {
            let (bytes, payload) = &*record;
            let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
            // Only a failed write is tried again; once the record is in
            // the file, the rest happens once.
            open.log.append_raw(bytes)?;
            if let Some(c) = &mut open.compaction {
                c.pending.extend_from_slice(bytes);
            }
            // The same record, applied to the store's copy of the small
            // parts, as a restore would apply it.
            let applied = records::apply(&mut open.kept, None, payload, bounded).map_err(anyhow::Error::msg);
            Ok::<_, std::io::Error>(
                applied.map(|()| compact::after_save(&mut open, &path, &identity, totals)),
            )
        })
        .await?;
        Ok(written)
    }
}

#[async_trait::async_trait]
impl PositionStore for SavedOffsets {
    async fn resume_from(&self, partition: PartitionId) -> anyhow::Result<Option<Resume>> {
        let key = (self.topics.name(partition.topic).to_owned(), partition.partition);
        Ok(self.offsets.lock().unwrap_or_else(|e| e.into_inner()).get(&key).copied())
    }

    async fn reset(&self, partition: PartitionId, _: i64) -> anyhow::Result<()> {
        anyhow::bail!(
            "{}: a checkpoint keeps one state for every partition, so one partition cannot be counted again",
            self.topics.describe(partition)
        )
    }

    fn recount_advice(&self) -> &'static str {
        "To start the checkpoint over, counting every partition again from its start, run with \
         --checkpoint-reset"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Chunk, LineCodec};
    use crate::engine::batch::Operators;
    use crate::engine::tables::TableKind;
    use crate::engine::window::WindowSpec;
    use crate::engine::{Applied, Engine};
    use crate::sentiment::Model;
    use crate::transforms::hashtags::HashtagMode;
    use crate::tweet::InputFormat;
    use bytes::BytesMut;
    use std::path::PathBuf;
    use std::time::Duration;
    use tokio_util::codec::Decoder;

    fn engine() -> Engine {
        bounded_engine(None)
    }

    /// An engine whose `tag_totals` keeps at most `max_tags` (None: all).
    fn bounded_engine(max_tags: Option<usize>) -> Engine {
        let ops = Operators {
            input: InputFormat::Json,
            hashtags: HashtagMode::Twitter,
            sentiment: Some(Model::TextBlob),
            select: crate::transforms::select::Select::default(),
            undated: crate::engine::batch::Undated::Skip,
        };
        Engine::new(ops, 2, Some(WindowSpec { size: 3, slide: 2 })).with_max_tags(max_tags)
    }

    /// The identity of the tests' checkpoints.
    fn identity(max_tags: Option<usize>) -> Identity {
        let mut entries = vec![("--window", "3s".to_owned())];
        entries.extend(max_tags.map(|m| ("--max-tags", m.to_string())));
        Identity(entries)
    }

    /// Batch `n`'s tweets: tags that come and go, days that repeat,
    /// languages (and none); every fourth batch is empty.
    fn lines(n: u64) -> String {
        if n.is_multiple_of(4) {
            return String::new();
        }
        (0..n % 5 + 1)
            .map(|i| {
                let day = 1 + (n + i) % 3;
                let lang = ["", r#","lang":"en""#, r#","lang":"es""#, r#","lang":"pt-BR""#][((n * 7 + i) % 4) as usize];
                format!(
                    "{{\"text\":\"#t{} #u{n} a good and very bad day\",\"created_at\":\"Sun Nov 0{day} 06:08:46 +0000 2015\"{lang}}}\n",
                    (n + i) % 3
                )
            })
            .collect()
    }

    async fn apply(engine: &mut Engine, n: u64) -> Applied {
        let text = lines(n);
        if !text.is_empty() {
            let chunk: Chunk =
                LineCodec::new(1 << 20).decode(&mut BytesMut::from(text.as_str())).unwrap().unwrap();
            engine.ingest(chunk).await;
        }
        let closed = engine.flush().await;
        engine.apply(closed, None, n as i64 * 1000, Duration::ZERO)
    }

    /// The tables a user compares (the batch log without its timings).
    fn tables(engine: &Engine) -> Vec<serde_json::Value> {
        let snap = engine.tables().snapshot();
        let mut all: Vec<serde_json::Value> =
            [TableKind::TagTotals, TableKind::TagWindow, TableKind::SentimentByDay, TableKind::Languages]
                .into_iter()
                .map(|k| serde_json::json!(snap.table(k.name(), None).unwrap().rows))
                .collect();
        all.push(serde_json::json!(
            snap.batches.iter().map(|b| (b.batch_time, b.records)).collect::<Vec<_>>()
        ));
        all
    }

    /// Stopped after any batch and restored from its checkpoint, an engine
    /// goes on to the same tables as one that never stopped: totals, exact
    /// per-day sums, the window at every slide, the batch log; with
    /// `--max-tags` (new tags every batch evict others), the same rows and
    /// errors.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restored_engine_goes_on_exactly_like_one_that_never_stopped() {
        for max_tags in [None, Some(3)] {
            restored_runs(max_tags).await;
        }
    }

    async fn restored_runs(max_tags: Option<usize>) {
        let last = 11;
        let mut original = bounded_engine(max_tags);
        let mut want = Vec::new();
        for n in 1..=last {
            let applied = apply(&mut original, n).await;
            original.publish(applied);
            want.push(tables(&original));
        }
        if max_tags.is_some() {
            let snap = original.tables().snapshot();
            assert_eq!(snap.tag_totals.len(), 3);
            assert!(snap.tag_totals.iter().any(|r| r.error > 0), "no tag was evicted");
        }
        let dir = scratch(&format!("restore-{max_tags:?}"));
        for stop in 1..last {
            let config = CheckpointConfig {
                path: dir.join(format!("stop{stop}.db")),
                reset: false,
                identity: identity(max_tags),
            };
            let (mut checkpoint, saved) = Checkpoint::open(&config).unwrap();
            assert!(saved.is_none());
            let mut first = bounded_engine(max_tags);
            for n in 1..=stop {
                let applied = apply(&mut first, n).await;
                let mut never: GiveUp<'_> = Box::pin(std::future::pending());
                assert!(checkpoint.save(&first.change(&applied), &mut never).await.unwrap());
                first.publish(applied);
            }
            drop(checkpoint);
            let (checkpoint, saved) = Checkpoint::open(&config).unwrap();
            let mut second = bounded_engine(max_tags);
            second.restore(saved.expect("saved"));
            assert_eq!(tables(&second), want[stop as usize - 1], "restored after batch {stop}");
            for n in stop + 1..=last {
                let applied = apply(&mut second, n).await;
                second.publish(applied);
                assert_eq!(tables(&second), want[n as usize - 1], "batch {n} after a stop at {stop}");
            }
            drop(checkpoint);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Runs `last` batches through an engine saving to a new checkpoint at
    /// `path` (rewritten whenever its records pass `rewrite_at` bytes);
    /// returns the engine's tables after each batch.
    async fn saved_run(path: &Path, last: u64, rewrite_at: u64) -> Vec<Vec<serde_json::Value>> {
        bounded_saved_run(path, last, rewrite_at, None).await
    }

    async fn bounded_saved_run(
        path: &Path,
        last: u64,
        rewrite_at: u64,
        max_tags: Option<usize>,
    ) -> Vec<Vec<serde_json::Value>> {
        let config = CheckpointConfig { path: path.to_owned(), reset: false, identity: identity(max_tags) };
        let (mut checkpoint, saved) = Checkpoint::open(&config).unwrap();
        assert!(saved.is_none());
        checkpoint.open.lock().unwrap().rewrite_at = rewrite_at;
        let mut engine = bounded_engine(max_tags);
        let mut all = Vec::new();
        for n in 1..=last {
            let applied = apply(&mut engine, n).await;
            let mut never: GiveUp<'_> = Box::pin(std::future::pending());
            assert!(checkpoint.save(&engine.change(&applied), &mut never).await.unwrap());
            engine.publish(applied);
            all.push(tables(&engine));
        }
        all
    }

    fn open(path: &Path) -> anyhow::Result<(Checkpoint, Option<Saved>)> {
        open_bounded(path, None)
    }

    fn open_bounded(path: &Path, max_tags: Option<usize>) -> anyhow::Result<(Checkpoint, Option<Saved>)> {
        Checkpoint::open(&CheckpointConfig {
            path: path.to_owned(),
            reset: false,
            identity: identity(max_tags),
        })
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tweetstream-state-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Rewritten many times while batches are saved, a checkpoint restores
    /// to the same tables as the engine that wrote it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_checkpoint_rewritten_while_it_is_saved_restores_the_same_state() {
        let dir = scratch("rewrite");
        let path = dir.join("state");
        let want = saved_run(&path, 40, 1).await;
        let (checkpoint, saved) = open(&path).unwrap();
        let mut restored = engine();
        restored.restore(saved.unwrap());
        assert_eq!(tables(&restored), want[want.len() - 1]);
        drop(checkpoint);
        // The file holds a base and the batches since, not every batch ever.
        let size = std::fs::metadata(&path).unwrap().len();
        let unrewritten = dir.join("plain");
        saved_run(&unrewritten, 40, u64::MAX).await;
        assert!(size < std::fs::metadata(&unrewritten).unwrap().len(), "rewritten: {size} bytes");
        assert!(!sibling(&path, ".compact").exists());
        // With --max-tags: the rows' errors are in the base too.
        let bounded = dir.join("bounded");
        let want = bounded_saved_run(&bounded, 40, 1, Some(4)).await;
        let (checkpoint, saved) = open_bounded(&bounded, Some(4)).unwrap();
        let mut restored = bounded_engine(Some(4));
        restored.restore(saved.unwrap());
        assert_eq!(tables(&restored), want[want.len() - 1]);
        drop(checkpoint);
        // A file of one setting is refused by a run of another.
        for other in [None, Some(5)] {
            let e = open_bounded(&bounded, other).err().expect("refused");
            assert!(e.to_string().contains("--max-tags 4"), "{e}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Any single byte flipped, any truncation (to 0 bytes too), any range
    /// cut out: the checkpoint is refused with an error that says it is
    /// damaged, never restored as some other state.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn any_damage_to_a_checkpoint_is_refused() {
        let dir = scratch("damage");
        let good = dir.join("good");
        saved_run(&good, 12, 2000).await;
        let bytes = std::fs::read(&good).unwrap();
        assert!(open(&good).is_ok());
        let copy = dir.join("copy");
        let refused = |damaged: &[u8], what: &str| {
            std::fs::write(&copy, damaged).unwrap();
            match open(&copy) {
                Ok(_) => panic!("{what}: accepted"),
                Err(e) => assert!(e.to_string().contains("It is damaged"), "{what}: {e}"),
            }
        };
        // Every byte, one bit at a time at a few bits (the checksums cover
        // all of them; see the log's own test for every bit).
        for at in 0..bytes.len() {
            let mut b = bytes.clone();
            b[at] ^= 1 << (at % 8);
            refused(&b, &format!("byte {at} flipped"));
        }
        for len in 0..bytes.len() {
            refused(&bytes[..len], &format!("truncated to {len} bytes"));
        }
        for from in (0..bytes.len()).step_by(97) {
            for n in [1, 64, 4096] {
                if from + n <= bytes.len() {
                    refused(
                        &[&bytes[..from], &bytes[from + n..]].concat(),
                        &format!("{n} bytes cut at {from}"),
                    );
                }
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
