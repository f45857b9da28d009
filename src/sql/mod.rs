//! SQL over the live tables, with SQLite as the engine (see docs/sql.md).
//!
//! Every query pins the latest snapshot first, so all the tables it reads are as
//! of the same completed batch, while the engine goes on publishing new ones.
//! The same path serves `tweetstream query` (through HTTP), `POST /sql`, the
//! PostgreSQL wire protocol and the timer print.
//!
//! Clients share these connections, so no client may change them: an
//! authorizer lets a statement read and compute and nothing else (see
//! [`sandbox`]); temporary storage is in memory only, so no query writes a file;
//! and every query is interrupted past a time limit and past a memory limit, and
//! cut at a row limit.

pub(crate) mod sandbox;
pub(crate) mod text;
pub(crate) mod vtab;

use crate::engine::tables::{ColumnType, Snapshot, TableKind, Tables};
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, Statement};
use serde_json::{Value, json};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vtab::Pinned;

/// The original job's statement, printed by the timer by default.
pub const ORIGINAL_QUERY: &str = "select tag, count from tag_counts order by count desc limit 10";

/// Limits on one query.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub timeout: Duration,
    /// Rows returned at most; more are cut off (`truncated`).
    pub max_rows: usize,
    /// Bytes SQLite may hold for queries: a query running while SQLite's memory
    /// in use is past this is interrupted.
    pub memory: usize,
}

/// The default of [`Limits::memory`]: 256 MiB.
pub const DEFAULT_MEMORY: usize = 256 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits { timeout: Duration::from_secs(5), max_rows: 10_000, memory: DEFAULT_MEMORY }
    }
}

/// The live tables as a catalog sees them: each name with its columns.
pub type LiveTables<'a> = [(&'a str, &'a [(&'a str, ColumnType)])];

/// What a dialect adds to every connection before it is made read-only:
/// functions and catalog tables (the PostgreSQL one is
/// `serve::pg::catalog::install`). Given by whoever builds the engine, so
/// that the SQL engine knows no client's dialect.
pub type Extension = fn(&Connection, &LiveTables<'_>) -> rusqlite::Result<()>;

/// A value bound to a parameter (`$1`, `$2`, ... or `?`).
pub use rusqlite::types::Value as Param;

/// The values of a statement's parameters.
#[derive(Clone, Copy, Debug)]
pub enum Params<'a> {
    /// `$1`, `$2`, …: exactly as many as the statement takes.
    Values(&'a [Param]),
    /// A dry run, which tells the columns, their types and the number of
    /// parameters, as a Postgres Describe needs: `$N` is bound to the N-th
    /// of these samples, or NULL past them.
    DryRun(&'a [Param]),
}

/// A query's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<String>,
    /// Each column's type: declared for table columns, else that of its first
    /// non-null value (Text when there is none).
    pub types: Vec<ColumnType>,
    pub rows: Vec<Vec<Value>>,
    /// The batch the tables were read at (None before the first batch).
    pub batch_time: Option<i64>,
    /// More rows matched than the row limit.
    pub truncated: bool,
    /// Parameters the statement takes (the highest `$N`, or the number of `?`).
    pub parameters: usize,
}

impl QueryResult {
    /// `{"columns", "rows", "batch_time", "truncated"}`, as HTTP answers.
    pub fn to_json(&self) -> Value {
        json!({
            "columns": self.columns,
            "rows": self.rows,
            "batch_time": self.batch_time.map(crate::engine::tables::format_millis),
            "truncated": self.truncated,
        })
    }
}

/// Why a query was refused or failed.
#[derive(Debug, PartialEq, Eq)]
pub enum SqlError {
    /// It would create, modify or drop something.
    ReadOnly,
    /// It would do something else than read: a pragma that changes a setting,
    /// a transaction, ... (what, in words).
    NotAllowed(String),
    /// SQLite's own message: syntax error, unknown table or column, ...
    Invalid(String),
    Timeout(Duration),
    /// The client cancelled it (a PostgreSQL CancelRequest).
    Cancelled,
    /// It needed more memory than the limit (bytes).
    OutOfMemory(usize),
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlError::ReadOnly => {
                write!(f, "the live tables are read-only: {}", sandbox::ALLOWED)
            }
            SqlError::NotAllowed(what) => write!(f, "{what} is not allowed: {}", sandbox::ALLOWED),
            SqlError::Invalid(msg) => f.write_str(msg),
            SqlError::Timeout(limit) => {
                write!(f, "the query ran longer than the limit of {limit:?} and was stopped")
            }
            SqlError::Cancelled => f.write_str("canceling statement due to user request"),
            SqlError::OutOfMemory(limit) => write!(
                f,
                "the query needed more than the SQL memory limit of {} MiB and was stopped",
                limit.div_ceil(1 << 20)
            ),
        }
    }
}

