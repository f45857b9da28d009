//! `tweetstream produce`: MongoDB documents into a Kafka topic (the lab's
//! producer), or the posts of live feeds (`--jetstream`, `--x-stream`,
//! `--mastodon`).

use crate::lab::produce::{self, DateFormat, Produce};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  tweetstream produce --db lab4 --collection tweets --brokers 127.0.0.1:9092 --topic tweets\n  \
tweetstream produce --jetstream --limit 10000 --topic tweets"
)]
#[command(group(clap::ArgGroup::new("live").multiple(true).args(["jetstream", "x_stream", "mastodon"])))]
pub struct Args {
    #[command(flatten)]
    pub mongo: super::MongoArgs,

    #[command(flatten)]
    pub kafka: super::KafkaArgs,

    /// Dates as ISO-8601 strings, or as {"$date": millis} like json_util.dumps.
    #[arg(long, value_enum, default_value_t = DateFormat::Iso)]
    pub date_format: DateFormat,

    /// Messages per second (default: as fast as possible).
    #[arg(long, value_name = "N", value_parser = super::values::rate, conflicts_with = "live")]
    pub rate: Option<f64>,

    /// Produce the posts of live feeds instead of MongoDB documents, until
    /// Ctrl-C (or --limit).
    #[command(flatten)]
    pub feeds: super::feeds::FeedArgs,

    #[command(flatten)]
    pub select: super::select::SelectArgs,

    /// With a live feed: stop after this many posts (sent).
    #[arg(long, value_name = "N", requires = "live", value_parser = super::values::number_in(super::values::BATCH_COUNTS, "--limit"))]
    pub limit: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let options = args.kafka.settings();
    let feeds = args.feeds.feeds()?;
    if !feeds.is_empty() {
        let k = &args.kafka;
        let names: Vec<String> = feeds.iter().map(|f| f.name()).collect();
        let s = super::runtime()?.block_on(async {
            let shutdown = crate::shutdown::on_signal();
            let live = produce::Live {
                feeds,
                silence: args.feeds.silence_timeout,
                limit: args.limit,
                select: args.select.select(),
            };
            produce::run_live(live, &k.brokers, &options, &k.topic, k.partitions, shutdown).await
        })?;
        crate::logging::sayln!(
            "produced {} to topic {}: {} posts, {} delivered, {} failed{} in {:.2} s",
            names.join(" + "),
            k.topic,
            s.read,
            s.delivered,
            s.failed,
            left_out(&args.select, s.filtered),
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
        note_existing: true,
        select: args.select.select(),
    };
    let s = super::runtime()?.block_on(produce::run(job))?;
    crate::logging::sayln!(
        "produced {}.{} to topic {}: {} documents read, {} delivered, {} failed, {} skipped (no text){} in {:.2} s",
        args.mongo.db,
        args.mongo.collection,
        args.kafka.topic,
        s.read,
        s.delivered,
        s.failed,
        s.skipped_no_text,
        left_out(&args.select, s.filtered),
        s.elapsed.as_secs_f64()
    );
    anyhow::ensure!(s.failed == 0, "{} messages were not delivered", s.failed);
    Ok(())
}

/// ", N left out by --lang" when a filter was given.
fn left_out(select: &super::select::SelectArgs, filtered: u64) -> String {
    select.select().flags().map(|flags| format!(", {filtered} left out by {flags}")).unwrap_or_default()
}
