//! The catalog tables (`pg_class`, `pg_attribute`, `pg_type`, …) as
//! temporary tables of each SQL connection, filled from the live tables of
//! the run, and the catalog's views (`pg_tables`, `pg_views`, …) over them.
//! Tables, not views: a declared INTEGER column compares with a quoted
//! number as Postgres' oid columns do (`where c.oid = '16384'`).

use super::super::dialect::settings::SETTINGS;
use super::{DATABASE, FIRST_TABLE_OID, TYPES, USER, type_oid};
use crate::engine::tables::ColumnType;

/// The catalog's columns of text; the others are booleans
/// ([`BOOL_COLUMNS`]) or integers (oids, numbers).
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
    "confupdtype",
    "confdeltype",
    "confmatchtype",
    "conexclop",
    "conbin",
    "typinput",
    "typoutput",
    "relacl",
    "datcollate",
    "datctype",
    "daticulocale",
    "daticurules",
    "datlocprovider",
    "datacl",
    "rolpassword",
    "rolvaliduntil",
    "rolconfig",
    "proname",
    "prokind",
    "proargtypes",
    "proargnames",
    "proallargtypes",
    "proargmodes",
    "proargdefaults",
    "deptype",
    "prosrc",
    "provolatile",
    "proacl",
    "name",
    "setting",
    "unit",
    "category",
    "short_desc",
    "extra_desc",
    "context",
    "vartype",
    "source",
    "min_val",
    "max_val",
    "enumvals",
    "boot_val",
    "reset_val",
    "sourcefile",
    "nspacl",
    "attacl",
    "attoptions",
    "attfdwoptions",
    "attstorage",
    "attalign",
    "attcompression",
    "typstorage",
    "typalign",
    "typdefault",
    "typacl",
];

/// The catalog's boolean columns (flags), read by clients as `t` or `f`.
const BOOL_COLUMNS: &[&str] = &[
    "relhasindex",
    "relhasrules",
    "relhastriggers",
    "relrowsecurity",
    "relforcerowsecurity",
    "relispartition",
    "attnotnull",
    "attisdropped",
    "atthasdef",
    "attislocal",
    "typbyval",
    "typnotnull",
    "typisdefined",
    "datistemplate",
    "datallowconn",
    "rolsuper",
    "rolinherit",
    "rolcreaterole",
    "rolcreatedb",
    "rolcanlogin",
    "rolreplication",
    "rolbypassrls",
    "indisunique",
    "indisprimary",
    "indisclustered",
    "indisvalid",
    "indnullsnotdistinct",
    "condeferrable",
    "condeferred",
    "convalidated",
    "conislocal",
    "connoinherit",
    "opcdefault",
    "inhdetachpending",
    "polpermissive",
    "puballtables",
    "tgisinternal",
    "admin_option",
    "inherit_option",
    "set_option",
    "proretset",
    "extrelocatable",
    "pending_restart",
];

/// Catalog tables that hold nothing here (no keys, indexes, sequences,
/// policies, publications …): each one's name and columns.
const EMPTY_TABLES: [(&str, &str); 21] = [
    ("pg_description", "objoid, classoid, objsubid, description"),
    ("pg_attrdef", "oid, adrelid, adnum, adbin"),
    ("pg_sequence", "seqrelid, seqtypid, seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle"),
    ("pg_collation", "oid, collname, collnamespace"),
    (
        "pg_constraint",
        "oid, conname, connamespace, contype, conrelid, confrelid, conkey, confkey, conindid, condeferrable, \
         condeferred, convalidated, confupdtype, confdeltype, confmatchtype, conislocal, coninhcount, \
         connoinherit, conparentid, conexclop, conbin",
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
    ("pg_auth_members", "oid, roleid, member, grantor, admin_option, inherit_option, set_option"),
    (
        "pg_proc",
        "oid, proname, pronamespace, proowner, prolang, prokind, proretset, prorettype, pronargs, proargtypes, \
         proallargtypes, proargmodes, proargnames, proargdefaults, prosrc, provolatile, proacl",
    ),
    ("pg_depend", "classid, objid, objsubid, refclassid, refobjid, refobjsubid, deptype"),
    ("pg_foreign_table", "ftrelid, ftserver, ftoptions"),
    ("pg_partitioned_table", "partrelid, partstrat, partnatts, partdefid"),
    ("pg_event_trigger", "oid, evtname, evtevent, evtowner, evtfoid, evtenabled"),
    ("pg_extension", "oid, extname, extowner, extnamespace, extrelocatable, extversion"),
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
        .map(|c| {
            let ty = if TEXT_COLUMNS.contains(&c) {
                "TEXT"
            } else if BOOL_COLUMNS.contains(&c) {
                "BOOLEAN"
            } else {
                "INTEGER"
            };
            format!("{c} {ty}")
        })
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
            "({oid}, {}, 2200, 'r', 'p', -1, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 2, NULL, NULL, 'd', 0, 0, {}, NULL)",
            quoted(name),
            columns.len()
        ));
        for (n, (column, ty)) in columns.iter().enumerate() {
            let t = type_oid(*ty);
            let len = TYPES.iter().find(|x| x.0 == t).map_or(-1, |x| x.3);
            attributes.push(format!(
                "({oid}, {}, {t}, {}, {}, -1, 0, {len}, 0, '', '', {}, 0, '{}', 'i', '', NULL, NULL, NULL, -1, 1, 0)",
                quoted(column),
                n + 1,
                i64::from(n == 0),
                if *ty == ColumnType::Text { 100 } else { 0 },
                if *ty == ColumnType::Text { 'x' } else { 'p' }
            ));
        }
    }
    (classes, attributes)
}

