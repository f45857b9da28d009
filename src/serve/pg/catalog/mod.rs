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

mod arrays;
mod information_schema;
mod tables;

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
pub fn type_by_name(name: &str) -> Option<i64> {
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
        ColumnType::Boolean => 16,
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
    install_objects(conn, flags)?;
    arrays::install(conn, flags)?;
    conn.execute_batch(&tables::catalog(tables))?;
    information_schema::install(conn, tables)
}

/// What psql's `\d+`, `\dt+`, `\df` and pgjdbc's metadata ask of tables
/// and functions besides the catalog tables: sizes (unknown for tables kept
/// in memory: NULL, as Postgres answers for a relation it has no file
/// for), function signatures (there are no user functions), privileges
/// (reading is all there is, and it is allowed), and the composite and
/// set-returning forms pgjdbc reads keys with (refused if ever given a
/// value: no table has keys).
fn install_objects(conn: &Connection, flags: FunctionFlags) -> rusqlite::Result<()> {
    for name in ["pg_table_size", "pg_total_relation_size", "pg_relation_size", "pg_indexes_size"] {
        conn.create_scalar_function(name, 1, flags, |_| Ok(None::<i64>))?;
    }
    conn.create_scalar_function("pg_size_pretty", 1, flags, |ctx| {
        Ok(ctx.get::<Option<i64>>(0)?.map(size_pretty))
    })?;
    conn.create_scalar_function("pg_function_is_visible", 1, flags, |_| Ok(true))?;
    for name in ["pg_get_function_result", "pg_get_function_arguments", "pg_get_function_identity_arguments"]
    {
        conn.create_scalar_function(name, 1, flags, |_| Ok(None::<String>))?;
    }
    for (name, args) in [
        ("has_table_privilege", 2),
        ("has_table_privilege", 3),
        ("has_schema_privilege", 2),
        ("has_schema_privilege", 3),
        ("has_database_privilege", 2),
        ("has_database_privilege", 3),
        ("has_column_privilege", 3),
        ("has_column_privilege", 4),
    ] {
        conn.create_scalar_function(name, args, flags, |ctx| {
            let privilege: String = ctx.get(ctx.len() - 1)?;
            Ok(privilege.split(',').all(|p| {
                let p = p.trim().to_ascii_uppercase();
                matches!(p.strip_suffix(" WITH GRANT OPTION").unwrap_or(&p), "SELECT" | "USAGE" | "CONNECT")
            }))
        })?;
    }
    // `x::bool`: 1 or 0 as Postgres' boolean input reads it (`t`, `true`,
    // `yes`, `on`, `1`, any case, or a number: non-zero is true).
    conn.create_scalar_function("pg_bool", 1, flags, |ctx| {
        let text = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(None),
            ValueRef::Integer(n) => return Ok(Some(n != 0)),
            ValueRef::Real(x) => return Ok(Some(x != 0.0)),
            ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).trim().to_ascii_lowercase(),
        };
        let is = |word: &str| !text.is_empty() && word.starts_with(text.as_str());
        match text.as_str() {
            "1" | "on" => Ok(Some(true)),
            "0" | "of" | "off" => Ok(Some(false)),
            _ if is("true") || is("yes") => Ok(Some(true)),
            _ if is("false") || is("no") => Ok(Some(false)),
            _ => Err(rusqlite::Error::UserFunctionError(
                format!("invalid input syntax for type boolean: \"{text}\"").into(),
            )),
        }
    })?;
    // `'pg_catalog.array_in'::regproc`: the function's name as `regproc`
    // prints it (the catalog's schema is implied).
    conn.create_scalar_function("pg_regproc", 1, flags, |ctx| {
        let name: Option<String> = ctx.get(0)?;
        Ok(name.map(|n| n.strip_prefix("pg_catalog.").map(str::to_owned).unwrap_or(n)))
    })?;
    let refuse = |what: &'static str| {
        move |ctx: &Context<'_>| -> rusqlite::Result<Option<i64>> {
            match ctx.get_raw(0) {
                ValueRef::Null => Ok(None),
                _ => Err(rusqlite::Error::UserFunctionError(format!("{what} is not supported").into())),
            }
        }
    };
    conn.create_scalar_function("_pg_expandarray", 1, flags, refuse("_pg_expandarray() of an array"))?;
    conn.create_scalar_function("pg_field", 2, flags, refuse("a field of a composite value"))?;
    Ok(())
}