impl std::error::Error for SqlError {}

/// Runs SQL on the live tables of one engine. Cheap to share (`Arc`); each query
/// borrows one of a few pooled SQLite connections.
pub struct SqlEngine {
    tables: Arc<Tables>,
    limits: Limits,
    has_window: bool,
    totals_error: bool,
    extension: Option<Extension>,
    idle: Mutex<Vec<Session>>,
}

/// A connection with the live tables registered, its pin, and what the
/// sandbox refused last.
struct Session {
    conn: Connection,
    pinned: Pinned,
    refused: sandbox::Refused,
}

/// Why the progress handler interrupted a query.
const STOPPED_FOR_TIME: u8 = 1;
const STOPPED_FOR_MEMORY: u8 = 2;
const STOPPED_BY_CLIENT: u8 = 3;

/// A flag a client raises to stop its running query (checked every 1,000
/// SQLite instructions, like the limits).
pub type Cancel = Arc<AtomicBool>;

impl SqlEngine {
    /// `has_window`: the run keeps `tag_window`.
    pub fn new(tables: Arc<Tables>, has_window: bool, limits: Limits) -> Self {
        // The first snapshot says already whether `tag_totals` has an
        // `error` column (`--max-tags`).
        let totals_error = tables.snapshot().totals_error;
        SqlEngine { tables, limits, has_window, totals_error, extension: None, idle: Mutex::new(Vec::new()) }
    }

    /// The engine with a dialect's functions and catalog on every connection.
    pub fn with_extension(mut self, extension: Extension) -> Self {
        self.extension = Some(extension);
        self
    }

