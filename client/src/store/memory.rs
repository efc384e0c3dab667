//! The in-memory store: a transaction writes in place and undoes its writes unless it
//! commits.

use super::{
    DiscoveryRecord, LocalRecord, PeerRecord, SignedPrekeyRecord, Store, StoreTx, KEM_SEED_LEN,
    MAX_DELIVERED_DIGESTS,
};
use crate::Error;
use blindrelay::route::ReadCapability;
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
    /// The mailbox index: mailbox id → (capability, peer).
    mailboxes: BTreeMap<[u8; 32], (Zeroizing<[u8; 32]>, IdentityPublicKey)>,
    /// The mailbox ids of each peer's entries, to replace them without a scan.
    peer_mailboxes: BTreeMap<IdKey, Vec<[u8; 32]>>,
    /// Contact-discovery state by pinned relay key.
    discovery: BTreeMap<[u8; 32], DiscoveryRecord>,
    /// The `ch2` ids by oracle key: the highest key epoch kept, and `ch1 id → ch2 id`.
    ch2: BTreeMap<[u8; 32], Ch2Ids>,
}

/// One oracle's kept `ch2` ids: its key epoch and `ch1 id → ch2 id`.
type Ch2Ids = (u32, BTreeMap<[u8; 32], [u8; 32]>);

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

/// A transaction of a [`MemoryStore`]: it writes in place and keeps an undo log, which is
/// replayed backwards if the transaction does not commit (an error, or a panic in the
/// closure), so a transaction costs what it writes, not the size of the store.
pub struct MemoryTx<'a> {
    state: &'a mut State,
    undo: Vec<Undo>,
    committed: bool,
}

impl core::fmt::Debug for MemoryTx<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryTx")
            .field("writes", &self.undo.len())
            .finish_non_exhaustive()
    }
}

/// The previous value of one entry, to put back on rollback.
enum Undo {
    Local(Option<LocalRecord>),
    NextId(u32),
    Peer(IdKey, Option<PeerRecord>),
    Sessions(IdKey, Option<Vec<Vec<u8>>>),
    Signed(u32, Option<SignedPrekeyRecord>),
    OneTime(u32, Option<Zeroizing<[u8; 32]>>),
    OneTimeKem(u32, Option<Zeroizing<[u8; KEM_SEED_LEN]>>),
    Replay((u32, [u8; 32]), Option<IdentityPublicKey>),
    Mailbox([u8; 32], Option<(Zeroizing<[u8; 32]>, IdentityPublicKey)>),
    PeerMailboxes(IdKey, Option<Vec<[u8; 32]>>),
    Discovery([u8; 32], Option<DiscoveryRecord>),
    Ch2([u8; 32], Option<Ch2Ids>),
    DeliveredPushed([u8; 32]),
    DeliveredEvicted([u8; 32]),
}

fn restore<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, old: Option<V>) {
    match old {
        Some(v) => {
            map.insert(key, v);
        }
        None => {
            map.remove(&key);
        }
    }
}

impl Drop for MemoryTx<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let s = &mut *self.state;
        while let Some(u) = self.undo.pop() {
            match u {
                Undo::Local(old) => s.local = old,
                Undo::NextId(old) => s.next_prekey_id = old,
                Undo::Peer(k, old) => restore(&mut s.peers, k, old),
                Undo::Sessions(k, old) => restore(&mut s.sessions, k, old),
                Undo::Signed(k, old) => restore(&mut s.signed, k, old),
                Undo::OneTime(k, old) => restore(&mut s.one_time, k, old),
                Undo::OneTimeKem(k, old) => restore(&mut s.one_time_kem, k, old),
                Undo::Replay(k, old) => restore(&mut s.replay, k, old),
                Undo::Mailbox(k, old) => restore(&mut s.mailboxes, k, old),
                Undo::PeerMailboxes(k, old) => restore(&mut s.peer_mailboxes, k, old),
                Undo::Discovery(k, old) => restore(&mut s.discovery, k, old),
                Undo::Ch2(k, old) => restore(&mut s.ch2, k, old),
                Undo::DeliveredPushed(d) => {
                    s.delivered.remove(&d);
                    s.delivered_order.pop_back();
                }
                Undo::DeliveredEvicted(d) => {
                    s.delivered.insert(d);
                    s.delivered_order.push_front(d);
                }
            }
        }
    }
}

impl Store for MemoryStore {
    type Tx<'a> = MemoryTx<'a>;

