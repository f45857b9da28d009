//! The checkpoint (`stream --checkpoint PATH`): the engine's running state
//! (tag totals, per-day sums, the window's panes, the batch log) and, for
//! Kafka, the next offset of every partition, in one SQLite file written in
//! one transaction per batch. A restart restores the state and the Kafka
//! source resumes every partition from the saved offsets, so a crash at any
//! moment neither loses nor double-counts a message, with no MongoDB at all
//! (what Spark's checkpoint location does for Structured Streaming).
//!
//! - **Incremental.** A batch writes what it touched: its tags and days with
//!   their new totals, its pane of the window (and drops panes no longer
//!   needed), its row of the batch log, the offsets it reached.
//! - **Atomic, not necessarily durable.** The file is in WAL mode with
//!   `synchronous=NORMAL`: a killed process loses nothing saved; a power cut
//!   may lose the last batches saved, but never half of one, so state and
//!   offsets always agree (a Kafka run reads those batches again).
//! - **One engine.** The file is locked for the run (SQLite's exclusive
//!   locking mode): a second engine on it fails at once.
//! - **One configuration.** The file names the settings its state depends on
//!   ([`Identity`]); a run with others is refused unless `--checkpoint-reset`.
//! - **Checked on open.** SQLite's `quick_check`, the file's application id
//!   and schema version, every row's values, and two running sums kept beside
//!   the tables (all tag counts, all day counts): a damaged or truncated file
//!   is an error that says so, never a silently wrong table.

use crate::codec::{PartitionId, Topics};
use crate::engine::Totals;
use crate::engine::batch::{Batch, DayStats};
use crate::engine::exact_sum::ExactSum;
use crate::engine::outputs::{GiveUp, StateStore};
use crate::engine::ranked::{Row, Tag};
use crate::engine::state::{Change, Saved};
use crate::engine::tables::BatchRow;
use crate::engine::tag_table::TagTable;
use crate::engine::window::Pane;
use crate::retry::Backoff;
use crate::sources::acks::{Acknowledge, PositionStore, Resume};
use crate::tweet::date::parse_date;
use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// SQLite's application id of a checkpoint file ("TWST").
const APPLICATION_ID: i32 = 0x5457_5354;

/// The layout of the tables; a file of another version is refused.
const SCHEMA_VERSION: i32 = 1;

/// How many rows of the batch log are kept (those the `batches` table shows).
const BATCH_LOG: u64 = crate::engine::tables::BATCH_HISTORY as u64;

const SCHEMA: &str = "
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE tag_totals(tag TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE days(date TEXT PRIMARY KEY, sum_parts BLOB NOT NULL, count INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE panes(seq INTEGER PRIMARY KEY, tags BLOB NOT NULL);
CREATE TABLE batches(seq INTEGER PRIMARY KEY, batch_time INTEGER NOT NULL, records INTEGER NOT NULL,
                     bad_records INTEGER NOT NULL, undated INTEGER NOT NULL, filtered INTEGER NOT NULL,
                     processing_ms REAL NOT NULL, delay_ms REAL NOT NULL);
CREATE TABLE offsets(topic TEXT NOT NULL, partition INTEGER NOT NULL, next INTEGER NOT NULL,
                     last_fingerprint INTEGER NOT NULL, PRIMARY KEY(topic, partition)) WITHOUT ROWID;
";

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

/// An open checkpoint, locked for this run.
pub struct Checkpoint {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    offsets: Arc<Mutex<Offsets>>,
    /// The Kafka source's topics and its handle (epochs, commits), if Kafka.
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
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let file = PathBuf::from(format!("{}{suffix}", path.display()));
                match std::fs::remove_file(&file) {
                    Ok(()) if suffix.is_empty() => {
                        tracing::warn!("checkpoint {}: --checkpoint-reset: starting over", path.display());
                    }
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => anyhow::bail!("checkpoint {}: cannot remove it: {e}", file.display()),
                }
            }
        }
        let conn = Connection::open(path)
            .map_err(|e| anyhow::anyhow!("checkpoint {}: cannot open it: {e}", path.display()))?;
        lock(&conn, path)?;
        let saved = if !is_empty(&conn).map_err(|e| damaged(path, e))? {
            check_file(&conn, path)?;
            check_identity(&conn, path, &config.identity)?;
            Some(load(&conn, path)?)
        } else {
            create(&conn, &config.identity)
                .map_err(|e| anyhow::anyhow!("checkpoint {}: cannot create it: {e}", path.display()))?;
            tracing::info!("checkpoint {}: created", path.display());
            None
        };
        let offsets = load_offsets(&conn).map_err(|e| damaged(path, format!("offsets: {e}")))?;
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
            conn: Arc::new(Mutex::new(conn)),
            path: path.clone(),
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
}

