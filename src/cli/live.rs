//! `tweetstream live`: posts from live feeds as tweet JSON lines, on stdout
//! or served to TCP clients with `--listen` — the DStream tutorial's first
//! process (tweepy on the streaming API, forwarding over a socket), today:
//! `tweetstream live --jetstream --track 'u.s.' | nc -lk 9999`.

use crate::codec::Chunk;
use crate::replay::output::{Broadcaster, Output};
use crate::sources::live;
use crate::transforms::select::Select;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples (the DStream tutorial's first process, live):\n  \
tweetstream live --jetstream --track 'u.s.' | nc -lk 9999\n  \
tweetstream live --jetstream --listen 127.0.0.1:9999\n  \
tweetstream live --jetstream --limit 1000 > posts.jsonl\n  \
X_BEARER_TOKEN=… tweetstream live --x-stream --listen 127.0.0.1:9999\n  \
tweetstream live --mastodon https://mastodon.social --mastodon-stream hashtag:spark")]
#[command(group(clap::ArgGroup::new("source").required(true).multiple(true).args(["jetstream", "x_stream", "mastodon"])))]
pub struct Args {
    /// The feeds to read (several are written as one stream).
    #[command(flatten)]
    pub feeds: super::feeds::FeedArgs,

    #[command(flatten)]
    pub select: super::select::SelectArgs,

    /// Stop after this many posts (default: run until Ctrl-C).
    #[arg(long, value_name = "N", value_parser = super::values::number_in(super::values::BATCH_COUNTS, "--limit"))]
    pub limit: Option<u64>,

    /// Serve the posts to TCP clients on this address (like `nc -lk`) instead
    /// of writing to stdout. Waits for a client before connecting to the
    /// source. Port 0 picks a free port; the address is logged as
    /// "listening on ADDR".
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// With --listen: a client that takes no data for this long is dropped.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = super::values::duration, requires = "listen")]
    pub stall_timeout: Duration,

    /// Lines longer than this are skipped (a post is a few hundred bytes).
    #[arg(long, default_value_t = crate::codec::DEFAULT_MAX_LINE_BYTES, value_name = "BYTES", value_parser = super::values::byte_limit)]
    pub max_line_bytes: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let feeds = args.feeds.feeds()?;
    super::runtime()?.block_on(async move {
        let mut output = match &args.listen {
            None => Output::stdout(),
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
                tracing::info!("listening on {}", listener.local_addr()?);
                Output::Listen(Broadcaster::new(listener, args.stall_timeout))
            }
        };
        let shutdown = crate::shutdown::on_signal();
        // Nothing is read from the source before someone receives it.
        tokio::select! {
            () = shutdown.cancelled() => return output.finish().await.map_err(Into::into),
            () = output.ready() => {}
        }
        let (tx, mut rx) = mpsc::channel::<Chunk>(16);
        let stop = shutdown.child_token();
        let settings = live::FeedSettings { stall: args.feeds.silence_timeout };
        let source = live::start_all(feeds, settings, args.max_line_bytes, tx, stop.clone());
        let mut posts = Posts {
            select: args.select.select(),
            limit: args.limit,
            written: 0,
            left_out: 0,
            scratch: Default::default(),
        };
        let mut written = Ok(());
        while let Some(chunk) = tokio::select! {
            () = shutdown.cancelled() => None,
            c = rx.recv() => c,
        } {
            let (data, done) = posts.select(&chunk);
            if !data.is_empty()
                && let Err(e) = output.write(data.into()).await
            {
                written = Err(e);
                break;
            }
            if done {
                break;
            }
            if rx.is_empty() {
                output.flush().await?;
            }
        }
        stop.cancel();
        let failed = source.await?;
        let finished = output.finish().await;
        let track = match posts.select.flags() {
            Some(flags) => format!(", {} left out by {flags}", posts.left_out),
            None => String::new(),
        };
        tracing::info!("wrote {} posts{track}", posts.written);
        failed?;
        match written {
            // A reader that went away (`| head`) ends the command quietly.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.and(finished).map_err(Into::into),
        }
    })
}

/// Which posts are written: `--track` and `--lang`, then `--limit`.
struct Posts {
    select: Select,
    limit: Option<u64>,
    written: u64,
    left_out: u64,
    scratch: (String, String),
}

impl Posts {
    /// The chunk's lines to write, and whether the limit is reached.
    fn select(&mut self, chunk: &Chunk) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let mut done = false;
        chunk.for_each_line(|line| {
            let crate::codec::Line::Ok(line) = line else { return };
            if done {
                return;
            }
            let (text, lowered) = &mut self.scratch;
            if !self.select.keeps_line(line, text, lowered) {
                self.left_out += 1;
                return;
            }
            out.extend_from_slice(line);
            out.push(b'\n');
            self.written += 1;
            done = self.limit.is_some_and(|l| self.written >= l);
        });
        (out, done)
    }
}
