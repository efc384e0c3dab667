//! The in-memory store: a transaction works on a copy of the state and replaces the state
//! with it on commit.

use super::{
    LocalRecord, PeerRecord, SignedPrekeyRecord, Store, StoreTx, KEM_SEED_LEN,
    MAX_DELIVERED_DIGESTS,
};
use crate::Error;
use blindrelay::IdentityPublicKey;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use zeroize::Zeroizing;

type IdKey = [u8; 64];

#[derive(Clone, Default, PartialEq, Eq)]
struct State {
    local: Option<LocalRecord>,
    next_prekey_id: u32,
    peers: BTreeMap<IdKey, PeerRecord>,
    sessions: BTreeMap<IdKey, Vec<Vec<u8>>>,
    signed: BTreeMap<u32, SignedPrekeyRecord>,
    one_time: BTreeMap<u32, Zeroizing<[u8; 32]>>,
    one_time_kem: BTreeMap<u32, Zeroizing<[u8; KEM_SEED_LEN]>>,
    replay: BTreeMap<(u32, [u8; 32]), IdentityPublicKey>,
    delivered: BTreeSet<[u8; 32]>,
    delivered_order: VecDeque<[u8; 32]>,
}

/// A [`Store`] in memory. `Clone` takes a snapshot of everything (a whole-store backup);
/// [`MemoryStore::restore_sessions_from`] restores only the session rows, to simulate
/// the rollbacks the client must survive.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MemoryStore {
    state: State,
}

impl core::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("peers", &self.state.peers.len())
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces this store's session rows (and only those) with `older`'s: what a backup
    /// of the session table restored over a live database looks like. The peer table,
    /// with its high-water marks, is kept. For tests of rollback recovery.
    pub fn restore_sessions_from(&mut self, older: &Self) {
        self.state.sessions = older.state.sessions.clone();
    }
}

/// A transaction of a [`MemoryStore`]: a working copy of the state.
#[derive(Debug)]
pub struct MemoryTx {
    state: State,
}

impl core::fmt::Debug for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}

impl Store for MemoryStore {
    type Tx<'a> = MemoryTx;

    fn transaction<T, F>(&mut self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut MemoryTx) -> Result<T, Error>,
    {
        let mut tx = MemoryTx {
            state: self.state.clone(),
        };
        let out = f(&mut tx)?;
        self.state = tx.state;
        Ok(out)
    }
}

impl StoreTx for MemoryTx {
    fn local(&mut self) -> Result<Option<LocalRecord>, Error> {
        Ok(self.state.local.clone())
    }
    fn put_local(&mut self, record: &LocalRecord) -> Result<(), Error> {
        self.state.local = Some(record.clone());
        Ok(())
    }
    fn allocate_prekey_id(&mut self) -> Result<u32, Error> {
        let id = self
            .state
            .next_prekey_id
            .checked_add(1)
            .ok_or(Error::Storage("prekey ids exhausted".into()))?;
        self.state.next_prekey_id = id;
        Ok(id)
    }

    fn peer(&mut self, identity: &IdentityPublicKey) -> Result<Option<PeerRecord>, Error> {
        Ok(self.state.peers.get(&identity.to_array()).cloned())
    }
    fn peer_by_address(&mut self, address: &str) -> Result<Option<PeerRecord>, Error> {
        Ok(self
            .state
            .peers
            .values()
            .find(|p| p.address.as_deref() == Some(address))
            .cloned())
    }
    fn put_peer(&mut self, record: &PeerRecord) -> Result<(), Error> {
        if let Some(address) = &record.address {
            for p in self.state.peers.values_mut() {
                if p.address.as_ref() == Some(address) {
                    p.address = None;
                }
            }
        }
        self.state
            .peers
            .insert(record.identity.to_array(), record.clone());
        Ok(())
    }

    fn sessions(&mut self, peer: &IdentityPublicKey) -> Result<Vec<Vec<u8>>, Error> {
        Ok(self
            .state
            .sessions
            .get(&peer.to_array())
            .cloned()
            .unwrap_or_default())
    }
    fn put_sessions(&mut self, peer: &IdentityPublicKey, sealed: &[Vec<u8>]) -> Result<(), Error> {
        self.state.sessions.insert(peer.to_array(), sealed.to_vec());
        Ok(())
    }

