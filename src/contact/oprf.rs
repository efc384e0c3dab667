//! Contact discovery suite `ch2` (spec §13, `spec/13-oprf-discovery.md`): an RFC 9497
//! VOPRF, ristretto255-SHA512 in verifiable mode, whose key is held by an **oracle** that
//! is not the relay.
//!
//! The OPRF input is a `ch1` contact id (spec §9.4), so a leaked oracle key degrades `ch2`
//! to `ch1` (one Argon2id hash per guess), never to one group operation per guess. The
//! 64-byte RFC 9497 output becomes a 32-byte `ch2` contact id
//!
//! ```text
//! ch2_id = HKDF-SHA256(salt = "", ikm = output,
//!                      info = "blindrelay v1 ch2 contact id" || 0x00 || BE32(key_epoch), L = 32)
//! ```
//!
//! whose bucket prefix and match tag are exactly those of spec §9.5
//! ([`bucket_prefix`](super::bucket_prefix), [`MatchTag::of`](super::MatchTag::of)).
//!
//! One run, for a batch of at most [`MAX_OPRF_BATCH`] contacts:
//!
//! 1. The client blinds its `ch1` ids: [`blind`] returns a secret [`BlindState`] and one
//!    [`BlindedElement`] per contact, which travel (through the relay) to the oracle.
//! 2. The oracle evaluates the whole batch under its [`OracleKey`] with one DLEQ proof:
//!    [`OracleKey::evaluate`] returns an [`Evaluation`].
//! 3. The client checks the proof against the [`OraclePublicKey`] it pinned and only then
//!    unblinds and derives the `ch2` ids: [`BlindState::finalize`].
//!
//! Every element on the wire is a canonical, non-identity ristretto255 encoding; anything
//! else is [`Error::OprfInvalidElement`] (620). A proof that does not verify is
//! [`Error::OprfProofInvalid`] (621), and no id is derived. All randomness comes from the
//! caller's RNG.

use super::hash::{ContactId, CONTACT_ID_LEN};
use crate::crypto::{kdf, CryptoRng, RngCore};
use crate::Error;
use alloc::vec::Vec;
use core::fmt;
use voprf::{Group, Ristretto255, VoprfClient, VoprfServer};
use zeroize::Zeroizing;

/// HKDF info prefix of a `ch2` contact id (spec §13.2); `0x00 || BE32(key_epoch)` follows.
pub(crate) const CH2_CONTACT_ID_LABEL: &[u8] = b"blindrelay v1 ch2 contact id";
/// RFC 9497 `DeriveKeyPair` info prefix of the oracle key (spec §13.3); `0x00 ||
/// BE32(key_epoch)` follows.
pub(crate) const CH2_ORACLE_KEY_LABEL: &[u8] = b"blindrelay v1 ch2 oracle key";

/// The most contacts in one OPRF batch (spec §13.6): the same as
/// [`MAX_LOOKUP_PREFIXES`](super::wire::MAX_LOOKUP_PREFIXES).
pub const MAX_OPRF_BATCH: usize = 4096;
/// Length of an encoded ristretto255 element (a public key, a blinded or evaluated
/// element).
pub const OPRF_ELEMENT_LEN: usize = 32;
/// Length of an encoded batch DLEQ proof: two ristretto255 scalars `(c, s)`.
pub const OPRF_PROOF_LEN: usize = 64;
/// Length of the RFC 9497 `Finalize` output (SHA-512).
pub const OPRF_OUTPUT_LEN: usize = 64;

type Suite = Ristretto255;

/// Maps an error of the `voprf` dependency to the crate's (spec §13.5).
fn map_err(e: voprf::Error) -> Error {
    match e {
        voprf::Error::Deserialization => Error::OprfInvalidElement,
        voprf::Error::ProofVerification => Error::OprfProofInvalid,
        voprf::Error::Batch => Error::OprfBatchSize,
        voprf::Error::Info
        | voprf::Error::Input
        | voprf::Error::DeriveKeyPair
        | voprf::Error::Protocol => Error::ApiMisuse {
            reason: "the OPRF rejected an input the ch2 suite never produces",
        },
    }
}