    fn transaction<T, F>(&mut self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut MemoryTx<'_>) -> Result<T, Error>,
    {
        let mut tx = MemoryTx {
            state: &mut self.state,
            undo: Vec::new(),
            committed: false,
        };
        let out = f(&mut tx)?;
        tx.committed = true;
        Ok(out)
    }
}

impl StoreTx for MemoryTx<'_> {
    fn local(&mut self) -> Result<Option<LocalRecord>, Error> {
        Ok(self.state.local.clone())
    }
    fn put_local(&mut self, record: &LocalRecord) -> Result<(), Error> {
        let old = self.state.local.replace(record.clone());
        self.undo.push(Undo::Local(old));
        Ok(())
    }
    fn allocate_prekey_id(&mut self) -> Result<u32, Error> {
        let id = self
            .state
            .next_prekey_id
            .checked_add(1)
            .ok_or(Error::Storage("prekey ids exhausted".into()))?;
        self.undo.push(Undo::NextId(self.state.next_prekey_id));
        self.state.next_prekey_id = id;
        Ok(id)
    }

    fn skip_prekey_ids(&mut self, by: u32) -> Result<(), Error> {
        let id = self
            .state
            .next_prekey_id
            .checked_add(by)
            .ok_or(Error::Storage("prekey ids exhausted".into()))?;
        self.undo.push(Undo::NextId(self.state.next_prekey_id));
        self.state.next_prekey_id = id;
        Ok(())
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
    fn peers(&mut self) -> Result<Vec<PeerRecord>, Error> {
        Ok(self.state.peers.values().cloned().collect())
    }
    fn put_peer(&mut self, record: &PeerRecord) -> Result<(), Error> {
        if let Some(address) = &record.address {
            for (k, p) in &mut self.state.peers {
                if p.address.as_ref() == Some(address) {
                    self.undo.push(Undo::Peer(*k, Some(p.clone())));
                    p.address = None;
                }
            }
        }
        let k = record.identity.to_array();
        let old = self.state.peers.insert(k, record.clone());
        self.undo.push(Undo::Peer(k, old));
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
        let k = peer.to_array();
        let old = self.state.sessions.insert(k, sealed.to_vec());
        self.undo.push(Undo::Sessions(k, old));
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
        let old = self.state.signed.insert(record.id, record.clone());
        self.undo.push(Undo::Signed(record.id, old));
        Ok(())
    }
    fn delete_signed_prekey(&mut self, id: u32) -> Result<(), Error> {
        let old = self.state.signed.remove(&id);
        self.undo.push(Undo::Signed(id, old));
        let keys: Vec<(u32, [u8; 32])> = self
            .state
            .replay
            .range((id, [0u8; 32])..=(id, [0xffu8; 32]))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            let old = self.state.replay.remove(&k);
            self.undo.push(Undo::Replay(k, old));
        }
        Ok(())
    }

