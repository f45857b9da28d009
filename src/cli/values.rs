//! Parsers for the command line's values, each with the range it accepts.
//!
//! Every numeric and duration flag goes through one of these, so a value out of
//! range is refused when the command line is parsed (a one-line error and exit
//! status 2, from clap) instead of overflowing somewhere later: a duration of
//! 1e20 s or a rate of 1e-300 tweets/s used to panic deep inside the run.

use std::ops::RangeInclusive;
use std::time::Duration;

/// The shortest duration any flag takes.
pub const MIN_DURATION: Duration = Duration::from_millis(1);
/// The longest duration any flag takes: one day.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Rates (tweets or messages per second): one per 1,000 s up to a billion.
pub const RATES: RangeInclusive<f64> = 0.001..=1e9;
/// `replay --speedup`.
pub const SPEEDUPS: RangeInclusive<f64> = 0.001..=1e9;
/// Line and message sizes: 1 byte to 1 GiB.
pub const BYTE_LIMITS: RangeInclusive<u64> = 1..=1 << 30;
/// `stream --workers`.
pub const WORKERS: RangeInclusive<u64> = 1..=1024;
/// `load --batch-size`.
pub const BATCH_SIZES: RangeInclusive<u64> = 1..=100_000;
/// `--partitions`.
pub const PARTITIONS: RangeInclusive<i32> = 1..=100_000;
/// `--sql-max-rows`.
pub const SQL_ROWS: RangeInclusive<u64> = 1..=10_000_000;
/// `--batches` and `--stop-when-idle`: at least one batch.
pub const BATCH_COUNTS: RangeInclusive<u64> = 1..=u64::MAX;
/// `--max-tags`.
pub const MAX_TAGS: RangeInclusive<u64> = 1..=1_000_000_000;
/// Connections one listener serves at once.
pub const CONNECTIONS: RangeInclusive<u64> = 1..=100_000;

/// A WebSocket URL (`ws://` or `wss://`, `--jetstream`).
pub fn websocket_url(s: &str) -> Result<crate::secret::SecretUrl, String> {
    let url = crate::secret::SecretUrl::new(s);
    let rest = s.strip_prefix("wss://").or_else(|| s.strip_prefix("ws://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(url),
        _ => Err(format!("\"{url}\" is not a WebSocket URL (ws://HOST[:PORT]/PATH or wss://…)")),
    }
}

/// `--track PHRASES`: comma-separated phrases (see [`crate::transforms::track`]).
/// `--lang en,pt-BR,und`: language tags, as the sources give them.
pub fn lang(s: &str) -> Result<std::sync::Arc<crate::tweet::lang::LangFilter>, String> {
    crate::tweet::lang::LangFilter::parse(s).map(std::sync::Arc::new)
}

pub fn track(s: &str) -> Result<std::sync::Arc<crate::transforms::track::Track>, String> {
    crate::transforms::track::Track::parse(s).map(std::sync::Arc::new)
}

/// Parses `10s`, `500ms`, `2m`, `1h` or a plain number of seconds, from 1 ms to
/// 24 h.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("{s:?} is not a duration (try 10s, 500ms, 2m)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {s:?} (use ms, s, m or h)")),
    };
    let range = || format!("{s:?}: a duration must be from 1ms to 24h");
    let d = Duration::try_from_secs_f64(secs).map_err(|_| range())?;
    if d < MIN_DURATION || d > MAX_DURATION {
        return Err(range());
    }
    Ok(d)
}