    fn signed_prekey(&mut self, id: u32) -> Result<Option<SignedPrekeyRecord>, Error> {
        Ok(self.state.signed.get(&id).cloned())
    }
    fn signed_prekey_by_kem_id(
        &mut self,
        kem_id: u32,
    ) -> Result<Option<SignedPrekeyRecord>, Error> {
        Ok(self
            .state
            .signed
            .values()
            .find(|r| r.kem_id == kem_id)
            .cloned())
    }
    fn signed_prekeys(&mut self) -> Result<Vec<SignedPrekeyRecord>, Error> {
        Ok(self.state.signed.values().cloned().collect())
    }
    fn put_signed_prekey(&mut self, record: &SignedPrekeyRecord) -> Result<(), Error> {
        self.state.signed.insert(record.id, record.clone());
        Ok(())
    }
    fn delete_signed_prekey(&mut self, id: u32) -> Result<(), Error> {
        self.state.signed.remove(&id);
        self.state.replay.retain(|(spk, _), _| *spk != id);
        Ok(())
    }

    fn one_time_prekey(&mut self, id: u32) -> Result<Option<Zeroizing<[u8; 32]>>, Error> {
        Ok(self.state.one_time.get(&id).cloned())
    }
    fn put_one_time_prekey(&mut self, id: u32, secret: &[u8; 32]) -> Result<(), Error> {
        self.state.one_time.insert(id, Zeroizing::new(*secret));
        Ok(())
    }
    fn delete_one_time_prekey(&mut self, id: u32) -> Result<(), Error> {
        self.state.one_time.remove(&id);
        Ok(())
    }
    fn one_time_prekey_count(&mut self) -> Result<u64, Error> {
        Ok(u64::try_from(self.state.one_time.len()).unwrap_or(u64::MAX))
    }

    fn one_time_kem_prekey(
        &mut self,
        id: u32,
    ) -> Result<Option<Zeroizing<[u8; KEM_SEED_LEN]>>, Error> {
        Ok(self.state.one_time_kem.get(&id).cloned())
    }
    fn put_one_time_kem_prekey(
        &mut self,
        id: u32,
        secret: &[u8; KEM_SEED_LEN],
    ) -> Result<(), Error> {
        self.state.one_time_kem.insert(id, Zeroizing::new(*secret));
        Ok(())
    }
    fn delete_one_time_kem_prekey(&mut self, id: u32) -> Result<(), Error> {
        self.state.one_time_kem.remove(&id);
        Ok(())
    }
    fn one_time_kem_prekey_count(&mut self) -> Result<u64, Error> {
        Ok(u64::try_from(self.state.one_time_kem.len()).unwrap_or(u64::MAX))
    }

    fn replay(
        &mut self,
        signed_prekey_id: u32,
        ephemeral: &[u8; 32],
    ) -> Result<Option<IdentityPublicKey>, Error> {
        Ok(self
            .state
            .replay
            .get(&(signed_prekey_id, *ephemeral))
            .copied())
    }
    fn put_replay(
        &mut self,
        signed_prekey_id: u32,
        ephemeral: &[u8; 32],
        peer: &IdentityPublicKey,
    ) -> Result<(), Error> {
        self.state
            .replay
            .insert((signed_prekey_id, *ephemeral), *peer);
        Ok(())
    }
    fn replay_count(&mut self, signed_prekey_id: u32) -> Result<u64, Error> {
        let n = self
            .state
            .replay
            .keys()
            .filter(|(spk, _)| *spk == signed_prekey_id)
            .count();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn delivered(&mut self, digest: &[u8; 32]) -> Result<bool, Error> {
        Ok(self.state.delivered.contains(digest))
    }
    fn put_delivered(&mut self, digest: &[u8; 32]) -> Result<(), Error> {
        if self.state.delivered.insert(*digest) {
            self.state.delivered_order.push_back(*digest);
        }
        while u64::try_from(self.state.delivered_order.len()).unwrap_or(u64::MAX)
            > MAX_DELIVERED_DIGESTS
        {
            if let Some(old) = self.state.delivered_order.pop_front() {
                self.state.delivered.remove(&old);
            }
        }
        Ok(())
    }
}
