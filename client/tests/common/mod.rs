//! An in-test relay: published bundles with one-time prekey pools, and mailbox queues.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use blindrelay::envelope::RelayEnvelope;
use blindrelay::PrekeyBundle;
use blindrelay_client::{BundleSource, Error, OneTimePrekeys};
use std::collections::{HashMap, VecDeque};

#[derive(Default)]
pub struct Directory {
    bundles: HashMap<String, PrekeyBundle>,
    pools: HashMap<String, VecDeque<OneTimePrekeys>>,
}

impl Directory {
    pub fn publish(&mut self, address: &str, bundle: PrekeyBundle) {
        self.bundles.insert(address.to_string(), bundle);
    }
    pub fn upload(&mut self, address: &str, records: Vec<OneTimePrekeys>) {
        self.pools
            .entry(address.to_string())
            .or_default()
            .extend(records);
    }
    pub fn clear_pool(&mut self, address: &str) {
        self.pools.remove(address);
    }
}

impl BundleSource for Directory {
    fn bundle(&mut self, address: &str) -> Result<Option<PrekeyBundle>, Error> {
        let Some(mut b) = self.bundles.get(address).cloned() else {
            return Ok(None);
        };
        if let Some(otp) = self.pools.get_mut(address).and_then(VecDeque::pop_front) {
            b.one_time_prekey = Some(otp.x25519);
            b.one_time_kem_prekey = Some(otp.kem);
        }
        Ok(Some(b))
    }
}

#[derive(Default)]
pub struct Queues {
    queues: HashMap<[u8; 32], Vec<Vec<u8>>>,
}

impl Queues {
    pub fn post(&mut self, envelope: Vec<u8>) {
        let mailbox = *RelayEnvelope::parse(&envelope)
            .expect("well-formed envelope")
            .mailbox();
        self.queues.entry(mailbox).or_default().push(envelope);
    }
    pub fn take(&mut self, mailbox: &[u8; 32]) -> Vec<Vec<u8>> {
        self.queues.remove(mailbox).unwrap_or_default()
    }
    pub fn is_empty(&self) -> bool {
        self.queues.values().all(Vec::is_empty)
    }
}

/// A database path under the temp dir, unique to this process and `name`; removed (with
/// its WAL and SHM files) on drop.
pub struct TempDb(pub std::path::PathBuf);

impl TempDb {
    pub fn new(name: &str) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!(
            "blindrelay-client-{}-{name}-{n}.db",
            std::process::id()
        ));
        let db = Self(p);
        db.remove();
        db
    }
    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut s = self.0.clone().into_os_string();
            s.push(suffix);
            let _ = std::fs::remove_file(s);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}
