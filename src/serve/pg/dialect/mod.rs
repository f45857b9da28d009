//! The Postgres dialect, read by the SQLite engine: what PostgreSQL clients
//! and the tools on them send that SQLite would not read, translated before
//! the statement is prepared (see docs/sql.md, "PostgreSQL clients").
//!
//! - `pg_catalog.` before a name is dropped (the functions and catalog
//!   tables are registered under their bare names: [`functions`]);
//! - `x::type` becomes what SQLite computes for it: a `CAST` for numbers and
//!   text, the day for `::date`; a parameter's cast types the parameter;
//! - `= ANY (ARRAY[…])` and `<> ALL (ARRAY[…])` become `IN (…)` and
//!   `NOT IN (…)`; `ILIKE` is `LIKE` (SQLite's is case-insensitive);
//!   `json_build_object` is SQLite's `json_object`; `~`, `!~`, `~*` and
//!   `OPERATOR(pg_catalog.~)` are regular expressions (`REGEXP`);
//!   `COLLATE "C"` (or `default`) is the only collation, and is dropped;
//! - `current_user`, `current_schema` and the like without parentheses are
//!   calls; `current_setting('name')` is the session's value;
//! - each `$N` gets a type from its use: `LIMIT $1` is an integer, `count
//!   >= $1` takes the column's type, `$1::date` the cast's. A client that
//!   leaves a parameter's type open is told this type, and its value is read
//!   as one ([`ParamType`]).
//!
//! Only this translation is Postgres-specific: the statement then runs as
//! any other, in the same sandbox.

pub mod lex;
mod rewrite;
pub mod settings;

use crate::engine::tables::{ColumnType, TableKind};
use lex::{Kind, Token};

/// The type a parameter is given from its use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// Nothing says: it is described as text.
    Unknown,
    Integer,
    Real,
    Text,
    /// A day, compared as `YYYY-MM-DD` (the `date` column).
    Date,
    /// A time, compared as `YYYY-MM-DD HH:MM:SS[.mmm]` in UTC (`batch_time`).
    Timestamp,
}

/// A statement in SQLite's dialect.
#[derive(Clone, Debug, PartialEq)]
pub struct Translated {
    pub sql: String,
    /// The type of `$1`, `$2`, … (as many as the highest `$N`).
    pub params: Vec<ParamType>,
    /// Parameters that are a `LIMIT` or `OFFSET` (a dry run binds them a
    /// number: SQLite refuses `LIMIT NULL`).
    pub counts: Vec<usize>,
    /// What each item of the outer select list is, where it says its type
    /// (empty when the list has a `*`, whose columns are not counted here).
    pub items: Vec<Item>,
}

/// An item of a select list, as far as its Postgres type goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `$N` alone: the parameter's type.
    Param(usize),
    /// Arithmetic (`+ - * / %`) on these parameters and integer literals
    /// (`literal`: there is one, an `int4`): an `int4` or `int2` where the
    /// parameters are, as Postgres' operators give.
    Arithmetic { params: Vec<usize>, literal: bool },
    /// A cast (`x::int4`, `CAST(x AS boolean)`) to one of these types.
    Cast(Output),
    /// Anything else: the type of its values.
    Other,
}

/// The types a cast in a select list gives its column, where Postgres'
/// type is finer than the values' (an `int4`, not an `int8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Bool,
    Text,
}

impl Output {
    /// The output of a cast to `type_name`, by the catalog's names of types.
    fn of(type_name: &str) -> Option<Output> {
        if type_name == "float" {
            return Some(Output::Float8); // `float` without a precision
        }
        Some(match super::catalog::type_by_name(type_name)? {
            21 => Output::Int2,
            23 => Output::Int4,
            20 => Output::Int8,
            700 => Output::Float4,
            701 => Output::Float8,
            16 => Output::Bool,
            25 | 1043 => Output::Text,
            _ => return None,
        })
    }
}

