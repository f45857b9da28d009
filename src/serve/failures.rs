//! Failed logins, per peer address, for every listener that checks the
//! token (HTTP and the dashboard by bearer or basic auth, PostgreSQL by
//! SCRAM): each peer's first failure is logged with its address, then at
//! most one line a minute says how many more came; and each failure is
//! answered later the more the peer failed lately (100 ms, doubling up to
//! 10 s, as PostgreSQL's `auth_delay` and nginx's `limit_req` slow a
//! guesser), so one client tries a few a second at first and one in ten
//! seconds soon after, instead of hundreds a second. A peer that logs in
//! starts over; one that stops failing is forgotten after ten minutes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The wait after a peer's first failure; it doubles with each next one.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest wait.
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// A peer without a failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// How often a peer's failures are logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Peers remembered at most (the stalest are forgotten first).
const MAX_PEERS: usize = 10_000;

/// One peer's failures.
struct Peer {
    /// In a row, since it was last forgotten.
    count: u32,
    last: Instant,
    logged: Instant,
    /// Since the last line about it.
    unlogged: u32,
}

/// The failed logins of the process.
#[derive(Default)]
pub struct Failures {
    peers: Mutex<HashMap<IpAddr, Peer>>,
}

/// The process's record.
pub fn failures() -> &'static Failures {
    static FAILURES: OnceLock<Failures> = OnceLock::new();
    FAILURES.get_or_init(Failures::default)
}

impl Failures {
    /// A login from `peer` on `listener` failed (`who`: the user it tried,
    /// if any); logs it as said above and returns how long to wait before
    /// answering.
    pub fn failed(&self, peer: IpAddr, listener: &str, who: Option<&str>) -> Duration {
        let now = Instant::now();
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        if peers.len() >= MAX_PEERS && !peers.contains_key(&peer) {
            peers.retain(|_, p| now.duration_since(p.last) < FORGET_AFTER);
            if peers.len() >= MAX_PEERS
                && let Some(stalest) = peers.iter().min_by_key(|(_, p)| p.last).map(|(ip, _)| *ip)
            {
                peers.remove(&stalest);
            }
        }
        let p = peers.entry(peer).or_insert(Peer { count: 0, last: now, logged: now, unlogged: 0 });
        if now.duration_since(p.last) >= FORGET_AFTER {
            *p = Peer { count: 0, last: now, logged: now, unlogged: 0 };
        }
        p.count += 1;
        p.last = now;
        let user = who.map(|u| format!(" (user \"{u}\")")).unwrap_or_default();
        if p.count == 1 {
            tracing::warn!(%peer, listener, user = who, "{listener}: failed login from {peer}{user}");
        } else if now.duration_since(p.logged) >= LOG_EVERY {
            let more = p.unlogged + 1;
            tracing::warn!(
                %peer,
                listener,
                failures = more,
                "{listener}: {more} more failed logins from {peer} in the last {} s{user}; each is answered \
                 later (up to {} s)",
                now.duration_since(p.logged).as_secs(),
                MAX_DELAY.as_secs()
            );
            p.logged = now;
            p.unlogged = 0;
        } else {
            p.unlogged += 1;
        }
        delay(p.count)
    }

    /// `peer` logged in: it starts over.
    pub fn succeeded(&self, peer: IpAddr) {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).remove(&peer);
    }
}

/// The wait after the `n`-th failure in a row.
pub fn delay(n: u32) -> Duration {
    FIRST_DELAY.saturating_mul(1 << n.saturating_sub(1).min(16)).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_with_each_failure_up_to_the_most() {
        let waits: Vec<u64> = (1..=9).map(|n| delay(n).as_millis() as u64).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
        assert_eq!(delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn each_peer_is_counted_apart_and_starts_over_when_it_logs_in() {
        let f = Failures::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert_eq!(f.failed(a, "t", None), delay(1));
        assert_eq!(f.failed(a, "t", Some("x")), delay(2));
        assert_eq!(f.failed(b, "t", None), delay(1));
        f.succeeded(a);
        assert_eq!(f.failed(a, "t", None), delay(1));
    }
}
