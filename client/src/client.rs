//! The client: one transaction per step over a [`Store`], routing of incoming envelopes,
//! prekey management, and recovery from rolled-back or desynchronised sessions.

mod discovery;

pub use discovery::{Ch2Ids, Ch2Pending};

use crate::core;
use crate::store::{
    LocalRecord, PeerRecord, Route, SignedPrekeyRecord, Store, StoreTx, MAX_INDEXED_MAILBOXES,
};
use crate::Error;
use blindrelay::codec::{Decode, Encode, MessageType};
use blindrelay::envelope::{
    open, seal, Envelope, Opened, PairwiseEnvelope, RelayEnvelope, MAX_PAIRWISE_PLAINTEXT_LEN,
    SEALING_KEY_GRACE, SEALING_KEY_MAX_AGE,
};
use blindrelay::keys::{
    KemPrekeySecret, OneTimeKemPrekeySecret, OneTimePrekeySecret, SealingKeySecret,
    SignedPrekeySecret,
};
use blindrelay::relay::Publication;
use blindrelay::route::ReadCapability;
use blindrelay::wire::{KemPrekeyPublic, PrekeyKind, X25519PrekeyPublic, IDENTITY_RECORD_LEN};
use blindrelay::{
    BundleKeys, IdentityKeyPair, IdentityPublicKey, IdentityRecord, MemoryPrekeyStore, Position,
    PrekeyBundle, Session, StorageKey, VerifiedBundle,
};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

/// How many sessions per peer are kept besides the active one, for messages still in
/// flight on them when a newer session became active (a reset, or the peer's new
/// handshake). Older ones are dropped.
pub const MAX_PREVIOUS_SESSIONS: usize = blindrelay::session::MAX_PREVIOUS_SESSIONS;

/// The client layer's framing of every plaintext it encrypts: one kind byte, then the
/// content. `0x00`: an application message. `0x01`: a session reset (no content), sent as
/// the first message of the new session.
pub const FRAME_MESSAGE: u8 = 0x00;
/// See [`FRAME_MESSAGE`].
pub const FRAME_RESET: u8 = 0x01;
/// An application message preceded by the sender's current identity record (192 bytes,
/// spec §5.2): sent while the sender's previous sealing key is in its grace period, so
/// that peers learn the new sealing key from the messages they receive (spec §8.12).
pub const FRAME_MESSAGE_WITH_RECORD: u8 = 0x02;

/// The longest application message [`Client::send`] takes: the pairwise envelope's limit
/// (`MAX_PAIRWISE_PLAINTEXT_LEN`, 65535, one less than the core's plaintext limit, since
/// the padded plaintext must fit it) less this layer's frame byte and the identity record
/// a message may carry (spec §8.12), so that whether a message fits never depends on the
/// kind of envelope or the state of a key rotation.
pub const MAX_MESSAGE_LEN: usize = MAX_PAIRWISE_PLAINTEXT_LEN - 1 - IDENTITY_RECORD_LEN;

/// Domain label of the delivered-message digest of a sealed envelope: over the sender's
/// identity and the inner message.
const DELIVERED_LABEL: &[u8] = b"blindrelay-client v1 delivered";

/// Domain label of the delivered-message digest of a pairwise envelope: over the sender's
/// identity (from the mailbox index) and the envelope's bytes after its mailbox id.
const DELIVERED_PAIRWISE_LABEL: &[u8] = b"blindrelay-client v1 delivered pairwise";

/// Offset of the bytes after the mailbox id in a pairwise envelope (version, type, mailbox).
const PAIRWISE_AFTER_MAILBOX: usize = 2 + 32;

/// Where the client gets a peer's current prekey bundle (from the relay, typically), by
/// the application's address of the peer.
pub trait BundleSource {
    /// The current bundle of `address`, or `None` if there is none.
    ///
    /// # Errors
    /// Whatever the source fails with (the step is then rolled back).
    fn bundle(&mut self, address: &str) -> Result<Option<PrekeyBundle>, Error>;
}

impl<F> BundleSource for F
where
    F: FnMut(&str) -> Option<PrekeyBundle>,
{
    fn bundle(&mut self, address: &str) -> Result<Option<PrekeyBundle>, Error> {
        Ok(self(address))
    }
}

/// A delivered application message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The sender, authenticated by the session that decrypted the message.
    pub sender: IdentityPublicKey,
    /// The application's address bound to the sender, if any.
    pub address: Option<String>,
    /// The message.
    pub plaintext: Vec<u8>,
    /// Whether this message started a new session (a first message or a peer's reset).
    pub new_session: bool,
    /// Where the message stands in the peer's sending order in its session (sort by it to
    /// show messages in the order sent); `None` for the message that started a session.
    pub position: Option<Position>,
}

/// What [`Client::receive`] did with an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A new application message; it is committed as delivered.
    Delivered(Received),
    /// This exact message was delivered before; nothing changed.
    Duplicate {
        /// The claimed sender.
        sender: IdentityPublicKey,
    },
    /// An authenticated control message of this layer (a peer's session reset, or a
    /// framing kind this version does not know); nothing to show.
    Control {
        /// The sender.
        sender: IdentityPublicKey,
        /// The frame kind, `None` for an empty plaintext.
        kind: Option<u8>,
    },
    /// The envelope names a peer this client has had a session with, but no usable
    /// session decrypts it: a desynchronised or rolled-back session, or forged input.
    Undecryptable {
        /// The claimed sender.
        sender: IdentityPublicKey,
        /// The envelope of a session reset to send to the peer, if this client started
        /// one (at most one unanswered reset per peer, unless the local sessions are
        /// stale). The new session is already committed.
        reset: Option<Vec<u8>>,
    },
}

/// The signed public records of one one-time X25519 prekey and one one-time ML-KEM-768
/// prekey, to upload to the relay's pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneTimePrekeys {
    /// The one-time X25519 prekey.
    pub x25519: X25519PrekeyPublic,
    /// The one-time ML-KEM-768 prekey.
    pub kem: KemPrekeyPublic,
}

/// When [`Client::maintain_prekeys`] rotates and retires signed prekeys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrekeyPolicy {
    /// Rotate once the current signed prekey holds this many replay records (bounds the
    /// replay cache).
    pub max_replays: u64,
    /// Rotate once the current signed prekey is this old (seconds).
    pub max_age: u64,
    /// Retire a superseded signed prekey (and drop its replay records) this long
    /// (seconds) after it was superseded: first messages to the old bundle still in
    /// flight are accepted until then.
    pub grace: u64,
    /// Rotate the sealing key once it is this old (seconds; spec §8.12), and once the
    /// previous one is erased (at most two live keys).
    pub sealing_max_age: u64,
    /// Erase the previous sealing key this long (seconds) after it was replaced.
    pub sealing_grace: u64,
}

impl Default for PrekeyPolicy {
    /// 1000 sessions, 7 days, 14 days; the sealing key per spec §8.12 (30 days, 7 days).
    fn default() -> Self {
        Self {
            max_replays: 1000,
            max_age: 7 * 86_400,
            grace: 14 * 86_400,
            sealing_max_age: SEALING_KEY_MAX_AGE,
            sealing_grace: SEALING_KEY_GRACE,
        }
    }
}

/// What [`Client::maintain_prekeys`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Maintenance {
    /// The id of the new signed prekey, if it rotated: publish [`Client::bundle`] again.
    pub rotated: Option<u32>,
    /// The ids of the signed prekeys retired.
    pub retired: Vec<u32>,
    /// Whether the sealing key rotated: publish [`Client::bundle`] again.
    pub sealing_rotated: bool,
    /// Whether the previous sealing key was erased (its grace period is over).
    pub sealing_erased: bool,
}