    fn session(&self) -> Result<Session, SqlError> {
        if let Some(s) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(s);
        }
        let setup = || -> rusqlite::Result<Session> {
            let mut conn = Connection::open_in_memory()?;
            conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, sandbox::MAX_VALUE_BYTES)?;
            let live: Vec<(&str, &[(&str, ColumnType)])> = TableKind::ALL
                .into_iter()
                .filter(|k| *k != TableKind::TagWindow || self.has_window)
                .map(|k| (k.name(), k.columns(self.totals_error)))
                .collect();
            // Sorts and temporary tables stay in memory, under the memory limit;
            // with files they would spill wherever the temp directory is.
            // (Set first: changing it drops the temporary catalog tables below.)
            conn.pragma_update(None, "temp_store", "memory")?;
            if let Some(install) = self.extension {
                install(&conn, &live)?;
            }
            // After the extension, which may attach a schema of its own.
            conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
            conn.pragma_update(None, "query_only", true)?;
            let pinned = Pinned::default();
            vtab::register(
                &conn,
                &pinned,
                |k| k != TableKind::TagWindow || self.has_window,
                self.totals_error,
            )?;
            let refused = sandbox::install(&mut conn)?;
            Ok(Session { conn, pinned, refused })
        };
        setup().map_err(|e| SqlError::Invalid(format!("cannot open the SQL engine: {e}")))
    }

    /// Runs one statement on the latest snapshot (blocking; run it off the async
    /// threads).
    pub fn query(&self, sql: &str) -> Result<QueryResult, SqlError> {
        self.query_with(sql, Some(&[]))
    }

    /// Runs one statement with `params` for `$1`, `$2`, ... (or `?`). `None`
    /// binds NULL to every parameter: a dry run that tells the columns, their
    /// types and the number of parameters, as a Postgres Describe needs.
    pub fn query_with(&self, sql: &str, params: Option<&[Param]>) -> Result<QueryResult, SqlError> {
        let params = match params {
            Some(values) => Params::Values(values),
            None => Params::DryRun(&[]),
        };
        self.run(sql, params, None, None)
    }

    /// Runs one statement with `params`, on `snapshot` when given (a
    /// transaction's), else on the latest; stopped when `cancel` is raised.
    pub fn run(
        &self,
        sql: &str,
        params: Params<'_>,
        snapshot: Option<&Arc<Snapshot>>,
        cancel: Option<Cancel>,
    ) -> Result<QueryResult, SqlError> {
        self.query_pinned(sql, params, snapshot, cancel)
    }

    /// Runs one statement and hands each row to `each` as SQLite yields it
    /// (the caller sends rows on as they come, and waits for its reader:
    /// memory holds a few rows, not the result), up to the row limit;
    /// `columns` is called once, before the first row. `each` returning
    /// false stops the statement. Returns the rows handed on, and whether
    /// more matched than the row limit.
    pub fn stream(
        &self,
        sql: &str,
        params: Params<'_>,
        snapshot: Option<&Arc<Snapshot>>,
        cancel: Option<Cancel>,
        rows: Rows<'_>,
    ) -> Result<(u64, bool), SqlError> {
        let result = self.pinned(snapshot, cancel, |conn, limits| {
            let mut n = 0u64;
            let mut each = |row: Vec<Value>| {
                n += 1;
                (rows.each)(&row)
            };
            let max = Some(limits.max_rows);
            let (_, _, truncated, _) = run_rows(conn, sql, params, limits, max, rows.columns, &mut each)?;
            Ok((n, truncated))
        });
        result.map(|(n, _)| n)
    }

    /// The latest snapshot, for a reader that reads several statements at
    /// one batch (a transaction); handed back with [`SqlEngine::release`].
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.tables.snapshot()
    }

    pub fn release(&self, snapshot: Arc<Snapshot>) {
        self.tables.release(snapshot);
    }

    fn query_pinned(
        &self,
        sql: &str,
        params: Params<'_>,
        snapshot: Option<&Arc<Snapshot>>,
        cancel: Option<Cancel>,
    ) -> Result<QueryResult, SqlError> {
        let answer = self.pinned(snapshot, cancel, |conn, limits| run(conn, sql, params, limits));
        answer.map(|((columns, types, rows, truncated, parameters), batch_time)| QueryResult {
            columns,
            types,
            rows,
            batch_time,
            truncated,
            parameters,
        })
    }

    /// Runs `f` on a pooled connection with `snapshot` (or the latest)
    /// pinned, under the limits of time and memory and `cancel`; returns its
    /// answer and the batch time read at. Every statement is counted here,
    /// with its time, in the metrics.
    fn pinned<T>(
        &self,
        snapshot: Option<&Arc<Snapshot>>,
        cancel: Option<Cancel>,
        f: impl FnOnce(&Connection, Limits) -> Result<T, SqlError>,
    ) -> Result<(T, Option<i64>), SqlError> {
        let started = Instant::now();
        let result = self.pinned_untimed(snapshot, cancel, f);
        let m = crate::metrics::metrics();
        m.sql_queries.inc();
        m.sql_query_duration.observe(started.elapsed().as_secs_f64());
        result
    }

    fn pinned_untimed<T>(
        &self,
        snapshot: Option<&Arc<Snapshot>>,
        cancel: Option<Cancel>,
        f: impl FnOnce(&Connection, Limits) -> Result<T, SqlError>,
    ) -> Result<(T, Option<i64>), SqlError> {
        let mut session = self.session()?;
        let snapshot = snapshot.cloned().unwrap_or_else(|| self.tables.snapshot());
        let batch_time = snapshot.batch_time;
        *session.pinned.lock().unwrap_or_else(|e| e.into_inner()) = Some(snapshot);
        let deadline = Instant::now() + self.limits.timeout;
        let memory = self.limits.memory as i64;
        let stopped = Arc::new(AtomicU8::new(0));
        let why = stopped.clone();
        let handler = move || {
            let reason = if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
                STOPPED_BY_CLIENT
            } else if Instant::now() > deadline {
                STOPPED_FOR_TIME
            } else if sandbox::memory_used() > memory {
                STOPPED_FOR_MEMORY
            } else {
                return false;
            };
            why.store(reason, Ordering::Relaxed);
            true
        };
        *session.refused.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let result = session
            .conn
            .progress_handler(1000, Some(handler))
            .map_err(|e| SqlError::Invalid(e.to_string()))
            .and_then(|()| f(&session.conn, self.limits))
            .map_err(|e| match e {
                SqlError::Timeout(_) if stopped.load(Ordering::Relaxed) == STOPPED_FOR_MEMORY => {
                    SqlError::OutOfMemory(self.limits.memory)
                }
                SqlError::Timeout(_) if stopped.load(Ordering::Relaxed) == STOPPED_BY_CLIENT => {
                    SqlError::Cancelled
                }
                SqlError::Invalid(m) if m.contains("out of memory") => {
                    SqlError::OutOfMemory(self.limits.memory)
                }
                SqlError::NotAllowed(_) => {
                    let what = session.refused.lock().unwrap_or_else(|e| e.into_inner()).take();
                    SqlError::NotAllowed(what.unwrap_or_else(|| "this statement".to_owned()))
                }
                other => other,
            })
            .map(|answer| (answer, batch_time));
        if let Some(done) = session.pinned.lock().unwrap_or_else(|e| e.into_inner()).take() {
            self.tables.release(done);
        }
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(session);
        result
    }
}

