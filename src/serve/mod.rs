//! The servers that read the live tables while the job runs: HTTP (SQL,
//! tables, metrics, SSE watch) with the dashboard, and the PostgreSQL wire
//! protocol with its dialect and catalog ([`pg`]). What they share is here
//! too: limits on connections ([`listener`]), TLS, tokens ([`auth`]), CORS,
//! health, and the throttle on failed logins ([`failures`]). They read
//! through [`crate::sql`]; nothing upstream of them imports them.

pub(crate) mod auth;
pub(crate) mod cors;
pub(crate) mod dashboard;
pub(crate) mod failures;
pub mod health;
pub mod http;
pub(crate) mod listener;
pub(crate) mod pg;
pub(crate) mod tls;