/// The items of the outer select list of `tokens` (significant ones by
/// index in `sig`): each one's `$N`, or the type of a cast that ends it.
fn select_items(sig: &[usize], tokens: &[Token<'_>]) -> Vec<Item> {
    let t = |k: usize| &tokens[sig[k]];
    // The outer SELECT: at depth 0 (not a WITH's query).
    let Some(select) = (0..sig.len()).find(|&k| t(k).is("select") && depth_between(sig, tokens, 0, k) == 0)
    else {
        return Vec::new();
    };
    let mut depth = 0;
    let mut items = Vec::new();
    let first = select
        + 1
        + usize::from(select + 1 < sig.len() && (t(select + 1).is("distinct") || t(select + 1).is("all")));
    let mut start = first;
    for k in first..=sig.len() {
        let end =
            k == sig.len() || depth == 0 && (t(k).is_punct(",") || t(k).is_punct(";") || is_clause(t(k)));
        if !end {
            if t(k).is_punct("(") {
                depth += 1;
            } else if t(k).is_punct(")") {
                depth -= 1;
            }
            continue;
        }
        let star = k > start && t(k - 1).text == "*" && (k == start + 1 || t(k - 2).is_punct("."));
        if k == start || star {
            return Vec::new();
        }
        items.push(item(sig, tokens, start, k));
        if k == sig.len() || !t(k).is_punct(",") {
            break;
        }
        start = k + 1;
    }
    items
}

/// `tokens` as arithmetic on parameters and integer literals that fit an
/// `int4`, if they are that and name a parameter.
fn arithmetic(tokens: &[&Token<'_>]) -> Option<Item> {
    let (mut params, mut literal, mut operators) = (Vec::new(), false, 0);
    for tok in tokens {
        match tok.kind {
            Kind::Param(n) => params.push(n),
            Kind::Number if tok.text.parse::<i32>().is_ok() => literal = true,
            Kind::Op if matches!(tok.text, "+" | "-" | "*" | "/" | "%") => operators += 1,
            Kind::Punct if tok.text == "(" || tok.text == ")" => {}
            _ => return None,
        }
    }
    (!params.is_empty() && operators > 0).then_some(Item::Arithmetic { params, literal })
}

/// Words that end a select list.
fn is_clause(tok: &Token<'_>) -> bool {
    [
        "from",
        "where",
        "group",
        "having",
        "order",
        "limit",
        "offset",
        "union",
        "except",
        "intersect",
        "window",
        "into",
    ]
    .iter()
    .any(|w| tok.is(w))
}

/// What the select item of significant tokens `start..end` is.
fn item(sig: &[usize], tokens: &[Token<'_>], start: usize, mut end: usize) -> Item {
    let t = |k: usize| &tokens[sig[k]];
    // Without its label: `x AS name`, `x name`.
    if end >= start + 3 && t(end - 2).is("as") {
        end -= 2;
    } else if end >= start + 2
        && matches!(t(end - 1).kind, Kind::Word | Kind::QuotedName)
        && !is_keyword(t(end - 1).text)
    {
        let before = t(end - 2);
        if matches!(before.kind, Kind::Word | Kind::QuotedName | Kind::Param(_) | Kind::Number | Kind::Str)
            || before.is_punct(")")
        {
            end -= 1;
        }
    }
    if end == start + 1
        && let Kind::Param(n) = t(start).kind
    {
        return Item::Param(n);
    }
    if let Some(arithmetic) = arithmetic(&(start..end).map(t).collect::<Vec<_>>()) {
        return arithmetic;
    }
    // `CAST(x AS type)`
    if t(start).is("cast")
        && end >= start + 5
        && t(end - 1).is_punct(")")
        && matching(sig, tokens, start + 1, "(", ")") == Some(end - 1)
    {
        if let Some(as_at) = (start + 2..end - 1)
            .rev()
            .find(|&j| t(j).is("as") && depth_between(sig, tokens, start + 2, j) == 0)
            && let Ok((name, last)) = type_name(sig, tokens, as_at + 1)
            && last == end - 2
        {
            return Output::of(&name).map_or(Item::Other, Item::Cast);
        }
        return Item::Other;
    }
    // `… ::type` at depth 0, the last cast of the item.
    if let Some(cast) =
        (start + 1..end).rev().find(|&j| t(j).kind == Kind::Cast && depth_between(sig, tokens, start, j) == 0)
        && let Ok((name, last)) = type_name(sig, tokens, cast + 1)
        && last + 1 == end
    {
        return Output::of(&name).map_or(Item::Other, Item::Cast);
    }
    Item::Other
}

/// The type a column of the live tables has in comparisons, by name.
pub fn column_type(name: &str) -> Option<ParamType> {
    match name {
        "date" => return Some(ParamType::Date),
        "batch_time" => return Some(ParamType::Timestamp),
        _ => {}
    }
    let mut found = None;
    for kind in TableKind::ALL {
        for (column, ty) in kind.columns(true) {
            if *column == name {
                let ty = match ty {
                    ColumnType::Integer | ColumnType::Boolean => ParamType::Integer,
                    ColumnType::Real => ParamType::Real,
                    ColumnType::Text => ParamType::Text,
                };
                if found.is_some_and(|f| f != ty) {
                    return None;
                }
                found = Some(ty);
            }
        }
    }
    found.or_else(|| super::catalog::catalog_column_type(name))
}

/// Why a statement cannot be translated.
#[derive(Debug, PartialEq, Eq)]
pub enum Untranslatable {
    /// SQLSTATE 0A000: a feature this server does not have.
    NotSupported(String),
    /// SQLSTATE 42704: `current_setting` of a name it does not know.
    UnknownSetting(String),
    /// SQLSTATE 22007: a date that is not one.
    BadDate(String),
}

impl std::fmt::Display for Untranslatable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Untranslatable::NotSupported(what) => f.write_str(what),
            Untranslatable::UnknownSetting(name) => {
                write!(f, "unrecognized configuration parameter \"{name}\"")
            }
            Untranslatable::BadDate(text) => write!(f, "invalid input syntax for type date: \"{text}\""),
        }
    }
}

