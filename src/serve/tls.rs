//! TLS for the listeners (`--http`, `--dashboard`, `--pg`): the certificate
//! chain and private key of `--tls-cert` and `--tls-key` (PEM files, as
//! certbot and most CAs write them).
//!
//! They are checked when the engine starts (an unreadable file, a file with
//! no certificate or key, or a key that is not the certificate's is an error
//! that names the file), and read again when either file changes, so a
//! certificate renewed on disk is served from the next connection on without
//! a restart: a live stream runs longer than a certificate lives. A renewal
//! that cannot be read (the key not yet written, say) keeps the previous
//! certificate, with a warning, until the files change again. The log says
//! until when the certificate is valid, and warns (at start, on a reload and
//! then daily) once it expires within [`EXPIRY_WARNING`] or has expired.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};

/// How often, at most, the files are looked at for a change (on a handshake).
const RECHECK: Duration = Duration::from_secs(1);

/// A certificate that expires within this is warned about.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 86_400);

/// How often the served certificate's expiry is looked at again (so a
/// warning comes at most this often).
const WARN_EVERY: Duration = Duration::from_secs(86_400);

/// The listeners' certificate and key, re-read when their files change.
/// Its `Debug` names the files, never the key.
#[derive(Clone)]
pub struct Certificate(Arc<Reloading>);

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let files = &self.0.files;
        write!(f, "Certificate({}, key {})", files.cert.display(), files.key.display())
    }
}

impl Certificate {
    /// Loads `cert` (the chain, the server's own certificate first) and
    /// `key`; an error says which file is wrong and how.
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Self> {
        Self::load_with(cert, key, Clock::default())
    }

    /// [`Certificate::load`] on `clock` (a test's, which it moves on).
    fn load_with(cert: &Path, key: &Path, clock: Clock) -> anyhow::Result<Self> {
        let provider = Arc::new(ring::default_provider());
        let files = Files { cert: cert.to_owned(), key: key.to_owned() };
        let stamp = files.stamp();
        let loaded = files.load(&provider)?;
        announce(&loaded, &files.cert, clock.now_ms(), true);
        let now = clock.instant();
        let current = Current { key: loaded, stamp, checked: now, failed: None, expiry_checked: now };
        Ok(Certificate(Arc::new(Reloading { files, provider, current: Mutex::new(current), clock })))
    }

    /// An acceptor offering `alpn` (the protocols of the listener, e.g.
    /// `http/1.1`, or `postgresql`, which PostgreSQL 17 clients ask for).
    pub fn acceptor(&self, alpn: &[&[u8]]) -> TlsAcceptor {
        let mut config = ServerConfig::builder_with_provider(self.0.provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(self.0.clone());
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        TlsAcceptor::from(Arc::new(config))
    }
}

#[derive(Debug)]
struct Files {
    cert: PathBuf,
    key: PathBuf,
}

/// What tells a changed file: its modification time and length.
type Stamp = [Option<(SystemTime, u64)>; 2];

impl Files {
    fn stamp(&self) -> Stamp {
        let of = |p: &Path| {
            std::fs::metadata(p).ok().map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
        };
        [of(&self.cert), of(&self.key)]
    }

    fn load(&self, provider: &CryptoProvider) -> anyhow::Result<Arc<CertifiedKey>> {
        let (cert, key) = (self.cert.display(), self.key.display());
        let pem = std::fs::read(&self.cert).map_err(|e| anyhow::anyhow!("--tls-cert {cert}: {e}"))?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("--tls-cert {cert}: not a PEM certificate chain: {e}"))?;
        if chain.is_empty() {
            anyhow::bail!("--tls-cert {cert} holds no certificate (a PEM block -----BEGIN CERTIFICATE-----)");
        }
        let pem = std::fs::read(&self.key).map_err(|e| anyhow::anyhow!("--tls-key {key}: {e}"))?;
        let private = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
            anyhow::anyhow!("--tls-key {key}: no private key in PEM (PKCS#8, PKCS#1 or SEC1) in it: {e}")
        })?;
        let certified = CertifiedKey::from_der(chain, private, provider).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => {
                anyhow::anyhow!("--tls-key {key} is not the key of the certificate in --tls-cert {cert}")
            }
            e => anyhow::anyhow!("--tls-cert {cert} with --tls-key {key}: {e}"),
        })?;
        Ok(Arc::new(certified))
    }
}