/// Bytes as `pg_size_pretty` writes them (Postgres 16's units and
/// rounding: a unit is used below 10240 bytes, or below 20480 of it, and
/// rounded half away from zero).
fn size_pretty(bytes: i64) -> String {
    const UNITS: [(&str, i64, bool, u32); 6] = [
        ("bytes", 10 * 1024, false, 0),
        ("kB", 20 * 1024 - 1, true, 10),
        ("MB", 20 * 1024 - 1, true, 20),
        ("GB", 20 * 1024 - 1, true, 30),
        ("TB", 20 * 1024 - 1, true, 40),
        ("PB", 20 * 1024 - 1, true, 50),
    ];
    let half_rounded = |x: i64| (x + if x < 0 { -1 } else { 1 }) / 2;
    let mut size = bytes;
    let mut i = 0;
    while i + 1 < UNITS.len() && size.abs() >= UNITS[i].1 {
        let ((_, _, round, bits), (_, _, next_round, next_bits)) = (UNITS[i], UNITS[i + 1]);
        size /= 1i64 << (next_bits - bits - u32::from(next_round) + u32::from(round));
        i += 1;
    }
    let (name, _, round, _) = UNITS[i];
    format!("{} {name}", if round { half_rounded(size) } else { size })
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
    conn.create_aggregate_function("bool_and", 1, flags, BoolAgg(true))?;
    conn.create_aggregate_function("bool_or", 1, flags, BoolAgg(false))?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tables::TableKind;
    use rusqlite::types::FromSql;

    /// The rows of a statement of four columns.
    fn quads<A: FromSql, B: FromSql, C: FromSql, D: FromSql>(
        conn: &Connection,
        sql: &str,
    ) -> Vec<(A, B, C, D)> {
        let mut statement = conn.prepare(sql).unwrap();
        let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn the_catalog_lists_the_live_tables_and_their_columns() {
        let conn = Connection::open_in_memory().unwrap();
        let columns: &[(&str, ColumnType)] = TableKind::TagTotals.columns(false);
        install(&conn, &[("tag_totals", columns)]).unwrap();
        let rows: Vec<(String, String, i64, String)> = quads(
            &conn,
            "select c.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod)
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             join pg_attribute a on a.attrelid = c.oid
             where n.nspname = 'public' and pg_table_is_visible(c.oid) order by a.attnum",
        );
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
    fn sizes_booleans_and_the_information_schema_answer_as_postgres() {
        // pg_size_pretty's answers in Postgres 16.
        for (bytes, text) in [
            (0, "0 bytes"),
            (10_239, "10239 bytes"),
            (10_240, "10 kB"),
            (1_000_000, "977 kB"),
            (-20_000, "-20 kB"),
        ] {
            assert_eq!(size_pretty(bytes), text, "{bytes}");
        }
        assert_eq!(size_pretty(1 << 40), "1024 GB");
        let conn = Connection::open_in_memory().unwrap();
        install(&conn, &[("tag_totals", TableKind::TagTotals.columns(false))]).unwrap();
        let b = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, Option<bool>>(0));
        for (input, want) in [
            ("'t'", true),
            ("'yes'", true),
            ("' On '", true),
            ("'f'", false),
            ("'no'", false),
            ("0", false),
            ("2", true),
        ] {
            assert_eq!(b(&format!("select pg_bool({input})")).unwrap(), Some(want), "{input}");
        }
        assert!(
            b("select pg_bool('maybe')")
                .unwrap_err()
                .to_string()
                .contains("invalid input syntax for type boolean")
        );
        let columns: Vec<(String, i64, String, String)> = quads(
            &conn,
            "select column_name, ordinal_position, data_type, is_nullable from information_schema.columns",
        );
        assert_eq!(
            columns,
            [
                ("tag".into(), 1, "text".into(), "NO".into()),
                ("count".into(), 2, "bigint".into(), "YES".into())
            ]
        );
        let n: i64 = conn
            .query_row(
                "select count(*) from information_schema.tables where table_schema = 'public'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
        // The flags are booleans, declared so that clients read t and f.
        let statement = conn.prepare("select relhasindex from pg_class").unwrap();
        let declared: Vec<Option<String>> =
            statement.columns().map(|c| c.decl_type().map(str::to_owned)).collect();
        assert_eq!(declared, [Some("BOOLEAN".to_owned())]);
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
