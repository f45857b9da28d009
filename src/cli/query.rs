//! `tweetstream query`: one SQL statement against a running engine's live
//! tables, sent to its HTTP endpoint (`stream --http ADDR`, `POST /sql`).

use crate::sinks::print::write_aligned;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(after_help = "Example (with `tweetstream stream … --http 127.0.0.1:8080` running):\n  \
tweetstream query \"select tag, count from tag_counts order by count desc limit 10\"")]
pub struct Args {
    /// The statement (read-only SQL over tag_counts, tag_totals, tag_window,
    /// sentiment_by_day, batches).
    #[arg(value_name = "SQL")]
    pub sql: String,

    /// The engine's HTTP address (its --http).
    #[arg(long, default_value = "127.0.0.1:8080", env = "TWEETSTREAM_HTTP", value_name = "HOST:PORT")]
    pub server: String,

    /// Output: aligned columns, one JSON object, or CSV with a header.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// How long to wait for the engine to connect and answer.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = super::values::duration)]
    pub timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (status, body) = post(&args.server, "/sql", &args.sql, args.timeout)?;
    let answer: Value = serde_json::from_str(&body)
        .map_err(|e| anyhow::anyhow!("{} answered something that is not JSON ({e}): {body}", args.server))?;
    if status != 200 {
        let msg = answer["error"].as_str().unwrap_or(&body);
        anyhow::bail!("{msg}");
    }
    let columns: Vec<String> = answer["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c.as_str().unwrap_or("").to_owned())
        .collect();
    let rows: Vec<Vec<Value>> = answer["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r.as_array().cloned().unwrap_or_default())
        .collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{answer}")?,
        Format::Table => write_aligned(&mut out, &columns, &rows)?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&columns)?;
            for row in &rows {
                w.write_record(row.iter().map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                }))?;
            }
            w.flush()?;
        }
    }
    if answer["truncated"] == true {
        eprintln!("query: the result was cut at the engine's row limit (--sql-max-rows)");
    }
    Ok(())
}

/// A minimal HTTP/1.1 POST (the engine answers with a Content-Length and
/// closes), giving up after `timeout`.
fn post(server: &str, path: &str, body: &str, timeout: Duration) -> anyhow::Result<(u16, String)> {
    let unreachable = |e: std::io::Error| {
        anyhow::anyhow!(
            "cannot reach the engine at {server} ({e}); is `tweetstream stream --http {server}` running?"
        )
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(server)
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{server}: no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(unreachable)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let silent = |e: std::io::Error| {
        if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
            anyhow::anyhow!(
                "no answer from {server} within {timeout:?} (--timeout): something listens there, \
                 but it is not answering like an engine's --http"
            )
        } else {
            anyhow::anyhow!("{server}: {e}")
        }
    };
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {server}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(silent)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(silent)?;
    let response = String::from_utf8_lossy(&response);
    let (head, rest) =
        response.split_once("\r\n\r\n").ok_or_else(|| anyhow::anyhow!("{server}: not an HTTP response"))?;
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, rest.to_owned()))
}