#[derive(Debug)]
struct Reloading {
    files: Files,
    provider: Arc<CryptoProvider>,
    current: Mutex<Current>,
    clock: Clock,
}

/// The time the reloader goes by: the system's, moved on by a test's
/// [`Clock::advance`] (the daily expiry check cannot wait a day).
#[derive(Clone, Debug, Default)]
struct Clock {
    ahead_ms: Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    fn ahead(&self) -> Duration {
        Duration::from_millis(self.ahead_ms.load(std::sync::atomic::Ordering::Relaxed).max(0) as u64)
    }

    fn instant(&self) -> Instant {
        Instant::now() + self.ahead()
    }

    fn now_ms(&self) -> i64 {
        crate::time::now_millis() + self.ahead().as_millis() as i64
    }

    #[cfg(test)]
    fn advance(&self, by: Duration) {
        self.ahead_ms.fetch_add(by.as_millis() as i64, std::sync::atomic::Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Current {
    key: Arc<CertifiedKey>,
    /// The files as they were when `key` was read from them.
    stamp: Stamp,
    checked: Instant,
    /// The files as they were when reading them last failed (not retried
    /// until they change again).
    failed: Option<Stamp>,
    /// When the certificate's expiry was last looked at.
    expiry_checked: Instant,
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut current = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = self.clock.instant();
        if now.duration_since(current.checked) >= RECHECK {
            current.checked = now;
            let stamp = self.files.stamp();
            if stamp != current.stamp && current.failed != Some(stamp) {
                match self.files.load(&self.provider) {
                    Ok(key) => {
                        tracing::info!(
                            "tls: {} changed: serving the new certificate",
                            self.files.cert.display()
                        );
                        announce(&key, &self.files.cert, self.clock.now_ms(), true);
                        let checked = current.checked;
                        *current = Current { key, stamp, checked, failed: None, expiry_checked: checked };
                    }
                    Err(e) => {
                        tracing::warn!(
                            "tls: the certificate changed but cannot be used ({e}): serving the previous one"
                        );
                        current.failed = Some(stamp);
                    }
                }
            }
        }
        self.check_expiry(&mut current, now);
        Some(current.key.clone())
    }
}

impl Reloading {
    /// Looks at the served certificate's expiry once a day (warning when it
    /// is near or past); returns what it found, when it looked.
    fn check_expiry(&self, current: &mut Current, now: Instant) -> Option<Expiry> {
        if now.duration_since(current.expiry_checked) < WARN_EVERY {
            return None;
        }
        current.expiry_checked = now;
        announce(&current.key, &self.files.cert, self.clock.now_ms(), false)
    }
}

/// What the log says of a certificate valid until `until_ms`, at `now_ms`.
#[derive(Debug, PartialEq)]
enum Expiry {
    Valid,
    /// Within [`EXPIRY_WARNING`]: in this many whole days.
    Soon(i64),
    Expired,
}

fn expiry(until_ms: i64, now_ms: i64) -> Expiry {
    let left = until_ms - now_ms;
    if left <= 0 {
        Expiry::Expired
    } else if left < EXPIRY_WARNING.as_millis() as i64 {
        Expiry::Soon(left / 86_400_000)
    } else {
        Expiry::Valid
    }
}

/// Warns when the certificate expires soon or has expired; when it was
/// just `loaded`, also says which is served and until when. Returns what it
/// found (None: the certificate's dates cannot be read).
fn announce(key: &CertifiedKey, path: &Path, now_ms: i64, loaded: bool) -> Option<Expiry> {
    let cert =
        key.cert.first().and_then(|leaf| x509_certificate::X509Certificate::from_der(leaf.as_ref()).ok());
    let Some(cert) = cert else {
        if loaded {
            tracing::info!("tls: serving {}", path.display());
        }
        return None;
    };
    let until_ms = cert.validity_not_after().timestamp_millis();
    let until = crate::engine::tables::format_millis(until_ms);
    let until = &until[..until.len().min(10)];
    let name = cert.subject_common_name().unwrap_or_default();
    let path = path.display();
    let found = expiry(until_ms, now_ms);
    match found {
        Expiry::Valid if loaded => tracing::info!("tls: serving {path} ({name}), valid until {until}"),
        Expiry::Valid => {}
        Expiry::Soon(days) => {
            tracing::warn!(
                "tls: the certificate {path} ({name}) expires on {until}, in {days} days: renew it (the new one is \
                 read when the file changes)"
            );
        }
        Expiry::Expired => {
            tracing::warn!(
                "tls: the certificate {path} ({name}) expired on {until}: clients refuse it; renew it (the new one \
                 is read when the file changes)"
            );
        }
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls").join(name)
    }

    #[test]
    fn loads_an_ecdsa_and_an_rsa_pair() {
        for (cert, key) in [("server.pem", "server.key"), ("renewed.pem", "renewed.key")] {
            let loaded = Certificate::load(&data(cert), &data(key)).unwrap();
            assert_eq!(loaded.0.current.lock().unwrap().key.cert.len(), 1, "{cert}");
        }
    }

    /// The certificate's end of validity, in ms since the epoch.
    fn not_after(c: &Certificate) -> i64 {
        let current = c.0.current.lock().unwrap();
        let leaf = x509_certificate::X509Certificate::from_der(current.key.cert[0].as_ref()).unwrap();
        leaf.validity_not_after().timestamp_millis()
    }

    #[test]
    fn the_expiry_is_looked_at_again_each_day_as_the_clock_moves_on() {
        let clock = Clock::default();
        let c = Certificate::load_with(&data("server.pem"), &data("server.key"), clock.clone()).unwrap();
        let day = Duration::from_secs(86_400);
        let until = not_after(&c);
        // Nineteen and a half days before it expires, by the clock (half a
        // day from any boundary, whatever the moments the test takes).
        clock.advance(Duration::from_millis((until - clock.now_ms()) as u64) - day * 20 + day / 2);
        let look = || {
            let mut current = c.0.current.lock().unwrap();
            c.0.check_expiry(&mut current, c.0.clock.instant())
        };
        // The jump itself is more than a day: one look.
        assert_eq!(look(), Some(Expiry::Valid));
        assert_eq!(look(), None);
        // Then once a day, not more often.
        let mut seen = Vec::new();
        for hours in (6..=21 * 24).step_by(6) {
            clock.advance(Duration::from_secs(6 * 3600));
            if let Some(found) = look() {
                seen.push((hours / 24, found));
            }
        }
        assert_eq!(seen.len(), 21, "{seen:?}");
        // Day k leaves 19.5 - k days.
        assert_eq!(seen[0], (1, Expiry::Valid));
        assert_eq!(seen[4], (5, Expiry::Valid));
        // Within two weeks: warned each day, then past it.
        assert_eq!(seen[5], (6, Expiry::Soon(13)));
        assert_eq!(seen[18], (19, Expiry::Soon(0)));
        assert_eq!(seen[19], (20, Expiry::Expired));
        assert_eq!(seen[20], (21, Expiry::Expired));
    }

    #[test]
    fn an_expiry_within_two_weeks_or_past_is_warned_about() {
        let day = 86_400_000;
        let now = 1_800_000_000_000;
        assert_eq!(expiry(now + 90 * day, now), Expiry::Valid);
        assert_eq!(expiry(now + 14 * day, now), Expiry::Valid);
        assert_eq!(expiry(now + 14 * day - 1, now), Expiry::Soon(13));
        assert_eq!(expiry(now + day / 2, now), Expiry::Soon(0));
        assert_eq!(expiry(now, now), Expiry::Expired);
        assert_eq!(expiry(now - day, now), Expiry::Expired);
    }

    #[test]
    fn says_which_file_is_wrong() {
        let err = |cert: &str, key: &str| Certificate::load(&data(cert), &data(key)).unwrap_err().to_string();
        let mismatch = err("server.pem", "renewed.key");
        assert!(mismatch.contains("renewed.key is not the key of the certificate"), "{mismatch}");
        let missing = err("absent.pem", "server.key");
        assert!(missing.starts_with("--tls-cert ") && missing.contains("absent.pem"), "{missing}");
        let no_cert = err("server.key", "server.key");
        assert!(no_cert.contains("holds no certificate"), "{no_cert}");
        let no_key = err("server.pem", "server.pem");
        assert!(no_key.starts_with("--tls-key ") && no_key.contains("no private key"), "{no_key}");
    }
}