/// Checks a batch size against `1..=MAX_OPRF_BATCH`.
fn check_batch(n: usize) -> Result<(), Error> {
    if n == 0 || n > MAX_OPRF_BATCH {
        Err(Error::OprfBatchSize)
    } else {
        Ok(())
    }
}

/// Decodes a canonical, non-identity ristretto255 element.
fn decode_elem(bytes: &[u8; OPRF_ELEMENT_LEN]) -> Result<<Suite as Group>::Elem, Error> {
    <Suite as Group>::deserialize_elem(bytes).map_err(|_| Error::OprfInvalidElement)
}

/// Encodes a ristretto255 element.
fn encode_elem(elem: <Suite as Group>::Elem) -> [u8; OPRF_ELEMENT_LEN] {
    let mut out = [0u8; OPRF_ELEMENT_LEN];
    out.copy_from_slice(&<Suite as Group>::serialize_elem(elem));
    out
}

/// The HKDF info of a `ch2` id: `label || 0x00 || BE32(key_epoch)`.
fn ch2_info(key_epoch: u32) -> Vec<u8> {
    let mut info = Vec::with_capacity(CH2_CONTACT_ID_LABEL.len() + 5);
    info.extend_from_slice(CH2_CONTACT_ID_LABEL);
    info.push(0x00);
    info.extend_from_slice(&key_epoch.to_be_bytes());
    info
}

/// The `ch2` contact id of one RFC 9497 output (spec §13.2).
fn ch2_id(output: &[u8], info: &[u8]) -> Ch2Id {
    let okm: Zeroizing<[u8; CONTACT_ID_LEN]> = kdf::hkdf(&[], output, info);
    Ch2Id(ContactId::from_bytes(*okm))
}

/// A `ch2` contact id (spec §13.2): what suite `ch2` looks up and registers, in place of
/// the `ch1` id it was derived from. A distinct type so that a `ch1` id, which the relay
/// can compute by enumeration, is never sent where a `ch2` id belongs: only
/// [`BlindState::finalize`] and [`OracleKey::evaluate_unblinded`] make one.
#[derive(PartialEq, Eq)]
pub struct Ch2Id(ContactId);

impl Ch2Id {
    /// The id's bytes: a bucket prefix and a match tag exactly as spec §9.5.
    #[must_use]
    pub fn as_contact_id(&self) -> &ContactId {
        &self.0
    }

    /// Restores a stored `ch2` id (a client caches them per key epoch, spec §13.4).
    #[must_use]
    pub fn from_bytes(bytes: [u8; CONTACT_ID_LEN]) -> Self {
        Self(ContactId::from_bytes(bytes))
    }
}

/// A `ch2` id has a prefix and a tag like any contact id (spec §9.5): `bucket_prefix` and
/// `MatchTag::of` apply through this. The converse does not hold: a `ch1` [`ContactId`] is
/// never a `Ch2Id`.
impl core::ops::Deref for Ch2Id {
    type Target = ContactId;
    fn deref(&self) -> &ContactId {
        &self.0
    }
}

impl PartialEq<ContactId> for Ch2Id {
    fn eq(&self, other: &ContactId) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Ch2Id> for ContactId {
    fn eq(&self, other: &Ch2Id) -> bool {
        *self == other.0
    }
}

impl fmt::Debug for Ch2Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Ch2Id").field(&self.0).finish()
    }
}

/// The `DeriveKeyPair` info of the oracle key of `key_epoch` (spec §13.3):
/// `"blindrelay v1 ch2 oracle key" || 0x00 || BE32(key_epoch)`.
#[must_use]
pub fn oracle_key_info(key_epoch: u32) -> Vec<u8> {
    let mut info = Vec::with_capacity(CH2_ORACLE_KEY_LABEL.len() + 5);
    info.extend_from_slice(CH2_ORACLE_KEY_LABEL);
    info.push(0x00);
    info.extend_from_slice(&key_epoch.to_be_bytes());
    info
}

