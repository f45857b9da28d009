//! `tweetstream query`: one SQL statement against a running engine's live
//! tables, sent to its HTTP endpoint (`stream --http ADDR`, `POST /sql`);
//! with `--follow`, its result after every batch (`GET /sql/watch`, pushed as
//! Server-Sent Events). How it connects (TLS, the token) is in
//! [`super::engine_http`].

use super::engine_http::{Ask, Engine};
use crate::sinks::print::write_aligned;
use http_body_util::BodyExt;
use hyper::Method;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(after_help = "Example (with `tweetstream stream … --http 127.0.0.1:8080` running):\n  \
tweetstream query \"select tag, count from tag_counts order by count desc limit 10\"")]
pub struct Args {
    /// The statement (read-only SQL over tag_counts, tag_totals, tag_window,
    /// sentiment_by_day, languages, batches).
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
    super::runtime()?.block_on(async {
        if args.follow {
            return follow(&args, &engine).await;
        }
        let ask =
            Ask { method: Method::POST, path: "/sql", body: Some(&args.sql), accept: "application/json" };
        let response = engine.send(ask, args.timeout).await?;
        let status = response.status().as_u16();
        let body = tokio::time::timeout(args.timeout, response.into_body().collect())
            .await
            .map_err(|_| engine.silent(args.timeout))?
            .map_err(|e| engine.broken(&e))?
            .to_bytes();
        let answer = answer(&engine.addr, status, &String::from_utf8_lossy(&body))?;
        print(&answer, args.format)
    })
}

/// `--follow`: `GET /sql/watch` (Server-Sent Events, until the engine
/// stops); each `data:` line is one result.
async fn follow(args: &Args, engine: &Engine) -> anyhow::Result<()> {
    let path = format!("/sql/watch?q={}", percent_encode(&args.sql));
    let ask = Ask { method: Method::GET, path: &path, body: None, accept: "text/event-stream" };
    let response = engine.send(ask, args.timeout).await?;
    let status = response.status().as_u16();
    let mut body = response.into_body();
    if status != 200 {
        let text = body.collect().await.map_err(|e| engine.broken(&e))?.to_bytes();
        answer(&engine.addr, status, &String::from_utf8_lossy(&text))?;
        anyhow::bail!("{}: status {status}", engine.addr);
    }
    // The engine sends a comment every 15 s while no batch closes.
    let patience = args.timeout.max(Duration::from_secs(45));
    let (mut pending, mut event) = (Vec::new(), String::new());
    loop {
        let frame =
            tokio::time::timeout(patience, body.frame()).await.map_err(|_| engine.silent(patience))?;
        let Some(frame) = frame else { return Ok(()) };
        let Ok(data) = frame.map_err(|e| engine.broken(&e))?.into_data() else { continue };
        pending.extend_from_slice(&data);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(name) = line.strip_prefix("event: ") {
                event = name.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ") {
                let value: Value = serde_json::from_str(data).map_err(|e| {
                    anyhow::anyhow!("{}: an event that is not JSON ({e}): {data}", engine.addr)
                })?;
                if event == "error" {
                    anyhow::bail!("{}", value["error"].as_str().unwrap_or(data));
                }
                print(&value, args.format)?;
                std::io::stdout().flush()?;
            }
        }
    }
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