/// The rows of `pg_type`: each type, and its array type.
fn types() -> Vec<String> {
    let mut rows = Vec::new();
    for &(oid, name, array, len) in TYPES {
        let (category, input) = match name {
            "bool" => ('B', "boolin".to_owned()),
            "int2" | "int4" | "int8" | "float4" | "float8" | "oid" => ('N', format!("{name}in")),
            "numeric" => ('N', "numeric_in".to_owned()),
            "date" | "timestamp" | "timestamptz" => ('D', format!("{name}_in")),
            _ => ('S', format!("{name}in")),
        };
        let collation = if category == 'S' { 100 } else { 0 };
        let by_value = i64::from(len > 0 && len <= 8);
        rows.push(format!(
            "({oid}, {}, 11, {array}, 'b', {len}, {by_value}, 0, -1, 0, 0, 0, '{category}', 0, {collation}, ',', \
             {}, {}, 1, 'p', 'i', NULL, NULL)",
            quoted(name),
            quoted(&input),
            quoted(&format!("{}out", input.strip_suffix("in").unwrap_or(&input)))
        ));
        rows.push(format!(
            "({array}, {}, 11, 0, 'b', -1, 0, 0, -1, 0, {oid}, 0, 'A', 0, {collation}, ',', 'array_in', 'array_out', \
             1, 'x', 'i', NULL, NULL)",
            quoted(&format!("_{name}"))
        ));
    }
    rows
}

/// The rows of `pg_settings`: the settings a client can read, as fixed by
/// this server (a session's own changes are its own, as `SHOW` tells).
fn settings() -> Vec<String> {
    SETTINGS
        .iter()
        .map(|(name, value, _)| {
            let kind = if matches!(*value, "on" | "off") { "bool" } else { "string" };
            format!(
                "({}, {}, NULL, 'tweetstream', NULL, NULL, 'user', '{kind}', 'default', NULL, NULL, NULL, {}, {}, \
                 NULL, 0)",
                quoted(name),
                quoted(value),
                quoted(value),
                quoted(value)
            )
        })
        .collect()
}

/// The catalog's views over its tables, as Postgres defines them, and the
/// indexes Postgres has on the catalog: a query that names no order reads
/// rows in the order of the index it goes through, as in Postgres (R's
/// `dbListFields` lists columns in their table's order this way).
const VIEWS: &str = "
CREATE UNIQUE INDEX pg_class_oid_index ON pg_class(oid);
CREATE UNIQUE INDEX pg_class_relname_nsp_index ON pg_class(relname, relnamespace);
CREATE UNIQUE INDEX pg_attribute_relid_attnum_index ON pg_attribute(attrelid, attnum);
CREATE UNIQUE INDEX pg_type_oid_index ON pg_type(oid);
CREATE UNIQUE INDEX pg_namespace_oid_index ON pg_namespace(oid);
CREATE TEMP VIEW pg_tables AS
  SELECT n.nspname AS schemaname, c.relname AS tablename, 'tweetstream' AS tableowner,
         NULL AS tablespace, c.relhasindex AS hasindexes, c.relhasrules AS hasrules,
         c.relhastriggers AS hastriggers, c.relrowsecurity AS rowsecurity
  FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p');
