//! The relay's storage (spec §12.8): one trait shaped by the protocol's operations, not a
//! generic key-value API, so each backend does each operation in one transaction with the
//! isolation it needs.
//!
//! Everything the store holds is what spec §11 allows a relay to hold: opaque mailbox ids,
//! signed bundles as their owners published them, one-time public keys, sealed envelopes
//! (already padded by the sender), 16-byte match tags with their opaque records and salt
//! generations, closed commit slots (a mailbox id and the time of the commit, never the
//! token, spec §15.6), and the times the retention rules need. No store operation takes a sender,
//! an address or a clock reading other than the `now` its caller passes.
//!
//! Backends: [`sqlite`] (the default: embedded, WAL, one writer thread with group commit)
//! and [`postgres`] (scale-out). Both pass the same suite (`tests/store_suite.rs`).

use core::future::Future;

pub mod postgres;
pub mod sqlite;

/// A 32-byte opaque id: a mailbox id (spec §7.5), which is also a bundle owner's id.
pub type Id = [u8; 32];

/// One-time prekeys to add: `(key id, encoded record)` in upload order.
pub type KeyRecords = Vec<(u32, Vec<u8>)>;

/// A published bundle as the store keeps it: the encoded signed publication (spec §12.3),
/// opaque to the store, with the two times the store enforces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleRecord {
    /// Seconds since the Unix epoch at which the owner signed the publication.
    pub issued_at: u64,
    /// Seconds since the Unix epoch after which the publication must not be handed out.
    pub expires_at: u64,
    /// The encoded publication, byte for byte as the owner uploaded it.
    pub bytes: Vec<u8>,
}

/// The two kinds of one-time prekey a pool holds (spec §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// One-time X25519 prekeys.
    X25519,
    /// One-time ML-KEM-768 prekeys.
    Kem,
}

/// How many one-time prekeys of each kind an owner has left on the relay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolCounts {
    /// One-time X25519 prekeys not yet handed out.
    pub x25519: u64,
    /// One-time ML-KEM prekeys not yet handed out.
    pub kem: u64,
}

/// What one claim took from the store, atomically.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The owner's current publication.
    pub bundle: BundleRecord,
    /// One one-time X25519 prekey (its encoded record), removed from the pool, or `None`
    /// when the pool was empty.
    pub x25519: Option<Vec<u8>>,
    /// One one-time ML-KEM prekey (its encoded record), removed from the pool, or `None`.
    pub kem: Option<Vec<u8>>,
}

/// One stored envelope as a fetch returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Its position in its mailbox: per mailbox, increasing, starting at 1, never reused
    /// while the mailbox exists.
    pub seq: u64,
    /// The envelope, byte for byte as deposited.
    pub envelope: Vec<u8>,
}

/// One contact-discovery entry (spec §9.8) as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The 16-byte match tag.
    pub tag: [u8; 16],
    /// The opaque record the registrant published with it.
    pub record: Vec<u8>,
}

/// One value of a dumped row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An integer column.
    Int(i64),
    /// A byte column.
    Bytes(Vec<u8>),
    /// A text column.
    Text(String),
    /// SQL NULL.
    Null,
}

/// One table of a [`Store::dump`]: every row the backend holds, for the relay-view test and
/// for the demo's "what the operator could hand over" listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// Its column names.
    pub columns: Vec<String>,
    /// Its rows, each as many values as there are columns.
    pub rows: Vec<Vec<Value>>,
}

