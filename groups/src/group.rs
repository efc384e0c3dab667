//! Members and blind groups (spec §15.5–§15.9).

use crate::identity::{claimed_identity, BlindIdentityProvider};
use crate::message::{blind, BlindMessage, Invite, CONTENT_COMMIT};
use crate::provider::{signature_key_pair, BlindCrypto, GroupRng, CIPHER_SUITE};
use blindrelay::group::{
    certify_group_key, CommitRequest, EpochKeys, GroupCredential, GroupEnvelope,
    EXPORTER_SECRET_LEN, GROUP_EXPORTER_LABEL,
};
use blindrelay::route::ReadCapability;
use blindrelay::{Error, IdentityKeyPair, IdentityPublicKey};
use mls_rs::client_builder::PaddingMode;
use mls_rs::client_builder::{BaseConfig, WithCryptoProvider, WithIdentityProvider, WithMlsRules};
use mls_rs::group::{CommitEffect, ReceivedMessage};
use mls_rs::identity::basic::BasicCredential;
use mls_rs::identity::SigningIdentity;
use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules, EncryptionOptions};
use mls_rs::time::MlsTime;
use mls_rs::{Client, ExtensionList, Group, MlsMessage};
use rand_core::{CryptoRng, RngCore};
use std::collections::HashSet;

type Config = WithMlsRules<
    DefaultMlsRules,
    WithIdentityProvider<BlindIdentityProvider, WithCryptoProvider<BlindCrypto, BaseConfig>>,
>;
type MlsClient = Client<mls_rs::client_builder::IntoConfigOutput<Config>>;
type MlsGroup = Group<mls_rs::client_builder::IntoConfigOutput<Config>>;

/// The MLS rules of the blind profile (§15.1): every handshake message encrypted
/// (PrivateMessage only), no MLS padding (the group envelope pads, §8.4), a path in every
/// commit, the ratchet tree out of band (in the invite), one Welcome, no external commits.
/// Public so that a comparison with plain MLS (the benchmark) uses exactly these rules.
#[must_use]
pub fn profile_rules() -> DefaultMlsRules {
    DefaultMlsRules::new()
        .with_encryption_options(EncryptionOptions::new(true, PaddingMode::None))
        .with_commit_options(
            CommitOptions::new()
                .with_path_required(true)
                .with_ratchet_tree_extension(false)
                .with_single_welcome_message(true)
                .with_allow_external_commit(false),
        )
}

fn rejected<E>(_: E) -> Error {
    Error::GroupRejected
}

fn time(now: u64) -> MlsTime {
    MlsTime::from(now)
}

/// A blindrelay identity as an MLS client: a per-member Ed25519 MLS signature key
/// certified by the identity (§15.2), and the member's key packages.
pub struct Member {
    client: MlsClient,
    rng: GroupRng,
    identity: IdentityPublicKey,
}

impl core::fmt::Debug for Member {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Member")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Member {
    /// A member for `identity`, drawing every random byte from a stream seeded by `rng`.
    #[must_use]
    pub fn new(identity: &IdentityKeyPair, rng: &mut (impl CryptoRng + RngCore)) -> Self {
        Self::with_certifier(|key| certify_group_key(identity, key), rng)
    }

    /// A member whose identity certifies its MLS signature key through `certify` (for an
    /// identity held elsewhere, such as `blindrelay_client::Client::certify_group_key`).
    #[must_use]
    pub fn with_certifier(
        certify: impl FnOnce(&[u8; 32]) -> GroupCredential,
        rng: &mut (impl CryptoRng + RngCore),
    ) -> Self {
        let rng = GroupRng::from_rng(rng);
        let (secret, public) = signature_key_pair(&rng);
        let mut key = [0u8; 32];
        for (d, s) in key.iter_mut().zip(public.as_bytes()) {
            *d = *s;
        }
        let credential = certify(&key);
        let signing_identity = SigningIdentity::new(
            BasicCredential::new(credential.to_bytes().to_vec()).into_credential(),
            public,
        );
        let client = Client::builder()
            .crypto_provider(BlindCrypto::new(rng.clone()))
            .identity_provider(BlindIdentityProvider)
            .mls_rules(profile_rules())
            .signing_identity(signing_identity, secret, CIPHER_SUITE)
            .build();
        Self {
            client,
            rng,
            identity: *credential.identity(),
        }
    }

