//! Kafka client settings every client of this program starts from.

use rdkafka::ClientConfig;

/// Settings for a client of `brokers`, with the user's librdkafka settings
/// (`-X key=value`: security, compression, timeouts …) on top. Every client
/// of the program starts here: consumers, producers, the admin client that
/// creates topics, and the short-lived readers of offsets.
pub fn client_config(brokers: &str, options: &[(String, String)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers).set("client.id", "tweetstream");
    for (key, value) in options {
        c.set(key, value);
    }
    c
}

/// Sets `key` unless the user's settings already did.
pub fn set_default(c: &mut ClientConfig, key: &str, value: &str) {
    if c.get(key).is_none() {
        c.set(key, value);
    }
}
