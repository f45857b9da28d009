//! A Postgres client's session: its transaction and its settings.
//!
//! The tables are read-only, so a transaction changes nothing; what it
//! gives a client is what PostgreSQL's REPEATABLE READ gives: every
//! statement in it reads the same batch (the snapshot taken by its first
//! statement). `BEGIN`, `COMMIT`, `ROLLBACK`, savepoints, `SET`, `SHOW`,
//! `RESET`, `DISCARD`, `CLOSE ALL`, `UNLISTEN` and `DEALLOCATE` are answered
//! here, as PostgreSQL answers them (command tags, warnings, the aborted
//! state after an error); the settings are kept per client, and those the
//! server cannot honour (another time zone, a read-write transaction) are
//! refused with the reason.

use super::dialect::lex::{Kind, Token};
use super::dialect::settings::{Allowed, SETTINGS, setting};
use super::statements::Statements;
use crate::engine::tables::ColumnType;
use crate::engine::tables::Snapshot;
use pgwire::messages::response::TransactionStatus;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A statement this module answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Begin(Vec<Mode>),
    Commit,
    Rollback,
    Savepoint(String),
    Release(String),
    RollbackTo(String),
    /// `SET name = value` (None: `DEFAULT`).
    Set(String, Option<String>),
    /// `SET TRANSACTION …` (`session`: `SET SESSION CHARACTERISTICS AS …`).
    SetTransaction {
        modes: Vec<Mode>,
        session: bool,
    },
    /// `RESET name`, or `RESET ALL` (None).
    Reset(Option<String>),
    /// `SHOW name`, or `SHOW ALL` (None).
    Show(Option<String>),
    /// `DECLARE name CURSOR [WITH HOLD] FOR query`: the query is run by
    /// the caller and its rows kept with [`Session::declare`].
    Declare {
        name: String,
        query: String,
        hold: bool,
    },
    /// `DEALLOCATE [PREPARE] name`, or `DEALLOCATE ALL` (None).
    Deallocate(Option<String>),
    /// `FETCH [FORWARD] [n | ALL] FROM name` (or `MOVE`: `moving`).
    Fetch {
        name: String,
        count: Option<usize>,
        moving: bool,
    },
    /// `CLOSE name`.
    Close(String),
    /// A statement with nothing to do here, and its command tag.
    Nothing(&'static str),
}

/// A transaction mode.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Isolation(String),
    ReadOnly(bool),
    Deferrable,
}

/// Why a statement is refused: SQLSTATE and message.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { code, message: message.into() }
}