/// The oracle's public key `pkS` (spec §13.3): a canonical, non-identity ristretto255
/// element. Clients pin it (with its key epoch) and check every batch proof against it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "[u8; OPRF_ELEMENT_LEN]", into = "[u8; OPRF_ELEMENT_LEN]")
)]
pub struct OraclePublicKey([u8; OPRF_ELEMENT_LEN]);

impl TryFrom<[u8; OPRF_ELEMENT_LEN]> for OraclePublicKey {
    type Error = Error;
    fn try_from(bytes: [u8; OPRF_ELEMENT_LEN]) -> Result<Self, Error> {
        Self::from_bytes(bytes)
    }
}

impl From<OraclePublicKey> for [u8; OPRF_ELEMENT_LEN] {
    fn from(pk: OraclePublicKey) -> Self {
        pk.0
    }
}

impl OraclePublicKey {
    /// Decodes a public key.
    ///
    /// # Errors
    /// [`Error::OprfInvalidElement`] (620) unless `bytes` is a canonical, non-identity
    /// ristretto255 encoding.
    pub fn from_bytes(bytes: [u8; OPRF_ELEMENT_LEN]) -> Result<Self, Error> {
        decode_elem(&bytes)?;
        Ok(Self(bytes))
    }

    /// The 32-byte encoding.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; OPRF_ELEMENT_LEN] {
        self.0
    }

    /// The decoded point; valid by construction.
    fn point(&self) -> Result<<Suite as Group>::Elem, Error> {
        decode_elem(&self.0)
    }
}

/// `Name(hex)`, for the public element types.
fn fmt_hex(f: &mut fmt::Formatter<'_>, name: &str, bytes: &[u8]) -> fmt::Result {
    write!(f, "{name}(")?;
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    write!(f, ")")
}

impl fmt::Debug for OraclePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_hex(f, "OraclePublicKey", &self.0)
    }
}

/// A wire element wrapping one of `voprf`'s decoded element types: `from_bytes` checks the
/// encoding once (620), `to_bytes` re-encodes, `Debug` shows the hex.
macro_rules! wire_element {
    ($(#[$doc:meta])* $name:ident($inner:ident)) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(voprf::$inner<Suite>);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_hex(f, stringify!($name), &self.to_bytes())
            }
        }

        impl $name {
            /// Decodes the element.
            ///
            /// # Errors
            /// [`Error::OprfInvalidElement`] (620) unless `bytes` is a canonical,
            /// non-identity ristretto255 encoding.
            pub fn from_bytes(bytes: &[u8; OPRF_ELEMENT_LEN]) -> Result<Self, Error> {
                voprf::$inner::deserialize(bytes)
                    .map(Self)
                    .map_err(|_| Error::OprfInvalidElement)
            }

            /// The 32-byte encoding.
            #[must_use]
            pub fn to_bytes(&self) -> [u8; OPRF_ELEMENT_LEN] {
                let mut out = [0u8; OPRF_ELEMENT_LEN];
                out.copy_from_slice(&self.0.serialize());
                out
            }
        }
    };
}

wire_element!(
    /// A blinded contact id, client to oracle (RFC 9497 `BlindedElement`): a canonical,
    /// non-identity ristretto255 element. It reveals nothing about the contact.
    BlindedElement(BlindedElement)
);

wire_element!(
    /// An evaluated element, oracle to client (RFC 9497 `EvaluationElement`): a canonical,
    /// non-identity ristretto255 element.
    EvaluatedElement(EvaluationElement)
);

/// The oracle's answer to one batch (spec §13.5): one evaluated element per blinded
/// element, in the same order, and one batch DLEQ proof `(c, s)` that every element was
/// evaluated under the key of the oracle's public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// The evaluated elements, in the order of the blinded elements.
    pub elements: Vec<EvaluatedElement>,
    /// The RFC 9497 batch proof, `SerializeScalar(c) || SerializeScalar(s)`.
    pub proof: [u8; OPRF_PROOF_LEN],
}

