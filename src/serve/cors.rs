//! Cross-origin reads of `--http` and `--dashboard` (CORS), for a web page
//! served from elsewhere (a notebook on another port, a page of one's own)
//! that fetches the tables or follows the Server-Sent Events.
//!
//! Off by default: a browser then lets no other origin read the answers.
//! `--cors-origin ORIGIN` (repeatable, `*` for any) names the origins whose
//! pages may; a preflight (`OPTIONS`) from one of them is answered, and every
//! answer to it carries `Access-Control-Allow-Origin`. An origin not named gets
//! the answer without it, which its browser keeps from the page.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The origins allowed to read.
#[derive(Clone, Debug, Default)]
pub struct Origins(pub Arc<[String]>);

impl Origins {
    /// The `Origin` header's value when it is allowed.
    fn allows(&self, request: &Request) -> Option<HeaderValue> {
        let origin = request.headers().get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.0.iter().any(|o| o == "*" || o.eq_ignore_ascii_case(text)).then(|| origin.clone())
    }
}

/// The middleware: answers allowed preflights and marks allowed answers.
pub async fn layer(State(origins): State<Origins>, request: Request, next: Next) -> Response {
    let allowed = origins.allows(&request);
    let preflight = request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = match (&allowed, preflight) {
        (Some(_), true) => {
            let mut r = StatusCode::NO_CONTENT.into_response();
            let h = r.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type"),
            );
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            r
        }
        _ => next.run(request).await,
    };
    let h = response.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}
