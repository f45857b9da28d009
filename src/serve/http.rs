//! The HTTP endpoint (`--http ADDR`): the live tables as JSON, for scripts and
//! the dashboard.
//!
//! - `GET /tables`: the table names and the batch they reflect;
//! - `GET /tables/{name}?limit=N`: `{"batch_time", "columns", "rows", "limit",
//!   "rows_total", "truncated"}`, the first [`DEFAULT_TABLE_ROWS`] rows unless
//!   `limit` asks for another number or for `all`; `?format=csv` (or `Accept:
//!   text/csv`) as CSV with a header, `?format=records` as a JSON array of
//!   `{column: value}` objects (what `pandas.read_csv`/`read_json` read). These
//!   two have no room to say a table was cut: past the default limit they are
//!   an error (400) that asks for `limit`;
//! - `GET /tables/{name}/watch?limit=N` and `GET /sql/watch?q=…`: the same
//!   after every batch, as Server-Sent Events. Watchers of the same table and
//!   limit (or statement) share one rendering of each batch's result: it is
//!   made once, and each connection sends the same bytes;
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
use super::listener::{self, Admission, Limits};
use crate::engine::tables::{TableKind, Tables, format_millis};
use crate::sources::Sources;
use crate::sql::SqlEngine;
use crate::time::now_millis;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
    /// What the watchers of the tables and of statements share.
    pub frames: Arc<Frames>,
    /// Origins whose web pages may read the answers (`--cors-origin`).
    pub cors: super::cors::Origins,
    /// The token requests must carry, if any.
    pub credentials: super::auth::Credentials,
    /// The certificate to serve HTTPS with (`--tls-cert`), if any.
    pub tls: Option<super::tls::Certificate>,
}

impl Shared {
    /// `http` or `https`, for the URLs the log shows.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

pub fn router(shared: Shared) -> Router {
    let body_limit = shared.limits.max_request_bytes;
    Router::new()
        .route("/tables", get(list))
        .route("/tables/{name}", get(table))
        .route("/tables/{name}/watch", get(watch_table))
        .route("/sql", post(sql))
        .route("/sql/watch", get(watch_sql))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(shared.clone())
        .merge(probes(shared, None))
}

/// The probes (`/health…`, `/metrics`). With `beyond`, for connections in
/// the reserve past the connection limit: anything else is 503, saying so.
pub fn probes(shared: Shared, beyond: Option<usize>) -> Router {
    let probes = Router::new()
        .route("/health", get(health))
        .route("/health/live", get(|| async { Json(json!({ "status": "live" })) }))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics));
    match beyond {
        None => probes,
        Some(max) => probes.fallback(move || async move {
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "too many connections (the limit is {max}): beyond it only /health, /health/live, \
                     /health/ready and /metrics are answered"
                ),
            )
        }),
    }
    .with_state(shared)
}

/// Binds `addr` and serves until `shutdown`. Returns the bound address once
/// listening (port 0 picks a free one).
pub async fn serve(
    addr: &str,
    shared: Shared,
    shutdown: CancellationToken,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let (listener, bound) = listener::listen(addr, "--http", shared.credentials.0.is_some()).await?;
    tracing::info!("http: serving the tables on {}://{}/tables", shared.scheme(), listener::reachable(bound));
    Ok((bound, spawn_app(listener, router(shared.clone()), shared, shutdown, "http")))
}

