//! The tools people browse a database with, against `stream --pg`: the
//! PostgreSQL JDBC driver's metadata (what DBeaver's navigator, Metabase's
//! sync and Tableau read; Debian's `libpostgresql-jdbc-java` with the small
//! program tests/clients/Browse.java), R's RPostgreSQL (DBI), pgcli's
//! completion, and psql's `\d+`, `\l`, `\dn`, `\df`, `\dv`. Each answer is
//! compared with what PostgreSQL 16 answers for tables of these names and
//! types, and with the run's tables as the HTTP API lists them.

use crate::clients::{clients_dir, json_output, script};
use crate::common::*;
use crate::sql::running_with;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

/// The live tables, as `GET /tables` lists them.
fn table_names(http: &str) -> Vec<String> {
    let (_, list) = http_get(http, "/tables");
    let mut names: Vec<String> =
        list["tables"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

/// A table's columns in order, as `GET /tables/NAME` gives them.
fn column_names(http: &str, table: &str) -> Vec<String> {
    let (_, body) = http_get(http, &format!("/tables/{table}"));
    body["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect()
}

/// The step `name` of a client's report, which must not be an error.
fn step<'a>(report: &'a Value, name: &str) -> &'a Value {
    let v = &report[name];
    assert!(v.get("error").is_none(), "{name} failed: {}", v["error"]);
    v
}

/// The five most counted tags (ties by tag), from the fixture.
fn top_five(lines: &[Expected]) -> Value {
    json!(top_n(count_tags(lines, twitter_tags), 5))
}

#[test]
fn jdbc_metadata_answers_as_postgres_does() {
    let jar = std::env::var("PGJDBC_JAR").unwrap_or_else(|_| "/usr/share/java/postgresql.jar".into());
    assert!(
        std::path::Path::new(&jar).exists(),
        "{jar} is missing: install libpostgresql-jdbc-java (scripts/packages.sh does) or set PGJDBC_JAR"
    );
    let r = running_with(&[], &[]);
    let mut java = Command::new("java");
    java.args(["-cp", &jar, &script("Browse.java"), &r.pg_port]);
    let report = json_output(java, Duration::from_secs(120));
    assert_eq!(step(&report, "product"), "PostgreSQL 16");
    assert_eq!(step(&report, "catalogs"), &json!(["tweetstream"]));
    // PostgreSQL 16 lists these three (pg_toast and temporary schemas are left out).
    assert_eq!(step(&report, "schemas"), &json!(["information_schema", "pg_catalog", "public"]));
    assert_eq!(step(&report, "tables"), &json!(table_names(&r.http)));
    assert_eq!(step(&report, "columns"), &json!({"tag": "text", "count": "int8"}));
    for keys in ["primary_keys", "indexes", "imported_keys", "exported_keys"] {
        assert_eq!(step(&report, keys), &json!([]), "{keys}: the tables have none");
    }
    assert_eq!(step(&report, "type_info"), true);
    let top: Vec<(String, u64)> = top_n(count_tags(&r.lines, twitter_tags), 5);
    let top: Vec<(String, u64)> = top.into_iter().filter(|(_, n)| *n >= 2).collect();
    assert_eq!(step(&report, "top"), &json!(top), "setInt parameters");
    // int4 + int4 is an int4 in PostgreSQL.
    assert_eq!(step(&report, "int_param"), "int4 42", "? + 1 with setInt(41)");
}

#[test]
fn r_dbi_lists_tables_and_fields_and_reads_them() {
    let r = running_with(&[], &[]);
    let mut rscript = Command::new("Rscript");
    rscript.args([&script("browse.R"), &r.pg_port]);
    let report = json_output(rscript, Duration::from_secs(120));
    assert_eq!(step(&report, "tables"), &json!(table_names(&r.http)));
    assert_eq!(step(&report, "fields"), &json!(column_names(&r.http, "sentiment_by_day")));
    assert_eq!(step(&report, "exists"), &json!([true, false]));
    let top = step(&report, "top");
    let want = top_five(&r.lines);
    let tags: Vec<&Value> = want.as_array().unwrap().iter().map(|p| &p[0]).collect();
    let counts: Vec<&Value> = want.as_array().unwrap().iter().map(|p| &p[1]).collect();
    assert_eq!(top["tag"], json!(tags));
    assert_eq!(top["count"], json!(counts));
    let mut days = std::collections::BTreeMap::<String, u64>::new();
    for l in &r.lines {
        if let Expected::Tweet { day: Some(day), .. } = l {
            *days.entry(day.clone()).or_default() += 1;
        }
    }
    let read = step(&report, "days");
    assert_eq!(read["date"], json!(days.keys().collect::<Vec<_>>()), "dbReadTable");
    assert_eq!(read["score_count"], json!(days.values().collect::<Vec<_>>()));
}

#[test]
fn pgcli_completes_the_tables_and_their_columns() {
    let dir = clients_dir();
    let r = running_with(&[], &[]);
    let mut python = Command::new(dir.join("venv/bin/python"));
    python.args([&script("pgcli_complete.py"), &r.pg_port]);
    let report = json_output(python, Duration::from_secs(120));
    assert_eq!(report["errors"], json!({}), "every completion refresher ran");
    assert_eq!(report["schemas"], json!(["information_schema", "pg_catalog", "public"]));
    let offered: Vec<&str> =
        report["tables"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    for table in table_names(&r.http) {
        assert!(offered.contains(&table.as_str()), "{table} is offered after FROM: {offered:?}");
    }
    let offered: Vec<&str> =
        report["columns"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    // pgcli quotes a column named as a keyword.
    for column in ["tag", "\"count\""] {
        assert!(offered.contains(&column), "{column} is offered in tag_totals' select list");
    }
}

/// psql's answer to a backslash command, unaligned with `|` between fields
/// (what it says on stderr after what it prints).
fn psql(port: &str, command: &str) -> String {
    // `timeout`: a deadline for the whole command, not only its connect.
    let out = Command::new("timeout")
        .args([
            "60",
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "-U",
            "tweetstream",
            "-d",
            "tweetstream",
            "-X",
            "-A",
            "-c",
            command,
        ])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("ERROR"), "psql {command}: {stderr}");
    String::from_utf8(out.stdout).unwrap() + &stderr
}

#[test]
fn psql_describes_tables_databases_schemas_and_functions() {
    let r = running_with(&[], &[]);
    // `\d+`: the columns in order with their types, storage as PostgreSQL
    // stores them (plain for numbers, extended for text), heap.
    let described = psql(&r.pg_port, "\\d+ sentiment_by_day");
    let rows: Vec<Vec<&str>> = described
        .lines()
        .skip(2)
        .take_while(|l| !l.starts_with('(') && l.contains('|'))
        .map(|l| l.split('|').collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(names, column_names(&r.http, "sentiment_by_day"), "{described}");
    let types: Vec<(&str, &str)> = rows.iter().map(|r| (r[1], r[5])).collect();
    assert_eq!(
        types,
        [
            ("text", "extended"),
            ("double precision", "plain"),
            ("bigint", "plain"),
            ("double precision", "plain"),
            ("text", "extended")
        ],
        "{described}"
    );
    assert!(described.contains("Access method: heap"), "{described}");
    let databases = psql(&r.pg_port, "\\l");
    assert!(databases.lines().any(|l| l.starts_with("tweetstream|tweetstream|UTF8|C|C|")), "{databases}");
    // PostgreSQL lists the user's schemas: not pg_catalog or information_schema.
    assert_eq!(psql(&r.pg_port, "\\dn"), "List of schemas\nName|Owner\npublic|tweetstream\n(1 row)\n");
    // No user functions, no views: PostgreSQL's answers on a new database.
    let functions = psql(&r.pg_port, "\\df");
    assert!(functions.ends_with("(0 rows)\n"), "{functions}");
    assert_eq!(psql(&r.pg_port, "\\dv"), "Did not find any relations.\n");
    let tables = psql(&r.pg_port, "\\dt+");
    let listed: Vec<&str> = tables
        .lines()
        .filter_map(|l| l.strip_prefix("public|"))
        .map(|l| l.split('|').next().unwrap())
        .collect();
    assert_eq!(listed, table_names(&r.http), "{tables}");
}
