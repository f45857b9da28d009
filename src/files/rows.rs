//! Reading a tweets data set row by row as BSON documents, whatever its format
//! (see [`super`]): Parquet (through the Apache `parquet`/`arrow` crates), CSV
//! or TSV with a header, JSON Lines or a JSON array, gzipped or not. Every
//! column is kept; the date column becomes a BSON datetime. Memory stays flat:
//! rows are streamed, never collected.

use crate::tweet::csv_input::{QuoteCheck, unclosed_error};
use crate::tweet::date::{parse_json_date, parse_millis};
use crate::tweet::record::{self, Field, Found};
use arrow_array::{Array, RecordBatch, cast::AsArray, types::*};
use arrow_schema::{DataType, TimeUnit};
use mongodb::bson::{Bson, DateTime, Document};
use std::path::Path;

/// A document's text and date fields as [`record`] ranks them: the text as a
/// string (`extended_tweet.full_text` included), the date as its field's name.
fn found(doc: &Document) -> Found<&str, &str> {
    let mut found = Found::default();
    for (key, value) in doc {
        match record::field(key) {
            Some(Field::Text(rank)) => found.set_text(rank, value.as_str()),
            Some(Field::Date(rank)) => found.set_date(rank, Some(key.as_str())),
            Some(Field::Lang(rank)) => found.set_lang(rank, value.as_str()),
            // The untruncated text: v1.1's `extended_tweet.full_text`, v2's
            // `note_tweet.text`.
            None if key == record::EXTENDED || key == record::NOTE => {
                let inner = if key == record::EXTENDED { Field::Text(0) } else { Field::Text(1) };
                found.set_extended(value.as_document().and_then(|e| {
                    e.iter()
                        .filter(|(k, _)| record::field(k) == Some(inner))
                        .map(|(_, v)| v.as_str())
                        .last()
                        .flatten()
                }))
            }
            None => {}
        }
    }
    found
}

/// A document's best text, by the rule every reader of records follows
/// ([`record::Found`]): the Twitter API's untruncated `extended_tweet.full_text`
/// before a truncated `text`.
pub fn text_of(doc: &Document) -> Option<&str> {
    found(doc).text()
}

/// The name of a document's best date field (by [`record`]'s ranks).
pub fn date_field(doc: &Document) -> Option<&str> {
    found(doc).date()
}

/// A document's language, as its best language field gives it (a string).
pub fn lang_of(doc: &Document) -> Option<&str> {
    found(doc).lang()
}

/// Why a row was not loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    NoText,
    UnreadableDate,
    NotAnObject,
    Malformed,
}

impl Skip {
    pub fn reason(self) -> &'static str {
        match self {
            Skip::NoText => "no tweet text",
            Skip::UnreadableDate => "date in an unknown format",
            Skip::NotAnObject => "not a JSON object",
            Skip::Malformed => "malformed row",
        }
    }
}