/// Serves `app` on `listener` under the listener limits until `shutdown`,
/// with the probes of `shared` on the connections of the reserve past the
/// connection limit (see [`listener`]), over TLS with `shared.tls`; `name`
/// is for the log.
pub fn spawn_app(
    listener: TcpListener,
    app: Router,
    shared: Shared,
    shutdown: CancellationToken,
    name: &'static str,
) -> tokio::task::JoinHandle<()> {
    let limits = shared.limits;
    let auth = axum::middleware::from_fn_with_state(shared.credentials.clone(), super::auth::layer);
    let cors = axum::middleware::from_fn_with_state(shared.cors.clone(), super::cors::layer);
    // CORS outside: a browser's preflight carries no credentials.
    let app = app.layer(auth.clone()).layer(cors);
    let acceptor = shared.tls.as_ref().map(|c| c.acceptor(&[b"http/1.1"]));
    let probes = probes(shared, Some(limits.max_connections)).layer(auth);
    let body = format!("{{\"error\":\"too many connections (the limit is {})\"}}", limits.max_connections);
    let refusal = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    // A TLS client could not read a plain-text 503: it is closed.
    let refusal = if acceptor.is_some() { Vec::new() } else { refusal.into_bytes() };
    tokio::spawn(listener::accept_loop(
        listener,
        limits,
        shutdown,
        name,
        refusal,
        listener::PROBE_RESERVE,
        move |stream, peer, shutdown, admission| {
            let (router, header_timeout) = match admission {
                Admission::Full => {
                    (app.clone().layer(axum::Extension(super::auth::Peer(peer.ip()))), limits.header_timeout)
                }
                // A probe sends its request at once: a slot of the reserve
                // is not held longer than that, nor for a second request.
                Admission::ProbesOnly => (probes.clone(), limits.header_timeout.min(PROBE_HEADER_TIMEOUT)),
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_timeout);
            builder.keep_alive(admission == Admission::Full);
            let acceptor = acceptor.clone();
            async move {
                let ended = match acceptor {
                    None => serve_connection(&builder, stream, service, &shutdown).await,
                    // The handshake is part of the request's head: the same deadline.
                    Some(acceptor) => {
                        match tokio::time::timeout(header_timeout, handshake(&acceptor, stream)).await {
                            Ok(Ok(stream)) => serve_connection(&builder, stream, service, &shutdown).await,
                            Ok(Err(e)) => Err(e),
                            Err(_) => Err(format!("no TLS handshake within {header_timeout:?}")),
                        }
                    }
                };
                if let Err(e) = ended {
                    tracing::debug!("{name}: connection from {peer} ended: {e}");
                }
            }
        },
    ))
}

/// A plain-text request on a TLS listener: what it is answered.
const PLAIN_ON_TLS: &str = "{\"error\":\"this port takes HTTPS only (the engine runs with --tls-cert): use https:// \
                            instead of http://\"}";

/// The TLS handshake of a connection. A client that starts with anything but
/// a TLS handshake record (0x16) is a plain-text request, most likely an
/// `http://` URL: it gets a 400 that says to use `https://`, in plain text,
/// and is closed (rather than a reset it could not explain).
async fn handshake(
    acceptor: &tokio_rustls::TlsAcceptor,
    mut stream: tokio::net::TcpStream,
) -> Result<tokio_rustls::server::TlsStream<tokio::net::TcpStream>, String> {
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(1) if first[0] != 0x16 => {
            let answer = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{PLAIN_ON_TLS}",
                PLAIN_ON_TLS.len()
            );
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
            // Read what the client still sends (its request) for a moment:
            // closing with unread bytes would reset the connection, and the
            // reset could reach the client before the answer.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
                let (mut sink, mut total) = ([0u8; 4096], 0);
                while total < 1 << 16 {
                    match stream.read(&mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => total += n,
                    }
                }
            })
            .await;
            return Err("a plain-text request on the TLS listener (answered 400)".into());
        }
        Ok(_) => {}
        Err(e) => return Err(format!("TLS handshake failed: {e}")),
    }
    acceptor.accept(stream).await.map_err(|e| format!("TLS handshake failed: {e}"))
}

/// Serves one connection with `builder` until it ends, or gracefully from
/// `shutdown` on.
async fn serve_connection<I, S>(
    builder: &hyper::server::conn::http1::Builder,
    io: I,
    service: S,
    shutdown: &CancellationToken,
) -> Result<(), String>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming>,
    S::ResBody: 'static,
    <S::ResBody as axum::body::HttpBody>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(io), service);
    tokio::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    ended.map_err(|e| e.to_string())
}

/// How long a connection of the probes' reserve has to send its request.
const PROBE_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

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
        "batches": snap.batches_closed,
    }))
}

/// The Prometheus/OpenMetrics exposition (see [`crate::metrics`]).
async fn metrics(State(s): State<Shared>, headers: axum::http::HeaderMap) -> Response {
    let accept = headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = crate::metrics::Format::from_accept(accept);
    let text = crate::metrics::metrics().render(s.source.each(), format);
    ([(axum::http::header::CONTENT_TYPE, format.content_type())], text).into_response()
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

/// Rows a table request returns unless `?limit=` says otherwise: a table
/// of millions of tags is not sent whole by accident (`?limit=all` asks for
/// it).
pub const DEFAULT_TABLE_ROWS: usize = 1000;

/// A table request checked: its `?limit=` (None: all) and the table's
/// current body; else the error status and message (400 for a bad limit,
/// 404 for no such table).
fn table_request(
    tables: &Tables,
    name: &str,
    q: &HashMap<String, String>,
) -> Result<(Option<usize>, serde_json::Value), (StatusCode, String)> {
    let limit = match q.get("limit").map(String::as_str) {
        None => Some(DEFAULT_TABLE_ROWS),
        Some("all") => None,
        Some(l) => match l.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!("limit must be a whole number or `all`, not {l:?}"),
                ));
            }
        },
    };
    let body = table_body(tables, name, limit).map_err(|e| (StatusCode::NOT_FOUND, e))?;
    Ok((limit, body))
}

