//! The Postgres types of what comes in and goes out: a parameter read as
//! the type the client declared or the type of its use, a dry run's
//! sample values, and each result column described with the type Postgres
//! would give it (a cast's, a parameter's, integer arithmetic's, else its
//! values') and encoded as that type.

use super::dialect::{self, Item, Output, ParamType, Translated};
use super::{Prepared, check_cut, pg_error};
use crate::engine::tables::ColumnType;
use crate::sql::{Param, QueryResult};
use futures_util::stream;
use pgwire::api::Type;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use serde_json::Value;
use std::sync::Arc;

/// A value of type `ty` for a dry run (NULL where there is none to give).
pub(super) fn sample(ty: &Type) -> Param {
    match *ty {
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID | Type::BOOL => Param::Integer(1),
        Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => Param::Real(1.0),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Param::Text(String::new()),
        _ => Param::Null,
    }
}

/// The Postgres type of each column where the select list says it more
/// finely than the values do: a cast's type, or a parameter's alone
/// (`select $1` of a boolean is a boolean). `params`: the parameters'
/// types. Empty when the items are not the columns (a `*`).
pub(super) fn outputs(items: &[Item], params: &[Type], columns: usize) -> Vec<Option<Type>> {
    if items.len() != columns {
        return Vec::new();
    }
    items
        .iter()
        .map(|item| match item {
            Item::Cast(o) => Some(match o {
                Output::Int2 => Type::INT2,
                Output::Int4 => Type::INT4,
                Output::Int8 => Type::INT8,
                Output::Float4 => Type::FLOAT4,
                Output::Float8 => Type::FLOAT8,
                Output::Bool => Type::BOOL,
                Output::Text => Type::TEXT,
            }),
            Item::Param(n) => params
                .get(n.wrapping_sub(1))
                .filter(|t| {
                    matches!(
                        **t,
                        Type::INT2
                            | Type::INT4
                            | Type::INT8
                            | Type::FLOAT4
                            | Type::FLOAT8
                            | Type::BOOL
                            | Type::TEXT
                    )
                })
                .cloned(),
            Item::Arithmetic { params: used, literal } => integer_arithmetic(used, *literal, params),
            Item::Other => None,
        })
        .collect()
}

/// The type of integer arithmetic on the parameters `used` (numbers into
/// `params`): int2 with int2 stays int2, with an int4 or a literal it is
/// int4, as Postgres' operators give; anything else is left to the values.
fn integer_arithmetic(used: &[usize], literal: bool, params: &[Type]) -> Option<Type> {
    let types: Vec<&Type> = used.iter().map(|n| params.get(n.wrapping_sub(1))).collect::<Option<_>>()?;
    if types.iter().all(|t| **t == Type::INT2) && !literal {
        Some(Type::INT2)
    } else if types.iter().all(|t| matches!(**t, Type::INT2 | Type::INT4)) {
        Some(Type::INT4)
    } else {
        None
    }
}

/// The values bound to a portal, each read as the type the client declared,
/// else as the type of its use in `translated`.
pub(super) fn portal_params(portal: &Portal<Prepared>, translated: &Translated) -> PgWireResult<Vec<Param>> {
    (0..portal.parameter_len())
        .map(|i| {
            let declared = portal.statement.parameter_types.get(i).cloned().flatten();
            let ours = translated.params.get(i).copied().unwrap_or(ParamType::Unknown);
            param(portal, i, declared.unwrap_or_else(|| param_type(ours)), ours)
        })
        .collect()
}

/// The Postgres type a parameter is described with.
pub(super) fn param_type(ty: ParamType) -> Type {
    match ty {
        ParamType::Integer => Type::INT8,
        ParamType::Real => Type::FLOAT8,
        ParamType::Date => Type::DATE,
        ParamType::Timestamp => Type::TIMESTAMPTZ,
        ParamType::Text | ParamType::Unknown => Type::TEXT,
    }
}

