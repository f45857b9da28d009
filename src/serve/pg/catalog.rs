//! The functions and catalog tables PostgreSQL clients ask for when they
//! connect or look around (`version()`, `current_schema()`, `pg_class`,
//! `pg_type`, …), on every SQL connection. The catalog describes the live
//! tables as tables of the `public` schema, with Postgres' types, so a
//! client's `has_table` or type lookup gets a true answer.

use crate::engine::tables::ColumnType;
use crate::sql::LiveTables;
use rusqlite::Connection;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;

/// The version string: Postgres' form, which clients parse for the major
/// version, then what this server is.
pub fn version() -> String {
    format!(
        "PostgreSQL 16.6 (tweetstream {}: the live tables, read-only, on SQLite {})",
        env!("CARGO_PKG_VERSION"),
        rusqlite::version()
    )
}

/// The database, schema and user every client sees.
pub const DATABASE: &str = "tweetstream";
pub const SCHEMA: &str = "public";
pub const USER: &str = "tweetstream";

/// The first oid of the live tables in `pg_class` (Postgres' first
/// user-object oid).
pub const FIRST_TABLE_OID: i64 = 16_384;

/// Postgres' types the catalog lists: (oid, name, array type's oid, length).
const TYPES: &[(i64, &str, i64, i64)] = &[
    (16, "bool", 1000, 1),
    (18, "char", 1002, 1),
    (19, "name", 1003, 64),
    (20, "int8", 1016, 8),
    (21, "int2", 1005, 2),
    (23, "int4", 1007, 4),
    (25, "text", 1009, -1),
    (26, "oid", 1028, 4),
    (700, "float4", 1021, 4),
    (701, "float8", 1022, 8),
    (1043, "varchar", 1015, -1),
    (1082, "date", 1182, 4),
    (1114, "timestamp", 1115, 8),
    (1184, "timestamptz", 1185, 8),
    (1700, "numeric", 1231, -1),
];

/// A type's oid by any of its names.
fn type_by_name(name: &str) -> Option<i64> {
    let name = name.trim().to_ascii_lowercase();
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    let canonical = match name {
        "bigint" => "int8",
        "integer" | "int" => "int4",
        "smallint" => "int2",
        "double precision" => "float8",
        "real" => "float4",
        "boolean" => "bool",
        "character varying" => "varchar",
        "timestamp with time zone" => "timestamptz",
        "timestamp without time zone" => "timestamp",
        "decimal" => "numeric",
        other => other,
    };
    TYPES.iter().find(|t| t.1 == canonical).map(|t| t.0)
}

/// The Postgres type of a live table's column.
pub fn type_oid(ty: ColumnType) -> i64 {
    match ty {
        ColumnType::Integer => 20,
        ColumnType::Real => 701,
        ColumnType::Text => 25,
    }
}

/// Columns of the catalog tables that a parameter may be compared with.
pub fn catalog_column_type(name: &str) -> Option<super::dialect::ParamType> {
    use super::dialect::ParamType::*;
    match name {
        "relname" | "nspname" | "typname" | "attname" | "relkind" | "datname" | "relpersistence"
        | "typtype" => Some(Text),
        "oid" | "relnamespace" | "attrelid" | "atttypid" | "attnum" | "typnamespace" | "typarray"
        | "objoid" => Some(Integer),
        _ => None,
    }
}

/// Registers the functions and creates the catalog (as temporary tables, so
/// before the connection is made read-only). `tables`: the live tables of
/// this run with their columns.
pub fn install(conn: &Connection, tables: &LiveTables<'_>) -> rusqlite::Result<()> {
    let flags =
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    let text = |conn: &Connection, name: &str, value: String| {
        conn.create_scalar_function(name, 0, flags, move |_| Ok(value.clone()))
    };
    text(conn, "version", version())?;
    text(conn, "current_database", DATABASE.into())?;
    text(conn, "current_catalog", DATABASE.into())?;
    text(conn, "current_schema", SCHEMA.into())?;
    for name in ["current_user", "session_user", "current_role"] {
        text(conn, name, USER.into())?;
    }
    let pid = i64::from(std::process::id());
    conn.create_scalar_function("pg_backend_pid", 0, flags, move |_| Ok(pid))?;
    // Nothing is ever locked: there is nothing to unlock (asyncpg's pool
    // resets connections with it).
    conn.create_scalar_function("pg_advisory_unlock_all", 0, flags, |_| Ok(None::<i64>))?;
    for name in ["pg_table_is_visible", "pg_type_is_visible", "pg_collation_is_visible"] {
        conn.create_scalar_function(name, 1, flags, |_| Ok(true))?;
    }
    install_lookups(conn, flags, tables)?;
    conn.execute_batch(&catalog(tables))
}