/// The statement `sql` (lexed into `words`) as a [`Command`], or None when it
/// is a query for the SQL engine. Statements no client can have here are
/// refused.
pub fn read(sql: &str, words: &[Token<'_>]) -> Option<Result<Command, Refusal>> {
    let w = |i: usize| words.get(i);
    let is = |i: usize, k: &str| w(i).is_some_and(|t| t.is(k));
    let first = w(0)?;
    let rest_from = |i: usize| -> &[Token<'_>] { words.get(i..).unwrap_or(&[]) };
    let command = match first.text.to_ascii_lowercase().as_str() {
        "begin" => {
            let at = if is(1, "work") || is(1, "transaction") { 2 } else { 1 };
            modes(rest_from(at)).map(Command::Begin)
        }
        "start" if is(1, "transaction") => modes(rest_from(2)).map(Command::Begin),
        "commit" | "end" if words.len() <= 2 => Ok(Command::Commit),
        "abort" => Ok(Command::Rollback),
        "rollback" => {
            let mut i = 1;
            if is(i, "work") || is(i, "transaction") {
                i += 1;
            }
            if is(i, "to") {
                i += 1;
                if is(i, "savepoint") {
                    i += 1;
                }
                name_at(words, i).map(Command::RollbackTo)
            } else if is(i, "prepared") {
                Err(refuse("0A000", "prepared transactions are not supported"))
            } else {
                Ok(Command::Rollback)
            }
        }
        "savepoint" => name_at(words, 1).map(Command::Savepoint),
        "release" => name_at(words, if is(1, "savepoint") { 2 } else { 1 }).map(Command::Release),
        "set" => set(words),
        "reset" if is(1, "all") => Ok(Command::Reset(None)),
        "reset" => name_at(words, 1).map(|n| Command::Reset(Some(n))),
        "show" if is(1, "all") => Ok(Command::Show(None)),
        "show" if is(1, "transaction") && is(2, "isolation") && is(3, "level") => {
            Ok(Command::Show(Some("transaction_isolation".into())))
        }
        "show" if is(1, "time") && is(2, "zone") => Ok(Command::Show(Some("TimeZone".into()))),
        "show" => name_at(words, 1).map(|n| Command::Show(Some(n))),
        "discard" => Ok(Command::Nothing(if is(1, "all") { "DISCARD ALL" } else { "DISCARD" })),
        "close" if is(1, "all") => Ok(Command::Nothing("CLOSE CURSOR ALL")),
        "close" => name_at(words, 1).map(Command::Close),
        "declare" => declare(sql, words),
        "fetch" | "move" => fetch(words, first.is("move")),
        "unlisten" => Ok(Command::Nothing("UNLISTEN")),
        "deallocate" => {
            let at = if is(1, "prepare") { 2 } else { 1 };
            if is(at, "all") {
                Ok(Command::Deallocate(None))
            } else {
                name_at(words, at).map(|n| Command::Deallocate(Some(n)))
            }
        }
        "listen" | "notify" => Err(refuse(
            "0A000",
            "LISTEN and NOTIFY are not supported: to be told of each batch, watch a table over HTTP \
             (GET /tables/NAME/watch, Server-Sent Events)",
        )),
        "lock" | "truncate" | "grant" | "revoke" | "comment" | "cluster" => {
            Err(refuse("25006", crate::sql::SqlError::ReadOnly.to_string()))
        }
        _ => return None,
    };
    Some(command)
}

/// `DECLARE name [BINARY] [ASENSITIVE | INSENSITIVE] [[NO] SCROLL] CURSOR
/// [{WITH | WITHOUT} HOLD] FOR query`.
fn declare(sql: &str, words: &[Token<'_>]) -> Result<Command, Refusal> {
    let name =
        words.get(1).and_then(Token::name).ok_or_else(|| refuse("42601", "DECLARE needs a cursor name"))?;
    let mut hold = false;
    let mut i = 2;
    while let Some(t) = words.get(i) {
        i += 1;
        if t.is("for") {
            break;
        }
        if t.is("binary") {
            return Err(refuse("0A000", "binary cursors are not supported"));
        }
        if t.is("scroll") && !words[i - 2].is("no") {
            return Err(refuse("0A000", "scrollable cursors are not supported (NO SCROLL, forward only)"));
        }
        if t.is("with") && words.get(i).is_some_and(|h| h.is("hold")) {
            hold = true;
        }
    }
    let Some(first) = words.get(i) else { return Err(refuse("42601", "DECLARE … FOR needs a query")) };
    // The query is the rest of the statement, as written.
    let at = first.text.as_ptr() as usize - sql.as_ptr() as usize;
    Ok(Command::Declare { name, query: sql[at..].to_owned(), hold })
}

/// `FETCH` or `MOVE`: forward only.
fn fetch(words: &[Token<'_>], moving: bool) -> Result<Command, Refusal> {
    let mut i = 1;
    let is = |i: usize, k: &str| words.get(i).is_some_and(|t| t.is(k));
    if is(i, "backward")
        || is(i, "prior")
        || is(i, "first")
        || is(i, "last")
        || is(i, "absolute")
        || is(i, "relative")
    {
        return Err(refuse("0A000", "cursors here move forward only (FETCH [FORWARD] n | ALL)"));
    }
    let mut count = Some(1);
    if is(i, "next") {
        i += 1;
    } else if is(i, "forward") {
        i += 1;
        if is(i, "all") {
            count = None;
            i += 1;
        } else if let Some(n) = words.get(i).filter(|t| t.kind == Kind::Number) {
            count = Some(n.text.parse().map_err(|_| refuse("22023", "FETCH needs a count"))?);
            i += 1;
        }
    } else if is(i, "all") {
        count = None;
        i += 1;
    } else if let Some(n) = words.get(i).filter(|t| t.kind == Kind::Number) {
        count = Some(n.text.parse().map_err(|_| refuse("22023", "FETCH needs a count"))?);
        i += 1;
    }
    if is(i, "from") || is(i, "in") {
        i += 1;
    }
    name_at(words, i).map(|name| Command::Fetch { name, count, moving })
}

/// A (possibly quoted) name at word `i`, alone at the end.
fn name_at(words: &[Token<'_>], i: usize) -> Result<String, Refusal> {
    match (words.get(i).and_then(Token::name), words.len() == i + 1) {
        (Some(name), true) => Ok(name),
        _ => Err(refuse("42601", "syntax error: a name was expected")),
    }
}

/// Transaction modes, separated by commas or spaces.
fn modes(words: &[Token<'_>]) -> Result<Vec<Mode>, Refusal> {
    let mut out = Vec::new();
    let mut i = 0;
    let is = |i: usize, k: &str| words.get(i).is_some_and(|t| t.is(k));
    while i < words.len() {
        if words[i].is_punct(",") {
            i += 1;
        } else if is(i, "isolation") && is(i + 1, "level") {
            let level = match (words.get(i + 2).map(|t| t.text.to_ascii_lowercase()), words.get(i + 3)) {
                (Some(l), _) if l == "serializable" => (l, 3),
                (Some(l), Some(n)) if (l == "repeatable" && n.is("read")) => ("repeatable read".into(), 4),
                (Some(l), Some(n)) if l == "read" && (n.is("committed") || n.is("uncommitted")) => {
                    (format!("read {}", n.text.to_ascii_lowercase()), 4)
                }
                _ => return Err(refuse("42601", "syntax error: an isolation level was expected")),
            };
            out.push(Mode::Isolation(level.0));
            i += level.1;
        } else if is(i, "read") && is(i + 1, "only") {
            out.push(Mode::ReadOnly(true));
            i += 2;
        } else if is(i, "read") && is(i + 1, "write") {
            out.push(Mode::ReadOnly(false));
            i += 2;
        } else if is(i, "deferrable") {
            out.push(Mode::Deferrable);
            i += 1;
        } else if is(i, "not") && is(i + 1, "deferrable") {
            i += 2;
        } else {
            return Err(refuse("42601", format!("syntax error at or near \"{}\"", words[i].text)));
        }
    }
    Ok(out)
}

fn set(words: &[Token<'_>]) -> Result<Command, Refusal> {
    let is = |i: usize, k: &str| words.get(i).is_some_and(|t| t.is(k));
    let mut i = 1;
    if is(i, "session") && is(i + 1, "characteristics") && is(i + 2, "as") && is(i + 3, "transaction") {
        return modes(&words[i + 4..]).map(|modes| Command::SetTransaction { modes, session: true });
    }
    if is(i, "session") || is(i, "local") {
        i += 1;
    }
    if is(i, "transaction") {
        return modes(&words[i + 1..]).map(|modes| Command::SetTransaction { modes, session: false });
    }
    let (name, at) = if is(i, "time") && is(i + 1, "zone") {
        ("TimeZone".to_owned(), i + 2)
    } else if is(i, "names") {
        ("client_encoding".to_owned(), i + 1)
    } else {
        // A custom setting's name has a dot in it (`myapp.mode`).
        let mut name =
            words.get(i).and_then(Token::name).ok_or_else(|| refuse("42601", "syntax error in SET"))?;
        i += 1;
        while words.get(i).is_some_and(|t| t.is_punct(".")) {
            let part = words
                .get(i + 1)
                .and_then(Token::name)
                .ok_or_else(|| refuse("42601", "syntax error in SET"))?;
            name = format!("{name}.{part}");
            i += 2;
        }
        if !(is(i, "to") || words.get(i).is_some_and(|t| t.kind == Kind::Op && t.text == "=")) {
            return Err(refuse("42601", "syntax error in SET: SET name TO value"));
        }
        (name, i + 1)
    };
    let values = &words[at.min(words.len())..];
    if values.len() == 1 && values[0].is("default") || values.len() == 1 && values[0].is("local") {
        return Ok(Command::Set(name, None));
    }
    let mut parts = Vec::new();
    for t in values {
        match t.kind {
            Kind::Punct if t.text == "," => {}
            Kind::Str => parts.push(t.string().unwrap_or_default()),
            Kind::Word | Kind::Number | Kind::QuotedName => {
                parts.push(t.name().filter(|_| t.kind != Kind::Number).unwrap_or_else(|| t.text.to_owned()))
            }
            Kind::Op if t.text == "-" || t.text == "+" => parts.push(t.text.to_owned()),
            _ => return Err(refuse("42601", format!("syntax error in SET at \"{}\"", t.text))),
        }
    }
    if parts.is_empty() {
        return Err(refuse("42601", "syntax error in SET: a value was expected"));
    }
    // `-5` arrives as two tokens.
    let mut joined: Vec<String> = Vec::new();
    for p in parts {
        match joined.last_mut() {
            Some(last) if last == "-" || last == "+" => last.push_str(&p),
            _ => joined.push(p),
        }
    }
    Ok(Command::Set(name, Some(joined.join(", "))))
}

/// One client's session.
#[derive(Default)]
pub struct Session {
    /// Values set by the client, by canonical (or custom) name.
    settings: BTreeMap<String, String>,
    transaction: Option<Transaction>,
    cursors: BTreeMap<String, Cursor>,
    /// The prepared statements it keeps, counted.
    pub statements: Statements,
}

/// An open cursor: its query's rows, read when it was declared (at most
/// the row limit, like any result), handed out by FETCH. What it holds is
/// counted against [`CURSOR_MEMORY`] until it closes.
pub struct Cursor {
    pub columns: Vec<String>,
    pub types: Vec<ColumnType>,
    rows: std::collections::VecDeque<Vec<Value>>,
    hold: bool,
    /// Its rows' size when declared, as counted.
    bytes: usize,
}

/// Cursors one session may hold open at once; one more is refused
/// (SQLSTATE 54000, program_limit_exceeded).
pub const MAX_CURSORS: usize = 64;

/// Bytes the open cursors of all sessions may hold together (their rows,
/// read at DECLARE); a DECLARE past it is refused (SQLSTATE 53200,
/// out_of_memory), so a client cannot grow the engine without bound.
pub const CURSOR_MEMORY: usize = 128 << 20;

/// What the open cursors hold now, in bytes.
static CURSOR_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for Cursor {
    fn drop(&mut self) {
        CURSOR_BYTES.fetch_sub(self.bytes, std::sync::atomic::Ordering::Relaxed);
    }
}

/// About what `rows` take in memory: each value's own size and what it
/// points to, each row's vector.
fn size_of_rows(rows: &[Vec<Value>]) -> usize {
    let value = |v: &Value| {
        std::mem::size_of::<Value>()
            + match v {
                Value::String(s) => s.capacity(),
                _ => 0,
            }
    };
    rows.iter().map(|r| std::mem::size_of::<Vec<Value>>() + r.iter().map(value).sum::<usize>()).sum()
}

#[derive(Default)]
struct Transaction {
    /// What its statements read, from its first one on.
    snapshot: Option<Arc<Snapshot>>,
    savepoints: Vec<String>,
    /// A statement failed: only the end of the transaction (or a rollback
    /// to a savepoint) is accepted until then.
    failed: bool,
    isolation: Option<String>,
}

/// What a command came to.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// A command tag, and a warning to send before it, if any.
    Done { tag: &'static str, warning: Option<(&'static str, String)> },
    /// `SHOW`'s answer: columns and rows of text.
    Rows { columns: Vec<String>, rows: Vec<Vec<String>> },
    /// `FETCH`'s rows, of the cursor's columns.
    Fetched { columns: Vec<String>, types: Vec<ColumnType>, rows: Vec<Vec<Value>> },
}

fn done(tag: &'static str) -> Outcome {
    Outcome::Done { tag, warning: None }
}

impl Session {
    /// The status ReadyForQuery reports.
    pub fn status(&self) -> TransactionStatus {
        match &self.transaction {
            None => TransactionStatus::Idle,
            Some(t) if t.failed => TransactionStatus::Error,
            Some(_) => TransactionStatus::Transaction,
        }
    }

    /// An error ended a statement: in a transaction, it is now failed.
    pub fn failed(&mut self) {
        if let Some(t) = &mut self.transaction {
            t.failed = true;
        }
    }

    /// Whether a query may run now (not in a failed transaction).
    pub fn may_query(&self) -> Result<(), Refusal> {
        match self.status() {
            TransactionStatus::Error => Err(refuse(
                "25P02",
                "current transaction is aborted, commands ignored until end of transaction block",
            )),
            _ => Ok(()),
        }
    }

    /// The snapshot a query reads: the transaction's (taken now if this is
    /// its first statement), or None for the latest.
    pub fn snapshot(&mut self, take: impl FnOnce() -> Arc<Snapshot>) -> Option<Arc<Snapshot>> {
        let t = self.transaction.as_mut()?;
        Some(t.snapshot.get_or_insert_with(take).clone())
    }

    /// A setting's value for this client.
    pub fn setting(&self, name: &str) -> Option<String> {
        if name.eq_ignore_ascii_case("transaction_isolation")
            && let Some(level) = self.transaction.as_ref().and_then(|t| t.isolation.clone())
        {
            return Some(level);
        }
        let canonical = setting(name).map_or_else(|| name.to_ascii_lowercase(), |s| s.0.to_owned());
        if let Some(v) = self.settings.get(&canonical) {
            return Some(v.clone());
        }
        if name.eq_ignore_ascii_case("transaction_isolation") {
            return self.setting("default_transaction_isolation");
        }
        setting(name).map(|s| s.1.to_owned())
    }

    /// Runs `command`; `release` gets back a transaction's snapshot at its end.
    pub fn run(&mut self, command: Command, release: impl FnOnce(Arc<Snapshot>)) -> Result<Outcome, Refusal> {
        if self.status() == TransactionStatus::Error
            && !matches!(command, Command::Commit | Command::Rollback | Command::RollbackTo(_))
        {
            self.may_query()?;
        }
        match command {
            Command::Begin(modes) => self.begin(modes),
            Command::Commit | Command::Rollback => Ok(self.end(matches!(command, Command::Commit), release)),
            Command::Savepoint(name) => {
                let t = self.in_transaction("SAVEPOINT")?;
                t.savepoints.push(name);
                Ok(done("SAVEPOINT"))
            }
            Command::Release(name) => {
                let t = self.in_transaction("RELEASE SAVEPOINT")?;
                let at = savepoint(t, &name)?;
                t.savepoints.truncate(at);
                Ok(done("RELEASE"))
            }
            Command::RollbackTo(name) => {
                let t = self.in_transaction("ROLLBACK TO SAVEPOINT")?;
                let at = savepoint(t, &name)?;
                t.savepoints.truncate(at + 1);
                t.failed = false;
                Ok(done("ROLLBACK"))
            }
            Command::Set(name, value) => {
                self.set(&name, value)?;
                Ok(done("SET"))
            }
            Command::SetTransaction { modes, session } => self.set_transaction(modes, session),
            Command::Reset(None) => {
                self.settings.clear();
                Ok(done("RESET"))
            }
            Command::Reset(Some(name)) => {
                self.set(&name, None)?;
                Ok(done("RESET"))
            }
            Command::Show(name) => self.show(name),
            Command::Declare { .. } => Err(refuse("XX000", "DECLARE is run by the connection")),
            Command::Fetch { name, count, moving } => self.fetch(&name, count, moving),
            Command::Close(name) => {
                self.cursors
                    .remove(&name)
                    .ok_or_else(|| refuse("34000", format!("cursor \"{name}\" does not exist")))?;
                Ok(done("CLOSE CURSOR"))
            }
            Command::Deallocate(Some(name)) => {
                self.statements.deallocate(&name)?;
                Ok(done("DEALLOCATE"))
            }
            Command::Deallocate(None) => {
                self.statements.deallocate_all();
                Ok(done("DEALLOCATE ALL"))
            }
            Command::Nothing(tag) => {
                match tag {
                    "DISCARD ALL" => {
                        self.settings.clear();
                        self.cursors.clear();
                        self.statements.deallocate_all();
                    }
                    "CLOSE CURSOR ALL" => self.cursors.clear(),
                    _ => {}
                }
                Ok(done(tag))
            }
        }
    }

    /// `SHOW name` or `SHOW ALL` (None).
    fn show(&self, name: Option<String>) -> Result<Outcome, Refusal> {
        let Some(name) = name else {
            return Ok(Outcome::Rows {
                columns: vec!["name".into(), "setting".into()],
                rows: SETTINGS
                    .iter()
                    .map(|s| vec![s.0.to_owned(), self.setting(s.0).unwrap_or_default()])
                    .collect(),
            });
        };
        let value = self
            .setting(&name)
            .ok_or_else(|| refuse("42704", format!("unrecognized configuration parameter \"{name}\"")))?;
        let column = setting(&name).map_or(name.clone(), |s| s.0.to_owned());
        Ok(Outcome::Rows { columns: vec![column], rows: vec![vec![value]] })
    }

    /// `BEGIN` / `START TRANSACTION`, with its modes.
    fn begin(&mut self, modes: Vec<Mode>) -> Result<Outcome, Refusal> {
        check_modes(&modes)?;
        if self.transaction.is_some() {
            return Ok(Outcome::Done {
                tag: "BEGIN",
                warning: Some(("25001", "there is already a transaction in progress".into())),
            });
        }
        let isolation = modes.into_iter().find_map(|m| match m {
            Mode::Isolation(l) => Some(l),
            _ => None,
        });
        self.transaction = Some(Transaction { isolation, ..Transaction::default() });
        Ok(done("BEGIN"))
    }

    /// `COMMIT` (`commit`) or `ROLLBACK`: the transaction ends (a failed one
    /// rolls back either way), its cursors without `WITH HOLD` close, and its
    /// snapshot goes to `release`.
    fn end(&mut self, commit: bool, release: impl FnOnce(Arc<Snapshot>)) -> Outcome {
        let tag = match (commit, self.status()) {
            (true, TransactionStatus::Transaction | TransactionStatus::Idle) => "COMMIT",
            _ => "ROLLBACK",
        };
        self.cursors.retain(|_, c| c.hold);
        match self.transaction.take() {
            Some(t) => {
                if let Some(s) = t.snapshot {
                    release(s);
                }
                done(tag)
            }
            None => {
                Outcome::Done { tag, warning: Some(("25P01", "there is no transaction in progress".into())) }
            }
        }
    }

    /// `SET TRANSACTION …`, or with `session`, `SET SESSION CHARACTERISTICS AS TRANSACTION …`.
    fn set_transaction(&mut self, modes: Vec<Mode>, session: bool) -> Result<Outcome, Refusal> {
        check_modes(&modes)?;
        for m in modes {
            if let Mode::Isolation(level) = m {
                if session {
                    self.settings.insert("default_transaction_isolation".into(), level);
                } else if let Some(t) = &mut self.transaction {
                    t.isolation = Some(level);
                }
            }
        }
        let warning = (!session && self.transaction.is_none())
            .then(|| ("25P01", "SET TRANSACTION can only be used in transaction blocks".to_owned()));
        Ok(Outcome::Done { tag: "SET", warning })
    }

    /// `FETCH` (or, `moving`, `MOVE`) `count` rows of cursor `name` (all without a count).
    fn fetch(&mut self, name: &str, count: Option<usize>, moving: bool) -> Result<Outcome, Refusal> {
        let cursor = self
            .cursors
            .get_mut(name)
            .ok_or_else(|| refuse("34000", format!("cursor \"{name}\" does not exist")))?;
        let n = count.unwrap_or(usize::MAX).min(cursor.rows.len());
        let rows: Vec<Vec<Value>> = cursor.rows.drain(..n).collect();
        if moving {
            return Ok(Outcome::Done { tag: "MOVE", warning: None });
        }
        Ok(Outcome::Fetched { columns: cursor.columns.clone(), types: cursor.types.clone(), rows })
    }

    /// Whether a cursor may be declared now: in a transaction, or `WITH HOLD`.
    pub fn may_declare(&self, name: &str, hold: bool) -> Result<(), Refusal> {
        self.may_query()?;
        if self.transaction.is_none() && !hold {
            return Err(refuse("25P01", "DECLARE CURSOR can only be used in transaction blocks"));
        }
        if self.cursors.contains_key(name) {
            return Err(refuse("42P03", format!("cursor \"{name}\" already exists")));
        }
        if self.cursors.len() >= MAX_CURSORS {
            return Err(refuse(
                "54000",
                format!("too many open cursors: a session may hold {MAX_CURSORS}; CLOSE some first"),
            ));
        }
        Ok(())
    }

    /// Opens a cursor over a query's rows, unless the open cursors of all
    /// sessions would then hold more than [`CURSOR_MEMORY`].
    pub fn declare(
        &mut self,
        name: String,
        hold: bool,
        columns: Vec<String>,
        types: Vec<ColumnType>,
        rows: Vec<Vec<Value>>,
    ) -> Result<(), Refusal> {
        use std::sync::atomic::Ordering;
        let bytes = size_of_rows(&rows);
        let held = CURSOR_BYTES.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if held > CURSOR_MEMORY {
            CURSOR_BYTES.fetch_sub(bytes, Ordering::Relaxed);
            return Err(refuse(
                "53200",
                format!(
                    "out of memory for cursors: the open cursors hold {} MiB and this one needs {} MiB more \
                     of the {} MiB they may hold; CLOSE some, or FETCH from a smaller query",
                    (held - bytes) >> 20,
                    bytes.div_ceil(1 << 20),
                    CURSOR_MEMORY >> 20
                ),
            ));
        }
        self.cursors.insert(name, Cursor { columns, types, rows: rows.into(), hold, bytes });
        Ok(())
    }

    /// An open cursor's columns.
    pub fn cursor(&self, name: &str) -> Option<&Cursor> {
        self.cursors.get(name)
    }

    fn in_transaction(&mut self, what: &str) -> Result<&mut Transaction, Refusal> {
        self.transaction
            .as_mut()
            .ok_or_else(|| refuse("25P01", format!("{what} can only be used in transaction blocks")))
    }

    fn set(&mut self, name: &str, value: Option<String>) -> Result<(), Refusal> {
        let Some(&(canonical, _, allowed)) = setting(name) else {
            if name.contains('.') {
                match value {
                    Some(v) => self.settings.insert(name.to_owned(), v),
                    None => self.settings.remove(name),
                };
                return Ok(());
            }
            return Err(refuse("42704", format!("unrecognized configuration parameter \"{name}\"")));
        };
        let Some(value) = value else {
            if allowed == Allowed::Fixed {
                return Err(refuse("55P02", format!("parameter \"{canonical}\" cannot be changed")));
            }
            self.settings.remove(canonical);
            return Ok(());
        };
        let lower = value.to_ascii_lowercase();
        let value = match allowed {
            Allowed::Any => value,
            Allowed::Fixed => {
                return Err(refuse("55P02", format!("parameter \"{canonical}\" cannot be changed")));
            }
            Allowed::Utf8 if matches!(lower.as_str(), "utf8" | "utf-8" | "unicode") => "UTF8".into(),
            Allowed::Utf8 => return Err(refuse("0A000", "this server speaks UTF8 only")),
            Allowed::Iso if lower.contains("iso") => value,
            Allowed::Iso => return Err(refuse("0A000", "dates are written as ISO only (DateStyle ISO)")),
            Allowed::Utc
                if matches!(
                    lower.as_str(),
                    "utc" | "gmt" | "etc/utc" | "z" | "zulu" | "0" | "+00" | "+00:00" | "uct"
                ) =>
            {
                "UTC".into()
            }
            Allowed::Utc => {
                return Err(refuse("0A000", "times are in UTC only: the time zone cannot be changed"));
            }
            Allowed::On if matches!(lower.as_str(), "on" | "true" | "1" | "yes") => "on".into(),
            Allowed::On => return Err(refuse("0A000", format!("{canonical} is always on here"))),
            Allowed::ReadOnly if matches!(lower.as_str(), "on" | "true" | "1" | "yes") => "on".into(),
            Allowed::ReadOnly => return Err(refuse("25006", crate::sql::SqlError::ReadOnly.to_string())),
            Allowed::Isolation
                if matches!(
                    lower.as_str(),
                    "serializable" | "repeatable read" | "read committed" | "read uncommitted"
                ) =>
            {
                lower
            }
            Allowed::Isolation => {
                return Err(refuse("22023", format!("invalid value for {canonical}: \"{value}\"")));
            }
        };
        self.settings.insert(canonical.to_owned(), value);
        Ok(())
    }

    /// The end of the connection: gives back a transaction's snapshot.
    pub fn close(&mut self, release: impl FnOnce(Arc<Snapshot>)) {
        if let Some(s) = self.transaction.take().and_then(|t| t.snapshot) {
            release(s);
        }
    }
}

fn savepoint(t: &Transaction, name: &str) -> Result<usize, Refusal> {
    t.savepoints
        .iter()
        .rposition(|s| s == name)
        .ok_or_else(|| refuse("3B001", format!("savepoint \"{name}\" does not exist")))
}

/// Refuses what no transaction here can be: a read-write one.
fn check_modes(modes: &[Mode]) -> Result<(), Refusal> {
    if modes.contains(&Mode::ReadOnly(false)) {
        return Err(refuse("25006", crate::sql::SqlError::ReadOnly.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Option<Result<Command, Refusal>> {
        read(sql, &super::super::dialect::lex::words(sql))
    }

    fn cmd(sql: &str) -> Command {
        parse(sql).expect("a session command").expect("valid")
    }

    #[test]
    fn statements_are_read_as_postgres_reads_them() {
        assert_eq!(cmd("BEGIN"), Command::Begin(vec![]));
        assert_eq!(
            cmd("begin transaction isolation level repeatable read, read only"),
            Command::Begin(vec![Mode::Isolation("repeatable read".into()), Mode::ReadOnly(true)])
        );
        assert_eq!(
            cmd("START TRANSACTION READ ONLY DEFERRABLE"),
            Command::Begin(vec![Mode::ReadOnly(true), Mode::Deferrable])
        );
        assert_eq!(cmd("end"), Command::Commit);
        assert_eq!(cmd("ROLLBACK TO SAVEPOINT \"Sp 1\""), Command::RollbackTo("Sp 1".into()));
        assert_eq!(cmd("rollback work"), Command::Rollback);
        assert_eq!(cmd("release sp"), Command::Release("sp".into()));
        assert_eq!(
            cmd("SET datestyle TO 'ISO, MDY'"),
            Command::Set("datestyle".into(), Some("ISO, MDY".into()))
        );
        assert_eq!(
            cmd("set extra_float_digits = -3"),
            Command::Set("extra_float_digits".into(), Some("-3".into()))
        );
        assert_eq!(cmd("SET TIME ZONE 'UTC'"), Command::Set("TimeZone".into(), Some("UTC".into())));
        assert_eq!(
            cmd("SET search_path TO public, \"$user\""),
            Command::Set("search_path".into(), Some("public, $user".into()))
        );
        assert_eq!(cmd("set myapp.mode = default"), Command::Set("myapp.mode".into(), None));
        assert_eq!(
            cmd("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
            Command::SetTransaction { modes: vec![Mode::Isolation("serializable".into())], session: true }
        );
        assert_eq!(
            cmd("show transaction isolation level"),
            Command::Show(Some("transaction_isolation".into()))
        );
        assert_eq!(
            cmd("SHOW standard_conforming_strings"),
            Command::Show(Some("standard_conforming_strings".into()))
        );
        assert_eq!(cmd("UNLISTEN *"), Command::Nothing("UNLISTEN"));
        assert_eq!(cmd("close all"), Command::Nothing("CLOSE CURSOR ALL"));
        assert!(parse("select 1").is_none() && parse("with x as (select 1) select * from x").is_none());
        assert_eq!(parse("LISTEN batches").unwrap().unwrap_err().code, "0A000");
        assert_eq!(
            parse("begin read write").map(|c| c.unwrap()),
            Some(Command::Begin(vec![Mode::ReadOnly(false)]))
        );
        assert_eq!(parse("set x").unwrap().unwrap_err().code, "42601");
        assert_eq!(
            cmd("DECLARE \"c\" NO SCROLL CURSOR WITHOUT HOLD FOR select tag from tag_totals"),
            Command::Declare { name: "c".into(), query: "select tag from tag_totals".into(), hold: false }
        );
        assert_eq!(
            cmd("FETCH FORWARD 100 FROM \"c\""),
            Command::Fetch { name: "c".into(), count: Some(100), moving: false }
        );
        assert_eq!(cmd("fetch all in c"), Command::Fetch { name: "c".into(), count: None, moving: false });
        assert_eq!(
            cmd("MOVE FORWARD 5 FROM c"),
            Command::Fetch { name: "c".into(), count: Some(5), moving: true }
        );
        assert_eq!(cmd("close c"), Command::Close("c".into()));
        assert_eq!(parse("fetch backward 1 from c").unwrap().unwrap_err().code, "0A000");
    }

    #[test]
    fn a_transaction_goes_through_postgres_states() {
        let mut s = Session::default();
        let mut released = 0;
        let mut run = |s: &mut Session, sql: &str| s.run(cmd(sql), |_| released += 1);
        assert_eq!(s.status(), TransactionStatus::Idle);
        assert_eq!(
            run(&mut s, "commit").unwrap(),
            Outcome::Done {
                tag: "COMMIT",
                warning: Some(("25P01", "there is no transaction in progress".into()))
            }
        );
        assert_eq!(run(&mut s, "savepoint a").unwrap_err().code, "25P01");
        run(&mut s, "begin").unwrap();
        assert_eq!(s.status(), TransactionStatus::Transaction);
        let first = s.snapshot(|| Arc::new(Snapshot::default())).unwrap();
        let again = s.snapshot(|| panic!("the transaction keeps its snapshot")).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        run(&mut s, "savepoint a").unwrap();
        run(&mut s, "savepoint b").unwrap();
        s.failed();
        assert_eq!(s.status(), TransactionStatus::Error);
        assert_eq!(s.may_query().unwrap_err().code, "25P02");
        assert_eq!(run(&mut s, "set application_name = 'x'").unwrap_err().code, "25P02");
        assert_eq!(run(&mut s, "rollback to b").unwrap(), done("ROLLBACK"));
        assert_eq!(s.status(), TransactionStatus::Transaction);
        assert_eq!(run(&mut s, "release a").unwrap(), done("RELEASE"));
        assert_eq!(run(&mut s, "rollback to b").unwrap_err().code, "3B001");
        s.failed();
        // COMMIT of a failed transaction rolls it back.
        assert_eq!(run(&mut s, "commit").unwrap(), done("ROLLBACK"));
        assert_eq!(s.status(), TransactionStatus::Idle);
        assert_eq!(released, 1, "the snapshot went back");
    }

    #[test]
    fn settings_are_per_client_and_what_cannot_be_honoured_is_refused() {
        let mut s = Session::default();
        let mut run = |sql: &str| s.run(cmd(sql), |_| {});
        run("set application_name = 'notebook'").unwrap();
        run("SET TIME ZONE 'UTC'").unwrap();
        run("set client_encoding to 'utf-8'").unwrap();
        assert_eq!(run("set timezone = 'Europe/Paris'").unwrap_err().code, "0A000");
        assert_eq!(run("set transaction_read_only = off").unwrap_err().code, "25006");
        assert_eq!(run("begin read write").unwrap_err().code, "25006");
        assert_eq!(run("set server_version = '9'").unwrap_err().code, "55P02");
        assert_eq!(run("set nope = 1").unwrap_err().code, "42704");
        run("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED").unwrap();
        let show = |s: &mut Session, sql: &str| match s.run(cmd(sql), |_| {}).unwrap() {
            Outcome::Rows { columns, rows } => (columns[0].clone(), rows[0][0].clone()),
            other => panic!("{other:?}"),
        };
        assert_eq!(show(&mut s, "show application_name"), ("application_name".into(), "notebook".into()));
        assert_eq!(show(&mut s, "show datestyle"), ("DateStyle".into(), "ISO, MDY".into()));
        assert_eq!(show(&mut s, "show client_encoding").1, "UTF8");
        assert_eq!(show(&mut s, "show transaction isolation level").1, "read committed");
        s.run(cmd("begin isolation level serializable"), |_| {}).unwrap();
        assert_eq!(show(&mut s, "show transaction isolation level").1, "serializable");
        s.run(cmd("commit"), |_| {}).unwrap();
        s.run(cmd("reset all"), |_| {}).unwrap();
        assert_eq!(show(&mut s, "show application_name").1, "");
        assert_eq!(show(&mut s, "show transaction isolation level").1, "repeatable read");
        assert_eq!(s.run(cmd("show nope"), |_| {}).unwrap_err().code, "42704");
    }
}
