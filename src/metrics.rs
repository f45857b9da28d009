//! Metrics for an operator's tools, in the OpenMetrics text format for a
//! scraper that asks for it (Prometheus does), else Prometheus' classic text
//! format 0.0.4 (`GET /metrics` on `--http` and `--dashboard`), through the
//! `prometheus-client` crate.
//!
//! One registry per process ([`metrics`]): the stages record into it as they
//! work (the engine per closed batch, the SQL engine per query, the results
//! store per write), and the values that are states rather than events (the
//! source's connection, the process's memory) are read when scraped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::OnceLock;

/// A reason a record was bad.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: String,
}

/// A source of the job, by the name `/health` gives it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Source {
    pub source: String,
}

/// A source and why it skipped something.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceReason {
    pub source: String,
    pub reason: String,
}

/// A Kafka partition.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Partition {
    pub topic: String,
    pub partition: i32,
}

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    pub records: Counter,
    pub bad_records: Family<Reason, Counter>,
    pub batches: Counter,
    pub batch_processing: Histogram,
    pub batch_delay: Histogram,
    pub batch_records: Histogram,
    pub tags_evicted: Counter,
    pub source_connected: Family<Source, Gauge>,
    pub live_events: Family<Source, Counter>,
    pub live_posts: Family<Source, Counter>,
    pub live_skipped: Family<SourceReason, Counter>,
    pub live_reconnects: Family<Source, Counter>,
    pub live_last_event: Family<Source, Gauge>,
    pub live_disconnected: Family<Source, Counter<f64, std::sync::atomic::AtomicU64>>,
    pub kafka_lag: Family<Partition, Gauge>,
    pub result_writes: Counter,
    pub result_retries: Counter,
    pub checkpoint_save: Histogram,
    pub sql_queries: Counter,
    pub sql_query_duration: Histogram,
    pub resident_memory: Gauge,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Self {
        let seconds = || Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let mut m = Metrics {
            registry: Registry::with_prefix("tweetstream"),
            records: Counter::default(),
            bad_records: Family::default(),
            batches: Counter::default(),
            batch_processing: seconds(),
            batch_delay: seconds(),
            batch_records: Histogram::new(exponential_buckets(1.0, 4.0, 12)),
            tags_evicted: Counter::default(),
            source_connected: Family::default(),
            live_events: Family::default(),
            live_posts: Family::default(),
            live_skipped: Family::default(),
            live_reconnects: Family::default(),
            live_last_event: Family::default(),
            live_disconnected: Family::default(),
            kafka_lag: Family::default(),
            result_writes: Counter::default(),
            result_retries: Counter::default(),
            checkpoint_save: seconds(),
            sql_queries: Counter::default(),
            sql_query_duration: seconds(),
            resident_memory: Gauge::default(),
        };
        m.register_batches();
        m.register_sources();
        m.register_stores_and_sql();
        m
    }

    /// The batches' metrics.
    fn register_batches(&mut self) {
        let m = self;
        let r = &mut m.registry;
        r.register("records", "Records taken into closed batches, bad ones included", m.records.clone());
        r.register("bad_records", "Records skipped as bad, by reason", m.bad_records.clone());
        r.register("batches", "Batches closed", m.batches.clone());
        let s = Unit::Seconds;
        r.register_with_unit(
            "batch_processing",
            "Time to process a batch",
            s.clone(),
            m.batch_processing.clone(),
        );
        r.register_with_unit(
            "batch_delay",
            "How late a batch closed (scheduling delay)",
            s.clone(),
            m.batch_delay.clone(),
        );
        r.register("batch_records", "Records per batch", m.batch_records.clone());
        r.register(
            "tags_evicted",
            "Tags that left tag_totals for new ones (--max-tags)",
            m.tags_evicted.clone(),
        );
    }

    /// The sources' metrics.
    fn register_sources(&mut self) {
        let m = self;
        let r = &mut m.registry;
        r.register(
            "source_connected",
            "1 while the source is connected, per source",
            m.source_connected.clone(),
        );
        r.register("live_events", "Events a live source received", m.live_events.clone());
        r.register("live_posts", "Posts a live source passed on", m.live_posts.clone());
        r.register("live_skipped", "Events a live source skipped, by reason", m.live_skipped.clone());
        r.register("live_reconnects", "Connections of a live source that ended", m.live_reconnects.clone());
        r.register(
            "live_last_event_time",
            "Time of a live source's last event, in seconds since the epoch",
            m.live_last_event.clone(),
        );
        r.register_with_unit(
            "live_disconnected",
            "Time a live source that cannot replay spent reconnecting (its posts of that time are lost)",
            Unit::Seconds,
            m.live_disconnected.clone(),
        );
    }

    /// The stores', the SQL engine's and the process's metrics.
    fn register_stores_and_sql(&mut self) {
        let m = self;
        let r = &mut m.registry;
        let s = Unit::Seconds;
        r.register(
            "kafka_consumer_lag",
            "Messages in a partition beyond the group's committed offset",
            m.kafka_lag.clone(),
        );
        r.register("result_writes", "Batch parts stored in MongoDB", m.result_writes.clone());
        r.register(
            "result_retries",
            "MongoDB result writes retried after an error",
            m.result_retries.clone(),
        );
        r.register_with_unit(
            "checkpoint_save",
            "Time to save a batch's change to the checkpoint (one SQLite transaction)",
            s.clone(),
            m.checkpoint_save.clone(),
        );
        r.register("sql_queries", "SQL statements run", m.sql_queries.clone());
        r.register_with_unit(
            "sql_query_duration",
            "Time to run a SQL statement",
            s,
            m.sql_query_duration.clone(),
        );
        r.register_with_unit(
            "resident_memory",
            "Resident memory of the process",
            Unit::Bytes,
            m.resident_memory.clone(),
        );
    }

    /// The exposition in `format`, with each source's state (name,
    /// connected) as of now.
    pub fn render<'a>(&self, sources: impl IntoIterator<Item = (&'a str, bool)>, format: Format) -> String {
        for (name, connected) in sources {
            let source = Source { source: name.to_owned() };
            self.source_connected.get_or_create(&source).set(i64::from(connected));
        }
        self.resident_memory.set(resident_bytes().unwrap_or(0));
        let mut text = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        match format {
            Format::OpenMetrics => text,
            Format::Classic => classic(&text),
        }
    }
}

