//! The task most users start with, in one command: `stream --file` reads a
//! file of their own at full speed and ends at its end, and `--out DIR`
//! writes the final tables as CSV (or JSON) files. Compared with tables
//! computed here from the file's rows.

use crate::common::*;
use std::collections::BTreeMap;
use std::process::Command;

/// A `;` CSV as a spreadsheet exports it, from the fixture's dated tweets;
/// with their (day, text).
fn spreadsheet(path: &std::path::Path) -> Vec<(String, String)> {
    let original = std::fs::read_to_string(fixture("lab.jsonl")).unwrap();
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
    w.write_record(["tweet_id", "text", "tweet_created"]).unwrap();
    let mut tweets = Vec::new();
    for (i, line) in original.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (Some(text), Some(date)) = (v["tweet"].as_str(), v["date"].as_str()) else { continue };
        let at = chrono::DateTime::parse_from_rfc3339(date).unwrap().with_timezone(&chrono::Utc);
        w.write_record([i.to_string(), text.to_owned(), at.format("%m/%d/%Y %H:%M").to_string()]).unwrap();
        tweets.push((at.format("%Y-%m-%d").to_string(), text.to_owned()));
    }
    std::fs::write(path, w.into_inner().unwrap()).unwrap();
    tweets
}

fn stream(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream")).arg("stream").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    stderr
}

#[test]
fn a_csv_in_and_the_per_day_table_out_in_one_command() {
    let dir = std::env::temp_dir().join(unique("filetask"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("my tweets.csv");
    let tweets = spreadsheet(&file);
    assert!(tweets.len() > 100);
    let want_days = per_day(tweets.clone());
    let mut want_tags: BTreeMap<String, u64> = BTreeMap::new();
    for (_, text) in &tweets {
        for tag in twitter_tags(text) {
            *want_tags.entry(tag).or_default() += 1;
        }
    }

    let out = dir.join("out");
    let stderr = stream(&["--file", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(stderr.contains(&format!("file: read {} lines", tweets.len())), "{stderr}");
    let mut days = csv::Reader::from_path(out.join("sentiment_by_day.csv")).unwrap();
    assert_eq!(days.headers().unwrap(), vec!["date", "score_sum", "score_count", "score_avg", "model"]);
    let got: BTreeMap<String, (f64, u64)> = days
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), (r[1].parse().unwrap(), r[2].parse().unwrap()))
        })
        .collect();
    assert_eq!(got, want_days);
    let tags: BTreeMap<String, u64> = csv::Reader::from_path(out.join("tag_totals.csv"))
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].parse().unwrap())
        })
        .collect();
    assert_eq!(tags, want_tags);

    // The same as JSON records.
    let out = dir.join("json");
    stream(&["--file", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--out-format", "json"]);
    let records: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("sentiment_by_day.json")).unwrap()).unwrap();
    let got: BTreeMap<String, (f64, u64)> = records
        .iter()
        .map(|r| {
            (
                r["date"].as_str().unwrap().to_owned(),
                (r["score_sum"].as_f64().unwrap(), r["score_count"].as_u64().unwrap()),
            )
        })
        .collect();
    assert_eq!(got, want_days);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_file_stream_fails_before_starting_on_a_file_it_cannot_read() {
    let dir = std::env::temp_dir().join(unique("filefail"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users.jsonl");
    std::fs::write(&file, "{\"user\": 1}\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tweetstream"))
        .args(["stream", "--file", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("users.jsonl: none of its first 1 lines is a tweet"), "{stderr}");
    assert!(!dir.join("out").exists(), "no tables written after a failure");
    let _ = std::fs::remove_dir_all(dir);
}

/// A file of plain text lines is not records: `stream --file` refuses it
/// with a clear error, saying how to read it (`--input text`), which then
/// counts its hashtags.
#[test]
fn a_plain_text_file_is_refused_unless_read_as_text() {
    let dir = std::env::temp_dir().join(unique("plaintext"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("notes.txt");
    std::fs::write(&file, "loving #Spark today\nno tags here\n#spark and #rust\n").unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tweetstream"))
            .args(["stream", "--file", file.to_str().unwrap(), "--format", "json", "--top", "0"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("notes.txt: none of its first 3 lines is a tweet"), "{stderr}");
    assert!(stderr.contains("--input text"), "{stderr}");
    let out = run(&["--input", "text"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let totals: serde_json::Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|t| t["table"] == "tag_totals")
        .unwrap();
    let want: std::collections::BTreeMap<String, u64> =
        [("#spark".to_owned(), 2), ("#rust".to_owned(), 1)].into();
    assert_eq!(table_counts(&totals), want);
    let _ = std::fs::remove_dir_all(dir);
}

/// Dates the engine cannot read: the warning quotes the first one as
/// written, so the user sees what to change, and `--date-format` reads
/// them; the airline data set's own form (`2015-02-24 11:35:52 -0800`) is
/// read, each tweet on its UTC day.
#[test]
fn an_unreadable_date_is_quoted_and_the_airline_form_is_read() {
    let dir = std::env::temp_dir().join(unique("dates"));
    std::fs::create_dir_all(&dir).unwrap();
    let run_with = |name: &str, body: &str, extra: &[&str]| {
        let file = dir.join(name);
        std::fs::write(&file, body).unwrap();
        let mut args = vec!["stream", "--file", file.to_str().unwrap(), "--format", "json", "--top", "0"];
        args.extend_from_slice(extra);
        run_to_end(&args)
    };
    let run = |name: &str, body: &str| run_with(name, body, &[]);
    let days_of = |stdout: &[String]| -> Vec<(String, u64)> {
        let days = stdout
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|t| t["table"] == "sentiment_by_day")
            .unwrap();
        day_rows(&days).into_iter().map(|(day, (_, n))| (day, n)).collect()
    };
    let dotted =
        "text,tweet_created\ngood day,24.02.2015 11:35\nbad day,25.02.2015 10:00\nok day,03.02.2015 09:00\n";
    let (status, _, stderr) = run("dotted.csv", dotted);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("The first it could not read: \"24.02.2015 11:35\""), "{stderr}");
    assert!(stderr.contains("--date-format"), "the warning names the way out: {stderr}");
    // Read with the user's form: day first (03.02 is the 3rd of February).
    let (status, stdout, stderr) = run_with("dotted.csv", dotted, &["--date-format", "%d.%m.%Y %H:%M"]);
    assert!(status.success(), "{stderr}");
    let want = [("2015-02-03".to_owned(), 1), ("2015-02-24".to_owned(), 1), ("2015-02-25".to_owned(), 1)];
    assert_eq!(days_of(&stdout), want);
    // A form that is not one is refused before anything is read.
    let (status, _, stderr) = run_with("dotted.csv", dotted, &["--date-format", "%d.%m %Q"]);
    assert!(!status.success() && stderr.contains("not a strftime format"), "{stderr}");
    let airline = "tweet_id,text,tweet_created\n1,good flight,2015-02-24 11:35:52 -0800\n\
                   2,awful delay,2015-02-24 20:35:52 -0800\n";
    let (status, stdout, stderr) = run("airline.csv", airline);
    assert!(status.success(), "{stderr}");
    // 20:35 at -0800 is 04:35 the next day in UTC.
    assert_eq!(days_of(&stdout), [("2015-02-24".to_owned(), 1), ("2015-02-25".to_owned(), 1)]);
    let _ = std::fs::remove_dir_all(dir);
}
