//! Progress for long jobs (`load`, `produce`): a self-updating line on a
//! terminal, a log line every few seconds otherwise.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    what: &'static str,
    start: Instant,
    last: Instant,
    tty: bool,
}

impl Progress {
    pub fn new(what: &'static str) -> Self {
        let now = Instant::now();
        Progress { what, start: now, last: now, tty: std::io::stderr().is_terminal() }
    }

    /// Reports `done` items so far, at most a few times a second.
    pub fn update(&mut self, done: u64) {
        let every = if self.tty { Duration::from_millis(250) } else { Duration::from_secs(5) };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let rate = done as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
        if self.tty {
            crate::logging::say(format_args!("\r{} {done} rows ({rate:.0}/s)   ", self.what));
            let _ = std::io::stderr().flush();
        } else {
            tracing::info!("{} {done} rows ({rate:.0}/s)", self.what);
        }
    }

    /// Clears the terminal line; returns the elapsed time.
    pub fn finish(&self) -> Duration {
        if self.tty {
            crate::logging::say(format_args!("\r\x1b[K"));
        }
        self.start.elapsed()
    }
}
