//! Kafka client settings every client of this program starts from, and the
//! context that brings librdkafka's own log lines and errors into our log.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, ClientContext};

/// Settings for a client of `brokers`, with the user's librdkafka settings
/// (`-X key=value`: security, compression, timeouts …) on top. Every client
/// of the program starts here: consumers, producers, the admin client that
/// creates topics, and the short-lived readers of offsets.
pub fn client_config(brokers: &str, options: &[(String, String)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    // rust-rdkafka takes its level from the `log` crate, which this program
    // does not use: without this, `--log debug` with `-X debug=cgrp` showed
    // nothing of librdkafka's debug lines.
    if tracing::enabled!(tracing::Level::DEBUG) {
        c.set_log_level(rdkafka::config::RDKafkaLogLevel::Debug);
    }
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

/// How long the same librdkafka message stays quiet after it was logged.
const REPEAT_EVERY: Duration = Duration::from_secs(30);

/// Distinct messages remembered at most (beyond it, the old ones are forgotten).
const REMEMBERED: usize = 256;

/// The context of every Kafka client: librdkafka's warnings and errors (a
/// failed TLS handshake, refused credentials, brokers down) go into this
/// program's log, naming the broker as librdkafka does. A broker that stays
/// unreachable makes librdkafka report the same failure several times a
/// second, and once as a log line and once as an error: each distinct message
/// is logged once per [`REPEAT_EVERY`].
#[derive(Default)]
pub struct ClientLog {
    last: Mutex<HashMap<String, Instant>>,
}

impl ClientLog {
    /// Whether `message` was not logged within [`REPEAT_EVERY`] (and notes it
    /// as logged now). The timing suffix librdkafka adds ("(after 3ms in state
    /// …)") is not part of what makes two messages the same.
    fn fresh(&self, message: &str) -> bool {
        let key = message.split(" (after ").next().unwrap_or(message);
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.get(key).is_some_and(|t| now.duration_since(*t) < REPEAT_EVERY) {
            return false;
        }
        if last.len() >= REMEMBERED {
            last.retain(|_, t| now.duration_since(*t) < REPEAT_EVERY);
            if last.len() >= REMEMBERED {
                last.clear();
            }
        }
        last.insert(key.to_owned(), now);
        true
    }
}

impl ClientContext for ClientLog {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        use RDKafkaLogLevel::*;
        // "[thrd:…]: " names librdkafka's thread; the message names the broker.
        let message = match message.strip_prefix("[thrd:").and_then(|m| m.split_once("]: ")) {
            Some((_, rest)) => rest,
            None => message,
        };
        match level {
            Emerg | Alert | Critical | Error if self.fresh(message) => {
                tracing::error!(facility, "kafka: {message} [{facility}]")
            }
            Warning if self.fresh(message) => tracing::warn!(facility, "kafka: {message} [{facility}]"),
            Notice => tracing::info!("kafka: {message} [{facility}]"),
            Info | Debug => tracing::debug!("kafka: {message} [{facility}]"),
            _ => {}
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if self.fresh(reason) {
            tracing::error!(error = %error, "kafka: {reason} ({error})");
        }
    }
}

/// Short-lived consumers (offset and watermark readers) need no rebalance hooks.
impl rdkafka::consumer::ConsumerContext for ClientLog {}

/// Waits until the brokers of `config` answer a metadata request, or fails
/// after `timeout`. Meanwhile librdkafka's errors are logged, so a refused
/// TLS handshake or bad credentials show as such rather than as a silent
/// wait (an admin client alone would not report them: nothing serves its
/// main queue).
pub fn wait_reachable(config: &ClientConfig, timeout: Duration) -> anyhow::Result<()> {
    let probe: BaseConsumer<ClientLog> = config.create_with_context(ClientLog::default())?;
    let deadline = Instant::now() + timeout;
    loop {
        match probe.fetch_metadata(None, Duration::from_secs(1)) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => anyhow::bail!(
                "no answer from the Kafka brokers at {} within {} s ({e}; the errors above say why)",
                config.get("bootstrap.servers").unwrap_or("?"),
                timeout.as_secs()
            ),
            Err(_) => {
                probe.poll(Duration::from_millis(100));
            }
        }
    }
}
