//! SQL over the live tables, every way in, against a running engine fed by the
//! fixtures: `tweetstream query` (CLI → HTTP), `POST /sql`, and the PostgreSQL
//! wire protocol with the real `psql` client. Expected values are computed here
//! from the fixture, independently of the engine.

use crate::common::*;
use std::collections::BTreeMap;
use std::process::Command;

const ORIGINAL: &str = "select tag, count from tag_counts order by count desc limit 10";

pub struct Running {
    pub engine: Proc,
    _replay: Proc,
    pub http: String,
    pub pg_port: String,
    pub lines: Vec<Expected>,
}

/// An engine that has counted the whole tweets fixture in one batch, with HTTP
/// and Postgres listeners on free ports.
fn running() -> Running {
    running_with(&[], &[])
}

/// [`running`], with more `stream` arguments and environment variables.
pub fn running_with(extra: &[&str], env: &[(&str, &str)]) -> Running {
    let file = fixture("tweets.jsonl");
    let lines = expected_lines(&std::fs::read(&file).unwrap(), 1 << 20);
    let (replay, addr) = replay_listen(&file, "127.0.0.1:0", &[]);
    let mut args = vec!["stream", "--connect", &addr, "--batch", "manual", "--format", "json"];
    args.extend(["--print-every", "batch", "--http", "127.0.0.1:0", "--pg", "127.0.0.1:0"]);
    args.extend_from_slice(extra);
    let mut engine = Proc::spawn_env(&args, env);
    let http = logged_http_addr(&engine.wait_stderr("http: serving the tables on "));
    let pg = engine.wait_stderr("pg: serving SQL on postgresql://");
    let pg_port = pg.rsplit("-p ").next().unwrap().trim_end_matches(')').trim().to_owned();
    engine.wait_stderr(&format!("closed after {} lines", lines.len()));
    engine.tick();
    let printed = engine.next_json();
    // The timer print runs the original statement through the SQL path.
    assert_eq!(printed["query"], ORIGINAL);
    assert_eq!(printed["rows"], serde_json::json!(top10(&lines)));
    Running { engine, _replay: replay, http, pg_port, lines }
}

/// The original statement's answer, computed from the fixture (ties by tag).
fn top10(lines: &[Expected]) -> Vec<(String, u64)> {
    top_n(count_tags(lines, twitter_tags), 10)
}

/// Tweets per month, from the fixture.
fn per_month(lines: &[Expected]) -> BTreeMap<String, u64> {
    let mut months = BTreeMap::new();
    for l in lines {
        if let Expected::Tweet { day: Some(day), .. } = l {
            *months.entry(day[..7].to_owned()).or_default() += 1;
        }
    }
    months
}

/// `tweetstream query --server SERVER ARGS…`: (success, stdout, stderr).
pub fn query(server: &str, args: &[&str]) -> (bool, String, String) {
    query_env(server, args, &[])
}

/// [`query`] with more environment variables.
pub fn query_env(server: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .arg("query")
        .args(["--server", server])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// psql's unaligned `name,count` lines.
fn name_counts(out: &str) -> impl Iterator<Item = (String, u64)> + '_ {
    out.lines().map(|l| l.rsplit_once(',').unwrap()).map(|(name, n)| (name.to_owned(), n.parse().unwrap()))
}

fn psql(port: &str, sql: &str) -> (bool, String, String) {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", port, "-U", "tweetstream", "-X", "-A", "-t", "-F", ",", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("psql (package postgresql-client) is installed");
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

const JOIN: &str = "select b.records, count(t.tag) as tags, sum(t.count) as mentions \
                    from batches b join tag_counts t group by b.batch_time";
const BY_MONTH: &str = "select substr(date, 1, 7) as month, sum(score_count) as tweets \
                        from sentiment_by_day group by month order by month";

#[test]
fn the_cli_answers_through_http() {
    let r = running();
    let (ok, out, err) = query(&r.http, &["--format", "json", ORIGINAL]);
    assert!(ok, "{err}");
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["columns"], serde_json::json!(["tag", "count"]));
    assert_eq!(answer["rows"], serde_json::json!(top10(&r.lines)));

    let tags = count_tags(&r.lines, twitter_tags);
    let (ok, out, err) = query(&r.http, &["--format", "csv", JOIN]);
    assert!(ok, "{err}");
    let want =
        format!("records,tags,mentions\n{},{},{}\n", r.lines.len(), tags.len(), tags.values().sum::<u64>());
    assert_eq!(out, want);

    let (ok, out, err) = query(&r.http, &["--format", "csv", BY_MONTH]);
    assert!(ok, "{err}");
    let got: BTreeMap<String, u64> = out
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap())
        .map(|(m, n)| (m.into(), n.parse().unwrap()))
        .collect();
    assert_eq!(got, per_month(&r.lines));

    let (ok, _, err) = query(&r.http, &["selec tag from tag_counts"]);
    assert!(!ok && err.contains("syntax error"), "{err}");
    let (ok, _, err) = query(&r.http, &["select * from tweets"]);
    assert!(!ok && err.contains("no such table: tweets"), "{err}");
    let (ok, _, err) = query(&r.http, &["delete from tag_counts"]);
    assert!(!ok && err.contains("read-only"), "{err}");
    drop(r.engine);
}

