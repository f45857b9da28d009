//! The batch clock: when to close a micro-batch, and the batch's time.
//!
//! [`BatchClock::interval`] ticks at multiples of the batch interval since the
//! epoch, like Spark's batch times, on tokio's clock (so tests can pause and
//! advance it). [`BatchClock::manual`] ticks when told to, for scripts and tests
//! that must decide exactly which records fall into which batch.

use crate::time::now_millis;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What the clock says next.
#[derive(Debug, PartialEq)]
pub enum Tick {
    /// Close a batch with this time (ms since the epoch), `delay` late.
    Batch { batch_time: i64, delay: Duration },
    /// No more batches (manual ticks ended).
    End,
}

pub enum BatchClock {
    Interval { period: Duration, next: Instant, next_time_ms: i64 },
    Manual { ticks: mpsc::Receiver<()> },
}

impl BatchClock {
    /// Ticks at every multiple of `period` (at least 1 ms) since the epoch.
    pub fn interval(period: Duration) -> Self {
        let period = period.max(Duration::from_millis(1));
        let p = period.as_millis() as i64;
        let now = now_millis();
        let next_time_ms = (now / p + 1) * p;
        let next = Instant::now() + Duration::from_millis((next_time_ms - now) as u64);
        BatchClock::Interval { period, next, next_time_ms }
    }

    /// Ticks once per message on `ticks`; ends when the sender is dropped.
    pub fn manual(ticks: mpsc::Receiver<()>) -> Self {
        BatchClock::Manual { ticks }
    }

    /// Waits for the next tick. Cancel-safe (usable in `select!`).
    pub async fn tick(&mut self) -> Tick {
        match self {
            BatchClock::Interval { period, next, next_time_ms } => {
                tokio::time::sleep_until(*next).await;
                let delay = Instant::now().saturating_duration_since(*next);
                let batch_time = *next_time_ms;
                *next += *period;
                *next_time_ms += period.as_millis() as i64;
                Tick::Batch { batch_time, delay }
            }
            BatchClock::Manual { ticks } => match ticks.recv().await {
                Some(()) => Tick::Batch { batch_time: now_millis(), delay: Duration::ZERO },
                None => Tick::End,
            },
        }
    }
}
