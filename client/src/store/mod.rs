//! Storage: one trait per concern of the protocol, grouped in one transaction object.
//!
//! A [`Store`] runs a closure inside one transaction ([`Store::transaction`]): everything
//! the closure writes through its [`StoreTx`] is committed together when it returns `Ok`,
//! and nothing is written when it returns `Err` (or when the process dies before the
//! commit). The [`Client`](crate::Client) uses exactly one transaction per protocol step
//! (one `send`, one `receive`, one prekey operation), so a crash leaves either the state
//! before the step or the state after it.
//!
//! Every read returns an owned value, and every operation can fail: a database can.
//!
//! Two backends share one behaviour (and one test suite, `tests/store_suite.rs`):
//! [`MemoryStore`] (tests, demos, simulations of rollback) and [`SqliteStore`] (SQLite in
//! WAL mode with `synchronous = FULL`, schema versioned with `user_version`).
//!
//! # Secrets at rest
//! Sessions are stored **sealed** under the storage key (XChaCha20-Poly1305, bound to the
//! two identities, the row's slot and the peer's epoch). In this version the identity
//! seed, the sealing-key seed, the storage key itself, the prekey secrets and the
//! contact-discovery state ([`DiscoveryRecord`]: discovery secret, generation mark and
//! lookup ledger) are stored **raw**: protect the database file with the platform (file-based encryption, an app
//! sandbox), or keep the storage key and the high-water marks
//! ([`Client::high_water_mark`](crate::Client::high_water_mark)) in a keystore.

mod memory;
mod sqlite;

pub use memory::{MemoryStore, MemoryTx};
pub use sqlite::{SqliteStore, SqliteTx, SCHEMA_VERSION};

use crate::Error;
use blindrelay::route::ReadCapability;
use blindrelay::IdentityPublicKey;
use zeroize::Zeroizing;

/// The ML-KEM-768 seed length of the core's KEM prekey secrets.
pub const KEM_SEED_LEN: usize = blindrelay::crypto::kem::SEED_LEN;

/// How many delivered-message digests a store keeps for de-duplication (oldest evicted
/// first). A re-delivery older than this many messages is no longer recognised by digest;
/// it then fails to decrypt in its session (its message key was consumed) and is reported
/// as undecryptable, never delivered twice while its session has not been rolled back.
pub const MAX_DELIVERED_DIGESTS: u64 = 65_536;

/// The most entries the mailbox index holds per peer: as many as the most sessions kept
/// per peer (`1 + MAX_PREVIOUS_SESSIONS`) can watch
/// ([`MAX_WATCHED_MAILBOXES`](blindrelay::session::MAX_WATCHED_MAILBOXES) each), 30. The
/// mailboxes the kept sessions watch come first; the rest of the room holds the peer's
/// most recently watched mailboxes that no kept session watches any more (see the crate's
/// README, "Mailboxes").
pub const MAX_INDEXED_MAILBOXES: usize =
    (1 + blindrelay::session::MAX_PREVIOUS_SESSIONS) * blindrelay::session::MAX_WATCHED_MAILBOXES;

/// The local party: identity, sealing key, mailbox, storage key.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalRecord {
    /// The 32-byte identity seed ([`blindrelay::IdentityKeyPair::from_seed`]).
    pub identity_seed: Zeroizing<[u8; 32]>,
    /// The current sealing key's secret bytes
    /// ([`blindrelay::keys::SealingKeySecret::from_bytes`]).
    pub sealing_secret: Zeroizing<[u8; 32]>,
    /// When the current sealing key was generated (caller's clock, seconds).
    pub sealing_created_at: u64,
    /// The previous sealing key, kept for envelopes in flight until its grace period ends
    /// (spec §8.12), with the time it was superseded.
    pub previous_sealing: Option<(Zeroizing<[u8; 32]>, u64)>,
    /// The mailbox id published in the bundle (the public mailbox).
    pub mailbox: [u8; 32],
    /// The read capability of the public mailbox (`mailbox` is its
    /// [`ReadCapability::mailbox`]). `None` only in a store created before capabilities
    /// (SQLite schema 1), whose random mailbox has none.
    pub public_capability: Option<Zeroizing<[u8; 32]>>,
    /// The key sessions are sealed under.
    pub storage_key: Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for LocalRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Self {
            identity_seed: _,
            sealing_secret: _,
            sealing_created_at,
            previous_sealing,
            mailbox,
            public_capability: _,
            storage_key: _,
        } = self;
        f.debug_struct("LocalRecord")
            .field("mailbox", mailbox)
            .field("sealing_created_at", sealing_created_at)
            .field(
                "previous_sealing_superseded_at",
                &previous_sealing.as_ref().map(|(_, at)| at),
            )
            .finish_non_exhaustive()
    }
}