/// An end-to-end messaging client over a [`Store`].
pub struct Client<S: Store> {
    store: S,
    identity: IdentityKeyPair,
    sealing: SealingKeySecret,
    previous_sealing: Option<SealingKeySecret>,
    mailbox: [u8; 32],
    public_capability: Option<ReadCapability>,
    record: IdentityRecord,
    storage_key: StorageKey,
}

impl<S: Store> std::fmt::Debug for Client<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("identity", self.identity.public())
            .finish_non_exhaustive()
    }
}

/// The sessions with a peer as loaded from the store.
struct Loaded {
    sessions: Vec<Session>,
    /// Some row was older than the peer's high-water mark, did not open, or rows are
    /// missing: the stored sessions were restored from an older copy. None is used.
    stale: bool,
}

/// The parts of a client a transaction needs (borrowed apart from the store).
struct Ctx<'a> {
    identity: &'a IdentityKeyPair,
    record: &'a IdentityRecord,
    storage_key: &'a StorageKey,
    /// Our current sealing public key.
    sealing_public: [u8; 32],
}

impl Ctx<'_> {
    fn load(&self, tx: &mut impl StoreTx, peer: &PeerRecord) -> Result<Loaded, Error> {
        let rows = tx.sessions(&peer.identity)?;
        let mut sessions = Vec::with_capacity(rows.len());
        let mut stale = rows.is_empty() && peer.high_water > 0;
        for (slot, row) in rows.iter().enumerate() {
            let slot =
                u8::try_from(slot).map_err(|_| Error::Storage("too many sessions".into()))?;
            match core::open_session(
                self.storage_key,
                self.identity.public(),
                &peer.identity,
                slot,
                row,
            ) {
                // Every save writes all rows at one fresh epoch: anything else is a row
                // from another save (an older copy, or another timeline).
                Ok((s, epoch)) if epoch == peer.high_water => sessions.push(s),
                _ => stale = true,
            }
        }
        if stale {
            sessions.clear();
        }
        Ok(Loaded { sessions, stale })
    }

    /// Seals every session of the peer at a new epoch and raises its high-water mark to it.
    ///
    /// The epoch advances by a random step of 1 to 2³²: two timelines forked by a
    /// whole-store restore then never issue the same epoch, so rows restored later from
    /// the abandoned timeline are still told apart (they must equal the mark exactly).
    fn save(
        &self,
        tx: &mut impl StoreTx,
        rng: &mut (impl CryptoRng + RngCore),
        peer: &mut PeerRecord,
        sessions: &[Session],
    ) -> Result<(), Error> {
        let step = 1 + u64::from(rng.next_u32());
        let epoch = peer
            .high_water
            .checked_add(step)
            .ok_or(Error::Storage("epoch exhausted".into()))?;
        let mut rows = Vec::with_capacity(sessions.len());
        for (slot, s) in sessions.iter().enumerate() {
            let slot = u8::try_from(slot).map_err(|_| Error::ApiMisuse("too many sessions"))?;
            rows.push(core::seal_session(rng, self.storage_key, s, slot, epoch)?);
        }
        tx.put_sessions(&peer.identity, &rows)?;
        // The mailbox index: what the kept sessions watch, then the peer's mailboxes
        // watched before that no kept session watches any more, newest first, up to the
        // bound. Those still name the peer when it writes from a state this client no
        // longer has (its session rolled back, or ours dropped as stale or forgotten):
        // nothing decrypts, and the failure path resets, as for a sealed envelope.
        let mut index = watched_by(sessions);
        let mut seen: std::collections::BTreeSet<[u8; 32]> =
            index.iter().map(ReadCapability::mailbox).collect();
        for old in tx.peer_mailboxes(&peer.identity)? {
            if index.len() >= MAX_INDEXED_MAILBOXES {
                break;
            }
            if seen.insert(old.mailbox()) {
                index.push(old);
            }
        }
        index.truncate(MAX_INDEXED_MAILBOXES);
        tx.put_mailboxes(&peer.identity, &index)?;
        peer.high_water = epoch;
        tx.put_peer(peer)
    }
}

/// Every pairwise mailbox capability the sessions watch, deduplicated by mailbox id (at
/// most sessions × `MAX_WATCHED_MAILBOXES`).
fn watched_by(sessions: &[Session]) -> Vec<ReadCapability> {
    let mut seen = std::collections::BTreeSet::new();
    sessions
        .iter()
        .flat_map(Session::receiving_capabilities)
        .filter(|c| seen.insert(c.mailbox()))
        .collect()
}

