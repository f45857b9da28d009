//! The HTTP endpoint (`--http ADDR`): the live tables as JSON, for scripts and
//! the dashboard.
//!
//! - `GET /tables`: the table names and the batch they reflect;
//! - `GET /tables/{name}?limit=N`: `{"batch_time", "columns", "rows"}`;
//! - `GET /health`: whether the source is connected, the latest batch, and the
//!   readiness verdict; `GET /health/live` (200 while the process answers) and
//!   `GET /health/ready` (200, or 503 with the reason: see [`super::health`]),
//!   for probes;
//! - `GET /metrics`: the Prometheus/OpenMetrics text (see [`crate::metrics`]);
//! - `POST /sql` (body: one statement): `{"columns", "rows", "batch_time", "truncated"}`,
//!   or HTTP 400 with `{"error"}`.
//!
//! The server holds clients to the listener limits of [`super::listener`]:
//! a body over the limit gets 413, a body not sent within the header timeout
//! 408, headers not sent in time close the connection.

use super::health::Readiness;
use super::listener::{self, Limits};
use crate::engine::tables::{Tables, format_millis};
use crate::sources::Sources;
use crate::sql::SqlEngine;
use crate::time::now_millis;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What the handlers read.
#[derive(Clone)]
pub struct Shared {
    pub tables: Arc<Tables>,
    pub source: Arc<Sources>,
    pub sql: Arc<SqlEngine>,
    pub limits: Limits,
    pub readiness: Readiness,
}

pub fn router(shared: Shared) -> Router {
    let body_limit = shared.limits.max_request_bytes;
    Router::new()
        .route("/health", get(health))
        .route("/health/live", get(|| async { Json(json!({ "status": "live" })) }))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/tables", get(list))
        .route("/tables/{name}", get(table))
        .route("/tables/{name}/watch", get(watch_table))
        .route("/sql", post(sql))
        .route("/sql/watch", get(watch_sql))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(shared)
}

/// Binds `addr` and serves until `shutdown`. Returns the bound address once
/// listening (port 0 picks a free one).
pub async fn serve(
    addr: &str,
    shared: Shared,
    shutdown: CancellationToken,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let (listener, bound) = listener::listen(addr, "--http").await?;
    tracing::info!("http: serving the tables on http://{bound}/tables");
    let limits = shared.limits;
    Ok((bound, spawn_app(listener, router(shared), limits, shutdown, "http")))
}

/// Serves `app` on `listener` under `limits` until `shutdown`; `name` is for
/// the log.
pub fn spawn_app(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
    name: &'static str,
) -> tokio::task::JoinHandle<()> {
    let body = format!("{{\"error\":\"too many connections (the limit is {})\"}}", limits.max_connections);
    let refusal = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::spawn(listener::accept_loop(
        listener,
        limits,
        shutdown,
        name,
        refusal.into_bytes(),
        move |stream, peer, shutdown| {
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            async move {
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(limits.header_timeout);
                let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                tokio::pin!(connection);
                let ended = tokio::select! {
                    ended = connection.as_mut() => ended,
                    () = shutdown.cancelled() => {
                        connection.as_mut().graceful_shutdown();
                        connection.await
                    }
                };
                if let Err(e) = ended {
                    tracing::debug!("{name}: connection from {peer} ended: {e}");
                }
            }
        },
    ))
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn health(State(s): State<Shared>) -> Json<serde_json::Value> {
    let snap = s.tables.snapshot();
    let connected = s.source.connected();
    let verdict = s.readiness.verdict(&s.source.disconnected(), snap.batch_time, now_millis());
    let sources: Vec<serde_json::Value> =
        s.source.each().map(|(name, connected)| json!({"name": name, "connected": connected})).collect();
    Json(json!({
        "status": "ok",
        "ready": verdict.is_ok(),
        "reason": verdict.err(),
        "source_connected": connected,
        "sources": sources,
        "batch_time": snap.batch_time.map(format_millis),
        "batches": snap.batches.len(),
    }))
}

/// The Prometheus/OpenMetrics exposition (see [`crate::metrics`]).
async fn metrics(State(s): State<Shared>) -> Response {
    let text = crate::metrics::metrics().render(s.source.connected());
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(axum::http::header::CONTENT_TYPE, content_type)], text).into_response()
}

async fn ready(State(s): State<Shared>) -> Response {
    let last = s.tables.snapshot().batch_time;
    match s.readiness.verdict(&s.source.disconnected(), last, now_millis()) {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err(reason) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "not ready", "reason": reason })))
                .into_response()
        }
    }
}