/// The two text formats a scraper may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 (`application/openmetrics-text`): the default.
    OpenMetrics,
    /// Prometheus' text format 0.0.4 (`text/plain`).
    Classic,
}

impl Format {
    /// The format an `Accept` header asks for, as Prometheus' own client
    /// libraries answer: OpenMetrics when it names OpenMetrics (with a weight
    /// above 0, not below `text/plain`'s), else the classic text format, which
    /// every parser reads (also with no header, or `*/*`, what a plain
    /// `requests.get` sends). Prometheus itself asks for OpenMetrics first.
    pub fn from_accept(accept: Option<&str>) -> Format {
        let (mut open, mut plain) = (None::<f32>, None::<f32>);
        for range in accept.unwrap_or("").split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let q =
                parts.filter_map(|p| p.strip_prefix("q=")).find_map(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            let slot = match media.as_str() {
                "application/openmetrics-text" => &mut open,
                "text/plain" => &mut plain,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |best| best.max(q)));
        }
        match (open, plain) {
            (Some(open), plain) if open > 0.0 && open >= plain.unwrap_or(0.0) => Format::OpenMetrics,
            _ => Format::Classic,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Classic => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// OpenMetrics text as the classic format: a counter's family is named by
/// its sample (`x_total`), and `# UNIT` and `# EOF` go (the classic parser
/// would take a counter's samples for a second, untyped family).
fn classic(open: &str) -> String {
    let counters: std::collections::HashSet<&str> =
        open.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter")).collect();
    let mut out = String::with_capacity(open.len());
    for line in open.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "].into_iter().find_map(|p| Some((p, line.strip_prefix(p)?)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let suffix = if counters.contains(name) { "_total" } else { "" };
                out += &format!("{prefix}{name}{suffix} {tail}\n");
            }
            None => {
                out += line;
                out.push('\n');
            }
        }
    }
    out
}

/// The process's resident memory (VmRSS), in bytes.
fn resident_bytes() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: i64 =
        status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_header_chooses_the_format() {
        use Format::*;
        for (accept, want) in [
            (None, Classic),
            (Some("*/*"), Classic),
            (Some("text/plain"), Classic),
            (Some("text/plain;version=0.0.4;q=0.9, */*;q=0.1"), Classic),
            (Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"), OpenMetrics),
            (Some("application/openmetrics-text;q=0.2, text/plain;q=0.8"), Classic),
            (Some("text/plain;q=0"), Classic),
            (Some("text/html"), Classic),
            (Some("application/openmetrics-text"), OpenMetrics),
            (Some("application/openmetrics-text;q=0, */*"), Classic),
        ] {
            assert_eq!(Format::from_accept(accept), want, "{accept:?}");
        }
    }

    #[test]
    fn classic_text_names_counter_families_by_their_samples() {
        let open = "# HELP x_records Records.\n# TYPE x_records counter\nx_records_total 3\n\
                    # HELP x_mem Memory.\n# TYPE x_mem gauge\n# UNIT x_mem bytes\nx_mem 7\n# EOF\n";
        assert_eq!(
            classic(open),
            "# HELP x_records_total Records.\n# TYPE x_records_total counter\nx_records_total 3\n\
             # HELP x_mem Memory.\n# TYPE x_mem gauge\nx_mem 7\n"
        );
    }
}