/// Whom [`Client::send`] and [`Client::send_to`] address.
#[derive(Clone, Copy)]
enum Target<'a> {
    Address(&'a str),
    Identity(&'a IdentityPublicKey),
}

/// A peer record for an identity seen for the first time.
fn new_peer(identity: IdentityPublicKey) -> PeerRecord {
    PeerRecord {
        identity,
        address: None,
        route: None,
        high_water: 0,
        reset_pending: false,
        reset_signed_prekey: None,
        acked_sealing_key: None,
    }
}

fn route_of(bundle: &PrekeyBundle) -> Route {
    Route {
        mailbox: bundle.mailbox,
        sealing_key: bundle.sealing_key,
    }
}

fn framed(kind: u8, content: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut v = Zeroizing::new(Vec::with_capacity(1 + content.len()));
    v.push(kind);
    v.extend_from_slice(content);
    v
}

fn fetch(source: &mut impl BundleSource, address: &str) -> Result<PrekeyBundle, Error> {
    source.bundle(address)?.ok_or_else(|| Error::NoBundle {
        address: address.to_string(),
    })
}

/// Puts `new` first and keeps at most [`MAX_PREVIOUS_SESSIONS`] of `old` after it.
fn with_new_active(new: Session, old: Vec<Session>) -> Vec<Session> {
    let mut v = Vec::with_capacity(1 + MAX_PREVIOUS_SESSIONS);
    v.push(new);
    v.extend(old.into_iter().take(MAX_PREVIOUS_SESSIONS));
    v
}

impl<S: Store> Client<S> {
    /// Creates a new local party in `store`: identity, sealing key, mailbox, storage key
    /// and a first signed prekey (created at `now`, seconds on the caller's clock).
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if the store already holds an identity; [`Error::Storage`].
    pub fn create(
        rng: &mut (impl CryptoRng + RngCore),
        mut store: S,
        now: u64,
    ) -> Result<Self, Error> {
        // The public mailbox is the hash of a secret read capability (spec §8.9): the
        // capability proves read access to the relay, the id is published.
        let capability = ReadCapability::generate(rng);
        let mut record = LocalRecord {
            identity_seed: Zeroizing::new([0u8; 32]),
            sealing_secret: Zeroizing::new([0u8; 32]),
            sealing_created_at: now,
            previous_sealing: None,
            mailbox: capability.mailbox(),
            public_capability: Some(Zeroizing::new(capability.to_bytes())),
            storage_key: Zeroizing::new([0u8; 32]),
        };
        rng.fill_bytes(record.identity_seed.as_mut());
        rng.fill_bytes(record.sealing_secret.as_mut());
        rng.fill_bytes(record.storage_key.as_mut());
        store.transaction(|tx| {
            if tx.local()?.is_some() {
                return Err(Error::ApiMisuse("the store already holds an identity"));
            }
            tx.put_local(&record)?;
            new_signed_prekey(tx, rng, now)?;
            Ok(())
        })?;
        Ok(Self::from_record(store, &record))
    }

    /// Opens the local party stored in `store` (after a restart).
    ///
    /// # Errors
    /// [`Error::NoIdentity`] if the store holds none; [`Error::Storage`].
    pub fn open(mut store: S) -> Result<Self, Error> {
        let record = store
            .transaction(|tx| tx.local())?
            .ok_or(Error::NoIdentity)?;
        let mut client = Self::from_record(store, &record);
        client.reindex_mailboxes_if_empty()?;
        Ok(client)
    }

    /// Rebuilds the mailbox index from the stored sessions when it is empty although
    /// sessions exist (a SQLite file migrated from schema 1). Every session watches at
    /// least one mailbox, so an empty index with sessions is never the result of a save.
    fn reindex_mailboxes_if_empty(&mut self) -> Result<(), Error> {
        let (store, ctx, ..) = self.split();
        store.transaction(|tx| {
            if !tx.mailbox_capabilities()?.is_empty() {
                return Ok(());
            }
            for peer in tx.peers()? {
                if peer.high_water == 0 {
                    continue;
                }
                let loaded = ctx.load(tx, &peer)?;
                tx.put_mailboxes(&peer.identity, &watched_by(&loaded.sessions))?;
            }
            Ok(())
        })
    }

    fn from_record(store: S, r: &LocalRecord) -> Self {
        let identity = IdentityKeyPair::from_seed(&r.identity_seed);
        let sealing = SealingKeySecret::from_bytes(*r.sealing_secret);
        let record = IdentityRecord::create(&identity, r.mailbox, &sealing);
        Self {
            store,
            identity,
            sealing,
            previous_sealing: r
                .previous_sealing
                .as_ref()
                .map(|(s, _)| SealingKeySecret::from_bytes(**s)),
            mailbox: r.mailbox,
            public_capability: r
                .public_capability
                .as_ref()
                .map(|c| ReadCapability::from_bytes(**c)),
            record,
            storage_key: StorageKey::from_bytes(*r.storage_key),
        }
    }

    /// This party's public identity.
    #[must_use]
    pub fn identity(&self) -> &IdentityPublicKey {
        self.identity.public()
    }

    /// Certifies a blind-group MLS signature key with this party's identity (spec §15.2),
    /// so group members see the same identity as 1:1 peers (and safety numbers vouch for
    /// both). Pass it to `blindrelay_groups::Member::with_certifier`.
    #[must_use]
    pub fn certify_group_key(
        &self,
        mls_signature_key: &[u8; 32],
    ) -> blindrelay::group::GroupCredential {
        blindrelay::group::certify_group_key(&self.identity, mls_signature_key)
    }

    /// This party's public mailbox id (published in its bundle and identity record): the
    /// mailbox of [`Client::public_capability`]. Only first messages of a conversation
    /// arrive there; see [`Client::watched_mailboxes`] for all mailboxes to fetch.
    #[must_use]
    pub fn mailbox(&self) -> &[u8; 32] {
        &self.mailbox
    }

    /// The read capability of the public mailbox (spec §8.9), to present to the relay when
    /// fetching or acknowledging it; its [`mailbox`](ReadCapability::mailbox) is
    /// [`Client::mailbox`]. Keep it secret (it is a bearer token for the relay). `None`
    /// only for a party created before capabilities existed (a SQLite file migrated from
    /// schema 1), whose published mailbox is a random id with no capability.
    #[must_use]
    pub fn public_capability(&self) -> Option<ReadCapability> {
        self.public_capability
            .as_ref()
            .map(|c| ReadCapability::from_bytes(c.to_bytes()))
    }

    /// Every mailbox to fetch from the relay, as read capabilities (each one's
    /// [`mailbox`](ReadCapability::mailbox) is the id): the public capability first, then
    /// every pairwise mailbox watched by every kept session of every peer (the current and
    /// next receiving chains and the earlier chains still remembered, spec §8.10), without
    /// duplicates, read from the store's mailbox index.
    ///
    /// The set changes whenever a session is saved: after every delivered message (a
    /// message on a new chain rotates the mailboxes), every send that starts a session,
    /// every reset. Call it again after each step that returned an envelope or an outcome
    /// other than an error, and fetch what it names; envelopes left in a mailbox that
    /// drops out of the set are no longer decryptable by any kept session.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn watched_mailboxes(&mut self) -> Result<Vec<ReadCapability>, Error> {
        let pairwise = self.store.transaction(|tx| tx.mailbox_capabilities())?;
        let public = self.public_capability();
        let public_id = public.as_ref().map(ReadCapability::mailbox);
        let mut out = Vec::with_capacity(1 + pairwise.len());
        out.extend(public);
        out.extend(
            pairwise
                .into_iter()
                .filter(|c| Some(c.mailbox()) != public_id),
        );
        Ok(out)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (for tests and maintenance; the client keeps no state outside it
    /// except the local keys).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    fn split(
        &mut self,
    ) -> (
        &mut S,
        Ctx<'_>,
        &IdentityKeyPair,
        &SealingKeySecret,
        &[u8; 32],
    ) {
        let Self {
            store,
            identity,
            sealing,
            previous_sealing: _,
            mailbox,
            public_capability: _,
            record,
            storage_key,
        } = self;
        (
            store,
            Ctx {
                identity,
                record,
                storage_key,
                sealing_public: sealing.public_key(),
            },
            identity,
            sealing,
            mailbox,
        )
    }

    /// Encrypts `plaintext` for the peer at `address` and returns the envelope to hand to
    /// the relay. The new session state is committed before this returns (so a crash can
    /// never send twice under one state), and the envelope exists only if the commit did.
    ///
    /// Routing (spec §8.7, §8.11): while the active session is pending (the first flight
    /// of a session this client started, including a reset, until a reply decrypts), the
    /// envelope is an initial message sealed with HPKE to the peer's public mailbox (type
    /// `0x04`); afterwards it is a pairwise envelope (type `0x08`) from
    /// [`Session::seal_pairwise`], addressed to the session's current pairwise mailbox,
    /// which needs no route and no bundle.
    ///
    /// Without a usable session (none yet, or the stored ones are stale), starts one from
    /// the peer's bundle. The first bundle seen for an address is trusted (trust on first
    /// use); a later bundle with another identity fails with [`Error::IdentityChanged`].
    /// An address not bound yet is looked up in `source` even if a session with its
    /// identity exists (to bind it); to answer a peer known only by its identity (one that
    /// started a session with us) without a bundle, use [`Client::send_to`].
    ///
    /// # Errors
    /// [`Error::Protocol`]`(MessageTooLarge)` above [`MAX_MESSAGE_LEN`];
    /// [`Error::NoBundle`], [`Error::IdentityChanged`], [`Error::Protocol`] (bundle
    /// verification, encryption limits), [`Error::Storage`]. Nothing is written on error.
    pub fn send(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        source: &mut impl BundleSource,
        address: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.send_with(rng, source, Target::Address(address), plaintext)
    }

    /// As [`Client::send`], to a peer named by its identity (for example the
    /// [`Received::sender`] of a message, to reply): no address is needed while a usable
    /// session with the peer exists, so a responder answers an initiator without ever
    /// fetching its bundle (the reply goes to the pairwise mailbox the initiator already
    /// watches). Without a usable session, a new one starts from the bundle at the
    /// peer's bound address.
    ///
    /// # Errors
    /// [`Error::UnknownPeer`] if this client has no record of the peer, or must start a
    /// session and has no address for it; otherwise as [`Client::send`].
    pub fn send_to(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        source: &mut impl BundleSource,
        peer: &IdentityPublicKey,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.send_with(rng, source, Target::Identity(peer), plaintext)
    }

    fn send_with(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        source: &mut impl BundleSource,
        target: Target<'_>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        if plaintext.len() > MAX_MESSAGE_LEN {
            return Err(blindrelay::Error::MessageTooLarge.into());
        }
        let (store, ctx, identity, _, _) = self.split();
        store.transaction(|tx| {
            let mut fetched: Option<VerifiedBundle> = None;
            let mut peer = match target {
                Target::Identity(id) => tx.peer(id)?.ok_or(Error::UnknownPeer)?,
                Target::Address(address) => match tx.peer_by_address(address)? {
                    Some(p) => p,
                    None => {
                        let verified = fetch(source, address)?.verify()?;
                        let mut p = tx
                            .peer(verified.identity())?
                            .unwrap_or_else(|| new_peer(*verified.identity()));
                        p.address = Some(address.to_string());
                        p.route = Some(route_of(verified.bundle()));
                        fetched = Some(verified);
                        p
                    }
                },
            };
            let mut sessions = ctx.load(tx, &peer)?.sessions;
            if sessions.is_empty() {
                let address = peer.address.clone().ok_or(Error::UnknownPeer)?;
                let verified = match fetched {
                    Some(v) => v,
                    None => {
                        let bundle = fetch(source, &address)?;
                        if bundle.identity != peer.identity {
                            return Err(Error::IdentityChanged { address });
                        }
                        bundle.verify()?
                    }
                };
                peer.route = Some(route_of(verified.bundle()));
                sessions.push(core::initiate(rng, identity, ctx.record, &verified)?);
                // Every initial message carries our identity record: the peer learns our
                // current sealing key from it.
                peer.acked_sealing_key = Some(ctx.sealing_public);
            }
            let active = sessions
                .first_mut()
                .ok_or(Error::ApiMisuse("no active session"))?;
            let content = if peer.acked_sealing_key != Some(ctx.sealing_public) {
                let mut content = Zeroizing::new(ctx.record.to_bytes());
                content.extend_from_slice(plaintext);
                framed(FRAME_MESSAGE_WITH_RECORD, &content)
            } else {
                framed(FRAME_MESSAGE, plaintext)
            };
            let envelope = if active.is_pending() {
                // The first flight: an initial message, sealed to the public mailbox.
                let route = peer.route.ok_or_else(|| Error::NoBundle {
                    address: peer.address.clone().unwrap_or_default(),
                })?;
                let inner = active.encrypt(rng, &content)?;
                seal(
                    rng,
                    &route.mailbox,
                    &route.sealing_key,
                    identity.public(),
                    &inner,
                )?
                .to_bytes()
            } else if let (true, Some(route)) = (active.next_send_is_probe(), peer.route) {
                // A probe (spec §8.17): the 4th, 8th, 16th, ... message without an answer
                // goes sealed to the public mailbox, which the peer always fetches, so a
                // peer that lost track of our pairwise mailboxes (a restored backup)
                // detects the desynchronisation and resets.
                let inner = active.encrypt(rng, &content)?;
                seal(
                    rng,
                    &route.mailbox,
                    &route.sealing_key,
                    identity.public(),
                    &inner,
                )?
                .to_bytes()
            } else {
                active.seal_pairwise(rng, &content)?
            };
            ctx.save(tx, rng, &mut peer, &sessions)?;
            Ok(envelope)
        })
    }

    /// Binds `address` to the identity of its current bundle, replacing the identity
    /// trusted before (after [`Error::IdentityChanged`] and an out-of-band check). The
    /// next [`Client::send`] starts a session with the new identity.
    ///
    /// # Errors
    /// [`Error::NoBundle`], [`Error::Protocol`] if the bundle does not verify,
    /// [`Error::Storage`].
    pub fn trust_new_identity(
        &mut self,
        source: &mut impl BundleSource,
        address: &str,
    ) -> Result<IdentityPublicKey, Error> {
        self.store.transaction(|tx| {
            let verified = fetch(source, address)?.verify()?;
            let mut p = tx.peer(verified.identity())?.unwrap_or(PeerRecord {
                identity: *verified.identity(),
                address: None,
                route: None,
                high_water: 0,
                reset_pending: false,
                reset_signed_prekey: None,
                acked_sealing_key: None,
            });
            p.address = Some(address.to_string());
            p.route = Some(route_of(verified.bundle()));
            tx.put_peer(&p)?;
            Ok(p.identity)
        })
    }

    /// Opens an envelope from the relay and routes it by its type (see the crate's README
    /// for the state machine).
    ///
    /// A sealed envelope (type `0x04`, to the public mailbox):
    /// - a message already delivered (by digest) is [`Outcome::Duplicate`];
    /// - a ratchet message goes to the sender's sessions, active first;
    /// - an initial message whose `(signed prekey id, ephemeral)` was accepted before is a
    ///   follow-up of that first flight and goes to the sender's sessions; any other is
    ///   accepted as a new session, in one transaction with the deletion of the one-time
    ///   prekeys it used, its replay record and the delivery record;
    /// - if nothing decrypts and the sender is a peer this client has had sessions with,
    ///   the outcome is [`Outcome::Undecryptable`], with a reset when allowed.
    ///
    /// A pairwise envelope (type `0x08`, to a pairwise mailbox): the mailbox index names
    /// the peer whose session watches the mailbox (the envelope names no sender); a
    /// re-delivery already delivered (by digest over the peer and the bytes after the
    /// mailbox) is [`Outcome::Duplicate`]; otherwise the peer's sessions try it, the one
    /// watching the mailbox first; if none decrypts, [`Outcome::Undecryptable`] as above.
    ///
    /// # Errors
    /// [`Error::Protocol`] for an envelope that does not parse or open, a message from an
    /// unknown sender that does not start a session, or a pairwise envelope to a mailbox
    /// no stored session watches (`WrongMailbox`); [`Error::Storage`]. Nothing is written
    /// on error.
    pub fn receive(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        source: &mut impl BundleSource,
        envelope: &[u8],
    ) -> Result<Outcome, Error> {
        match RelayEnvelope::parse(envelope)? {
            RelayEnvelope::Sealed(env) => self.receive_sealed(rng, source, &env),
            RelayEnvelope::Pairwise(p) => self.receive_pairwise(rng, source, &p, envelope),
            // Group envelopes belong to a group's epoch mailbox (spec §15), never to this
            // client's 1:1 mailboxes; the group layer (`blindrelay-groups`) opens them.
            RelayEnvelope::Group(_) => Err(blindrelay::Error::WrongMailbox.into()),
        }
    }

    /// A pairwise envelope: see [`Client::receive`].
    ///
    /// Re-deliveries are recognised by the delivered-message digest (sender from the index,
    /// bytes after the mailbox id), not by the session's `Duplicate`: a session answers
    /// `Duplicate` both for a re-delivery and for new bytes at a used position (a peer
    /// restored to an older state), and only the second needs a reset. So, as for sealed
    /// envelopes, a known digest is `Duplicate` with nothing written, and the session's
    /// `Duplicate` for bytes never delivered takes the failure path like `Decrypt`.
    fn receive_pairwise(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        source: &mut impl BundleSource,
        parsed: &PairwiseEnvelope<'_>,
        envelope: &[u8],
    ) -> Result<Outcome, Error> {
        let mailbox = *parsed.mailbox;
        let after = envelope
            .get(PAIRWISE_AFTER_MAILBOX..)
            .ok_or(blindrelay::Error::Truncated)?;
        let (store, ctx, identity, ..) = self.split();
        store.transaction(|tx| {
            let sender = tx
                .mailbox_peer(&mailbox)?
                .ok_or(blindrelay::Error::WrongMailbox)?;
            let digest = blindrelay::crypto::kdf::sha256(&[
                DELIVERED_PAIRWISE_LABEL,
                &sender.to_array(),
                after,
            ]);
            if tx.delivered(&digest)? {
                return Ok(Outcome::Duplicate { sender });
            }
            let mut peer = tx.peer(&sender)?.ok_or(blindrelay::Error::WrongMailbox)?;
            let loaded = ctx.load(tx, &peer)?;
            let mut sessions = loaded.sessions;
            // The session watching the mailbox first; only it can open the envelope, the
            // others answer `WrongMailbox` before using any key.
            let mut order: Vec<usize> = (0..sessions.len()).collect();
            order.sort_by_key(|&i| !sessions.get(i).is_some_and(|s| s.watches(&mailbox)));
            let hit = order.into_iter().find_map(|i| {
                sessions
                    .get_mut(i)
                    .and_then(|s| s.open_pairwise(envelope).ok())
                    .map(|d| (i, d))
            });
            match hit {
                Some((i, decrypted)) => {
                    if i > 0 && i < sessions.len() {
                        let s = sessions.remove(i);
                        sessions.insert(0, s);
                    }
                    peer.reset_pending = false;
                    let out = outcome(
                        source,
                        &mut peer,
                        decrypted.plaintext,
                        false,
                        Some(decrypted.position),
                    );
                    ctx.save(tx, rng, &mut peer, &sessions)?;
                    tx.put_delivered(&digest)?;
                    Ok(out)
                }
                None => failed(
                    tx,
                    rng,
                    source,
                    &ctx,
                    identity,
                    peer,
                    Loaded {
                        sessions,
                        stale: loaded.stale,
                    },
                ),
            }
        })
    }

    /// A sealed envelope: see [`Client::receive`].
    fn receive_sealed(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        source: &mut impl BundleSource,
        env: &Envelope,
    ) -> Result<Outcome, Error> {
        // Newest key first (spec §8.12, as `open_any`); remember which one opened it.
        let (opened, sealed_to) = match open(&self.sealing, &self.mailbox, env) {
            Ok(o) => (o, self.sealing.public_key()),
            Err(blindrelay::Error::Decrypt) => match &self.previous_sealing {
                Some(previous) => (open(previous, &self.mailbox, env)?, previous.public_key()),
                None => return Err(blindrelay::Error::Decrypt.into()),
            },
            Err(e) => return Err(e.into()),
        };
        let (store, ctx, identity, ..) = self.split();
        let sender = opened.sender;
        let digest =
            blindrelay::crypto::kdf::sha256(&[DELIVERED_LABEL, &sender.to_array(), &opened.inner]);
        store.transaction(|tx| {
            if tx.delivered(&digest)? {
                return Ok(Outcome::Duplicate { sender });
            }
            let peer = tx.peer(&sender)?;
            let loaded = match &peer {
                Some(p) => ctx.load(tx, p)?,
                None => Loaded {
                    sessions: Vec::new(),
                    stale: false,
                },
            };
            let known = peer.as_ref().is_some_and(|p| p.high_water > 0);
            let mut peer = peer.unwrap_or(PeerRecord {
                identity: sender,
                address: None,
                route: None,
                high_water: 0,
                reset_pending: false,
                reset_signed_prekey: None,
                acked_sealing_key: None,
            });

            if opened.inner_type == MessageType::INITIAL_MESSAGE {
                let msg = opened.initial_message()?;
                let h = &msg.header;
                match tx.replay(h.signed_prekey_id, &h.ephemeral)? {
                    Some(p) if p == sender => {} // a follow-up: route to the sessions
                    Some(_) => return Err(blindrelay::Error::ReplayedInitialMessage.into()),
                    None => {
                        let route = Route {
                            mailbox: h.initiator.mailbox,
                            sealing_key: h.initiator.sealing_key,
                        };
                        return match accept_new(tx, identity, &opened) {
                            Ok((session, plaintext)) => {
                                // `accept` verified the initiator's identity record: it
                                // says where to reply (a hint for a peer with an address).
                                learn_route(source, &mut peer, route);
                                let old = if loaded.stale {
                                    Vec::new()
                                } else {
                                    loaded.sessions
                                };
                                peer.reset_pending = false;
                                peer.acked_sealing_key = Some(sealed_to);
                                let out = outcome(source, &mut peer, plaintext, true, None);
                                let sessions = with_new_active(session, old);
                                ctx.save(tx, rng, &mut peer, &sessions)?;
                                tx.put_delivered(&digest)?;
                                Ok(out)
                            }
                            Err(e) if !known => Err(e),
                            Err(_) => failed(tx, rng, source, &ctx, identity, peer, loaded),
                        };
                    }
                }
            }

            let mut sessions = loaded.sessions;
            // A session answering `Duplicate` (the header is the peer's, the position was
            // used) for bytes this client never delivered (their digest is unknown, or the
            // step would have ended above) is either a re-delivery whose digest was
            // evicted, or a peer restored to an older state that re-used a position. Only
            // the second happens without an eviction, and it needs a reset to heal, so it
            // takes the failure path below like `Decrypt` (rate-limited like any other).
            let hit = sessions
                .iter_mut()
                .enumerate()
                .find_map(|(i, s)| core::decrypt(s, &opened.inner).ok().map(|d| (i, d)));
            match hit {
                Some((i, decrypted)) => {
                    // The session that decrypted is the one the peer uses now: it becomes
                    // (or stays) active, the others keep their order. Any authenticated
                    // message also answers a reset this client started.
                    if i > 0 && i < sessions.len() {
                        let s = sessions.remove(i);
                        sessions.insert(0, s);
                    }
                    peer.reset_pending = false;
                    peer.acked_sealing_key = Some(sealed_to);
                    let out = outcome(
                        source,
                        &mut peer,
                        decrypted.plaintext,
                        false,
                        Some(decrypted.position),
                    );
                    ctx.save(tx, rng, &mut peer, &sessions)?;
                    tx.put_delivered(&digest)?;
                    Ok(out)
                }
                None if !known => Err(blindrelay::Error::Decrypt.into()),
                None => failed(
                    tx,
                    rng,
                    source,
                    &ctx,
                    identity,
                    peer,
                    Loaded {
                        sessions,
                        stale: loaded.stale,
                    },
                ),
            }
        })
    }

    /// Resets the session with the peer at `address` on the application's request (for
    /// example when it has had no answer for long): a new handshake from the peer's
    /// current bundle becomes the active session, the old ones are kept as previous, and
    /// the returned envelope (a reset frame) is to be sent to the relay. The same path as
    /// the automatic reset, without its rate limit.
    ///
    /// # Errors
    /// [`Error::NoBundle`]; [`Error::IdentityChanged`] if the bundle has another identity
    /// than the one trusted for `address`; [`Error::Protocol`] if it does not verify;
    /// [`Error::Storage`]. Nothing is written on error.
    pub fn reset(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        source: &mut impl BundleSource,
        address: &str,
    ) -> Result<Vec<u8>, Error> {
        let (store, ctx, identity, ..) = self.split();
        store.transaction(|tx| {
            let bundle = fetch(source, address)?;
            let mut peer = match tx.peer_by_address(address)? {
                Some(p) if p.identity != bundle.identity => {
                    return Err(Error::IdentityChanged {
                        address: address.to_string(),
                    })
                }
                Some(p) => p,
                None => tx.peer(&bundle.identity)?.unwrap_or(PeerRecord {
                    identity: bundle.identity,
                    address: Some(address.to_string()),
                    route: None,
                    high_water: 0,
                    reset_pending: false,
                    reset_signed_prekey: None,
                    acked_sealing_key: None,
                }),
            };
            peer.address = Some(address.to_string());
            let verified = bundle.verify()?;
            let loaded = ctx.load(tx, &peer)?;
            start_reset(tx, rng, &ctx, identity, &mut peer, loaded, &verified)
        })
    }

    /// The high-water mark of a peer's session epochs (0 if none). An application may
    /// keep it outside the database (a keystore) and compare after restoring a backup.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn high_water_mark(&mut self, peer: &IdentityPublicKey) -> Result<u64, Error> {
        self.store
            .transaction(|tx| Ok(tx.peer(peer)?.map_or(0, |p| p.high_water)))
    }

    /// The number of usable stored sessions with a peer (0 if none or stale).
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn session_count(&mut self, peer: &IdentityPublicKey) -> Result<usize, Error> {
        let (store, ctx, ..) = self.split();
        store.transaction(|tx| match tx.peer(peer)? {
            Some(p) => Ok(ctx.load(tx, &p)?.sessions.len()),
            None => Ok(0),
        })
    }

    // ---- prekeys ----

    /// Generates a new signed X25519 prekey and signed ML-KEM-768 prekey (created at
    /// `now`), which become current; the previous ones are marked superseded at `now`
    /// and retired later by [`Client::maintain_prekeys`]. Returns the new X25519 id.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn rotate_signed_prekey(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        now: u64,
    ) -> Result<u32, Error> {
        self.store.transaction(|tx| new_signed_prekey(tx, rng, now))
    }

    /// The bundle to publish: identity, mailbox, sealing key and the current signed
    /// prekeys, without one-time prekeys (the relay adds one from the pool uploaded with
    /// [`Client::generate_one_time_prekeys`] to each bundle it hands out).
    ///
    /// # Errors
    /// [`Error::NoSignedPrekey`], [`Error::Storage`].
    pub fn bundle(&mut self) -> Result<PrekeyBundle, Error> {
        let (store, _, identity, sealing, mailbox) = self.split();
        let current = store.transaction(|tx| current_signed_prekey(tx))?;
        let spk = SignedPrekeySecret::from_bytes(*current.secret);
        let kem = KemPrekeySecret::from_bytes(*current.kem_secret);
        Ok(PrekeyBundle::create(&BundleKeys {
            identity,
            mailbox: *mailbox,
            sealing,
            signed_prekey: (current.id, &spk),
            kem_prekey: (current.kem_id, &kem),
            one_time_prekey: None,
            one_time_kem_prekey: None,
        }))
    }

    /// [`Client::bundle`] signed by this party's identity with a validity window, as the
    /// relay's `POST /v1/publish` takes it (spec §12.3): send it in a `PublishRequest`
    /// with [`Client::public_capability`] as the proof of ownership. `issued_at` and
    /// `expires_at` are seconds since the Unix epoch on the caller's clock; each new
    /// publication must have a later `issued_at` than the one it replaces.
    ///
    /// # Errors
    /// As [`Client::bundle`]; [`Error::Protocol`]`(ApiMisuse)` if the window is empty or
    /// longer than `MAX_PUBLICATION_LIFETIME_SECS`.
    pub fn publication(&mut self, issued_at: u64, expires_at: u64) -> Result<Publication, Error> {
        let bundle = self.bundle()?;
        Ok(Publication::create(
            &self.identity,
            &bundle,
            issued_at,
            expires_at,
        )?)
    }

    /// Generates `n` one-time X25519 and `n` one-time ML-KEM-768 prekeys with fresh ids,
    /// commits their secrets, and returns their signed public records to upload.
    ///
    /// # Errors
    /// [`Error::NoSignedPrekey`], [`Error::Storage`].
    pub fn generate_one_time_prekeys(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        n: usize,
    ) -> Result<Vec<OneTimePrekeys>, Error> {
        let (store, _, identity, sealing, mailbox) = self.split();
        store.transaction(|tx| {
            let current = current_signed_prekey(tx)?;
            let spk = SignedPrekeySecret::from_bytes(*current.secret);
            let kem = KemPrekeySecret::from_bytes(*current.kem_secret);
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let (id, kem_id) = (tx.allocate_prekey_id()?, tx.allocate_prekey_id()?);
                let otp = OneTimePrekeySecret::generate(rng);
                let otk = OneTimeKemPrekeySecret::generate(rng);
                tx.put_one_time_prekey(id, &otp.to_bytes())?;
                tx.put_one_time_kem_prekey(kem_id, &otk.to_bytes())?;
                let (x25519, kem_rec) = core::sign_one_time_records(
                    identity,
                    *mailbox,
                    sealing,
                    (current.id, &spk, current.kem_id, &kem),
                    (id, &otp),
                    (kem_id, &otk),
                )
                .ok_or(Error::ApiMisuse("the core dropped a one-time record"))?;
                out.push(OneTimePrekeys {
                    x25519,
                    kem: kem_rec,
                });
            }
            Ok(out)
        })
    }

    /// How many one-time prekey pairs are left (the smaller of the two pools).
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn one_time_prekeys_remaining(&mut self) -> Result<u64, Error> {
        self.store.transaction(|tx| {
            Ok(tx
                .one_time_prekey_count()?
                .min(tx.one_time_kem_prekey_count()?))
        })
    }

    /// The low-water signal: fewer than `threshold` one-time prekey pairs are left.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn needs_refill(&mut self, threshold: u64) -> Result<bool, Error> {
        Ok(self.one_time_prekeys_remaining()? < threshold)
    }

    /// Call after restoring the store from a backup (or whenever the application cannot
    /// rule out that prekeys were published after the copy it now runs on):
    /// - jumps the prekey id counter, so new ids do not repeat ids the abandoned timeline
    ///   published (a peer holding such a bundle would run a handshake with other keys);
    /// - deletes every one-time prekey (the abandoned timeline may have consumed them, and
    ///   its replay records are gone, so a relay could replay those first messages);
    /// - generates a new signed prekey and deletes all others with their replay records
    ///   (first messages accepted by the abandoned timeline cannot be accepted again);
    /// - refreshes every addressed peer's route (mailbox, sealing key) from its current
    ///   bundle, since the restored one may name a sealing key the peer has erased, and
    ///   marks every peer as not knowing our sealing key, so our next messages carry our
    ///   identity record (a peer may have learnt a key of the abandoned timeline);
    /// - rotates the sealing key: the restored one may be older than a key peers learnt
    ///   from the abandoned timeline, and only a key no peer has seen yet tells the client
    ///   when a peer has learnt it (its envelopes arrive sealed to it). The restored key
    ///   keeps opening envelopes for its grace period.
    ///
    /// Then publish [`Client::bundle`] and a new one-time pool, replacing the relay's.
    /// First messages to the old prekeys are refused from then on (`UnknownPrekey`): a
    /// peer whose session with us is still pending on them (it started one after the
    /// backup was taken and has not had a reply) needs a new session from the new bundle;
    /// this version has no message that tells it so. Returns the new signed prekey id.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn recover_after_restore(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        source: &mut impl BundleSource,
        now: u64,
    ) -> Result<u32, Error> {
        let (id, local) = self.store.transaction(|tx| {
            for mut peer in tx.peers()? {
                peer.acked_sealing_key = None;
                refresh_route(source, &mut peer);
                tx.put_peer(&peer)?;
            }
            let mut local = tx.local()?.ok_or(Error::NoIdentity)?;
            rotate_sealing(rng, &mut local, now);
            tx.put_local(&local)?;
            let jump = RESTORE_ID_JUMP_MIN.saturating_add(rng.next_u32() >> 8);
            tx.skip_prekey_ids(jump)?;
            tx.delete_all_one_time_prekeys()?;
            let old = tx.signed_prekeys()?;
            let id = new_signed_prekey(tx, rng, now)?;
            for r in old {
                tx.delete_signed_prekey(r.id)?;
            }
            Ok((id, local))
        })?;
        self.adopt_sealing(&local);
        Ok(id)
    }

    /// Refreshes every addressed peer's route (mailbox and sealing key) from its current
    /// bundle, keeping the old route when the source has none, or one of another identity,
    /// or one that does not verify. Peers rotate their sealing keys (spec §8.12) and learn
    /// ours from our messages; two peers that both stay silent through each other's grace
    /// period only find each other again through their bundles. Call this at least as
    /// often as the grace period (`SEALING_KEY_GRACE`, 7 days), for example with
    /// [`Client::maintain_prekeys`]. One transaction; returns how many routes changed.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub fn refresh_routes(&mut self, source: &mut impl BundleSource) -> Result<usize, Error> {
        self.store.transaction(|tx| {
            let mut changed = 0;
            for mut peer in tx.peers()? {
                let before = peer.route;
                refresh_route(source, &mut peer);
                if peer.route != before {
                    tx.put_peer(&peer)?;
                    changed += 1;
                }
            }
            Ok(changed)
        })
    }

    /// Rotates the current signed prekey if it holds `policy.max_replays` replay records
    /// or is `policy.max_age` old at `now`, and retires the superseded ones whose grace
    /// period is over (deleting their secrets and their replay records). Rotates the
    /// sealing key when it is `policy.sealing_max_age` old (the previous one keeps opening
    /// envelopes until `policy.sealing_grace` has passed, and meanwhile every message sent
    /// carries the new identity record), and erases the previous one after its grace
    /// period (spec §8.12). One transaction.
    ///
    /// # Errors
    /// [`Error::NoSignedPrekey`], [`Error::Storage`].
    pub fn maintain_prekeys(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        now: u64,
        policy: &PrekeyPolicy,
    ) -> Result<Maintenance, Error> {
        let (done, local) = self.store.transaction(|tx| {
            let mut done = Maintenance::default();
            let current = current_signed_prekey(tx)?;
            if tx.replay_count(current.id)? >= policy.max_replays
                || now.saturating_sub(current.created_at) >= policy.max_age
            {
                done.rotated = Some(new_signed_prekey(tx, rng, now)?);
            }
            for r in tx.signed_prekeys()? {
                if let Some(at) = r.superseded_at {
                    if now.saturating_sub(at) >= policy.grace {
                        tx.delete_signed_prekey(r.id)?;
                        done.retired.push(r.id);
                    }
                }
            }
            let mut local = tx.local()?.ok_or(Error::NoIdentity)?;
            if local
                .previous_sealing
                .as_ref()
                .is_some_and(|(_, at)| now.saturating_sub(*at) >= policy.sealing_grace)
            {
                local.previous_sealing = None;
                done.sealing_erased = true;
            }
            // At most two live sealing keys (spec §8.12, `MAX_SEALING_KEYS`): a rotation
            // waits until the previous key's grace period is over, so no envelope in
            // flight to it is lost to a rotation.
            if local.previous_sealing.is_none()
                && now.saturating_sub(local.sealing_created_at) >= policy.sealing_max_age
            {
                rotate_sealing(rng, &mut local, now);
                done.sealing_rotated = true;
            }
            if done.sealing_erased || done.sealing_rotated {
                tx.put_local(&local)?;
            }
            Ok((done, local))
        })?;
        if done.sealing_rotated || done.sealing_erased {
            self.adopt_sealing(&local);
        }
        Ok(done)
    }

    /// Takes the sealing keys of a committed local record.
    fn adopt_sealing(&mut self, local: &LocalRecord) {
        self.sealing = SealingKeySecret::from_bytes(*local.sealing_secret);
        self.previous_sealing = local
            .previous_sealing
            .as_ref()
            .map(|(s, _)| SealingKeySecret::from_bytes(**s));
        self.record = IdentityRecord::create(&self.identity, self.mailbox, &self.sealing);
    }
}

