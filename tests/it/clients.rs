//! The client libraries users analyse data with, driven as they would drive
//! them against PostgreSQL (tests/clients/postgres.py and postgres.js): psycopg
//! 3 and psycopg2 in their default (transactional) mode, pandas through
//! SQLAlchemy with both drivers, an asyncpg pool, node-postgres with a `Date`
//! parameter, and a cancelled query; and the examples of docs/sql.md.
//! `scripts/clients.sh` installs them (pinned;
//! `scripts/test.sh` runs it). What they answer is compared with counts made
//! here from the fixture, independently of the engine.

use crate::common::*;
use crate::sql::running_with;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where `scripts/clients.sh` installed the clients.
pub fn clients_dir() -> PathBuf {
    let dir = std::env::var_os("CLIENTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".services/clients"));
    assert!(
        dir.join("installed").exists(),
        "the client libraries are not installed in {}: run scripts/clients.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

pub fn script(name: &str) -> String {
    format!("{}/tests/clients/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `command` to its end, within `limit`; its stdout as JSON.
pub fn json_output(command: Command, limit: Duration) -> Value {
    let stdout = text_output(command, limit);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("no JSON printed ({e}): {stdout}"))
}

/// Runs `command` to its end, within `limit`; its stdout (it must succeed).
fn text_output(mut command: Command, limit: Duration) -> String {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{command:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{command:?}: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout.into_owned()
}

/// What every client must answer, from the fixture.
struct Want {
    /// The five most used tags counted at least twice (ties by tag).
    tags: Value,
    /// `[[day, tweets]]` for the fixture's busiest day.
    day: Value,
    /// Distinct tags.
    tag_count: usize,
    /// `{day: tweets}`.
    days: Value,
    /// The top three as CSV with a header.
    csv: String,
}

fn want(lines: &[Expected]) -> (String, Want) {
    let counts = count_tags(lines, twitter_tags);
    let at_least_two = counts.iter().filter(|(_, n)| **n >= 2).map(|(t, n)| (t.clone(), *n));
    let tags = json!(top_n(at_least_two, 5));
    let mut days: BTreeMap<&str, u64> = BTreeMap::new();
    for l in lines {
        if let Expected::Tweet { day: Some(day), .. } = l {
            *days.entry(day).or_default() += 1;
        }
    }
    let (day, n) = days.iter().max_by_key(|(d, n)| (**n, std::cmp::Reverse(**d))).unwrap();
    let mut csv = String::from("tag,count\n");
    for (tag, n) in top_n(counts.clone(), 3) {
        csv += &format!("{tag},{n}\n");
    }
    let want = Want { tags, day: json!([[day, n]]), tag_count: counts.len(), days: json!(days), csv };
    (day.to_string(), want)
}

fn no_error(report: &Value, client: &str) -> Value {
    let answers = report[client].clone();
    assert!(answers.is_object(), "{client} reported nothing: {report}");
    assert!(answers.get("error").is_none(), "{client} failed:\n{}", answers["error"].as_str().unwrap_or(""));
    answers
}

#[test]
fn python_clients_in_their_default_modes_pandas_asyncpg_and_a_cancel() {
    let dir = clients_dir();
    // A long time limit, so that only a cancel can stop the long query.
    let r = running_with(&["--sql-timeout", "600s"], &[]);
    let (day, want) = want(&r.lines);
    let mut python = Command::new(dir.join("venv/bin/python"));
    python.args([&script("postgres.py"), &r.pg_port, &day]);
    let report = json_output(python, Duration::from_secs(180));

    for client in ["psycopg2", "psycopg", "asyncpg"] {
        let got = no_error(&report, client);
        assert_eq!(got["tags"], want.tags, "{client}");
        assert_eq!(got["day"], want.day, "{client}: the day given as a date parameter");
        assert_eq!(got["tx_tag_count"], want.tag_count, "{client}: in a transaction");
        assert_eq!(got["copy"], want.csv, "{client}: COPY … TO STDOUT (FORMAT csv, HEADER)");
    }
    let psycopg2 = no_error(&report, "psycopg2");
    assert_eq!(psycopg2["status_in_transaction"], true, "psycopg2 opened a transaction itself");
    let psycopg = no_error(&report, "psycopg");
    assert_eq!(psycopg["server_cursor"], want.tags, "psycopg's server-side cursor with parameters");
    let parameters = psycopg["startup_parameters"].as_object().unwrap();
    for (name, [at_startup, shown]) in parameters.iter().map(|(n, v)| (n, [&v[0], &v[1]])) {
        assert_eq!(at_startup, shown, "{name}: the startup ParameterStatus and SHOW agree");
    }
    let read_only = (&parameters["default_transaction_read_only"][0], &parameters["is_superuser"][0]);
    assert_eq!(read_only, (&json!("on"), &json!("off")), "a read-only server, no superuser");
    let cancel = &psycopg["cancel"];
    assert_eq!(cancel["sqlstate"], "57014", "{cancel}");
    assert!(cancel["message"].as_str().unwrap().contains("user request"), "{cancel}");
    assert_eq!(cancel["after"], 1, "the connection serves on after a cancel");
    let types = no_error(&report, "psycopg_types");
    assert_eq!(types["plus_one"], 5 + 1, "select %s + 1 with 5 is a number");
    assert_eq!(types["plus_one_oid"], 23, "an int2 parameter plus 1 is an int4, as in PostgreSQL");
    assert_eq!(types["bool"], true, "select %s with True is a boolean");
    assert_eq!(types["casts"], json!([7, 8, true]), "{types}");
    assert_eq!(types["cast_oids"], json!([23, 21, 16]), "int4, int2, bool: {types}");
    assert_eq!(types["binary"], json!([1, 2, true, 1.5]), "in binary: {types}");
    // The first batch's time sent as Tokyo's local time is that instant.
    assert_eq!(types["instant_at"], 1, "the first batch, at its instant: {types}");
    assert_eq!(types["instant_before"], 0, "a second before it: {types}");
    let asyncpg = no_error(&report, "asyncpg");
    assert_eq!(asyncpg["pool_counts"], json!(vec![want.tag_count; 4]), "every pooled connection, reset");
    let pandas = no_error(&report, "pandas");
    for driver in ["psycopg", "psycopg2"] {
        assert_eq!(pandas[driver], want.tags, "pandas.read_sql through SQLAlchemy with {driver}");
        assert_eq!(pandas[format!("{driver}_table")], want.days, "pandas.read_sql_table with {driver}");
    }
}

#[test]
fn node_postgres_with_a_date_parameter_selects_its_own_day() {
    let dir = clients_dir();
    let r = running_with(&[], &[]);
    let (day, want) = want(&r.lines);
    // East of UTC: local midnight is the day before in UTC, which a server
    // that converted the timestamp node sends would select instead.
    let node = |zone: &str| {
        let mut node = Command::new("node");
        node.args([&script("postgres.js"), &r.pg_port, &day])
            .env("NODE_PATH", dir.join("node_modules"))
            .env("TZ", zone);
        let got = json_output(node, Duration::from_secs(60));
        assert!(got.get("error").is_none(), "node pg failed:\n{}", got["error"].as_str().unwrap_or(""));
        got
    };
    let got = node("Asia/Tokyo");
    assert_eq!(got["offset_minutes"], -540, "node runs in Tokyo's time zone");
    assert_eq!(got["day"], want.day);
    assert_eq!(got["tags"], want.tags);
    assert_eq!(got["tx_tag_count"], want.tag_count);
    assert_eq!(got["int_cast"], json!([41, 23]), "$1::int is an int4, read as a number");
    assert_eq!(got["day_by_string"], want.day, "the day as a string");
    // West of UTC, `new Date(day)` (UTC midnight) is sent as the evening
    // before, local time; as a date that is the day before, as in PostgreSQL.
    let got = node("America/New_York");
    assert_eq!(got["day_by_string"], want.day, "the day as a string, in any zone");
    let before = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap().pred_opt().unwrap().to_string();
    let expected: Vec<&str> = want.days.get(&before).map(|_| before.as_str()).into_iter().collect();
    assert_eq!(got["utc_midnight"], json!(expected), "UTC midnight of {day} sent from New York");
}

/// The ```python blocks of docs/sql.md, with the port they name.
fn doc_examples() -> Vec<String> {
    let doc = std::fs::read_to_string(format!("{}/docs/sql.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    doc.split("```python\n").skip(1).map(|b| b.split("```").next().unwrap().to_owned()).collect()
}

#[test]
fn the_examples_of_docs_sql_md_run_and_answer_the_fixtures_counts() {
    let dir = clients_dir();
    let r = running_with(&[], &[]);
    let counts = count_tags(&r.lines, twitter_tags);
    let top: String = top_n(counts.into_iter().filter(|(_, n)| *n >= 2), 10)
        .iter()
        .map(|(tag, n)| format!("{tag} {n}\n"))
        .collect();
    let mut days: BTreeMap<&str, u64> = BTreeMap::new();
    for l in &r.lines {
        if let Expected::Tweet { day: Some(day), .. } = l {
            *days.entry(day).or_default() += 1;
        }
    }
    let by_day: String = std::iter::once("date,score_count\n".to_owned())
        .chain(days.iter().map(|(d, n)| format!("{d},{n}\n")))
        .collect();

    let examples = doc_examples();
    assert_eq!(examples.len(), 3, "docs/sql.md shows psycopg, pandas and asyncpg");
    for example in examples {
        assert!(example.contains("5433"), "an example names the port of the docs: {example}");
        let code = example.replace("5433", &r.pg_port);
        let mut python = Command::new(dir.join("venv/bin/python"));
        python.args(["-c", &code]);
        let out = text_output(python, Duration::from_secs(120));
        let want = if example.contains("import pandas") { &by_day } else { &top };
        assert_eq!(&out, want, "{example}");
    }
}

/// The reasons a record is bad, as `/metrics` labels them.
const BAD_REASONS: [&str; 5] = [
    "invalid UTF-8",
    "not a JSON object",
    "no tweet text",
    "line longer than --max-line-bytes",
    "line cut off by a closed connection",
];

/// polars' `read_database_uri` and connectorx with their defaults (a binary
/// COPY of the query) read the tables: tags and per-day counts equal the
/// fixture's, with integer and text columns typed as such.
#[test]
fn polars_and_connectorx_read_the_tables_with_their_defaults() {
    let dir = clients_dir();
    let r = running_with(&[], &[]);
    let (_, want) = want(&r.lines);
    let mut python = Command::new(dir.join("venv/bin/python"));
    python.args([&script("polars_read.py"), &r.pg_port]);
    let report = json_output(python, Duration::from_secs(120));
    let polars = no_error(&report, "polars");
    assert_eq!(polars["counts"], json!(count_tags(&r.lines, twitter_tags)), "{report}");
    assert_eq!(polars["dtypes"], json!(["String", "Int64"]), "{report}");
    let cx = no_error(&report, "connectorx");
    assert_eq!(cx["counts"], want.days, "{report}");
    assert_eq!(cx["types"], json!(["string", "int64", "double"]), "{report}");
}

#[test]
fn pandas_reads_tables_and_both_prometheus_parsers_read_the_metrics() {
    let dir = clients_dir();
    let r = running_with(&[], &[]);
    let (_, want) = want(&r.lines);
    let mut python = Command::new(dir.join("venv/bin/python"));
    python.args([&script("http_endpoint.py"), &r.http]);
    let report = json_output(python, Duration::from_secs(120));

    let tables = no_error(&report, "tables");
    assert_eq!(tables["read_json"], want.days, "pandas.read_json of ?format=records");
    let counts = count_tags(&r.lines, twitter_tags);
    assert_eq!(tables["read_csv"], json!(counts), "pandas.read_csv of ?format=csv");

    let bad = r.lines.iter().filter(|l| matches!(l, Expected::Bad)).count() as f64;
    for (step, content_type) in [
        ("classic", "text/plain; version=0.0.4"),
        ("prometheus", "application/openmetrics-text; version=1.0.0"),
        ("no_accept", "text/plain; version=0.0.4"),
        ("any", "text/plain; version=0.0.4"),
    ] {
        let got = no_error(&report, step);
        assert!(got["content_type"].as_str().unwrap().starts_with(content_type), "{step}: {got}");
        let families = got["families"].as_object().unwrap();
        for (name, family) in families {
            assert_ne!(family["type"], "unknown", "{step}: {name} was not typed: {family}");
        }
        let samples = |family: &str| families[family]["samples"].as_array().unwrap().clone();
        let records = samples("tweetstream_records");
        assert_eq!(families["tweetstream_records"]["type"], "counter", "{step}");
        assert_eq!(records[0][0], "tweetstream_records_total", "{step}");
        assert_eq!(records[0][2], r.lines.len() as f64, "{step}");
        // Every reason, from the start; their sum is the bad lines.
        let reasons: BTreeMap<String, f64> = samples("tweetstream_bad_records")
            .iter()
            .filter(|s| s[0] == "tweetstream_bad_records_total")
            .map(|s| (s[1]["reason"].as_str().unwrap().to_owned(), s[2].as_f64().unwrap()))
            .collect();
        let mut named: Vec<&str> = reasons.keys().map(String::as_str).collect();
        named.sort_unstable();
        let mut all = BAD_REASONS;
        all.sort_unstable();
        assert_eq!(named, all, "{step}: every reason is there, at 0 if none");
        assert_eq!(reasons.values().sum::<f64>(), bad, "{step}");
        assert_eq!(samples("tweetstream_batches")[0][2], 1.0, "{step}");
    }
    let (_, health) = http_get(&r.http, "/health");
    assert_eq!(health["batches"], 1, "/health counts the batches closed");
}

#[test]
fn with_a_token_postgres_clients_log_in_with_it_checked_by_scram() {
    let dir = clients_dir();
    let token = "pg-t0ken-of-this-test";
    let r = running_with(&["--sql-timeout", "600s"], &[("TWEETSTREAM_TOKEN", token)]);
    let mut python = Command::new(dir.join("venv/bin/python"));
    python.args([&script("password.py"), &r.pg_port, token, "not-the-token"]);
    let report = json_output(python, Duration::from_secs(120));
    assert_eq!(report["right"], count_tags(&r.lines, twitter_tags).len(), "{report}");
    assert_eq!(report["cancel"], "57014", "a cancel works on a connection that logged in");
    let wrong = report["wrong"].as_str().unwrap();
    assert!(wrong.contains("for user \"analyst\""), "the message names the user: {wrong}");
    for refused in ["wrong", "none"] {
        let message = report[refused].as_str().unwrap();
        assert!(
            message.contains("authentication failed") || message.contains("no password supplied"),
            "{refused}: {message}"
        );
    }
    // SCRAM: the password never crossed the wire, so no log holds it.
    let mut engine = r.engine;
    engine.terminate();
    let stderr = engine.rest_of_stderr();
    assert!(!stderr.contains(token) && !stderr.contains("not-the-token"), "{stderr}");
}
