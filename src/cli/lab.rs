//! `tweetstream lab`: the whole Kafka/MongoDB notebook in one command: load the
//! data set into MongoDB, produce it to Kafka in the background, consume it in
//! micro-batches printing the global per-day table after each batch, and stop
//! when everything produced has been counted (or run on).

use crate::codec::PartitionId;
use crate::engine::run::PrintEvery;
use crate::job::{self, BatchSpec, KafkaConfig, SourceConfig, StreamConfig};
use crate::lab::load::{self, Load};
use crate::lab::produce::{self, DateFormat, Produce};
use crate::sinks::print::OutputFormat;
use crate::sources::kafka;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example (with scripts/services.sh up):\n  tweetstream lab fixtures/tweets.parquet --batch 2s"
)]
pub struct Args {
    /// The data set: Parquet, CSV or JSON Lines.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub dates: super::dates::DateArgs,

    #[command(flatten)]
    pub mongo: super::MongoArgs,

    #[command(flatten)]
    pub kafka: super::KafkaArgs,

    /// Batch interval.
    #[arg(long, default_value = "5s", value_parser = super::values::duration)]
    pub batch: Duration,

    /// Keep consuming after everything produced has been counted.
    #[arg(long)]
    pub run_on: bool,

    #[command(flatten)]
    pub sentiment: super::SentimentArgs,

    /// Printed tables as aligned text or one JSON object per line.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Serve the live dashboard on this address (e.g. 127.0.0.1:8081); the job
    /// then keeps running, as with --run-on, until Ctrl-C.
    #[arg(long, value_name = "ADDR")]
    pub dashboard: Option<String>,
}

/// Produces the lab's messages; then the engine stops once it has counted
/// as many (`target`, unless it runs on). A failure stops the lab.
async fn produce_then_say(job: Produce, target: Option<Arc<AtomicU64>>, stop: CancellationToken) {
    match produce::run(job).await {
        Ok(s) => {
            crate::logging::sayln!("lab: produced {} messages ({} failed)", s.delivered, s.failed);
            if let Some(target) = target {
                target.store(s.delivered, Ordering::Release);
            }
            if s.failed > 0 {
                tracing::error!("{} messages were not delivered", s.failed);
            }
        }
        Err(e) => {
            tracing::error!("lab: produce failed: {e:#}");
            stop.cancel();
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    args.dates.install()?;
    super::readable_input(&args.file)?;
    super::runtime()?.block_on(async move {
        let shutdown = crate::shutdown::on_signal();
        let mongo = args.mongo.clone();
        let loaded = load::run(Load {
            file: args.file.clone(),
            uri: mongo.uri.clone(),
            db: mongo.db.clone(),
            collection: mongo.collection.clone(),
            overwrite: true,
            batch_size: 1000,
        })
        .await?;
        crate::logging::sayln!(
            "lab: loaded {} documents into {}.{}",
            loaded.inserted,
            mongo.db,
            mongo.collection
        );

        // Consume only what this run produces: from the topic's current end.
        let options = args.kafka.settings();
        produce::ensure_topic(&args.kafka.brokers, &options, &args.kafka.topic, args.kafka.partitions, false)
            .await?;
        let (brokers, topic) = (args.kafka.brokers.clone(), args.kafka.topic.clone());
        let start_at =
            tokio::task::spawn_blocking(move || kafka::end_offsets(&brokers, &options, &topic)).await??;

        let target = Arc::new(AtomicU64::new(u64::MAX));
        let job = Produce {
            uri: mongo.uri,
            db: mongo.db,
            collection: mongo.collection,
            brokers: args.kafka.brokers.clone(),
            topic: args.kafka.topic.clone(),
            partitions: args.kafka.partitions,
            date_format: DateFormat::Bson,
            rate: None,
            options: args.kafka.settings(),
            note_existing: false,
            select: Default::default(),
        };
        let run_on = args.run_on || args.dashboard.is_some();
        let producer =
            tokio::spawn(produce_then_say(job, (!run_on).then(|| target.clone()), shutdown.clone()));

        // The lab reads its one topic: the first of the source's topics.
        let start_at = start_at.into_iter().map(|(partition, at)| (PartitionId { topic: 0, partition }, at));
        let source = KafkaConfig {
            topics: vec![args.kafka.topic.clone()],
            group: "tweetstream-lab".into(),
            options: args.kafka.settings(),
            start_at: Some(start_at.collect()),
            ..KafkaConfig::new(&args.kafka.brokers)
        };
        let config = StreamConfig {
            batch: BatchSpec::Every(args.batch),
            format: args.format,
            dashboard: args.dashboard.clone(),
            print_every: PrintEvery::Batch,
            print_sql: Some("select * from sentiment_by_day".into()),
            stop_at_records: Some(target),
            sentiment: args.sentiment.model(),
            ..StreamConfig::new(SourceConfig::Kafka(source))
        };
        let ended = job::run(config, shutdown).await;
        producer.abort();
        ended.map(drop)
    })
}
