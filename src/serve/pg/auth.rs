//! The PostgreSQL listener's password: with a token set (`TWEETSTREAM_TOKEN`
//! or `--token-file`, as for HTTP), a client logs in with it as its password
//! (any user name), checked with SCRAM-SHA-256 as PostgreSQL checks it: the
//! password never crosses the wire, and the server keeps only its salted
//! hash. Without a token, clients start without a password.
//!
//! [`Startup`] is the listener's startup handler: pgwire's SASL handler when
//! a password is required, else no authentication; either way, the client is
//! told the server's settings as `SHOW` answers them (read-only, not a
//! superuser: [`parameters`]), and a started connection is registered for
//! CancelRequests ([`super::cancel`]).

use super::Backend;
use async_trait::async_trait;
use futures_util::Sink;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::{ScramAuth, gen_salted_password};
use pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler, finish_authentication,
    protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::{ClientInfo, PgWireConnectionState, PidSecretKeyGenerator, RandomPidSecretKeyGenerator};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use std::fmt::Debug;
use std::sync::{Arc, LazyLock};

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
    Arc::new(SASLAuthStartupHandler::new(Arc::new(parameters())).with_scram(scram))
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
            if let PgWireFrontendMessage::Startup(startup) = &message {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                let (pid, secret) = PIDS.generate(&*client);
                client.set_pid_and_secret_key(pid, secret);
                finish_authentication(client, &*PARAMETERS).await?;
                self.backend.register(client);
            }
            return Ok(());
        };
        let failures = crate::serve::failures::failures();
        let peer = client.socket_addr().ip();
        match sasl.on_startup(client, message).await {
            // libpq leaves SCRAM's user name empty (the server has it from
            // the startup message): name the user, as PostgreSQL does.
            Err(PgWireError::InvalidPassword(named)) => {
                let user = match named.is_empty() {
                    true => client.metadata().get(pgwire::api::METADATA_USER).cloned().unwrap_or_default(),
                    false => named,
                };
                // Logged, and answered later the more this peer failed.
                tokio::time::sleep(failures.failed(peer, "pg", Some(&user))).await;
                return Err(PgWireError::InvalidPassword(user));
            }
            other => other?,
        }
        if matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            failures.succeeded(peer);
            self.backend.register(client);
        }
        Ok(())
    }
}

static PIDS: LazyLock<RandomPidSecretKeyGenerator> = LazyLock::new(RandomPidSecretKeyGenerator::default);
static PARAMETERS: LazyLock<DefaultServerParameterProvider> = LazyLock::new(parameters);

/// The settings a client is told at startup (ParameterStatus), with the
/// values `SHOW` gives ([`super::dialect::settings`]): among them that
/// transactions are read-only and the user is no superuser, which drivers
/// and tools read to decide what they may offer.
pub fn parameters() -> DefaultServerParameterProvider {
    let value = |name: &str| super::dialect::settings::setting(name).map_or("", |s| s.1).to_owned();
    let on = |name: &str| value(name) == "on";
    let mut p = DefaultServerParameterProvider::default();
    p.server_version = value("server_version");
    p.server_encoding = value("server_encoding");
    p.integer_datetimes = on("integer_datetimes");
    p.is_superuser = on("is_superuser");
    p.default_transaction_read_only = on("default_transaction_read_only");
    p.standard_conforming_strings = on("standard_conforming_strings");
    p.time_zone = value("TimeZone");
    p.date_style = value("DateStyle");
    p.interval_style = value("IntervalStyle");
    p.scram_iterations = ITERATIONS;
    p
}
