//! A long-lived HTTP GET whose response never ends (X's filtered stream,
//! Mastodon's Server-Sent Events): the connection (TCP, or TLS for
//! `https://` and `wss://`, shared with [`super::websocket`]), the request
//! with its credentials, and the body cut into lines with a bound on each.
//!
//! Only what those providers need: HTTP/1.1, a GET, one response per
//! connection. The credentials (a bearer token, or the URL's own
//! `user:password@` as HTTP Basic) go into the `Authorization` header and
//! nowhere else: no error here quotes a header or shows a URL unmasked.

use crate::secret::{Secret, SecretUrl};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A connection to a server: TCP, or TLS over it.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static> Io for T {}

/// Where a URL points: the connection to open and what to send.
pub struct Target {
    /// `host:port` for the `Host` header (no user information).
    pub authority: String,
    /// The path and query to request.
    pub path: String,
    host: String,
    port: u16,
    tls: bool,
}

impl Target {
    /// The target of `url`, whose scheme is one of `schemes` (plain, TLS).
    pub fn of(url: &SecretUrl, schemes: (&str, &str)) -> Result<Target, String> {
        let uri: hyper::Uri = url.request_target().parse().map_err(|e| format!("{url} is not a URL: {e}"))?;
        let tls = match uri.scheme_str() {
            Some(s) if s == schemes.1 => true,
            Some(s) if s == schemes.0 => false,
            _ => return Err(format!("{url} is not a {}:// or {}:// URL", schemes.0, schemes.1)),
        };
        let host = uri.host().ok_or_else(|| format!("{url} has no host"))?.to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let authority = match uri.port_u16() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        Ok(Target { authority, path, host, port, tls })
    }

    /// Opens the connection (TLS for `https://` and `wss://`).
    pub async fn open(&self) -> Result<Box<dyn Io>, String> {
        let (host, port) = (&self.host, self.port);
        let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        if !self.tls {
            return Ok(Box::new(tcp));
        }
        let name = rustls_name(host)?;
        let stream = tls_connector().connect(name, tcp).await.map_err(|e| format!("TLS with {host}: {e}"))?;
        Ok(Box::new(stream))
    }
}

/// The `Authorization` header of a request: the bearer token if any, else
/// the URL's own `user:password@` as HTTP Basic.
pub fn authorization(url: &SecretUrl, token: Option<&Secret>) -> Option<Secret> {
    match token {
        Some(t) => Some(Secret::new(format!("Bearer {}", t.expose()))),
        None => url.basic_auth(),
    }
}

/// An answer's status line and body.
pub struct Response {
    pub status: u16,
    /// `x-rate-limit-reset` (seconds since the epoch), where sent.
    pub rate_limit_reset: Option<u64>,
    body: Incoming,
}

impl Response {
    /// The next piece of the body (`None`: it ended).
    pub async fn next(&mut self) -> Option<Result<Bytes, String>> {
        loop {
            match self.body.frame().await? {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => return Some(Ok(data)),
                    Err(_) => continue, // trailers
                },
                Err(e) => return Some(Err(e.to_string())),
            }
        }
    }

    /// The first `max` bytes of the body (an error's explanation), read for
    /// at most `wait`.
    pub async fn text(mut self, max: usize, wait: Duration) -> String {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(wait, async {
            while out.len() < max {
                match self.next().await {
                    Some(Ok(b)) => out.extend_from_slice(&b),
                    _ => break,
                }
            }
        })
        .await;
        out.truncate(max);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Sends `GET url` (with `Accept: accept` and the credentials, see
/// [`authorization`]) and waits for the answer's head.
pub async fn get(url: &SecretUrl, accept: &str, token: Option<&Secret>) -> Result<Response, String> {
    let target = Target::of(url, ("http", "https"))?;
    let stream = target.open().await?;
    let mut request = hyper::Request::get(target.path.as_str())
        .header(hyper::header::HOST, target.authority.as_str())
        .header(hyper::header::ACCEPT, accept)
        .header(hyper::header::USER_AGENT, USER_AGENT);
    if let Some(auth) = authorization(url, token) {
        request = request.header(hyper::header::AUTHORIZATION, auth.expose());
    }
    let request =
        request.body(http_body_util::Empty::<Bytes>::new()).map_err(|_| "a bad request".to_owned())?;
    let response = send(stream, request).await?;
    let rate_limit_reset = response
        .headers()
        .get("x-rate-limit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    Ok(Response { status: response.status().as_u16(), rate_limit_reset, body: response.into_body() })
}

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("tweetstream/", env!("CARGO_PKG_VERSION"));

async fn send(
    stream: Box<dyn Io>,
    request: hyper::Request<http_body_util::Empty<Bytes>>,
) -> Result<hyper::Response<Incoming>, String> {
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
    // The connection is driven by its own task and ends with the response.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender.send_request(request).await.map_err(|e| format!("HTTP: {e}"))
}

fn rustls_name(host: &str) -> Result<tokio_rustls::rustls::pki_types::ServerName<'static>, String> {
    tokio_rustls::rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
        .map_err(|_| format!("{host} is not a host name for TLS"))
}

/// One TLS client configuration for the process: the Mozilla roots, ring.
fn tls_connector() -> tokio_rustls::TlsConnector {
    static CONFIG: OnceLock<Arc<tokio_rustls::rustls::ClientConfig>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = tokio_rustls::rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    });
    tokio_rustls::TlsConnector::from(config.clone())
}

