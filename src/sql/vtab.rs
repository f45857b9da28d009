//! The live tables as SQLite virtual tables: rows are read straight from the
//! snapshot a query pinned, never copied into SQLite.
//!
//! Each table is an eponymous virtual table (usable by its name without
//! `CREATE VIRTUAL TABLE`). Rows are kept in a known order (tags by count
//! descending, days and batches by time), and the planner is told so: the
//! original's `order by count desc limit 10` then reads ten rows, not all of them.

use crate::engine::ranked::Row;
use crate::engine::tables::{Cell, ColumnType, Snapshot, TableKind, tag_cell};
use rusqlite::vtab::{Context, Filters, IndexInfo, Module, VTab, VTabConfig, VTabConnection, VTabCursor};
use rusqlite::{Connection, ffi};
use std::borrow::Cow;
use std::ffi::{CStr, CString, c_int};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

/// The snapshot the statement running on a connection reads: set before it
/// runs, so every table in one query is as of the same batch.
pub type Pinned = Arc<Mutex<Option<Arc<Snapshot>>>>;

/// What a module instance needs: which table, and the connection's pin.
pub struct Aux {
    kind: TableKind,
    /// `tag_totals` has an `error` column (`--max-tags`).
    totals_error: bool,
    pinned: Pinned,
}

fn pinned_snapshot(pinned: &Pinned) -> Arc<Snapshot> {
    pinned.lock().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_default()
}

/// Registers every table `snapshot_has` on `conn`.
pub fn register(
    conn: &Connection,
    pinned: &Pinned,
    has: impl Fn(TableKind) -> bool,
    totals_error: bool,
) -> rusqlite::Result<()> {
    const MODULE: Module<'static, LiveTable> = Module::eponymous_only_module();
    for kind in TableKind::ALL.into_iter().filter(|k| has(*k)) {
        let name = CString::new(kind.name()).expect("no NUL in table names");
        conn.create_module(
            name.as_c_str(),
            &MODULE,
            Some(Aux { kind, totals_error, pinned: pinned.clone() }),
        )?;
    }
    Ok(())
}

#[repr(C)]
struct LiveTable {
    /// Base class; must come first.
    base: ffi::sqlite3_vtab,
    kind: TableKind,
    pinned: Pinned,
}

unsafe impl<'vtab> VTab<'vtab> for LiveTable {
    type Aux = Aux;
    type Cursor = LiveCursor<'vtab>;

    fn connect(
        db: &mut VTabConnection,
        aux: Option<&Aux>,
        _module: &[u8],
        _database: &[u8],
        _table: &[u8],
        _args: &[&[u8]],
    ) -> rusqlite::Result<(Cow<'static, CStr>, Self)> {
        let aux = aux.expect("registered with aux");
        db.config(VTabConfig::Innocuous)?;
        let columns: Vec<String> = aux
            .kind
            .columns(aux.totals_error)
            .iter()
            .map(|(name, ty)| {
                let ty = match ty {
                    ColumnType::Text => "TEXT",
                    ColumnType::Integer => "INTEGER",
                    ColumnType::Real => "REAL",
                    ColumnType::Boolean => "BOOLEAN",
                };
                format!("{name} {ty}")
            })
            .collect();
        let schema = CString::new(format!("CREATE TABLE x({})", columns.join(", "))).expect("no NUL");
        let table =
            LiveTable { base: ffi::sqlite3_vtab::default(), kind: aux.kind, pinned: aux.pinned.clone() };
        Ok((Cow::Owned(schema), table))
    }

    fn best_index(&self, info: &mut IndexInfo) -> rusqlite::Result<bool> {
        let rows = pinned_snapshot(&self.pinned).rows(self.kind).unwrap_or(0).max(1);
        // The requested order is ours if it is a prefix of the order rows are kept in.
        let order = self.kind.order();
        let wanted: Vec<(usize, bool)> =
            info.order_bys().map(|o| (o.column() as usize, o.is_order_by_desc())).collect();
        if !wanted.is_empty() && wanted.len() <= order.len() && wanted[..] == order[..wanted.len()] {
            info.set_order_by_consumed(true);
        }
        info.set_estimated_rows(rows as i64);
        info.set_estimated_cost(rows as f64);
        Ok(true)
    }

    fn open(&'vtab mut self) -> rusqlite::Result<LiveCursor<'vtab>> {
        Ok(LiveCursor {
            base: ffi::sqlite3_vtab_cursor::default(),
            kind: self.kind,
            snapshot: pinned_snapshot(&self.pinned),
            row: 0,
            rows: 0,
            tags: Vec::new(),
            tags_from: 0,
            phantom: PhantomData,
        })
    }
}

#[repr(C)]
struct LiveCursor<'vtab> {
    /// Base class; must come first.
    base: ffi::sqlite3_vtab_cursor,
    kind: TableKind,
    snapshot: Arc<Snapshot>,
    row: usize,
    rows: usize,
    /// Rows of a tag table from `tags_from` on, read in order a few hundred
    /// at a time (finding one row by its position walks the tree).
    tags: Vec<Row>,
    tags_from: usize,
    phantom: PhantomData<&'vtab LiveTable>,
}

/// Tag rows read ahead at a time.
const READ_AHEAD: usize = 256;

impl LiveCursor<'_> {
    /// Makes sure the current row of a tag table is in `tags`.
    fn read_ahead(&mut self) {
        if self.row < self.tags_from || self.row >= self.tags_from + self.tags.len() {
            self.tags.clear();
            self.tags_from = self.row;
            if let Some(rows) = self.snapshot.tag_rows(self.kind, self.row) {
                self.tags.extend(rows.take(READ_AHEAD).cloned());
            }
        }
    }
}

unsafe impl VTabCursor for LiveCursor<'_> {
    fn filter(
        &mut self,
        _idx_num: c_int,
        _idx_str: Option<&str>,
        _args: &Filters<'_>,
    ) -> rusqlite::Result<()> {
        self.row = 0;
        self.rows = self.snapshot.rows(self.kind).unwrap_or(0);
        self.tags.clear();
        self.read_ahead();
        Ok(())
    }

    fn next(&mut self) -> rusqlite::Result<()> {
        self.row += 1;
        if self.row < self.rows {
            self.read_ahead();
        }
        Ok(())
    }

    fn eof(&self) -> bool {
        self.row >= self.rows
    }

    fn column(&self, ctx: &mut Context, i: c_int) -> rusqlite::Result<()> {
        let cell = match self.tags.get(self.row.wrapping_sub(self.tags_from)) {
            Some(r) if self.snapshot.tags(self.kind).is_some() => tag_cell(r, i as usize),
            _ => self.snapshot.cell(self.kind, self.row, i as usize),
        };
        match cell {
            Cell::Text(s) => ctx.set_result(&*s),
            Cell::Integer(n) => ctx.set_result(n),
            Cell::Real(x) => ctx.set_result(x),
        }
    }

    fn rowid(&self) -> rusqlite::Result<i64> {
        Ok(self.row as i64)
    }
}
