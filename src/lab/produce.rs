//! `produce`: the documents of a MongoDB collection into a Kafka topic as
//! `{"tweet": …, "date": …}` (with `"lang"` where the post has a language),
//! the lab's producer thread as one command. Every
//! delivery report is awaited; failures are counted and make the run fail.

use crate::connect::kafka::{ClientLog, client_config, set_default, wait_reachable};
use crate::files::rows::{date_field, lang_of, text_of};
use crate::progress::Progress;
use crate::transforms::select::Select;
use crate::tweet::{DateStatus, Lang, Tweet};
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
    /// Warn when the topic already holds messages (not for `lab`, which
    /// reads only what it produces).
    pub note_existing: bool,
    /// Which posts are sent (`--track`, `--lang`).
    pub select: Select,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub read: u64,
    pub delivered: u64,
    pub failed: u64,
    pub skipped_no_text: u64,
    /// Posts left out by `--track` or `--lang`.
    pub filtered: u64,
    pub elapsed: Duration,
}

/// Creates `topic` with `partitions` partitions unless it exists (and says so
/// when it exists with another number).
pub async fn ensure_topic(
    brokers: &str,
    options: &[(String, String)],
    topic: &str,
    partitions: i32,
    note_existing: bool,
) -> anyhow::Result<()> {
    let config = client_config(brokers, options);
    let probe = config.clone();
    tokio::task::spawn_blocking(move || wait_reachable(&probe, Duration::from_secs(30))).await??;
    let admin: std::sync::Arc<AdminClient<ClientLog>> =
        std::sync::Arc::new(config.create_with_context(ClientLog::default())?);
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics([&new], &opts).await? {
        match result {
            Ok(_) => tracing::info!("created topic {topic} with {partitions} partitions"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {
                // librdkafka's metadata calls block: off the async threads.
                let (admin, name) = (admin.clone(), topic.to_owned());
                let (existing, held) =
                    tokio::task::spawn_blocking(move || partition_count(&admin, &name)).await??;
                if existing != partitions as usize {
                    tracing::warn!(
                        "topic {topic} exists with {existing} partitions; --partitions {partitions} applies only \
                         to a topic this creates (delete the topic, or add partitions with Kafka's tools)"
                    );
                }
                if note_existing && held > 0 {
                    tracing::warn!(
                        "topic {topic} already holds {held} messages (an earlier produce or lab?): a consumer \
                         reading it from the earliest offset counts those too. Use a new --topic to count only \
                         this file"
                    );
                }
            }
            Err((t, e)) => anyhow::bail!("cannot create topic {t}: {e}"),
        }
    }
    Ok(())
}

/// How many partitions `topic` has, and how many messages they hold, as the
/// broker says.
fn partition_count(admin: &AdminClient<ClientLog>, topic: &str) -> anyhow::Result<(usize, i64)> {
    let timeout = Duration::from_secs(10);
    let metadata = admin.inner().fetch_metadata(Some(topic), timeout)?;
    let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) else { return Ok((0, 0)) };
    let mut held = 0;
    for p in t.partitions() {
        let (low, high) = admin.inner().fetch_watermarks(topic, p.id(), timeout)?;
        held += (high - low).max(0);
    }
    Ok((t.partitions().len(), held))
}

/// ISO-8601 with milliseconds, UTC.
pub fn iso_millis(ms: i64) -> String {
    let t = crate::tweet::date::CivilTime::from_epoch_millis(ms);
    format!("{}T{:02}:{:02}:{:02}.{:03}Z", t.day, t.hour, t.minute, t.second, t.milli)
}

/// The lab's message: the text, the date, and the language where there is
/// one (so that the engine on the other side applies the same rules).
fn lab_message(text: &str, date: serde_json::Value, lang: Lang) -> serde_json::Value {
    match lang {
        Lang::UND => json!({ "tweet": text, "date": date }),
        lang => json!({ "tweet": text, "date": date, "lang": lang.as_str() }),
    }
}

/// The message for one document, or None if it has no text.
pub fn message(doc: &Document, format: DateFormat) -> Option<serde_json::Value> {
    let text = text_of(doc)?;
    let lang = Lang::or_und(lang_of(doc));
    let date = match date_field(doc).and_then(|f| doc.get(f)) {
        Some(Bson::DateTime(d)) => match format {
            DateFormat::Iso => json!(iso_millis(d.timestamp_millis())),
            DateFormat::Bson => json!({ "$date": d.timestamp_millis() }),
        },
        Some(Bson::String(s)) => json!(s),
        _ => serde_json::Value::Null,
    };
    Some(lab_message(text, date, lang))
}

/// Whether `select` keeps a document (its text and language).
fn keeps(select: &Select, doc: &Document, lowered: &mut String) -> bool {
    let Some(text) = text_of(doc) else { return true };
    let tweet = Tweet { text, date: DateStatus::Missing, lang: Lang::or_und(lang_of(doc)) };
    select.keeps(&tweet, lowered)
}