#[test]
fn post_sql_answers_json_and_400_on_errors() {
    let r = running();
    let (status, body) = http_post(&r.http, "/sql", ORIGINAL);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"], serde_json::json!(top10(&r.lines)));
    assert!(body["batch_time"].is_string() && body["truncated"] == false, "{body}");
    let (status, body) = http_post(&r.http, "/sql", BY_MONTH);
    assert_eq!(status, 200, "{body}");
    let got: BTreeMap<String, u64> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row[0].as_str().unwrap().to_owned(), row[1].as_u64().unwrap()))
        .collect();
    assert_eq!(got, per_month(&r.lines));
    for (sql, needle) in [
        ("select nope from tag_counts", "no such column: nope"),
        ("create table t(x)", "read-only"),
        ("", "empty statement"),
    ] {
        let (status, body) = http_post(&r.http, "/sql", sql);
        assert_eq!(status, 400, "{sql}: {body}");
        assert!(body["error"].as_str().unwrap().contains(needle), "{sql}: {body}");
    }
}

/// Statements that would change the shared SQL engine for every later client.
const CHANGES: &[&str] = &[
    "PRAGMA hard_heap_limit=100000",
    "PRAGMA soft_heap_limit=100000",
    "PRAGMA temp_store_directory='/tmp'",
    "PRAGMA temp_store=file",
    "PRAGMA writable_schema=1",
    "PRAGMA query_only=0",
    "BEGIN",
    "SAVEPOINT s",
    "ATTACH ':memory:' AS m",
];

/// A query that needs about 400 KB of SQLite's memory, and its answer
/// (200 strings of 2,000 hex digits, joined by 199 commas).
const NEEDS_400KB: (&str, &str) = (
    "with recursive r(x) as (select 1 union all select x + 1 from r where x < 200) \
     select length(group_concat(hex(randomblob(1000)))) from r",
    "400199",
);

