//! The PostgreSQL wire protocol (`stream --pg ADDR`): SQL over the live tables
//! for `psql` and Postgres clients, through the same [`SqlEngine`] as HTTP.
//!
//! A password when a token is set, checked with SCRAM-SHA-256 ([`auth`]); no
//! TLS.
//! Both the simple query protocol (`psql`, several statements in one query)
//! and the extended one (what drivers use: Parse, Bind, Describe, Execute) are
//! served. Each client has a [`session::Session`]: transactions (each reads one
//! batch), savepoints and settings, answered as PostgreSQL answers them.
//! Statements are translated from Postgres' dialect first
//! ([`dialect`]: `pg_catalog`, casts, parameter types);
//! `COPY … TO STDOUT` is served in text and CSV ([`copy`]); a CancelRequest
//! stops the named connection's running query ([`cancel`]).
//!
//! Columns have the type int8, float8 or text, in text or binary as the
//! client asks. A parameter whose type the client leaves open takes the type
//! of its use (`LIMIT $1`, `count > $1`, `$1::date`), else text. A result
//! past the row limit is an error (54000), never a silent cut. Errors carry
//! SQLSTATE 42601 (syntax), 42P01 (unknown table), 42703 (unknown column),
//! 25006 (read-only), 42501 (not allowed), 25P02 (in a failed transaction),
//! 0A000 (not supported), 57014 (time limit), 53200 (memory limit), 54000
//! (row limit) or 22023/22007 (a value that does not fit its type).
//!
//! SQLite's columns are loosely typed, so a statement is described by a dry
//! run when it is parsed: declared columns keep their type, computed ones take
//! that of their first value, and a computed column that the dry run leaves
//! without a value (say `sum(count)` filtered by a parameter) is text. Later
//! executions are encoded with the described types, as the client expects.

pub mod auth;
pub mod cancel;
pub mod catalog;
mod connection;
pub mod copy;
pub mod dialect;
mod results;
pub mod session;
pub mod statements;
mod types;

use super::listener::{self, Limits};
use super::tls::Certificate;
use crate::engine::tables::ColumnType;
use crate::sql::{Param, Params, QueryResult, SqlEngine, SqlError};
use async_trait::async_trait;
use bytes::Bytes;
use cancel::{Cancels, Running};
use dialect::Translated;
use futures_util::{Sink, SinkExt};
use pgwire::api::DEFAULT_NAME;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{
    ExtendedQueryHandler, SimpleQueryHandler, send_execution_response, send_query_response,
    send_ready_for_query,
};
use pgwire::api::results::{FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState, PgWireServerHandlers, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::{
    Close, CloseComplete, Execute, Parse, ParseComplete, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{EmptyQueryResponse, NoticeResponse};
use pgwire::messages::simplequery::Query;
use serde_json::Value;
use session::{Command, Outcome, Refusal, Session};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;
use types::{fields, outputs, param_type, portal_params, response, sample};

/// Rows of a COPY handed from the statement to the client at a time, and
/// such batches queued between them at most.
const COPY_BATCH: usize = 256;
const COPY_QUEUE: usize = 4;

/// One client's handlers: the shared engine and the client's session.
#[derive(Clone)]
pub struct Backend {
    client: Arc<Client>,
}

struct Client {
    sql: Arc<SqlEngine>,
    session: Mutex<Session>,
    cancels: Arc<Cancels>,
    running: Arc<Running>,
    /// This connection's key in `cancels`, once it has started.
    key: Mutex<Option<(i32, Bytes)>>,
    /// The password check, when one is required.
    sasl: Option<Arc<auth::Sasl>>,
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(key) = self.key.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            self.cancels.unregister(&key);
        }
        let sql = self.sql.clone();
        self.session.get_mut().unwrap_or_else(|e| e.into_inner()).close(|s| sql.release(s));
    }
}

