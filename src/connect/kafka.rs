//! Kafka client settings every client of this program starts from.

use rdkafka::ClientConfig;

/// Settings for a client of `brokers` (a consumer, producer or admin client
/// adds its own).
pub fn client_config(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers).set("client.id", "tweetstream");
    c
}
