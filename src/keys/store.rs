//! The caller-owned prekey store (spec §6.5). The crate never stores anything itself: the
//! application implements [`PrekeyStore`] over its own database. [`MemoryPrekeyStore`] is
//! a complete in-memory implementation for tests, demos and small deployments.

use super::{KemPrekeySecret, OneTimeKemPrekeySecret, OneTimePrekeySecret, SignedPrekeySecret};
use alloc::collections::{BTreeMap, BTreeSet};

/// Accepted handshakes under one signed prekey after which its owner rotates it (spec §6.5):
/// bounds the replay records anyone can make the owner keep.
pub const MAX_REPLAY_RECORDS_PER_SIGNED_PREKEY: usize = 10_000;
/// Seconds after which the owner rotates its signed prekey (spec §6.5, §6.7): 7 days.
pub const SIGNED_PREKEY_MAX_AGE: u64 = 7 * 24 * 3600;
/// Seconds a rotated signed prekey still accepts initial messages before it is retired
/// with its replay records (spec §6.5): 7 days.
pub const SIGNED_PREKEY_GRACE: u64 = 7 * 24 * 3600;

/// Where a responder keeps the secret halves of its published prekeys and the replay cache
/// of initial messages it has accepted.
///
/// The handshake only *reads* during verification and calls the mutating methods only after
/// the first message has authenticated, so a forged initial message can neither burn a
/// one-time prekey nor poison the replay cache.
pub trait PrekeyStore {
    /// The signed X25519 prekey with this id.
    fn signed_prekey(&self, id: u32) -> Option<&SignedPrekeySecret>;
    /// The signed (last-resort) ML-KEM-768 prekey with this id.
    fn kem_prekey(&self, id: u32) -> Option<&KemPrekeySecret>;
    /// The one-time X25519 prekey with this id, if still unused.
    fn one_time_prekey(&self, id: u32) -> Option<&OneTimePrekeySecret>;
    /// The one-time ML-KEM-768 prekey with this id, if still unused.
    fn one_time_kem_prekey(&self, id: u32) -> Option<&OneTimeKemPrekeySecret>;
    /// Deletes a one-time X25519 prekey (called once, after authentication).
    fn remove_one_time_prekey(&mut self, id: u32);
    /// Deletes a one-time ML-KEM-768 prekey (called once, after authentication).
    fn remove_one_time_kem_prekey(&mut self, id: u32);
    /// Whether an initial message with this replay id (spec §6.5) was already accepted under
    /// the signed prekey `spk_id`.
    fn is_replay(&self, spk_id: u32, replay_id: &[u8; 32]) -> bool;
    /// Records an accepted initial message's replay id under the signed prekey `spk_id`.
    /// Entries may be dropped when that signed prekey is retired, never earlier.
    fn record_replay(&mut self, spk_id: u32, replay_id: [u8; 32]);
}

/// An in-memory [`PrekeyStore`].
#[derive(Debug, Default)]
pub struct MemoryPrekeyStore {
    signed: BTreeMap<u32, SignedPrekeySecret>,
    kem: BTreeMap<u32, KemPrekeySecret>,
    one_time: BTreeMap<u32, OneTimePrekeySecret>,
    one_time_kem: BTreeMap<u32, OneTimeKemPrekeySecret>,
    replay: BTreeMap<u32, BTreeSet<[u8; 32]>>,
}

impl MemoryPrekeyStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a signed X25519 prekey.
    pub fn insert_signed_prekey(&mut self, id: u32, secret: SignedPrekeySecret) {
        self.signed.insert(id, secret);
    }
    /// Adds a signed ML-KEM-768 prekey.
    pub fn insert_kem_prekey(&mut self, id: u32, secret: KemPrekeySecret) {
        self.kem.insert(id, secret);
    }
    /// Adds a one-time X25519 prekey.
    pub fn insert_one_time_prekey(&mut self, id: u32, secret: OneTimePrekeySecret) {
        self.one_time.insert(id, secret);
    }
    /// Adds a one-time ML-KEM-768 prekey.
    pub fn insert_one_time_kem_prekey(&mut self, id: u32, secret: OneTimeKemPrekeySecret) {
        self.one_time_kem.insert(id, secret);
    }
    /// Retires a signed X25519 prekey and forgets the replay ids recorded under it.
    pub fn retire_signed_prekey(&mut self, id: u32) {
        self.signed.remove(&id);
        self.replay.remove(&id);
    }
    /// How many replay records the signed prekey `spk_id` holds: the count that drives its
    /// rotation ([`MAX_REPLAY_RECORDS_PER_SIGNED_PREKEY`], spec §6.5).
    #[must_use]
    pub fn replay_count(&self, spk_id: u32) -> usize {
        self.replay.get(&spk_id).map_or(0, BTreeSet::len)
    }

    /// A digest of the whole store's contents (secret bytes included), for tests that
    /// check a failed handshake left the store unchanged. Not for production use.
    #[must_use]
    pub fn state_digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut entry = |tag: &[u8], id: &u32, bytes: &[u8]| {
            h.update(tag);
            h.update(id.to_be_bytes());
            h.update(bytes);
        };
        self.signed
            .iter()
            .for_each(|(id, s)| entry(b"s", id, &*s.to_bytes()));
        self.kem
            .iter()
            .for_each(|(id, s)| entry(b"k", id, &*s.to_bytes()));
        self.one_time
            .iter()
            .for_each(|(id, s)| entry(b"o", id, &*s.to_bytes()));
        self.one_time_kem
            .iter()
            .for_each(|(id, s)| entry(b"q", id, &*s.to_bytes()));
        for (id, set) in &self.replay {
            set.iter().for_each(|r| entry(b"r", id, r));
        }
        h.finalize().into()
    }
}

impl PrekeyStore for MemoryPrekeyStore {
    fn signed_prekey(&self, id: u32) -> Option<&SignedPrekeySecret> {
        self.signed.get(&id)
    }
    fn kem_prekey(&self, id: u32) -> Option<&KemPrekeySecret> {
        self.kem.get(&id)
    }
    fn one_time_prekey(&self, id: u32) -> Option<&OneTimePrekeySecret> {
        self.one_time.get(&id)
    }
    fn one_time_kem_prekey(&self, id: u32) -> Option<&OneTimeKemPrekeySecret> {
        self.one_time_kem.get(&id)
    }
    fn remove_one_time_prekey(&mut self, id: u32) {
        self.one_time.remove(&id);
    }
    fn remove_one_time_kem_prekey(&mut self, id: u32) {
        self.one_time_kem.remove(&id);
    }
    fn is_replay(&self, spk_id: u32, replay_id: &[u8; 32]) -> bool {
        self.replay
            .get(&spk_id)
            .is_some_and(|s| s.contains(replay_id))
    }
    fn record_replay(&mut self, spk_id: u32, replay_id: [u8; 32]) {
        self.replay.entry(spk_id).or_default().insert(replay_id);
    }
}
