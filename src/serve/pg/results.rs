//! A query's rows sent to the client as SQLite yields them: the statement
//! runs on a blocking thread and hands its rows over a short queue, so the
//! client's reading paces it and memory holds a few hundred rows whatever
//! the result's size (as `COPY` does, [`super::copy`]).
//!
//! The columns' types must be sent before the first row. With the extended
//! protocol they are the ones the statement was described with (its dry
//! run reads the first [`crate::sql::DRY_RUN_ROWS`] rows, not the result);
//! with a simple query, a table's column has its declared type and a
//! computed one the type of its first value among the first rows (a
//! batch, as many), else text.
//! An error before the first row is the statement's; one after it (a row
//! past `--sql-max-rows` too) ends the result with it, as PostgreSQL ends a
//! result whose computation fails half-way.
//!
//! pgwire's Execute gathers a portal's rows before it sends them, so an
//! Execute of all the rows (`max_rows` 0, what drivers send unless asked
//! for a fetch size) of a query not yet run is answered here; rows asked
//! for in pieces are read first, as before, so that a portal left
//! suspended holds rows rather than a running statement.

use super::copy::Copy;
use super::types::{encode_row, fields, outputs};
use super::{
    Backend, COPY_BATCH, COPY_QUEUE, Prepared, Statement, pg_error, refusal, too_many_rows, user_error,
};
use crate::engine::tables::ColumnType;
use crate::serve::pg::dialect::Translated;
use crate::sql::{Param, Params, SqlError};
use bytes::Bytes;
use futures_util::{Sink, SinkExt, StreamExt, stream};
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::CopyResponse;
use pgwire::api::results::{CopyEncoder, DataRowEncoder, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyOutResponse};
use serde_json::Value;
use std::fmt::Debug;
use std::sync::Arc;

/// What the statement's thread hands over, in order.
enum Piece {
    Columns(Vec<String>, Vec<Option<ColumnType>>),
    Rows(Vec<Vec<Value>>),
    /// The rows handed on and whether more matched than the row limit, or
    /// the statement's error.
    End(Result<(u64, bool), SqlError>),
}

/// The columns and types a statement was described with (extended protocol).
pub struct Described<'a> {
    pub columns: &'a [String],
    pub types: &'a [ColumnType],
    pub outputs: &'a [Option<pgwire::api::Type>],
}

/// A statement started: its columns, their types (decided before the first
/// row), and its pieces (rows, then the end) as they come.
struct Started {
    columns: Vec<String>,
    types: Vec<ColumnType>,
    pieces: std::pin::Pin<Box<dyn futures_util::Stream<Item = Piece> + Send>>,
}

impl Backend {
    /// Runs a query and answers its rows as they come, in `format`.
    pub(super) async fn query_streamed(
        &self,
        translated: &Translated,
        params: Vec<Param>,
        described: Option<Described<'_>>,
        format: &Format,
    ) -> PgWireResult<QueryResponse> {
        let described_outputs = described.as_ref().map(|d| d.outputs.to_vec());
        let Started { columns, types, pieces } = self.start(translated, params, described).await?;
        // Not described (a simple query): the types its casts say.
        let outputs = described_outputs.unwrap_or_else(|| outputs(&translated.items, &[], columns.len()));
        let fields = Arc::new(fields(&columns, &types, &outputs, format));
        let (columns, types) = (Arc::new(columns), Arc::new(types));
        let schema = fields.clone();
        let rows = pieces.flat_map(move |piece| stream::iter(answer(piece, &columns, &types, &schema)));
        Ok(QueryResponse::new(fields, rows))
    }