/// What the client knows about a peer, outside its sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRecord {
    /// The peer's identity (the key of this record).
    pub identity: IdentityPublicKey,
    /// The application's address bound to this identity on first use (trust on first
    /// use). At most one peer holds a given address.
    pub address: Option<String>,
    /// The peer's mailbox and sealing key, from its verified bundle.
    pub route: Option<Route>,
    /// The epoch of the latest save of this peer's sessions (every row is written at it).
    /// A stored session with another epoch comes from another save (a restored copy) and
    /// is never used.
    pub high_water: u64,
    /// A reset this client started is still unanswered (rate limit of resets).
    pub reset_pending: bool,
    /// The signed prekey id of the peer's bundle that the pending reset started from: a
    /// peer that publishes another one may never accept that reset.
    pub reset_signed_prekey: Option<u32>,
    /// Our sealing public key that the peer's latest decrypted envelope was sealed to:
    /// until it is our current key, messages to the peer carry our identity record
    /// (spec §8.12), so the peer learns the key that replaced the one it uses.
    pub acked_sealing_key: Option<[u8; 32]>,
}

/// Where envelopes to a peer go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The peer's mailbox id.
    pub mailbox: [u8; 32],
    /// The peer's sealing key.
    pub sealing_key: [u8; 32],
}

/// A signed X25519 prekey and the signed ML-KEM-768 prekey published with it.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedPrekeyRecord {
    /// The X25519 prekey's id.
    pub id: u32,
    /// Its secret bytes.
    pub secret: Zeroizing<[u8; 32]>,
    /// The ML-KEM prekey's id.
    pub kem_id: u32,
    /// Its seed.
    pub kem_secret: Zeroizing<[u8; KEM_SEED_LEN]>,
    /// When it was generated (caller's clock, seconds).
    pub created_at: u64,
    /// When a newer signed prekey replaced it, if one did.
    pub superseded_at: Option<u64>,
}

impl core::fmt::Debug for SignedPrekeyRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Self {
            id,
            secret: _,
            kem_id,
            kem_secret: _,
            created_at,
            superseded_at,
        } = self;
        f.debug_struct("SignedPrekeyRecord")
            .field("id", id)
            .field("kem_id", kem_id)
            .field("created_at", created_at)
            .field("superseded_at", superseded_at)
            .finish_non_exhaustive()
    }
}

/// A client's contact-discovery state for one pinned relay key (spec §9.6.1, §9.7,
/// §9.7.1): what must survive restarts and must not be rolled back.
///
/// Stored **raw** in this version, like the other secrets (see "Secrets at rest" above).
#[derive(Clone, PartialEq, Eq)]
pub struct DiscoveryRecord {
    /// The discovery secret ([`blindrelay::contact::DiscoverySecret::from_bytes`]): the key
    /// the dummy prefixes of every lookup batch are derived from (spec §9.7).
    pub secret: Zeroizing<[u8; 32]>,
    /// The generation mark ([`blindrelay::contact::GenerationMark::to_bytes`]): the highest
    /// salt generation accepted from this relay key and when it was first accepted (spec
    /// §9.6.1).
    pub mark: [u8; 13],
    /// The lookup ledger of the current salt generation
    /// ([`blindrelay::contact::LookupLedger::to_bytes`], spec §9.7.1), if a lookup was
    /// planned. It names the user's contacts by their contact ids.
    pub ledger: Option<Vec<u8>>,
}

