//! How `tweetstream query` reaches a running engine's `--http`: the server
//! as `HOST:PORT`, `http://HOST:PORT` or `https://HOST:PORT` (TLS, the
//! certificate checked against the public CAs or `--ca-cert`), and the token
//! (`TWEETSTREAM_TOKEN` or `--token-file`, as the engine takes it) sent as a
//! bearer token. HTTP/1.1 is hyper's client; this module says what a failure
//! means for someone who typed `--server`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error as TlsError, RootCertStore, SignatureScheme,
};

/// Where the engine is, and how to talk to it.
pub struct Engine {
    /// `HOST:PORT`, as given (for the Host header and messages).
    pub addr: String,
    tls: Option<Arc<ClientConfig>>,
    token: Option<crate::secret::Secret>,
}

/// A request to the engine: method, path (with its query), body, `Accept`.
pub struct Ask<'a> {
    pub method: Method,
    pub path: &'a str,
    pub body: Option<&'a str>,
    pub accept: &'a str,
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

    /// Sends `ask` on a new connection and returns the response (its body
    /// still to read), giving up after `timeout` to connect and to answer.
    pub async fn send(&self, ask: Ask<'_>, timeout: Duration) -> anyhow::Result<Response<Incoming>> {
        let addr = &self.addr;
        let connecting = async {
            let socket = TcpStream::connect(addr).await.map_err(|e| self.unreachable(e))?;
            match &self.tls {
                None => self.handshake(socket).await,
                Some(config) => {
                    let host = addr.rsplit_once(':').map_or(addr.as_str(), |(host, _)| host);
                    let host = host.trim_start_matches('[').trim_end_matches(']');
                    let name = ServerName::try_from(host.to_owned())
                        .map_err(|e| anyhow::anyhow!("--server {addr}: {host} is no host name: {e}"))?;
                    let tls = TlsConnector::from(config.clone())
                        .connect(name, socket)
                        .await
                        .map_err(|e| self.failed(e.to_string()))?;
                    self.handshake(tls).await
                }
            }
        };
        let mut sender =
            tokio::time::timeout(timeout, connecting).await.map_err(|_| self.silent(timeout))??;
        let request = self.request(ask)?;
        let answered = tokio::time::timeout(timeout, sender.send_request(request)).await;
        answered.map_err(|_| self.silent(timeout))?.map_err(|e| self.broken(&e))
    }

    /// HTTP/1.1 over `io`; the connection is driven on its own task.
    async fn handshake<T>(
        &self,
        io: T,
    ) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| self.broken(&e))?;
        tokio::spawn(connection);
        Ok(sender)
    }

    fn request(&self, ask: Ask<'_>) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut request = Request::builder()
            .method(ask.method)
            .uri(ask.path)
            .header(HOST, &self.addr)
            .header(ACCEPT, ask.accept);
        if let Some(token) = &self.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .map_err(|_| anyhow::anyhow!("the token holds characters a header cannot carry"))?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        if ask.body.is_some() {
            request = request.header(CONTENT_TYPE, "text/plain");
        }
        let body = Full::new(Bytes::from(ask.body.unwrap_or_default().to_owned()));
        Ok(request.body(body)?)
    }

    fn unreachable(&self, e: std::io::Error) -> anyhow::Error {
        let addr = &self.addr;
        anyhow::anyhow!(
            "cannot reach the engine at {addr} ({e}); is `tweetstream stream --http {addr}` running?"
        )
    }

    /// Nothing came within `timeout`.
    pub fn silent(&self, timeout: Duration) -> anyhow::Error {
        anyhow::anyhow!(
            "no answer from {} within {timeout:?} (--timeout): something listens there, but it is not \
             answering like an engine's --http",
            self.addr
        )
    }

    /// A TLS failure, saying what it likely means.
    fn failed(&self, e: String) -> anyhow::Error {
        let addr = &self.addr;
        if e.contains("certificate") || e.contains("Certificate") {
            anyhow::anyhow!("{addr}: {e} (a certificate of your own CA is trusted with --ca-cert PATH)")
        } else {
            anyhow::anyhow!("{addr}: {e}")
        }
    }

    /// An HTTP failure: what the engine's side likely is.
    pub fn broken(&self, e: &hyper::Error) -> anyhow::Error {
        let addr = &self.addr;
        match &self.tls {
            // A TLS server sends a TLS record (or closes) where a response was expected.
            None if e.is_parse() || e.is_incomplete_message() || e.is_closed() => anyhow::anyhow!(
                "{addr} closed the connection or answered with something that is not HTTP ({e}); if the \
                 engine runs with --tls-cert, give --server https://{addr}"
            ),
            _ => anyhow::anyhow!("{addr}: {e}"),
        }
    }
}

/// TLS 1.2 and 1.3, the certificate checked against `ca` (PEM), else the
/// public CAs (webpki-roots).
fn client_config(ca: Option<&Path>) -> anyhow::Result<ClientConfig> {
    let provider = Arc::new(ring::default_provider());
    let builder =
        ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let Some(path) = ca else {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(builder.with_root_certificates(roots).with_no_client_auth());
    };
    let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("--ca-cert {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--ca-cert {}: not PEM certificates: {e}", path.display()))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs.clone());
    if added == 0 {
        anyhow::bail!("--ca-cert {} holds no usable certificate", path.display());
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
    let verifier = Arc::new(Given { webpki, given: certs });
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

/// `--ca-cert`'s certificates, trusted as CAs (webpki's checks), and each
/// also as the server's own certificate: a self-signed certificate made
/// with `openssl req -x509` is its own CA, which webpki refuses as an end
/// entity (`CaUsedAsEndEntity`) where curl takes it. Only the exact
/// certificate given is taken that way; the handshake's signatures are
/// checked as always, so only the holder of its key can present it.
#[derive(Debug)]
struct Given {
    webpki: Arc<WebPkiServerVerifier>,
    given: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for Given {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            // webpki's CaUsedAsEndEntity comes as `Other`.
            Err(TlsError::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::Other(_),
            )) if self.given.iter().any(|c| c.as_ref() == end_entity.as_ref()) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