/// Parameter `i` of a portal as a SQLite value: read as its Postgres type
/// `ty`, then written as the column it is compared with (`ours`) holds it.
fn param(portal: &Portal<Prepared>, i: usize, ty: Type, ours: ParamType) -> PgWireResult<Param> {
    let bad = |e: PgWireError| pg_error("22023", format!("parameter ${}: {e}", i + 1));
    let raw = portal.parameters.get(i).cloned().flatten();
    let binary = portal.parameter_format.is_binary(i);
    let v = match ty {
        Type::INT2 => portal.parameter::<i16>(i, &ty).map(|v| v.map(|v| Param::Integer(v.into()))),
        Type::INT4 => portal.parameter::<i32>(i, &ty).map(|v| v.map(|v| Param::Integer(v.into()))),
        Type::INT8 => portal.parameter::<i64>(i, &ty).map(|v| v.map(Param::Integer)),
        Type::FLOAT4 => portal.parameter::<f32>(i, &ty).map(|v| v.map(|v| Param::Real(v.into()))),
        Type::FLOAT8 => portal.parameter::<f64>(i, &ty).map(|v| v.map(Param::Real)),
        Type::BOOL => portal.parameter::<bool>(i, &ty).map(|v| v.map(|v| Param::Integer(v.into()))),
        Type::DATE | Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let Some(raw) = raw else { return Ok(Param::Null) };
            let moment = if binary { binary_moment(&ty, &raw) } else { text_moment(&ty, &raw) };
            let moment = moment.ok_or_else(|| {
                pg_error(
                    "22007",
                    format!(
                        "parameter ${}: {:?} is not a {}",
                        i + 1,
                        String::from_utf8_lossy(&raw),
                        ty.name()
                    ),
                )
            })?;
            return Ok(Param::Text(dialect::moment_text(moment, ours)));
        }
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            portal.parameter::<String>(i, &ty).map(|v| v.map(Param::Text))
        }
        other => {
            return Err(pg_error(
                "22023",
                format!(
                    "parameter ${}: type {other} is not supported (use int, float, bool, text, date or timestamp)",
                    i + 1
                ),
            ));
        }
    };
    Ok(v.map_err(bad)?.unwrap_or(Param::Null))
}

/// Days from 1970-01-01 to 2000-01-01, Postgres' epoch for dates and times.
const PG_EPOCH_DAYS: i64 = 10_957;

/// A binary date or timestamp.
fn binary_moment(ty: &Type, raw: &[u8]) -> Option<dialect::Moment> {
    if *ty == Type::DATE {
        let days = i32::from_be_bytes(raw.try_into().ok()?);
        Some(dialect::Moment::Day(i64::from(days) + PG_EPOCH_DAYS))
    } else {
        let micros = i64::from_be_bytes(raw.try_into().ok()?);
        Some(dialect::Moment::Millis(micros.div_euclid(1000) + PG_EPOCH_DAYS * 86_400_000))
    }
}

/// A date or timestamp written as text: a date reads the day as written
/// (as Postgres' date input does), a timestamp the moment in UTC.
fn text_moment(ty: &Type, raw: &[u8]) -> Option<dialect::Moment> {
    let text = std::str::from_utf8(raw).ok()?;
    if *ty == Type::DATE {
        dialect::day_of(text).map(dialect::Moment::Day)
    } else {
        crate::tweet::date::parse_millis(text).map(dialect::Moment::Millis)
    }
}

/// The columns as Postgres fields, each in the format the client asked for:
/// of its type in `outputs` where there is one, else of `types`.
pub(super) fn fields(
    columns: &[String],
    types: &[ColumnType],
    outputs: &[Option<Type>],
    format: &Format,
) -> Vec<FieldInfo> {
    columns
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (name, ty))| {
            let ty = outputs.get(i).cloned().flatten().unwrap_or(match ty {
                ColumnType::Integer => Type::INT8,
                ColumnType::Real => Type::FLOAT8,
                ColumnType::Text => Type::TEXT,
                ColumnType::Boolean => Type::BOOL,
            });
            FieldInfo::new(name.clone(), None, None, ty, format.format_for(i))
        })
        .collect()
}

