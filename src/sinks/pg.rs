//! The PostgreSQL wire protocol (`stream --pg ADDR`): SQL over the live tables
//! for `psql` and Postgres clients, through the same [`SqlEngine`] as HTTP.
//!
//! No authentication (it binds to 127.0.0.1 unless told otherwise) and no TLS.
//! Queries use the simple query protocol; values are sent as text with the
//! column's type (int8, float8 or text). Errors come back as an ErrorResponse
//! with SQLSTATE 42601 (syntax), 42P01 (unknown table), 42703 (unknown column),
//! 25006 (read-only) or 57014 (time limit).

use crate::engine::tables::ColumnType;
use crate::sql::{QueryResult, SqlEngine, SqlError};
use async_trait::async_trait;
use futures_util::Sink;
use futures_util::stream;
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::query::SimpleQueryHandler;
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireServerHandlers, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use serde_json::Value;
use std::fmt::Debug;
use std::sync::Arc;
use tokio::net::TcpListener;
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
        let sql = self.sql.clone();
        let statement = query.to_owned();
        let result = tokio::task::spawn_blocking(move || sql.query(&statement))
            .await
            .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
        match result {
            Ok(r) => Ok(vec![Response::Query(response(r)?)]),
            Err(e) => Err(user_error(&e)),
        }
    }
}

impl PgWireServerHandlers for Backend {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::new(Backend { sql: self.sql.clone() })
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        Arc::new(Backend { sql: self.sql.clone() })
    }
}

fn response(r: QueryResult) -> PgWireResult<QueryResponse> {
    if r.truncated {
        tracing::info!("pg: a result was cut at the row limit ({} rows)", r.rows.len());
    }
    let fields: Vec<FieldInfo> = r
        .columns
        .iter()
        .zip(&r.types)
        .map(|(name, ty)| {
            let ty = match ty {
                ColumnType::Integer => Type::INT8,
                ColumnType::Real => Type::FLOAT8,
                ColumnType::Text => Type::TEXT,
            };
            FieldInfo::new(name.clone(), None, None, ty, FieldFormat::Text)
        })
        .collect();
    let fields = Arc::new(fields);
    let mut encoder = DataRowEncoder::new(fields.clone());
    let mut rows = Vec::with_capacity(r.rows.len());
    for row in &r.rows {
        for (v, ty) in row.iter().zip(&r.types) {
            match (v, ty) {
                (Value::Null, _) => encoder.encode_field(&None::<String>)?,
                (Value::Number(n), ColumnType::Integer) if n.is_i64() => encoder.encode_field(&n.as_i64())?,
                (Value::Number(n), ColumnType::Integer | ColumnType::Real) => {
                    encoder.encode_field(&n.as_f64())?
                }
                // Text, also where a column's values differ in type (SQLite is loosely typed).
                (Value::String(s), _) => encoder.encode_field(&s.as_str())?,
                (other, _) => encoder.encode_field(&other.to_string())?,
            }
        }
        rows.push(Ok(encoder.take_row()));
    }
    Ok(QueryResponse::new(fields, stream::iter(rows)))
}

fn user_error(e: &SqlError) -> PgWireError {
    let message = e.to_string();
    let code = match e {
        SqlError::ReadOnly => "25006",
        SqlError::Timeout(_) => "57014",
        SqlError::Invalid(m) if m.contains("no such table") => "42P01",
        SqlError::Invalid(m) if m.contains("no such column") => "42703",
        SqlError::Invalid(m) if m.contains("syntax error") => "42601",
        SqlError::Invalid(_) => "42000",
    };
    PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".to_owned(), code.to_owned(), message)))
}

/// Binds `addr` and serves until `shutdown`; returns the bound address.
pub async fn serve(
    addr: &str,
    sql: Arc<SqlEngine>,
    shutdown: CancellationToken,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for --pg: {e}"))?;
    let bound = listener.local_addr()?;
    tracing::info!("pg: serving SQL on postgresql://{bound} (psql -h {} -p {})", bound.ip(), bound.port());
    let backend = Arc::new(Backend { sql });
    let task = tokio::spawn(async move {
        loop {
            let (socket, _) = tokio::select! {
                () = shutdown.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!("pg: accept failed: {e}");
                        continue;
                    }
                },
            };
            let backend = backend.clone();
            tokio::spawn(async move {
                if let Err(e) = pgwire::tokio::process_socket(socket, None, backend).await {
                    tracing::debug!("pg: connection ended: {e}");
                }
            });
        }
    });
    Ok((bound, task))
}
