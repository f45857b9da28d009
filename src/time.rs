//! Time helpers used across the stages: wall-clock milliseconds, and deadlines
//! computed from seconds that may be absurdly large without panicking.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Milliseconds since the Unix epoch, now (0 if the clock is before 1970).
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// How far away "never" is, for a deadline that would overflow: a hundred years.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `start + secs`, saturating at a hundred years from `start` (a pace of one
/// tweet per 1,000 s, or tweet dates centuries apart, must not overflow).
pub fn after_secs(start: Instant, secs: f64) -> Instant {
    let d = Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(FAR).min(FAR);
    start.checked_add(d).unwrap_or(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_secs_saturates() {
        let t = Instant::now();
        assert_eq!(after_secs(t, 1.5), t + Duration::from_millis(1500));
        assert_eq!(after_secs(t, -3.0), t);
        assert_eq!(after_secs(t, f64::NAN), t);
        assert_eq!(after_secs(t, 1e300), t + FAR);
        assert_eq!(after_secs(t, f64::INFINITY), t + FAR);
    }
}
