//! The one rule for what a source receives: each event (a WebSocket
//! message, a line of a stream, a Server-Sent Event) is a post or one skip
//! with one reason, counted once, the same in every source. The metric
//! handles are made once per source, not looked up per event.

use crate::metrics::{Source, SourceReason, metrics};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::Mutex;

/// A source's counters of what it received.
pub struct Events {
    name: String,
    events: Counter,
    posts: Counter,
    last_event: Gauge,
    reconnects: Counter,
    disconnected: Counter<f64, std::sync::atomic::AtomicU64>,
    /// The skip counters met so far, by reason (a handful).
    skipped: Mutex<Vec<(&'static str, Counter)>>,
}

impl Events {
    /// The counters of the source named `name` (its metric label).
    pub fn new(name: &str) -> Events {
        let m = metrics();
        let source = Source { source: name.to_owned() };
        Events {
            name: name.to_owned(),
            events: m.live_events.get_or_create(&source).clone(),
            posts: m.live_posts.get_or_create(&source).clone(),
            last_event: m.live_last_event.get_or_create(&source).clone(),
            reconnects: m.live_reconnects.get_or_create(&source).clone(),
            disconnected: m.live_disconnected.get_or_create(&source).clone(),
            skipped: Mutex::new(Vec::new()),
        }
    }

    /// An event that was a post, at `at_s` (seconds since the epoch).
    pub fn post(&self, at_s: i64) {
        self.events.inc();
        self.posts.inc();
        self.last_event.set(at_s);
    }

    /// An event skipped for `reason`, at `at_s` (None: it has no time of its own).
    pub fn skip(&self, reason: &'static str, at_s: Option<i64>) {
        self.events.inc();
        if let Some(at) = at_s {
            self.last_event.set(at);
        }
        let mut skipped = self.skipped.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, c)) = skipped.iter().find(|(r, _)| *r == reason) {
            c.inc();
            return;
        }
        let label = SourceReason { source: self.name.clone(), reason: reason.to_owned() };
        let counter = metrics().live_skipped.get_or_create(&label).clone();
        counter.inc();
        skipped.push((reason, counter));
    }

    /// Events received so far (posts and skips).
    pub fn received(&self) -> u64 {
        self.events.get()
    }

    /// A connection ended (the source reconnects).
    pub fn reconnected(&self) {
        self.reconnects.inc();
    }

    /// Seconds spent disconnected by a source that cannot replay them.
    pub fn disconnected_for(&self, seconds: f64) {
        self.disconnected.inc_by(seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_counts_once_as_a_post_or_a_skip() {
        let e = Events::new("test events-once");
        e.post(10);
        e.skip("oversized", None);
        e.skip("oversized", Some(12));
        e.skip("delete", Some(11));
        assert_eq!(e.received(), 4);
        assert_eq!(e.posts.get(), 1);
        assert_eq!(e.last_event.get(), 11);
        let family = &metrics().live_skipped;
        let count = |reason: &str| {
            let label = SourceReason { source: "test events-once".into(), reason: reason.into() };
            family.get_or_create(&label).get()
        };
        assert_eq!((count("oversized"), count("delete")), (2, 1));
    }
}