async fn list(State(s): State<Shared>) -> Json<serde_json::Value> {
    let snap = s.tables.snapshot();
    Json(json!({ "batch_time": snap.batch_time.map(format_millis), "tables": snap.table_names() }))
}

/// A table request checked: its `?limit=N` (if given) and the table's
/// current body; else the error status and message (400 for a bad limit,
/// 404 for no such table).
fn table_request(
    tables: &Tables,
    name: &str,
    q: &HashMap<String, String>,
) -> Result<(Option<usize>, serde_json::Value), (StatusCode, String)> {
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("limit must be a whole number, not {:?}", q["limit"]),
            ));
        }
    };
    let body = table_body(tables, name, limit).map_err(|e| (StatusCode::NOT_FOUND, e))?;
    Ok((limit, body))
}

/// The body of `GET /tables/{name}` for the current snapshot (the error:
/// no such table, with the names there are).
fn table_body(tables: &Tables, name: &str, limit: Option<usize>) -> Result<serde_json::Value, String> {
    let snap = tables.snapshot();
    let body = match snap.table(name, limit) {
        Some(t) => Ok(json!({
            "table": t.name,
            "batch_time": t.batch_time.map(format_millis),
            "columns": t.columns,
            "rows": t.rows,
        })),
        None => Err(format!("no table {name:?}; tables: {}", snap.table_names().join(", "))),
    };
    tables.release(snap);
    body
}

async fn table(
    State(s): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match table_request(&s.tables, &name, &q) {
        Ok((_, body)) => Json(body).into_response(),
        Err((status, e)) => error(status, e),
    }
}

/// Server-Sent Events of whatever `next` makes of the tables: one event at
/// once if a batch has closed, then one after every batch (a client that
/// falls behind gets the latest). `next` returns None to end the stream.
fn push<F, Fut>(tables: Arc<Tables>, next: F) -> Response
where
    F: Fn(Arc<Tables>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<Event>> + Send,
{
    let mut changes = tables.watch();
    let now = tables.snapshot().batch_time.is_some();
    if !now {
        changes.mark_unchanged();
    }
    let events = futures_util::stream::unfold((changes, now, next), move |(mut changes, now, next)| {
        let tables = tables.clone();
        async move {
            if !now {
                changes.changed().await.ok()?;
            }
            changes.mark_unchanged();
            let event = next(tables).await?;
            Some((Ok::<_, std::convert::Infallible>(event), (changes, false, next)))
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default()).into_response()
}

/// An event named `name` carrying `body` as JSON, with the batch time as its id.
fn event(name: &str, body: &serde_json::Value) -> Event {
    let id = body["batch_time"].as_str().unwrap_or_default();
    Event::default().event(name).id(id).data(body.to_string())
}

/// `GET /tables/{name}/watch`: the table after every batch.
async fn watch_table(
    State(s): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let limit = match table_request(&s.tables, &name, &q) {
        Ok((limit, _)) => limit,
        Err((status, e)) => return error(status, e),
    };
    push(s.tables.clone(), move |tables| {
        let name = name.clone();
        async move { table_body(&tables, &name, limit).ok().map(|body| event("table", &body)) }
    })
}

/// `GET /sql/watch?q=STATEMENT`: the statement's result after every batch.
async fn watch_sql(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(statement) = q.get("q").cloned() else {
        return error(StatusCode::BAD_REQUEST, "give the statement as ?q=…".to_owned());
    };
    let engine = s.sql.clone();
    let check = (engine.clone(), statement.clone());
    match tokio::task::spawn_blocking(move || check.0.query(&check.1)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("the query failed: {e}")),
    }
    push(s.tables.clone(), move |_| {
        let (engine, statement) = (engine.clone(), statement.clone());
        async move {
            match tokio::task::spawn_blocking(move || engine.query(&statement)).await {
                Ok(Ok(result)) => Some(event("result", &result.to_json())),
                Ok(Err(e)) => {
                    Some(Event::default().event("error").data(json!({ "error": e.to_string() }).to_string()))
                }
                Err(_) => None,
            }
        }
    })
}

async fn sql(State(s): State<Shared>, body: Body) -> Response {
    let (limit, timeout) = (s.limits.max_request_bytes, s.limits.header_timeout);
    let body = match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the statement is larger than the limit of {limit} bytes (--max-request-bytes)"),
            );
        }
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                format!("the statement did not arrive within {timeout:?} (--header-timeout)"),
            );
        }
    };
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return error(StatusCode::BAD_REQUEST, "the statement is not UTF-8".to_owned());
    };
    let engine = s.sql.clone();
    match tokio::task::spawn_blocking(move || engine.query(&body)).await {
        Ok(Ok(result)) => Json(result.to_json()).into_response(),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("the query failed: {e}")),
    }
}
