//! The SQL standard's `information_schema` (`tables`, `columns`,
//! `schemata`, `views`, and the key and constraint tables, empty: no table
//! has keys), describing the live tables as Postgres 16 describes tables of
//! these types. It is a schema of its own (an attached in-memory database),
//! so `information_schema.tables` reads as written; its tables are filled
//! once per SQL connection, before the connection is made read-only.

use super::{DATABASE, SCHEMA, USER};
use crate::engine::tables::ColumnType;
use rusqlite::Connection;

/// Creates the schema and its tables for the live `tables` on `conn`.
pub fn install(conn: &Connection, tables: &[(&str, &[(&str, ColumnType)])]) -> rusqlite::Result<()> {
    conn.execute_batch("ATTACH DATABASE ':memory:' AS information_schema")?;
    conn.execute_batch(
        "CREATE TABLE information_schema.schemata(catalog_name TEXT, schema_name TEXT, schema_owner TEXT,
           default_character_set_catalog TEXT, default_character_set_schema TEXT,
           default_character_set_name TEXT, sql_path TEXT);
         CREATE TABLE information_schema.tables(table_catalog TEXT, table_schema TEXT, table_name TEXT,
           table_type TEXT, self_referencing_column_name TEXT, reference_generation TEXT,
           user_defined_type_catalog TEXT, user_defined_type_schema TEXT, user_defined_type_name TEXT,
           is_insertable_into TEXT, is_typed TEXT, commit_action TEXT);
         CREATE TABLE information_schema.columns(table_catalog TEXT, table_schema TEXT, table_name TEXT,
           column_name TEXT, ordinal_position INTEGER, column_default TEXT, is_nullable TEXT, data_type TEXT,
           character_maximum_length INTEGER, character_octet_length INTEGER, numeric_precision INTEGER,
           numeric_precision_radix INTEGER, numeric_scale INTEGER, datetime_precision INTEGER,
           udt_catalog TEXT, udt_schema TEXT, udt_name TEXT, is_identity TEXT, is_generated TEXT,
           is_updatable TEXT);
         CREATE TABLE information_schema.views(table_catalog TEXT, table_schema TEXT, table_name TEXT,
           view_definition TEXT, check_option TEXT, is_updatable TEXT, is_insertable_into TEXT);
         CREATE TABLE information_schema.table_constraints(constraint_catalog TEXT, constraint_schema TEXT,
           constraint_name TEXT, table_catalog TEXT, table_schema TEXT, table_name TEXT, constraint_type TEXT,
           is_deferrable TEXT, initially_deferred TEXT, enforced TEXT, nulls_distinct TEXT);
         CREATE TABLE information_schema.key_column_usage(constraint_catalog TEXT, constraint_schema TEXT,
           constraint_name TEXT, table_catalog TEXT, table_schema TEXT, table_name TEXT, column_name TEXT,
           ordinal_position INTEGER, position_in_unique_constraint INTEGER);
         CREATE TABLE information_schema.referential_constraints(constraint_catalog TEXT,
           constraint_schema TEXT, constraint_name TEXT, unique_constraint_catalog TEXT,
           unique_constraint_schema TEXT, unique_constraint_name TEXT, match_option TEXT, update_rule TEXT,
           delete_rule TEXT);
         CREATE TABLE information_schema.routines(specific_catalog TEXT, specific_schema TEXT,
           specific_name TEXT, routine_catalog TEXT, routine_schema TEXT, routine_name TEXT,
           routine_type TEXT, data_type TEXT);",
    )?;
    for schema in ["pg_catalog", SCHEMA, "information_schema"] {
        conn.execute(
            "INSERT INTO information_schema.schemata VALUES (?1, ?2, ?3, NULL, NULL, NULL, NULL)",
            (DATABASE, schema, USER),
        )?;
    }
    for (table, columns) in tables {
        conn.execute(
            "INSERT INTO information_schema.tables VALUES
               (?1, ?2, ?3, 'BASE TABLE', NULL, NULL, NULL, NULL, NULL, 'NO', 'NO', NULL)",
            (DATABASE, SCHEMA, table),
        )?;
        for (n, (column, ty)) in columns.iter().enumerate() {
            // Postgres' answers for columns of these types.
            let (data_type, udt, precision, radix, scale) = match ty {
                ColumnType::Integer => ("bigint", "int8", Some(64), Some(2), Some(0)),
                ColumnType::Real => ("double precision", "float8", Some(53), Some(2), None),
                ColumnType::Text => ("text", "text", None, None, None),
                ColumnType::Boolean => ("boolean", "bool", None, None, None),
            };
            let octets = (*ty == ColumnType::Text).then_some(1_073_741_824);
            conn.execute(
                "INSERT INTO information_schema.columns VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, NULL, ?8, ?9,
                   ?10, ?11, NULL, ?1, 'pg_catalog', ?12, 'NO', 'NEVER', 'NO')",
                rusqlite::params![
                    DATABASE,
                    SCHEMA,
                    table,
                    column,
                    n as i64 + 1,
                    if n == 0 { "NO" } else { "YES" },
                    data_type,
                    octets,
                    precision,
                    radix,
                    scale,
                    udt
                ],
            )?;
        }
    }
    Ok(())
}
