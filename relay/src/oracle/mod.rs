//! The `ch2` oracle (spec §14): the small service, run by a second operator, that holds the
//! VOPRF key of suite `ch2` and evaluates blinded elements for the relays it knows.
//!
//! - [`app`]: `GET /v1/parameters` and `POST /v1/evaluate`.
//! - [`store`]: the key epoch and the per-relay daily usage, on SQLite or Postgres.
//! - [`config`]: the configuration of the `blindrelay-oracle` binary.
//!
//! Its secrets live in a key file, `<data dir>/oracle.key` (64 bytes, mode 0600: the
//! Ed25519 seed of the identity that signs its parameters, then the 32-byte seed every
//! epoch's OPRF key is derived from), not in the database: a database is dumped, backed up
//! and replicated far more widely than a key file, and §14.6 lets an operator hand over the
//! database without handing over the key. Oracle processes sharing one Postgres database
//! share the key file the way relay nodes share `discovery.key`.

pub mod app;
pub mod config;
pub mod store;

use crate::clock::Clock;
use crate::server::{serve, write_private, Running, RESIGN_AFTER_SECS};
use crate::store::StoreError;
use blindrelay::contact::{OracleKey, OracleParameters, MAX_PARAMETERS_LIFETIME_SECS};
use blindrelay::IdentityKeyPair;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::OracleStore;
use tokio::net::TcpListener;
use zeroize::Zeroizing;

/// The oracle's long-term secrets (spec §14.6), kept in `<data dir>/oracle.key`.
pub struct OracleKeyFile {
    /// The Ed25519 identity that signs the oracle's parameters; clients pin its public key.
    pub identity: IdentityKeyPair,
    seed: Zeroizing<[u8; 32]>,
}

impl OracleKeyFile {
    /// The file name in the data directory.
    pub const FILE_NAME: &'static str = "oracle.key";

    /// Loads the key file at `path`, or generates and writes it (mode 0600) if absent.
    ///
    /// # Errors
    /// An I/O error, or a file that is not 64 bytes.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let (identity, seed) = bytes
                    .split_first_chunk::<32>()
                    .and_then(|(i, rest)| Some((i, <[u8; 32]>::try_from(rest).ok()?)))
                    .ok_or_else(|| std::io::Error::other("oracle.key is not 64 bytes"))?;
                Ok(Self::from_seeds(identity, &seed))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let rng = &mut rand_core::OsRng;
                let mut seed = Zeroizing::new([0u8; 32]);
                rand_core::RngCore::fill_bytes(rng, seed.as_mut());
                let key = Self {
                    identity: IdentityKeyPair::generate(rng),
                    seed,
                };
                let mut bytes = Zeroizing::new(key.identity.to_seed().to_vec());
                bytes.extend_from_slice(key.seed.as_ref());
                write_private(path, &bytes)?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    /// The key from its two seeds (tests and tools).
    #[must_use]
    pub fn from_seeds(identity_seed: &[u8; 32], oprf_seed: &[u8; 32]) -> Self {
        Self {
            identity: IdentityKeyPair::from_seed(identity_seed),
            seed: Zeroizing::new(*oprf_seed),
        }
    }

    /// The OPRF key of `key_epoch`: `OracleKey::derive(seed, key_epoch)` (spec §13.3).
    ///
    /// # Errors
    /// The core's error, which its derivation never returns for these lengths.
    pub fn oprf_key(&self, key_epoch: u32) -> Result<OracleKey, blindrelay::Error> {
        OracleKey::derive(&self.seed, key_epoch)
    }

    /// The Ed25519 public key clients pin.
    #[must_use]
    pub fn oracle_key(&self) -> [u8; 32] {
        self.identity.public().signing
    }
}

/// A relay the oracle serves (spec §14.3): a name for the operator's log and the usage
/// table, its 32-byte bearer credential, and its budget of elements per UTC day.
#[derive(Clone, PartialEq, Eq)]
pub struct RelayCredential {
    /// The relay's name (what `oracle_usage.relay` holds).
    pub name: String,
    /// The bearer secret the relay sends as `Authorization: Bearer <64 hex digits>`.
    pub secret: [u8; 32],
    /// Elements the oracle evaluates for this relay per UTC day.
    pub budget: u64,
}

impl core::fmt::Debug for RelayCredential {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RelayCredential")
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .field("budget", &self.budget)
            .finish()
    }
}

/// The key and the parameters of the current epoch, derived and signed once per epoch
/// and re-signed as they age.
struct Current {
    key: Arc<OracleKey>,
    parameters: OracleParameters,
}