/// The functions that look things up: types and tables by name or oid
/// (`format_type`, `to_regtype`, `to_regclass`), owners, definitions and
/// descriptions (none here), `generate_series`, and `regexp` (`~`).
fn install_lookups(
    conn: &Connection,
    flags: FunctionFlags,
    tables: &[(&str, &[(&str, ColumnType)])],
) -> rusqlite::Result<()> {
    conn.create_scalar_function("pg_get_userbyid", 1, flags, |_| Ok(USER))?;
    conn.create_scalar_function("pg_encoding_to_char", 1, flags, |_| Ok("UTF8"))?;
    for (name, args) in [("obj_description", 1), ("obj_description", 2), ("col_description", 2)] {
        conn.create_scalar_function(name, args, flags, |_| Ok(None::<String>))?;
    }
    conn.create_scalar_function("format_type", 2, flags, |ctx| {
        let oid: Option<i64> = ctx.get(0)?;
        Ok(oid.map(|oid| match TYPES.iter().find(|t| t.0 == oid) {
            Some((_, "int8", ..)) => "bigint".to_owned(),
            Some((_, "float8", ..)) => "double precision".to_owned(),
            Some((_, "int4", ..)) => "integer".to_owned(),
            Some((_, "bool", ..)) => "boolean".to_owned(),
            Some((_, name, ..)) => (*name).to_owned(),
            None => "???".to_owned(),
        }))
    })?;
    // to_regtype('integer'): the type's oid, or NULL when there is none
    // (psycopg looks up hstore this way).
    conn.create_scalar_function("to_regtype", 1, flags, |ctx| {
        let name: Option<String> = ctx.get(0)?;
        Ok(name.and_then(|n| type_by_name(&n)))
    })?;
    let names: Vec<(String, i64)> =
        tables.iter().enumerate().map(|(i, (n, _))| ((*n).to_owned(), FIRST_TABLE_OID + i as i64)).collect();
    // A table's oid by its name (`'tag_totals'::regclass`); an oid stays
    // itself (`attrelid::regclass`).
    conn.create_scalar_function("to_regclass", 1, flags, move |ctx| {
        Ok(match ctx.get_raw(0) {
            rusqlite::types::ValueRef::Integer(oid) => Some(oid),
            rusqlite::types::ValueRef::Text(name) => {
                let name = String::from_utf8_lossy(name);
                let name = name.strip_prefix("public.").unwrap_or(&name).trim_matches('"');
                names.iter().find(|t| t.0 == name).map(|t| t.1)
            }
            _ => None,
        })
    })?;
    conn.create_scalar_function("pg_get_statisticsobjdef_columns", 1, flags, |_| Ok(None::<String>))?;
    conn.create_scalar_function("pg_relation_is_publishable", 1, flags, |_| Ok(false))?;
    conn.create_scalar_function("array_upper", 2, flags, |_| Ok(None::<i64>))?;
    // generate_series(start, stop[, step]) as a table, as in Postgres.
    rusqlite::vtab::series::load_module(conn)?;
    for args in [2, 3] {
        conn.create_scalar_function("pg_get_expr", args, flags, |_| Ok(None::<String>))?;
    }
    // `x REGEXP pattern` (Postgres' `~`): the regex crate's syntax, which
    // has Postgres' common forms, in time linear in the text.
    conn.create_scalar_function("regexp", 2, flags, |ctx| {
        let re = ctx.get_or_create_aux(
            0,
            |v| -> Result<regex::Regex, Box<dyn std::error::Error + Send + Sync>> {
                Ok(regex::RegexBuilder::new(v.as_str()?).size_limit(1 << 20).build()?)
            },
        )?;
        let text: Option<String> = ctx.get(1)?;
        Ok(text.map(|t| re.is_match(&t)))
    })?;
    conn.create_scalar_function("pg_get_serial_sequence", 2, flags, |_| Ok(None::<String>))?;
    // No table has constraints or indexes: no definition to show.
    for (name, args) in [("pg_get_constraintdef", 1), ("pg_get_constraintdef", 2), ("pg_get_indexdef", 3)] {
        conn.create_scalar_function(name, args, flags, |_| Ok(None::<String>))?;
    }
    install_reflection(conn, flags)
}