    /// The member's blindrelay identity.
    #[must_use]
    pub fn identity(&self) -> &IdentityPublicKey {
        &self.identity
    }

    /// A fresh MLS KeyPackage (an `MLSMessage`), for a group member who will add this one.
    /// It travels inside a 1:1 session, like the invite.
    ///
    /// # Errors
    /// [`Error::GroupRejected`] if MLS refuses (it does not for a valid member).
    pub fn key_package(&self, now: u64) -> Result<Vec<u8>, Error> {
        self.client
            .generate_key_package_message(
                ExtensionList::new(),
                ExtensionList::new(),
                Some(time(now)),
            )
            .and_then(|m| m.to_bytes())
            .map_err(rejected)
    }

    /// A new group with this member alone, at epoch 0, with a random 32-byte group id.
    ///
    /// # Errors
    /// [`Error::GroupRejected`] if MLS refuses.
    pub fn create_group(&self, now: u64) -> Result<BlindGroup, Error> {
        let mut id = vec![0u8; 32];
        self.rng.fill(&mut id);
        let group = self
            .client
            .create_group_with_id(
                id,
                ExtensionList::new(),
                ExtensionList::new(),
                Some(time(now)),
            )
            .map_err(rejected)?;
        BlindGroup::new(group, self.rng.clone())
    }

    /// Joins a group from an invite (§15.8) received in a 1:1 session.
    ///
    /// # Errors
    /// Decode errors of the invite; [`Error::GroupRejected`] if the Welcome is not for one
    /// of this member's key packages or does not validate.
    pub fn join(&self, invite: &[u8], now: u64) -> Result<BlindGroup, Error> {
        let invite = Invite::parse(invite)?;
        let welcome = MlsMessage::from_bytes(&invite.welcome).map_err(rejected)?;
        let tree = mls_rs::group::ExportedTree::from_bytes(&invite.tree).map_err(rejected)?;
        let (group, _) = self
            .client
            .join_group(Some(tree), &welcome, Some(time(now)))
            .map_err(rejected)?;
        BlindGroup::new(group, self.rng.clone())
    }
}

/// What a commit changes (§15.7): members to add (their key packages) and to remove (their
/// identities). Empty: a self-update, which refreshes the committer's path (PCS).
#[derive(Clone, Debug, Default)]
pub struct Change {
    /// Key packages of the members to add.
    pub add: Vec<Vec<u8>>,
    /// Identities of the members to remove.
    pub remove: Vec<IdentityPublicKey>,
}

/// A commit ready to send: the commit request for `POST /v1/commit` (§15.6) and, if the
/// commit adds members, the invite to send each of them in its 1:1 session.
#[derive(Clone, Debug)]
pub struct CommitOutcome {
    /// The commit request (type `0x31`).
    pub request: Vec<u8>,
    /// The invite (type `0x0A`) for the added members, if any.
    pub invite: Option<Vec<u8>>,
}

/// What [`BlindGroup::receive`] found in a group envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// An application message from `sender`.
    Message {
        /// The sender's blindrelay identity (from its certified leaf).
        sender: IdentityPublicKey,
        /// The plaintext.
        plaintext: Vec<u8>,
    },
    /// Another member's commit: the group is now at `epoch`, with a new mailbox.
    Commit {
        /// The committer.
        committer: IdentityPublicKey,
        /// The new epoch.
        epoch: u64,
    },
    /// This member's own commit, as the relay ordered it: applied, the group is at `epoch`.
    OwnCommit {
        /// The new epoch.
        epoch: u64,
    },
    /// This member's own application message, echoed by the mailbox.
    Own,
    /// A commit removed this member: the group is over for it.
    Removed,
}

