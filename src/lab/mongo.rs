//! Connecting to MongoDB: wait for the server with backoff and a clear log line,
//! instead of failing on the first refused connection.

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
    let mut backoff = Duration::from_millis(200);
    let mut warned = false;
    loop {
        match client.database("admin").run_command(doc! { "ping": 1 }).await {
            Ok(_) => {
                if warned {
                    tracing::info!("MongoDB at {uri} is up");
                }
                return Ok(client);
            }
            Err(e) if start.elapsed() < patience => {
                if !warned {
                    tracing::warn!(
                        "MongoDB at {uri} is not answering yet ({e}); retrying for up to {patience:?}"
                    );
                    warned = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => anyhow::bail!("cannot reach MongoDB at {uri} after {patience:?}: {e}"),
        }
    }
}