/// How far [`Client::recover_after_restore`] moves the prekey id counter: at least
/// 2¹⁶ ids (more than a client allocates between two backups), plus a random part up to
/// 2²⁴, so that ids published by the abandoned timeline are not issued again.
const RESTORE_ID_JUMP_MIN: u32 = 1 << 16;

/// Makes a fresh sealing key current and keeps the current one as the previous one.
fn rotate_sealing(rng: &mut (impl CryptoRng + RngCore), local: &mut LocalRecord, now: u64) {
    let mut fresh = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(fresh.as_mut());
    let old = std::mem::replace(&mut local.sealing_secret, fresh);
    local.previous_sealing = Some((old, now));
    local.sealing_created_at = now;
}

/// A message from the peer named `carried` as its route. Messages of a timeline the peer
/// abandoned (it restored a backup) name keys it no longer has, and records carry no
/// version, so for a peer with an address the route is taken from its published bundle,
/// the authority on its current keys; `carried` is used only for a peer without an
/// address, or without any route when the bundle cannot be had.
fn learn_route(source: &mut impl BundleSource, peer: &mut PeerRecord, carried: Route) {
    if peer.route == Some(carried) {
        return;
    }
    let before = peer.route;
    refresh_route(source, peer);
    if peer.address.is_none() || (peer.route == before && before.is_none()) {
        peer.route = Some(carried);
    }
}