    /// A `COPY … TO STDOUT`'s rows as they come, in text or CSV (with its
    /// header, alone when there is no row) or in PostgreSQL's binary copy
    /// format (a header, each row as typed fields, a trailer).
    pub(super) async fn copy_out(
        &self,
        copy: &Copy,
        translated: &Translated,
        params: Vec<Param>,
    ) -> PgWireResult<CopyResponse> {
        let Started { columns, types, pieces } = self.start(translated, params, None).await?;
        let n = columns.len();
        let (format, mut header) = (copy.format.clone(), copy.format.header(&columns));
        let mut encoder = copy.binary.then(|| {
            // One encoder for the whole copy: it writes the header before the first row.
            CopyEncoder::new_binary(Arc::new(fields(&columns, &types, &[], &Format::UnifiedBinary)))
        });
        let (columns, types) = (Arc::new(columns), Arc::new(types));
        let data = pieces.flat_map(move |piece| {
            let mut out: Vec<PgWireResult<CopyData>> = match (&piece, &mut encoder) {
                (Piece::Rows(rows), Some(encoder)) => {
                    rows.iter().map(|row| binary_row(encoder, row, &columns, &types)).collect()
                }
                // One message a row (pgwire counts them for the tag).
                (Piece::Rows(rows), None) => rows
                    .iter()
                    .map(|row| {
                        let line = header.take().unwrap_or_default() + &format.row(row);
                        Ok(CopyData::new(Bytes::from(line)))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if let Piece::End(_) = piece {
                // No row: the header alone, as PostgreSQL writes it.
                out.extend(header.take().map(|h| Ok(CopyData::new(Bytes::from(h)))));
            }
            out.extend(ended(piece).map(Err));
            stream::iter(out)
        });
        Ok(CopyResponse::new(if copy.binary { 1 } else { 0 }, n, data))
    }

    /// Starts the statement on a blocking thread; returns once its types are known.
    async fn start(
        &self,
        translated: &Translated,
        params: Vec<Param>,
        described: Option<Described<'_>>,
    ) -> PgWireResult<Started> {
        let snapshot = {
            let mut session = self.session();
            session.may_query().map_err(refusal)?;
            session.snapshot(|| self.client.sql.snapshot())
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Piece>(COPY_QUEUE);
        let (sql, running) = (self.client.sql.clone(), self.client.running.clone());
        let cancel = running.start();
        let statement = translated.sql.clone();
        tokio::task::spawn_blocking(move || {
            let columns_tx = tx.clone();
            let mut on_columns = |columns: &[String], declared: &[Option<ColumnType>]| {
                let _ = columns_tx.blocking_send(Piece::Columns(columns.to_vec(), declared.to_vec()));
            };
            let mut batch = Vec::with_capacity(COPY_BATCH);
            let mut each = |row: &[Value]| {
                batch.push(row.to_vec());
                batch.len() < COPY_BATCH
                    || tx
                        .blocking_send(Piece::Rows(std::mem::replace(
                            &mut batch,
                            Vec::with_capacity(COPY_BATCH),
                        )))
                        .is_ok()
            };
            let rows = crate::sql::Rows { columns: &mut on_columns, each: &mut each };
            let ran = sql.stream(&statement, Params::Values(&params), snapshot.as_ref(), Some(cancel), rows);
            running.finish();
            if !batch.is_empty() {
                let _ = tx.blocking_send(Piece::Rows(batch));
            }
            let _ = tx.blocking_send(Piece::End(ran));
        });
        let (columns, declared) = match rx.recv().await {
            Some(Piece::Columns(columns, declared)) => (columns, declared),
            Some(Piece::End(Err(e))) => return Err(user_error(&e)),
            _ => return Err(pg_error("XX000", "the statement ended without an answer".into())),
        };
        // The first rows, or the end.
        let first = match rx.recv().await {
            Some(Piece::Rows(rows)) => Some(Piece::Rows(rows)),
            Some(Piece::End(Err(e))) => return Err(user_error(&e)),
            other => other,
        };
        let types = match described {
            Some(d) if d.columns != columns => {
                return Err(pg_error(
                    "0A000",
                    "the statement's columns changed since it was prepared".into(),
                ));
            }
            Some(d) => d.types.to_vec(),
            None => types_of(
                &declared,
                match &first {
                    Some(Piece::Rows(rows)) => rows,
                    _ => &[],
                },
            ),
        };
        let rest = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|p| (p, rx)) });
        Ok(Started { columns, types, pieces: Box::pin(stream::iter(first).chain(rest)) })
    }
}

/// Sends a `COPY … TO STDOUT` of a simple query (psql, psycopg's `copy()`):
/// CopyOutResponse, the data as it comes, CopyDone and the tag. An error
/// half-way ends it with the error alone, as PostgreSQL does (pgwire's own
/// sender sends CopyFail first, a message only a client may send); a COPY of
/// the extended protocol too ([`Backend::execute_all`]).
pub(super) async fn send_copy<C>(client: &mut C, copy: CopyResponse) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let formats = copy.column_formats();
    let CopyResponse { format, columns, mut data_stream, .. } = copy;
    client
        .send(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(format, columns as i16, formats)))
        .await?;
    let mut rows = 0;
    while let Some(data) = data_stream.next().await {
        let data = data?;
        if !data.data.is_empty() {
            // The binary trailer is no row.
            if data.data.as_ref() != [0xFF, 0xFF] {
                rows += 1;
            }
            client.feed(PgWireBackendMessage::CopyData(data)).await?;
        }
    }
    client.feed(PgWireBackendMessage::CopyDone(CopyDone::new())).await?;
    client.send(PgWireBackendMessage::CommandComplete(Tag::new("COPY").with_rows(rows).into())).await?;
    Ok(())
}