/// The largest application plaintext: what fits a group envelope (§8.4's
/// `MAX_UNPADDED_LEN`) after MLS's framing, signature and tags (at most 160 bytes with a
/// 4-byte length) and the blind message's 2-byte header, with room to spare.
pub const MAX_GROUP_PLAINTEXT_LEN: usize = blindrelay::envelope::MAX_UNPADDED_LEN - 512;

/// One member's view of a blind group: the MLS group and the current epoch's keys.
///
/// **Refusals change nothing (§15.7).** mls-rs consumes a message key before it checks the
/// message's tag, so processing a forged message in place would change the state. Cloning
/// the whole group before every message costs O(n) at n members (2.8 ms per message at
/// 1 000), so the group keeps a second copy, `shadow`, one message behind: a message is
/// processed on `group`, and on success on `shadow` too (a few tens of microseconds for an
/// application message); on failure `group` is restored from `shadow`, the O(n) copy being
/// paid only by a refused message. Sending encrypts on both, so a restored copy never reuses
/// a generation.
pub struct BlindGroup {
    group: MlsGroup,
    shadow: MlsGroup,
    keys: EpochKeys,
    rng: GroupRng,
    /// The group envelope of this member's commit waiting for the relay's order.
    pending: Option<Vec<u8>>,
    /// Digests of this epoch's own application envelopes (to recognise echoes).
    sent: HashSet<[u8; 32]>,
    removed: bool,
}

impl core::fmt::Debug for BlindGroup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BlindGroup")
            .field("epoch", &self.group.current_epoch())
            .field("members", &self.group.roster().members().len())
            .finish_non_exhaustive()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    blindrelay::crypto::kdf::sha256(&[bytes])
}

fn epoch_keys(group: &MlsGroup) -> Result<EpochKeys, Error> {
    let secret = group
        .export_secret(GROUP_EXPORTER_LABEL, b"", EXPORTER_SECRET_LEN)
        .map_err(rejected)?;
    let bytes: &[u8; EXPORTER_SECRET_LEN] = secret
        .as_bytes()
        .try_into()
        .map_err(|_| Error::GroupRejected)?;
    Ok(EpochKeys::from_exporter_secret(bytes))
}

impl BlindGroup {
    fn new(group: MlsGroup, rng: GroupRng) -> Result<Self, Error> {
        let keys = epoch_keys(&group)?;
        Ok(Self {
            shadow: group.clone(),
            group,
            keys,
            rng,
            pending: None,
            sent: HashSet::new(),
            removed: false,
        })
    }

    fn live(&self) -> Result<(), Error> {
        if self.removed {
            Err(Error::GroupRemoved)
        } else {
            Ok(())
        }
    }

