//! The consumer's close, with a deadline.
//!
//! Dropping a consumer of a group leaves the group, and librdkafka waits for
//! the group's requests in flight first: a JoinGroup that the coordinator
//! holds for a rebalance can keep it minutes (the rebalance timeout), and a
//! broker that stops answering, longer. The engine is stopping by then (its
//! run ended, or an error ends it), so the close runs on a thread of its own
//! and the engine waits for it at most [`DEADLINE`], then goes on without it,
//! saying so (the broker drops the member at its session timeout). Before,
//! such an engine printed nothing and never exited.

use std::ops::Deref;
use std::time::Duration;

/// How long a stopping engine waits for its consumer to leave the group.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A consumer that, when dropped, is closed within [`DEADLINE`].
pub struct Closing<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> Closing<T> {
    pub fn new(inner: T) -> Self {
        Self(Some(inner))
    }
}

impl<T: Send + 'static> Deref for Closing<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // Taken only by `drop`.
        self.0.as_ref().expect("a consumer is there until it is dropped")
    }
}

impl<T: Send + 'static> Drop for Closing<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.0.take()
            && !close_within(inner, DEADLINE)
        {
            tracing::warn!(
                "kafka: the consumer did not leave its group within {}s; not waiting for it \
                 (the broker drops it at its session timeout)",
                DEADLINE.as_secs()
            );
        }
    }
}

/// Drops `inner` on a thread of its own; whether that ended within `deadline`.
/// If no thread can be started, it is dropped here.
fn close_within<T: Send + 'static>(inner: T, deadline: Duration) -> bool {
    let (done, closed) = std::sync::mpsc::channel();
    let closer = std::thread::Builder::new().name("kafka-close".into()).spawn(move || {
        drop(inner);
        let _ = done.send(());
    });
    closer.is_err() || closed.recv_timeout(deadline).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Blocks its drop until told to go on; says when it was dropped.
    struct SlowClose {
        name: &'static str,
        go_on: mpsc::Receiver<()>,
        dropped: mpsc::Sender<()>,
    }

    impl Drop for SlowClose {
        fn drop(&mut self) {
            let _ = self.go_on.recv();
            let _ = self.dropped.send(());
        }
    }

    #[test]
    fn a_close_that_does_not_end_is_left_behind_and_one_that_ends_is_waited_for() {
        let (go, go_on) = mpsc::channel();
        let (dropped, was_dropped) = mpsc::channel();
        // Never told to go on before the deadline: left behind, not dropped yet.
        assert!(!close_within(SlowClose { name: "slow", go_on, dropped }, Duration::from_millis(50)));
        assert!(was_dropped.try_recv().is_err());
        // It still ends once it can.
        go.send(()).unwrap();
        was_dropped.recv_timeout(Duration::from_secs(60)).expect("the left close ends");

        let (go, go_on) = mpsc::channel();
        let (dropped, was_dropped) = mpsc::channel();
        go.send(()).unwrap();
        assert!(close_within(SlowClose { name: "slow", go_on, dropped }, Duration::from_secs(60)));
        assert!(was_dropped.try_recv().is_ok(), "waited for: dropped before close_within returned");
    }

    #[test]
    fn the_wrapper_reaches_its_consumer_and_closes_it_when_dropped() {
        let (go, go_on) = mpsc::channel();
        let (dropped, was_dropped) = mpsc::channel();
        go.send(()).unwrap();
        let closing = Closing::new(SlowClose { name: "slow", go_on, dropped });
        assert_eq!(closing.name, "slow");
        drop(closing);
        assert!(was_dropped.try_recv().is_ok());
    }
}
