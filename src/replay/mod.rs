//! Replay: tweets from files to newline-delimited JSON on stdout or on a TCP
//! port, as fast as possible or at a steady rate, once or in a loop. The input
//! side runs on a blocking thread; pacing and output on tokio.

pub mod input;
pub mod output;

use bytes::Bytes;
use input::{Batch, Selection, Source};
use output::Output;
use std::io;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What to replay and how fast.
#[derive(Clone, Debug)]
pub struct Plan {
    pub sources: Vec<Source>,
    pub selection: Selection,
    /// Tweets per second, evenly spaced; `None` is as fast as the output takes them.
    pub rate: Option<f64>,
}

/// Runs a replay to `output`; returns the number of tweets sent.
pub async fn run(plan: Plan, mut output: Output) -> anyhow::Result<u64> {
    let (tx, mut rx) = mpsc::channel::<Batch>(8);
    let (sources, selection) = (plan.sources.clone(), plan.selection);
    let reader = tokio::task::spawn_blocking(move || {
        input::read_all(&sources, selection, |b| tx.blocking_send(b).is_ok())
    });
    let started = Instant::now();
    let mut sent = 0u64;
    let mut written = Ok(());
    while let Some(batch) = rx.recv().await {
        let result = match plan.rate {
            None => output.write(batch.data).await.map(|()| batch.lines as u64),
            Some(rate) => write_paced(&mut output, &batch.data, rate, started, sent).await,
        };
        match result {
            Ok(n) => sent += n,
            Err(e) => {
                written = Err(e);
                break;
            }
        }
    }
    drop(rx); // a reader still going stops at its next send
    let stats = reader.await??;
    written?;
    output.finish().await?;
    let secs = started.elapsed().as_secs_f64();
    let bad = if stats.skipped_bad > 0 {
        format!(", {} unreadable rows skipped", stats.skipped_bad)
    } else {
        String::new()
    };
    tracing::info!("replayed {sent} tweets in {secs:.2} s ({:.0}/s){bad}", sent as f64 / secs.max(1e-9));
    Ok(sent)
}

/// Writes the lines of `data`, line `k` of the replay (counting from its start)
/// no earlier than `started + k / rate`: evenly spaced, not in bursts.
async fn write_paced(
    output: &mut Output,
    data: &Bytes,
    rate: f64,
    started: Instant,
    before: u64,
) -> io::Result<u64> {
    let (mut n, mut pending_from, mut pos) = (0u64, 0usize, 0usize);
    for end in memchr::memchr_iter(b'\n', data) {
        let due = started + Duration::from_secs_f64((before + n) as f64 / rate);
        if due > Instant::now() + Duration::from_millis(1) {
            if pending_from < pos {
                output.write(data.slice(pending_from..pos)).await?;
                output.flush().await?;
                pending_from = pos;
            }
            tokio::time::sleep_until(due).await;
        }
        pos = end + 1;
        n += 1;
    }
    if pending_from < pos {
        output.write(data.slice(pending_from..pos)).await?;
        output.flush().await?;
    }
    Ok(n)
}