/// What SQLAlchemy's reflection (and `read_sql_table`) calls besides the
/// catalog: set-returning functions (refused), `current_setting` of a
/// parameter, and the aggregates it groups arrays with.
fn install_reflection(conn: &Connection, flags: FunctionFlags) -> rusqlite::Result<()> {
    // Set-returning functions over the catalog's arrays (SQLAlchemy's
    // reflection of keys and indexes): the live tables have none, so the rows
    // they would expand never exist; called on anything, they refuse rather
    // than answer one row where Postgres gives several.
    for (name, args) in [("unnest", 1), ("generate_subscripts", 2)] {
        conn.create_scalar_function(name, args, flags, move |_| -> rusqlite::Result<Option<i64>> {
            Err(rusqlite::Error::UserFunctionError(
                format!("{name}() is not supported: set-returning functions in a select list").into(),
            ))
        })?;
    }
    // current_setting(name) where the name is a parameter (a literal name is
    // translated to the session's value): the fixed settings only, since a
    // session's own are not known here.
    for args in [1, 2] {
        conn.create_scalar_function("current_setting", args, flags, |ctx| {
            let name: String = ctx.get(0)?;
            let missing_ok = ctx.len() == 2 && ctx.get::<Option<bool>>(1)?.unwrap_or(false);
            match super::dialect::settings::setting(&name) {
                Some(&(_, value, super::dialect::settings::Allowed::Fixed)) => Ok(Some(value.to_owned())),
                None if missing_ok => Ok(None),
                None => Err(rusqlite::Error::UserFunctionError(
                    format!("unrecognized configuration parameter \"{name}\"").into(),
                )),
                Some(_) => Err(rusqlite::Error::UserFunctionError(
                    format!("current_setting of \"{name}\" as a parameter: write the name in the query")
                        .into(),
                )),
            }
        })?;
    }
    conn.create_aggregate_function("array_agg", 1, flags, ArrayAgg)?;
    conn.create_aggregate_function("bool_and", 1, flags, BoolAgg(true))?;
    conn.create_aggregate_function("bool_or", 1, flags, BoolAgg(false))?;
    Ok(())
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
        Ok(acc.map(|values| {
            let items: Vec<String> =
                values.into_iter().map(|v| v.map_or("NULL".to_owned(), array_item)).collect();
            format!("{{{}}}", items.join(","))
        }))
    }
}