/// The body of `GET /tables/{name}` for the current snapshot (the error:
/// no such table, with the names there are).
fn table_body(tables: &Tables, name: &str, limit: Option<usize>) -> Result<serde_json::Value, String> {
    let snap = tables.snapshot();
    let body = match snap.table(name, limit) {
        Some(t) => {
            let total = snap.rows(TableKind::from_name(name).expect("a table")).unwrap_or(0);
            Ok(json!({
                "table": t.name,
                "batch_time": t.batch_time.map(format_millis),
                "columns": t.columns,
                "rows": t.rows,
                "limit": limit,
                "rows_total": total,
                "truncated": t.rows.len() < total,
            }))
        }
        None => Err(format!("no table {name:?}; tables: {}", snap.table_names().join(", "))),
    };
    tables.release(snap);
    body
}

async fn table(
    State(s): State<Shared>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let answer = TableFormat::asked(&q, accept).and_then(|format| {
        let (_, body) = table_request(&s.tables, &name, &q)?;
        format.render(body, q.contains_key("limit"))
    });
    answer.unwrap_or_else(|(status, e)| error(status, e))
}

/// The forms of a table a client can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TableFormat {
    /// The table with its batch time, columns and whether it was cut.
    Json,
    Csv,
    /// `[{column: value}, …]`.
    Records,
}

impl TableFormat {
    /// `?format=`, else `Accept: text/csv`, else JSON.
    fn asked(q: &HashMap<String, String>, accept: Option<&str>) -> Result<TableFormat, (StatusCode, String)> {
        match q.get("format").map(String::as_str) {
            Some("json") => Ok(TableFormat::Json),
            Some("csv") => Ok(TableFormat::Csv),
            Some("records") => Ok(TableFormat::Records),
            Some(other) => {
                Err((StatusCode::BAD_REQUEST, format!("format must be json, csv or records, not {other:?}")))
            }
            None if accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/csv")) => {
                Ok(TableFormat::Csv)
            }
            None => Ok(TableFormat::Json),
        }
    }

    /// The response for `body` (a table's JSON body); `limited`: the client
    /// chose the limit, so rows past it are not missed unknowingly.
    fn render(self, body: serde_json::Value, limited: bool) -> Result<Response, (StatusCode, String)> {
        if self == TableFormat::Json {
            return Ok(Json(body).into_response());
        }
        if body["truncated"] == true && !limited {
            return Err((
                StatusCode::BAD_REQUEST,
                format!(
                    "{} has {} rows, more than the {DEFAULT_TABLE_ROWS} a request returns unless told: \
                     add &limit=all for all of them, or &limit=N",
                    body["table"].as_str().unwrap_or("the table"),
                    body["rows_total"]
                ),
            ));
        }
        let columns: Vec<String> = body["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
        let rows = body["rows"].as_array().map(Vec::as_slice).unwrap_or_default();
        let rows = rows.iter().map(|row| row.as_array().map(Vec::as_slice).unwrap_or_default());
        Ok(match self {
            TableFormat::Csv => {
                ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], crate::sql::text::csv(&columns, rows))
                    .into_response()
            }
            _ => Json(crate::sql::text::records(&columns, rows)).into_response(),
        })
    }
}

