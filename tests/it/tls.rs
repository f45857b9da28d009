//! TLS on the listeners (`--tls-cert`, `--tls-key`) with the test
//! certificates of tests/data/tls: HTTPS for a table and the dashboard,
//! PostgreSQL clients with `sslmode=verify-full` (psycopg, psycopg2, psql),
//! cancels, plain text refused on both, and a certificate renewed on disk
//! served without a restart. What the clients read is compared with counts
//! made here from the fixture.

use crate::clients::{clients_dir, json_output, script};
use crate::common::*;
use crate::sql::{query, running_with};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A file of tests/data/tls (the test CA and certificates).
pub fn tls_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls").join(name)
}

/// Replaces `to` with `from` at once (a rename), as certbot's renewal does.
fn install(from: &Path, to: &Path) {
    let staged = to.with_extension("new");
    std::fs::copy(from, &staged).unwrap();
    std::fs::rename(&staged, to).unwrap();
}

#[test]
fn clients_read_over_tls_only_and_a_renewed_certificate_is_served_without_a_restart() {
    let python = clients_dir().join("venv/bin/python");
    let dir = std::env::temp_dir().join(unique("tls"));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    install(&tls_data("server.pem"), &cert);
    install(&tls_data("server.key"), &key);
    let (cert_arg, key_arg) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let extra =
        ["--tls-cert", cert_arg, "--tls-key", key_arg, "--dashboard", "127.0.0.1:0", "--sql-timeout", "600s"];
    let mut r = running_with(&extra, &[]);
    let seen = r.engine.stderr_seen.iter().find(|l| l.contains("dashboard: open https://"));
    let dashboard = logged_http_addr(seen.expect("the dashboard's URL is logged, as https"));
    // The log says until when the certificate is valid (read here by openssl).
    let end =
        Command::new("openssl").args(["x509", "-enddate", "-noout", "-in"]).arg(&cert).output().unwrap();
    let end = String::from_utf8_lossy(&end.stdout);
    let end = end.trim().trim_start_matches("notAfter=");
    let until =
        chrono::NaiveDateTime::parse_from_str(end, "%b %e %H:%M:%S %Y GMT").unwrap().format("%Y-%m-%d");
    let served = r.engine.stderr_seen.iter().find(|l| l.contains("tls: serving"));
    assert!(served.is_some_and(|l| l.contains(&format!("(localhost), valid until {until}"))), "{served:?}");
    let port = |addr: &str| addr.rsplit(':').next().unwrap().to_owned();
    let ca = tls_data("ca.pem");
    let ca = ca.to_str().unwrap();

    let mut clients = Command::new(&python);
    clients.args([&script("tls.py"), "clients", &port(&r.http), &port(&dashboard), &r.pg_port, ca]);
    let report = json_output(clients, Duration::from_secs(120));
    let tags = count_tags(&r.lines, twitter_tags);
    assert_eq!(table_counts(&report["table"]), tags, "{report}");
    assert_eq!(report["by_name"], 200, "the certificate names localhost too: {report}");
    assert_eq!(report["dashboard"], true, "{report}");
    let plain = &report["plain_http"];
    assert_eq!(plain["status"], 400, "plain HTTP on the HTTPS port: {report}");
    assert!(plain["body"].as_str().unwrap_or_default().contains("use https://"), "{report}");
    let pg = &report["postgres"];
    assert_eq!(pg["count"], tags.len(), "{report}");
    assert_eq!(pg["direct"], tags.len(), "direct TLS (sslnegotiation=direct): {report}");
    assert_eq!((pg["ssl_in_use"].as_bool(), pg["cancel"].as_str()), (Some(true), Some("57014")), "{report}");
    assert_eq!(report["psycopg2_cancel"], "57014", "a plain-text CancelRequest is still taken: {report}");
    let refused =
        report["plain_postgres"]["error"].as_str().unwrap_or_else(|| panic!("plain text let in: {report}"));
    assert!(refused.contains("TLS connections only") && refused.contains("sslmode=require"), "{refused}");

    // tweetstream's own client, once and following.
    let https = format!("https://{}", r.http);
    let count = ["--format", "csv", "select count(*) as n from tag_totals"];
    let (ok, out, err) = query(&https, &[&["--ca-cert", ca][..], &count].concat());
    assert!(ok, "{err}");
    assert_eq!(out, format!("n\n{}\n", tags.len()));
    let (ok, _, err) = query(&r.http, &count);
    assert!(
        !ok && err.contains("takes HTTPS only") && err.contains("use https://"),
        "plain text to TLS: {err}"
    );
    let (ok, _, err) = query(&https, &count);
    assert!(!ok && err.contains("--ca-cert"), "a certificate of an unknown CA: {err}");
    let sql = "select count(*) as n from tag_totals";
    let mut follow =
        Proc::spawn(&["query", "--follow", "--server", &https, "--ca-cert", ca, "--format", "json", sql]);
    assert_eq!(follow.next_json()["rows"], serde_json::json!([[tags.len()]]), "--follow over TLS");
    follow.child.kill().unwrap();

    // psql (libpq 15: no ALPN, the classic SSLRequest) verifying the certificate.
    let psql = Command::new("psql")
        .args(["-h", "localhost", "-p", &r.pg_port, "-U", "analyst", "-X", "-A", "-t"])
        .args(["-c", "select count(*) from tag_totals"])
        .envs([("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", ca), ("PGCONNECT_TIMEOUT", "10")])
        .output()
        .expect("psql (package postgresql-client) is installed");
    assert!(psql.status.success(), "{}", String::from_utf8_lossy(&psql.stderr));
    assert_eq!(String::from_utf8_lossy(&psql.stdout).trim(), tags.len().to_string());

    // Renewed on disk: the next connections get the new certificate (an RSA
    // one), on every listener, without a restart.
    install(&tls_data("renewed.key"), &key);
    install(&tls_data("renewed.pem"), &cert);
    for listener in [port(&r.http), port(&dashboard)] {
        let mut served = Command::new(&python);
        served.args([&script("tls.py"), "served", &listener, ca, tls_data("renewed.pem").to_str().unwrap()]);
        let report = json_output(served, Duration::from_secs(60));
        assert_eq!(report["last"], report["want"], "the renewed certificate is served: {report}");
    }
    let psql = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &r.pg_port, "-U", "analyst", "-X", "-A", "-t", "-c", "select 1"])
        .envs([("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", ca), ("PGCONNECT_TIMEOUT", "10")])
        .output()
        .unwrap();
    assert!(psql.status.success(), "after the renewal: {}", String::from_utf8_lossy(&psql.stderr));
    r.engine.wait_stderr("changed: serving the new certificate");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_key_that_is_not_the_certificates_is_an_error_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["stream", "--file", &fixture("tweets.jsonl"), "--http", "127.0.0.1:0"])
        .args(["--tls-cert", tls_data("server.pem").to_str().unwrap()])
        .args(["--tls-key", tls_data("renewed.key").to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("renewed.key is not the key of the certificate in --tls-cert"), "{stderr}");
    let alone = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["stream", "--file", &fixture("tweets.jsonl"), "--tls-cert", "x.pem"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&alone.stderr);
    assert!(!alone.status.success() && stderr.contains("--tls-key"), "{stderr}");
}