/// A parser of numbers in `range` (`what` names them in the error).
pub fn number_in<T>(
    range: RangeInclusive<T>,
    what: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy + Send + Sync + 'static,
{
    move |s: &str| {
        let out_of_range = || format!("{s:?}: {what} must be from {} to {}", range.start(), range.end());
        match s.trim().parse::<T>() {
            Ok(n) if range.contains(&n) => Ok(n),
            Ok(_) => Err(out_of_range()),
            Err(_) => Err(format!(
                "{s:?} is not a number ({what} must be from {} to {})",
                range.start(),
                range.end()
            )),
        }
    }
}

/// Tweets or messages per second.
pub fn rate(s: &str) -> Result<f64, String> {
    number_in(RATES, "a rate")(s)
}

/// `replay --speedup`.
pub fn speedup(s: &str) -> Result<f64, String> {
    number_in(SPEEDUPS, "the speed-up")(s)
}

/// A size in bytes, from 1 byte to 1 GiB.
pub fn byte_limit(s: &str) -> Result<usize, String> {
    number_in(BYTE_LIMITS, "a size in bytes")(s).map(|n| n as usize)
}

/// The SQL memory limit (`--sql-memory`): 1 MiB to 1 TiB.
pub const SQL_MEMORY: RangeInclusive<u64> = 1 << 20..=1 << 40;
/// The largest request a listener takes (`--max-request-bytes`): 1 KiB to 1 GiB.
pub const REQUEST_BYTES: RangeInclusive<u64> = 1 << 10..=1 << 30;

/// A parser of sizes in `range`: a number of bytes, or with a unit (`KiB`,
/// `MiB`, `GiB`, `TiB`; `K`, `M`, `G`, `T` mean the same).
pub fn size_in(
    range: RangeInclusive<u64>,
    what: &'static str,
) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |s: &str| {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let shift = match unit.trim() {
            "" | "B" => 0,
            "K" | "KiB" => 10,
            "M" | "MiB" => 20,
            "G" | "GiB" => 30,
            "T" | "TiB" => 40,
            other => return Err(format!("unknown unit {other:?} in {s:?} (use KiB, MiB or GiB)")),
        };
        let n: u64 = num.parse().map_err(|_| format!("{s:?} is not a size (try 64MiB)"))?;
        match n.checked_mul(1 << shift) {
            Some(bytes) if range.contains(&bytes) => Ok(bytes as usize),
            _ => Err(format!("{s:?}: {what} must be from {} to {} bytes", range.start(), range.end())),
        }
    }
}

/// A count in `range`, as a `usize`.
pub fn count_in(
    range: RangeInclusive<u64>,
    what: &'static str,
) -> impl Fn(&str) -> Result<usize, String> + Clone {
    let parse = number_in(range, what);
    move |s: &str| parse(s).map(|n| n as usize)
}

/// A `KEY=VALUE` setting (`-X`).
pub fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// A properties file of librdkafka settings (`-F`, as kcat's): `key=value`
/// lines; blank lines and lines starting with `#` are skipped. Read when the
/// command line is parsed, so that secrets stay out of the process list.
pub fn properties_file(path: &str) -> Result<Properties, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut settings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = key_value(line).map_err(|_| format!("{path}:{}: expected key=value", i + 1))?;
        settings.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    Ok(Properties(settings))
}

/// The settings of a properties file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Properties(pub Vec<(String, String)>);