/// Replaces `peer.route` with the one of its current bundle, if the source has a verified
/// bundle of the same identity.
fn refresh_route(source: &mut impl BundleSource, peer: &mut PeerRecord) {
    let Some(address) = &peer.address else {
        return;
    };
    if let Ok(Some(bundle)) = source.bundle(address) {
        if bundle.identity == peer.identity && bundle.clone().verify().is_ok() {
            peer.route = Some(route_of(&bundle));
        }
    }
}

/// The newest signed prekey not superseded.
fn current_signed_prekey(tx: &mut impl StoreTx) -> Result<SignedPrekeyRecord, Error> {
    tx.signed_prekeys()?
        .into_iter()
        .rev()
        .find(|r| r.superseded_at.is_none())
        .ok_or(Error::NoSignedPrekey)
}

fn new_signed_prekey(
    tx: &mut impl StoreTx,
    rng: &mut (impl CryptoRng + RngCore),
    now: u64,
) -> Result<u32, Error> {
    for mut old in tx.signed_prekeys()? {
        if old.superseded_at.is_none() {
            old.superseded_at = Some(now);
            tx.put_signed_prekey(&old)?;
        }
    }
    let id = tx.allocate_prekey_id()?;
    let kem_id = tx.allocate_prekey_id()?;
    let spk = SignedPrekeySecret::generate(rng);
    let kem = KemPrekeySecret::generate(rng);
    tx.put_signed_prekey(&SignedPrekeyRecord {
        id,
        secret: spk.to_bytes(),
        kem_id,
        kem_secret: kem.to_bytes(),
        created_at: now,
        superseded_at: None,
    })?;
    Ok(id)
}