/// Why a store operation was refused. Each maps to one relay error code (spec §12.10).
#[derive(Debug, PartialEq, Eq)]
pub enum StoreError {
    /// A publication not newer than the stored one (`issued_at` not greater).
    Stale,
    /// No bundle is published for this owner (or it expired).
    NoBundle,
    /// The pool would exceed [`crate::limits::MAX_ONE_TIME_KEYS`]; nothing was added.
    PoolFull,
    /// The mailbox would exceed [`crate::limits::MAX_MAILBOX_ENVELOPES`] or
    /// [`crate::limits::MAX_MAILBOX_BYTES`]; nothing was stored.
    MailboxFull,
    /// The owner would hold more than [`crate::limits::MAX_REGISTRATIONS_PER_OWNER`]
    /// registrations; nothing was stored.
    TooManyRegistrations,
    /// The bucket would hold more entries than a lookup response can carry
    /// (`MAX_BUCKET_ENTRIES`); nothing was stored.
    BucketFull,
    /// The mailbox's commit slot is already closed by an earlier commit (spec §15.6);
    /// nothing was stored.
    CommitSlotTaken,
    /// A deposit to a mailbox whose commit slot a commit has closed (spec §15.6); nothing
    /// was stored.
    EpochClosed,
    /// The backend failed (I/O, connection, corruption). The message is for the operator's
    /// log and never contains stored bytes.
    Backend(String),
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Stale => f.write_str("publication not newer than the stored one"),
            Self::NoBundle => f.write_str("no bundle published"),
            Self::PoolFull => f.write_str("one-time prekey pool full"),
            Self::MailboxFull => f.write_str("mailbox full"),
            Self::TooManyRegistrations => f.write_str("too many registrations"),
            Self::BucketFull => f.write_str("discovery bucket full"),
            Self::CommitSlotTaken => f.write_str("commit slot already taken"),
            Self::EpochClosed => f.write_str("epoch closed by a commit"),
            Self::Backend(m) => write!(f, "storage backend: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The relay's storage. Every method is one atomic operation: it either happens whole and is
/// durable when the future resolves `Ok`, or it changes nothing.
///
/// `now` is seconds since the Unix epoch, passed by the caller so tests control time.
pub trait Store: Send + Sync + 'static {
    /// Publishes or replaces `owner`'s bundle. Refused with [`StoreError::Stale`] unless
    /// `record.issued_at` is greater than the stored one's. When `reset_pool` is set the
    /// owner's one-time prekeys are deleted in the same transaction (the identity changed,
    /// so they can no longer be verified).
    fn put_bundle(
        &self,
        owner: Id,
        record: BundleRecord,
        reset_pool: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The owner's current publication, if any (expired ones included: the caller decides).
    fn get_bundle(
        &self,
        owner: Id,
    ) -> impl Future<Output = Result<Option<BundleRecord>, StoreError>> + Send;

    /// Adds one-time prekeys `(key id, encoded record)` of both kinds to `owner`'s pool, all
    /// or none, in one transaction. A key whose id is already in the pool replaces it (and
    /// becomes the newest). Refused with [`StoreError::NoBundle`] unless the stored
    /// publication is the one the keys were verified against (`issued_at` equal), so a
    /// republication under a new identity between the check and this call cannot let keys
    /// of the old identity in; [`StoreError::PoolFull`] if either pool would exceed its
    /// maximum. Returns the counts after the upload.
    fn add_one_time_keys(
        &self,
        owner: Id,
        issued_at: u64,
        x25519: Vec<(u32, Vec<u8>)>,
        kem: Vec<(u32, Vec<u8>)>,
    ) -> impl Future<Output = Result<PoolCounts, StoreError>> + Send;

    /// Claims `owner`'s bundle: returns the publication and removes at most one one-time
    /// prekey of each kind (the oldest uploaded first), atomically, so that no key is ever
    /// handed out twice, even under concurrent claims or a crash. `None` when no bundle is
    /// published or it expired (`now >= expires_at`).
    fn claim(
        &self,
        owner: Id,
        now: u64,
    ) -> impl Future<Output = Result<Option<Claimed>, StoreError>> + Send;

    /// How many one-time prekeys of each kind `owner` has left.
    fn pool_counts(&self, owner: Id)
        -> impl Future<Output = Result<PoolCounts, StoreError>> + Send;

    /// Deletes everything `owner` published: bundle, one-time prekeys, registrations.
    /// Returns whether anything was deleted.
    fn delete_owner(&self, owner: Id) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores `envelope` in `mailbox`, durably before the future resolves, and returns its
    /// seq. It expires at `now + ENVELOPE_RETENTION_SECS`. Refused, with nothing stored,
    /// with [`StoreError::EpochClosed`] if the mailbox's commit slot is closed (checked in
    /// the same transaction, so no deposit lands after a commit), and with
    /// [`StoreError::MailboxFull`] if the mailbox's quota would be exceeded.
    fn deposit(
        &self,
        mailbox: Id,
        envelope: Vec<u8>,
        now: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// A blind commit (spec §15.6), in one transaction: closes `mailbox`'s commit slot
    /// (stores the mailbox id and `now`, nothing else) and deposits `envelope` in it as
    /// [`deposit`](Self::deposit) would (same seq, quota and retention), returning its seq.
    /// Refused, with nothing stored and the slot left as it was, with
    /// [`StoreError::CommitSlotTaken`] if the slot is already closed, and with
    /// [`StoreError::MailboxFull`] if the quota would be exceeded. Of concurrent commits
    /// to one mailbox exactly one succeeds; a deposit racing a commit is stored before it
    /// or refused. A closed slot is deleted by [`sweep`](Self::sweep) once it is
    /// `ENVELOPE_RETENTION_SECS` old, when the commit's envelope (the last of its epoch)
    /// expires too.
    fn commit(
        &self,
        mailbox: Id,
        envelope: Vec<u8>,
        now: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Up to `limit` unexpired envelopes of `mailbox` with seq greater than `after`, in seq
    /// order.
    fn fetch(
        &self,
        mailbox: Id,
        after: u64,
        limit: usize,
        now: u64,
    ) -> impl Future<Output = Result<Vec<Stored>, StoreError>> + Send;

    /// Deletes every envelope of `mailbox` with seq at most `up_to`, durably; returns how
    /// many were deleted. An acknowledged envelope never comes back.
    fn ack(&self, mailbox: Id, up_to: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Retention (spec §12.9): deletes envelopes and bundles (with their pools) expired at
    /// `now` (`now >= expires_at`), mailboxes left empty and idle for the retention
    /// period, and commit slots closed at least the retention period ago
    /// (`closed_at + retention <= now`). Returns how many rows were deleted.
    fn sweep(&self, now: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Registers `owner` as discoverable under `entry.tag` in bucket `bucket` of salt
    /// generation `generation` (spec §9.9: the generation of the parameters the registration
    /// was made and checked under), replacing a registration of the same owner and tag in
    /// that generation. Refused with [`StoreError::TooManyRegistrations`] beyond the
    /// per-owner maximum, and with [`StoreError::BucketFull`] when the bucket would hold
    /// more entries than a lookup response carries (so filling a bucket can block
    /// registrations in it, never lookups). Both counts are of `generation` only: entries of
    /// another generation are useless to its lookups (their tags were derived under another
    /// salt) and must not keep an owner from registering again (spec §9.9) or fill a
    /// bucket.
    fn register(
        &self,
        owner: Id,
        generation: u32,
        bucket: u32,
        entry: Entry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes every registration of `owner`, of every generation; returns how many.
    fn deregister(&self, owner: Id) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Every entry of bucket `bucket` in salt generation `generation`, ordered by tag then
    /// record (deterministic). Entries of other generations are never returned, whether or
    /// not [`drop_generations_before`](Self::drop_generations_before) has removed them yet.
    fn bucket(
        &self,
        generation: u32,
        bucket: u32,
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;

    /// Retention of discovery registrations (spec §12.8): deletes every registration of a
    /// salt generation below `generation`; returns how many. The relay calls it with its
    /// current generation from its periodic sweeper, so registrations made under earlier
    /// parameters are gone within one sweep interval of a new generation. Generations only
    /// grow (clients refuse a rollback, spec §9.6.1), so only lower ones are dead; a newer
    /// one is never touched, which keeps relay nodes sharing one store safe while some of
    /// them still serve the previous generation.
    fn drop_generations_before(
        &self,
        generation: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Every table and row the backend holds (spec §11: what an operator could hand over).
    fn dump(&self) -> impl Future<Output = Result<Vec<Table>, StoreError>> + Send;
}