/// Encodes the rows with `fields`' types (see [`encode_row`]).
pub(super) fn response(r: QueryResult, fields: Vec<FieldInfo>) -> PgWireResult<QueryResponse> {
    check_cut(&r)?;
    let fields = Arc::new(fields);
    let mut encoder = DataRowEncoder::new(fields.clone());
    let rows: Vec<PgWireResult<DataRow>> =
        r.rows.iter().map(|row| encode_row(&mut encoder, row, &r.columns, &r.types, &fields)).collect();
    Ok(QueryResponse::new(fields, stream::iter(rows)))
}

/// One row with `fields`' types: a value of another type is converted where
/// that loses nothing, else the query fails with a clear message.
pub(super) fn encode_row(
    encoder: &mut DataRowEncoder,
    row: &[Value],
    columns: &[String],
    types: &[ColumnType],
    fields: &[FieldInfo],
) -> PgWireResult<DataRow> {
    for (i, v) in row.iter().enumerate() {
        if let Some(encoded) = encode_narrow(encoder, v, &fields[i]) {
            encoded.map_err(|e| {
                pg_error(
                    "22003",
                    format!(
                        "column {}: {v} is out of range for type {} ({e})",
                        columns[i],
                        fields[i].datatype()
                    ),
                )
            })?;
            continue;
        }
        match (v, types[i]) {
            (Value::Null, _) => encoder.encode_field(&None::<String>)?,
            (Value::Number(n), ColumnType::Integer) if n.is_i64() => encoder.encode_field(&n.as_i64())?,
            (Value::Number(n), ColumnType::Real) => encoder.encode_field(&n.as_f64())?,
            (Value::String(s), ColumnType::Text) => encoder.encode_field(&s.as_str())?,
            (Value::Bool(b), ColumnType::Boolean) => encoder.encode_field(b)?,
            // A value of another type than its column's (SQLite is loosely
            // typed): a text column, or any column sent as text, takes it
            // as it is written; a binary number column cannot.
            (other, ColumnType::Text) => encoder.encode_field(&other.to_string())?,
            (Value::String(s), _) if fields[i].format() == FieldFormat::Text => {
                encoder.encode_field(&s.as_str())?
            }
            (other, _) if fields[i].format() == FieldFormat::Text => {
                encoder.encode_field(&other.to_string())?
            }
            (other, _) => {
                return Err(pg_error(
                    "22023",
                    format!(
                        "column {} was described as {} but has the value {other}; cast it in the query",
                        columns[i],
                        fields[i].datatype()
                    ),
                ));
            }
        }
    }
    Ok(encoder.take_row())
}

/// A number in a column of a narrower type than its values' (`int4`,
/// `int2`, `float4`, or `bool` from 0 or 1: see [`outputs`]), if the
/// column is one; an error if the value does not fit.
fn encode_narrow(encoder: &mut DataRowEncoder, v: &Value, field: &FieldInfo) -> Option<PgWireResult<()>> {
    let n = match v {
        Value::Number(n) => n,
        Value::Bool(b) if *field.datatype() == Type::BOOL => return Some(encoder.encode_field(b)),
        _ => return None,
    };
    let range = |what: &str| Err(PgWireError::ApiError(what.to_owned().into()));
    Some(match *field.datatype() {
        Type::INT4 => match n.as_i64().and_then(|n| i32::try_from(n).ok()) {
            Some(n) => encoder.encode_field(&n),
            None => range("not a 32-bit integer"),
        },
        Type::INT2 => match n.as_i64().and_then(|n| i16::try_from(n).ok()) {
            Some(n) => encoder.encode_field(&n),
            None => range("not a 16-bit integer"),
        },
        Type::FLOAT4 => encoder.encode_field(&(n.as_f64().unwrap_or(f64::NAN) as f32)),
        Type::BOOL => encoder.encode_field(&(n.as_f64() != Some(0.0))),
        _ => return None,
    })
}
