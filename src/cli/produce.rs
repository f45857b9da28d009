//! `tweetstream produce`: MongoDB documents into a Kafka topic (the lab's producer).

use crate::lab::produce::{self, DateFormat, Produce};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  tweetstream produce --db lab4 --collection tweets --brokers 127.0.0.1:9092 --topic tweets"
)]
pub struct Args {
    #[command(flatten)]
    pub mongo: super::MongoArgs,

    #[command(flatten)]
    pub kafka: super::KafkaArgs,

    /// Dates as ISO-8601 strings, or as {"$date": millis} like json_util.dumps.
    #[arg(long, value_enum, default_value_t = DateFormat::Iso)]
    pub date_format: DateFormat,

    /// Messages per second (default: as fast as possible).
    #[arg(long, value_name = "N", value_parser = super::values::rate, conflicts_with = "jetstream")]
    pub rate: Option<f64>,

    /// Produce the posts of Bluesky's Jetstream instead of MongoDB documents,
    /// live, until Ctrl-C (or --limit). Without a value: the public instance.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = crate::sources::jetstream::PUBLIC, value_parser = super::values::websocket_url)]
    pub jetstream: Option<String>,

    /// With --jetstream: stop after this many posts.
    #[arg(long, value_name = "N", requires = "jetstream", value_parser = super::values::number_in(super::values::BATCH_COUNTS, "--limit"))]
    pub limit: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let options = args.kafka.settings();
    if let Some(url) = args.jetstream {
        let k = &args.kafka;
        let s = super::runtime()?.block_on(async {
            let shutdown = crate::shutdown::on_signal();
            produce::run_live(url.clone(), args.limit, &k.brokers, &options, &k.topic, k.partitions, shutdown)
                .await
        })?;
        crate::logging::sayln!(
            "produced jetstream {url} to topic {}: {} posts, {} delivered, {} failed in {:.2} s",
            k.topic,
            s.read,
            s.delivered,
            s.failed,
            s.elapsed.as_secs_f64()
        );
        anyhow::ensure!(s.failed == 0, "{} messages were not delivered", s.failed);
        return Ok(());
    }
    let job = Produce {
        uri: args.mongo.uri,
        db: args.mongo.db.clone(),
        collection: args.mongo.collection.clone(),
        brokers: args.kafka.brokers,
        topic: args.kafka.topic.clone(),
        partitions: args.kafka.partitions,
        date_format: args.date_format,
        rate: args.rate,
        options,
    };
    let s = super::runtime()?.block_on(produce::run(job))?;
    crate::logging::sayln!(
        "produced {}.{} to topic {}: {} documents read, {} delivered, {} failed, {} skipped (no text) in {:.2} s",
        args.mongo.db,
        args.mongo.collection,
        args.kafka.topic,
        s.read,
        s.delivered,
        s.failed,
        s.skipped_no_text,
        s.elapsed.as_secs_f64()
    );
    anyhow::ensure!(s.failed == 0, "{} messages were not delivered", s.failed);
    Ok(())
}
