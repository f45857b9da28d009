//! `tweetstream query`: one SQL statement against a running engine's live
//! tables, sent to its HTTP endpoint (`stream --http ADDR`, `POST /sql`);
//! with `--follow`, its result after every batch (`GET /sql/watch`, pushed as
//! Server-Sent Events). How it connects (TLS, the token) is in
//! [`super::engine_http`].

use super::engine_http::Engine;
use crate::sinks::print::write_aligned;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(after_help = "Example (with `tweetstream stream … --http 127.0.0.1:8080` running):\n  \
tweetstream query \"select tag, count from tag_counts order by count desc limit 10\"")]
pub struct Args {
    /// The statement (read-only SQL over tag_counts, tag_totals, tag_window,
    /// sentiment_by_day, batches).
    #[arg(value_name = "SQL")]
    pub sql: String,

    /// The engine's HTTP address (its --http); https://HOST:PORT for an
    /// engine run with --tls-cert.
    #[arg(long, default_value = "127.0.0.1:8080", env = "TWEETSTREAM_HTTP", value_name = "HOST:PORT")]
    pub server: String,

    /// With https://: trust the certificates of this PEM file (your own CA,
    /// or a self-signed certificate) instead of the public CAs.
    #[arg(long, value_name = "PATH")]
    pub ca_cert: Option<std::path::PathBuf>,

    /// The engine's token, when it asks for one: read from this file (its
    /// first line), else from $TWEETSTREAM_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,

    /// Output: aligned columns, one JSON object, or CSV with a header.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// How long to wait for the engine to connect and answer.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = super::values::duration)]
    pub timeout: Duration,

    /// Keep going: print the result again after every batch, as the engine
    /// pushes it, until the engine stops (or Ctrl-C).
    #[arg(long)]
    pub follow: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let token = super::stream::token(args.token_file.as_deref())?;
    let engine = Engine::new(&args.server, args.ca_cert.as_deref(), token)?;
    if args.follow {
        return follow(&args, &engine);
    }
    let failed = |e| engine.failed(args.timeout, e);
    let mut stream = engine.connect(args.timeout)?.io;
    let request = format!(
        "POST /sql HTTP/1.1\r\n{}Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        engine.headers(),
        args.sql.len(),
        args.sql
    );
    stream.write_all(request.as_bytes()).map_err(failed)?;
    stream.flush().map_err(failed)?;
    let mut response = Vec::new();
    if let Err(e) = stream.read_to_end(&mut response) {
        // A TLS peer may close without its close_notify once it has answered.
        if e.kind() != std::io::ErrorKind::UnexpectedEof || response.is_empty() {
            return Err(failed(e));
        }
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| engine.not_http(&response))?;
    let answer = answer(&engine.addr, status_of(head), body)?;
    print(&answer, args.format)
}

/// `--follow`: `GET /sql/watch` as HTTP/1.0 (the events then come without
/// chunked encoding, until the connection closes); each `data:` line is one
/// result.
fn follow(args: &Args, engine: &Engine) -> anyhow::Result<()> {
    let failed = |e| engine.failed(args.timeout, e);
    let connection = engine.connect(args.timeout)?;
    let mut stream = connection.io;
    let query = percent_encode(&args.sql);
    write!(
        stream,
        "GET /sql/watch?q={query} HTTP/1.0\r\n{}Accept: text/event-stream\r\n\r\n",
        engine.headers()
    )
    .map_err(failed)?;
    stream.flush().map_err(failed)?;
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(failed)? == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = status_of(&head);
    if status == 0 {
        return Err(engine.not_http(head.as_bytes()));
    }
    if status != 200 {
        let mut body = String::new();
        let _ = reader.read_to_string(&mut body);
        answer(&engine.addr, status, &body)?;
        anyhow::bail!("{}: status {status}", engine.addr);
    }
    // The engine sends a comment every 15 s while no batch closes.
    connection.socket.set_read_timeout(Some(args.timeout.max(Duration::from_secs(45))))?;
    let mut event = String::new();
    for line in reader.lines() {
        let line = line.map_err(failed)?;
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.to_owned();
        } else if let Some(data) = line.strip_prefix("data: ") {
            let value: Value = serde_json::from_str(data)
                .map_err(|e| anyhow::anyhow!("{}: an event that is not JSON ({e}): {data}", engine.addr))?;
            if event == "error" {
                anyhow::bail!("{}", value["error"].as_str().unwrap_or(data));
            }
            print(&value, args.format)?;
            std::io::stdout().flush()?;
        }
    }
    Ok(())
}

/// A statement's answer as JSON, or the engine's error.
fn answer(server: &str, status: u16, body: &str) -> anyhow::Result<Value> {
    if status == 401 {
        anyhow::bail!(
            "{server} asks for a token (it runs with one): give it in TWEETSTREAM_TOKEN or --token-file, \
             or check that it is the engine's"
        );
    }
    let answer: Value = serde_json::from_str(body)
        .map_err(|e| anyhow::anyhow!("{server} answered something that is not JSON ({e}): {body}"))?;
    if status != 200 {
        let msg = answer["error"].as_str().unwrap_or(body);
        anyhow::bail!("{msg}");
    }
    Ok(answer)
}

/// Prints one result in `format`.
fn print(answer: &Value, format: Format) -> anyhow::Result<()> {
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
    match format {
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
        crate::logging::sayln!("query: the result was cut at the engine's row limit (--sql-max-rows)");
    }
    Ok(())
}

/// The status code of an HTTP response's head (0 if there is none).
fn status_of(head: &str) -> u16 {
    head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// `s` for a URL's query string: everything but letters, digits and `-._~`
/// percent-encoded.
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
