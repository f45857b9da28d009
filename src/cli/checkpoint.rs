//! `tweetstream checkpoint PATH`: what a `--checkpoint` file holds, as one
//! JSON object, read without taking the file (an engine may be running on
//! it) and with every check a restore makes.

use crate::engine::tables::format_millis;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The checkpoint file.
    pub path: PathBuf,

    /// Tags to list, the most counted first (0: all).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let found = crate::state::inspect(&args.path)?;
    let saved = &found.saved;
    let model = found.identity.iter().find(|(f, _)| f == "--sentiment").map(|(_, v)| v.as_str());
    let model = match model {
        Some("textblob") => crate::sentiment::Model::TextBlob,
        _ => crate::sentiment::Model::Vader,
    };
    let take = if args.top == 0 { usize::MAX } else { args.top };
    let out = json!({
        "path": args.path.display().to_string(),
        "configuration": found.identity.iter().map(|(f, v)| json!([f, v])).collect::<Vec<_>>(),
        "batches_saved": saved.seq,
        "tags": saved.totals.tags.len(),
        "top_tags": saved.totals.tags.ranked().iter().take(take).map(|r| json!([&*r.tag, r.count])).collect::<Vec<_>>(),
        "sentiment_by_day": saved.totals.days.iter().map(|(d, s)| {
            json!([d.to_string(), s.score_sum(model), s.count])
        }).collect::<Vec<_>>(),
        "batches": saved.batches.iter().map(|b| json!([format_millis(b.batch_time), b.records])).collect::<Vec<_>>(),
        "window_panes": saved.panes.len(),
        "offsets": found.offsets.iter().map(|(t, p, n)| json!({"topic": t, "partition": p, "next": n})).collect::<Vec<_>>(),
        "bytes": found.bytes,
        "base_bytes": found.base_bytes,
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{out}")?;
    Ok(())
}