/// The oracle's secret OPRF key `skS` for one key epoch (spec §13.3). Zeroized on drop,
/// redacted in `Debug`, not `Clone`.
pub struct OracleKey {
    server: VoprfServer<Suite>,
    public: OraclePublicKey,
    key_epoch: u32,
}

impl OracleKey {
    /// A fresh key for `key_epoch` from the caller's RNG: RFC 9497 `DeriveKeyPair` of 32
    /// random bytes with this epoch's info (spec §13.3).
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] only if the OPRF dependency rejects the fixed info length,
    /// which cannot happen.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore), key_epoch: u32) -> Result<Self, Error> {
        let seed = Zeroizing::new(crate::crypto::random_array::<32>(rng));
        Self::derive(&seed, key_epoch)
    }

    /// The key of `key_epoch` derived from a 32-byte seed: RFC 9497
    /// `DeriveKeyPair(seed, "blindrelay v1 ch2 oracle key" || 0x00 || BE32(key_epoch))`
    /// (spec §13.3). One stored seed yields every epoch's key.
    ///
    /// # Errors
    /// As [`OracleKey::generate`].
    pub fn derive(seed: &[u8; 32], key_epoch: u32) -> Result<Self, Error> {
        Self::derive_with_info(seed, &oracle_key_info(key_epoch), key_epoch)
    }

    /// `DeriveKeyPair(seed, info)` with any info (the RFC 9497 vectors use `"test key"`).
    pub(crate) fn derive_with_info(
        seed: &[u8],
        info: &[u8],
        key_epoch: u32,
    ) -> Result<Self, Error> {
        let server = VoprfServer::<Suite>::new_from_seed(seed, info).map_err(map_err)?;
        let public = OraclePublicKey(encode_elem(server.get_public_key()));
        Ok(Self {
            server,
            public,
            key_epoch,
        })
    }

    /// The key with the secret scalar `skS` given directly (its canonical little-endian
    /// encoding), for the RFC 9497 vectors.
    #[cfg(feature = "hazmat")]
    pub(crate) fn from_scalar(sk: &[u8; 32], key_epoch: u32) -> Result<Self, Error> {
        let server = VoprfServer::<Suite>::new_with_key(sk).map_err(|_| Error::ApiMisuse {
            reason: "an oracle key must be a canonical non-zero scalar",
        })?;
        let public = OraclePublicKey(encode_elem(server.get_public_key()));
        Ok(Self {
            server,
            public,
            key_epoch,
        })
    }

    /// The public key clients pin.
    #[must_use]
    pub fn public_key(&self) -> OraclePublicKey {
        self.public
    }

    /// The key epoch this key belongs to.
    #[must_use]
    pub fn key_epoch(&self) -> u32 {
        self.key_epoch
    }

    /// Evaluates a batch of blinded elements with one DLEQ proof (RFC 9497
    /// `BlindEvaluate` in VOPRF mode, batched; spec §13.5). The proof's randomness comes
    /// from `rng`.
    ///
    /// # Errors
    /// [`Error::OprfBatchSize`] (622) for an empty batch or one over [`MAX_OPRF_BATCH`].
    pub fn evaluate(
        &self,
        rng: &mut (impl CryptoRng + RngCore),
        blinded: &[BlindedElement],
    ) -> Result<Evaluation, Error> {
        check_batch(blinded.len())?;
        let prepared: Vec<_> = self
            .server
            .batch_blind_evaluate_prepare(blinded.iter().map(|b| &b.0))
            .collect();
        let finished = self
            .server
            .batch_blind_evaluate_finish(rng, blinded.iter().map(|b| &b.0), &prepared)
            .map_err(map_err)?;
        let elements = finished.messages.map(EvaluatedElement).collect();
        let mut proof = [0u8; OPRF_PROOF_LEN];
        proof.copy_from_slice(&finished.proof.serialize());
        Ok(Evaluation { elements, proof })
    }

    /// The `ch2` id of a `ch1` id computed directly with the key (RFC 9497 `Evaluate`,
    /// then spec §13.2), without blinding: equal to what a client's [`BlindState::finalize`]
    /// derives for the same contact. Only a party that knows the `ch1` id can call it; it
    /// measures what re-keying costs per registrant and checks the blinded protocol.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] only if the input hashes to the identity, which has negligible
    /// probability.
    pub fn evaluate_unblinded(&self, contact: &ContactId) -> Result<Ch2Id, Error> {
        let output = Zeroizing::new(self.server.evaluate(contact.as_bytes()).map_err(map_err)?);
        Ok(ch2_id(&output, &ch2_info(self.key_epoch)))
    }
}