impl Backend {
    fn new(sql: Arc<SqlEngine>, cancels: Arc<Cancels>, sasl: Option<Arc<auth::Sasl>>) -> Backend {
        let client = Client {
            sql,
            session: Mutex::default(),
            cancels,
            running: Arc::default(),
            key: Mutex::default(),
            sasl,
        };
        Backend { client: Arc::new(client) }
    }

    /// Runs `statement` off the async threads, where a CancelRequest can stop it.
    async fn run(
        &self,
        statement: String,
        params: Vec<Param>,
        dry_run: bool,
        snapshot: Option<Arc<crate::engine::tables::Snapshot>>,
    ) -> PgWireResult<QueryResult> {
        let sql = self.client.sql.clone();
        let cancel = self.client.running.start();
        let result = tokio::task::spawn_blocking(move || {
            let params = if dry_run { Params::DryRun(&params) } else { Params::Values(&params) };
            sql.run(&statement, params, snapshot.as_ref(), Some(cancel))
        })
        .await;
        self.client.running.finish();
        result.map_err(|e| PgWireError::ApiError(Box::new(e)))?.map_err(|e| user_error(&e))
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        self.client.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A statement of this client failed (whichever step it was in).
    pub fn failed(&self) {
        self.session().failed();
    }

    /// Translates `sql` with this client's settings.
    fn translate(&self, sql: &str) -> PgWireResult<Translated> {
        let session = self.session();
        dialect::translate(sql, &|name| session.setting(name)).map_err(|e| {
            let code = match e {
                dialect::Untranslatable::NotSupported(_) => "0A000",
                dialect::Untranslatable::UnknownSetting(_) => "42704",
                dialect::Untranslatable::BadDate(_) => "22007",
            };
            pg_error(code, e.to_string())
        })
    }

    /// Runs a translated query on the transaction's snapshot, or the latest.
    async fn query(&self, translated: &Translated, params: Vec<Param>) -> PgWireResult<QueryResult> {
        let snapshot = {
            let mut session = self.session();
            session.may_query().map_err(refusal)?;
            session.snapshot(|| self.client.sql.snapshot())
        };
        self.run(translated.sql.clone(), params, false, snapshot).await
    }

    /// Describes a translated query by a dry run, each parameter bound to a
    /// value of its type (`params`), so that `$1 + 1` has the type of a sum
    /// of numbers; where a sample is not a value the query takes (an empty
    /// text read as a boolean), with NULLs. A `LIMIT $N` is 1.
    async fn describe(&self, translated: &Translated, params: &[Type]) -> PgWireResult<QueryResult> {
        self.session().may_query().map_err(refusal)?;
        let counted = |mut samples: Vec<Param>| {
            samples.resize(translated.params.len(), Param::Null);
            for &n in &translated.counts {
                if let Some(s) = samples.get_mut(n - 1) {
                    *s = Param::Integer(1);
                }
            }
            samples
        };
        let typed = counted(params.iter().map(sample).collect());
        match self.run(translated.sql.clone(), typed, true, None).await {
            Ok(r) => Ok(r),
            Err(_) => self.run(translated.sql.clone(), counted(Vec::new()), true, None).await,
        }
    }

    /// Runs a session command; a DECLARE runs its query here.
    async fn execute(&self, command: Command, params: Vec<Param>) -> PgWireResult<Outcome> {
        let Command::Declare { name, query, hold } = command else {
            return self.command(command).map_err(refusal);
        };
        self.session().may_declare(&name, hold).map_err(refusal)?;
        let translated = self.translate(&query)?;
        let r = self.query(&translated, params).await?;
        check_cut(&r)?;
        self.session().declare(name, hold, r.columns, r.types, r.rows).map_err(refusal)?;
        Ok(Outcome::Done { tag: "DECLARE CURSOR", warning: None })
    }

    /// Runs a session command.
    fn command(&self, command: Command) -> Result<Outcome, Refusal> {
        let sql = self.client.sql.clone();
        self.session().run(command, |s| sql.release(s))
    }
}

/// What a statement is.
#[derive(Clone, Debug)]
pub enum Statement {
    Query(Translated),
    Command(Command),
    Copy(copy::Copy),
}

/// Reads a statement, the one entry for all a client sends: lexed once into
/// words, it is a COPY ([`copy::read`]), a session command
/// ([`session::read`]: transactions, settings, cursors, prepared
/// statements), or else a query, rewritten into SQLite's dialect
/// ([`dialect::translate`]).
fn classify(backend: &Backend, sql: &str) -> PgWireResult<Statement> {
    let words = dialect::lex::words(sql);
    if let Some(c) = copy::read(sql, &words) {
        return c.map(Statement::Copy).map_err(refusal);
    }
    if let Some(c) = session::read(sql, &words) {
        return c.map(Statement::Command).map_err(refusal);
    }
    backend.translate(sql).map(Statement::Query)
}

/// A statement parsed for the extended protocol, with its description.
#[derive(Clone, Debug)]
pub struct Prepared {
    statement: Statement,
    columns: Vec<String>,
    types: Vec<ColumnType>,
    /// Finer types than `types` says, where the query says them
    /// ([`outputs`]).
    outputs: Vec<Option<Type>>,
    parameters: Vec<Type>,
}

#[async_trait]
impl SimpleQueryHandler for Backend {
    /// Runs each statement of the query in turn, as PostgreSQL does: an
    /// error ends the query there. The transaction status sent back is the
    /// session's.
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let statements = dialect::lex::statements(&query.query);
        if statements.is_empty() {
            client.feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new())).await?;
        }
        for sql in statements {
            let answered = self.simple(client, sql).await;
            self.forget_deallocated(client);
            if let Err(e) = answered {
                self.failed();
                client.set_transaction_status(self.session().status());
                return Err(e);
            }
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        let status = self.session().status();
        client.set_transaction_status(status);
        send_ready_for_query(client, status).await
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        unreachable!("on_query answers simple queries itself")
    }
}