/// Names Postgres reads as calls without parentheses.
const BARE_CALLS: &[&str] =
    &["current_user", "session_user", "current_role", "current_catalog", "current_schema"];

/// Translates `sql`; `setting` answers `current_setting(name)`. The rules
/// are in [`rewrite`].
pub fn translate(sql: &str, setting: &dyn Fn(&str) -> Option<String>) -> Result<Translated, Untranslatable> {
    rewrite::Rewriter::new(sql, setting).run()
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `'2015-02-20'`, or the day of a longer date-time as written: what
/// Postgres' date input reads.
fn day_literal(text: &str) -> Result<String, Untranslatable> {
    let t = text.trim();
    let day = t.get(..10).filter(|d| crate::tweet::date::parse_date(d).is_some());
    match day {
        Some(d) if t.len() == 10 || matches!(t.as_bytes()[10], b' ' | b'T' | b't') => Ok(d.to_owned()),
        _ => Err(Untranslatable::BadDate(text.to_owned())),
    }
}

/// A date or time a client sent as a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    /// Days since 1970-01-01.
    Day(i64),
    /// Milliseconds since the epoch (UTC).
    Millis(i64),
}

/// The day a date's text names, as written (Postgres' date input reads
/// `2015-02-20`, and `2015-02-20T00:00:00+01:00` as that day too), in days
/// since 1970-01-01.
pub fn day_of(text: &str) -> Option<i64> {
    let day = day_literal(text).ok()?;
    crate::tweet::date::parse_date(&day).map(|d| i64::from(d.0))
}