    fn one_time_prekey(&mut self, id: u32) -> Result<Option<Zeroizing<[u8; 32]>>, Error> {
        Ok(self.state.one_time.get(&id).cloned())
    }
    fn put_one_time_prekey(&mut self, id: u32, secret: &[u8; 32]) -> Result<(), Error> {
        let old = self.state.one_time.insert(id, Zeroizing::new(*secret));
        self.undo.push(Undo::OneTime(id, old));
        Ok(())
    }
    fn delete_one_time_prekey(&mut self, id: u32) -> Result<(), Error> {
        let old = self.state.one_time.remove(&id);
        self.undo.push(Undo::OneTime(id, old));
        Ok(())
    }
    fn one_time_prekey_count(&mut self) -> Result<u64, Error> {
        Ok(u64::try_from(self.state.one_time.len()).unwrap_or(u64::MAX))
    }
    fn delete_all_one_time_prekeys(&mut self) -> Result<(), Error> {
        for (id, s) in std::mem::take(&mut self.state.one_time) {
            self.undo.push(Undo::OneTime(id, Some(s)));
        }
        for (id, s) in std::mem::take(&mut self.state.one_time_kem) {
            self.undo.push(Undo::OneTimeKem(id, Some(s)));
        }
        Ok(())
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
        let old = self.state.one_time_kem.insert(id, Zeroizing::new(*secret));
        self.undo.push(Undo::OneTimeKem(id, old));
        Ok(())
    }
    fn delete_one_time_kem_prekey(&mut self, id: u32) -> Result<(), Error> {
        let old = self.state.one_time_kem.remove(&id);
        self.undo.push(Undo::OneTimeKem(id, old));
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
        let k = (signed_prekey_id, *ephemeral);
        let old = self.state.replay.insert(k, *peer);
        self.undo.push(Undo::Replay(k, old));
        Ok(())
    }
    fn replay_count(&mut self, signed_prekey_id: u32) -> Result<u64, Error> {
        let n = self
            .state
            .replay
            .range((signed_prekey_id, [0u8; 32])..=(signed_prekey_id, [0xffu8; 32]))
            .count();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn delivered(&mut self, digest: &[u8; 32]) -> Result<bool, Error> {
        Ok(self.state.delivered.contains(digest))
    }
    fn put_delivered(&mut self, digest: &[u8; 32]) -> Result<(), Error> {
        if self.state.delivered.insert(*digest) {
            self.state.delivered_order.push_back(*digest);
            self.undo.push(Undo::DeliveredPushed(*digest));
        }
        while u64::try_from(self.state.delivered_order.len()).unwrap_or(u64::MAX)
            > MAX_DELIVERED_DIGESTS
        {
            if let Some(old) = self.state.delivered_order.pop_front() {
                self.state.delivered.remove(&old);
                self.undo.push(Undo::DeliveredEvicted(old));
            }
        }
        Ok(())
    }

    fn mailbox_peer(&mut self, mailbox: &[u8; 32]) -> Result<Option<IdentityPublicKey>, Error> {
        Ok(self.state.mailboxes.get(mailbox).map(|(_, p)| *p))
    }
    fn put_mailboxes(
        &mut self,
        peer: &IdentityPublicKey,
        capabilities: &[ReadCapability],
    ) -> Result<(), Error> {
        let k = peer.to_array();
        let old = self.state.peer_mailboxes.remove(&k);
        for m in old.iter().flatten() {
            // Only entries still the peer's (an id moved to another peer stays there).
            if self.state.mailboxes.get(m).is_some_and(|(_, p)| p == peer) {
                let prev = self.state.mailboxes.remove(m);
                self.undo.push(Undo::Mailbox(*m, prev));
            }
        }
        self.undo.push(Undo::PeerMailboxes(k, old));
        if capabilities.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(capabilities.len());
        for cap in capabilities {
            let m = cap.mailbox();
            let prev = self
                .state
                .mailboxes
                .insert(m, (Zeroizing::new(cap.to_bytes()), *peer));
            self.undo.push(Undo::Mailbox(m, prev));
            ids.push(m);
        }
        let prev = self.state.peer_mailboxes.insert(k, ids);
        self.undo.push(Undo::PeerMailboxes(k, prev));
        Ok(())
    }
    fn peer_mailboxes(&mut self, peer: &IdentityPublicKey) -> Result<Vec<ReadCapability>, Error> {
        let ids = self.state.peer_mailboxes.get(&peer.to_array());
        Ok(ids
            .into_iter()
            .flatten()
            .filter_map(|m| self.state.mailboxes.get(m))
            .filter(|(_, p)| p == peer)
            .map(|(c, _)| ReadCapability::from_bytes(**c))
            .collect())
    }
    fn mailbox_capabilities(&mut self) -> Result<Vec<ReadCapability>, Error> {
        Ok(self
            .state
            .mailboxes
            .values()
            .map(|(c, _)| ReadCapability::from_bytes(**c))
            .collect())
    }

    fn discovery(&mut self, relay_key: &[u8; 32]) -> Result<Option<DiscoveryRecord>, Error> {
        Ok(self.state.discovery.get(relay_key).cloned())
    }
    fn put_discovery(
        &mut self,
        relay_key: &[u8; 32],
        record: &DiscoveryRecord,
    ) -> Result<(), Error> {
        let old = self.state.discovery.insert(*relay_key, record.clone());
        self.undo.push(Undo::Discovery(*relay_key, old));
        Ok(())
    }

    fn ch2_ids(
        &mut self,
        oracle_key: &[u8; 32],
        key_epoch: u32,
        contacts: &[[u8; 32]],
    ) -> Result<Vec<Option<[u8; 32]>>, Error> {
        let kept = self
            .state
            .ch2
            .get(oracle_key)
            .filter(|(epoch, _)| *epoch == key_epoch);
        Ok(contacts
            .iter()
            .map(|c| kept.and_then(|(_, ids)| ids.get(c).copied()))
            .collect())
    }
    fn ch2_epoch(&mut self, oracle_key: &[u8; 32]) -> Result<Option<(u32, usize)>, Error> {
        Ok(self
            .state
            .ch2
            .get(oracle_key)
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(epoch, ids)| (*epoch, ids.len())))
    }
    fn put_ch2_ids(
        &mut self,
        oracle_key: &[u8; 32],
        key_epoch: u32,
        pairs: &[([u8; 32], [u8; 32])],
    ) -> Result<(), Error> {
        if pairs.is_empty() {
            return Ok(());
        }
        let old = self.state.ch2.get(oracle_key).cloned();
        let mut kept = match &old {
            Some((epoch, _)) if *epoch > key_epoch => return Ok(()),
            Some((epoch, ids)) if *epoch == key_epoch => ids.clone(),
            _ => BTreeMap::new(),
        };
        kept.extend(pairs.iter().copied());
        self.state.ch2.insert(*oracle_key, (key_epoch, kept));
        self.undo.push(Undo::Ch2(*oracle_key, old));
        Ok(())
    }
}
