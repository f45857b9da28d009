//! `tweetstream demo`: the whole socket job on the bundled fixtures, in one
//! process, with no external services: a replay server on a loopback port and
//! the engine connected to it, printing the top tags per batch and the final
//! tables.

use crate::engine::run::PrintEvery;
use crate::files::lines::{Input, Selection};
use crate::job::{self, BatchSpec, SourceConfig, StreamConfig};
use crate::replay::{self, Pace, Replay, output::Broadcaster, output::Output};
use crate::sinks::print::OutputFormat;
use bytes::Bytes;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Replay rate, tweets per second (0.001 to 1e9).
    #[arg(long, default_value_t = 1500.0, value_parser = super::values::rate)]
    pub rate: f64,

    /// Batch interval.
    #[arg(long, default_value = "500ms", value_parser = super::values::duration)]
    pub batch: Duration,

    /// Printed tables as aligned text or one JSON object per line.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    #[command(flatten)]
    pub sentiment: super::SentimentArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    super::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let inputs: Vec<Input> = crate::fixtures::default_files()
            .into_iter()
            .filter(|(name, _)| !name.ends_with(".parquet"))
            .map(|(name, data)| Input::Memory { name, data: Bytes::from(data) })
            .collect();
        // The demo ends once the engine has counted every line it replays
        // (the fixtures are small: counted first, as the replay reads them).
        let (counting, selection) = (inputs.clone(), Selection::default());
        let total = tokio::task::spawn_blocking(move || {
            let mut lines = 0u64;
            crate::files::lines::read_all(&counting, selection, |b| {
                lines += b.lines as u64;
                true
            })
            .map(|_| lines)
        })
        .await??;
        let plan = Replay { inputs, selection: Selection::default(), pace: Pace::Rate(args.rate) };
        tracing::info!(
            "demo: replaying the fixtures at {} tweets/s on {addr}; engine batches every {:?}",
            args.rate,
            args.batch
        );
        let replay = tokio::spawn(replay::run(
            plan,
            Output::Listen(Broadcaster::new(listener, replay::output::DEFAULT_STALL_TIMEOUT).lingering()),
        ));
        let config = StreamConfig {
            batch: BatchSpec::Every(args.batch),
            format: args.format,
            print_every: PrintEvery::Batch,
            stop_at_records: Some(std::sync::Arc::new(std::sync::atomic::AtomicU64::new(total))),
            workers: 2,
            sentiment: args.sentiment.model(),
            ..StreamConfig::new(SourceConfig::Live {
                sockets: vec![addr.to_string()],
                files: vec![],
                feeds: vec![],
                silence: None,
            })
        };
        let ended = job::run(config, crate::shutdown::on_signal()).await;
        replay.abort();
        ended.map(drop)
    })
}
