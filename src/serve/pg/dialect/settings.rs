//! The server settings a Postgres client can read (`SHOW`, `current_setting`)
//! and what it may set them to: the values this server answers with, shared by
//! the sessions of the wire protocol and the SQL functions.

/// The settings a client can show, with their values on this server and
/// what a client may set them to.
pub const SETTINGS: &[(&str, &str, Allowed)] = &[
    ("application_name", "", Allowed::Any),
    ("bytea_output", "hex", Allowed::Any),
    ("client_encoding", "UTF8", Allowed::Utf8),
    ("client_min_messages", "notice", Allowed::Any),
    ("DateStyle", "ISO, MDY", Allowed::Iso),
    ("default_table_access_method", "heap", Allowed::Fixed),
    ("default_transaction_isolation", "repeatable read", Allowed::Isolation),
    ("default_transaction_read_only", "on", Allowed::ReadOnly),
    ("extra_float_digits", "1", Allowed::Any),
    ("idle_in_transaction_session_timeout", "0", Allowed::Any),
    ("integer_datetimes", "on", Allowed::Fixed),
    ("IntervalStyle", "postgres", Allowed::Any),
    ("is_superuser", "off", Allowed::Fixed),
    ("jit", "off", Allowed::Any),
    ("lc_collate", "C", Allowed::Fixed),
    ("lc_ctype", "C", Allowed::Fixed),
    ("lock_timeout", "0", Allowed::Any),
    ("max_identifier_length", "63", Allowed::Fixed),
    ("max_index_keys", "32", Allowed::Fixed),
    ("search_path", "\"$user\", public", Allowed::Any),
    ("server_encoding", "UTF8", Allowed::Fixed),
    ("server_version", "16.6", Allowed::Fixed),
    ("server_version_num", "160006", Allowed::Fixed),
    ("standard_conforming_strings", "on", Allowed::On),
    ("statement_timeout", "0", Allowed::Any),
    ("TimeZone", "UTC", Allowed::Utc),
    ("transaction_isolation", "repeatable read", Allowed::Isolation),
    ("transaction_read_only", "on", Allowed::ReadOnly),
];

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Allowed {
    Any,
    Fixed,
    Utf8,
    Iso,
    Utc,
    On,
    ReadOnly,
    Isolation,
}

/// A setting's canonical name, if it is one.
pub fn setting(name: &str) -> Option<&'static (&'static str, &'static str, Allowed)> {
    SETTINGS.iter().find(|s| s.0.eq_ignore_ascii_case(name))
}