impl Backend {
    /// One statement of a simple query, answered in full.
    async fn simple<C>(&self, client: &mut C, sql: &str) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match classify(self, sql)? {
            Statement::Query(translated) => {
                let rows = self.query_streamed(&translated, Vec::new(), None, &Format::UnifiedText).await?;
                send_query_response(client, rows, true).await
            }
            Statement::Command(command) => match self.execute(command, Vec::new()).await? {
                Outcome::Done { tag, warning } => {
                    if let Some((code, message)) = warning {
                        warn(client, code, message).await?;
                    }
                    send_execution_response(client, Tag::new(tag)).await
                }
                outcome => {
                    send_query_response(client, rows_response(outcome, &Format::UnifiedText)?, true).await
                }
            },
            Statement::Copy(c) => {
                let translated = self.translate(&c.query)?;
                let copy = self.copy_out(&c, &translated, Vec::new()).await?;
                results::send_copy(client, copy).await
            }
        }
    }
}

async fn warn<C>(client: &mut C, code: &str, message: String) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let notice = NoticeResponse::from(ErrorInfo::new("WARNING".to_owned(), code.to_owned(), message));
    client.feed(PgWireBackendMessage::NoticeResponse(notice)).await?;
    Ok(())
}

/// Describes each statement (queries by a dry run on the live tables).
/// pgwire's default Describe handlers answer from this: the client's
/// parameter types where it gave them, else ours, and the columns in the
/// portal's formats.
pub struct Parser {
    backend: Backend,
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let statement = classify(&self.backend, sql)?;
        let mut outputs = Vec::new();
        let (columns, types, parameters) = match &statement {
            Statement::Query(translated) => {
                // The client's type where it gave one, else ours.
                let parameters: Vec<Type> = (0..translated.params.len())
                    .map(|i| match types.get(i).cloned().flatten() {
                        Some(t) if t != Type::UNKNOWN => t,
                        _ => param_type(translated.params[i]),
                    })
                    .collect();
                let r = self.backend.describe(translated, &parameters).await?;
                outputs = self::outputs(&translated.items, &parameters, r.columns.len());
                let mut parameters = parameters;
                parameters.resize(r.parameters, Type::TEXT);
                (r.columns, r.types, parameters)
            }
            Statement::Command(Command::Show(name)) => {
                let columns = match name {
                    Some(name) => match self.backend.command(Command::Show(Some(name.clone()))) {
                        Ok(Outcome::Rows { columns, .. }) => columns,
                        _ => vec![name.clone()],
                    },
                    None => vec!["name".into(), "setting".into()],
                };
                let types = vec![ColumnType::Text; columns.len()];
                (columns, types, Vec::new())
            }
            Statement::Command(Command::Fetch { name, moving: false, .. }) => {
                let session = self.backend.session();
                let cursor = session
                    .cursor(name)
                    .ok_or_else(|| pg_error("34000", format!("cursor \"{name}\" does not exist")))?;
                (cursor.columns.clone(), cursor.types.clone(), Vec::new())
            }
            // The query of a COPY or a DECLARE takes parameters, typed from
            // their use; it runs when executed.
            Statement::Copy(copy::Copy { query, .. })
            | Statement::Command(Command::Declare { query, .. }) => {
                let translated = self.backend.translate(query)?;
                (Vec::new(), Vec::new(), translated.params.iter().map(|&p| param_type(p)).collect())
            }
            Statement::Command(_) => (Vec::new(), Vec::new(), Vec::new()),
        };
        Ok(Some(Prepared { statement, columns, types, outputs, parameters }))
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(stmt.parameters.clone())
    }

    fn get_result_schema(&self, stmt: &Prepared, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        Ok(fields(&stmt.columns, &stmt.types, &stmt.outputs, format.unwrap_or(&Format::UnifiedText)))
    }
}

