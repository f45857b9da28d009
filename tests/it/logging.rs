//! Log lines: JSON for a log pipeline, and colour only where it is wanted (a
//! terminal without NO_COLOR, or `--color always`). The terminal is a real
//! pseudo-terminal, made by util-linux's `script`.

use crate::common::fixture;
use std::process::Command;

const ESC: &str = "\u{1b}[";

/// `tweetstream replay FIXTURE --limit 3 EXTRA` with stderr on a pipe; its stderr.
fn on_a_pipe(extra: &[&str], no_color: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tweetstream"));
    cmd.args(["replay", &fixture("lab.jsonl"), "--limit", "3"]).args(extra).env_remove("NO_COLOR");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stderr).unwrap()
}

/// The same with stderr on a pseudo-terminal; what the terminal showed.
fn on_a_terminal(extra: &str, no_color: Option<&str>) -> String {
    let bin = env!("CARGO_BIN_EXE_tweetstream");
    let line = format!("{bin} replay {} --limit 3 {extra} > /dev/null", fixture("lab.jsonl"));
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c", &line, "/dev/null"]).env_remove("NO_COLOR");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd.output().expect("script (util-linux) is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn json_logs_parse_line_by_line() {
    let stderr = on_a_pipe(&["--log-format", "json"], None);
    let lines: Vec<serde_json::Value> =
        stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert!(!lines.is_empty());
    for l in &lines {
        assert!(l["timestamp"].is_string() && l["level"].is_string() && l["target"].is_string(), "{l}");
        assert!(l["fields"]["message"].is_string(), "{l}");
    }
    assert!(lines.iter().any(|l| l["fields"]["message"].as_str().unwrap().contains("replayed 3 tweets")));
}

#[test]
fn colour_on_a_terminal_unless_no_color_and_on_a_pipe_only_when_asked() {
    let shown = on_a_terminal("", None);
    assert!(shown.contains("replayed 3 tweets") && shown.contains(ESC), "{shown:?}");
    let shown = on_a_terminal("", Some("1"));
    assert!(shown.contains("replayed 3 tweets") && !shown.contains(ESC), "{shown:?}");
    let shown = on_a_terminal("--color never", None);
    assert!(!shown.contains(ESC), "{shown:?}");
    assert!(!on_a_pipe(&[], None).contains(ESC));
    assert!(on_a_pipe(&["--color", "always"], Some("1")).contains(ESC), "--color always wins over NO_COLOR");
}

#[test]
fn no_log_line_shows_a_password() {
    // Nothing listens on port 9: the loader says it is waiting for MongoDB.
    let uri = "mongodb://analyst:s3cret-pw@127.0.0.1:9/?serverSelectionTimeoutMS=100";
    let mut p = crate::common::Proc::spawn(&["load", &fixture("lab.jsonl"), "--uri", uri]);
    let line = p.wait_stderr("is not answering yet");
    assert!(line.contains("mongodb://analyst:***@127.0.0.1:9/"), "{line}");
    p.terminate();
    let _ = p.wait_exit();
    assert!(!p.rest_of_stderr().contains("s3cret-pw"));
}

#[test]
fn mongodb_uris_as_users_write_them_parse_and_fail_only_on_dns_or_connection() {
    let load = |uri: &str| {
        let (status, _, stderr) = crate::common::run_to_end(&["load", &fixture("lab.jsonl"), "--uri", uri]);
        assert_eq!(status.code(), Some(1), "{uri}: {stderr}");
        let error =
            stderr.lines().find(|l| l.starts_with("tweetstream: error:")).unwrap_or_default().to_owned();
        assert!(!stderr.contains("s3cret"), "a password in: {stderr}");
        error
    };
    // An SRV URI with TLS options parses, and fails at the DNS lookup (this
    // machine has no DNS for it), saying so.
    let e = load(
        "mongodb+srv://analyst:s3cret@cluster0.example.invalid/lab4?tls=true&retryWrites=true&w=majority",
    );
    assert!(
        e.contains("cannot find the MongoDB servers of mongodb+srv://analyst:***@cluster0.example.invalid"),
        "{e}"
    );
    assert!(e.contains("in DNS"), "{e}");
    // TLS options reach the driver: a missing CA file is named.
    let e = load("mongodb://analyst:s3cret@127.0.0.1:9/?tls=true&tlsCAFile=/no/such/ca.pem");
    assert!(e.contains("/no/such/ca.pem") && !e.contains("labels"), "{e}");
    // A URI that is wrong says what is wrong with it.
    let e = load("mongodb://analyst:s3cret@127.0.0.1:9/?noSuchOption=1");
    assert!(e.contains("bad MongoDB URI") && e.contains("nosuchoption is an invalid option"), "{e}");
}

/// Runs `tweetstream ARGS` with stdout and stderr on one pipe that the
/// reader closes after `keep` bytes (`2>&1 | head -c keep`), or with stderr
/// on a full device; returns the exit status.
fn with_a_closed_pipe(args: &[&str], keep: usize, stderr_full: bool) -> std::process::ExitStatus {
    use std::io::Read;
    use std::process::Stdio;
    let (reader, writer) = std::io::pipe().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tweetstream"));
    cmd.args(args).stdin(Stdio::null()).stdout(writer.try_clone().unwrap());
    if stderr_full {
        cmd.stderr(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap());
    } else {
        cmd.stderr(writer);
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut taken = vec![0u8; keep];
    let _ = reader.take(keep as u64).read(&mut taken);
    let deadline = std::time::Instant::now() + crate::common::EVENT_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "{args:?} did not end");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_closed_stdout_or_stderr_ends_a_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let lab = fixture("lab.jsonl");
    let commands: [&[&str]; 4] = [
        &["replay", &lab, "--limit", "2"],
        &["replay", &lab, "--log", "debug"],
        &["demo", "--batch", "100ms"],
        &["vader", "--help"],
    ];
    for args in commands {
        for (keep, full) in [(10, false), (0, false), (1_000_000, true)] {
            let status = with_a_closed_pipe(args, keep, full);
            // Exit 0, or the usual end by SIGPIPE: never a panic's 101.
            let quiet = status.success() || status.signal() == Some(13);
            assert!(quiet, "{args:?}, keeping {keep} bytes, stderr full: {full}: {status}");
        }
    }
}

/// A source's JSON log lines carry what people filter on as fields: the
/// source (its span), why a connection ended, how many events it brought
/// and the wait before the next.
#[test]
fn json_logs_of_a_source_carry_its_name_and_the_reconnection_as_fields() {
    let server =
        crate::jetstream::serve(crate::jetstream::events(50, 3), vec![(50, crate::jetstream::Ending::Close)]);
    let url = format!("ws://{}/subscribe", server.addr);
    let mut engine = crate::common::Proc::spawn(&[
        "stream",
        "--jetstream",
        &url,
        "--batch",
        "manual",
        "--print-every",
        "never",
        "--log-format",
        "json",
    ]);
    let line = engine.wait_stderr("reconnecting in");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["span"]["name"], "source", "{v}");
    assert_eq!(v["span"]["source"], format!("jetstream {url}"), "{v}");
    assert_eq!(v["fields"]["events"], 50, "{v}");
    assert!(v["fields"]["delay_ms"].as_u64().is_some_and(|d| (125..=250).contains(&d)), "{v}");
    engine.terminate();
    engine.wait_exit();
}

/// librdkafka's own debug lines (`-X debug=…`) reach the log at `--log
/// debug`: the Kafka client takes its level from this program's log, not
/// from the `log` crate's (which this program does not set, and which kept
/// them out). No broker is needed: the refused connections are debugged too.
#[test]
fn librdkafka_debug_lines_show_at_log_debug() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let brokers = closed.to_string();
    let mut engine = crate::common::Proc::spawn(&[
        "--log",
        "debug",
        "stream",
        "--kafka",
        &brokers,
        "--topic",
        "t",
        "-X",
        "debug=broker",
        "--print-every",
        "never",
    ]);
    // The client's first few lines come before its level is set (and showed
    // before too): the reconnections' come after it.
    for _ in 0..20 {
        let line = engine.wait_stderr("[CONNECT]");
        assert!(line.contains("DEBUG") && line.contains("kafka:"), "{line}");
    }
    engine.terminate();
    engine.wait_exit();
}