/// A moment as the tables write what it is compared with: a day as
/// `YYYY-MM-DD` (and a time at midnight against a `date`, which equals
/// that day), any other time as `batch_time` is written,
/// `YYYY-MM-DD HH:MM:SS[.mmm]` in UTC. So text comparisons order them as
/// Postgres would order a date and a timestamp.
pub fn moment_text(moment: Moment, compared_with: ParamType) -> String {
    let millis = match moment {
        Moment::Day(d) if compared_with != ParamType::Timestamp => {
            return crate::tweet::date::Day(d as i32).to_string();
        }
        Moment::Day(d) => d * 86_400_000,
        Moment::Millis(ms) => ms,
    };
    if compared_with == ParamType::Date && millis.rem_euclid(86_400_000) == 0 {
        return crate::tweet::date::Day::from_epoch_millis(millis).to_string();
    }
    crate::engine::tables::format_millis(millis)
}

/// What a cast turns into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Sqlite(&'static str, ParamType),
    /// A function around the operand (prefix, suffix).
    Call(&'static str, &'static str),
    Day,
    Time,
}

fn cast_target(name: &str) -> Result<Target, Untranslatable> {
    Ok(match name {
        "int" | "int2" | "int4" | "int8" | "integer" | "smallint" | "bigint" => {
            Target::Sqlite("INTEGER", ParamType::Integer)
        }
        "float" | "float4" | "float8" | "real" | "double precision" | "numeric" | "decimal" => {
            Target::Sqlite("REAL", ParamType::Real)
        }
        "text" | "varchar" | "character varying" | "char" | "character" | "bpchar" | "name" => {
            Target::Sqlite("TEXT", ParamType::Text)
        }
        "oid" => Target::Sqlite("INTEGER", ParamType::Integer),
        "regtype" => Target::Call("format_type(", ", NULL)"),
        "regclass" => Target::Call("to_regclass(", ")"),
        "regproc" | "regprocedure" => Target::Call("pg_regproc(", ")"),
        "bool" | "boolean" => Target::Call("pg_bool(", ")"),
        "regnamespace" => Target::Call("(select nspname from pg_namespace where oid = ", ")"),
        "date" => Target::Day,
        "timestamp" | "timestamptz" | "timestamp with time zone" | "timestamp without time zone" => {
            Target::Time
        }
        other => {
            return Err(Untranslatable::NotSupported(format!(
                "a cast to {other} is not supported (casts: int, bigint, float8, numeric, text, varchar, date, oid, regtype, regclass, regnamespace, regproc, bool, and timestamp on parameters)"
            )));
        }
    })
}

