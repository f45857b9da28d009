//! The PostgreSQL wire protocol (`stream --pg ADDR`): SQL over the live tables
//! for `psql` and Postgres clients, through the same [`SqlEngine`] as HTTP.
//!
//! No authentication (it binds to 127.0.0.1 unless told otherwise) and no TLS.
//! Both the simple query protocol (`psql`) and the extended one (what drivers
//! use: Parse, Bind, Describe, Execute) are served. Columns have the type int8,
//! float8 or text, in text or binary as the client asks. Parameters are `$1`,
//! `$2`, ...; one whose type the client leaves open is described as text.
//! Errors come back as an ErrorResponse with SQLSTATE 42601 (syntax), 42P01
//! (unknown table), 42703 (unknown column), 25006 (read-only), 42501 (not
//! allowed: a pragma that changes a setting, a transaction), 57014 (time
//! limit), 53200 (memory limit) or 22023 (a parameter or value that does not
//! fit its type).
//!
//! SQLite's columns are loosely typed, so a statement is described by a dry
//! run when it is parsed (parameters bound to NULL): declared columns keep
//! their type, computed ones take that of their first value, and a computed
//! column that the dry run leaves without a value (say `sum(count)` filtered by
//! a parameter) is text. Later executions are encoded with the described types,
//! as the client expects.

mod connection;

use super::listener::{self, Limits};
use crate::engine::tables::ColumnType;
use crate::sql::{Param, QueryResult, SqlEngine, SqlError};
use async_trait::async_trait;
use futures_util::Sink;
use futures_util::stream;
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireServerHandlers, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use serde_json::Value;
use std::fmt::Debug;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The handlers of one server.
pub struct Backend {
    sql: Arc<SqlEngine>,
}

impl NoopStartupHandler for Backend {}

#[async_trait]
impl SimpleQueryHandler for Backend {
    async fn do_query<C>(&self, _client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let r = run(&self.sql, query, Some(Vec::new())).await?;
        let fields = fields(&r.columns, &r.types, &Format::UnifiedText);
        Ok(vec![Response::Query(response(r, fields)?)])
    }
}

/// A statement parsed for the extended protocol, with its dry-run description.
#[derive(Clone, Debug)]
pub struct Prepared {
    sql: String,
    columns: Vec<String>,
    types: Vec<ColumnType>,
    parameters: usize,
}

/// Describes each statement by a dry run on the live tables. pgwire's default
/// Describe handlers answer from this: the client's parameter types where it
/// gave them, else ours (text), and the columns in the portal's formats.
pub struct Parser {
    sql: Arc<SqlEngine>,
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let r = run(&self.sql, sql, None).await?;
        Ok(Some(Prepared {
            sql: sql.to_owned(),
            columns: r.columns,
            types: r.types,
            parameters: r.parameters,
        }))
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(vec![Type::TEXT; stmt.parameters])
    }

    fn get_result_schema(&self, stmt: &Prepared, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        Ok(fields(&stmt.columns, &stmt.types, format.unwrap_or(&Format::UnifiedText)))
    }
}

#[async_trait]
impl ExtendedQueryHandler for Backend {
    type Statement = Prepared;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        Arc::new(Parser { sql: self.sql.clone() })
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let stmt = &portal.statement;
        let params = (0..portal.parameter_len())
            .map(|i| param(portal, i, stmt.parameter_types.get(i).cloned().flatten().unwrap_or(Type::TEXT)))
            .collect::<PgWireResult<Vec<Param>>>()?;
        let mut r = run(&self.sql, &stmt.statement.sql, Some(params)).await?;
        if r.columns != stmt.statement.columns {
            return Err(pg_error("0A000", "the statement's columns changed since it was prepared".into()));
        }
        r.types.clone_from(&stmt.statement.types);
        let fields = fields(&r.columns, &r.types, &portal.result_column_format);
        Ok(Response::Query(response(r, fields)?))
    }
}

/// Runs `sql` off the async threads; `params: None` is a dry run.
async fn run(sql: &Arc<SqlEngine>, statement: &str, params: Option<Vec<Param>>) -> PgWireResult<QueryResult> {
    let sql = sql.clone();
    let statement = statement.to_owned();
    tokio::task::spawn_blocking(move || sql.query_with(&statement, params.as_deref()))
        .await
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?
        .map_err(|e| user_error(&e))
}