/// A self-signed certificate made as the docs suggest (`openssl req -x509`),
/// which is its own CA: `query --ca-cert` with that very file trusts it;
/// another self-signed certificate given as `--ca-cert` is refused.
#[test]
fn query_trusts_a_self_signed_certificate_given_as_its_own_ca() {
    let dir = std::env::temp_dir().join(unique("selfsigned"));
    std::fs::create_dir_all(&dir).unwrap();
    let make = |name: &str| {
        let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args([
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl is installed");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (cert.to_str().unwrap().to_owned(), key.to_str().unwrap().to_owned())
    };
    let ((cert, key), (other, _)) = (make("self"), make("other"));
    let r = running_with(&["--tls-cert", &cert, "--tls-key", &key], &[]);
    let https = format!("https://{}", r.http);
    let count = ["--format", "csv", "select count(*) as n from tag_totals"];
    let (ok, out, err) = query(&https, &[&["--ca-cert", cert.as_str()][..], &count].concat());
    assert!(ok, "{err}");
    assert_eq!(out, format!("n\n{}\n", count_tags(&r.lines, twitter_tags).len()));
    let (ok, _, err) = query(&https, &[&["--ca-cert", other.as_str()][..], &count].concat());
    assert!(!ok && err.contains("certificate") && err.contains("--ca-cert"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
