//! `tweetstream replay`: tweets from files to newline-delimited JSON, on stdout
//! (`| nc -lk 9999`) or served to TCP clients with `--listen`.

use crate::files::lines::{Input, Selection};
use crate::replay::{self, Pace, Replay, output::Output};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
tweetstream replay fixtures/tweets.jsonl --rate 1000 --loop | nc -lk 9999\n  \
tweetstream replay fixtures/tweets.csv --listen 127.0.0.1:9999\n  \
tweetstream replay fixtures/tweets.jsonl --realtime --speedup 3600")]
pub struct Args {
    /// Input files: JSON Lines (Twitter API v1.1 or v2 objects, or
    /// {"tweet","date"}) or a JSON array of them, CSV/TSV with a header (`.csv`,
    /// `.tsv`; `,`, `;` or tab; text column text/Tweet, date column
    /// created_at/Date), or Parquet; gzipped or not.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub dates: super::dates::DateArgs,

    /// Tweets per second, evenly spaced (default: as fast as the output takes them).
    #[arg(long, value_name = "N", value_parser = super::values::rate, conflicts_with = "realtime")]
    pub rate: Option<f64>,

    /// Pace by the tweets' own timestamps (the gaps between them, not wall time).
    #[arg(long)]
    pub realtime: bool,

    /// With --realtime: play this many times faster (e.g. 60: an hour per minute).
    #[arg(long, value_name = "X", value_parser = super::values::speedup, default_value_t = 1.0, requires = "realtime")]
    pub speedup: f64,

    /// Start again from the first file after the last one, forever.
    #[arg(long = "loop")]
    pub looping: bool,

    /// Stop after this many tweets.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Skip this many tweets first (to resume a replay).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub skip: u64,

    #[command(flatten)]
    pub select: super::select::SelectArgs,

    /// Serve the stream to TCP clients on this address (like `nc -lk`) instead of
    /// writing to stdout. Waits for a client before sending. Port 0 picks a free
    /// port; the address is logged as "listening on ADDR".
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// With --listen: a client that takes no data for this long is dropped, so
    /// that it does not hold the other clients back.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = super::values::duration, requires = "listen")]
    pub stall_timeout: Duration,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    args.dates.install()?;
    for f in &args.files {
        super::readable_input(f)?;
    }
    let plan = Replay {
        inputs: args.files.into_iter().map(Input::File).collect(),
        selection: Selection {
            skip: args.skip,
            limit: args.limit,
            looping: args.looping,
            select: args.select.select(),
        },
        pace: match (args.rate, args.realtime) {
            (Some(rate), _) => Pace::Rate(rate),
            (None, true) => Pace::Realtime { speedup: args.speedup },
            (None, false) => Pace::Fast,
        },
    };
    super::runtime()?.block_on(async move {
        let output = match &args.listen {
            None => Output::stdout(),
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
                tracing::info!("listening on {}", listener.local_addr()?);
                Output::Listen(replay::output::Broadcaster::new(listener, args.stall_timeout))
            }
        };
        replay::run(plan, output).await.map(drop)
    })
}