/// The type name starting at significant token `k`, and the index of its
/// last token (modifiers such as `(10)` included).
fn type_name(sig: &[usize], tokens: &[Token<'_>], k: usize) -> Result<(String, usize), Untranslatable> {
    let word = |k: usize| sig.get(k).map(|&i| &tokens[i]).filter(|t| t.kind == Kind::Word);
    // `::pg_catalog.text`
    let k = if word(k).is_some_and(|t| t.is("pg_catalog"))
        && sig.get(k + 1).is_some_and(|&i| tokens[i].is_punct("."))
    {
        k + 2
    } else {
        k
    };
    let Some(first) = word(k) else {
        return Err(Untranslatable::NotSupported("a type name must follow ::".into()));
    };
    let mut name = first.text.to_ascii_lowercase();
    let mut end = k;
    let follows = |end: usize, w: &str| word(end + 1).is_some_and(|t| t.is(w));
    if name == "double" && follows(end, "precision") {
        name.push_str(" precision");
        end += 1;
    } else if name == "character" && follows(end, "varying") {
        name.push_str(" varying");
        end += 1;
    } else if (name == "timestamp" || name == "time") && (follows(end, "with") || follows(end, "without")) {
        for w in ["with", "without", "time", "zone"] {
            if follows(end, w) {
                name.push(' ');
                name.push_str(w);
                end += 1;
            }
        }
    }
    if sig.get(end + 1).is_some_and(|&i| tokens[i].is_punct("(")) {
        end = matching(sig, tokens, end + 1, "(", ")")
            .ok_or_else(|| Untranslatable::NotSupported("a type's ( without its )".into()))?;
    }
    if sig.get(end + 1).is_some_and(|&i| tokens[i].is_punct("["))
        && sig.get(end + 2).is_some_and(|&i| tokens[i].is_punct("]"))
    {
        return Ok((format!("{name}[]"), end + 2));
    }
    Ok((name, end))
}

/// The depth of parentheses at significant token `to`, counted from `from`.
fn depth_between(sig: &[usize], tokens: &[Token<'_>], from: usize, to: usize) -> i32 {
    let mut depth = 0;
    for &i in &sig[from..to] {
        if tokens[i].is_punct("(") {
            depth += 1;
        } else if tokens[i].is_punct(")") {
            depth -= 1;
        }
    }
    depth
}

/// The index of the token closing the bracket opened at `open`.
fn matching(sig: &[usize], tokens: &[Token<'_>], open: usize, o: &str, c: &str) -> Option<usize> {
    lex::matching(sig.iter().map(|&i| &tokens[i]), open, o, c)
}

/// Where the operand of the `::` at significant token `k` begins: a
/// literal, a parameter, a (qualified) name, a call or a parenthesized
/// expression, or a cast's result.
fn operand_start(
    sig: &[usize],
    tokens: &[Token<'_>],
    k: usize,
    groups: &std::collections::HashMap<usize, usize>,
) -> Option<usize> {
    let last = k.checked_sub(1)?;
    if let Some(&start) = groups.get(&last) {
        return Some(start);
    }
    let tok = &tokens[sig[last]];
    let mut start = match tok.kind {
        Kind::Str | Kind::Number | Kind::Param(_) => return Some(last),
        Kind::Word if is_keyword(tok.text) => return None,
        Kind::Word | Kind::QuotedName => last,
        Kind::Punct if tok.text == ")" => {
            let mut depth = 0;
            let mut open = None;
            for j in (0..=last).rev() {
                let t = &tokens[sig[j]];
                if t.is_punct(")") {
                    depth += 1;
                } else if t.is_punct("(") {
                    depth -= 1;
                    if depth == 0 {
                        open = Some(j);
                        break;
                    }
                }
            }
            let open = open?;
            // A call: the function's name comes with it.
            match open.checked_sub(1).map(|j| &tokens[sig[j]]) {
                Some(f) if f.kind == Kind::Word && !is_keyword(f.text) => open - 1,
                _ => return Some(open),
            }
        }
        _ => return None,
    };
    // A qualified name: `t.col`, `schema.f(…)`.
    while start >= 2 && tokens[sig[start - 1]].is_punct(".") && tokens[sig[start - 2]].name().is_some() {
        start -= 2;
    }
    Some(start)
}

/// Words after which `(` opens an expression, not a call's arguments.
fn is_keyword(word: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "select", "and", "or", "not", "in", "on", "where", "when", "then", "else", "as", "from", "by",
        "having", "exists", "values", "any", "all", "some", "case", "between", "like", "is", "distinct",
        "join", "using", "return", "with", "limit", "offset",
    ];
    KEYWORDS.iter().any(|k| word.eq_ignore_ascii_case(k))
}

/// The type of the column the parameter at significant token `k` is
/// compared with (`col op $N`, `$N op col`, `col [NOT] IN (…, $N, …)`,
/// `col BETWEEN $N AND $M`), if the column is known.
fn compared_column(sig: &[usize], tokens: &[Token<'_>], k: usize) -> Option<ParamType> {
    let t = |k: usize| sig.get(k).map(|&i| &tokens[i]);
    let comparison = |x: &Token<'_>| {
        matches!(x.text, "=" | "<>" | "!=" | "<" | "<=" | ">" | ">=") && x.kind == Kind::Op
            || x.is("like")
            || x.is("ilike")
    };
    // A column's name: the last part of a possibly qualified name, not a call.
    let column_at = |j: usize| -> Option<ParamType> {
        let tok = t(j)?;
        if t(j + 1).is_some_and(|x| x.is_punct("(")) {
            return None;
        }
        column_type(&tok.name()?)
    };
    if let Some(prev) = k.checked_sub(1).and_then(t) {
        if comparison(prev)
            && let Some(ty) = k.checked_sub(2).and_then(column_at)
        {
            return Some(ty);
        }
        // col BETWEEN $1 AND $2
        if prev.is("between") {
            return k.checked_sub(2).and_then(column_at);
        }
        if prev.is("and") && k >= 4 && t(k - 3).is_some_and(|x| x.is("between")) {
            return column_at(k - 4);
        }
        // col IN ($1, $2)
        if prev.is_punct("(") || prev.is_punct(",") {
            let mut j = k - 1;
            while j > 0 && !t(j).is_some_and(|x| x.is_punct("(")) {
                j -= 1;
            }
            if j >= 2 && t(j - 1).is_some_and(|x| x.is("in")) {
                let col = if t(j - 2).is_some_and(|x| x.is("not")) { j.checked_sub(3)? } else { j - 2 };
                return column_at(col);
            }
        }
    }
    if t(k + 1).is_some_and(comparison) && !t(k + 3).is_some_and(|x| x.is_punct("(") || x.is_punct(".")) {
        return column_at(k + 2);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(sql: &str) -> Translated {
        translate(sql, &|name| (name == "server_version").then(|| "16.6".to_owned())).unwrap()
    }

    /// SQLite with the catalog and small tables whose answers are known.
    fn sqlite() -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let live: Vec<(&str, &[(&str, ColumnType)])> =
            TableKind::ALL.into_iter().map(|k| (k.name(), k.columns(false))).collect();
        super::super::catalog::install(&conn, &live).unwrap();
        conn.execute_batch(
            "create table t(count integer, y integer, x integer, tag text, \"a::b\" text);
             insert into t values (3, 2, 2, 'alpha', 'q'), (5, 9, 9, 'beta', 'r'), (4, 1, 8, 'gamma', 's');
             create table u(k); insert into u values (1);
             create table days(date text);
             insert into days values ('2015-02-19'), ('2015-02-20'), ('2015-02-21');
             create table batches(batch_time text); insert into batches values ('2015-02-20 10:11:12.000');
             create table rels(relname text, relkind text);
             insert into rels values ('tag_totals', 'r'), ('v1', 'v'), ('i1', 'i'), ('pg_x', 'r');",
        )
        .unwrap();
        conn
    }

    /// The rows SQLite gives for a PostgreSQL statement, once translated.
    fn rows(conn: &rusqlite::Connection, pg: &str) -> Vec<Vec<rusqlite::types::Value>> {
        let sql = tr(pg).sql;
        let mut statement = conn.prepare(&sql).unwrap_or_else(|e| panic!("{pg}\n→ {sql}\n{e}"));
        let n = statement.column_count();
        let rows = statement.query_map([], |r| (0..n).map(|i| r.get(i)).collect()).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    /// Each statement gives the rows PostgreSQL 16 gives (written out by
    /// hand from PostgreSQL's documented semantics), whatever text the
    /// rewrite chose.
    #[test]
    fn postgres_only_syntax_answers_as_postgres_does() {
        use rusqlite::types::Value::{Integer as I, Real as R};
        let s = |v: &str| rusqlite::types::Value::Text(v.to_owned());
        let conn = sqlite();
        let cases: Vec<(&str, Vec<Vec<rusqlite::types::Value>>)> = vec![
            ("select substr(pg_catalog.version(), 1, 13)", vec![vec![s("PostgreSQL 16")]]),
            ("select current_schema(), current_user", vec![vec![s("public"), s("tweetstream")]]),
            ("select current_setting('server_version')", vec![vec![s("16.6")]]),
            ("select 'a'::text, 2::int8, (1+2)::float8, '7'::int", vec![vec![s("a"), I(2), R(3.0), I(7)]]),
            ("select count(*)::int, max(t.count)::text::int from t", vec![vec![I(3), I(5)]]),
            (
                "select date from days where date >= '2015-02-20'::date order by date",
                vec![vec![s("2015-02-20")], vec![s("2015-02-21")]],
            ),
            ("select count(*) from days where date = '2015-02-20 10:00:00+01'::date", vec![vec![I(1)]]),
            ("select batch_time::date from batches", vec![vec![s("2015-02-20")]]),
            ("select 'x'::character varying(10), 1::pg_catalog.int8", vec![vec![s("x"), I(1)]]),
            ("select oid::regtype::text from pg_type where typname = 'int8'", vec![vec![s("bigint")]]),
            ("select relname from pg_class where oid = 'tag_totals'::regclass", vec![vec![s("tag_totals")]]),
            (
                "select relname from rels where relkind = ANY (ARRAY['r', 'v']) and relname <> ALL (ARRAY['pg_x']) order by 1",
                vec![vec![s("tag_totals")], vec![s("v1")]],
            ),
            ("select tag from t where tag ILIKE 'B%'", vec![vec![s("beta")]]),
            (
                "select array_to_string(array(select tag from t where x = any (y) order by 1), ',') from u",
                vec![vec![s("alpha,beta")]],
            ),
            (
                "select relname from rels where relname OPERATOR(pg_catalog.~) '^(tag_totals)$' COLLATE pg_catalog.default",
                vec![vec![s("tag_totals")]],
            ),
            (
                "select relname from rels where relname !~ '^pg_' order by 1",
                vec![vec![s("i1")], vec![s("tag_totals")], vec![s("v1")]],
            ),
            // Strings, quoted names and comments are left as they are.
            (
                "select 'pg_catalog.x::int', \"a::b\" from t where count = 3 -- ::date\n",
                vec![vec![s("pg_catalog.x::int"), s("q")]],
            ),
            // An array is its literal: subscripts, unnest, ARRAY(SELECT …), casts.
            (
                "select (pg_catalog.current_schemas(true))[1], current_schemas(false), array_upper(current_schemas(true), 1)",
                vec![vec![s("pg_catalog"), s("{public}"), I(2)]],
            ),
            ("select '{1}'::int[], x::int2[] from t where count = 4", vec![vec![s("{1}"), I(8)]]),
            (
                "select x from pg_catalog.unnest('{a,\"b c\"}') x order by 1",
                vec![vec![s("a")], vec![s("b c")]],
            ),
            (
                "select r from pg_catalog.generate_series(1, 3) as s(r) where r > 1",
                vec![vec![I(2)], vec![I(3)]],
            ),
            ("select s, s.value from generate_series(1, 2) s", vec![vec![I(1), I(1)], vec![I(2), I(2)]]),
            ("select value from generate_series(1, 2)", vec![vec![I(1)], vec![I(2)]]),
            (
                "select array_to_string(array(select tag from t order by tag desc), ', ')",
                vec![vec![s("gamma, beta, alpha")]],
            ),
            (
                "select relname from rels where relkind = any('{r,v}') order by 1",
                vec![vec![s("pg_x")], vec![s("tag_totals")], vec![s("v1")]],
            ),
            (
                "select count(*) from pg_index i where (information_schema._pg_expandarray(i.indkey)).n = 1",
                vec![vec![I(0)]],
            ),
            (
                "select trim(both 'x' from 'xxaxx'), trim(leading 'x' from 'xa'), trim(trailing from 'a  ')",
                vec![vec![s("a"), s("a"), s("a")]],
            ),
            ("select E'a\\nb\\'', $$it's$$, $q$$q$ as default", vec![vec![s("a\nb'"), s("it's"), s("")]]),
        ];
        for (pg, expected) in cases {
            assert_eq!(rows(&conn, pg), expected, "{pg}\n→ {}", tr(pg).sql);
        }
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        let err = |sql: &str| translate(sql, &|_| None).expect_err(sql);
        assert_eq!(err("select current_setting('nope')"), Untranslatable::UnknownSetting("nope".into()));
        assert_eq!(err("select '2015-02-30'::date"), Untranslatable::BadDate("2015-02-30".into()));
        assert!(
            matches!(err("select 1::interval"), Untranslatable::NotSupported(m) if m.contains("interval"))
        );
        assert!(
            matches!(err("select x[1:2] from t"), Untranslatable::NotSupported(m) if m.contains("slices"))
        );
        assert!(matches!(err("select ::int"), Untranslatable::NotSupported(_)));
        assert!(matches!(err("select batch_time::timestamp from batches"), Untranslatable::NotSupported(_)));
    }

    #[test]
    fn parameters_take_their_type_from_their_use() {
        use ParamType::*;
        let t = tr(
            "select tag, count from tag_totals where count >= $1 and tag like $2 order by count desc limit $3 offset $4",
        );
        assert_eq!(t.params, [Integer, Text, Integer, Integer]);
        assert_eq!(t.counts, [3, 4]);
        assert_eq!(tr("select * from sentiment_by_day where $1 <= date and date < $2").params, [Date, Date]);
        assert_eq!(
            tr("select * from sentiment_by_day where score_avg between $1 and $2").params,
            [Real, Real]
        );
        assert_eq!(
            tr("select * from tag_totals where tag in ($1, $2) or count not in ($3)").params,
            [Text, Text, Integer]
        );
        assert_eq!(tr("select * from batches where b.batch_time > $1").params, [Timestamp]);
        assert_eq!(
            tr("select $1::int8, $2::date, $3::timestamptz, $4").params,
            [Integer, Date, Timestamp, Unknown]
        );
        assert_eq!(tr("select $1::date").sql, "select $1");
        // A call's result is not the column of the same name.
        assert_eq!(tr("select * from t where count(x) = $1").params, [Unknown]);
        assert_eq!(tr("select * from t where $2 = 1").params, [Unknown, Unknown]);
    }

    #[test]
    fn select_items_say_the_types_their_casts_and_parameters_give() {
        use Item::*;
        assert_eq!(
            tr("select $1, $2::int as n, cast($3 as boolean) b, x::text, count(*), (y)::int2 from t").items,
            [Param(1), Cast(Output::Int4), Cast(Output::Bool), Cast(Output::Text), Other, Cast(Output::Int2)]
        );
        // A `*` makes the columns more than the items: nothing is said.
        assert_eq!(tr("select *, 1::int from t").items, []);
        assert_eq!(tr("select t.*, 1::int from t").items, []);
        assert_eq!(tr("select 2 * 3::int4").items, [Cast(Output::Int4)]);
        // The outer select list, not a CTE's or a subquery's.
        assert_eq!(
            tr("with a as (select 1::int2 as v) select v, (select 1::bool) from a").items,
            [Other, Other]
        );
        assert_eq!(tr("select distinct $1::float4 from t").items, [Cast(Output::Float4)]);
        assert_eq!(
            tr("select $1 + 1, ($2 * $1) as p, $1 + 1.5, $1 || 'x'").items,
            [
                Arithmetic { params: vec![1], literal: true },
                Arithmetic { params: vec![2, 1], literal: false },
                Other,
                Other
            ]
        );
    }

    #[test]
    fn dates_and_times_are_written_as_the_tables_write_them() {
        let day = day_of("2015-02-20").unwrap();
        assert_eq!(day_of("2015-02-20T00:00:00.000+01:00"), Some(day), "the day as written");
        assert_eq!(day_of("2015-02-30"), None);
        assert_eq!(moment_text(Moment::Day(day), ParamType::Date), "2015-02-20");
        assert_eq!(moment_text(Moment::Day(day), ParamType::Timestamp), "2015-02-20 00:00:00");
        let ms = day * 86_400_000;
        assert_eq!(moment_text(Moment::Millis(ms), ParamType::Date), "2015-02-20");
        assert_eq!(moment_text(Moment::Millis(ms + 36_000_123), ParamType::Date), "2015-02-20 10:00:00.123");
        assert_eq!(moment_text(Moment::Millis(ms), ParamType::Timestamp), "2015-02-20 00:00:00");
        // Text order against the `date` column is Postgres' order of a date
        // and a timestamp: the day itself is before any later time of it.
        let later = moment_text(Moment::Millis(ms + 1), ParamType::Date);
        assert!("2015-02-20" < later.as_str() && later.as_str() < "2015-02-21");
    }
}
