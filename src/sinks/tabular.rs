//! A table as the files data tools read: CSV with a header (as PostgreSQL's
//! `COPY … (FORMAT csv, HEADER)` writes it) or JSON records (`[{column:
//! value}, …]`, what `pandas.read_json` reads). Shared by `GET
//! /tables/NAME?format=` and `stream --out`.

use serde_json::{Map, Value};

pub fn csv<'a>(columns: &[String], rows: impl IntoIterator<Item = &'a [Value]>) -> String {
    let csv = super::pg::copy::Copy::csv();
    let mut text = csv.header(columns).unwrap_or_default();
    for row in rows {
        text += &csv.row(row);
    }
    text
}

pub fn records<'a>(
    columns: &[String],
    rows: impl IntoIterator<Item = &'a [Value]>,
) -> Vec<Map<String, Value>> {
    rows.into_iter().map(|row| columns.iter().cloned().zip(row.iter().cloned()).collect()).collect()
}