#[async_trait]
impl ExtendedQueryHandler for Backend {
    type Statement = Prepared;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        Arc::new(Parser { backend: self.clone() })
    }

    /// pgwire's Parse, counted against the session's caps on prepared
    /// statements ([`statements`]). A Parse that fails leaves no statement of
    /// its name, as in PostgreSQL.
    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.clone().unwrap_or_else(|| DEFAULT_NAME.to_owned());
        self.session().statements.prepare(&name, message.query.len()).map_err(refusal)?;
        match StoredStatement::parse(client, &message, self.query_parser()).await {
            Ok(Some(stmt)) => client.portal_store().put_statement(Arc::new(stmt)),
            Ok(None) => client.portal_store().put_empty_statement(&name),
            Err(e) => {
                client.portal_store().rm_statement(&name);
                self.session().statements.close(&name);
                return Err(e);
            }
        }
        client.send(PgWireBackendMessage::ParseComplete(ParseComplete::new())).await?;
        Ok(())
    }

    /// pgwire's Close, and the statement's count given back.
    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => {
                client.portal_store().rm_statement(name);
                self.session().statements.close(name);
            }
            TARGET_TYPE_BYTE_PORTAL => client.portal_store().rm_portal(name),
            _ => {}
        }
        client.send(PgWireBackendMessage::CloseComplete(CloseComplete::new())).await?;
        Ok(())
    }

    /// pgwire's Execute (all the rows of a query not yet run go out as
    /// they come instead: [`results`]), then the session's transaction
    /// status (a rollback to a savepoint leaves a failed transaction, which
    /// pgwire's own bookkeeping cannot say).
    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        match results::all_rows_of_a_new_query(client, name, message.max_rows) {
            Some(portal) => self.execute_all(client, portal).await?,
            None => self._on_execute(client, message).await?,
        }
        client.set_transaction_status(self.session().status());
        Ok(())
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let stmt = &portal.statement.statement;
        match &stmt.statement {
            // All the rows at once: streamed as they come. In pieces
            // (`max_rows`, a driver's fetch size): read first, as before, so
            // that a portal left suspended holds rows, not a running statement.
            Statement::Query(translated) if max_rows == 0 => {
                let params = portal_params(portal, translated)?;
                let described =
                    results::Described { columns: &stmt.columns, types: &stmt.types, outputs: &stmt.outputs };
                let format = &portal.result_column_format;
                Ok(Response::Query(self.query_streamed(translated, params, Some(described), format).await?))
            }
            Statement::Query(translated) => {
                let params = portal_params(portal, translated)?;
                let mut r = self.query(translated, params).await?;
                if r.columns != stmt.columns {
                    return Err(pg_error(
                        "0A000",
                        "the statement's columns changed since it was prepared".into(),
                    ));
                }
                r.types.clone_from(&stmt.types);
                let fields = fields(&r.columns, &r.types, &stmt.outputs, &portal.result_column_format);
                Ok(Response::Query(response(r, fields)?))
            }
            Statement::Command(command) => {
                // A DECLARE's query may take the portal's parameters.
                let params = match command {
                    Command::Declare { query, .. } => portal_params(portal, &self.translate(query)?)?,
                    _ => Vec::new(),
                };
                self.command_response(client, command, params, &portal.result_column_format).await
            }
            Statement::Copy(c) => {
                let translated = self.translate(&c.query)?;
                let params = portal_params(portal, &translated)?;
                Ok(Response::CopyOut(self.copy_out(c, &translated, params).await?))
            }
        }
    }
}

