//! Connecting to MongoDB: wait for the server with backoff and a clear log line,
//! instead of failing on the first refused connection.

use crate::retry::Backoff;
use mongodb::Client;
use mongodb::bson::doc;
use mongodb::error::ErrorKind;
use mongodb::options::ClientOptions;
use std::time::{Duration, Instant};

/// Default URI, as in the lab.
pub const DEFAULT_URI: &str = "mongodb://127.0.0.1:27017";

/// Connects and waits until the server answers a ping, for up to `patience`.
/// Messages name the server by [`redacted`] URI: no password is ever logged.
pub async fn connect(uri: &str, patience: Duration) -> anyhow::Result<Client> {
    let shown = redacted(uri);
    let mut options = ClientOptions::parse(uri).await.map_err(|e| match &*e.kind {
        // A `mongodb+srv://` URI is looked up in DNS as it is parsed.
        ErrorKind::DnsResolve { message, .. } => {
            anyhow::anyhow!("cannot find the MongoDB servers of {shown} in DNS: {message}")
        }
        ErrorKind::InvalidArgument { message, .. } => anyhow::anyhow!("bad MongoDB URI {shown:?}: {message}"),
        _ => anyhow::anyhow!("bad MongoDB URI {shown:?}: {}", gist(&e.to_string())),
    })?;
    let uri = shown;
    options.app_name = Some("tweetstream".into());
    options.server_selection_timeout = Some(Duration::from_secs(2));
    let client = Client::with_options(options)
        .map_err(|e| anyhow::anyhow!("MongoDB at {uri}: {}", gist(&e.to_string())))?;
    let start = Instant::now();
    let mut backoff = Backoff::default();
    let mut warned = false;
    loop {
        let e = match client.database("admin").run_command(doc! { "ping": 1 }).await {
            Ok(_) => {
                if warned {
                    tracing::info!("MongoDB at {uri} is up");
                }
                return Ok(client);
            }
            Err(e) => e,
        };
        tracing::debug!("MongoDB error in full: {e}");
        let text = e.to_string();
        let reason = short_reason(&text);
        if start.elapsed() >= patience {
            anyhow::bail!("cannot reach MongoDB at {uri} after {patience:?}: {reason}");
        }
        if !warned {
            tracing::warn!(
                "MongoDB at {uri} is not answering yet ({reason}); retrying for up to {patience:?}"
            );
            warned = true;
        }
        backoff.wait(std::future::pending()).await;
    }
}

/// `uri` with its secrets masked (`mongodb://user:***@host/…`), for
/// messages ([`crate::secret::SecretUrl`]).
pub fn redacted(uri: &str) -> String {
    crate::secret::SecretUrl::new(uri).to_string()
}

/// A driver error without its decoration (`Kind: …, labels: {}, source: …`).
fn gist(error: &str) -> &str {
    let error = error.strip_prefix("Kind: ").unwrap_or(error);
    error.find(", labels: ").map_or(error, |end| &error[..end])
}

/// The gist of a driver error: a failed server selection is reported with the
/// whole topology (a few hundred characters); its I/O error ("Connection refused
/// (os error 111)") is what a user needs. Other errors are kept whole.
fn short_reason(error: &str) -> &str {
    const IO: &str = "I/O error: ";
    let Some(at) = error.find(IO) else {
        return error;
    };
    let rest = &error[at + IO.len()..];
    rest.find(", labels").map_or(rest, |end| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted("mongodb://u:s3cr%40t@h1:27017,h2/db?tls=true"),
            "mongodb://u:***@h1:27017,h2/db?tls=true"
        );
        assert_eq!(
            redacted("mongodb+srv://user:pw@cluster.example/x"),
            "mongodb+srv://user:***@cluster.example/x"
        );
        // A user alone may be a token: masked whole.
        assert_eq!(redacted("mongodb://user@h/"), "mongodb://***@h/");
        assert_eq!(
            redacted("mongodb://h/db?authSource=admin&tlsCertificateKeyFilePassword=pw"),
            "mongodb://h/db?authSource=admin&tlsCertificateKeyFilePassword=***"
        );
        assert_eq!(redacted("mongodb://127.0.0.1:27017"), "mongodb://127.0.0.1:27017");
        assert_eq!(redacted("not a uri"), "not a uri");
    }

    #[test]
    fn a_refused_connection_is_reported_in_a_few_words() {
        // As the driver (3.x) prints it when nothing listens on the port.
        let refused = "Kind: Server selection timeout: No available servers. Topology: { Type: Unknown, \
            Servers: [ { Address: 127.0.0.1:27017, Type: Unknown, Error: Kind: I/O error: Connection refused \
            (os error 111), labels: {\"SystemOverloadedError\", \"RetryableError\"}, source: None, server \
            response: None } ] }, labels: {}, source: None, server response: None";
        assert_eq!(short_reason(refused), "Connection refused (os error 111)");
        let other = "Kind: Command failed: Error code 13 (Unauthorized), labels: {}";
        assert_eq!(short_reason(other), other);
    }
}
