//! Starting and stopping a relay: the listener, the router, the retention sweeper, and the
//! discovery key.

use crate::app::{router, Relay};
use crate::clock::Clock;
use crate::limits;
use crate::store::Store;
use blindrelay::contact::{
    BucketBits, DiscoveryParameters, OracleBinding, SaltNonce, MAX_PARAMETERS_LIFETIME_SECS,
};
use blindrelay::IdentityKeyPair;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The relay's long-term discovery key and salt nonce (spec §9.6): 64 bytes, the Ed25519
/// seed then the 32-byte salt nonce. Generated at first start, kept in `<data dir>/discovery.key`.
pub struct DiscoveryKey {
    /// The relay's Ed25519 identity that signs its discovery parameters; clients pin its
    /// public key.
    pub identity: IdentityKeyPair,
    /// The salt nonce of salt generation 1.
    pub salt_nonce: SaltNonce,
}

impl DiscoveryKey {
    /// Loads the key from `path`, or generates and writes it (mode 0600) if absent.
    ///
    /// # Errors
    /// An I/O error, or a file that is not 64 bytes.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let (seed, nonce) = bytes
                    .split_first_chunk::<32>()
                    .and_then(|(s, rest)| Some((s, <[u8; 32]>::try_from(rest).ok()?)))
                    .ok_or_else(|| std::io::Error::other("discovery.key is not 64 bytes"))?;
                Ok(Self {
                    identity: IdentityKeyPair::from_seed(seed),
                    salt_nonce: SaltNonce(nonce),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let rng = &mut rand_core::OsRng;
                let key = Self {
                    identity: IdentityKeyPair::generate(rng),
                    salt_nonce: SaltNonce::generate(rng),
                };
                let mut bytes = key.identity.to_seed().to_vec();
                bytes.extend_from_slice(&key.salt_nonce.0);
                write_private(path, &bytes)?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    /// The parameters signed at `now` (spec §9.6): `ch1` with salt generation 1, or, for a
    /// relay with an oracle, `ch2` naming `oracle` with salt generation = the oracle's key
    /// epoch (spec §13.9: the registry is keyed under one epoch, so a new epoch is a new
    /// generation); 12-bit buckets, size classes up to 1 024, valid for
    /// [`MAX_PARAMETERS_LIFETIME_SECS`] from `now`.
    ///
    /// # Errors
    /// Never with these constants; the core's error otherwise.
    pub fn parameters(
        &self,
        now: u64,
        oracle: Option<OracleBinding>,
    ) -> Result<DiscoveryParameters, blindrelay::Error> {
        let window = (now, now.saturating_add(MAX_PARAMETERS_LIFETIME_SECS));
        let b = BucketBits::new(12)?;
        match oracle {
            None => DiscoveryParameters::sign(
                &self.identity,
                1,
                &self.salt_nonce,
                b,
                1024,
                window.0,
                window.1,
            ),
            Some(binding) => DiscoveryParameters::sign_ch2(
                &self.identity,
                binding.key_epoch,
                &self.salt_nonce,
                b,
                1024,
                binding,
                window,
            ),
        }
    }
}

/// How old served discovery parameters may get before the relay signs them afresh: one
/// day, so clients always receive parameters with at least six of their seven days left.
pub const RESIGN_AFTER_SECS: u64 = 24 * 3600;

/// The discovery parameters a relay serves, re-signed as they age (spec §9.6: they carry
/// an issue time and expire after at most 7 days, so a relay must keep signing them), and
/// when the oracle binding changes (a `ch2` relay after the oracle rotated its key).
pub struct Discovery {
    key: DiscoveryKey,
    current: std::sync::Mutex<DiscoveryParameters>,
}

impl Discovery {
    /// `ch1` parameters signed with `key` at `now` (a relay with an oracle moves to `ch2`
    /// at its first [`Discovery::at`] with a binding).
    ///
    /// # Errors
    /// As [`DiscoveryKey::parameters`].
    pub fn new(key: DiscoveryKey, now: u64) -> Result<Self, blindrelay::Error> {
        let current = std::sync::Mutex::new(key.parameters(now, None)?);
        Ok(Self { key, current })
    }

    /// The relay's identity key, which clients pin.
    #[must_use]
    pub fn relay_key(&self) -> [u8; 32] {
        self.key.identity.public().signing
    }

    /// The parameters to serve and check against at `now` for `oracle` (`None` for a `ch1`
    /// relay): the current ones, or ones signed afresh if the current ones are
    /// [`RESIGN_AFTER_SECS`] old, from a clock that went back, or for another binding.
    /// Re-signing for age changes only the two times and the signature: requests and
    /// registrations made under the previous ones stay valid.
    pub fn at(&self, now: u64, oracle: Option<OracleBinding>) -> DiscoveryParameters {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let issued = current.issued_at();
        if now < issued || now - issued >= RESIGN_AFTER_SECS || current.oracle() != oracle {
            if let Ok(fresh) = self.key.parameters(now, oracle) {
                *current = fresh;
            }
        }
        current.clone()
    }
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A running relay: its address, and how to stop it.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    sweeper: JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, and waits for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.sweeper.abort();
        let _ = (&mut self.server).await;
    }

    /// Waits until the server stops (it stops on its own only on an I/O error).
    pub async fn wait(mut self) {
        let _ = (&mut self.server).await;
    }
}

/// Serves `relay` on `listener` until [`Running::stop`], sweeping expired data
/// ([`Relay::sweep`]) every [`limits::SWEEP_INTERVAL_SECS`].
///
/// # Errors
/// The listener's address cannot be read.
pub fn start<S: Store>(relay: Arc<Relay<S>>, listener: TcpListener) -> std::io::Result<Running> {
    let app = router(Arc::clone(&relay));
    serve(app, listener, "relay", move || async move {
        let mut tick = tokio::time::interval(Duration::from_secs(limits::SWEEP_INTERVAL_SECS));
        loop {
            tick.tick().await;
            relay.sweep().await;
        }
    })
}

/// Serves `app` on `listener` until [`Running::stop`], with `sweeper` running beside it
/// (aborted at stop). `name` prefixes the log lines.
pub(crate) fn serve<F>(
    app: axum::Router,
    listener: TcpListener,
    name: &'static str,
    sweeper: impl FnOnce() -> F,
) -> std::io::Result<Running>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let sweeper = tokio::spawn(sweeper());
    let server = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = result {
            crate::log::line(&format!("{name}: server stopped: {e}"));
        }
    });
    Ok(Running {
        addr,
        shutdown: Some(tx),
        server,
        sweeper,
    })
}

/// A relay over `store` with the discovery key in `data_dir` (created if absent).
///
/// # Errors
/// An I/O error reading or writing the discovery key.
pub fn relay_with<S: Store>(store: S, clock: Clock, data_dir: &Path) -> std::io::Result<Relay<S>> {
    let key = DiscoveryKey::load_or_create(&data_dir.join("discovery.key"))?;
    let discovery =
        Discovery::new(key, clock.now()).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(Relay::new(store, clock, discovery))
}