/// A Twitter API v2 object is read through its `data` ([`record`]): the
/// text fields of `data` become the document's when it has no text of its
/// own, the date fields when it has no date, the language likewise. (`data` stays as it is.)
fn lift_v2(doc: &mut Document) {
    let Some(Bson::Document(data)) = doc.get(record::V2_DATA) else { return };
    let (take_text, take_date, take_lang) =
        (text_of(doc).is_none(), date_field(doc).is_none(), lang_of(doc).is_none());
    let lifted: Vec<(String, Bson)> = data
        .iter()
        .filter(|(k, _)| match record::field(k) {
            Some(Field::Text(_)) => take_text,
            Some(Field::Date(_)) => take_date,
            Some(Field::Lang(_)) => take_lang,
            None => take_text && k.as_str() == record::NOTE,
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    doc.extend(lifted);
}

/// Checks a document has text and turns its date field into a BSON datetime.
pub fn normalize(mut doc: Document) -> Result<Document, Skip> {
    lift_v2(&mut doc);
    if text_of(&doc).is_none() {
        return Err(Skip::NoText);
    }
    if let Some(field) = date_field(&doc).map(str::to_owned) {
        let date = match doc.get(&field) {
            Some(Bson::String(s)) if s.trim().is_empty() => Bson::Null,
            Some(Bson::String(s)) => {
                Bson::DateTime(DateTime::from_millis(parse_millis(s).ok_or(Skip::UnreadableDate)?))
            }
            Some(Bson::Int64(ms)) => Bson::DateTime(DateTime::from_millis(*ms)),
            Some(Bson::Int32(ms)) => Bson::DateTime(DateTime::from_millis(i64::from(*ms))),
            Some(Bson::Double(ms)) if ms.is_finite() => Bson::DateTime(DateTime::from_millis(*ms as i64)),
            Some(b @ (Bson::DateTime(_) | Bson::Null)) => b.clone(),
            _ => return Err(Skip::UnreadableDate),
        };
        doc.insert(field, date);
    }
    Ok(doc)
}

/// Checks that `path` is a file [`read`] can read, before any work starts.
pub fn check(path: &Path) -> anyhow::Result<super::Format> {
    Ok(readable(path)?.format)
}

/// `path` opened, if [`read`] can read it.
fn readable(path: &Path) -> anyhow::Result<super::Opened> {
    let opened = super::open(path)?;
    match opened.format {
        super::Format::Text => {
            anyhow::bail!("{}: unknown format (use {})", path.display(), super::KNOWN)
        }
        super::Format::Parquet if opened.gzip => anyhow::bail!(
            "{}: a gzip-compressed Parquet file; Parquet compresses itself: gunzip it first",
            path.display()
        ),
        _ => Ok(opened),
    }
}

/// Reads `path`, calling `row` with each row (already normalized) until it
/// returns false. Blocking.
pub fn read(path: &Path, mut row: impl FnMut(Result<Document, Skip>) -> bool) -> anyhow::Result<()> {
    let name = path.display().to_string();
    let opened = readable(path)?;
    match opened.format {
        super::Format::Parquet => {
            let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))?
                .with_batch_size(4096)
                .build()?;
            for batch in reader {
                let batch = batch.map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
                for doc in record_batch_documents(&batch)? {
                    if !row(normalize(doc)) {
                        return Ok(());
                    }
                }
            }
        }
        super::Format::Csv { delimiter } => {
            let mut csv = csv::ReaderBuilder::new()
                .flexible(true)
                .delimiter(delimiter)
                .from_reader(QuoteCheck::new(opened.reader));
            let headers = csv.headers().map_err(|e| anyhow::anyhow!("{name}: {e}"))?.clone();
            let mut record = csv::StringRecord::new();
            loop {
                let read = csv.read_record(&mut record);
                // The file's end inside quotes: this "row" is the rest of the file.
                if let Some(line) = csv.get_ref().unclosed() {
                    return Err(unclosed_error(&name, line).into());
                }
                let doc = match read {
                    Ok(false) => break,
                    Err(e) if e.is_io_error() => anyhow::bail!("{name}: {e}"),
                    Ok(true) => headers
                        .iter()
                        .zip(record.iter())
                        .map(|(h, v)| (h.to_owned(), Bson::String(v.to_owned())))
                        .collect(),
                    Err(_) => {
                        if !row(Err(Skip::Malformed)) {
                            return Ok(());
                        }
                        continue;
                    }
                };
                if !row(normalize(doc)) {
                    return Ok(());
                }
            }
        }
        super::Format::JsonArray => {
            super::json_array(&name, opened.reader, |value| row(value_document(value).and_then(normalize)))?;
        }
        super::Format::JsonLines | super::Format::Text => {
            let mut keep_going = true;
            crate::codec::read_chunks(opened.reader, crate::codec::DEFAULT_MAX_LINE_BYTES, |chunk| {
                chunk.for_each_line(|line| {
                    if !keep_going {
                        return;
                    }
                    let doc = match line {
                        crate::codec::Line::Ok(b) | crate::codec::Line::Cut(b)
                            if b.iter().all(u8::is_ascii_whitespace) =>
                        {
                            return;
                        }
                        crate::codec::Line::Ok(b) | crate::codec::Line::Cut(b) => json_document(b),
                        crate::codec::Line::TooLong { .. } => Err(Skip::Malformed),
                    };
                    keep_going = row(doc.and_then(normalize));
                });
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        }
    }
    Ok(())
}

fn json_document(line: &[u8]) -> Result<Document, Skip> {
    value_document(serde_json::from_slice(line).map_err(|_| Skip::Malformed)?)
}

/// A JSON object as a document (anything else is skipped).
fn value_document(value: serde_json::Value) -> Result<Document, Skip> {
    let serde_json::Value::Object(map) = value else { return Err(Skip::NotAnObject) };
    let mut doc = Document::new();
    for (key, v) in map {
        // Dates in extended JSON ({"$date": …}) become datetimes; anything else
        // converts as JSON.
        let b = if matches!(record::field(&key), Some(Field::Date(_))) && v.is_object() {
            match parse_json_date(&v.to_string()) {
                Ok(Some(ms)) => Bson::DateTime(DateTime::from_millis(ms)),
                Ok(None) => Bson::Null,
                Err(_) => return Err(Skip::UnreadableDate),
            }
        } else {
            Bson::try_from(v).map_err(|_| Skip::Malformed)?
        };
        doc.insert(key, b);
    }
    Ok(doc)
}

/// One BSON document per row of an Arrow record batch.
fn record_batch_documents(batch: &RecordBatch) -> anyhow::Result<Vec<Document>> {
    let mut docs = vec![Document::new(); batch.num_rows()];
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        for (i, doc) in docs.iter_mut().enumerate() {
            doc.insert(field.name().clone(), cell(column.as_ref(), i)?);
        }
    }
    Ok(docs)
}

fn cell(a: &dyn Array, i: usize) -> anyhow::Result<Bson> {
    if a.is_null(i) {
        return Ok(Bson::Null);
    }
    let ms = |v: i64, unit: &TimeUnit| match unit {
        TimeUnit::Second => v * 1000,
        TimeUnit::Millisecond => v,
        TimeUnit::Microsecond => v.div_euclid(1000),
        TimeUnit::Nanosecond => v.div_euclid(1_000_000),
    };
    Ok(match a.data_type() {
        DataType::Utf8 => Bson::String(a.as_string::<i32>().value(i).to_owned()),
        DataType::LargeUtf8 => Bson::String(a.as_string::<i64>().value(i).to_owned()),
        DataType::Utf8View => Bson::String(a.as_string_view().value(i).to_owned()),
        DataType::Boolean => Bson::Boolean(a.as_boolean().value(i)),
        DataType::Int8 => Bson::Int32(a.as_primitive::<Int8Type>().value(i).into()),
        DataType::Int16 => Bson::Int32(a.as_primitive::<Int16Type>().value(i).into()),
        DataType::Int32 => Bson::Int32(a.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Bson::Int64(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt32 => Bson::Int64(a.as_primitive::<UInt32Type>().value(i).into()),
        DataType::Float32 => Bson::Double(a.as_primitive::<Float32Type>().value(i).into()),
        DataType::Float64 => Bson::Double(a.as_primitive::<Float64Type>().value(i)),
        DataType::Date32 => Bson::DateTime(DateTime::from_millis(
            i64::from(a.as_primitive::<Date32Type>().value(i)) * 86_400_000,
        )),
        DataType::Date64 => Bson::DateTime(DateTime::from_millis(a.as_primitive::<Date64Type>().value(i))),
        DataType::Timestamp(unit, _) => {
            let v = match unit {
                TimeUnit::Second => a.as_primitive::<TimestampSecondType>().value(i),
                TimeUnit::Millisecond => a.as_primitive::<TimestampMillisecondType>().value(i),
                TimeUnit::Microsecond => a.as_primitive::<TimestampMicrosecondType>().value(i),
                TimeUnit::Nanosecond => a.as_primitive::<TimestampNanosecondType>().value(i),
            };
            Bson::DateTime(DateTime::from_millis(ms(v, unit)))
        }
        other => anyhow::bail!("Parquet column type {other} is not supported by load"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tweet::{InputFormat, decode};
    use mongodb::bson::doc;

    /// The text the stream decoder reads from the same object as JSON.
    fn decoded(doc: &Document) -> Option<String> {
        let line = serde_json::to_string(&doc).unwrap();
        decode(line.as_bytes(), InputFormat::Json, &mut String::new()).ok().map(|t| t.text.to_owned())
    }

    #[test]
    fn documents_take_the_text_the_stream_decoder_takes() {
        let docs = [
            // A truncated v1.1 tweet: the full text wins, whatever the key order.
            doc! {"text": "cut #a…", "extended_tweet": {"full_text": "cut #a and #b"}, "created_at": "x"},
            doc! {"extended_tweet": {"full_text": "cut #a and #b"}, "text": "cut #a…"},
            doc! {"text": "t", "full_text": "f", "tweet": "w"},
            doc! {"Tweet": "w", "Text": "t"},
            doc! {"tweet": "w"},
            // Not strings: absent.
            doc! {"text": 1, "tweet": "w"},
            doc! {"text": "t", "extended_tweet": {"full_text": 5}},
            doc! {"text": "t", "extended_tweet": "not an object"},
            doc! {"id": 1},
        ];
        for d in &docs {
            assert_eq!(text_of(d).map(str::to_owned), decoded(d), "{d}");
        }
        assert_eq!(text_of(&docs[0]), Some("cut #a and #b"));
        assert_eq!(text_of(&docs[8]), None);
    }

    /// Twitter API v2 objects: what `load` keeps is what the stream decoder
    /// reads from the same line (text and day).
    #[test]
    fn v2_objects_are_read_through_their_data_like_the_decoder() {
        let lines = [
            r#"{"data":{"id":"1","text":"hi #v2","created_at":"2022-03-01T10:00:00.000Z"},"includes":{}}"#,
            r#"{"data":{"text":"cut...","note_tweet":{"text":"the whole #long"},"created_at":"2022-03-02"}}"#,
            r#"{"text":"own","date":"2022-01-01","data":{"text":"inner","created_at":"2022-03-03"}}"#,
            r#"{"text":5,"data":{"text":"inner"}}"#,
            r#"{"data":{"id":"2"}}"#,
        ];
        for line in lines {
            let mut scratch = String::new();
            let want = decode(line.as_bytes(), InputFormat::Json, &mut scratch)
                .ok()
                .map(|t| (t.text.to_owned(), t.date.day()));
            let got = json_document(line.as_bytes()).and_then(normalize).ok().map(|doc| {
                let day = date_field(&doc)
                    .and_then(|f| doc.get_datetime(f).ok())
                    .map(|d| crate::tweet::date::Day::from_epoch_millis(d.timestamp_millis()));
                (text_of(&doc).unwrap().to_owned(), day)
            });
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn the_best_date_field_is_named() {
        assert_eq!(date_field(&doc! {"date": 1, "created_at": 2, "timestamp": 3}), Some("created_at"));
        assert_eq!(date_field(&doc! {"Date": 1, "Tweet": "x"}), Some("Date"));
        assert_eq!(date_field(&doc! {"Tweet": "x"}), None);
    }

    /// A CSV whose quote is never closed is an error naming the quote's
    /// line, not a last row holding the rest of the file; a closed one
    /// spanning lines is one row.
    #[test]
    fn a_csv_quote_never_closed_is_an_error_naming_its_line() {
        let dir = std::env::temp_dir().join(format!("tweetstream-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let read_all = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            let mut texts = Vec::new();
            let result = read(&path, |row| {
                texts.push(text_of(&row.unwrap()).unwrap().to_owned());
                true
            });
            (result, texts)
        };
        let (result, texts) = read_all("closed.csv", "text,date\nhi,2015-11-01\n\"two\nlines\",2015-11-02\n");
        result.unwrap();
        assert_eq!(texts, ["hi", "two\nlines"]);
        let (result, texts) =
            read_all("open.csv", "text,date\nhi,2015-11-01\n\"open,2015-11-02\nx,2015-11-03\n");
        let e = result.unwrap_err().to_string();
        assert!(e.contains("open.csv: line 3: a quoted field is never closed"), "{e}");
        assert_eq!(texts, ["hi"]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
