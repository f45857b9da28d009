//! Postgres arrays as the catalog's queries use them. An array is its text
//! literal (`{pg_catalog,public}`, `{a,"b c",NULL}`), which is also how a
//! client reading text receives one; these functions read and write that
//! form: `array_agg`, `current_schemas`, a subscript (`array_get`, what the
//! dialect makes of `x[i]`), `array_upper`, `array_length`,
//! `array_to_string`, and `array_json` (the elements as JSON, which
//! `unnest(x)` in a FROM clause is read through).

use rusqlite::Connection;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;

/// Registers the array functions and aggregates on `conn`.
pub fn install(conn: &Connection, flags: FunctionFlags) -> rusqlite::Result<()> {
    conn.create_aggregate_function("array_agg", 1, flags, ArrayAgg)?;
    // The schemas searched, `pg_catalog` first when `true` is given.
    conn.create_scalar_function("current_schemas", 1, flags, |ctx| {
        let implicit = ctx.get::<Option<bool>>(0)?.unwrap_or(false);
        Ok(if implicit { "{pg_catalog,public}" } else { "{public}" })
    })?;
    conn.create_scalar_function("array_get", 2, flags, |ctx| {
        let (Some(array), Some(i)) = (text(ctx, 0)?, ctx.get::<Option<i64>>(1)?) else {
            return Ok(None);
        };
        let items = elements(&array).map_err(user_error)?;
        Ok(usize::try_from(i)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| items.into_iter().nth(i))
            .flatten())
    })?;
    // One dimension only: the upper bound and the length are the count,
    // NULL for an empty array, as in Postgres.
    for name in ["array_upper", "array_length"] {
        conn.create_scalar_function(name, 2, flags, |ctx| {
            let (Some(array), Some(1)) = (text(ctx, 0)?, ctx.get::<Option<i64>>(1)?) else {
                return Ok(None);
            };
            let n = elements(&array).map_err(user_error)?.len() as i64;
            Ok((n > 0).then_some(n))
        })?;
    }
    for args in [2, 3] {
        conn.create_scalar_function("array_to_string", args, flags, |ctx| {
            let (Some(array), Some(separator)) = (text(ctx, 0)?, ctx.get::<Option<String>>(1)?) else {
                return Ok(None);
            };
            let null = if ctx.len() == 3 { ctx.get::<Option<String>>(2)? } else { None };
            let items = elements(&array).map_err(user_error)?;
            let kept: Vec<String> = items.into_iter().filter_map(|v| v.or_else(|| null.clone())).collect();
            Ok(Some(kept.join(&separator)))
        })?;
    }
    conn.create_scalar_function("array_json", 1, flags, |ctx| {
        let Some(array) = text(ctx, 0)? else {
            return Ok("[]".to_owned());
        };
        let items = elements(&array).map_err(user_error)?;
        Ok(serde_json::Value::from(items).to_string())
    })?;
    Ok(())
}

/// Argument `i` as text (a number as written: a vector such as `indkey`
/// of one element may be stored as one).
fn text(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    Ok(match ctx.get_raw(i) {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    })
}

fn user_error(e: String) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(e.into())
}

/// The elements of a one-dimensional array literal; `NULL` unquoted is a
/// null element. Without braces, the value is a vector as `int2vector` and
/// `oidvector` write one (`1 2 3`).
pub fn elements(literal: &str) -> Result<Vec<Option<String>>, String> {
    if !literal.trim_start().starts_with('{') {
        return Ok(literal.split_whitespace().map(|v| Some(v.to_owned())).collect());
    }
    let bad = || format!("malformed array literal: \"{literal}\"");
    let inner = literal.trim().strip_prefix('{').and_then(|s| s.strip_suffix('}')).ok_or_else(bad)?;
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    if inner.trim().is_empty() {
        return Ok(items);
    }
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut item = String::new();
        let quoted = chars.next_if_eq(&'"').is_some();
        if quoted {
            loop {
                match chars.next().ok_or_else(bad)? {
                    '"' => break,
                    '\\' => item.push(chars.next().ok_or_else(bad)?),
                    c => item.push(c),
                }
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                if c == '{' || c == '"' {
                    return Err(format!("{}: nested arrays are not supported", bad()));
                }
                item.push(if c == '\\' { chars.next().ok_or_else(bad)? } else { c });
            }
            item.truncate(item.trim_end().len());
        }
        items.push((quoted || !item.eq_ignore_ascii_case("null")).then_some(item));
        match chars.next() {
            None => return Ok(items),
            Some(',') => {}
            Some(_) => return Err(bad()),
        }
    }
}

/// `array_agg(x)`: the values as a Postgres array literal (`{a,"b c",NULL}`),
/// as a text client reads an array.
struct ArrayAgg;

impl Aggregate<Vec<Option<String>>, Option<String>> for ArrayAgg {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Vec<Option<String>>> {
        Ok(Vec::new())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Vec<Option<String>>) -> rusqlite::Result<()> {
        acc.push(match ctx.get_raw(0) {
            ValueRef::Null => None,
            ValueRef::Integer(n) => Some(n.to_string()),
            ValueRef::Real(x) => Some(x.to_string()),
            ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
        });
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<Vec<Option<String>>>,
    ) -> rusqlite::Result<Option<String>> {
        Ok(acc.map(|values| literal(values.into_iter())))
    }
}

/// The array literal of `values`.
pub fn literal(values: impl Iterator<Item = Option<String>>) -> String {
    let items: Vec<String> = values.map(|v| v.map_or("NULL".to_owned(), item)).collect();
    format!("{{{}}}", items.join(","))
}

/// An element of an array literal, quoted where Postgres quotes it.
fn item(v: String) -> String {
    let plain = !v.is_empty()
        && !v.eq_ignore_ascii_case("null")
        && !v.contains(|c: char| c.is_whitespace() || "{},\"\\".contains(c));
    if plain { v } else { format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_read_back_as_written() {
        let values = vec![
            Some("a".to_owned()),
            Some("b c".into()),
            None,
            Some("x\"y\\".into()),
            Some("null".into()),
            Some(String::new()),
        ];
        let text = literal(values.clone().into_iter());
        assert_eq!(text, r#"{a,"b c",NULL,"x\"y\\","null",""}"#);
        assert_eq!(elements(&text).unwrap(), values);
        assert_eq!(elements("{}").unwrap(), Vec::<Option<String>>::new());
        assert_eq!(elements("{ 1 , 2 }").unwrap(), [Some("1".to_owned()), Some("2".to_owned())]);
        assert_eq!(elements("1 2").unwrap(), [Some("1".to_owned()), Some("2".to_owned())]);
        for bad in ["{", "{a", "{\"a}", "{{1},{2}}", "{\"a\"b}"] {
            assert!(elements(bad).is_err(), "{bad}");
        }
    }
}
