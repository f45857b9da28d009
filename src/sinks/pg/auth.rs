//! The PostgreSQL listener's password: with a token set (`TWEETSTREAM_TOKEN`
//! or `--token-file`, as for HTTP), a client logs in with it as its password
//! (any user name), checked with SCRAM-SHA-256 as PostgreSQL checks it: the
//! password never crosses the wire, and the server keeps only its salted
//! hash. Without a token, clients start without a password.
//!
//! [`Startup`] is the listener's startup handler: pgwire's SASL handler when
//! a password is required, else no authentication; either way, a started
//! connection is registered for CancelRequests ([`super::cancel`]).

use super::Backend;
use async_trait::async_trait;
use futures_util::Sink;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::{ScramAuth, gen_salted_password};
use pgwire::api::auth::{AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler};
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use std::fmt::Debug;
use std::sync::Arc;

/// SCRAM's iteration count (PostgreSQL's default).
const ITERATIONS: usize = 4096;

/// The token's salted hash, made once.
struct Salted {
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Debug for Salted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salted(…)")
    }
}

#[async_trait]
impl AuthSource for Salted {
    async fn get_password(&self, _login: &LoginInfo) -> PgWireResult<Password> {
        Ok(Password::new(Some(self.salt.clone()), self.hash.clone()))
    }
}

/// The SASL handler for `token`, shared by every connection.
pub type Sasl = SASLAuthStartupHandler<DefaultServerParameterProvider>;

pub fn sasl(token: &str) -> Arc<Sasl> {
    // The salt need not be secret, only this server's own.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let mut rng = crate::rng::Rng::new(nanos as u64 ^ u64::from(std::process::id()).rotate_left(32));
    let salt: Vec<u8> = (0..2).flat_map(|_| rng.next_u64().to_le_bytes()).collect();
    let hash = gen_salted_password(token, &salt, ITERATIONS);
    let mut scram = ScramAuth::new(Arc::new(Salted { salt, hash }));
    scram.set_iterations(ITERATIONS);
    Arc::new(
        SASLAuthStartupHandler::new(Arc::new(DefaultServerParameterProvider::default())).with_scram(scram),
    )
}

/// One connection's startup: with or without a password.
pub struct Startup {
    pub backend: Backend,
    pub sasl: Option<Arc<Sasl>>,
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let Some(sasl) = &self.sasl else {
            return self.backend.on_startup(client, message).await;
        };
        sasl.on_startup(client, message).await?;
        if matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            self.backend.register(client);
        }
        Ok(())
    }
}