/// Whether another process holds the file's lock (a running engine).
fn held_by_another(path: &Path) -> bool {
    let Ok(conn) = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE) else {
        return false;
    };
    let _ = conn.busy_timeout(std::time::Duration::ZERO);
    matches!(
        conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;"),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy
    )
}

/// Takes the file for this run: exclusive locking mode, held from the first
/// write to the end of the connection; a second engine fails at once.
fn lock(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    let result = (|| -> rusqlite::Result<()> {
        conn.busy_timeout(std::time::Duration::ZERO)?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A write takes the lock (an empty transaction would not).
        conn.execute_batch("BEGIN IMMEDIATE; PRAGMA user_version; COMMIT;")?;
        Ok(())
    })();
    match result {
        Ok(()) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy => {
            anyhow::bail!("checkpoint {} is in use by another process (another engine?)", path.display())
        }
        Err(rusqlite::Error::SqliteFailure(e, msg))
            if matches!(e.code, rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) =>
        {
            Err(damaged(path, msg.unwrap_or_else(|| e.to_string())))
        }
        Err(e) => anyhow::bail!("checkpoint {}: {e}", path.display()),
    }
}

/// Whether the file holds nothing yet: a new file, or one whose creation
/// was cut short (creating is one transaction, so nothing of it is there).
fn is_empty(conn: &Connection) -> rusqlite::Result<bool> {
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    let id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    Ok(objects == 0 && id == 0)
}

/// A new checkpoint: the tables, the identity, the running sums.
fn create(conn: &Connection, identity: &Identity) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN")?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    conn.execute_batch(SCHEMA)?;
    let mut insert = conn.prepare("INSERT INTO meta VALUES (?, ?)")?;
    for (flag, value) in &identity.0 {
        insert.execute(params![format!("config {flag}"), value])?;
    }
    for key in ["seq", "tags_total", "days_count"] {
        insert.execute(params![key, 0])?;
    }
    drop(insert);
    conn.execute_batch("COMMIT")
}

/// SQLite's own check of the file, then whether it is a checkpoint of ours.
fn check_file(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    let sqlite = |e: rusqlite::Error| damaged(path, e);
    let verdicts: Vec<String> = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite)?;
    if verdicts != ["ok"] {
        return Err(damaged(path, format!("SQLite's check says: {}", verdicts.join("; "))));
    }
    let id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(sqlite)?;
    if id != APPLICATION_ID {
        return Err(damaged(path, "it is an SQLite database of another kind"));
    }
    let version: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sqlite)?;
    if version != SCHEMA_VERSION {
        anyhow::bail!(
            "checkpoint {}: written in format {version}, which this version of tweetstream (format \
             {SCHEMA_VERSION}) cannot read; run with --checkpoint-reset to start over",
            path.display()
        );
    }
    Ok(())
}

