//! Whether the engine is healthy, for load balancers and Kubernetes probes:
//! alive while the process answers at all, ready while its source is
//! connected and its batches close on time.

use std::time::Duration;

/// What readiness is judged by.
#[derive(Clone, Copy, Debug)]
pub struct Readiness {
    /// The batch interval (None: manual batches, which close when told).
    pub batch_every: Option<Duration>,
    /// When the engine started (ms since the epoch): the first batch is due
    /// within three intervals of it.
    pub started_ms: i64,
}

/// How many batch intervals may pass without a batch before the engine is
/// not ready.
pub const LATE_BATCHES: u32 = 3;

impl Readiness {
    /// `Ok` when ready; else why not, in words. `disconnected` names the
    /// sources that are not connected (readiness needs every one).
    pub fn verdict(
        &self,
        disconnected: &[&str],
        last_batch_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), String> {
        if !disconnected.is_empty() {
            return Err(format!("the source is not connected: {}", disconnected.join(", ")));
        }
        if let Some(every) = self.batch_every {
            let since = now_ms - last_batch_ms.unwrap_or(self.started_ms);
            let limit = (every * LATE_BATCHES).as_millis() as i64;
            if since > limit {
                return Err(format!(
                    "no batch has closed for {:.1} s ({LATE_BATCHES} intervals of {every:?})",
                    since as f64 / 1000.0
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_while_connected_and_on_time() {
        let r = Readiness { batch_every: Some(Duration::from_secs(1)), started_ms: 10_000 };
        assert_eq!(r.verdict(&[], None, 12_000), Ok(()));
        assert!(r.verdict(&[], None, 13_001).unwrap_err().contains("no batch has closed for 3.0 s"));
        assert_eq!(r.verdict(&[], Some(20_000), 22_500), Ok(()));
        let why = r.verdict(&["socket a:1"], Some(20_000), 20_001).unwrap_err();
        assert_eq!(why, "the source is not connected: socket a:1");
        let manual = Readiness { batch_every: None, started_ms: 0 };
        assert_eq!(manual.verdict(&[], None, i64::MAX), Ok(()));
    }
}