/// Parameter `i` of a portal as a SQLite value, read as its Postgres type.
fn param(portal: &Portal<Prepared>, i: usize, ty: Type) -> PgWireResult<Param> {
    let bad = |e: PgWireError| pg_error("22023", format!("parameter ${}: {e}", i + 1));
    let v = match ty {
        Type::INT2 => portal.parameter::<i16>(i, &ty).map(|v| v.map(|v| Param::Integer(v.into()))),
        Type::INT4 => portal.parameter::<i32>(i, &ty).map(|v| v.map(|v| Param::Integer(v.into()))),
        Type::INT8 => portal.parameter::<i64>(i, &ty).map(|v| v.map(Param::Integer)),
        Type::FLOAT4 => portal.parameter::<f32>(i, &ty).map(|v| v.map(|v| Param::Real(v.into()))),
        Type::FLOAT8 => portal.parameter::<f64>(i, &ty).map(|v| v.map(Param::Real)),
        Type::BOOL => portal.parameter::<bool>(i, &ty).map(|v| v.map(|v| Param::Integer(v.into()))),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            portal.parameter::<String>(i, &ty).map(|v| v.map(Param::Text))
        }
        other => {
            return Err(pg_error(
                "22023",
                format!("parameter ${}: type {other} is not supported (use int, float, bool or text)", i + 1),
            ));
        }
    };
    Ok(v.map_err(bad)?.unwrap_or(Param::Null))
}

impl PgWireServerHandlers for Backend {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::new(Backend { sql: self.sql.clone() })
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::new(Backend { sql: self.sql.clone() })
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        Arc::new(Backend { sql: self.sql.clone() })
    }
}

/// The columns as Postgres fields, each in the format the client asked for.
fn fields(columns: &[String], types: &[ColumnType], format: &Format) -> Vec<FieldInfo> {
    columns
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (name, ty))| {
            let ty = match ty {
                ColumnType::Integer => Type::INT8,
                ColumnType::Real => Type::FLOAT8,
                ColumnType::Text => Type::TEXT,
            };
            FieldInfo::new(name.clone(), None, None, ty, format.format_for(i))
        })
        .collect()
}

/// Encodes the rows with `fields`' types: a value of another type is converted
/// where that loses nothing, else the query fails with a clear message.
fn response(r: QueryResult, fields: Vec<FieldInfo>) -> PgWireResult<QueryResponse> {
    if r.truncated {
        tracing::info!("pg: a result was cut at the row limit ({} rows)", r.rows.len());
    }
    let fields = Arc::new(fields);
    let mut encoder = DataRowEncoder::new(fields.clone());
    let mut rows = Vec::with_capacity(r.rows.len());
    for row in &r.rows {
        for (i, v) in row.iter().enumerate() {
            let (name, ty) = (&r.columns[i], r.types[i]);
            match (v, ty) {
                (Value::Null, _) => encoder.encode_field(&None::<String>)?,
                (Value::Number(n), ColumnType::Integer) if n.is_i64() => encoder.encode_field(&n.as_i64())?,
                (Value::Number(n), ColumnType::Real) => encoder.encode_field(&n.as_f64())?,
                (Value::String(s), ColumnType::Text) => encoder.encode_field(&s.as_str())?,
                // A value of another type than its column's (SQLite is loosely
                // typed): a text column, or any column sent as text, takes it
                // as it is written; a binary number column cannot.
                (other, ColumnType::Text) => encoder.encode_field(&other.to_string())?,
                (Value::String(s), _) if fields[i].format() == FieldFormat::Text => {
                    encoder.encode_field(&s.as_str())?
                }
                (other, _) if fields[i].format() == FieldFormat::Text => {
                    encoder.encode_field(&other.to_string())?
                }
                (other, _) => {
                    return Err(pg_error(
                        "22023",
                        format!(
                            "column {name} was described as {} but has the value {other}; cast it in the query",
                            fields[i].datatype()
                        ),
                    ));
                }
            }
        }
        rows.push(Ok(encoder.take_row()));
    }
    Ok(QueryResponse::new(fields, stream::iter(rows)))
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
        SqlError::Timeout(_) => "57014",
        SqlError::Invalid(m) if m.contains("no such table") => "42P01",
        SqlError::Invalid(m) if m.contains("no such column") => "42703",
        SqlError::Invalid(m) if m.contains("syntax error") => "42601",
        SqlError::Invalid(_) => "42000",
    };
    pg_error(code, message)
}

/// Binds `addr` and serves until `shutdown`, holding clients to `limits`;
/// returns the bound address.
pub async fn serve(
    addr: &str,
    sql: Arc<SqlEngine>,
    limits: Limits,
    shutdown: CancellationToken,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let (listener, bound) = listener::listen(addr, "--pg").await?;
    tracing::info!("pg: serving SQL on postgresql://{bound} (psql -h {} -p {})", bound.ip(), bound.port());
    let backend = Arc::new(Backend { sql });
    let refusal = connection::fatal_bytes(
        "53300",
        &format!("sorry, too many clients already (the limit is {})", limits.max_connections),
    );
    let task = tokio::spawn(listener::accept_loop(
        listener,
        limits,
        shutdown,
        "pg",
        refusal,
        0,
        move |socket, peer, stop, _| connection::serve(socket, peer, backend.clone(), limits, stop),
    ));
    Ok((bound, task))
}
