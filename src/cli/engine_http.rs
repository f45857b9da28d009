//! How `tweetstream query` reaches a running engine's `--http`: the server
//! as `HOST:PORT`, `http://HOST:PORT` or `https://HOST:PORT` (TLS, the
//! certificate checked against the public CAs or `--ca-cert`), and the token
//! (`TWEETSTREAM_TOKEN` or `--token-file`, as the engine takes it) sent as a
//! bearer token. A blocking client: one request per run.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// Where the engine is, and how to talk to it.
pub struct Engine {
    /// `HOST:PORT`, as given (for the Host header and messages).
    pub addr: String,
    tls: Option<Arc<ClientConfig>>,
    token: Option<crate::secret::Secret>,
}

/// A byte stream to the engine, plain or TLS.
pub trait Io: Read + Write + Send {}
impl<T: Read + Write + Send> Io for T {}

/// An open connection: the stream, and the socket under it (for timeouts).
pub struct Connection {
    pub io: Box<dyn Io>,
    pub socket: TcpStream,
}

impl Engine {
    /// `server` as given to `--server`; `ca` for `--ca-cert`; `token` the
    /// token to send, if any.
    pub fn new(
        server: &str,
        ca: Option<&Path>,
        token: Option<crate::secret::Secret>,
    ) -> anyhow::Result<Self> {
        let (tls, addr) = match server.split_once("://") {
            Some(("https", rest)) => (true, rest),
            Some(("http", rest)) => (false, rest),
            Some((scheme, _)) => anyhow::bail!(
                "--server {server}: {scheme}:// is not HTTP; give HOST:PORT or https://HOST:PORT"
            ),
            None => (false, server),
        };
        let addr = addr.trim_end_matches('/').to_owned();
        if addr.contains('/') {
            anyhow::bail!("--server {server}: give the engine's address only (HOST:PORT), no path");
        }
        if ca.is_some() && !tls {
            anyhow::bail!("--ca-cert is for an engine served over TLS: give --server https://{addr}");
        }
        let tls = if tls { Some(Arc::new(client_config(ca)?)) } else { None };
        Ok(Engine { addr, tls, token })
    }

    /// The request head's lines that say who asks: Host, and the token.
    pub fn headers(&self) -> String {
        let mut h = format!("Host: {}\r\n", self.addr);
        if let Some(token) = &self.token {
            h.push_str(&format!("Authorization: Bearer {}\r\n", token.expose()));
        }
        h
    }

    /// Connects, giving up after `timeout` (also for each read and write).
    pub fn connect(&self, timeout: Duration) -> anyhow::Result<Connection> {
        let addr = &self.addr;
        let unreachable = |e: std::io::Error| {
            anyhow::anyhow!(
                "cannot reach the engine at {addr} ({e}); is `tweetstream stream --http {addr}` running?"
            )
        };
        let socket_addr = std::net::ToSocketAddrs::to_socket_addrs(addr)
            .map_err(unreachable)?
            .next()
            .ok_or_else(|| anyhow::anyhow!("{addr}: no address"))?;
        let socket = TcpStream::connect_timeout(&socket_addr, timeout).map_err(unreachable)?;
        socket.set_read_timeout(Some(timeout))?;
        socket.set_write_timeout(Some(timeout))?;
        let io: Box<dyn Io> = match &self.tls {
            None => Box::new(socket.try_clone()?),
            Some(config) => {
                let host = addr.rsplit_once(':').map_or(addr.as_str(), |(host, _)| host);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let name = ServerName::try_from(host.to_owned())
                    .map_err(|e| anyhow::anyhow!("--server {addr}: {host} is no host name: {e}"))?;
                let tls = ClientConnection::new(config.clone(), name)?;
                Box::new(StreamOwned::new(tls, socket.try_clone()?))
            }
        };
        Ok(Connection { io, socket })
    }

    /// An I/O error while talking to the engine, saying what it likely means.
    pub fn failed(&self, timeout: Duration, e: std::io::Error) -> anyhow::Error {
        let addr = &self.addr;
        if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
            anyhow::anyhow!(
                "no answer from {addr} within {timeout:?} (--timeout): something listens there, \
                 but it is not answering like an engine's --http"
            )
        } else if self.tls.is_some() && e.to_string().contains("certificate") {
            anyhow::anyhow!("{addr}: {e} (a certificate of your own CA is trusted with --ca-cert PATH)")
        } else if self.tls.is_none()
            && matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            // An engine with --tls-cert closes a plain-text connection at once.
            anyhow::anyhow!(
                "{addr} closed the connection ({e}); if the engine runs with --tls-cert, give --server https://{addr}"
            )
        } else {
            anyhow::anyhow!("{addr}: {e}")
        }
    }

    /// What to say when the engine answered something that is not HTTP.
    pub fn not_http(&self, response: &[u8]) -> anyhow::Error {
        let addr = &self.addr;
        // A TLS record (alert or handshake) where an HTTP response was expected.
        if self.tls.is_none() && matches!(response.first(), Some(0x15 | 0x16)) {
            anyhow::anyhow!(
                "{addr} answers with TLS (the engine runs with --tls-cert): give --server https://{addr}"
            )
        } else {
            anyhow::anyhow!("{addr}: not an HTTP response")
        }
    }
}

/// TLS 1.2 and 1.3, the certificate checked against `ca` (PEM), else the
/// public CAs (webpki-roots).
fn client_config(ca: Option<&Path>) -> anyhow::Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(path) => {
            let pem =
                std::fs::read(path).map_err(|e| anyhow::anyhow!("--ca-cert {}: {e}", path.display()))?;
            let certs = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("--ca-cert {}: not PEM certificates: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                anyhow::bail!("--ca-cert {} holds no usable certificate", path.display());
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
