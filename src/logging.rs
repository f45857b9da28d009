//! Log setup: human-readable lines on stderr, filtered by `--log` / `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs the stderr logger. A bare level (`debug`) applies to this crate only,
/// so dependencies stay quiet; a full filter (`tweetstream=debug,rdkafka=info`) is
/// taken as written.
pub fn init(filter: &str) {
    let directive = match filter {
        "error" | "warn" | "info" | "debug" | "trace" | "off" => format!("warn,tweetstream={filter}"),
        other => other.to_owned(),
    };
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|e| {
        eprintln!("tweetstream: warning: bad --log filter {filter:?} ({e}); using info");
        EnvFilter::new("warn,tweetstream=info")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
