//! The prepared statements a client keeps, counted, so that one client
//! cannot grow the engine without bound by preparing statements it never
//! closes (PostgreSQL has no cap; its memory is per backend process, ours
//! is shared).
//!
//! pgwire keeps the statements themselves; this book keeps their names and
//! sizes: a Parse past [`MAX_PREPARED`] statements or [`PREPARED_BYTES`] of
//! statement text is refused with SQLSTATE 54000 (program_limit_exceeded).
//! `DEALLOCATE name | ALL` and `DISCARD ALL` (psycopg evicts its cache with
//! them) free the names here, and the connection then removes the
//! statements from pgwire's store ([`Statements::take_dropped`]).

use super::session::Refusal;
use std::collections::HashMap;

/// Statements one session may keep prepared at once (pgjdbc keeps up to
/// 256, asyncpg 100, psycopg 100).
pub const MAX_PREPARED: usize = 1_000;

/// Bytes of statement text one session's prepared statements may hold.
pub const PREPARED_BYTES: usize = 32 << 20;

/// One session's prepared statements, by name (the unnamed one under "").
#[derive(Default)]
pub struct Statements {
    sizes: HashMap<String, usize>,
    bytes: usize,
    /// Deallocated by a command, still to be removed from pgwire's store.
    dropped: Vec<String>,
}

impl Statements {
    /// Counts a statement about to be prepared as `name` (replacing one of
    /// that name), or refuses it past the caps.
    pub fn prepare(&mut self, name: &str, bytes: usize) -> Result<(), Refusal> {
        let replaced = self.sizes.get(name).copied();
        let count = self.sizes.len() + usize::from(replaced.is_none());
        let total = self.bytes - replaced.unwrap_or(0) + bytes;
        if count > MAX_PREPARED || total > PREPARED_BYTES {
            let message = format!(
                "too many prepared statements in this session (at most {MAX_PREPARED}, \
                 {} MiB of statement text): close or DEALLOCATE some",
                PREPARED_BYTES >> 20
            );
            return Err(Refusal { code: "54000", message });
        }
        self.sizes.insert(name.to_owned(), bytes);
        self.bytes = total;
        Ok(())
    }

    /// A statement closed (Close) or never stored (a failed Parse).
    pub fn close(&mut self, name: &str) {
        if let Some(bytes) = self.sizes.remove(name) {
            self.bytes -= bytes;
        }
    }

    /// `DEALLOCATE name`: as PostgreSQL, an unknown name is an error (26000).
    pub fn deallocate(&mut self, name: &str) -> Result<(), Refusal> {
        if !self.sizes.contains_key(name) {
            let message = format!("prepared statement \"{name}\" does not exist");
            return Err(Refusal { code: "26000", message });
        }
        self.close(name);
        self.dropped.push(name.to_owned());
        Ok(())
    }

    /// `DEALLOCATE ALL`, `DISCARD ALL`.
    pub fn deallocate_all(&mut self) {
        self.dropped.extend(self.sizes.drain().map(|(name, _)| name));
        self.bytes = 0;
    }

    /// The names deallocated since the last call, for the connection to
    /// remove from pgwire's store.
    pub fn take_dropped(&mut self) -> Vec<String> {
        std::mem::take(&mut self.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_counted_until_closed_or_deallocated() {
        let mut s = Statements::default();
        for i in 0..MAX_PREPARED {
            s.prepare(&format!("s{i}"), 10).unwrap();
        }
        // The next name is refused; replacing one, or the unnamed one once
        // a slot is free, is not.
        assert_eq!(s.prepare("one more", 10).unwrap_err().code, "54000");
        s.prepare("s0", 20).unwrap();
        assert_eq!(s.bytes, 10 * MAX_PREPARED + 10);
        s.close("s1");
        s.prepare("", 5).unwrap();
        assert_eq!(s.deallocate("nope").unwrap_err().code, "26000");
        s.deallocate("s2").unwrap();
        assert_eq!(s.take_dropped(), ["s2"]);
        assert!(s.take_dropped().is_empty());
        s.deallocate_all();
        assert_eq!((s.sizes.len(), s.bytes, s.take_dropped().len()), (0, 0, MAX_PREPARED - 1));
    }

    #[test]
    fn statement_text_is_capped_in_bytes() {
        let mut s = Statements::default();
        s.prepare("big", PREPARED_BYTES - 1).unwrap();
        assert_eq!(s.prepare("more", 2).unwrap_err().code, "54000");
        s.prepare("big", PREPARED_BYTES).unwrap();
        s.close("big");
        s.prepare("more", 2).unwrap();
    }
}
