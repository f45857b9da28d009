//! Which Jetstream events were taken, so that what a reconnection replays
//! is skipped and nothing else is: the identities ([`Identity`]) of the
//! events taken within [`REWIND_US`] of the newest one (what a cursor
//! rewound by that much can replay), at most [`MAX_REMEMBERED`] of them, in
//! the order taken (a queue: nothing to look up while the stream flows).
//! When a connection starts, they become a set, and the events it brings up
//! to the newest time taken before are looked up in it: those seen before
//! are replays, skipped.
//!
//! Within a connection every event is taken, whatever its `time_us`. After
//! a restart from a checkpoint nothing is remembered but the newest
//! `time_us` and how many events of that time were taken ([`Resume`]): the
//! first connection skips the events before that time, and that many of
//! the events at it (Jetstream replays in its own order, the order they
//! first came in).

use super::REWIND_US;
use super::event::Identity;
use rustc_hash::FxHashSet;
use std::collections::VecDeque;

/// The most identities remembered: a few seconds of the firehose are a
/// few hundred; a server sending more within the rewind is bounded here (the
/// oldest are forgotten first).
pub const MAX_REMEMBERED: usize = 100_000;

/// Where a checkpoint left the source: the newest `time_us` taken and how
/// many events of that time were.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resume {
    pub newest: i64,
    pub at_newest: u64,
}

/// An event's fate.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Taken,
    /// Taken before: a replay.
    Seen,
}

/// The events taken lately.
pub struct Taken {
    /// The identities taken within the rewind of the newest, in the order
    /// taken, with their `time_us`.
    order: VecDeque<(Identity, i64)>,
    /// From the start of a connection: the identities taken before it, and
    /// the newest time then (what its cursor replays). An identity is a
    /// hash already: Fx only mixes it.
    replay: Option<(FxHashSet<Identity>, i64)>,
    newest: Option<i64>,
    /// Events taken at `newest`.
    at_newest: u64,
    /// After a restart: the events of the first connection before this
    /// time are seen, and this many at it.
    restart: Option<Resume>,
    /// Of those at it, how many this connection has yet to skip.
    restart_left: u64,
}

impl Taken {
    pub fn new(after: Option<Resume>) -> Taken {
        Taken {
            order: VecDeque::new(),
            replay: None,
            newest: after.map(|a| a.newest),
            at_newest: after.map_or(0, |a| a.at_newest),
            restart: after,
            restart_left: 0,
        }
    }

    /// The newest `time_us` taken.
    pub fn newest(&self) -> Option<i64> {
        self.newest
    }

    /// The newest `time_us` taken and how many events of that time were.
    pub fn position(&self) -> Option<(i64, u64)> {
        Some((self.newest?, self.at_newest))
    }

    /// A new connection starts: what it replays is looked up among the
    /// identities taken so far (after a restart's first connection, the
    /// restart rule no longer applies: the identities do).
    pub fn reconnected(&mut self) {
        if self.restart.is_some() && !self.order.is_empty() {
            self.restart = None;
        }
        self.restart_left = self.restart.map_or(0, |r| r.at_newest);
        self.replay = self.newest.filter(|_| !self.order.is_empty()).map(|newest| {
            let seen: FxHashSet<Identity> = self.order.iter().map(|(id, _)| *id).collect();
            (seen, newest)
        });
    }

    /// Takes the event (`time_us`, `id`) unless it was taken before.
    pub fn verdict(&mut self, time_us: i64, id: Identity) -> Verdict {
        let replayed = match &self.replay {
            Some((seen, until)) if time_us <= *until => seen.contains(&id),
            _ => false,
        };
        if replayed || self.restart_skips(time_us) {
            return Verdict::Seen;
        }
        match self.newest {
            Some(n) if time_us < n => {}
            Some(n) if time_us == n => self.at_newest += 1,
            _ => {
                self.newest = Some(time_us);
                self.at_newest = 1;
            }
        }
        self.order.push_back((id, time_us));
        self.forget();
        Verdict::Taken
    }

    /// Whether the restart rule says this event was taken before the restart.
    fn restart_skips(&mut self, time_us: i64) -> bool {
        let Some(r) = self.restart else { return false };
        if time_us < r.newest {
            return true;
        }
        if time_us == r.newest && self.restart_left > 0 {
            self.restart_left -= 1;
            return true;
        }
        false
    }

    /// Forgets what no rewound cursor can replay, and the oldest past the bound.
    fn forget(&mut self) {
        let horizon = self.newest.unwrap_or(i64::MIN).saturating_sub(REWIND_US);
        while let Some(&(_, t)) = self.order.front() {
            if t >= horizon && self.order.len() <= MAX_REMEMBERED {
                break;
            }
            self.order.pop_front();
        }
    }

    /// Identities remembered now.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_events_are_taken_whatever_their_time_and_replays_are_not() {
        let mut t = Taken::new(None);
        let id = Identity;
        // Two per time_us, then some going back.
        for (k, time) in [(1, 10), (2, 10), (3, 11), (4, 11), (5, 9), (6, 5)] {
            assert_eq!(t.verdict(time, id(k)), Verdict::Taken, "{k}");
        }
        assert_eq!(t.position(), Some((11, 2)));
        // A reconnection replays from the cursor: all seen, by identity.
        t.reconnected();
        for (k, time) in [(1, 10), (2, 10), (3, 11), (4, 11)] {
            assert_eq!(t.verdict(time, id(k)), Verdict::Seen, "{k}");
        }
        // A post of the newest time that came after the cut is new.
        assert_eq!(t.verdict(11, id(7)), Verdict::Taken);
        assert_eq!(t.position(), Some((11, 3)));
    }

    #[test]
    fn after_a_restart_the_first_connection_skips_what_the_checkpoint_counted() {
        let mut t = Taken::new(Some(Resume { newest: 100, at_newest: 2 }));
        t.reconnected();
        let id = Identity;
        assert_eq!(t.verdict(98, id(1)), Verdict::Seen);
        assert_eq!(t.verdict(100, id(2)), Verdict::Seen);
        assert_eq!(t.verdict(100, id(3)), Verdict::Seen);
        assert_eq!(t.verdict(100, id(4)), Verdict::Taken);
        assert_eq!(t.verdict(101, id(5)), Verdict::Taken);
        // The next reconnection goes by identity.
        t.reconnected();
        assert_eq!(t.verdict(100, id(4)), Verdict::Seen);
        assert_eq!(t.verdict(99, id(6)), Verdict::Taken);
    }

    #[test]
    fn memory_is_bounded_by_the_rewind_and_a_count() {
        let mut t = Taken::new(None);
        for k in 0..1000u64 {
            t.verdict(k as i64 * 10_000, Identity(k));
        }
        // 3 s of events 10 ms apart: 301 of them.
        assert_eq!(t.remembered(), 301);
        let mut t = Taken::new(None);
        for k in 0..(MAX_REMEMBERED as u64 + 10) {
            t.verdict(7, Identity(k));
        }
        assert_eq!(t.remembered(), MAX_REMEMBERED);
    }
}
