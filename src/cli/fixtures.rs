//! `tweetstream fixtures`: writes the project's deterministic test data.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory to write into.
    #[arg(long, default_value = "fixtures")]
    pub out: PathBuf,

    /// Write one file of this many rows (for benchmarks) instead of the standard
    /// fixture set; `--kind` says which.
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,

    /// With --count: `twitter` (tweets.jsonl, Twitter API objects), `lab`
    /// (lab.jsonl, {"tweet","date"}), `csv` (tweets.csv) or `parquet` (tweets.parquet).
    #[arg(long, value_enum, default_value_t = Kind::Twitter, requires = "count")]
    pub kind: Kind,

    /// Seed for `--count`.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Twitter,
    Lab,
    Csv,
    Parquet,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    use crate::fixtures as f;
    std::fs::create_dir_all(&args.out)?;
    let files = match (args.count, args.kind) {
        (Some(n), Kind::Twitter) => vec![("tweets.jsonl", f::twitter_jsonl(n, args.seed))],
        (Some(n), Kind::Lab) => vec![("lab.jsonl", f::lab_jsonl(n, args.seed))],
        (Some(n), Kind::Csv) => vec![("tweets.csv", f::csv(n, args.seed))],
        (Some(n), Kind::Parquet) => vec![("tweets.parquet", f::parquet(n, args.seed))],
        (None, _) => f::default_files(),
    };
    for (name, data) in files {
        let path = args.out.join(name);
        std::fs::write(&path, &data).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        crate::logging::sayln!("wrote {} ({} bytes)", path.display(), data.len());
    }
    Ok(())
}