/// Refuses a checkpoint written by another configuration, naming each difference.
fn check_identity(conn: &Connection, path: &Path, identity: &Identity) -> anyhow::Result<()> {
    let mut differences = Vec::new();
    for (flag, value) in &identity.0 {
        let stored: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = ?", [format!("config {flag}")], |r| r.get(0))
            .optional()
            .map_err(|e| damaged(path, e))?;
        match stored {
            Some(s) if &s == value => {}
            Some(s) => differences.push(format!("{flag} {s} (this run: {value})")),
            None => differences.push(format!("{flag} unknown (this run: {value})")),
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

/// Reads a count column as u64 (counts are never negative).
fn count(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let n: i64 = row.get(i)?;
    u64::try_from(n).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, n))
}

/// Why the file's contents cannot be trusted.
struct Bad(String);

impl From<rusqlite::Error> for Bad {
    fn from(e: rusqlite::Error) -> Bad {
        Bad(e.to_string())
    }
}

/// The saved state, with every value and the running sums checked.
fn load(conn: &Connection, path: &Path) -> anyhow::Result<Saved> {
    read_state(conn).map_err(|Bad(why)| damaged(path, why))
}

fn read_state(conn: &Connection) -> Result<Saved, Bad> {
    let meta = |key: &str| -> Result<u64, Bad> {
        conn.query_row("SELECT value FROM meta WHERE key = ?", [key], |r| count(r, 0))
            .map_err(|e| Bad(format!("{key}: {e}")))
    };
    let seq = meta("seq")?;
    let mut totals = Totals::default();
    let mut sum = 0u64;
    let mut tags = Vec::new();
    // In the key's order, which is the tags' (BINARY collation compares bytes
    // as `str` does): the tables' order is then one stable sort by count.
    let mut rows = conn.prepare("SELECT tag, count FROM tag_totals ORDER BY tag")?;
    let mut q = rows.query([])?;
    while let Some(r) = q.next()? {
        let tag = r.get_ref(0)?.as_str().map_err(|e| Bad(format!("tag_totals: {e}")))?;
        let n = count(r, 1)?;
        if tag.is_empty() || n == 0 {
            return Err(Bad("tag_totals: an empty tag or a zero count".into()));
        }
        sum = sum.saturating_add(n);
        tags.push(Row { tag: tag.into(), count: n });
    }
    totals.tags = TagTable::from_rows_in_tag_order(tags);
    let saved = meta("tags_total")?;
    if sum != saved {
        return Err(Bad(format!("its tag counts add up to {sum}, not to the {saved} it saved")));
    }
    let mut rows = conn.prepare("SELECT date, sum_parts, count FROM days")?;
    let mut q = rows.query([])?;
    let mut sum = 0u64;
    while let Some(r) = q.next()? {
        let (date, parts, n): (String, Vec<u8>, u64) = (r.get(0)?, r.get(1)?, count(r, 2)?);
        let day = parse_date(&date).ok_or_else(|| Bad(format!("days: bad date {date:?}")))?;
        let day_sum = sum_from_bytes(&parts).ok_or_else(|| Bad(format!("days: bad sum of {date}")))?;
        sum = sum.saturating_add(n);
        totals.days.insert(day, DayStats { sum: day_sum, count: n });
    }
    let saved = meta("days_count")?;
    if sum != saved {
        return Err(Bad(format!("its days count {sum} tweets, not the {saved} it saved")));
    }
    Ok(Saved { seq, totals, panes: read_panes(conn, seq)?, batches: read_batches(conn, seq)? })
}

/// The window's panes, by batch number.
fn read_panes(conn: &Connection, seq: u64) -> Result<Vec<(u64, Pane)>, Bad> {
    let mut panes = Vec::new();
    let mut rows = conn.prepare("SELECT seq, tags FROM panes ORDER BY seq")?;
    let mut q = rows.query([])?;
    while let Some(r) = q.next()? {
        let (n, bytes): (u64, Vec<u8>) = (count(r, 0)?, r.get(1)?);
        if n > seq {
            return Err(Bad(format!("panes: a pane of batch {n}, after the last batch {seq}")));
        }
        panes.push((n, pane_from_bytes(&bytes).ok_or_else(|| Bad(format!("panes: bad pane of batch {n}")))?));
    }
    Ok(panes)
}

/// The batch log, oldest first; it ends with batch `seq`.
fn read_batches(conn: &Connection, seq: u64) -> Result<Vec<BatchRow>, Bad> {
    let mut rows = conn.prepare(
        "SELECT seq, batch_time, records, bad_records, undated, filtered, processing_ms, delay_ms \
         FROM batches ORDER BY seq",
    )?;
    let batches: Vec<(u64, BatchRow)> = rows
        .query_map([], |r| {
            let row = BatchRow {
                batch_time: r.get(1)?,
                records: count(r, 2)?,
                bad_records: count(r, 3)?,
                undated: count(r, 4)?,
                filtered: count(r, 5)?,
                processing_ms: r.get(6)?,
                delay_ms: r.get(7)?,
            };
            Ok((count(r, 0)?, row))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if batches.last().is_some_and(|(n, _)| *n != seq) {
        return Err(Bad(format!("its batch log does not end with its last batch, {seq}")));
    }
    Ok(batches.into_iter().map(|(_, b)| b).collect())
}

fn load_offsets(conn: &Connection) -> rusqlite::Result<Offsets> {
    let mut rows = conn.prepare("SELECT topic, partition, next, last_fingerprint FROM offsets")?;
    rows.query_map([], |r| {
        let last: i64 = r.get(3)?;
        Ok(((r.get(0)?, r.get(1)?), Resume { next: r.get(2)?, last: Some(last as u64) }))
    })?
    .collect()
}

/// A day's exact sum as bytes: the doubles whose exact sum it is, little-endian.
fn sum_to_bytes(sum: &ExactSum) -> Vec<u8> {
    sum.to_parts().iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn sum_from_bytes(bytes: &[u8]) -> Option<ExactSum> {
    if !bytes.len().is_multiple_of(8) {
        return None;
    }
    let parts: Vec<f64> =
        bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect();
    ExactSum::from_parts(&parts)
}

/// A batch's tag counts as one value: per tag, its length (u32), its bytes
/// and its count (u64), little-endian. One row per pane instead of one per
/// tag makes saving and dropping a pane one write each.
fn pane_to_bytes(pane: &[Row]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(pane.iter().map(|r| r.tag.len() + 12).sum());
    for Row { tag, count } in pane {
        bytes.extend_from_slice(&(tag.len() as u32).to_le_bytes());
        bytes.extend_from_slice(tag.as_bytes());
        bytes.extend_from_slice(&count.to_le_bytes());
    }
    bytes
}

fn pane_from_bytes(mut bytes: &[u8]) -> Option<Pane> {
    let mut pane = Pane::new();
    let mut seen = rustc_hash::FxHashSet::default();
    while !bytes.is_empty() {
        let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let tag = std::str::from_utf8(bytes.get(4..4 + len)?).ok()?;
        let n = u64::from_le_bytes(bytes.get(4 + len..12 + len)?.try_into().ok()?);
        if tag.is_empty() || n == 0 || !seen.insert(tag) {
            return None;
        }
        pane.push((tag.into(), n));
        bytes = &bytes[12 + len..];
    }
    Some(pane)
}

/// A batch's change as owned values, for the blocking write.
struct Rows {
    seq: u64,
    tags: Vec<(Tag, i64)>,
    days: Vec<(String, Vec<u8>, i64)>,
    pane: Option<Vec<u8>>,
    keep_panes_from: u64,
    row: BatchRow,
    offsets: Vec<(String, i32, i64, u64)>,
    added_tags: u64,
    added_days: u64,
}

/// Counts as SQLite integers (a count beyond i64 would take 9 × 10^18 tweets).
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Rows {
    fn of(change: &Change<'_>, topics: Option<&Topics>) -> Rows {
        let offsets = match topics {
            Some(topics) => change
                .origins
                .iter()
                .map(|o| (topics.name(o.partition.topic).to_owned(), o.partition.partition, o.next, o.last))
                .collect(),
            None => Vec::new(),
        };
        // In tag order: neighbouring keys of the b-tree are written together.
        let mut tags: Vec<(Tag, i64)> = change.tags.iter().map(|(t, n)| (t.clone(), int(*n))).collect();
        tags.sort_unstable();
        Rows {
            seq: change.seq,
            tags,
            days: change
                .days
                .iter()
                .map(|(d, s)| (d.to_string(), sum_to_bytes(&s.sum), int(s.count)))
                .collect(),
            pane: change.pane.map(pane_to_bytes),
            keep_panes_from: change.keep_panes_from,
            row: change.row.clone(),
            offsets,
            added_tags: change.counted.0,
            added_days: change.counted.1,
        }
    }

    /// Writes the change in one transaction.
    fn write(&self, conn: &mut Connection) -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare_cached("INSERT OR REPLACE INTO tag_totals VALUES (?, ?)")?;
            for (tag, n) in &self.tags {
                put.execute(params![&**tag, n])?;
            }
            let mut put = tx.prepare_cached("INSERT OR REPLACE INTO days VALUES (?, ?, ?)")?;
            for (date, parts, n) in &self.days {
                put.execute(params![date, parts, n])?;
            }
            if let Some(pane) = &self.pane {
                if !pane.is_empty() {
                    tx.prepare_cached("INSERT INTO panes VALUES (?, ?)")?
                        .execute(params![int(self.seq), pane])?;
                }
                tx.prepare_cached("DELETE FROM panes WHERE seq < ?")?.execute([int(self.keep_panes_from)])?;
            }
            let b = &self.row;
            tx.prepare_cached("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)")?.execute(params![
                int(self.seq),
                b.batch_time,
                int(b.records),
                int(b.bad_records),
                int(b.undated),
                int(b.filtered),
                b.processing_ms,
                b.delay_ms
            ])?;
            tx.prepare_cached("DELETE FROM batches WHERE seq <= ?")?
                .execute([int(self.seq.saturating_sub(BATCH_LOG))])?;
            let mut put = tx.prepare_cached("INSERT OR REPLACE INTO offsets VALUES (?, ?, ?, ?)")?;
            for (topic, partition, next, last) in &self.offsets {
                put.execute(params![topic, partition, next, *last as i64])?;
            }
            let mut meta = tx.prepare_cached("UPDATE meta SET value = ? WHERE key = ?")?;
            meta.execute(params![int(self.seq), "seq"])?;
            let mut add = tx.prepare_cached("UPDATE meta SET value = value + ? WHERE key = ?")?;
            add.execute(params![int(self.added_tags), "tags_total"])?;
            add.execute(params![int(self.added_days), "days_count"])?;
        }
        tx.commit()
    }
}

#[async_trait::async_trait]
impl StateStore for Checkpoint {
    fn admit(&self, parts: &mut Vec<Batch>) {
        if let Some((_, acks)) = &self.kafka {
            parts.retain(|p| p.origin.is_none_or(|o| acks.epoch(o.partition) == Some(o.epoch)));
        }
    }

    async fn save(&mut self, change: &Change<'_>, give_up: &mut GiveUp<'_>) -> anyhow::Result<bool> {
        let rows = Arc::new(Rows::of(change, self.kafka.as_ref().map(|(t, _)| t)));
        let mut backoff = Backoff::default();
        loop {
            let saving = std::time::Instant::now();
            let (conn, rows_) = (self.conn.clone(), rows.clone());
            let written = tokio::task::spawn_blocking(move || {
                rows_.write(&mut conn.lock().unwrap_or_else(|e| e.into_inner()))
            })
            .await?;
            match written {
                Ok(()) => {
                    crate::metrics::metrics().checkpoint_save.observe(saving.elapsed().as_secs_f64());
                    break;
                }
                Err(e) => {
                    tracing::warn!(
                        "checkpoint {}: saving batch {} failed ({e}); retrying",
                        self.path.display(),
                        rows.seq
                    );
                    if !backoff.wait(&mut *give_up).await {
                        return Ok(false);
                    }
                }
            }
        }
        let mut offsets = self.offsets.lock().unwrap_or_else(|e| e.into_inner());
        for (topic, partition, next, last) in &rows.offsets {
            offsets.insert((topic.clone(), *partition), Resume { next: *next, last: Some(*last) });
        }
        drop(offsets);
        if let Some((_, acks)) = &self.kafka {
            let reached: Vec<(PartitionId, i64)> =
                change.origins.iter().map(|o| (o.partition, o.next)).collect();
            acks.stored(&reached);
        }
        Ok(true)
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
    use std::time::Duration;
    use tokio_util::codec::Decoder;

    fn engine() -> Engine {
        let ops = Operators {
            input: InputFormat::Json,
            hashtags: HashtagMode::Twitter,
            sentiment: Some(Model::TextBlob),
            track: None,
        };
        Engine::new(ops, 2, Some(WindowSpec { size: 3, slide: 2 }))
    }

    /// Batch `n`'s tweets: tags that come and go, days that repeat; every
    /// fourth batch is empty.
    fn lines(n: u64) -> String {
        if n.is_multiple_of(4) {
            return String::new();
        }
        (0..n % 5 + 1)
            .map(|i| {
                let day = 1 + (n + i) % 3;
                format!(
                    "{{\"text\":\"#t{} #u{n} a good and very bad day\",\"created_at\":\"Sun Nov 0{day} 06:08:46 +0000 2015\"}}\n",
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
            [TableKind::TagTotals, TableKind::TagWindow, TableKind::SentimentByDay]
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
    /// per-day sums, the window at every slide, the batch log.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restored_engine_goes_on_exactly_like_one_that_never_stopped() {
        let last = 11;
        let mut original = engine();
        let mut want = Vec::new();
        for n in 1..=last {
            let applied = apply(&mut original, n).await;
            original.publish(applied);
            want.push(tables(&original));
        }
        let dir = std::env::temp_dir().join(format!("tweetstream-ck-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for stop in 1..last {
            let config = CheckpointConfig {
                path: dir.join(format!("stop{stop}.db")),
                reset: false,
                identity: Identity(vec![("--window", "3s".into())]),
            };
            let (mut checkpoint, saved) = Checkpoint::open(&config).unwrap();
            assert!(saved.is_none());
            let mut first = engine();
            for n in 1..=stop {
                let applied = apply(&mut first, n).await;
                let mut never: GiveUp<'_> = Box::pin(std::future::pending());
                assert!(checkpoint.save(&first.change(&applied), &mut never).await.unwrap());
                first.publish(applied);
            }
            drop(checkpoint);
            let (checkpoint, saved) = Checkpoint::open(&config).unwrap();
            let mut second = engine();
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

    #[test]
    fn panes_round_trip_through_bytes_and_damaged_ones_are_refused() {
        let pane: Vec<Row> = [("#a", 3), ("#日本語", 1), ("#z", u64::MAX)]
            .into_iter()
            .map(|(t, count)| Row { tag: t.into(), count })
            .collect();
        let bytes = pane_to_bytes(&pane);
        let back = pane_from_bytes(&bytes).unwrap();
        assert_eq!(back, pane.iter().map(|r| (r.tag.clone(), r.count)).collect::<Pane>());
        assert_eq!(pane_from_bytes(&[]), Some(Pane::new()));
        // A tag twice is refused.
        let twice = pane_to_bytes(&[pane[0].clone(), pane[0].clone()]);
        assert_eq!(pane_from_bytes(&twice), None);
        // Cut anywhere but between two tags: refused.
        let ends: Vec<usize> =
            pane.iter().scan(0, |end, r| Some(*end + r.tag.len() + 12).inspect(|e| *end = *e)).collect();
        for cut in (1..bytes.len()).filter(|c| !ends.contains(c)) {
            assert_eq!(pane_from_bytes(&bytes[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn exact_sums_round_trip_through_bytes_and_bad_bytes_are_refused() {
        let mut sum = ExactSum::default();
        for x in [0.1, -1.0 / 3.0, 1e-300, 7.25] {
            sum.add(x);
        }
        assert_eq!(sum_from_bytes(&sum_to_bytes(&sum)), Some(sum));
        assert_eq!(sum_from_bytes(&[1, 2, 3]), None);
        assert_eq!(sum_from_bytes(&f64::NAN.to_le_bytes()), None);
    }
}
