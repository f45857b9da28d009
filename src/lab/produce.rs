//! `produce`: the documents of a MongoDB collection into a Kafka topic as
//! `{"tweet": …, "date": …}`, the lab's producer thread as one command. Every
//! delivery report is awaited; failures are counted and make the run fail.

use super::rows::{date_field, text_of};
use crate::connect::kafka::{ClientLog, client_config, set_default, wait_reachable};
use crate::progress::Progress;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use mongodb::bson::{Bson, Document, doc};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use serde_json::json;
use std::time::Duration;

/// How dates are written into messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DateFormat {
    /// `"2015-11-01T06:08:46.000Z"`.
    Iso,
    /// `{"$date": 1446358126000}`, like pymongo's `json_util.dumps`.
    Bson,
}

#[derive(Clone, Debug)]
pub struct Produce {
    pub uri: String,
    pub db: String,
    pub collection: String,
    pub brokers: String,
    pub topic: String,
    /// Partitions for the topic if it has to be created.
    pub partitions: i32,
    pub date_format: DateFormat,
    /// Messages per second, evenly spaced (None: as fast as possible).
    pub rate: Option<f64>,
    /// librdkafka settings (`-X key=value`), for the producer and the admin client.
    pub options: Vec<(String, String)>,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub read: u64,
    pub delivered: u64,
    pub failed: u64,
    pub skipped_no_text: u64,
    pub elapsed: Duration,
}

/// Creates `topic` with `partitions` partitions unless it exists.
pub async fn ensure_topic(
    brokers: &str,
    options: &[(String, String)],
    topic: &str,
    partitions: i32,
) -> anyhow::Result<()> {
    let config = client_config(brokers, options);
    let probe = config.clone();
    tokio::task::spawn_blocking(move || wait_reachable(&probe, Duration::from_secs(30))).await??;
    let admin: AdminClient<ClientLog> = config.create_with_context(ClientLog::default())?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics([&new], &opts).await? {
        match result {
            Ok(_) => tracing::info!("created topic {topic} with {partitions} partitions"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => anyhow::bail!("cannot create topic {t}: {e}"),
        }
    }
    Ok(())
}

/// ISO-8601 with milliseconds, UTC.
pub fn iso_millis(ms: i64) -> String {
    let t = crate::tweet::date::CivilTime::from_epoch_millis(ms);
    format!("{}T{:02}:{:02}:{:02}.{:03}Z", t.day, t.hour, t.minute, t.second, t.milli)
}

/// The message for one document, or None if it has no text.
pub fn message(doc: &Document, format: DateFormat) -> Option<serde_json::Value> {
    let text = text_of(doc)?;
    let date = match date_field(doc).and_then(|f| doc.get(f)) {
        Some(Bson::DateTime(d)) => match format {
            DateFormat::Iso => json!(iso_millis(d.timestamp_millis())),
            DateFormat::Bson => json!({ "$date": d.timestamp_millis() }),
        },
        Some(Bson::String(s)) => json!(s),
        _ => serde_json::Value::Null,
    };
    Some(json!({ "tweet": text, "date": date }))
}

pub async fn run(job: Produce) -> anyhow::Result<Summary> {
    let client = crate::connect::mongo::connect(&job.uri, Duration::from_secs(60)).await?;
    let coll = client.database(&job.db).collection::<Document>(&job.collection);
    ensure_topic(&job.brokers, &job.options, &job.topic, job.partitions).await?;
    let mut config = client_config(&job.brokers, &job.options);
    for (key, value) in [("message.timeout.ms", "60000"), ("linger.ms", "5"), ("compression.type", "lz4")] {
        set_default(&mut config, key, value);
    }
    let producer: FutureProducer<ClientLog> = config.create_with_context(ClientLog::default())?;
    let mut cursor = coll.find(doc! {}).sort(doc! { "_id": 1 }).await?;
    let mut summary = Summary::default();
    let mut in_flight = FuturesUnordered::new();
    let mut progress = Progress::new("produced");
    let start = tokio::time::Instant::now();
    let settle = |result: Result<Result<_, _>, _>, summary: &mut Summary| match result {
        Ok(Ok(_)) => summary.delivered += 1,
        Ok(Err((e, _))) => {
            summary.failed += 1;
            tracing::warn!("a message was not delivered: {e}");
        }
        Err(_) => summary.failed += 1,
    };
    while let Some(doc) = cursor.next().await {
        let doc = doc?;
        summary.read += 1;
        let Some(msg) = message(&doc, job.date_format) else {
            summary.skipped_no_text += 1;
            continue;
        };
        if let Some(rate) = job.rate {
            let sent = summary.read - summary.skipped_no_text - 1;
            tokio::time::sleep_until(crate::time::after_secs(start, sent as f64 / rate)).await;
        }
        let payload = msg.to_string();
        let key = doc.get_object_id("_id").map(|id| id.to_hex()).unwrap_or_default();
        loop {
            let record = FutureRecord::to(&job.topic).payload(&payload).key(&key);
            match producer.send_result(record) {
                Ok(delivery) => {
                    in_flight.push(delivery);
                    break;
                }
                // The local queue is full: wait for some deliveries, then retry.
                Err((_, _)) => match in_flight.next().await {
                    Some(r) => settle(r, &mut summary),
                    None => tokio::time::sleep(Duration::from_millis(10)).await,
                },
            }
        }
        while in_flight.len() > 50_000 {
            if let Some(r) = in_flight.next().await {
                settle(r, &mut summary);
            }
        }
        progress.update(summary.read);
    }
    while let Some(r) = in_flight.next().await {
        settle(r, &mut summary);
    }
    summary.elapsed = progress.finish();
    Ok(summary)
}
