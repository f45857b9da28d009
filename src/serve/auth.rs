//! Credentials for `--http` and `--dashboard`: with a token set
//! (`TWEETSTREAM_TOKEN`, or `--token-file PATH`; never on the command line,
//! where the process list shows it), every request but the liveness and
//! readiness probes must carry it, as `Authorization: Bearer TOKEN` (scripts,
//! Prometheus' `authorization`) or as the password of HTTP basic auth, any
//! user (a browser asks for it, so the dashboard and its events work).
//! Anything else gets 401 with a `WWW-Authenticate` challenge.

use crate::secret::Secret;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

/// The token every request must carry, if one is set (a [`Secret`]: it
/// never prints).
#[derive(Clone, Debug, Default)]
pub struct Credentials(pub Option<Secret>);

/// Paths served without credentials: the probes, which carry no data.
const OPEN: [&str; 2] = ["/health/live", "/health/ready"];

impl Credentials {
    /// Whether `request` may be served.
    fn admits(&self, request: &Request) -> bool {
        let Some(token) = &self.0 else { return true };
        if OPEN.contains(&request.uri().path()) {
            return true;
        }
        let Some(given) = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let presented = match given.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim().as_bytes().to_vec(),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => {
                let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest.trim()) else {
                    return false;
                };
                match decoded.iter().position(|&b| b == b':') {
                    Some(colon) => decoded[colon + 1..].to_vec(),
                    None => return false,
                }
            }
            _ => return false,
        };
        same(&presented, token.expose().as_bytes())
    }
}

/// Compares in time that depends on the lengths only, not on where the
/// bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The address of the connection a request came on (an extension the
/// listener adds), for the record of failed logins.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub std::net::IpAddr);

/// The middleware. Wrong credentials (not missing ones: a browser asks
/// first without) are failed logins: logged and answered later the more the
/// peer failed ([`super::failures`]).
pub async fn layer(State(credentials): State<Credentials>, request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<Peer>().map(|p| p.0);
    let presented = request.headers().contains_key(header::AUTHORIZATION);
    if credentials.admits(&request) {
        if let (Some(peer), true, Some(_)) = (peer, presented, &credentials.0) {
            super::failures::failures().succeeded(peer);
        }
        return next.run(request).await;
    }
    if let (Some(peer), true) = (peer, presented) {
        let wait = super::failures::failures().failed(peer, "http", None);
        tokio::time::sleep(wait).await;
    }
    let mut r = (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({
            "error": "credentials required: send the token as `Authorization: Bearer TOKEN`, or as the password of basic auth"
        })),
    )
        .into_response();
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"tweetstream\""));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, authorization: Option<&str>) -> Request {
        let mut r = Request::builder().uri(path);
        if let Some(a) = authorization {
            r = r.header(header::AUTHORIZATION, a);
        }
        r.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn only_the_token_is_admitted() {
        let c = Credentials(Some(Secret::new("s3cret")));
        let basic =
            |userpass: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(userpass));
        assert!(c.admits(&request("/tables", Some("Bearer s3cret"))));
        assert!(c.admits(&request("/tables", Some("bearer  s3cret"))));
        assert!(c.admits(&request("/tables", Some(&basic("anyone:s3cret")))));
        assert!(!c.admits(&request("/tables", None)));
        assert!(!c.admits(&request("/tables", Some("Bearer s3cre"))));
        assert!(!c.admits(&request("/tables", Some("Bearer s3cretx"))));
        assert!(!c.admits(&request("/tables", Some(&basic("s3cret")))));
        assert!(!c.admits(&request("/tables", Some("Basic !!!"))));
        assert!(!c.admits(&request("/metrics", Some("Token s3cret"))));
        assert!(c.admits(&request("/health/live", None)));
        assert!(c.admits(&request("/health/ready", None)));
        assert!(Credentials(None).admits(&request("/tables", None)));
    }
}