impl fmt::Debug for OracleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            server: _,
            public,
            key_epoch,
        } = self;
        f.debug_struct("OracleKey")
            .field("public", public)
            .field("key_epoch", key_epoch)
            .finish_non_exhaustive()
    }
}

/// The client's secret state between blinding and finalizing one batch (spec §13.4): the
/// blinds and the inputs. Zeroized on drop, redacted in `Debug`, not `Clone`; finalizing
/// consumes it, so a blind is never reused.
pub struct BlindState {
    clients: Vec<VoprfClient<Suite>>,
    inputs: Vec<Zeroizing<Vec<u8>>>,
}

/// Blinds a batch of `ch1` contact ids (RFC 9497 `Blind`; spec §13.4) with fresh blinds
/// from `rng`: the secret [`BlindState`] to keep, and the blinded elements to send to the
/// oracle, in the order of `contacts`.
///
/// # Errors
/// [`Error::OprfBatchSize`] (622) for an empty batch or one over [`MAX_OPRF_BATCH`].
pub fn blind(
    rng: &mut (impl CryptoRng + RngCore),
    contacts: &[ContactId],
) -> Result<(BlindState, Vec<BlindedElement>), Error> {
    check_batch(contacts.len())?;
    let mut clients = Vec::with_capacity(contacts.len());
    let mut inputs = Vec::with_capacity(contacts.len());
    let mut blinded = Vec::with_capacity(contacts.len());
    for c in contacts {
        let r = VoprfClient::<Suite>::blind(c.as_bytes(), rng).map_err(map_err)?;
        clients.push(r.state);
        blinded.push(BlindedElement(r.message));
        inputs.push(Zeroizing::new(c.as_bytes().to_vec()));
    }
    Ok((BlindState { clients, inputs }, blinded))
}

impl BlindState {
    /// The number of contacts in the batch.
    #[must_use]
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Always false: a batch holds at least one contact.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Blinds arbitrary inputs with explicit blind scalars (the RFC 9497 vectors).
    #[cfg(feature = "hazmat")]
    pub(crate) fn blind_with(
        inputs: &[&[u8]],
        blinds: &[[u8; 32]],
    ) -> Result<(Self, Vec<BlindedElement>), Error> {
        check_batch(inputs.len())?;
        if inputs.len() != blinds.len() {
            return Err(Error::OprfBatchSize);
        }
        let mut clients = Vec::with_capacity(inputs.len());
        let mut kept = Vec::with_capacity(inputs.len());
        let mut blinded = Vec::with_capacity(inputs.len());
        for (input, b) in inputs.iter().zip(blinds) {
            let scalar = <Suite as Group>::deserialize_scalar(b).map_err(|_| Error::ApiMisuse {
                reason: "a blind must be a canonical non-zero scalar",
            })?;
            let r = VoprfClient::<Suite>::deterministic_blind_unchecked(input, scalar)
                .map_err(map_err)?;
            clients.push(r.state);
            blinded.push(BlindedElement(r.message));
            kept.push(Zeroizing::new(input.to_vec()));
        }
        Ok((
            Self {
                clients,
                inputs: kept,
            },
            blinded,
        ))
    }