/// Everything the oracle's handlers need. One per oracle process.
pub struct Oracle<S> {
    /// The storage backend.
    pub store: S,
    /// The oracle's clock: parameters' times and the day budgets are charged to.
    pub clock: Clock,
    key: OracleKeyFile,
    relays: Vec<RelayCredential>,
    current: Mutex<Option<Current>>,
    pub(crate) in_flight: tokio::sync::Semaphore,
}

impl<S: OracleStore> Oracle<S> {
    /// An oracle over `store` with `key`, serving `relays`.
    pub fn new(store: S, clock: Clock, key: OracleKeyFile, relays: Vec<RelayCredential>) -> Self {
        Self {
            store,
            clock,
            key,
            relays,
            current: Mutex::new(None),
            in_flight: tokio::sync::Semaphore::new(crate::limits::MAX_IN_FLIGHT),
        }
    }

    /// The Ed25519 public key clients pin.
    #[must_use]
    pub fn oracle_key(&self) -> [u8; 32] {
        self.key.oracle_key()
    }

    /// The relay whose credential `secret` is, compared in constant time against every
    /// configured credential (no early exit).
    pub(crate) fn relay_of(&self, secret: &[u8; 32]) -> Option<&RelayCredential> {
        let mut found = None;
        for relay in &self.relays {
            let diff = relay
                .secret
                .iter()
                .zip(secret)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if std::hint::black_box(diff) == 0 {
                found = Some(relay);
            }
        }
        found
    }

    /// The key and parameters to use at the clock's `now` for the store's current epoch:
    /// derived afresh when the epoch changed (rotation, possibly by another process), and
    /// the parameters re-signed once they are [`RESIGN_AFTER_SECS`] old (or the clock
    /// went back), valid [`MAX_PARAMETERS_LIFETIME_SECS`] from `now`.
    ///
    /// # Errors
    /// [`StoreError`] from reading the epoch; `Unavailable` if signing fails.
    pub async fn current(&self) -> Result<(Arc<OracleKey>, OracleParameters), CurrentError> {
        let epoch = self.store.key_epoch().await?;
        let now = self.clock.now();
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = match current.as_ref() {
            Some(c) if c.key.key_epoch() == epoch => {
                let issued = c.parameters.issued_at();
                if now >= issued && now - issued < RESIGN_AFTER_SECS {
                    return Ok((Arc::clone(&c.key), c.parameters.clone()));
                }
                Arc::clone(&c.key)
            }
            _ => Arc::new(self.key.oprf_key(epoch)?),
        };
        let parameters = OracleParameters::sign(
            &self.key.identity,
            &key,
            now,
            now.saturating_add(MAX_PARAMETERS_LIFETIME_SECS),
        )?;
        *current = Some(Current {
            key: Arc::clone(&key),
            parameters: parameters.clone(),
        });
        Ok((key, parameters))
    }
}

/// Why [`Oracle::current`] failed.
#[derive(Debug)]
pub enum CurrentError {
    /// The store could not be read.
    Store(StoreError),
    /// Deriving the key or signing failed.
    Core(blindrelay::Error),
}

impl From<StoreError> for CurrentError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<blindrelay::Error> for CurrentError {
    fn from(e: blindrelay::Error) -> Self {
        Self::Core(e)
    }
}

impl core::fmt::Display for CurrentError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Store(e) => write!(f, "{e}"),
            Self::Core(e) => write!(f, "{e}"),
        }
    }
}

/// Serves `oracle` on `listener` until [`Running::stop`], deleting usage rows older than
/// [`crate::limits::ORACLE_USAGE_RETENTION_DAYS`] every hour.
///
/// # Errors
/// The listener's address cannot be read.
pub fn start<S: OracleStore>(
    oracle: Arc<Oracle<S>>,
    listener: TcpListener,
) -> std::io::Result<Running> {
    let app = app::router(Arc::clone(&oracle));
    serve(app, listener, "oracle", move || async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let today = oracle.clock.now() / crate::limits::SECS_PER_DAY;
            let before = today.saturating_sub(crate::limits::ORACLE_USAGE_RETENTION_DAYS - 1);
            if let Err(e) = oracle.store.sweep(before).await {
                crate::log::line(&format!("oracle: sweep failed: {e}"));
            }
        }
    })
}

/// An oracle over `store` with the key file in `data_dir` (created if absent).
///
/// # Errors
/// An I/O error reading or writing the key file.
pub fn oracle_with<S: OracleStore>(
    store: S,
    clock: Clock,
    data_dir: &Path,
    relays: Vec<RelayCredential>,
) -> std::io::Result<Oracle<S>> {
    let key = OracleKeyFile::load_or_create(&data_dir.join(OracleKeyFile::FILE_NAME))?;
    Ok(Oracle::new(store, clock, key, relays))
}
