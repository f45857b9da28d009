//! Retrying with backoff: how every loop that waits for a service (a socket
//! server, MongoDB, the Kafka broker, the results store) spaces its attempts.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Waits that double from `first` up to `max` (or grow by `first` each
/// time, [`Backoff::linear`]).
#[derive(Clone, Debug)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
    linear: bool,
}

impl Default for Backoff {
    /// 200 ms, doubling up to 5 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(200), Duration::from_secs(5))
    }
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff { first, max, next: first, linear: false }
    }

    /// Waits of `step`, `2 × step`, `3 × step`, … up to `max` (X's policy
    /// for network errors).
    pub fn linear(step: Duration, max: Duration) -> Self {
        Backoff { first: step, max, next: step, linear: true }
    }

    /// The next wait, and doubles the one after it.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = if self.linear { self.next + self.first } else { self.next * 2 }.min(self.max);
        delay
    }

    /// Waits the next delay; `false` if `stop` came first.
    pub async fn wait(&mut self, stop: impl Future<Output = ()>) -> bool {
        let delay = self.next_delay();
        tokio::select! {
            () = stop => false,
            () = tokio::time::sleep(delay) => true,
        }
    }

    /// After a success: the next failure waits `first` again.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// `delay` jittered: a time between half of it and all of it, so that many
/// clients that lost one server do not all come back at the same instant
/// ("equal jitter").
pub fn jitter(delay: Duration) -> Duration {
    use std::cell::Cell;
    thread_local! {
        static SEED: Cell<u64> = Cell::new(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64),
        );
    }
    let random = SEED.with(|seed| {
        let mut rng = crate::rng::Rng::new(seed.get());
        let r = rng.next_u64();
        seed.set(r);
        r
    });
    let half = delay / 2;
    half + half.mul_f64((random >> 11) as f64 / (1u64 << 53) as f64)
}

/// Runs `attempt` until it succeeds, with [`Backoff::default`], logging `what`
/// with the error on each failure (`None`: `shutdown` came first).
pub async fn retrying<T, F, Fut>(
    shutdown: &CancellationToken,
    mut attempt: F,
    what: impl Fn() -> String,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut backoff = Backoff::default();
    loop {
        match attempt().await {
            Ok(v) => return Some(v),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "{} ({e:#}); retrying", what());
                if !backoff.wait(shutdown.cancelled()).await {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_most_and_start_over_after_reset() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let delays: Vec<u64> = (0..5).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn linear_delays_grow_by_a_step_up_to_the_most() {
        let mut b = Backoff::linear(Duration::from_millis(250), Duration::from_millis(1000));
        let delays: Vec<u64> = (0..6).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(delays, [250, 500, 750, 1000, 1000, 1000]);
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_delay() {
        let d = Duration::from_millis(1000);
        let waits: Vec<Duration> = (0..1000).map(|_| jitter(d)).collect();
        assert!(waits.iter().all(|w| *w >= d / 2 && *w <= d));
        // Spread, not one value: both halves of the range are met.
        assert!(waits.iter().any(|w| *w < d * 3 / 4) && waits.iter().any(|w| *w > d * 3 / 4));
    }

    #[tokio::test(start_paused = true)]
    async fn retrying_gives_up_at_shutdown() {
        let stop = CancellationToken::new();
        let mut tries = 0;
        let got = retrying(
            &stop,
            || {
                tries += 1;
                let t = tries;
                async move { if t < 3 { anyhow::bail!("no") } else { Ok(t) } }
            },
            || "x".into(),
        )
        .await;
        assert_eq!(got, Some(3));
        stop.cancel();
        let never: Option<()> = retrying(&stop, || async { anyhow::bail!("no") }, || "y".into()).await;
        assert_eq!(never, None);
    }
}
