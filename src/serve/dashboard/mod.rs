//! The live dashboard (`stream --dashboard ADDR`): a web page served by the
//! binary itself, with the per-day sentiment, the top hashtags and the batch
//! health, refreshed on its own.
//!
//! - `GET /`: the whole page, panels included (it reads fine without
//!   JavaScript, just without the refresh);
//! - `GET /panels`: the panels alone, as HTML, for the page's refresh;
//! - `GET /assets/…`: the style sheet and the refresh script, embedded;
//! - plus the JSON API of `--http` (`/tables`, `/health`, `/sql`), so the
//!   numbers behind the charts are one click away.
//!
//! The panels are drawn from the same snapshot as `/tables` and `/sql` (see
//! [`render`]); there is no second copy of the data.

pub mod render;

use super::http::{self, Shared};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use render::{Sizes, View, esc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const STYLE: &str = include_str!("assets/dashboard.css");
const SCRIPT: &str = include_str!("assets/dashboard.js");

/// The dashboard's settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub view: View,
    /// How often the page refreshes its panels.
    pub refresh: Duration,
}

#[derive(Clone)]
struct Dashboard {
    shared: Shared,
    config: Arc<Config>,
}

fn router(shared: Shared, config: Config) -> Router {
    let state = Dashboard { shared: shared.clone(), config: Arc::new(config) };
    Router::new()
        .route("/", get(page))
        .route("/panels", get(panels))
        .route("/assets/dashboard.css", get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLE) }))
        .route(
            "/assets/dashboard.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], SCRIPT) }),
        )
        .with_state(state)
        .merge(http::router(shared))
}

/// Binds `addr` and serves until `shutdown`; returns the bound address.
pub async fn serve(
    addr: &str,
    shared: Shared,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let (listener, bound) =
        super::listener::listen(addr, "--dashboard", shared.credentials.0.is_some()).await?;
    let url = super::listener::reachable(bound);
    let scheme = shared.scheme();
    tracing::info!("dashboard: open {scheme}://{url}/ (refreshes every {})", render::human(config.refresh));
    Ok((bound, http::spawn_app(listener, router(shared.clone(), config), shared, shutdown, "dashboard")))
}

fn render_panels(d: &Dashboard, sizes: Sizes) -> String {
    let snap = d.shared.tables.snapshot();
    let connected = d.shared.source.connected();
    let html = render::panels(&snap, &d.config.view, connected, crate::time::now_millis(), sizes);
    d.shared.tables.release(snap);
    html
}

/// `?sentiment=W&tags=W`: the chart widths the page measured, in CSS pixels.
async fn panels(State(d): State<Dashboard>, Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    let width = |k: &str| q.get(k).and_then(|v| v.parse::<f64>().ok());
    let sizes = Sizes::clamped(width("sentiment"), width("tags"));
    ([(header::CACHE_CONTROL, "no-store")], Html(render_panels(&d, sizes)))
}

async fn page(State(d): State<Dashboard>) -> impl IntoResponse {
    let refresh_ms = d.config.refresh.as_millis();
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tweetstream dashboard</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body data-refresh-ms="{refresh_ms}">
<header>
<h1>tweetstream</h1>
<p class="sub">Streaming tweet analytics · {source} · refreshes every {every} · data: <a href="/tables">/tables</a></p>
<p id="conn" role="alert" hidden></p>
</header>
<main id="panels">{panels}</main>
<script src="/assets/dashboard.js"></script>
</body>
</html>
"#,
        source = esc(&d.config.view.source),
        every = render::human(d.config.refresh),
        panels = render_panels(&d, Sizes::default()),
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html))
}