/// An element of an array literal, quoted where Postgres quotes it.
fn array_item(v: String) -> String {
    let plain = !v.is_empty()
        && !v.eq_ignore_ascii_case("null")
        && !v.contains(|c: char| c.is_whitespace() || "{},\"\\".contains(c));
    if plain { v } else { format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")) }
}

/// `bool_and` (`BoolAgg(true)`) and `bool_or`: NULLs are skipped, no rows is NULL.
struct BoolAgg(bool);

impl Aggregate<Option<bool>, Option<bool>> for BoolAgg {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Option<bool>> {
        Ok(None)
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Option<bool>) -> rusqlite::Result<()> {
        if let Some(v) = ctx.get::<Option<bool>>(0)? {
            *acc = Some(match *acc {
                None => v,
                Some(a) if self.0 => a && v,
                Some(a) => a || v,
            });
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Option<bool>>) -> rusqlite::Result<Option<bool>> {
        Ok(acc.flatten())
    }
}

/// The catalog's columns of text; the others are integers (oids, numbers,
/// booleans).
const TEXT_COLUMNS: &[&str] = &[
    "nspname",
    "typname",
    "typtype",
    "typcategory",
    "typdelim",
    "relname",
    "relkind",
    "relpersistence",
    "relpartbound",
    "reloptions",
    "relreplident",
    "attname",
    "attidentity",
    "attgenerated",
    "datname",
    "description",
    "adbin",
    "collname",
    "conname",
    "contype",
    "conkey",
    "confkey",
    "indkey",
    "indoption",
    "indpred",
    "indexprs",
    "amname",
    "amtype",
    "spcname",
    "opcname",
    "indclass",
    "rolname",
    "polname",
    "polcmd",
    "polroles",
    "polqual",
    "polwithcheck",
    "stxname",
    "stxkeys",
    "stxkind",
    "pubname",
    "prqual",
    "prattrs",
    "tgname",
    "tgenabled",
    "rulename",
];

/// Catalog tables that hold nothing here (no keys, indexes, sequences,
/// policies, publications …): each one's name and columns.
const EMPTY_TABLES: [(&str, &str); 14] = [
    ("pg_description", "objoid, classoid, objsubid, description"),
    ("pg_attrdef", "oid, adrelid, adnum, adbin"),
    ("pg_sequence", "seqrelid, seqtypid, seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle"),
    ("pg_collation", "oid, collname, collnamespace"),
    (
        "pg_constraint",
        "oid, conname, connamespace, contype, conrelid, confrelid, conkey, confkey, conindid, condeferrable, \
         condeferred, convalidated",
    ),
    (
        "pg_index",
        "indexrelid, indrelid, indnatts, indnkeyatts, indisunique, indisprimary, indkey, indoption, indpred, \
         indexprs, indnullsnotdistinct, indisclustered, indisvalid, indclass",
    ),
    ("pg_opclass", "oid, opcname, opcmethod, opcdefault"),
    ("pg_inherits", "inhrelid, inhparent, inhseqno, inhdetachpending"),
    ("pg_policy", "oid, polname, polrelid, polcmd, polpermissive, polroles, polqual, polwithcheck"),
    ("pg_statistic_ext", "oid, stxrelid, stxname, stxnamespace, stxkeys, stxkind, stxstattarget"),
    ("pg_publication", "oid, pubname, puballtables"),
    ("pg_publication_rel", "oid, prpubid, prrelid, prqual, prattrs"),
    ("pg_publication_namespace", "oid, pnpubid, pnnspid"),
    ("pg_trigger", "oid, tgrelid, tgname, tgisinternal, tgenabled"),
];

/// A string as an SQL literal.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A catalog table as a temporary table with `rows`. A table, not a view: a
/// declared INTEGER column compares with a quoted number as Postgres' oid
/// columns do (`where c.oid = '16384'`).
fn catalog_table(name: &str, columns: &str, rows: &[String]) -> String {
    let declared: Vec<String> = columns
        .split(',')
        .map(str::trim)
        .map(|c| format!("{c} {}", if TEXT_COLUMNS.contains(&c) { "TEXT" } else { "INTEGER" }))
        .collect();
    let mut sql = format!("CREATE TEMP TABLE {name}({});\n", declared.join(", "));
    if !rows.is_empty() {
        sql += &format!("INSERT INTO {name} VALUES {};\n", rows.join(", "));
    }
    sql
}

/// The rows of `pg_class` and `pg_attribute` for the live tables.
fn live_tables(tables: &[(&str, &[(&str, ColumnType)])]) -> (Vec<String>, Vec<String>) {
    let mut classes = Vec::new();
    let mut attributes = Vec::new();
    for (i, (name, columns)) in tables.iter().enumerate() {
        let oid = FIRST_TABLE_OID + i as i64;
        classes.push(format!(
            "({oid}, {}, 2200, 'r', 'p', -1, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 2, NULL, NULL, 'd', 0)",
            quoted(name)
        ));
        for (n, (column, ty)) in columns.iter().enumerate() {
            let t = type_oid(*ty);
            let len = TYPES.iter().find(|x| x.0 == t).map_or(-1, |x| x.3);
            attributes.push(format!(
                "({oid}, {}, {t}, {}, {}, -1, 0, {len}, 0, '', '', 0, 0)",
                quoted(column),
                n + 1,
                i64::from(n == 0)
            ));
        }
    }
    (classes, attributes)
}

/// The catalog's tables, from the tables of this run.
fn catalog(tables: &[(&str, &[(&str, ColumnType)])]) -> String {
    let namespaces =
        "(11, 'pg_catalog', 10), (2200, 'public', 10), (13_000, 'information_schema', 10)".replace('_', "");
    let types: Vec<String> = TYPES
        .iter()
        .map(|(oid, name, array, len)| {
            format!("({oid}, {}, 11, {array}, 'b', {len}, 0, -1, 0, 0, 0, 'n', 0, 0, ',')", quoted(name))
        })
        .collect();
    let (classes, attributes) = live_tables(tables);
    let filled: [(&str, &str, Vec<String>); 9] = [
        ("pg_namespace", "oid, nspname, nspowner", vec![namespaces]),
        (
            "pg_type",
            "oid, typname, typnamespace, typarray, typtype, typlen, typbasetype, typtypmod, typrelid, typelem, \
             typnotnull, typcategory, typndims, typcollation, typdelim",
            types,
        ),
        (
            "pg_class",
            "oid, relname, relnamespace, relkind, relpersistence, reltuples, relhasindex, relchecks, relowner, \
             reltablespace, relhasrules, relhastriggers, relrowsecurity, relforcerowsecurity, relispartition, \
             reloftype, relam, relpartbound, reloptions, relreplident, reltoastrelid",
            classes,
        ),
        (
            "pg_attribute",
            "attrelid, attname, atttypid, attnum, attnotnull, atttypmod, attisdropped, attlen, atthasdef, \
             attidentity, attgenerated, attcollation, attndims",
            attributes,
        ),
        ("pg_database", "oid, datname, datdba, encoding", vec![format!("(1, {}, 10, 6)", quoted(DATABASE))]),
        ("pg_tablespace", "oid, spcname, spcowner", vec!["(1663, 'pg_default', 10)".to_owned()]),
        ("pg_am", "oid, amname, amtype", vec!["(2, 'heap', 't')".to_owned()]),
        ("pg_roles", "oid, rolname, rolsuper", vec![format!("(10, {}, 0)", quoted(USER))]),
        ("pg_rewrite", "oid, rulename, ev_class", vec![]),
    ];
    let mut sql = String::new();
    for (name, columns, rows) in &filled {
        sql += &catalog_table(name, columns, rows);
    }
    for (name, columns) in EMPTY_TABLES {
        sql += &catalog_table(name, columns, &[]);
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tables::TableKind;

    #[test]
    fn the_catalog_lists_the_live_tables_and_their_columns() {
        let conn = Connection::open_in_memory().unwrap();
        let columns: &[(&str, ColumnType)] = TableKind::TagTotals.columns(false);
        install(&conn, &[("tag_totals", columns)]).unwrap();
        let rows: Vec<(String, String, i64, String)> = conn
            .prepare(
                "select c.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod)
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 join pg_attribute a on a.attrelid = c.oid
                 where n.nspname = 'public' and pg_table_is_visible(c.oid) order by a.attnum",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                ("tag_totals".into(), "tag".into(), 1, "text".into()),
                ("tag_totals".into(), "count".into(), 2, "bigint".into())
            ]
        );
        let v: String = conn.query_row("select version()", [], |r| r.get(0)).unwrap();
        assert!(v.starts_with("PostgreSQL 16.6 (tweetstream"));
        let n: i64 = conn.query_row("select count(*) from pg_description", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0);
        let hstore: Option<i64> =
            conn.query_row("select oid from pg_type where typname = 'hstore'", [], |r| r.get(0)).ok();
        assert_eq!(hstore, None);
    }

    #[test]
    fn aggregates_and_settings_answer_as_postgres() {
        let conn = Connection::open_in_memory().unwrap();
        install(&conn, &[]).unwrap();
        let one = |sql: &str| -> rusqlite::Result<Option<String>> { conn.query_row(sql, [], |r| r.get(0)) };
        let values = "(values ('a'), ('b c'), (NULL), ('x\"y'), ('null'), (''))";
        assert_eq!(
            one(&format!("select array_agg(column1) from {values}")).unwrap().as_deref(),
            Some(r#"{a,"b c",NULL,"x\"y","null",""}"#)
        );
        assert_eq!(one("select array_agg(1) where 0").unwrap(), None);
        let b = |sql: &str| -> Option<bool> { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(b("select bool_and(column1) from (values (1), (NULL), (0))"), Some(false));
        assert_eq!(b("select bool_or(column1) from (values (0), (NULL), (1))"), Some(true));
        assert_eq!(b("select bool_and(column1) from (values (NULL))"), None);
        assert_eq!(one("select current_setting('server_version')").unwrap().as_deref(), Some("16.6"));
        assert_eq!(one("select current_setting('no_such', 1)").unwrap(), None);
        let e = one("select current_setting('no_such')").unwrap_err().to_string();
        assert!(e.contains("unrecognized configuration parameter"), "{e}");
        // A setting a session may change is not answered from here.
        let e = one("select current_setting('application_name')").unwrap_err().to_string();
        assert!(e.contains("write the name in the query"), "{e}");
        // Set-returning functions refuse rather than answer one row.
        let e = one("select unnest('{1,2}')").unwrap_err().to_string();
        assert!(e.contains("not supported"), "{e}");
    }
}