#[test]
fn no_client_can_change_the_sql_engine_over_http_or_postgres() {
    let r = running();
    let top = serde_json::json!(top10(&r.lines));
    for sql in CHANGES {
        let (status, body) = http_post(&r.http, "/sql", sql);
        assert_eq!(status, 400, "{sql}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("only queries are allowed"), "{sql}: {error}");
        let (ok, _, err) = psql(&r.pg_port, sql);
        if ["BEGIN", "SAVEPOINT s"].contains(sql) {
            // A Postgres client's transaction is its session's, never
            // SQLite's (a savepoint outside one is refused as Postgres does).
            assert_eq!(ok, *sql == "BEGIN", "{sql}: {err}");
        } else {
            assert!(!ok && err.contains("only queries are allowed"), "{sql}: {err}");
        }
        // Later clients are unaffected: the statement never ran.
        let (status, body) = http_post(&r.http, "/sql", ORIGINAL);
        assert_eq!((status, &body["rows"]), (200, &top), "after {sql}: {body}");
        let (status, body) = http_post(&r.http, "/sql", NEEDS_400KB.0);
        assert_eq!(status, 200, "after {sql}: {body}");
        assert_eq!(body["rows"][0][0].to_string(), NEEDS_400KB.1);
        let (ok, out, err) = psql(&r.pg_port, NEEDS_400KB.0);
        assert!(ok, "after {sql}: {err}");
        assert_eq!(out.trim(), NEEDS_400KB.1);
    }
    // Reading the tables' description is allowed.
    let (status, body) = http_post(&r.http, "/sql", "PRAGMA table_info(tag_counts)");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"].as_array().unwrap().len(), 2);
}

#[test]
fn a_large_sort_stays_in_memory_under_the_limit() {
    // With temporary files allowed, SQLite's sorter would spill to disk past a
    // few MB and this sort would succeed; kept in memory, it reaches the limit
    // and is stopped. Either way no file: SQLite's temp directory is ours.
    let tmp = std::env::temp_dir().join(format!("tweetstream-sql-tmp-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let dir = tmp.to_str().unwrap();
    let r = running_with(&["--sql-memory", "16MiB"], &[("SQLITE_TMPDIR", dir), ("TMPDIR", dir)]);
    let pid = r.engine.child.id();
    let before = peak_rss_kib(pid);
    let sort = "with recursive r(x) as (select 1 union all select x + 1 from r where x < 5000000) \
                select x from r order by hex(randomblob(50))";
    let (status, body) = http_post(&r.http, "/sql", sort);
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("memory limit of 16 MiB"), "{body}");
    let grown = peak_rss_kib(pid).saturating_sub(before);
    assert!(grown < (16 + 16) * 1024, "peak RSS grew by {grown} KiB for a 16 MiB limit");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "files in SQLite's temp directory");
    // The engine still answers.
    let (status, body) = http_post(&r.http, "/sql", ORIGINAL);
    assert_eq!((status, body["rows"].clone()), (200, serde_json::json!(top10(&r.lines))));
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn psql_queries_over_the_postgres_wire_protocol() {
    let r = running();
    let (ok, out, err) = psql(&r.pg_port, ORIGINAL);
    assert!(ok, "{err}");
    let rows: Vec<(String, u64)> = name_counts(&out).collect();
    assert_eq!(rows, top10(&r.lines));

    let tags = count_tags(&r.lines, twitter_tags);
    let (ok, out, err) = psql(&r.pg_port, JOIN);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("{},{},{}", r.lines.len(), tags.len(), tags.values().sum::<u64>()));

    let (ok, out, err) = psql(&r.pg_port, BY_MONTH);
    assert!(ok, "{err}");
    let got: BTreeMap<String, u64> = name_counts(&out).collect();
    assert_eq!(got, per_month(&r.lines));

    for (sql, needle) in [("select * from nope", "no such table: nope"), ("drop table batches", "read-only")]
    {
        let (ok, _, err) = psql(&r.pg_port, sql);
        assert!(!ok && err.contains("ERROR") && err.contains(needle), "{sql}: {err}");
    }
}

/// A real driver (tokio-postgres) speaks the extended protocol: Parse, Describe,
/// Bind and Execute, with binary results and typed parameters.
#[tokio::test(flavor = "current_thread")]
async fn a_postgres_driver_prepares_binds_and_reads_binary() {
    let r = tokio::task::spawn_blocking(running).await.unwrap();
    let config = format!("host=127.0.0.1 port={} user=tweetstream connect_timeout=10", r.pg_port);
    let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);

    let rows = client.query(ORIGINAL, &[]).await.unwrap();
    let got: Vec<(String, u64)> =
        rows.iter().map(|row| (row.get::<_, String>("tag"), row.get::<_, i64>("count") as u64)).collect();
    assert_eq!(got, top10(&r.lines));

    let rows = client.query(BY_MONTH, &[]).await.unwrap();
    let got: BTreeMap<String, u64> =
        rows.iter().map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1) as u64)).collect();
    assert_eq!(got, per_month(&r.lines));

    // Parameters: typed by the client, or left open (then typed by their use:
    // compared with `count`, an int8).
    let tags = count_tags(&r.lines, twitter_tags);
    let want = top_n(tags.into_iter().filter(|(_, n)| *n >= 2), usize::MAX);
    let typed = client
        .prepare_typed(
            "select tag, count from tag_totals where count >= $1 order by count desc, tag",
            &[tokio_postgres::types::Type::INT8],
        )
        .await
        .unwrap();
    for rows in [
        client.query(&typed, &[&2i64]).await.unwrap(),
        client
            .query("select tag, count from tag_totals where count >= $1 order by count desc, tag", &[&2i64])
            .await
            .unwrap(),
    ] {
        let got: Vec<(String, u64)> =
            rows.iter().map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1) as u64)).collect();
        assert_eq!(got, want);
    }
    // A computed float, sent in binary: bit for bit what HTTP answers.
    const AVG: &str = "select sum(score_sum) / sum(score_count) from sentiment_by_day";
    let avg: f64 = client.query_one(AVG, &[]).await.unwrap().get(0);
    let (status, body) = http_post(&r.http, "/sql", AVG);
    assert_eq!(status, 200, "{body}");
    assert_eq!(Some(avg), body["rows"][0][0].as_f64());

    for (sql, code) in
        [("select * from nope", "42P01"), ("drop table batches", "25006"), ("selec 1", "42601")]
    {
        let e = client.query(sql, &[]).await.unwrap_err();
        assert_eq!(e.as_db_error().map(|d| d.code().code()), Some(code), "{sql}: {e}");
    }
    // The connection is still usable after errors.
    assert_eq!(client.query(ORIGINAL, &[]).await.unwrap().len(), top10(&r.lines).len());
}