/// Told a statement's columns, once, before its rows: their names, and the
/// types their tables declare (None for a computed column).
pub type OnColumns<'a> = dyn FnMut(&[String], &[Option<ColumnType>]) + 'a;

/// Where a streamed statement's answer goes: its columns, once, then each row.
pub struct Rows<'a> {
    pub columns: &'a mut OnColumns<'a>,
    /// One row; false stops the statement.
    pub each: &'a mut dyn FnMut(&[Value]) -> bool,
}

type Answer = (Vec<String>, Vec<ColumnType>, Vec<Vec<Value>>, bool, usize);

/// Rows a dry run reads: enough for the types of computed columns (their
/// first value), never the whole result of a large query.
pub const DRY_RUN_ROWS: usize = 256;

/// Runs `sql` and collects its rows, up to the row limit (a dry run: its
/// first [`DRY_RUN_ROWS`]).
fn run(conn: &Connection, sql: &str, params: Params<'_>, limits: Limits) -> Result<Answer, SqlError> {
    let dry = matches!(params, Params::DryRun(_));
    let mut rows = Vec::new();
    let mut collect = |row: Vec<Value>| {
        rows.push(row);
        true
    };
    let max = if dry { DRY_RUN_ROWS } else { limits.max_rows };
    let (columns, types, truncated, parameters) =
        run_rows(conn, sql, params, limits, Some(max), &mut |_, _| {}, &mut collect)?;
    Ok((columns, types, rows, truncated && !dry, parameters))
}

/// Runs `sql`, handing each row to `each` (up to `max_rows`, if any; past
/// it the answer is truncated); returns the columns, their types, whether
/// it was truncated, and the parameters it takes.
fn run_rows(
    conn: &Connection,
    sql: &str,
    params: Params<'_>,
    limits: Limits,
    max_rows: Option<usize>,
    on_columns: &mut OnColumns<'_>,
    each: &mut dyn FnMut(Vec<Value>) -> bool,
) -> Result<(Vec<String>, Vec<ColumnType>, bool, usize), SqlError> {
    let mut stmt = prepare(conn, sql, limits)?;
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let declared: Vec<Option<ColumnType>> = stmt
        .columns()
        .map(|c| match c.decl_type().map(str::to_ascii_uppercase).as_deref() {
            Some("INTEGER") => Some(ColumnType::Integer),
            Some("REAL") => Some(ColumnType::Real),
            Some("TEXT") => Some(ColumnType::Text),
            Some("BOOLEAN" | "BOOL") => Some(ColumnType::Boolean),
            _ => None,
        })
        .collect();
    let parameters = bind(&mut stmt, params)?;
    on_columns(&columns, &declared);
    let mut seen: Vec<Option<ColumnType>> = vec![None; columns.len()];
    let mut rows = stmt.raw_query();
    let (mut n, mut truncated) = (0usize, false);
    while let Some(row) = rows.next().map_err(|e| sqlite_error(e, limits))? {
        if max_rows == Some(n) {
            truncated = true;
            break;
        }
        n += 1;
        let mut values = Vec::with_capacity(columns.len());
        for (i, seen) in seen.iter_mut().enumerate() {
            let v = row.get_ref(i).map_err(|e| sqlite_error(e, limits))?;
            let (value, ty) = match v {
                ValueRef::Null => (Value::Null, None),
                ValueRef::Integer(n) if declared[i] == Some(ColumnType::Boolean) => {
                    (Value::Bool(n != 0), Some(ColumnType::Boolean))
                }
                ValueRef::Integer(n) => (json!(n), Some(ColumnType::Integer)),
                ValueRef::Real(x) => (json!(x), Some(ColumnType::Real)),
                ValueRef::Text(t) => (json!(String::from_utf8_lossy(t)), Some(ColumnType::Text)),
                ValueRef::Blob(b) => {
                    (json!(b.iter().map(|x| format!("{x:02x}")).collect::<String>()), Some(ColumnType::Text))
                }
            };
            if seen.is_none() {
                *seen = ty;
            }
            values.push(value);
        }
        if !each(values) {
            break;
        }
    }
    let types = declared.iter().zip(&seen).map(|(d, s)| d.or(*s).unwrap_or(ColumnType::Text)).collect();
    Ok((columns, types, truncated, parameters))
}