impl core::fmt::Debug for DiscoveryRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Self {
            secret: _,
            mark,
            ledger,
        } = self;
        f.debug_struct("DiscoveryRecord")
            .field("mark", mark)
            .field("ledger_len", &ledger.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// A storage backend: runs one transaction at a time.
pub trait Store {
    /// The transaction handle the closure receives.
    type Tx<'a>: StoreTx
    where
        Self: 'a;

    /// Runs `f` in one transaction: commits everything it wrote if it returns `Ok` (and
    /// returns only after the commit is durable), writes nothing if it returns `Err`.
    ///
    /// # Errors
    /// The closure's error, or [`Error::Storage`] if the backend fails to begin or commit.
    fn transaction<T, F>(&mut self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Self::Tx<'_>) -> Result<T, Error>;
}

/// The operations of one transaction, shaped by the protocol rather than a generic
/// key-value API, so each backend can do each in one statement.
///
/// # Errors
/// Every method fails with [`Error::Storage`] when the backend does.
#[allow(clippy::missing_errors_doc)]
pub trait StoreTx {
    /// The local party, if created.
    fn local(&mut self) -> Result<Option<LocalRecord>, Error>;
    /// Creates or replaces the local party.
    fn put_local(&mut self, record: &LocalRecord) -> Result<(), Error>;
    /// Allocates the next prekey id (a monotonic counter, never reused, starting at 1).
    fn allocate_prekey_id(&mut self) -> Result<u32, Error>;
    /// Advances the prekey id counter by `by` without allocating (after a restore, so that
    /// new ids do not repeat ids the abandoned timeline published).
    fn skip_prekey_ids(&mut self, by: u32) -> Result<(), Error>;

    /// The peer with this identity.
    fn peer(&mut self, identity: &IdentityPublicKey) -> Result<Option<PeerRecord>, Error>;
    /// The peer bound to this address.
    fn peer_by_address(&mut self, address: &str) -> Result<Option<PeerRecord>, Error>;
    /// Every peer.
    fn peers(&mut self) -> Result<Vec<PeerRecord>, Error>;
    /// Creates or replaces the peer with `record.identity`; if `record.address` is set,
    /// any other peer bound to that address loses it.
    fn put_peer(&mut self, record: &PeerRecord) -> Result<(), Error>;

    /// The sealed sessions with a peer, active first, then the previous ones, newest first.
    fn sessions(&mut self, peer: &IdentityPublicKey) -> Result<Vec<Vec<u8>>, Error>;
    /// Replaces all of a peer's sealed sessions (same order as [`StoreTx::sessions`]).
    fn put_sessions(&mut self, peer: &IdentityPublicKey, sealed: &[Vec<u8>]) -> Result<(), Error>;

    /// The signed prekey with this X25519 id.
    fn signed_prekey(&mut self, id: u32) -> Result<Option<SignedPrekeyRecord>, Error>;
    /// The signed prekey whose ML-KEM prekey has this id.
    fn signed_prekey_by_kem_id(&mut self, kem_id: u32)
        -> Result<Option<SignedPrekeyRecord>, Error>;
    /// Every signed prekey, by increasing id.
    fn signed_prekeys(&mut self) -> Result<Vec<SignedPrekeyRecord>, Error>;
    /// Creates or replaces a signed prekey.
    fn put_signed_prekey(&mut self, record: &SignedPrekeyRecord) -> Result<(), Error>;
    /// Deletes a signed prekey and every replay record scoped to it.
    fn delete_signed_prekey(&mut self, id: u32) -> Result<(), Error>;

    /// An unused one-time X25519 prekey.
    fn one_time_prekey(&mut self, id: u32) -> Result<Option<Zeroizing<[u8; 32]>>, Error>;
    /// Adds a one-time X25519 prekey.
    fn put_one_time_prekey(&mut self, id: u32, secret: &[u8; 32]) -> Result<(), Error>;
    /// Deletes a one-time X25519 prekey (after it was used).
    fn delete_one_time_prekey(&mut self, id: u32) -> Result<(), Error>;
    /// How many one-time X25519 prekeys are left.
    fn one_time_prekey_count(&mut self) -> Result<u64, Error>;
    /// Deletes every one-time prekey of both pools.
    fn delete_all_one_time_prekeys(&mut self) -> Result<(), Error>;

    /// An unused one-time ML-KEM-768 prekey.
    fn one_time_kem_prekey(
        &mut self,
        id: u32,
    ) -> Result<Option<Zeroizing<[u8; KEM_SEED_LEN]>>, Error>;
    /// Adds a one-time ML-KEM-768 prekey.
    fn put_one_time_kem_prekey(
        &mut self,
        id: u32,
        secret: &[u8; KEM_SEED_LEN],
    ) -> Result<(), Error>;
    /// Deletes a one-time ML-KEM-768 prekey.
    fn delete_one_time_kem_prekey(&mut self, id: u32) -> Result<(), Error>;
    /// How many one-time ML-KEM-768 prekeys are left.
    fn one_time_kem_prekey_count(&mut self) -> Result<u64, Error>;

    /// The peer whose accepted initial message had this ephemeral key under this signed
    /// prekey (spec §6.5's replay id).
    fn replay(
        &mut self,
        signed_prekey_id: u32,
        ephemeral: &[u8; 32],
    ) -> Result<Option<IdentityPublicKey>, Error>;
    /// Records an accepted initial message.
    fn put_replay(
        &mut self,
        signed_prekey_id: u32,
        ephemeral: &[u8; 32],
        peer: &IdentityPublicKey,
    ) -> Result<(), Error>;
    /// How many replay records a signed prekey holds.
    fn replay_count(&mut self, signed_prekey_id: u32) -> Result<u64, Error>;

    /// Whether a message with this digest was delivered.
    fn delivered(&mut self, digest: &[u8; 32]) -> Result<bool, Error>;
    /// Records a delivered message's digest (evicting the oldest beyond
    /// [`MAX_DELIVERED_DIGESTS`]).
    fn put_delivered(&mut self, digest: &[u8; 32]) -> Result<(), Error>;

    /// The mailbox index: the peer one of whose stored sessions watches this pairwise
    /// mailbox id.
    fn mailbox_peer(&mut self, mailbox: &[u8; 32]) -> Result<Option<IdentityPublicKey>, Error>;
    /// Replaces every entry of the mailbox index that belongs to `peer` with these
    /// capabilities (each keyed by its [`ReadCapability::mailbox`]), kept in this order.
    /// An empty slice removes the peer's entries. The client writes it whenever it saves
    /// the peer's sessions, in the same transaction, with at most
    /// [`MAX_INDEXED_MAILBOXES`] entries per peer.
    fn put_mailboxes(
        &mut self,
        peer: &IdentityPublicKey,
        capabilities: &[ReadCapability],
    ) -> Result<(), Error>;
    /// The entries of `peer` in the mailbox index, in the order [`StoreTx::put_mailboxes`]
    /// wrote them.
    fn peer_mailboxes(&mut self, peer: &IdentityPublicKey) -> Result<Vec<ReadCapability>, Error>;
    /// Every capability of the mailbox index, ordered by mailbox id.
    fn mailbox_capabilities(&mut self) -> Result<Vec<ReadCapability>, Error>;

    /// The contact-discovery state of the pinned relay key `relay_key` (its Ed25519
    /// public key).
    fn discovery(&mut self, relay_key: &[u8; 32]) -> Result<Option<DiscoveryRecord>, Error>;
    /// Creates or replaces the contact-discovery state of `relay_key`.
    fn put_discovery(
        &mut self,
        relay_key: &[u8; 32],
        record: &DiscoveryRecord,
    ) -> Result<(), Error>;

    /// The `ch2` ids kept for the oracle `oracle_key` (its Ed25519 public key) at
    /// `key_epoch` (spec §13.4), one per `ch1` id in `contacts`, in order: `None` where
    /// none is kept.
    fn ch2_ids(
        &mut self,
        oracle_key: &[u8; 32],
        key_epoch: u32,
        contacts: &[[u8; 32]],
    ) -> Result<Vec<Option<[u8; 32]>>, Error>;
    /// The newest key epoch `ch2` ids are kept for under `oracle_key`, and how many; `None`
    /// if none are kept.
    fn ch2_epoch(&mut self, oracle_key: &[u8; 32]) -> Result<Option<(u32, usize)>, Error>;
    /// Keeps the `(ch1 id, ch2 id)` pairs for `oracle_key` at `key_epoch`, and forgets
    /// every id kept for `oracle_key` at an earlier key epoch: no lookup can use them again
    /// (key epochs only grow, spec §13.3).
    fn put_ch2_ids(
        &mut self,
        oracle_key: &[u8; 32],
        key_epoch: u32,
        pairs: &[([u8; 32], [u8; 32])],
    ) -> Result<(), Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_secret_records_is_redacted() {
        let local = LocalRecord {
            identity_seed: Zeroizing::new([0xa1; 32]),
            sealing_secret: Zeroizing::new([0xa2; 32]),
            sealing_created_at: 0,
            previous_sealing: Some((Zeroizing::new([0xa3; 32]), 5)),
            mailbox: [3; 32],
            public_capability: Some(Zeroizing::new([0xa5; 32])),
            storage_key: Zeroizing::new([0xa4; 32]),
        };
        let spk = SignedPrekeyRecord {
            id: 1,
            secret: Zeroizing::new([0xb1; 32]),
            kem_id: 2,
            kem_secret: Zeroizing::new([0xb2; KEM_SEED_LEN]),
            created_at: 0,
            superseded_at: None,
        };
        let discovery = DiscoveryRecord {
            secret: Zeroizing::new([0xc1; 32]),
            mark: [0; 13],
            ledger: Some(vec![0xc2; 64]),
        };
        for (text, secrets) in [
            (format!("{local:?}"), [0xa1u8, 0xa2, 0xa3, 0xa5]),
            (format!("{spk:?}"), [0xb1, 0xb2, 0xb2, 0xb2]),
            (format!("{discovery:?}"), [0xc1, 0xc2, 0xc2, 0xc2]),
        ] {
            for b in secrets {
                // Debug prints arrays as decimal lists.
                assert!(!text.contains(&format!("{b}, {b}, {b}")), "{text}");
            }
            assert!(text.ends_with(".. }"), "{text}");
        }
    }
}