    /// The current epoch.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.group.current_epoch()
    }

    /// The current epoch's mailbox id (§15.3).
    #[must_use]
    pub fn mailbox(&self) -> [u8; 32] {
        self.keys.mailbox()
    }

    /// The read capability that fetches the current epoch's mailbox (§12.5).
    #[must_use]
    pub fn capability(&self) -> ReadCapability {
        self.keys.capability()
    }

    /// The epoch keys (for tests and the conformance suite).
    #[must_use]
    pub fn epoch_keys(&self) -> &EpochKeys {
        &self.keys
    }

    /// The MLS epoch authenticator (RFC 9420 §8.7), which members compare out of band
    /// (or the passive-client vectors pin) to detect a fork.
    ///
    /// # Errors
    /// [`Error::GroupRejected`] if MLS cannot derive it.
    pub fn epoch_authenticator(&self) -> Result<Vec<u8>, Error> {
        self.group
            .epoch_authenticator()
            .map(|s| s.as_bytes().to_vec())
            .map_err(rejected)
    }

    /// The MLS group id (never on the wire, §15.5).
    #[must_use]
    pub fn group_id(&self) -> &[u8] {
        self.group.group_id()
    }

    /// The members' MLS signature public keys, in leaf order (never on the wire outside
    /// encrypted MLS content).
    #[must_use]
    pub fn signature_keys(&self) -> Vec<Vec<u8>> {
        self.group
            .roster()
            .members()
            .iter()
            .map(|m| m.signing_identity.signature_key.as_bytes().to_vec())
            .collect()
    }

    /// The members' blindrelay identities, in leaf order.
    #[must_use]
    pub fn members(&self) -> Vec<IdentityPublicKey> {
        self.group
            .roster()
            .members()
            .iter()
            .filter_map(|m| claimed_identity(&m.signing_identity).ok())
            .collect()
    }

    /// Whether a commit of this member waits for the relay.
    #[must_use]
    pub fn has_pending_commit(&self) -> bool {
        self.pending.is_some()
    }

    /// Encrypts an application message for the group: an MLS PrivateMessage, blinded
    /// (§15.5) and sealed in a group envelope to the current epoch's mailbox (§15.4).
    ///
    /// # Errors
    /// [`Error::GroupRemoved`]; [`Error::ApiMisuse`] while a commit is pending;
    /// [`Error::MessageTooLarge`]; [`Error::GroupRejected`] if MLS refuses.
    pub fn send(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        self.live()?;
        if self.pending.is_some() {
            return Err(Error::ApiMisuse {
                reason: "a commit is pending: wait for the relay's order",
            });
        }
        if plaintext.len() > MAX_GROUP_PLAINTEXT_LEN {
            return Err(Error::MessageTooLarge);
        }
        let message = self
            .group
            .encrypt_application_message(plaintext, Vec::new())
            .and_then(|m| m.to_bytes());
        // The shadow spends the same generation (its ciphertext is discarded).
        let shadowed = self
            .shadow
            .encrypt_application_message(plaintext, Vec::new());
        let (message, Ok(_)) = (message, shadowed) else {
            self.resync();
            return Err(Error::GroupRejected);
        };
        let message = message.map_err(rejected)?;
        let inner = blind(&message, self.group.group_id(), self.group.current_epoch())?;
        let envelope = self
            .keys
            .seal(&inner, &mut RngAdapter(&self.rng))?
            .to_bytes();
        self.sent.insert(digest(&envelope));
        Ok(envelope)
    }

    /// Builds a commit for `change` (a self-update if empty) at the caller's time `now`.
    /// The commit is pending until the relay orders it: send [`CommitOutcome::request`]
    /// to `POST /v1/commit`, then keep fetching the mailbox: the commit applies when
    /// [`BlindGroup::receive`] reaches it (`OwnCommit`), or is dropped if another commit
    /// comes first. On `CommitSlotTaken` (812), call [`BlindGroup::commit_refused`],
    /// process the winner and commit again.
    ///
    /// # Errors
    /// [`Error::GroupRemoved`]; [`Error::ApiMisuse`] if a commit is already pending or a
    /// removed identity is not a member; [`Error::GroupRejected`] if MLS refuses (a key
    /// package that does not validate).
    pub fn commit(&mut self, change: &Change, now: u64) -> Result<CommitOutcome, Error> {
        self.live()?;
        if self.pending.is_some() {
            return Err(Error::ApiMisuse {
                reason: "a commit is already pending",
            });
        }
        let mut removals = Vec::new();
        for identity in &change.remove {
            let index = self
                .group
                .roster()
                .members()
                .iter()
                .find(|m| claimed_identity(&m.signing_identity).ok().as_ref() == Some(identity))
                .map(|m| m.index)
                .ok_or(Error::ApiMisuse {
                    reason: "removing an identity that is not a member",
                })?;
            removals.push(index);
        }
        let mut adds = Vec::with_capacity(change.add.len());
        for kp in &change.add {
            adds.push(MlsMessage::from_bytes(kp).map_err(rejected)?);
        }
        let built = self.build_commit(adds, removals, now);
        let (output, envelope) = match built {
            Ok(b) => b,
            Err(e) => {
                // Whatever MLS did on the way out is undone.
                self.group.clear_pending_commit();
                self.resync();
                return Err(e);
            }
        };
        let request = CommitRequest::new(self.keys.token().clone(), envelope.clone())?;
        let invite = match (output.welcome_messages().first(), output.ratchet_tree()) {
            (Some(welcome), Some(tree)) => Some(
                Invite {
                    welcome: welcome.to_bytes().map_err(rejected)?,
                    tree: tree.to_bytes().map_err(rejected)?,
                }
                .to_bytes(),
            ),
            _ => None,
        };
        // The shadow takes the pending commit too (one O(n) copy per own commit), so a
        // refused message restores it with everything else.
        self.shadow = self.group.clone();
        self.pending = Some(envelope.to_bytes());
        Ok(CommitOutcome {
            request: request.to_bytes(),
            invite,
        })
    }

    /// Applies this member's pending commit and moves to the next epoch. [`BlindGroup::receive`]
    /// calls it when the commit comes back from the mailbox in the relay's order, which is
    /// the safe moment (§15.6): a commit another member deposited earlier in the same
    /// mailbox would win. Call it directly only for a group whose members all commit
    /// through `POST /v1/commit` (tests, benchmarks).
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if no commit is pending; [`Error::GroupRejected`] if MLS fails.
    pub fn commit_accepted(&mut self) -> Result<u64, Error> {
        if self.pending.is_none() {
            return Err(Error::ApiMisuse {
                reason: "no commit is pending",
            });
        }
        if let Err(e) = self.group.apply_pending_commit() {
            self.resync();
            return Err(rejected(e));
        }
        self.keys = epoch_keys(&self.group)?;
        if self.shadow.apply_pending_commit().is_err() {
            self.shadow = self.group.clone();
        }
        self.pending = None;
        self.sent.clear();
        Ok(self.epoch())
    }

    /// The relay refused this member's commit (another took the slot): forgets it.
    pub fn commit_refused(&mut self) {
        self.group.clear_pending_commit();
        self.shadow.clear_pending_commit();
        self.pending = None;
    }

    /// Opens a group envelope from the current epoch's mailbox and processes it (§15.7) at
    /// the caller's time `now` (seconds; key packages added by a commit must be valid then).
    /// Nothing changes unless everything succeeds: the envelope parses, opens under the
    /// epoch's wrap key, its blind message parses, and MLS accepts it.
    ///
    /// # Errors
    /// [`Error::GroupRemoved`]; the envelope's decode errors; [`Error::WrongMailbox`] for
    /// another epoch's mailbox; [`Error::Decrypt`] or [`Error::BadPadding`] from the wrap
    /// layer; [`Error::GroupRejected`] if MLS refuses the message (including a proposal
    /// sent alone, which the blind profile never sends).
    pub fn receive(&mut self, envelope: &[u8], now: u64) -> Result<Received, Error> {
        self.live()?;
        if self.pending.as_deref() == Some(envelope) {
            let epoch = self.commit_accepted()?;
            return Ok(Received::OwnCommit { epoch });
        }
        if self.sent.contains(&digest(envelope)) {
            return Ok(Received::Own);
        }
        let parsed = GroupEnvelope::parse(envelope)?;
        let inner = self.keys.open(&parsed)?;
        let message = BlindMessage::parse(&inner)?;
        let mls = message.to_mls(self.group.group_id(), self.group.current_epoch())?;
        let mls = MlsMessage::from_bytes(&mls).map_err(rejected)?;
        let is_commit = message.content_type == CONTENT_COMMIT;
        if is_commit {
            // Another member's commit came first: ours (if any) is void once it applies
            // (restored with the shadow if it does not).
            self.group.clear_pending_commit();
        }
        let received = match self
            .group
            .process_incoming_message_with_time(mls.clone(), time(now))
        {
            Ok(r) => r,
            Err(_) => {
                self.resync();
                return Err(Error::GroupRejected);
            }
        };
        // Everything that can still fail is decided before the shadow moves, so a failure
        // here restores the group from the untouched shadow. MLS decodes the content under
        // the content type the blind message named (it is in the AEAD's associated data),
        // so an application message is an `ApplicationMessage` and a commit a `Commit`; a
        // blind message cannot name a proposal (§15.5).
        let outcome = match received {
            ReceivedMessage::ApplicationMessage(app) => self
                .group
                .member_at_index(app.sender_index)
                .and_then(|m| claimed_identity(&m.signing_identity).ok())
                .map(|sender| Outcome::Message(sender, app.data().to_vec())),
            ReceivedMessage::Commit(commit) => {
                // The committer's leaf in the epoch it committed in: the shadow has not
                // processed the commit yet (MLS validated the leaf then).
                let committer = self
                    .shadow
                    .member_at_index(commit.committer)
                    .and_then(|m| claimed_identity(&m.signing_identity).ok());
                match (commit.effect, committer) {
                    (CommitEffect::Removed { .. }, _) => Some(Outcome::Removed),
                    (_, Some(committer)) => epoch_keys(&self.group)
                        .ok()
                        .map(|keys| Outcome::Commit(committer, keys)),
                    (_, None) => None,
                }
            }
            _ => None,
        };
        let Some(outcome) = outcome else {
            self.resync();
            return Err(Error::GroupRejected);
        };
        // The same message on the shadow: it succeeds as it did on the group (same state,
        // same input); if it ever did not, the shadow is rebuilt from the group.
        if is_commit {
            self.shadow.clear_pending_commit();
            self.pending = None;
        }
        if self
            .shadow
            .process_incoming_message_with_time(mls, time(now))
            .is_err()
        {
            self.shadow = self.group.clone();
        }
        Ok(match outcome {
            Outcome::Message(sender, plaintext) => Received::Message { sender, plaintext },
            Outcome::Removed => {
                self.removed = true;
                Received::Removed
            }
            Outcome::Commit(committer, keys) => {
                self.keys = keys;
                self.sent.clear();
                Received::Commit {
                    committer,
                    epoch: self.epoch(),
                }
            }
        })
    }

    /// Builds a commit on the group (not the shadow): the commit output and its group
    /// envelope.
    fn build_commit(
        &mut self,
        adds: Vec<MlsMessage>,
        removals: Vec<u32>,
        now: u64,
    ) -> Result<(mls_rs::group::CommitOutput, GroupEnvelope), Error> {
        let mut builder = self.group.commit_builder().commit_time(time(now));
        for kp in adds {
            builder = builder.add_member(kp).map_err(rejected)?;
        }
        for index in removals {
            builder = builder.remove_member(index).map_err(rejected)?;
        }
        let output = builder.build().map_err(rejected)?;
        let message = output.commit_message().to_bytes().map_err(rejected)?;
        let inner = blind(&message, self.group.group_id(), self.group.current_epoch())?;
        let envelope = self.keys.seal(&inner, &mut RngAdapter(&self.rng))?;
        Ok((output, envelope))
    }

    /// Restores the group from the shadow after a refusal (the O(n) path).
    fn resync(&mut self) {
        self.group = self.shadow.clone();
    }

    /// Whether `other` holds exactly this member's group state (MLS state, key schedule,
    /// epoch secrets): how tests prove that a refused message changed nothing.
    #[must_use]
    pub fn same_state(&self, other: &BlindGroup) -> bool {
        Group::equal_group_state(&self.group, &other.group)
            && Group::equal_group_state(&self.shadow, &other.shadow)
            && self.keys.mailbox() == other.keys.mailbox()
            && self.pending == other.pending
            && self.removed == other.removed
    }

    /// A copy of this member's state, for tests that compare before and after.
    ///
    /// # Errors
    /// [`Error::GroupRejected`] if MLS cannot derive the epoch's exporter secret again.
    pub fn snapshot(&self) -> Result<BlindGroup, Error> {
        Ok(BlindGroup {
            group: self.group.clone(),
            shadow: self.shadow.clone(),
            keys: epoch_keys(&self.group)?,
            rng: self.rng.clone(),
            pending: self.pending.clone(),
            sent: self.sent.clone(),
            removed: self.removed,
        })
    }
}

/// What a processed message comes to, decided before the shadow copy moves.
enum Outcome {
    Message(IdentityPublicKey, Vec<u8>),
    Commit(IdentityPublicKey, EpochKeys),
    Removed,
}

/// The group's ChaCha20 stream as a `rand_core` RNG (for the envelope nonce).
struct RngAdapter<'a>(&'a GroupRng);

impl RngCore for RngAdapter<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl CryptoRng for RngAdapter<'_> {}