/// Prepares `sql`, refusing what would write before anything runs.
fn prepare<'c>(conn: &'c Connection, sql: &str, limits: Limits) -> Result<Statement<'c>, SqlError> {
    if sql.trim().trim_end_matches(';').trim().is_empty() {
        return Err(SqlError::Invalid("empty statement".into()));
    }
    // SQLite refuses these on the live tables in its own words (or only when
    // they run, for ATTACH); say it plainly, before anything runs.
    if matches!(
        first_word(sql).as_str(),
        "insert"
            | "update"
            | "delete"
            | "replace"
            | "create"
            | "drop"
            | "alter"
            | "attach"
            | "detach"
            | "vacuum"
            | "reindex"
    ) {
        return Err(SqlError::ReadOnly);
    }
    let stmt = conn.prepare(sql).map_err(|e| sqlite_error(e, limits))?;
    if !stmt.readonly() {
        return Err(SqlError::ReadOnly);
    }
    Ok(stmt)
}

/// Binds `params` to the statement's parameters and returns how many it takes.
///
/// SQLite reads Postgres' `$1` as a *named* parameter, numbered in order of
/// appearance, so `$N` is looked up by its name; `?` and `?N` go by position.
fn bind(stmt: &mut Statement<'_>, params: Params<'_>) -> Result<usize, SqlError> {
    let mut slots = Vec::with_capacity(stmt.parameter_count());
    for index in 1..=stmt.parameter_count() {
        let number = match stmt.parameter_name(index) {
            None => index,
            Some(name) => match name.strip_prefix(['$', '?']).and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if n >= 1 => n,
                _ => {
                    return Err(SqlError::Invalid(format!(
                        "parameter {name}: use $1, $2, ... (or ?) for parameters"
                    )));
                }
            },
        };
        slots.push((index, number));
    }
    let wanted = slots.iter().map(|s| s.1).max().unwrap_or(0);
    let params = match params {
        Params::Values(values) => values,
        Params::DryRun(samples) => {
            for (index, number) in slots {
                if let Some(sample) = samples.get(number - 1) {
                    stmt.raw_bind_parameter(index, sample).map_err(|e| SqlError::Invalid(e.to_string()))?;
                }
            }
            return Ok(wanted); // the others are NULL
        }
    };
    if params.len() != wanted {
        return Err(SqlError::Invalid(format!(
            "the statement takes {wanted} parameter(s) but {} were given",
            params.len()
        )));
    }
    for (index, number) in slots {
        stmt.raw_bind_parameter(index, &params[number - 1]).map_err(|e| SqlError::Invalid(e.to_string()))?;
    }
    Ok(wanted)
}

fn first_word(sql: &str) -> String {
    sql.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("").to_ascii_lowercase()
}