/// One row of a binary copy: each value as its column's type (a number
/// written as text in a text column; another mismatch is an error).
fn binary_row(
    encoder: &mut CopyEncoder,
    row: &[Value],
    columns: &[String],
    types: &[ColumnType],
) -> PgWireResult<CopyData> {
    for (i, v) in row.iter().enumerate() {
        match (v, types[i]) {
            (Value::Null, ColumnType::Integer) => encoder.encode_field(&None::<i64>)?,
            (Value::Null, ColumnType::Real) => encoder.encode_field(&None::<f64>)?,
            (Value::Null, ColumnType::Text) => encoder.encode_field(&None::<String>)?,
            (Value::Null, ColumnType::Boolean) => encoder.encode_field(&None::<bool>)?,
            (Value::Bool(b), ColumnType::Boolean) => encoder.encode_field(b)?,
            (Value::Number(n), ColumnType::Integer) if n.is_i64() => encoder.encode_field(&n.as_i64())?,
            (Value::Number(n), ColumnType::Real) => encoder.encode_field(&n.as_f64())?,
            (Value::String(s), ColumnType::Text) => encoder.encode_field(&s.as_str())?,
            (other, ColumnType::Text) => encoder.encode_field(&other.to_string())?,
            (other, ty) => {
                return Err(pg_error(
                    "22023",
                    format!(
                        "column {} is {ty:?} but has the value {other}; cast it in the query",
                        columns[i]
                    ),
                ));
            }
        }
    }
    Ok(encoder.take_copy())
}

/// The portal an Execute names, when it asks for all the rows of a query
/// not yet run (which [`Backend::execute_all`] answers).
pub(super) fn all_rows_of_a_new_query<C>(
    client: &C,
    name: &str,
    max_rows: i32,
) -> Option<Arc<Portal<Prepared>>>
where
    C: ClientPortalStore,
    C::PortalStore: PortalStore<Statement = Prepared>,
{
    let Some(Entry::Value(portal)) = client.portal_store().get_portal(name) else { return None };
    let fresh = portal.state().try_lock().is_ok_and(|s| matches!(*s, PortalExecutionState::Initial));
    // A COPY goes out whole, whatever the row limit asked (as in PostgreSQL).
    let whole = match portal.statement.statement.statement {
        Statement::Query(_) => max_rows == 0,
        Statement::Copy(_) => true,
        Statement::Command(_) => false,
    };
    (fresh && whole).then_some(portal)
}

impl Backend {
    /// Executes a query's (or a COPY's) portal, sending each row as it comes, then the
    /// command tag; the portal is then finished.
    pub(super) async fn execute_all<C>(
        &self,
        client: &mut C,
        portal: Arc<Portal<Prepared>>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let sent = async {
            let mut rows = match self.do_query(client, &portal, 0).await? {
                Response::Query(rows) => rows,
                // Through our sender: an error ends it with the error alone.
                Response::CopyOut(copy) => return send_copy(client, copy).await,
                _ => return Err(pg_error("XX000", "a query without rows".into())),
            };
            let tag = rows.command_tag().to_owned();
            let mut n = 0;
            while let Some(row) = rows.data_rows().next().await {
                client.feed(PgWireBackendMessage::DataRow(row?)).await?;
                n += 1;
            }
            client.send(PgWireBackendMessage::CommandComplete(Tag::new(&tag).with_rows(n).into())).await?;
            Ok(())
        }
        .await;
        *portal.state().lock().await = PortalExecutionState::Finished;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        sent
    }
}

/// A piece as data rows, or the error that ends the result.
fn answer(
    piece: Piece,
    columns: &[String],
    types: &[ColumnType],
    fields: &Arc<Vec<FieldInfo>>,
) -> Vec<PgWireResult<pgwire::messages::data::DataRow>> {
    match piece {
        Piece::Rows(rows) => {
            let mut encoder = DataRowEncoder::new(fields.clone());
            rows.iter().map(|row| encode_row(&mut encoder, row, columns, types, fields)).collect()
        }
        end => ended(end).map(Err).into_iter().collect(),
    }
}

/// The error a statement's end brings, if any: past the row limit (after
/// the rows: never a silent cut), or the statement's own.
fn ended(piece: Piece) -> Option<PgWireError> {
    match piece {
        Piece::End(Ok((n, true))) => Some(too_many_rows(n as usize)),
        Piece::End(Err(e)) => Some(user_error(&e)),
        _ => None,
    }
}

/// Each column's type: declared, else that of its first non-null value in
/// `rows`, else text.
fn types_of(declared: &[Option<ColumnType>], rows: &[Vec<Value>]) -> Vec<ColumnType> {
    (0..declared.len())
        .map(|i| {
            declared[i].or_else(|| {
                rows.iter().find_map(|r| match &r[i] {
                    Value::Null => None,
                    Value::Number(n) if n.is_i64() || n.is_u64() => Some(ColumnType::Integer),
                    Value::Number(_) => Some(ColumnType::Real),
                    Value::Bool(_) => Some(ColumnType::Boolean),
                    _ => Some(ColumnType::Text),
                })
            })
        })
        .map(|t| t.unwrap_or(ColumnType::Text))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn computed_columns_take_the_type_of_their_first_value() {
        let rows = vec![vec![Value::Null, json!(1), json!("a")], vec![json!(2.5), json!(2), json!(3)]];
        let declared = [None, None, Some(ColumnType::Integer)];
        assert_eq!(types_of(&declared, &rows), [ColumnType::Real, ColumnType::Integer, ColumnType::Integer]);
        assert_eq!(types_of(&[None], &[]), [ColumnType::Text]);
    }
}