    /// Verifies the batch proof under `public_key` and returns the RFC 9497 outputs, in
    /// order. Nothing is unblinded unless the proof verifies.
    pub(crate) fn finalize_outputs(
        self,
        public_key: &OraclePublicKey,
        evaluation: &Evaluation,
    ) -> Result<Vec<Zeroizing<[u8; OPRF_OUTPUT_LEN]>>, Error> {
        if evaluation.elements.len() != self.clients.len() {
            return Err(Error::OprfBatchSize);
        }
        let pk = public_key.point()?;
        let proof = voprf::Proof::<Suite>::deserialize(&evaluation.proof)
            .map_err(|_| Error::OprfProofInvalid)?;
        let messages: Vec<voprf::EvaluationElement<Suite>> =
            evaluation.elements.iter().map(|e| e.0.clone()).collect();
        let outputs =
            VoprfClient::batch_finalize(&self.inputs, &self.clients, &messages, &proof, pk)
                .map_err(map_err)?;
        let mut out = Vec::with_capacity(self.clients.len());
        for o in outputs {
            let o = o.map_err(map_err)?;
            let mut bytes = Zeroizing::new([0u8; OPRF_OUTPUT_LEN]);
            bytes.copy_from_slice(&o);
            out.push(bytes);
        }
        Ok(out)
    }

    /// Verifies the oracle's batch proof against the pinned `public_key`, unblinds, and
    /// derives the `ch2` contact ids of the batch, in the order the contacts were blinded
    /// (RFC 9497 `Finalize`, then spec §13.2). `key_epoch` is the epoch of the pinned key.
    /// Nothing is derived unless the proof verifies.
    ///
    /// # Errors
    /// [`Error::OprfBatchSize`] (622) if the evaluation holds another number of elements
    /// than the batch; [`Error::OprfProofInvalid`] (621) if the proof does not verify under
    /// `public_key` (another key, a tampered, reordered or substituted element or proof).
    pub fn finalize(
        self,
        public_key: &OraclePublicKey,
        key_epoch: u32,
        evaluation: &Evaluation,
    ) -> Result<Vec<Ch2Id>, Error> {
        let outputs = self.finalize_outputs(public_key, evaluation)?;
        let info = ch2_info(key_epoch);
        Ok(outputs.iter().map(|o| ch2_id(o.as_ref(), &info)).collect())
    }
}

impl fmt::Debug for BlindState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            clients: _,
            inputs: _,
        } = self;
        f.debug_struct("BlindState")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// Evaluates with an explicit proof scalar `r` (RFC 9497 `ProofRandomScalar`), for the
/// vectors: the RNG handed to the proof yields `r || 0^32`, which reduces to `r`.
#[cfg(feature = "hazmat")]
pub(crate) fn evaluate_with_proof_scalar(
    key: &OracleKey,
    blinded: &[BlindedElement],
    r: &[u8; 32],
) -> Result<Evaluation, Error> {
    <Suite as Group>::deserialize_scalar(r).map_err(|_| Error::ApiMisuse {
        reason: "the proof scalar must be a canonical non-zero scalar",
    })?;
    let mut rng = ScalarRng { bytes: *r, pos: 0 };
    key.evaluate(&mut rng, blinded)
}

/// Yields one fixed scalar's 32 bytes, then zeros: `Scalar::random` reads 64 bytes and
/// reduces them, so the first draw is exactly the scalar (hazmat only).
#[cfg(feature = "hazmat")]
struct ScalarRng {
    bytes: [u8; 32],
    pos: usize,
}

#[cfg(feature = "hazmat")]
impl RngCore for ScalarRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest.iter_mut() {
            *d = self.bytes.get(self.pos).copied().unwrap_or(0);
            self.pos = self.pos.saturating_add(1);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[cfg(feature = "hazmat")]
impl CryptoRng for ScalarRng {}

#[cfg(test)]
#[path = "oprf_tests.rs"]
mod tests;