impl Backend {
    /// Removes from pgwire's store the statements a `DEALLOCATE` or
    /// `DISCARD ALL` dropped.
    fn forget_deallocated<C>(&self, client: &C)
    where
        C: ClientPortalStore,
        C::PortalStore: PortalStore,
    {
        for name in self.session().statements.take_dropped() {
            client.portal_store().rm_statement(&name);
        }
    }

    /// Runs a session command of the extended protocol and answers it.
    async fn command_response<C>(
        &self,
        client: &mut C,
        command: &Command,
        params: Vec<Param>,
        format: &Format,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let outcome = self.execute(command.clone(), params).await;
        self.forget_deallocated(client);
        match outcome? {
            Outcome::Done { tag, warning } => {
                if let Some((code, message)) = warning {
                    warn(client, code, message).await?;
                }
                if let Command::Declare { name, .. } = command {
                    self.cursor_portal(client, name);
                }
                Ok(Response::Execution(Tag::new(tag)))
            }
            outcome => Ok(Response::Query(rows_response(outcome, format)?)),
        }
    }

    /// A declared cursor is also a portal of its name, as in PostgreSQL:
    /// a client may describe it (psycopg does, for its columns) or execute
    /// it (the rest of its rows).
    fn cursor_portal<C>(&self, client: &mut C, name: &str)
    where
        C: ClientPortalStore,
        C::PortalStore: PortalStore<Statement = Prepared>,
    {
        let Some((columns, types)) =
            self.session().cursor(name).map(|c| (c.columns.clone(), c.types.clone()))
        else {
            return;
        };
        let fetch = Command::Fetch { name: name.to_owned(), count: None, moving: false };
        let prepared = Prepared {
            statement: Statement::Command(fetch),
            columns,
            types,
            outputs: Vec::new(),
            parameters: Vec::new(),
        };
        let stored = StoredStatement::new(name.to_owned(), prepared, Vec::new());
        client.portal_store().put_portal(Arc::new(Portal::new_cursor(name.to_owned(), Arc::new(stored))));
    }
}

impl Backend {
    /// This connection's startup: a password check when one is required.
    fn startup(&self) -> Arc<auth::Startup> {
        Arc::new(auth::Startup { backend: self.clone(), sasl: self.client.sasl.clone() })
    }

    /// Registers the started connection's key, for CancelRequests.
    fn register(&self, client: &impl ClientInfo) {
        let (pid, secret) = client.pid_and_secret_key();
        let key = self.client.cancels.register(pid, &secret, self.client.running.clone());
        *self.client.key.lock().unwrap_or_else(|e| e.into_inner()) = Some(key);
    }
}

