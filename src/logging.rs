//! Log setup: lines on stderr, filtered by `--log` / `RUST_LOG`, as text for
//! people or as one JSON object per line for a log pipeline, coloured only
//! where colour is wanted.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `TIME LEVEL message fields`, for people.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields`.
    Json,
}

/// When log lines are coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set (to anything but "").
    #[default]
    Auto,
    /// Always, even on a pipe or with `NO_COLOR`.
    Always,
    Never,
}

impl Color {
    /// Whether to colour, given whether stderr is a terminal and `NO_COLOR`.
    pub fn ansi(self, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

/// Writes a message for the user to stderr, as `eprint!` does, but never
/// panics: with stderr closed (`2>&1 | head`) or full, the message is lost and
/// the program goes on.
pub fn say(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_fmt(message);
}

/// `eprintln!` through [`say`]: never panics.
macro_rules! sayln {
    ($($arg:tt)*) => {
        $crate::logging::say(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use sayln;

/// Installs the stderr logger. A bare level (`debug`) applies to this crate only,
/// so dependencies stay quiet; a full filter (`tweetstream=debug,rdkafka=info`) is
/// taken as written.
pub fn init(filter: &str, format: LogFormat, color: Color) {
    let directive = match filter {
        "error" | "warn" | "info" | "debug" | "trace" | "off" => format!("warn,tweetstream={filter}"),
        other => other.to_owned(),
    };
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|e| {
        say(format_args!("tweetstream: warning: bad --log filter {filter:?} ({e}); using info\n"));
        EnvFilter::new("warn,tweetstream=info")
    });
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let ansi = color.ansi(terminal, std::env::var_os("NO_COLOR").as_deref());
    // A log line that cannot be written (stderr closed, a full disk) is lost
    // quietly: the subscriber's own report of it would go to stderr too, and
    // panic.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    let _ = match format {
        LogFormat::Text => builder.with_target(false).with_ansi(ansi).try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_follows_the_terminal_no_color_and_the_flag() {
        assert!(Color::Auto.ansi(true, None));
        assert!(!Color::Auto.ansi(false, None));
        assert!(!Color::Auto.ansi(true, Some(OsStr::new("1"))));
        assert!(Color::Auto.ansi(true, Some(OsStr::new(""))), "an empty NO_COLOR counts as unset");
        assert!(Color::Always.ansi(false, Some(OsStr::new("1"))));
        assert!(!Color::Never.ansi(true, None));
    }
}
