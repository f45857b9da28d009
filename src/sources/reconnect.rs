//! The one connection loop of every source that connects (the TCP client,
//! Jetstream, X, Mastodon): connect, read until the connection ends, wait,
//! connect again, until the shutdown. What differs between them, how to
//! connect and how to read, is a [`Connector`]; the rest is here, once:
//!
//! - **Back-off.** A failed attempt, and a connection that ends without
//!   real progress (it brought nothing, or it lasted less than
//!   [`Policy::healthy`]), makes the next wait longer: doubling from
//!   [`Policy::first`] (or growing by it, [`Policy::linear`]) up to
//!   [`Policy::max`]. Only a connection that carried data for
//!   `healthy` starts the back-off over. Every wait is jittered (between
//!   half and all of it, [`crate::retry::jitter`]). A server that accepts
//!   and closes at once is therefore tried about six times in 20 s, not
//!   thousands.
//! - **HTTP errors and rate limits** (answers, not failures) have back-offs
//!   of their own ([`Attempt::Refused`], [`Attempt::Later`]), and a fault no
//!   retry fixes ends the run ([`Attempt::Fatal`]).
//! - **Status and counts**: the source is connected (for `/health`) while a
//!   connection is read; each connection that ends is counted
//!   (`tweetstream_live_reconnects_total`), and, for a source that cannot
//!   replay, the time disconnected too.

use super::Context;
use crate::retry::{Backoff, jitter};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How a source spaces its attempts.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// The first wait after a failure.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Waits grow by `first` each time (X's policy for network errors)
    /// instead of doubling.
    pub linear: bool,
    /// How long a connection must carry data before the back-off starts over.
    pub healthy: Duration,
    /// How long a connection attempt may take.
    pub connect_timeout: Duration,
    /// Whether what was sent while disconnected is lost (no replay): the
    /// time is then counted and the loss said.
    pub gaps_lost: bool,
}

/// The back-off of HTTP error answers (X's documented policy): from 5 s, doubling up to 320 s.
const HTTP_FIRST: Duration = Duration::from_secs(5);
const HTTP_MAX: Duration = Duration::from_secs(320);
/// The back-off of rate limits without a reset time: from 1 min up to 15 min.
const RATE_FIRST: Duration = Duration::from_secs(60);
const RATE_MAX: Duration = Duration::from_secs(15 * 60);

/// What one attempt to connect gave.
pub enum Attempt<C> {
    Connected(C),
    /// No connection (the network, a refused handshake): the back-off.
    Failed(String),
    /// The server answered with an error: the slower back-off of HTTP errors.
    Refused(String),
    /// The server asks to wait (429): `wait` if it said how long (at most
    /// the rate limit's longest wait), else the rate-limit back-off.
    Later(Option<Duration>),
    /// A fault no retry can fix (a refused token): the run ends with it.
    Fatal(anyhow::Error),
}

/// Why a connection ended, and how many events it brought.
#[derive(Debug)]
pub struct Ended {
    pub why: String,
    pub events: u64,
}

/// One kind of connection.
pub trait Connector: Send {
    type Connection: Send;

    /// One attempt to connect.
    fn connect(&mut self, cx: &Context) -> impl Future<Output = Attempt<Self::Connection>> + Send;

    /// What it connects to, as logs show it (secrets masked).
    fn target(&self) -> String;

    /// What the log says of a new connection ("connected to …, resuming
    /// after …").
    fn connected(&self) -> String {
        format!("connected to {}", self.target())
    }

    /// Reads one connection until it ends, the shutdown, or the engine is gone.
    fn read(&mut self, connection: Self::Connection, cx: &Context) -> impl Future<Output = Ended> + Send;
}