/// Loads just the prekeys the header names into a snapshot store, runs the core's
/// `accept`, and on success deletes the one-time prekeys used and records the replay id
/// (in the caller's transaction).
fn accept_new(
    tx: &mut impl StoreTx,
    identity: &IdentityKeyPair,
    opened: &Opened,
) -> Result<(Session, Vec<u8>), Error> {
    let msg = opened.initial_message()?;
    let h = &msg.header;
    let mut prekeys = MemoryPrekeyStore::new();
    if let Some(r) = tx.signed_prekey(h.signed_prekey_id)? {
        prekeys.insert_signed_prekey(r.id, SignedPrekeySecret::from_bytes(*r.secret));
    }
    let one_time_kem = match h.kem_kind {
        PrekeyKind::OneTimeKem => {
            if let Some(s) = tx.one_time_kem_prekey(h.kem_prekey_id)? {
                prekeys.insert_one_time_kem_prekey(
                    h.kem_prekey_id,
                    OneTimeKemPrekeySecret::from_bytes(*s),
                );
            }
            Some(h.kem_prekey_id)
        }
        _ => {
            if let Some(r) = tx.signed_prekey_by_kem_id(h.kem_prekey_id)? {
                prekeys.insert_kem_prekey(r.kem_id, KemPrekeySecret::from_bytes(*r.kem_secret));
            }
            None
        }
    };
    if let Some(id) = h.one_time_prekey_id {
        if let Some(s) = tx.one_time_prekey(id)? {
            prekeys.insert_one_time_prekey(id, OneTimePrekeySecret::from_bytes(*s));
        }
    }
    let (session, plaintext) = core::accept(identity, &mut prekeys, &opened.inner)?;
    if let Some(id) = h.one_time_prekey_id {
        tx.delete_one_time_prekey(id)?;
    }
    if let Some(id) = one_time_kem {
        tx.delete_one_time_kem_prekey(id)?;
    }
    tx.put_replay(h.signed_prekey_id, &h.ephemeral, &opened.sender)?;
    Ok((session, plaintext))
}

