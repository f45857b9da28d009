//! `tweetstream fixtures`: writes the project's deterministic test data.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory to write into.
    #[arg(long, default_value = "fixtures")]
    pub out: PathBuf,

    /// Write only a `tweets.jsonl` of this many lines (for benchmarks) instead of
    /// the standard fixture set.
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,

    /// Seed for `--count`.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)?;
    let files = match args.count {
        Some(n) => vec![("tweets.jsonl", crate::fixtures::twitter_jsonl(n, args.seed))],
        None => crate::fixtures::default_files(),
    };
    for (name, data) in files {
        let path = args.out.join(name);
        std::fs::write(&path, &data).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        eprintln!("wrote {} ({} bytes)", path.display(), data.len());
    }
    Ok(())
}
