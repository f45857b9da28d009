//! The HTTP endpoint (`--http ADDR`): the live tables as JSON, for scripts and
//! the dashboard.
//!
//! - `GET /tables`: the table names and the batch they reflect;
//! - `GET /tables/{name}?limit=N`: `{"batch_time", "columns", "rows"}`;
//! - `GET /health`: whether the source is connected, and the latest batch;
//! - `POST /sql` (body: one statement): `{"columns", "rows", "batch_time", "truncated"}`,
//!   or HTTP 400 with `{"error"}`.

use crate::engine::tables::{Tables, format_millis};
use crate::sources::socket::SourceStatus;
use crate::sql::SqlEngine;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What the handlers read.
#[derive(Clone)]
pub struct Shared {
    pub tables: Arc<Tables>,
    pub source: Arc<SourceStatus>,
    pub sql: Arc<SqlEngine>,
}

pub fn router(shared: Shared) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/tables", get(list))
        .route("/tables/{name}", get(table))
        .route("/sql", post(sql))
        .with_state(shared)
}

/// Binds `addr` and serves until `shutdown`. Returns the bound address once
/// listening (port 0 picks a free one).
pub async fn serve(
    addr: &str,
    shared: Shared,
    shutdown: CancellationToken,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let (listener, bound) = super::listen(addr, "--http").await?;
    tracing::info!("http: serving the tables on http://{bound}/tables");
    Ok((bound, spawn_app(listener, router(shared), shutdown, "http")))
}

/// Serves `app` on `listener` until `shutdown`; `name` is for the log.
pub fn spawn_app(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    name: &'static str,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned());
        if let Err(e) = server.await {
            tracing::warn!("{name} server stopped: {e}");
        }
    })
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn health(State(s): State<Shared>) -> Json<serde_json::Value> {
    let snap = s.tables.snapshot();
    Json(json!({
        "status": "ok",
        "source_connected": s.source.connected.load(Ordering::Relaxed),
        "batch_time": snap.batch_time.map(format_millis),
        "batches": snap.batches.len(),
    }))
}

async fn list(State(s): State<Shared>) -> Json<serde_json::Value> {
    let snap = s.tables.snapshot();
    Json(json!({ "batch_time": snap.batch_time.map(format_millis), "tables": snap.table_names() }))
}

async fn table(
    State(s): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("limit must be a whole number, not {:?}", q["limit"]),
            );
        }
    };
    let snap = s.tables.snapshot();
    let response = match snap.table(&name, limit) {
        Some(t) => Json(json!({
            "table": t.name,
            "batch_time": t.batch_time.map(format_millis),
            "columns": t.columns,
            "rows": t.rows,
        }))
        .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no table {name:?}; tables: {}", snap.table_names().join(", ")),
        ),
    };
    s.tables.release(snap);
    response
}

async fn sql(State(s): State<Shared>, body: String) -> Response {
    let engine = s.sql.clone();
    match tokio::task::spawn_blocking(move || engine.query(&body)).await {
        Ok(Ok(result)) => Json(result.to_json()).into_response(),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("the query failed: {e}")),
    }
}