/// Connects and reads until the shutdown; an error is an [`Attempt::Fatal`].
pub async fn run(mut connector: impl Connector, policy: Policy, cx: &Context) -> anyhow::Result<()> {
    let mut waits = Waits::new(&policy);
    loop {
        let attempt = tokio::select! {
            () = cx.shutdown.cancelled() => return Ok(()),
            a = tokio::time::timeout(policy.connect_timeout, connector.connect(cx)) => {
                a.unwrap_or_else(|_| Attempt::Failed(format!("no answer within {:?}", policy.connect_timeout)))
            }
        };
        let wait = match attempt {
            Attempt::Connected(connection) => {
                waits.connected(&connector, &policy, cx);
                cx.status.set_connected(true);
                let started = Instant::now();
                let ended = connector.read(connection, cx).await;
                cx.status.set_connected(false);
                if cx.stopping() {
                    return Ok(());
                }
                waits.ended(ended, started.elapsed(), &policy, cx)
            }
            Attempt::Failed(why) => waits.failed(&why, &connector, &policy),
            Attempt::Refused(why) => {
                let wait = jitter(waits.http.next_delay());
                tracing::warn!(error = %why, delay_ms = wait.as_millis() as u64, "{why}; retrying in {wait:.1?}");
                wait
            }
            Attempt::Later(asked) => {
                let wait = asked.map_or_else(|| jitter(waits.rate.next_delay()), |w| w.min(RATE_MAX));
                tracing::warn!(
                    delay_ms = wait.as_millis() as u64,
                    "too many connections (429); waiting {wait:.1?} as the server asks"
                );
                wait
            }
            Attempt::Fatal(e) => return Err(e),
        };
        tokio::select! {
            () = cx.shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// The loop's memory of what happened: its back-offs, failures in a row,
/// and since when it has been disconnected.
struct Waits {
    network: Backoff,
    http: Backoff,
    rate: Backoff,
    failures: u32,
    /// None: connected, or never connected yet.
    down_since: Option<Instant>,
}

impl Waits {
    fn new(policy: &Policy) -> Waits {
        let network = if policy.linear {
            Backoff::linear(policy.first, policy.max)
        } else {
            Backoff::new(policy.first, policy.max)
        };
        Waits {
            network,
            http: Backoff::new(HTTP_FIRST, HTTP_MAX),
            rate: Backoff::new(RATE_FIRST, RATE_MAX),
            failures: 0,
            down_since: None,
        }
    }

    /// A connection opened: says so, and what was lost while down.
    fn connected(&mut self, connector: &impl Connector, policy: &Policy, cx: &Context) {
        self.failures = 0;
        self.http.reset();
        self.rate.reset();
        match self.down_since.take() {
            Some(since) if policy.gaps_lost => {
                let gap = since.elapsed().as_secs_f64();
                cx.events.disconnected_for(gap);
                tracing::warn!(
                    gap_s = gap,
                    "connected again after {gap:.1} s; this feed cannot replay, so its posts of that time \
                     are lost"
                );
            }
            _ => tracing::info!("{}", connector.connected()),
        }
    }

    /// A connection ended after `lasted`: the wait before the next.
    fn ended(&mut self, ended: Ended, lasted: Duration, policy: &Policy, cx: &Context) -> Duration {
        self.down_since = Some(Instant::now());
        cx.events.reconnected();
        if ended.events > 0 && lasted >= policy.healthy {
            self.network.reset();
        }
        let wait = jitter(self.network.next_delay());
        tracing::warn!(
            events = ended.events,
            delay_ms = wait.as_millis() as u64,
            "{}; reconnecting in {wait:.1?}",
            ended.why
        );
        wait
    }

    /// An attempt failed: the wait before the next.
    fn failed(&mut self, why: &str, connector: &impl Connector, policy: &Policy) -> Duration {
        self.failures += 1;
        let wait = jitter(self.network.next_delay());
        let (attempt, delay_ms) = (self.failures, wait.as_millis() as u64);
        if attempt == 1 {
            tracing::warn!(
                error = %why,
                attempt,
                "cannot connect to {}: {why}; retrying with back-off (up to {:?})",
                connector.target(),
                policy.max
            );
        } else {
            tracing::debug!(error = %why, attempt, delay_ms, "still cannot connect");
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::SourceStatus;
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    /// Connects at once, and each connection brings `events` and ends at once.
    struct Flaky {
        events: u64,
        at: Arc<std::sync::Mutex<Vec<tokio::time::Instant>>>,
        /// How long each connection lasts.
        lasts: Duration,
        stop_after: usize,
        stop: CancellationToken,
    }

    impl Connector for Flaky {
        type Connection = ();

        fn target(&self) -> String {
            "nowhere".into()
        }

        async fn connect(&mut self, _: &Context) -> Attempt<()> {
            let mut at = self.at.lock().unwrap();
            at.push(tokio::time::Instant::now());
            if at.len() >= self.stop_after {
                self.stop.cancel();
            }
            Attempt::Connected(())
        }

        async fn read(&mut self, (): (), _: &Context) -> Ended {
            tokio::time::sleep(self.lasts).await;
            Ended { why: "closed".into(), events: self.events }
        }
    }

    fn context(stop: &CancellationToken) -> Context {
        let (tx, _rx) = tokio::sync::mpsc::channel(1);
        // The receiver dropped would read as the engine gone: keep it.
        std::mem::forget(_rx);
        Context::new("test reconnect".into(), Arc::new(SourceStatus::default()), tx, stop.clone(), 1024)
    }

    const POLICY: Policy = Policy {
        first: Duration::from_millis(250),
        max: Duration::from_secs(16),
        linear: false,
        healthy: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        gaps_lost: false,
    };

    /// The waits between the connections' ends and the next starts, in ms.
    async fn gaps(events: u64, lasts: Duration) -> Vec<u128> {
        let stop = CancellationToken::new();
        let cx = context(&stop);
        let at = Arc::new(std::sync::Mutex::new(Vec::new()));
        let flaky = Flaky { events, at: at.clone(), lasts, stop_after: 9, stop: stop.clone() };
        run(flaky, POLICY, &cx).await.unwrap();
        let at = at.lock().unwrap();
        at.windows(2).map(|w| (w[1] - w[0] - lasts).as_millis()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn connections_that_end_at_once_back_off_whether_or_not_they_brought_data() {
        for events in [0, 5] {
            let gaps = gaps(events, Duration::from_secs(9)).await;
            // Each wait within [half, all] of 250 ms doubling up to 16 s.
            let full = [250, 500, 1000, 2000, 4000, 8000, 16000, 16000];
            assert_eq!(gaps.len(), full.len());
            for (g, f) in gaps.iter().zip(full) {
                assert!(*g >= f / 2 && *g <= f, "{gaps:?}");
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_carried_data_for_a_while_starts_the_back_off_over() {
        let healthy = gaps(5, Duration::from_secs(10)).await;
        assert_eq!(healthy.len(), 8);
        assert!(healthy.iter().all(|g| (125..=250).contains(g)), "{healthy:?}");
        // One that lasted as long but brought nothing does not.
        let idle = gaps(0, Duration::from_secs(10)).await;
        assert!(idle[7] >= 8000, "{idle:?}");
    }
}
