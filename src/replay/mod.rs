//! Replay: tweets from files to newline-delimited JSON on stdout or on a TCP
//! port, as fast as possible or at a steady rate, once or in a loop. The input
//! side runs on a blocking thread; pacing and output on tokio.

pub mod output;

use crate::files::lines::{self as input, Input, Lines, Selection};
use bytes::Bytes;
use output::Output;
use std::io;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What to replay and how fast.
#[derive(Clone, Debug)]
pub struct Replay {
    pub inputs: Vec<Input>,
    pub selection: Selection,
    pub pace: Pace,
}

/// How fast tweets are sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// As fast as the output takes them.
    Fast,
    /// This many tweets per second, evenly spaced.
    Rate(f64),
    /// At the pace of the tweets' own timestamps, `speedup` times faster. Tweets
    /// without a readable date, or dated before the previous one, go out at once.
    Realtime { speedup: f64 },
}

/// How late a line may go out before the schedule moves instead.
const PACE_SLACK: Duration = Duration::from_millis(50);

/// When each line is due.
struct Pacer {
    pace: Pace,
    started: Instant,
    sent: u64,
    first_stamp: Option<i64>,
    last_due: Instant,
    /// Decoded text of the current line, reused so pacing costs no allocation.
    text: String,
}

impl Pacer {
    fn new(pace: Pace) -> Self {
        let now = Instant::now();
        Pacer { pace, started: now, sent: 0, first_stamp: None, last_due: now, text: String::new() }
    }

    fn due(&mut self, line: &[u8]) -> Instant {
        let due = self.planned(line);
        // Time spent waiting for a client, or for a slow one, is not credit:
        // a line overdue by more than the slack moves the whole schedule
        // later, so what follows keeps the pace instead of catching up in a
        // burst (after 8 minutes without a client, 48,000 lines at once at
        // --rate 100).
        let now = Instant::now();
        if due + PACE_SLACK < now {
            self.started += now - due;
            self.last_due = now;
            return now;
        }
        due
    }

    /// When the schedule wants the line.
    fn planned(&mut self, line: &[u8]) -> Instant {
        let due = match self.pace {
            Pace::Fast => self.started,
            // Line k of the replay is due at started + k / rate.
            Pace::Rate(rate) => crate::time::after_secs(self.started, self.sent as f64 / rate),
            Pace::Realtime { speedup } => {
                match crate::tweet::decode(line, crate::tweet::InputFormat::Json, &mut self.text)
                    .ok()
                    .and_then(|t| t.date.millis())
                {
                    Some(stamp) => {
                        let first = *self.first_stamp.get_or_insert(stamp);
                        let offset = (stamp - first).max(0) as f64 / 1000.0 / speedup;
                        crate::time::after_secs(self.started, offset).max(self.last_due)
                    }
                    None => self.last_due,
                }
            }
        };
        self.sent += 1;
        self.last_due = due;
        due
    }
}

/// Runs a replay to `output`; returns the number of tweets sent.
pub async fn run(plan: Replay, mut output: Output) -> anyhow::Result<u64> {
    // Before any client is waited for: a binary file is refused at once.
    let inputs = plan.inputs.clone();
    tokio::task::spawn_blocking(move || input::check_text(&inputs, false)).await??;
    let (tx, mut rx) = mpsc::channel::<Lines>(8);
    let (inputs, selection) = (plan.inputs.clone(), plan.selection.clone());
    let reader = tokio::task::spawn_blocking(move || {
        input::read_all(&inputs, selection, |b| tx.blocking_send(b).is_ok())
    });
    // The clock (and the pacing) starts when someone receives: a client that
    // connects late gets the first tweets at the planned rate, not in a burst.
    output.ready().await;
    let started = Instant::now();
    let mut pacer = Pacer::new(plan.pace);
    let mut sent = 0u64;
    let mut written = Ok(());
    while let Some(batch) = rx.recv().await {
        let result = match plan.pace {
            Pace::Fast => output.write(batch.data).await.map(|()| batch.lines as u64),
            _ => write_paced(&mut output, &batch.data, &mut pacer).await,
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
    let mut bad = String::new();
    if stats.skipped_bad > 0 {
        bad += &format!(", {} unreadable rows skipped", stats.skipped_bad);
    }
    if let Some(flags) = plan.selection.select.flags() {
        bad += &format!(", {} left out by {flags}", stats.filtered);
    }
    tracing::info!("replayed {sent} tweets in {secs:.2} s ({:.0}/s){bad}", sent as f64 / secs.max(1e-9));
    Ok(sent)
}

/// Writes each line of `data` no earlier than the pacer says: evenly spaced (or
/// spaced as the tweets were), not in bursts.
async fn write_paced(output: &mut Output, data: &Bytes, pacer: &mut Pacer) -> io::Result<u64> {
    let (mut n, mut pending_from, mut pos) = (0u64, 0usize, 0usize);
    for end in memchr::memchr_iter(b'\n', data) {
        let due = pacer.due(&data[pos..end]);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A pause (no client, a slow one) moves the schedule: the lines after
    /// it keep the rate instead of going out at once.
    #[tokio::test(start_paused = true)]
    async fn waiting_is_not_credit() {
        let mut pacer = Pacer::new(Pace::Rate(100.0));
        let t0 = Instant::now();
        for k in 0..10u64 {
            assert_eq!(pacer.due(b"{}"), t0 + Duration::from_millis(10 * k));
        }
        tokio::time::advance(Duration::from_secs(480)).await;
        let now = Instant::now();
        assert_eq!(pacer.due(b"{}"), now, "overdue: sent now");
        for k in 1..5u64 {
            assert_eq!(pacer.due(b"{}"), now + Duration::from_millis(10 * k), "then at the rate again");
        }
        // Within the slack, nothing moves.
        tokio::time::advance(Duration::from_millis(30) + Duration::from_millis(40)).await;
        assert_eq!(pacer.due(b"{}"), now + Duration::from_millis(50));
    }
}