pub async fn run(job: Produce) -> anyhow::Result<Summary> {
    let client = crate::connect::mongo::connect(&job.uri, Duration::from_secs(60)).await?;
    let coll = client.database(&job.db).collection::<Document>(&job.collection);
    let mut sender =
        Sender::connect(&job.brokers, &job.options, &job.topic, (job.partitions, job.note_existing)).await?;
    let mut cursor = coll.find(doc! {}).sort(doc! { "_id": 1 }).await?;
    let mut progress = Progress::new("produced");
    let start = tokio::time::Instant::now();
    let mut lowered = String::new();
    while let Some(doc) = cursor.next().await {
        let doc = doc?;
        sender.summary.read += 1;
        let Some(msg) = message(&doc, job.date_format) else {
            sender.summary.skipped_no_text += 1;
            continue;
        };
        if !keeps(&job.select, &doc, &mut lowered) {
            sender.summary.filtered += 1;
            continue;
        }
        if let Some(rate) = job.rate {
            let sent = sender.summary.read - sender.summary.skipped_no_text - sender.summary.filtered - 1;
            tokio::time::sleep_until(crate::time::after_secs(start, sent as f64 / rate)).await;
        }
        let key = doc.get_object_id("_id").map(|id| id.to_hex()).unwrap_or_default();
        sender.send(&msg.to_string(), &key).await;
        progress.update(sender.summary.read);
    }
    let mut summary = sender.finish().await;
    summary.elapsed = progress.finish();
    Ok(summary)
}

/// Live feeds to produce from (`produce --jetstream …`).
pub struct Live {
    pub feeds: Vec<crate::sources::live::Feed>,
    pub silence: Option<Duration>,
    /// Stop after this many posts (sent).
    pub limit: Option<u64>,
    /// Which posts are sent (`--track`, `--lang`).
    pub select: Select,
}

/// The posts of live feeds into a Kafka topic, as the lab's messages: until
/// `live.limit` posts or `shutdown`; a feed that cannot go on (a refused
/// token) is an error.
pub async fn run_live(
    live: Live,
    brokers: &str,
    options: &[(String, String)],
    topic: &str,
    partitions: i32,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<Summary> {
    let mut sender = Sender::connect(brokers, options, topic, (partitions, true)).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<crate::codec::Chunk>(16);
    let stop = shutdown.child_token();
    let max_line = crate::codec::DEFAULT_MAX_LINE_BYTES;
    let settings = crate::sources::live::FeedSettings { stall: live.silence };
    let source = crate::sources::live::start_all(live.feeds, settings, max_line, tx, stop.clone());
    let mut progress = Progress::new("produced");
    let (mut text, mut lowered) = (String::new(), String::new());
    'posts: while let Some(chunk) = tokio::select! {
        () = shutdown.cancelled() => None,
        c = rx.recv() => c,
    } {
        let mut lines = Vec::new();
        chunk.for_each_line(|line| {
            if let crate::codec::Line::Ok(line) = line {
                lines.push(line.to_vec());
            }
        });
        for line in lines {
            sender.summary.read += 1;
            // The source's own lines: always a text and a date in epoch ms.
            let Ok(tweet) = crate::tweet::decode(&line, crate::tweet::InputFormat::Json, &mut text) else {
                sender.summary.skipped_no_text += 1;
                continue;
            };
            if !live.select.keeps(&tweet, &mut lowered) {
                sender.summary.filtered += 1;
                continue;
            }
            let date = tweet.date.millis().map(iso_millis);
            let payload = lab_message(tweet.text, json!(date), tweet.lang).to_string();
            sender.send(&payload, "").await;
            progress.update(sender.summary.read);
            let sent = sender.summary.read - sender.summary.skipped_no_text - sender.summary.filtered;
            if live.limit.is_some_and(|l| sent >= l) {
                break 'posts;
            }
        }
    }
    stop.cancel();
    let failed = source.await?;
    let mut summary = sender.finish().await;
    failed?;
    summary.elapsed = progress.finish();
    Ok(summary)
}

/// Sends messages to a topic, keeping every delivery report: a full local
/// queue waits for deliveries; failures are counted.
struct Sender {
    producer: FutureProducer<ClientLog>,
    topic: String,
    in_flight: FuturesUnordered<rdkafka::producer::DeliveryFuture>,
    summary: Summary,
}

impl Sender {
    /// A producer for `topic` (created with `partitions` unless it exists).
    async fn connect(
        brokers: &str,
        options: &[(String, String)],
        topic: &str,
        (partitions, note_existing): (i32, bool),
    ) -> anyhow::Result<Sender> {
        ensure_topic(brokers, options, topic, partitions, note_existing).await?;
        let mut config = client_config(brokers, options);
        for (key, value) in [("message.timeout.ms", "60000"), ("linger.ms", "5"), ("compression.type", "lz4")]
        {
            set_default(&mut config, key, value);
        }
        let producer = config.create_with_context(ClientLog::default())?;
        Ok(Sender {
            producer,
            topic: topic.to_owned(),
            in_flight: FuturesUnordered::new(),
            summary: Summary::default(),
        })
    }

    async fn send(&mut self, payload: &str, key: &str) {
        loop {
            let record = FutureRecord::to(&self.topic).payload(payload).key(key);
            match self.producer.send_result(record) {
                Ok(delivery) => {
                    self.in_flight.push(delivery);
                    break;
                }
                // The local queue is full: wait for some deliveries, then retry.
                Err((_, _)) => match self.in_flight.next().await {
                    Some(r) => settled(r, &mut self.summary),
                    None => tokio::time::sleep(Duration::from_millis(10)).await,
                },
            }
        }
        while self.in_flight.len() > 50_000 {
            if let Some(r) = self.in_flight.next().await {
                settled(r, &mut self.summary);
            }
        }
    }

    /// Waits for every delivery report.
    async fn finish(mut self) -> Summary {
        while let Some(r) = self.in_flight.next().await {
            settled(r, &mut self.summary);
        }
        self.summary
    }
}

/// Counts one delivery report.
fn settled<T, E: std::fmt::Display, M, C>(result: Result<Result<T, (E, M)>, C>, summary: &mut Summary) {
    match result {
        Ok(Ok(_)) => summary.delivered += 1,
        Ok(Err((e, _))) => {
            summary.failed += 1;
            tracing::warn!("a message was not delivered: {e}");
        }
        Err(_) => summary.failed += 1,
    }
}
