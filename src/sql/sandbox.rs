//! What a SQL client may do: read the live tables and compute, nothing else.
//!
//! Clients share the query connections and the process, so a statement that
//! changes a setting would change it for everyone: `PRAGMA hard_heap_limit`
//! lowers SQLite's memory for the whole process, for good;
//! `PRAGMA temp_store_directory` sends temporary files where the client says;
//! `PRAGMA writable_schema` and `BEGIN` outlive the statement on a pooled
//! connection. SQLite's authorizer sees every action of a statement while it
//! is prepared, and [`install`] allows only reading, selecting, functions
//! (other than `load_extension`), recursive CTEs and the read-only pragmas in
//! [`PRAGMAS`]; anything else fails to prepare, so it never runs.
//!
//! Memory: SQLite's allocations are counted process-wide. A query is stopped
//! when that count passes the SQL memory limit (`--sql-memory`, checked every
//! 1,000 steps of SQLite's virtual machine; a single value is at most
//! [`MAX_VALUE_BYTES`], so a step cannot overshoot by much), and
//! [`set_process_ceiling`] sets SQLite's hard heap limit a margin above it as
//! a backstop. The limit covers the query connections: their sorts, temporary
//! b-trees and values. The live tables are not SQLite's (the engine keeps them,
//! and queries read them in place), and neither are the answers once they are
//! converted. Other users of SQLite in the process only share the backstop:
//! queries are interrupted at the limit, before the backstop would refuse
//! their allocations.

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use std::sync::{Arc, Mutex};

/// What the error message says is allowed.
pub const ALLOWED: &str = "only queries are allowed (select, with, explain, and the pragmas table_info, \
                           table_xinfo and table_list); statements that write, pragmas that change settings, \
                           transactions and attach are refused";

/// Pragmas that only read a description of the tables.
pub const PRAGMAS: &[&str] = &["table_info", "table_xinfo", "table_list"];

/// The largest string or blob a query may build (SQLITE_LIMIT_LENGTH).
pub const MAX_VALUE_BYTES: i32 = 16 << 20;

/// How far above the SQL memory limit SQLite's hard heap limit is set.
pub const CEILING_MARGIN: usize = 64 << 20;

/// The action the authorizer refused last, in words (for the error message).
pub type Refused = Arc<Mutex<Option<String>>>;

/// Installs the authorizer on `conn`; returns where it notes what it refused.
pub fn install(conn: &mut Connection) -> rusqlite::Result<Refused> {
    let refused = Refused::default();
    let note = refused.clone();
    conn.authorizer(Some(move |ctx: AuthContext<'_>| {
        if let Some(what) = refusal(&ctx.action) {
            *note.lock().unwrap_or_else(|e| e.into_inner()) = Some(what);
            Authorization::Deny
        } else {
            Authorization::Allow
        }
    }))?;
    Ok(refused)
}

/// Why `action` is refused, or None if it is allowed.
fn refusal(action: &AuthAction<'_>) -> Option<String> {
    match action {
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => None,
        AuthAction::Function { function_name } if !function_name.eq_ignore_ascii_case("load_extension") => {
            None
        }
        AuthAction::Function { function_name } => Some(format!("the function {function_name}")),
        AuthAction::Pragma { pragma_name, .. }
            if PRAGMAS.iter().any(|p| p.eq_ignore_ascii_case(pragma_name)) =>
        {
            None
        }
        AuthAction::Pragma { pragma_name, pragma_value: Some(v) } => {
            Some(format!("PRAGMA {pragma_name} = {v}"))
        }
        AuthAction::Pragma { pragma_name, pragma_value: None } => Some(format!("PRAGMA {pragma_name}")),
        AuthAction::Transaction { operation } => {
            Some(format!("a transaction ({operation:?})").to_lowercase())
        }
        AuthAction::Savepoint { operation, savepoint_name } => {
            Some(format!("a savepoint ({operation:?} {savepoint_name})").to_lowercase())
        }
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => Some("attach and detach".to_owned()),
        other => Some(format!("{other:?}")),
    }
}

/// SQLite's memory in use in this process, in bytes.
pub fn memory_used() -> i64 {
    // SAFETY: a read of SQLite's global counter, safe from any thread.
    unsafe { rusqlite::ffi::sqlite3_memory_used() }
}

/// Sets SQLite's hard heap limit for the process to `memory` plus
/// [`CEILING_MARGIN`]. Called once at start; no statement can change it
/// afterwards (the pragmas are refused).
pub fn set_process_ceiling(memory: usize) {
    let ceiling = memory.saturating_add(CEILING_MARGIN).min(i64::MAX as usize) as i64;
    // SAFETY: sets a global limit; SQLite allows it from any thread at any time.
    unsafe {
        rusqlite::ffi::sqlite3_hard_heap_limit64(ceiling);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_allowed_and_everything_else_is_named() {
        assert_eq!(refusal(&AuthAction::Select), None);
        assert_eq!(refusal(&AuthAction::Function { function_name: "sum" }), None);
        assert_eq!(refusal(&AuthAction::Pragma { pragma_name: "TABLE_INFO", pragma_value: Some("t") }), None);
        assert_eq!(
            refusal(&AuthAction::Pragma { pragma_name: "hard_heap_limit", pragma_value: Some("100000") }),
            Some("PRAGMA hard_heap_limit = 100000".to_owned())
        );
        assert_eq!(
            refusal(&AuthAction::Function { function_name: "load_extension" }),
            Some("the function load_extension".to_owned())
        );
    }
}