fn sqlite_error(e: rusqlite::Error, limits: Limits) -> SqlError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::OperationInterrupted => {
            SqlError::Timeout(limits.timeout)
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ReadOnly => SqlError::ReadOnly,
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::AuthorizationForStatementDenied => {
            SqlError::NotAllowed(String::new())
        }
        rusqlite::Error::SqliteFailure(_, Some(msg)) => SqlError::Invalid(msg.clone()),
        rusqlite::Error::SqlInputError { msg, offset, .. } => {
            SqlError::Invalid(format!("{msg} (at character {})", offset + 1))
        }
        rusqlite::Error::MultipleStatement => SqlError::Invalid("one statement at a time, please".into()),
        _ => SqlError::Invalid(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::batch::DayStats;
    use crate::engine::tables::{BatchRow, Snapshot};
    use crate::tweet::Day;

    fn engine_with(tags: &[(&str, u64)]) -> (Arc<Tables>, SqlEngine) {
        let tables = Arc::new(Tables::default());
        let mut snap = Snapshot { batch_time: Some(1_000), ..Snapshot::default() };
        snap.tag_counts = crate::engine::ranked::Ranked::from_pairs(tags.iter().copied());
        snap.tag_totals = snap.tag_counts.clone();
        let day = Day::from_ymd(2015, 11, 1).unwrap();
        snap.sentiment_by_day = vec![(day, DayStats::vader(15_000, 3))];
        snap.batches = vec![BatchRow {
            batch_time: 1_000,
            records: 3,
            bad_records: 0,
            undated: 0,
            filtered: 0,
            processing_ms: 1.0,
            delay_ms: 0.0,
        }];
        tables.publish(snap);
        (tables.clone(), SqlEngine::new(tables, false, Limits::default()))
    }

    #[test]
    fn the_original_statement_and_friends() {
        let (_, sql) = engine_with(&[("#a", 2), ("#b", 5), ("#c", 5), ("#d", 1)]);
        let r = sql.query(ORIGINAL_QUERY).unwrap();
        assert_eq!(r.columns, ["tag", "count"]);
        assert_eq!(
            r.rows,
            vec![
                vec![json!("#b"), json!(5)],
                vec![json!("#c"), json!(5)],
                vec![json!("#a"), json!(2)],
                vec![json!("#d"), json!(1)]
            ]
        );
        let r = sql.query("select count(*) as n, sum(count) from tag_counts where count > 1").unwrap();
        assert_eq!(r.rows, vec![vec![json!(3), json!(12)]]);
        assert_eq!(r.types, [ColumnType::Integer, ColumnType::Integer]);
        let r = sql.query("select date, score_avg from sentiment_by_day").unwrap();
        assert_eq!(r.rows, vec![vec![json!("2015-11-01"), json!(0.5)]]);
        let r = sql.query("select tag from tag_counts order by tag desc limit 2").unwrap();
        assert_eq!(r.rows, vec![vec![json!("#d")], vec![json!("#c")]], "an order the table is not kept in");
    }

    #[test]
    fn writes_are_refused_and_errors_carry_sqlite_messages() {
        let (_, sql) = engine_with(&[("#a", 1)]);
        for stmt in [
            "create table t(x)",
            "insert into tag_counts values ('#x', 1)",
            "drop table tag_counts",
            "attach ':memory:' as m",
        ] {
            assert_eq!(sql.query(stmt).unwrap_err(), SqlError::ReadOnly, "{stmt}");
        }
        assert!(sql.query("select * from nope").unwrap_err().to_string().contains("no such table: nope"));
        assert!(
            sql.query("select nope from tag_counts")
                .unwrap_err()
                .to_string()
                .contains("no such column: nope")
        );
        assert!(sql.query("selec 1").unwrap_err().to_string().contains("syntax error"));
        assert!(sql.query("select * from tag_window").is_err(), "no window configured");
    }

    #[test]
    fn postgres_style_parameters_bind_by_number() {
        let (_, sql) = engine_with(&[("#a", 2), ("#b", 5), ("#c", 5)]);
        let q = "select tag from tag_counts where count >= $2 and tag != $1 order by tag";
        let r = sql.query_with(q, Some(&[Param::Text("#b".into()), Param::Integer(3)])).unwrap();
        assert_eq!((r.rows, r.parameters), (vec![vec![json!("#c")]], 2));
        let dry = sql.query_with(q, None).unwrap();
        assert_eq!((dry.rows.len(), dry.parameters, dry.columns), (0, 2, vec!["tag".to_owned()]));
        let e = sql.query_with(q, Some(&[Param::Integer(3)])).unwrap_err();
        assert!(e.to_string().contains("takes 2 parameter(s) but 1 were given"), "{e}");
        assert!(sql.query("select $1").unwrap_err().to_string().contains("takes 1"));
        let e = sql.query_with("select :name", Some(&[])).unwrap_err();
        assert!(e.to_string().contains("use $1, $2"), "{e}");
    }

    #[test]
    fn row_and_time_limits() {
        let tags: Vec<(String, u64)> = (0..50).map(|i| (format!("#t{i}"), i)).collect();
        let refs: Vec<(&str, u64)> = tags.iter().map(|(t, n)| (t.as_str(), *n)).collect();
        let (tables, _) = engine_with(&refs);
        let sql = SqlEngine::new(tables.clone(), false, Limits { max_rows: 10, ..Limits::default() });
        let r = sql.query("select * from tag_counts").unwrap();
        assert_eq!((r.rows.len(), r.truncated), (10, true));
        let slow = SqlEngine::new(
            tables,
            false,
            Limits { timeout: Duration::from_millis(50), max_rows: 10, ..Limits::default() },
        );
        let e = slow
            .query("with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c")
            .unwrap_err();
        assert!(matches!(e, SqlError::Timeout(_)), "{e:?}");
    }
}
