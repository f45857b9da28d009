//! CancelRequest: a client stops its own running query from a second
//! connection, naming the process ID and secret key it was given at startup
//! (what psql's Ctrl-C, psycopg's `cancel()` and every driver's timeout do).
//!
//! Each connection registers a [`Running`] under its key; a query raises the
//! flag it got from [`Running::start`] when cancelled, and the SQL engine's
//! progress handler stops it (SQLSTATE 57014). A cancel naming no known
//! connection, or arriving while none of its queries runs, does nothing, as
//! in PostgreSQL.

use crate::sql::Cancel;
use async_trait::async_trait;
use bytes::Bytes;
use pgwire::api::cancel::CancelHandler;
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// The connections that can be cancelled, by process ID and secret key.
#[derive(Default)]
pub struct Cancels {
    connections: Mutex<HashMap<(i32, Bytes), Arc<Running>>>,
}

/// One connection's running query, if any: the flag that stops it.
#[derive(Default)]
pub struct Running(Mutex<Option<Cancel>>);

impl Running {
    /// A query starts: its flag, raised by a cancel until [`Running::finish`].
    pub fn start(&self) -> Cancel {
        let flag = Cancel::default();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(flag.clone());
        flag
    }

    pub fn finish(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn cancel(&self) -> bool {
        match &*self.0.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}

impl Cancels {
    /// Registers a connection's key; the key to [`Cancels::unregister`] it.
    pub fn register(&self, pid: i32, secret: &SecretKey, running: Arc<Running>) -> (i32, Bytes) {
        let key = (pid, secret.to_bytes());
        self.lock().insert(key.clone(), running);
        key
    }

    pub fn unregister(&self, key: &(i32, Bytes)) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(i32, Bytes), Arc<Running>>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl CancelHandler for Cancels {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let running = self.lock().get(&(request.pid, request.secret_key.to_bytes())).cloned();
        match running {
            Some(running) if running.cancel() => {
                tracing::debug!("pg: the query of connection {} was cancelled", request.pid)
            }
            Some(_) => tracing::debug!("pg: a cancel for connection {}, which runs no query", request.pid),
            None => tracing::debug!("pg: a cancel naming no connection (process ID {})", request.pid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancel_raises_only_the_named_connections_running_query() {
        let cancels = Cancels::default();
        let (a, b) = (Arc::new(Running::default()), Arc::new(Running::default()));
        let key_a = cancels.register(1, &SecretKey::I32(7), a.clone());
        cancels.register(2, &SecretKey::I32(8), b.clone());
        let (flag_a, flag_b) = (a.start(), b.start());
        // A wrong secret does nothing.
        cancels.on_cancel_request(CancelRequest::new(1, SecretKey::I32(8))).await;
        assert!(!flag_a.load(Ordering::Relaxed));
        cancels.on_cancel_request(CancelRequest::new(1, SecretKey::I32(7))).await;
        assert!(flag_a.load(Ordering::Relaxed));
        assert!(!flag_b.load(Ordering::Relaxed));
        // A finished query is not cancelled after the fact, nor the next one.
        a.finish();
        cancels.on_cancel_request(CancelRequest::new(1, SecretKey::I32(7))).await;
        assert!(!a.start().load(Ordering::Relaxed));
        cancels.unregister(&key_a);
        assert!(!cancels.lock().contains_key(&key_a));
    }
}
