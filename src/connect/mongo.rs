//! Connecting to MongoDB: wait for the server with backoff and a clear log line,
//! instead of failing on the first refused connection.

use crate::retry::Backoff;
use mongodb::Client;
use mongodb::bson::doc;
use mongodb::options::ClientOptions;
use std::time::{Duration, Instant};

/// Default URI, as in the lab.
pub const DEFAULT_URI: &str = "mongodb://127.0.0.1:27017";

/// Connects and waits until the server answers a ping, for up to `patience`.
pub async fn connect(uri: &str, patience: Duration) -> anyhow::Result<Client> {
    let mut options =
        ClientOptions::parse(uri).await.map_err(|e| anyhow::anyhow!("bad MongoDB URI {uri:?}: {e}"))?;
    options.app_name = Some("tweetstream".into());
    options.server_selection_timeout = Some(Duration::from_secs(2));
    let client = Client::with_options(options)?;
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
