//! `tweetstream load`: a tweets data set into MongoDB (the lab's first step).

use crate::lab::load::{self, Load};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  tweetstream load fixtures/tweets.parquet --db lab4 --collection tweets --mode overwrite"
)]
pub struct Args {
    /// The data set: Parquet (.parquet), CSV or TSV with a header (.csv, .tsv;
    /// `,`, `;` or tab), JSON Lines or a JSON array (.jsonl, .json; Twitter API
    /// v1.1 or v2), gzipped or not (.gz). Text column Tweet/tweet/text, date
    /// column Date/date/created_at.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub dates: super::dates::DateArgs,

    #[command(flatten)]
    pub mongo: super::MongoArgs,

    /// `overwrite` drops the collection first; `append` adds to it.
    #[arg(long, value_enum, default_value_t = Mode::Overwrite)]
    pub mode: Mode,

    /// Documents per insert.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = super::values::count_in(super::values::BATCH_SIZES, "--batch-size"))]
    pub batch_size: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Overwrite,
    Append,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    args.dates.install()?;
    super::readable_input(&args.file)?;
    crate::files::rows::check(&args.file)?;
    let job = Load {
        file: args.file.clone(),
        uri: args.mongo.uri,
        db: args.mongo.db.clone(),
        collection: args.mongo.collection.clone(),
        overwrite: args.mode == Mode::Overwrite,
        batch_size: args.batch_size,
    };
    let summary = super::runtime()?.block_on(load::run(job))?;
    let skipped: u64 = summary.skipped.values().sum();
    crate::logging::sayln!(
        "loaded {}: {} rows read, {} inserted into {}.{}, {} skipped in {:.2} s",
        args.file.display(),
        summary.read,
        summary.inserted,
        args.mongo.db,
        args.mongo.collection,
        skipped,
        summary.elapsed.as_secs_f64()
    );
    for (skip, n) in &summary.skipped {
        crate::logging::sayln!("  skipped {n}: {}", skip.reason());
    }
    Ok(())
}