/// Reads this layer's framing of an authenticated plaintext. A carried identity record
/// (spec §8.12) of the peer that differs from its route makes the client refresh the route
/// from the peer's bundle.
fn outcome(
    source: &mut impl BundleSource,
    peer: &mut PeerRecord,
    plaintext: Vec<u8>,
    new_session: bool,
    position: Option<Position>,
) -> Outcome {
    let plaintext = Zeroizing::new(plaintext);
    let deliver = |peer: &PeerRecord, content: &[u8]| {
        Outcome::Delivered(Received {
            sender: peer.identity,
            address: peer.address.clone(),
            plaintext: content.to_vec(),
            new_session,
            position,
        })
    };
    match plaintext.split_first() {
        Some((&FRAME_MESSAGE, content)) => deliver(peer, content),
        Some((&FRAME_MESSAGE_WITH_RECORD, rest)) => {
            let control = Outcome::Control {
                sender: peer.identity,
                kind: Some(FRAME_MESSAGE_WITH_RECORD),
            };
            // A record that is not the sender's, or does not verify: a control message,
            // nothing delivered (spec §7.9, client frames).
            let Some((record, content)) = rest.split_at_checked(IDENTITY_RECORD_LEN) else {
                return control;
            };
            let Ok(record) = IdentityRecord::decode_exact(record) else {
                return control;
            };
            if record.identity != peer.identity || record.verify().is_err() {
                return control;
            }
            // The record says the peer's route changed. Messages of a timeline the peer
            // abandoned (it restored a backup) carry records of keys it no longer has, and
            // records carry no version, so the record is only a hint: for a peer with an
            // address the route is taken from its published bundle, the authority on its
            // current keys.
            learn_route(
                source,
                peer,
                Route {
                    mailbox: record.mailbox,
                    sealing_key: record.sealing_key,
                },
            );
            deliver(peer, content)
        }
        Some((&kind, _)) => Outcome::Control {
            sender: peer.identity,
            kind: Some(kind),
        },
        None => Outcome::Control {
            sender: peer.identity,
            kind: None,
        },
    }
}