#[test]
fn query_against_a_server_that_never_answers_says_so() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let (ok, _, err) = query(&addr, &["--timeout", "1s", "select 1"]);
    assert!(!ok);
    assert!(err.contains(&format!("no answer from {addr} within 1s")), "{err}");
    drop(silent);
    let (ok, _, err) = query(&addr, &["select 1"]);
    assert!(!ok && err.contains("cannot reach the engine"), "{err}");
}

/// What Postgres clients send before and around their queries: transactions
/// and savepoints, SET and SHOW, casts, `LIMIT $1`, the catalog behind psql's
/// `\dt` and `\d`, `COPY … TO STDOUT`, and a result over the row limit, which
/// is an error rather than a silent cut.
#[tokio::test(flavor = "current_thread")]
async fn postgres_clients_get_transactions_catalog_copy_and_no_silent_cut() {
    let r = tokio::task::spawn_blocking(|| running_with(&["--sql-max-rows", "10"], &[])).await.unwrap();
    let tags = count_tags(&r.lines, twitter_tags);
    assert!(tags.len() > 10, "the fixture has more tags than the row limit");
    let top3 = top_n(tags.clone(), 3);

    // psql: one simple query of several statements, in a transaction.
    let (ok, out, err) = psql(
        &r.pg_port,
        "BEGIN; SET application_name = 'lab'; SHOW application_name; \
         select tag, count from tag_totals order by count desc, tag limit 3; SAVEPOINT a; \
         ROLLBACK TO a; COMMIT",
    );
    assert!(ok, "{err}");
    // psql prints each command's tag between the results.
    let lines: Vec<&str> =
        out.lines().filter(|l| !["BEGIN", "SET", "SAVEPOINT", "ROLLBACK", "COMMIT"].contains(l)).collect();
    assert_eq!(
        out.lines().filter(|l| ["BEGIN", "SET", "SAVEPOINT", "ROLLBACK", "COMMIT"].contains(l)).count(),
        5,
        "{out}"
    );
    assert_eq!(lines[0], "lab");
    let got: Vec<(String, u64)> = name_counts(&lines[1..4].join("\n")).collect();
    assert_eq!(got, top3);

    // psql's \dt and \d read the catalog.
    let (ok, out, err) = psql(&r.pg_port, "\\dt");
    assert!(ok, "{err}");
    let listed: Vec<&str> = out.lines().filter_map(|l| l.split(',').nth(1)).collect();
    let (_, tables) = http_get(&r.http, "/tables");
    let mut want: Vec<&str> =
        tables["tables"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    want.sort_unstable();
    assert_eq!(listed, want);
    let (ok, out, err) = psql(&r.pg_port, "\\d tag_totals");
    assert!(ok, "{err}");
    let columns: Vec<(&str, &str)> = out
        .lines()
        .filter_map(|l| l.split_once(','))
        .map(|(c, rest)| (c, rest.split(',').next().unwrap()))
        .collect();
    assert_eq!(columns, [("tag", "text"), ("count", "bigint")]);

    // COPY (query) TO STDOUT as CSV with a header.
    let (ok, out, err) = psql(
        &r.pg_port,
        "COPY (select tag, count from tag_totals order by count desc, tag limit 3) TO STDOUT WITH (FORMAT csv, HEADER)",
    );
    assert!(ok, "{err}");
    let mut want_csv = String::from("tag,count\n");
    for (tag, n) in &top3 {
        want_csv += &format!("{tag},{n}\n");
    }
    assert_eq!(out, want_csv);

    // A driver: LIMIT $1 and a cast, in a transaction; then the row limit.
    let config = format!("host=127.0.0.1 port={} user=tweetstream connect_timeout=10", r.pg_port);
    let (mut client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let tx = client.transaction().await.unwrap();
    let rows = tx
        .query("select tag, count::text from tag_totals order by count desc, tag limit $1", &[&3i64])
        .await
        .unwrap();
    let got: Vec<(String, u64)> =
        rows.iter().map(|row| (row.get::<_, String>(0), row.get::<_, String>(1).parse().unwrap())).collect();
    assert_eq!(got, top3);
    tx.commit().await.unwrap();
    let err = client.query("select tag from tag_totals", &[]).await.unwrap_err();
    let db = err.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "54000", "{db:?}");
    assert!(db.message().contains("--sql-max-rows"), "{}", db.message());
    let (ok, _, err) = psql(&r.pg_port, "COPY tag_totals TO STDOUT");
    assert!(!ok && err.contains("--sql-max-rows"), "{err}");
}