CREATE TEMP VIEW pg_views AS
  SELECT n.nspname AS schemaname, c.relname AS viewname, 'tweetstream' AS viewowner,
         NULL AS definition
  FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v';
CREATE TEMP VIEW pg_matviews AS
  SELECT n.nspname AS schemaname, c.relname AS matviewname, 'tweetstream' AS matviewowner,
         NULL AS tablespace, 0 AS hasindexes, 1 AS ispopulated, NULL AS definition
  FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm';
CREATE TEMP VIEW pg_indexes AS
  SELECT n.nspname AS schemaname, c.relname AS tablename, i.relname AS indexname,
         NULL AS tablespace, NULL AS indexdef
  FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace;
CREATE TEMP VIEW pg_sequences AS
  SELECT NULL AS schemaname, NULL AS sequencename WHERE 0;
CREATE TEMP VIEW pg_user AS
  SELECT rolname AS usename, oid AS usesysid, rolcreatedb AS usecreatedb, rolsuper AS usesuper,
         rolreplication AS userepl, rolbypassrls AS usebypassrls, '********' AS passwd,
         rolvaliduntil AS valuntil, rolconfig AS useconfig
  FROM pg_roles WHERE rolcanlogin;
";

/// The catalog's tables, from the tables of this run.
pub fn catalog(tables: &[(&str, &[(&str, ColumnType)])]) -> String {
    let namespaces = vec![
        "(11, 'pg_catalog', 10, NULL)".to_owned(),
        "(2200, 'public', 10, NULL)".to_owned(),
        "(13000, 'information_schema', 10, NULL)".to_owned(),
    ];
    let (classes, attributes) = live_tables(tables);
    let database =
        format!("(1, {}, 10, 6, 'c', 0, 1, -1, 1663, 'C', 'C', NULL, NULL, NULL)", quoted(DATABASE));
    let role = format!("(10, {}, 0, 1, 0, 0, 1, 0, -1, '********', NULL, 0, NULL)", quoted(USER));
    let filled: [(&str, &str, Vec<String>); 10] = [
        ("pg_namespace", "oid, nspname, nspowner, nspacl", namespaces),
        (
            "pg_type",
            "oid, typname, typnamespace, typarray, typtype, typlen, typbyval, typbasetype, typtypmod, typrelid, \
             typelem, typnotnull, typcategory, typndims, typcollation, typdelim, typinput, typoutput, typisdefined, \
             typstorage, typalign, typdefault, typacl",
            types(),
        ),
        (
            "pg_class",
            "oid, relname, relnamespace, relkind, relpersistence, reltuples, relhasindex, relchecks, relowner, \
             reltablespace, relhasrules, relhastriggers, relrowsecurity, relforcerowsecurity, relispartition, \
             reloftype, relam, relpartbound, reloptions, relreplident, reltoastrelid, relpages, relnatts, relacl",
            classes,
        ),
        (
            "pg_attribute",
            "attrelid, attname, atttypid, attnum, attnotnull, atttypmod, attisdropped, attlen, atthasdef, \
             attidentity, attgenerated, attcollation, attndims, attstorage, attalign, attcompression, attacl, \
             attoptions, attfdwoptions, attstattarget, attislocal, attinhcount",
            attributes,
        ),
        (
            "pg_database",
            "oid, datname, datdba, encoding, datlocprovider, datistemplate, datallowconn, datconnlimit, \
             dattablespace, datcollate, datctype, daticulocale, daticurules, datacl",
            vec![database],
        ),
        ("pg_tablespace", "oid, spcname, spcowner", vec!["(1663, 'pg_default', 10)".to_owned()]),
        ("pg_am", "oid, amname, amtype", vec!["(2, 'heap', 't')".to_owned()]),
        (
            "pg_roles",
            "oid, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, \
             rolconnlimit, rolpassword, rolvaliduntil, rolbypassrls, rolconfig",
            vec![role],
        ),
        ("pg_rewrite", "oid, rulename, ev_class", vec![]),
        (
            "pg_settings",
            "name, setting, unit, category, short_desc, extra_desc, context, vartype, source, min_val, max_val, \
             enumvals, boot_val, reset_val, sourcefile, pending_restart",
            settings(),
        ),
    ];
    let mut sql = String::new();
    for (name, columns, rows) in &filled {
        sql += &catalog_table(name, columns, rows);
    }
    for (name, columns) in EMPTY_TABLES {
        sql += &catalog_table(name, columns, &[]);
    }
    sql + VIEWS
}