/// Server-Sent Events of what `render` makes of the tables, shared through
/// `frames` under `key`: one event at once if a batch has closed, then one
/// after every batch (a client that falls behind gets the latest). `render`
/// returns None to end the stream.
fn push<F, Fut>(tables: Arc<Tables>, frames: Arc<Frames>, key: FrameKey, render: F) -> Response
where
    F: Fn(Arc<Tables>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<Bytes>> + Send,
{
    let mut changes = tables.watch();
    let now = tables.snapshot().batch_time.is_some();
    if !now {
        changes.mark_unchanged();
    }
    let state = (changes, now, render);
    let events = futures_util::stream::unfold(state, move |(mut changes, now, render)| {
        let (tables, frames, key) = (tables.clone(), frames.clone(), key.clone());
        async move {
            if !now {
                tokio::select! {
                    changed = changes.changed() => changed.ok()?,
                    () = tokio::time::sleep(KEEP_ALIVE) => {
                        let state = (changes, false, render);
                        return Some((Ok::<_, std::convert::Infallible>(Bytes::from_static(b":\n\n")), state));
                    }
                }
            }
            let published = *changes.borrow_and_update();
            let frame = frames.get_or_render(key, published, || render(tables)).await?;
            Some((Ok(frame), (changes, false, render)))
        }
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")],
        Body::from_stream(events),
    )
        .into_response()
}

/// How often an idle event stream sends a comment, so that proxies keep it.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One Server-Sent Event: `name`, the batch time as its id, `body` as JSON.
fn frame(name: &str, body: &serde_json::Value) -> Bytes {
    let id = body["batch_time"].as_str().unwrap_or_default();
    Bytes::from(format!("event: {name}\nid: {id}\ndata: {body}\n\n"))
}

/// One batch's rendering of a watched table or statement, made once.
type Rendering = Arc<tokio::sync::OnceCell<Option<Bytes>>>;

/// What a watcher watches: a table at a limit, or a statement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FrameKey {
    Table(String, Option<usize>),
    Sql(String),
}

/// The latest batch's rendering of each watched table or statement, shared
/// by its watchers: the first to ask after a batch renders it, the others
/// send the same bytes. At most [`Frames::MAX`] keys are kept; past that a
/// watcher renders its own (watchers of one table and limit share, whatever
/// the others do).
#[derive(Default)]
pub struct Frames {
    latest: Mutex<HashMap<FrameKey, (u64, Rendering)>>,
}

impl Frames {
    const MAX: usize = 64;

    async fn get_or_render<Fut>(
        &self,
        key: FrameKey,
        published: u64,
        render: impl FnOnce() -> Fut,
    ) -> Option<Bytes>
    where
        Fut: std::future::Future<Output = Option<Bytes>>,
    {
        let cell = {
            let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
            match latest.get(&key) {
                Some((at, cell)) if *at == published => Some(cell.clone()),
                _ => {
                    latest.retain(|_, (at, _)| *at >= published);
                    (latest.len() < Self::MAX).then(|| {
                        let cell = Arc::new(tokio::sync::OnceCell::new());
                        latest.insert(key, (published, cell.clone()));
                        cell
                    })
                }
            }
        };
        match cell {
            Some(cell) => cell.get_or_init(render).await.clone(),
            None => render().await,
        }
    }
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
    let key = FrameKey::Table(name.clone(), limit);
    push(s.tables.clone(), s.frames.clone(), key, move |tables| {
        let name = name.clone();
        async move {
            // Rendering a large table takes a while: not on the runtime's threads.
            let body = tokio::task::spawn_blocking(move || table_body(&tables, &name, limit)).await;
            body.ok()?.ok().map(|body| frame("table", &body))
        }
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
    let key = FrameKey::Sql(statement.clone());
    push(s.tables.clone(), s.frames.clone(), key, move |_| {
        let (engine, statement) = (engine.clone(), statement.clone());
        async move {
            match tokio::task::spawn_blocking(move || engine.query(&statement)).await {
                Ok(Ok(result)) => Some(frame("result", &result.to_json())),
                Ok(Err(e)) => {
                    let body = json!({ "error": e.to_string() });
                    Some(Bytes::from(format!("event: error\ndata: {body}\n\n")))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Watchers of one key after one batch share one rendering; the next
    /// batch is rendered again; past `MAX` keys a watcher renders its own.
    #[tokio::test]
    async fn watchers_share_one_rendering_per_batch() {
        let frames = Frames::default();
        let renders = AtomicUsize::new(0);
        let render = || async {
            renders.fetch_add(1, Ordering::SeqCst);
            Some(Bytes::from_static(b"event: table\n\n"))
        };
        let key = FrameKey::Table("tag_totals".into(), Some(10));
        for _ in 0..20 {
            assert!(frames.get_or_render(key.clone(), 1, render).await.is_some());
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        frames.get_or_render(key.clone(), 2, render).await;
        frames.get_or_render(key, 2, render).await;
        assert_eq!(renders.load(Ordering::SeqCst), 2);
        for i in 0..Frames::MAX + 5 {
            frames.get_or_render(FrameKey::Sql(format!("select {i}")), 2, render).await;
        }
        assert_eq!(frames.latest.lock().unwrap().len(), Frames::MAX, "bounded");
        assert_eq!(renders.load(Ordering::SeqCst), 2 + Frames::MAX + 5);
    }
}