impl PgWireServerHandlers for Backend {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::new(self.clone())
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::new(self.clone())
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        self.startup()
    }
}

/// The rows of SHOW (text columns) or FETCH.
fn rows_response(outcome: Outcome, format: &Format) -> PgWireResult<QueryResponse> {
    let (columns, types, rows, tag) = match outcome {
        Outcome::Rows { columns, rows } => {
            let rows = rows.into_iter().map(|r| r.into_iter().map(Value::String).collect()).collect();
            let types = vec![ColumnType::Text; columns.len()];
            (columns, types, rows, "SHOW")
        }
        Outcome::Fetched { columns, types, rows } => (columns, types, rows, "FETCH"),
        Outcome::Done { .. } => unreachable!("a command without rows"),
    };
    let fields = fields(&columns, &types, &[], format);
    let r = QueryResult { columns, types, rows, batch_time: None, truncated: false, parameters: 0 };
    let mut response = response(r, fields)?;
    response.set_command_tag(tag);
    Ok(response)
}

fn refusal(r: Refusal) -> PgWireError {
    pg_error(r.code, r.message)
}

/// A result cut at the row limit is an error: a client must not take the
/// first rows for all of them.
fn check_cut(r: &QueryResult) -> PgWireResult<()> {
    if r.truncated {
        return Err(too_many_rows(r.rows.len()));
    }
    Ok(())
}

/// A result past the row limit of `limit` rows, as an error.
fn too_many_rows(limit: usize) -> PgWireError {
    pg_error(
        "54000",
        format!(
            "the result has more than {limit} rows, the server's limit (--sql-max-rows): add a LIMIT, \
             aggregate, or raise --sql-max-rows"
        ),
    )
}

fn pg_error(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".to_owned(), code.to_owned(), message)))
}

fn user_error(e: &SqlError) -> PgWireError {
    let message = e.to_string();
    let code = match e {
        SqlError::ReadOnly => "25006",
        SqlError::NotAllowed(_) => "42501",
        SqlError::OutOfMemory(_) => "53200",
        SqlError::Timeout(_) | SqlError::Cancelled => "57014",
        SqlError::Invalid(m) if m.contains("no such table") => "42P01",
        SqlError::Invalid(m) if m.contains("no such column") => "42703",
        SqlError::Invalid(m) if m.contains("syntax error") => "42601",
        SqlError::Invalid(_) => "42000",
    };
    pg_error(code, message)
}

/// Binds `addr` and serves until `shutdown`, holding clients to `limits`,
/// asking for `token` as the password and, with `tls`, for TLS; returns the
/// bound address.
pub async fn serve(
    addr: &str,
    sql: Arc<SqlEngine>,
    token: Option<&str>,
    tls: Option<&Certificate>,
    limits: Limits,
    shutdown: CancellationToken,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let (listener, bound) = listener::listen(addr, "--pg", token.is_some()).await?;
    let sasl = token.map(auth::sasl);
    let acceptor = tls.map(|c| c.acceptor(&[b"postgresql"]));
    let url = listener::reachable(bound);
    let ssl = if tls.is_some() { "/?sslmode=require" } else { "" };
    tracing::info!("pg: serving SQL on postgresql://{url}{ssl} (psql -h {} -p {})", url.ip(), url.port());
    let refusal = connection::fatal_bytes(
        "53300",
        &format!("sorry, too many clients already (the limit is {})", limits.max_connections),
    );
    let cancels = Arc::new(Cancels::default());
    let task = tokio::spawn(listener::accept_loop(
        listener,
        limits,
        shutdown,
        "pg",
        refusal,
        0,
        move |socket, peer, stop, _| {
            let backend = Arc::new(Backend::new(sql.clone(), cancels.clone(), sasl.clone()));
            let served =
                connection::serve(socket, peer, backend, cancels.clone(), limits, acceptor.clone(), stop);
            async move {
                served.await;
                // What its cursors and results held goes back to the system.
                crate::memory::give_back();
            }
        },
    ));
    Ok((bound, task))
}