/// Nothing decrypted a message from a known peer. Starts a reset if the stored sessions
/// are stale, or if no reset this client started is still unanswered; otherwise writes
/// nothing.
fn failed(
    tx: &mut impl StoreTx,
    rng: &mut (impl CryptoRng + RngCore),
    source: &mut impl BundleSource,
    ctx: &Ctx<'_>,
    identity: &IdentityKeyPair,
    mut peer: PeerRecord,
    loaded: Loaded,
) -> Result<Outcome, Error> {
    let sender = peer.identity;
    let none = Ok(Outcome::Undecryptable {
        sender,
        reset: None,
    });
    let Some(address) = peer.address.clone() else {
        return none;
    };
    // The bundle source failing, or serving another identity, is no reason to fail the
    // step: the message stays undecryptable, and nothing is written.
    let Ok(Some(bundle)) = source.bundle(&address) else {
        return none;
    };
    if bundle.identity != peer.identity {
        return none;
    }
    let route = route_of(&bundle);
    // The rate limit: one unanswered reset per peer. It does not hold when the stored
    // sessions are stale, nor when the peer now publishes another bundle than the one our
    // pending reset started from (another mailbox, sealing key or signed prekey: it
    // restored an older copy of its keys and recovered, or rotated), since the peer may
    // never open or accept that reset. Forged input cannot change the peer's bundle, so
    // it still starts at most one reset per published bundle.
    if peer.reset_pending
        && !loaded.stale
        && peer.route == Some(route)
        && peer.reset_signed_prekey == Some(bundle.signed_prekey.id)
    {
        return none;
    }
    let Ok(verified) = bundle.verify() else {
        return none;
    };
    let envelope = start_reset(tx, rng, ctx, identity, &mut peer, loaded, &verified)?;
    Ok(Outcome::Undecryptable {
        sender,
        reset: Some(envelope),
    })
}

/// Starts a new session with `peer` from its verified bundle, encrypts a reset frame as
/// its first message, makes it active (keeping the non-stale old sessions as previous),
/// marks the reset pending and commits; returns the envelope to send.
fn start_reset(
    tx: &mut impl StoreTx,
    rng: &mut (impl CryptoRng + RngCore),
    ctx: &Ctx<'_>,
    identity: &IdentityKeyPair,
    peer: &mut PeerRecord,
    loaded: Loaded,
    verified: &VerifiedBundle,
) -> Result<Vec<u8>, Error> {
    let mut session = core::initiate(rng, identity, ctx.record, verified)?;
    let inner = session.encrypt(rng, &framed(FRAME_RESET, &[]))?;
    let route = route_of(verified.bundle());
    let envelope = seal(
        rng,
        &route.mailbox,
        &route.sealing_key,
        identity.public(),
        &inner,
    )?
    .to_bytes();
    let old = if loaded.stale {
        Vec::new()
    } else {
        loaded.sessions
    };
    peer.route = Some(route);
    peer.reset_pending = true;
    peer.reset_signed_prekey = Some(verified.bundle().signed_prekey.id);
    peer.acked_sealing_key = Some(ctx.sealing_public);
    ctx.save(tx, rng, peer, &with_new_active(session, old))?;
    Ok(envelope)
}
