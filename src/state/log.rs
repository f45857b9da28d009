//! The checkpoint's file: two header slots, then records, each with its
//! CRC-32C, appended one per saved batch. Every byte of a file that was
//! closed cleanly is covered by a checksum or by the committed length, so
//! any damage is found when it is opened: a flipped byte fails its record's
//! or its slot's checksum, a truncated file (at any length, 0 included) or a
//! file with a range cut out is shorter than the length its header commits.
//!
//! ```text
//! slot A (64 bytes) | slot B (64 bytes) | record | record | ...
//! slot:   "TWSTCKPT" | version u32 | generation u64 | committed u64 | zeros | crc u32
//! record: length u32 | kind u8 | payload | crc u32 (of length, kind and payload)
//! ```
//!
//! A save appends its record, then writes the slot of the next generation
//! (alternating A and B) with the new committed length: one write each, so a
//! process killed at any moment leaves either the old length (the new record
//! is a tail past it, dropped when the file is next opened) or the new one.
//! The header slot with the higher generation is the file's; both must be
//! intact. Nothing is synced to disk here: like SQLite's `synchronous=NORMAL`,
//! a power cut may lose the last batches (and is then reported as damage,
//! never read as a shorter state), a killed process loses nothing saved.

use super::crc::{Crc, crc32c};
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

const MAGIC: [u8; 8] = *b"TWSTCKPT";
/// The layout; a file of another version is refused. (Version 1 was an
/// SQLite file, which starts otherwise.)
pub const VERSION: u32 = 2;
const SLOT_BYTES: usize = 64;
const RECORDS_START: u64 = 2 * SLOT_BYTES as u64;
/// The largest record payload read (a damaged length never allocates more).
const MAX_PAYLOAD: u32 = 1 << 30;

/// Why a file cannot be read as a checkpoint, in words.
#[derive(Debug, PartialEq, Eq)]
pub struct Damage(pub String);

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn damage(what: impl Into<String>) -> Damage {
    Damage(what.into())
}

/// An open checkpoint file, appended to.
pub struct Log {
    file: File,
    committed: u64,
    generation: u64,
}