/// A line of a stream, as [`Lines`] cuts them.
#[derive(Debug, PartialEq)]
pub enum Line<'a> {
    /// A line without its `\n` or `\r\n`.
    Text(&'a [u8]),
    /// A line longer than the bound, dropped whole.
    TooLong,
}

/// Cuts a byte stream into lines ended by `\n` or `\r\n`, holding at most
/// `max` bytes of an unfinished line: a longer one is dropped (and
/// reported once, as [`Line::TooLong`]) up to its end.
pub struct Lines {
    partial: Vec<u8>,
    max: usize,
    too_long: bool,
}

impl Lines {
    pub fn new(max: usize) -> Lines {
        Lines { partial: Vec::new(), max, too_long: false }
    }

    /// Feeds `bytes`; each complete line goes to `each`.
    pub fn feed(&mut self, mut bytes: &[u8], mut each: impl FnMut(Line<'_>)) {
        // What is held may end in the `\r` of a `\r\n` cut in two.
        let hold = self.max.saturating_add(1);
        // Each byte is scanned once, and copied at most once into `partial`.
        crate::cost::add(bytes.len());
        while let Some(end) = memchr::memchr(b'\n', bytes) {
            let piece = &bytes[..end];
            bytes = &bytes[end + 1..];
            if std::mem::take(&mut self.too_long) || self.partial.len() + piece.len() > hold {
                self.partial.clear();
                each(Line::TooLong);
                continue;
            }
            let line = if self.partial.is_empty() {
                piece
            } else {
                crate::cost::add(piece.len());
                self.partial.extend_from_slice(piece);
                &self.partial
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            each(if line.len() > self.max { Line::TooLong } else { Line::Text(line) });
            self.partial.clear();
        }
        if self.too_long {
            return;
        }
        if self.partial.len() + bytes.len() > hold {
            self.partial = Vec::new();
            self.too_long = true;
        } else {
            crate::cost::add(bytes.len());
            self.partial.extend_from_slice(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cut(pieces: &[&[u8]], max: usize) -> Vec<Option<String>> {
        let mut lines = Lines::new(max);
        let mut out = Vec::new();
        for p in pieces {
            lines.feed(p, |l| {
                out.push(match l {
                    Line::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                    Line::TooLong => None,
                })
            });
        }
        out
    }

    #[test]
    fn lines_end_at_newlines_with_or_without_a_carriage_return() {
        assert_eq!(
            cut(&[b"ab\r\n\r\ncd", b"e\nf", b"\r", b"\n"], 10),
            [Some("ab".into()), Some(String::new()), Some("cde".into()), Some("f".into())]
        );
    }

    #[test]
    fn a_line_over_the_bound_is_dropped_whole_and_reported_once() {
        assert_eq!(cut(&[b"0123456789AB\nok\n"], 10), [None, Some("ok".into())]);
        assert_eq!(cut(&[b"01234", b"56789AB", b"CDEF", b"\nok\n"], 10), [None, Some("ok".into())]);
        // At the bound, with its \r, it is kept.
        assert_eq!(cut(&[b"0123456789\r\n"], 10), [Some("0123456789".into())]);
    }

    #[test]
    fn the_work_is_linear_in_the_stream_however_it_is_cut() {
        let feed = |pieces: &[&[u8]]| {
            let mut lines = Lines::new(1 << 20);
            for p in pieces {
                lines.feed(p, |_| {});
            }
        };
        // One long line a byte at a time; blank lines; a line over the bound in pieces.
        crate::cost::assert_linear(
            "a long line byte by byte",
            200_000,
            4,
            |n| vec![b'x'; n],
            |b| feed(&b.chunks(1).collect::<Vec<_>>()),
        );
        crate::cost::assert_linear("blank lines", 200_000, 4, |n| b"\r\n".repeat(n / 2), |b| feed(&[b]));
        crate::cost::assert_linear(
            "over the bound",
            200_000,
            4,
            |n| vec![b'y'; n * 8],
            |b| {
                let mut lines = Lines::new(1000);
                for p in b.chunks(7) {
                    lines.feed(p, |_| {});
                }
            },
        );
    }

    proptest! {
        /// However the stream is cut into pieces, the lines are those of
        /// splitting the whole at once.
        #[test]
        fn pieces_do_not_change_the_lines(text in "[ab\r\n]{0,60}", cuts in proptest::collection::vec(0usize..60, 0..8), max in 1usize..8) {
            let bytes = text.as_bytes();
            let mut at: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            at.sort();
            let mut pieces = Vec::new();
            let mut from = 0;
            for c in at {
                pieces.push(&bytes[from..c]);
                from = c;
            }
            pieces.push(&bytes[from..]);
            let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
            let want: Vec<Option<String>> = complete
                .split_terminator('\n')
                .map(|l| {
                    let l = l.strip_suffix('\r').unwrap_or(l);
                    (l.len() <= max).then(|| l.to_owned())
                })
                .collect();
            prop_assert_eq!(cut(&pieces, max), want);
        }
    }
}