/// Checks `HOST:PORT` (a name or an address; IPv6 in brackets): a host that
/// does not resolve yet is retried, but an address without a port never works.
pub fn host_port(s: &str) -> Result<String, String> {
    let usage = || format!("{s:?} is not HOST:PORT (such as localhost:9999 or [::1]:9999)");
    let (host, port) = s.rsplit_once(':').ok_or_else(usage)?;
    let bracketed = host.starts_with('[') && host.ends_with(']');
    if host.is_empty() || (host.contains(':') && !bracketed) || !port.parse::<u16>().is_ok_and(|p| p > 0) {
        return Err(usage());
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn durations() {
        assert_eq!(duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("24h"), Ok(MAX_DURATION));
        assert_eq!(duration("1ms"), Ok(MIN_DURATION));
        for bad in ["0s", "0.5ms", "24.001h", "100000000000000000000s", "1e400", "ten", "5 parsecs", "", "."]
        {
            assert!(duration(bad).is_err(), "{bad}");
        }
        assert!(duration("100000000000000000000s").unwrap_err().contains("from 1ms to 24h"));
    }

    #[test]
    fn numbers() {
        assert_eq!(rate("1000"), Ok(1000.0));
        assert_eq!(rate("0.001"), Ok(0.001));
        for bad in ["0", "1e-300", "-1", "inf", "NaN", "1e10", "fast"] {
            assert!(rate(bad).is_err(), "{bad}");
        }
        assert_eq!(rate("1e-300").unwrap_err(), "\"1e-300\": a rate must be from 0.001 to 1000000000");
        assert_eq!(byte_limit("1048576"), Ok(1 << 20));
        assert!(byte_limit("0").unwrap_err().contains("from 1 to"));
        assert!(byte_limit("-5").is_err());
        assert!(byte_limit("1MiB").is_err());
        assert!(byte_limit("1073741825").is_err());
        let workers = count_in(WORKERS, "--workers");
        assert_eq!(workers("4"), Ok(4));
        assert!(workers("0").is_err());
        assert!(workers("99999999999999999999999").is_err());
    }

    #[test]
    fn sizes() {
        let p = size_in(SQL_MEMORY, "the SQL memory limit");
        assert_eq!(p("64MiB"), Ok(64 << 20));
        assert_eq!(p("2G"), Ok(2 << 30));
        assert_eq!(p("1048576"), Ok(1 << 20));
        for bad in ["1KiB", "2TiB", "99999999999999999999G", "12 parsecs", "", "-1M"] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn properties_files() {
        let path = std::env::temp_dir().join(format!("tweetstream-props-{}", std::process::id()));
        std::fs::write(&path, "# secrets\n\nsasl.username = analyst\nsasl.password=p=w\n").unwrap();
        let p = path.to_str().unwrap();
        let want = vec![("sasl.username".into(), "analyst".into()), ("sasl.password".into(), "p=w".into())];
        assert_eq!(properties_file(p), Ok(Properties(want)));
        std::fs::write(&path, "ok=1\nnot a setting\n").unwrap();
        assert!(properties_file(p).unwrap_err().ends_with(":2: expected key=value"));
        std::fs::remove_file(&path).unwrap();
        assert!(properties_file(p).unwrap_err().contains("No such file"));
    }

    #[test]
    fn host_ports() {
        for ok in ["localhost:9999", "127.0.0.1:1", "[::1]:9999", "tweets.example:65535"] {
            assert_eq!(host_port(ok).as_deref(), Ok(ok));
        }
        for bad in
            ["nonsense", "localhost", ":9999", "localhost:", "localhost:0", "host:99999", "::1:9999", "h:p"]
        {
            let err = host_port(bad).unwrap_err();
            assert!(err.contains("is not HOST:PORT"), "{bad}: {err}");
        }
    }

    proptest! {
        /// No string makes a parser panic, and what they accept is in range.
        #[test]
        fn parsers_never_panic(s in any::<String>(), x in any::<f64>(), n in any::<i128>(), unit in "(ms|s|m|h|min|sec|)") {
            for v in [s.clone(), format!("{x}"), format!("{x}{unit}"), format!("{n}"), format!("{n}{unit}")] {
                if let Ok(d) = duration(&v) {
                    prop_assert!((MIN_DURATION..=MAX_DURATION).contains(&d));
                }
                if let Ok(r) = rate(&v) {
                    prop_assert!(RATES.contains(&r));
                }
                if let Ok(r) = speedup(&v) {
                    prop_assert!(SPEEDUPS.contains(&r));
                }
                if let Ok(b) = byte_limit(&v) {
                    prop_assert!(BYTE_LIMITS.contains(&(b as u64)));
                }
                let _ = count_in(WORKERS, "--workers")(&v);
                if let Ok(b) = size_in(SQL_MEMORY, "memory")(&v) {
                    prop_assert!(SQL_MEMORY.contains(&(b as u64)));
                }
                let _ = host_port(&v);
            }
        }
    }
}
