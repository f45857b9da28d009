//! `tweetstream lab`: the whole Kafka/MongoDB notebook in one command: load the
//! data set into MongoDB, produce it to Kafka in the background, consume it in
//! micro-batches printing the global per-day table after each batch, and stop
//! when everything produced has been counted (or run on).

use super::stream::{self, BatchSpec, Extras};
use crate::engine::run::PrintEvery;
use crate::lab::load::{self, Load};
use crate::lab::produce::{self, DateFormat, Produce};
use crate::sinks::print::OutputFormat;
use crate::sources::kafka::{self, StartFrom};
use crate::transforms::hashtags::HashtagMode;
use crate::tweet::InputFormat;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example (with scripts/services.sh up):\n  tweetstream lab fixtures/tweets.parquet --batch 2s"
)]
pub struct Args {
    /// The data set: Parquet, CSV or JSON Lines.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub mongo: super::MongoArgs,

    /// Kafka bootstrap servers.
    #[arg(long, default_value = "127.0.0.1:9092", env = "KAFKA_BROKERS")]
    pub brokers: String,

    #[arg(long, default_value = "tweets")]
    pub topic: String,

    /// Partitions, if the topic has to be created.
    #[arg(long, default_value_t = 1)]
    pub partitions: i32,

    /// Batch interval.
    #[arg(long, default_value = "5s", value_parser = super::parse_duration)]
    pub batch: Duration,

    /// Keep consuming after everything produced has been counted.
    #[arg(long)]
    pub run_on: bool,

    /// Printed tables as aligned text or one JSON object per line.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.file.is_file(), "{}: no such file", args.file.display());
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
        eprintln!("lab: loaded {} documents into {}.{}", loaded.inserted, mongo.db, mongo.collection);

        // Consume only what this run produces: from the topic's current end.
        produce::ensure_topic(&args.brokers, &args.topic, args.partitions).await?;
        let (brokers, topic) = (args.brokers.clone(), args.topic.clone());
        let start_at = tokio::task::spawn_blocking(move || kafka::end_offsets(&brokers, &topic)).await??;

        let target = Arc::new(AtomicU64::new(u64::MAX));
        let job = Produce {
            uri: mongo.uri,
            db: mongo.db,
            collection: mongo.collection,
            brokers: args.brokers.clone(),
            topic: args.topic.clone(),
            partitions: args.partitions,
            date_format: DateFormat::Bson,
            rate: None,
        };
        let (producer_target, producer_stop) = (target.clone(), shutdown.clone());
        let run_on = args.run_on;
        let producer = tokio::spawn(async move {
            match produce::run(job).await {
                Ok(s) => {
                    eprintln!("lab: produced {} messages ({} failed)", s.delivered, s.failed);
                    if !run_on {
                        producer_target.store(s.delivered, Ordering::Release);
                    }
                    if s.failed > 0 {
                        tracing::error!("{} messages were not delivered", s.failed);
                    }
                }
                Err(e) => {
                    tracing::error!("lab: produce failed: {e:#}");
                    producer_stop.cancel();
                }
            }
        });

        let stream_args = stream::Args {
            connect: None,
            kafka: Some(args.brokers.clone()),
            topic: args.topic.clone(),
            group: "tweetstream-lab".into(),
            from: StartFrom::Earliest,
            input: InputFormat::Json,
            batch: BatchSpec::Every(args.batch),
            hashtags: HashtagMode::Twitter,
            no_sentiment: false,
            print_every: PrintEvery::Batch,
            top: 10,
            format: args.format,
            batches: None,
            stop_when_idle: None,
            max_line_bytes: crate::codec::DEFAULT_MAX_LINE_BYTES,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            window: None,
            slide: None,
            http: None,
        };
        let extras = Extras {
            stop_at_records: Some(target),
            timer_table: Some("sentiment_by_day"),
            kafka_start_at: Some(start_at),
        };
        let ended = stream::stream_with(stream_args, shutdown, extras).await;
        producer.abort();
        ended.map(drop)
    })
}