/// One record's bytes as they are written.
pub fn record(kind: u8, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("a record under 4 GiB");
    let mut out = Vec::with_capacity(payload.len() + 9);
    out.extend_from_slice(&len.to_le_bytes());
    out.push(kind);
    out.extend_from_slice(payload);
    let crc = crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn slot(generation: u64, committed: u64) -> [u8; SLOT_BYTES] {
    let mut s = [0u8; SLOT_BYTES];
    s[..8].copy_from_slice(&MAGIC);
    s[8..12].copy_from_slice(&VERSION.to_le_bytes());
    s[12..20].copy_from_slice(&generation.to_le_bytes());
    s[20..28].copy_from_slice(&committed.to_le_bytes());
    let crc = crc32c(&s[..SLOT_BYTES - 4]);
    s[SLOT_BYTES - 4..].copy_from_slice(&crc.to_le_bytes());
    s
}

/// A slot's (generation, committed length).
fn read_slot(s: &[u8], name: &str) -> Result<(u64, u64), Damage> {
    if s[..8] != MAGIC {
        return Err(damage("it does not start as a tweetstream checkpoint does"));
    }
    let version = u32::from_le_bytes(s[8..12].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(s[SLOT_BYTES - 4..].try_into().expect("4 bytes"));
    if crc != crc32c(&s[..SLOT_BYTES - 4]) {
        return Err(damage(format!("header slot {name} fails its checksum")));
    }
    if version != VERSION {
        return Err(damage(format!(
            "it is in format {version}, which this version (format {VERSION}) cannot read"
        )));
    }
    let word = |at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    Ok((word(12), word(20)))
}

impl Log {
    /// Writes a new file at `path` (replacing nothing: it must not exist)
    /// holding `records` ((kind, payload) each), committed.
    pub fn create(path: &Path, records: &[(u8, Vec<u8>)]) -> std::io::Result<Log> {
        let file = File::options().read(true).write(true).create_new(true).open(path)?;
        let mut log = Log { file, committed: RECORDS_START, generation: 0 };
        log.file.write_all_at(&slot(0, RECORDS_START), 0)?;
        log.file.write_all_at(&slot(1, RECORDS_START), SLOT_BYTES as u64)?;
        log.generation = 1;
        for (kind, payload) in records {
            log.append(*kind, payload)?;
        }
        Ok(log)
    }

    /// Opens `file`, checks its header, drops a tail past the committed
    /// length (a save cut short by a crash), and calls `each` with every
    /// committed record in order (kind, payload).
    pub fn open(file: File, each: impl FnMut(u8, &[u8]) -> Result<(), Damage>) -> Result<Log, Damage> {
        Log::read(file, true, each)
    }

    /// [`Log::open`], with a tail past the committed length left in place
    /// when `drop_tail` is false (reading a file an engine writes).
    pub fn read(
        file: File,
        drop_tail: bool,
        mut each: impl FnMut(u8, &[u8]) -> Result<(), Damage>,
    ) -> Result<Log, Damage> {
        let io = |e: std::io::Error| damage(format!("it cannot be read: {e}"));
        let len = file.metadata().map_err(io)?.len();
        if len == 0 {
            return Err(damage("it is empty"));
        }
        if len < RECORDS_START {
            return Err(damage(format!("it is {len} bytes, shorter than a checkpoint's header")));
        }
        let mut header = [0u8; 2 * SLOT_BYTES];
        file.read_exact_at(&mut header, 0).map_err(io)?;
        let a = read_slot(&header[..SLOT_BYTES], "A")?;
        let b = read_slot(&header[SLOT_BYTES..], "B")?;
        let (generation, committed) = a.max(b);
        if generation == a.0.min(b.0) || generation - a.0.min(b.0) != 1 {
            return Err(damage("its two header slots are not of one generation and the next"));
        }
        if committed < RECORDS_START {
            return Err(damage("its header commits fewer bytes than the header itself"));
        }
        if len < committed {
            return Err(damage(format!("it is {len} bytes, but {committed} were saved: truncated")));
        }
        if len > committed && drop_tail {
            tracing::info!("checkpoint: dropping {} bytes of a save cut short", len - committed);
            file.set_len(committed).map_err(io)?;
        }
        let mut reader = BufReader::with_capacity(1 << 20, &file);
        std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(RECORDS_START)).map_err(io)?;
        let mut at = RECORDS_START;
        let mut payload = Vec::new();
        while at < committed {
            let mut head = [0u8; 5];
            reader.read_exact(&mut head).map_err(io)?;
            let size = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
            let end = at + 9 + u64::from(size);
            if size > MAX_PAYLOAD || end > committed {
                return Err(damage(format!("the record at byte {at} runs past the saved length")));
            }
            payload.resize(size as usize, 0);
            reader.read_exact(&mut payload).map_err(io)?;
            let mut crc_bytes = [0u8; 4];
            reader.read_exact(&mut crc_bytes).map_err(io)?;
            let mut crc = Crc::default();
            crc.update(&head);
            crc.update(&payload);
            if crc.finish() != u32::from_le_bytes(crc_bytes) {
                return Err(damage(format!("the record at byte {at} fails its checksum")));
            }
            each(head[4], &payload)?;
            at = end;
        }
        Ok(Log { file, committed, generation })
    }

    /// Appends a record and commits it.
    pub fn append(&mut self, kind: u8, payload: &[u8]) -> std::io::Result<()> {
        self.append_raw(&record(kind, payload))
    }

    /// Appends records already encoded ([`record`]) and commits them.
    pub fn append_raw(&mut self, records: &[u8]) -> std::io::Result<()> {
        self.file.write_all_at(records, self.committed)?;
        let committed = self.committed + records.len() as u64;
        let generation = self.generation + 1;
        let at = (generation % 2) * SLOT_BYTES as u64;
        self.file.write_all_at(&slot(generation, committed), at)?;
        (self.committed, self.generation) = (committed, generation);
        Ok(())
    }

    /// Bytes committed.
    pub fn len(&self) -> u64 {
        self.committed
    }

    pub fn file(&self) -> &File {
        &self.file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tweetstream-log-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("log")
    }

    fn read(path: &Path) -> Result<Vec<(u8, Vec<u8>)>, Damage> {
        let file = File::options().read(true).write(true).open(path).unwrap();
        let mut records = Vec::new();
        Log::open(file, |kind, payload| {
            records.push((kind, payload.to_vec()));
            Ok(())
        })?;
        Ok(records)
    }

    #[test]
    fn records_come_back_and_any_damage_is_found() {
        let path = scratch("damage");
        let first = vec![(1u8, b"identity".to_vec()), (2, vec![])];
        let mut log = Log::create(&path, &first).unwrap();
        let mut all = first.clone();
        for i in 0..20u8 {
            let payload = vec![i; usize::from(i) * 7];
            log.append(3, &payload).unwrap();
            all.push((3, payload));
        }
        drop(log);
        assert_eq!(read(&path).unwrap(), all);
        let good = std::fs::read(&path).unwrap();
        let copy = path.with_extension("copy");
        // Every single byte flipped, at every bit: refused.
        for at in 0..good.len() {
            for bit in [0x01u8, 0x80] {
                let mut bytes = good.clone();
                bytes[at] ^= bit;
                std::fs::write(&copy, &bytes).unwrap();
                assert!(read(&copy).is_err(), "byte {at} flipped ({bit:#x}) was not noticed");
            }
        }
        // Truncated at every length: refused.
        for len in 0..good.len() {
            std::fs::write(&copy, &good[..len]).unwrap();
            assert!(read(&copy).is_err(), "truncated to {len} was not noticed");
        }
        // A range cut out of the middle: refused.
        for (from, n) in [(128, 9), (200, 64), (good.len() / 2, 100)] {
            let bytes = [&good[..from], &good[from + n..]].concat();
            std::fs::write(&copy, &bytes).unwrap();
            assert!(read(&copy).is_err(), "{n} bytes cut at {from} were not noticed");
        }
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_save_cut_short_is_dropped_and_the_rest_read() {
        let path = scratch("tail");
        let mut log = Log::create(&path, &[(1, b"id".to_vec())]).unwrap();
        log.append(3, b"saved").unwrap();
        // A record written but not committed (killed before the slot write).
        let tail = record(3, b"not committed");
        log.file.write_all_at(&tail, log.committed).unwrap();
        drop(log);
        assert_eq!(read(&path).unwrap(), vec![(1, b"id".to_vec()), (3, b"saved".to_vec())]);
        // The tail is gone, and appending goes on from the committed end.
        let file = File::options().read(true).write(true).open(&path).unwrap();
        let mut log = Log::open(file, |_, _| Ok(())).unwrap();
        log.append(3, b"next").unwrap();
        drop(log);
        assert_eq!(read(&path).unwrap().last().unwrap(), &(3, b"next".to_vec()));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
