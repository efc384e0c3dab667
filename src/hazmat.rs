//! Deterministic entry points with explicit randomness and every intermediate value, for
//! the conformance suite (`conformance/`) and for auditors. Behind the off-by-default
//! `hazmat` feature: applications never need it, and nothing here is required for safe use.
//!
//! Everything here takes the randomness the normal API draws from the caller's RNG as an
//! explicit argument, so that a test vector can pin it.

use crate::bundle::VerifiedBundle;
use crate::crypto::kdf;
use crate::crypto::labels::{IDENTITY_ED25519_INFO, IDENTITY_X25519_INFO};
pub use crate::handshake::HandshakeTrace;
use crate::keys::{IdentityKeyPair, PrekeyStore};
use crate::wire::InitialHeader;
use crate::Error;
use zeroize::Zeroizing;

/// An Ed25519 signing key from a raw RFC 8032 secret key (for the primitive pins).
#[must_use]
pub fn ed25519_signing_key(secret: &[u8; 32]) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(secret)
}

/// The two derived identity secrets (spec §4.1): `(ed25519 seed, x25519 secret)`.
#[must_use]
pub fn identity_secrets(seed: &[u8; 32]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    (
        kdf::hkdf(&[], seed, IDENTITY_ED25519_INFO),
        kdf::hkdf(&[], seed, IDENTITY_X25519_INFO),
    )
}

/// The initiator's handshake with an explicit ephemeral secret and ML-KEM randomness
/// (spec §6.2, §6.4): returns the initial header and every intermediate value.
///
/// # Errors
/// [`Error::NonContributory`] if a DH output is all zero; [`Error::InvalidPublicKey`] if
/// the ML-KEM key fails validation.
pub fn handshake_initiator(
    ours: &IdentityKeyPair,
    our_record: &crate::wire::IdentityRecord,
    theirs: &VerifiedBundle,
    ephemeral: &[u8; 32],
    kem_randomness: &[u8; 32],
) -> Result<(InitialHeader, HandshakeTrace), Error> {
    let (_seed, header, trace) = crate::handshake::initiator_secrets(
        ours,
        our_record,
        theirs,
        ephemeral,
        kem_randomness,
        crate::handshake::Trace::Keep,
    )?;
    trace.map(|t| (header, t)).ok_or(Error::ApiMisuse {
        reason: "unreachable: trace requested",
    })
}

/// Starts a session whose initial header carries `record` as given, even one that is not
/// `ours`'s: a forged identity record, for the negative vectors of spec §6.5 (the responder
/// must refuse it with `BadSignature`). Never use it to send.
///
/// # Errors
/// As [`crate::initiate`], without its `ApiMisuse` check.
pub fn initiate_with_any_record(
    rng: &mut (impl crate::crypto::CryptoRng + crate::crypto::RngCore),
    ours: &IdentityKeyPair,
    record: &crate::wire::IdentityRecord,
    theirs: &VerifiedBundle,
) -> Result<crate::Session, Error> {
    crate::handshake::start(rng, ours, record, theirs)
}

/// The responder's recomputation from a header (spec §6.5), changing nothing in `store`.
///
/// # Errors
/// As the handshake's responder checks: [`Error::UnknownPrekey`],
/// [`Error::ReplayedInitialMessage`], [`Error::NonContributory`].
pub fn handshake_responder(
    ours: &IdentityKeyPair,
    store: &impl PrekeyStore,
    header: &InitialHeader,
) -> Result<HandshakeTrace, Error> {
    let (_seed, _used, trace) =
        crate::handshake::responder_seed(ours, store, header, crate::handshake::Trace::Keep)?;
    trace.ok_or(Error::ApiMisuse {
        reason: "unreachable: trace requested",
    })
}

/// The ratchet's root KDF `KDF_RK_HE` (spec §7.2): `(root key, chain key, next header key)`.
#[must_use]
pub fn ratchet_root_step(root_key: &[u8; 32], dh_out: &[u8; 32]) -> [Zeroizing<[u8; 32]>; 3] {
    let s = crate::ratchet::root_step(root_key, dh_out);
    [s.root_key, s.chain_key, s.next_header_key]
}

/// The ratchet's chain KDF `KDF_CK` (spec §7.2): `(message key, next chain key)`.
#[must_use]
pub fn ratchet_chain_step(chain_key: &[u8; 32]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    crate::ratchet::chain_step(chain_key)
}

pub use crate::envelope::SealTrace;

/// Seals `body` as the body of a pairwise envelope of `session` without padding it (spec
/// §8.15): authenticated bad padding, for negative vectors. `body.len()` must be a padded
/// length for the envelope to parse.
///
/// # Errors
/// As [`Session::seal_pairwise`](crate::Session::seal_pairwise).
pub fn seal_pairwise_unpadded(
    session: &mut crate::Session,
    rng: &mut (impl crate::crypto::CryptoRng + crate::crypto::RngCore),
    body: &[u8],
) -> Result<Vec<u8>, Error> {
    session.seal_pairwise_raw(rng, body)
}

/// The read capability of the pairwise mailbox keyed by a chain's header key (spec
/// §8.14), for the conformance vectors.
#[must_use]
pub fn pairwise_capability(header_key: &[u8; 32]) -> crate::route::ReadCapability {
    crate::route::ReadCapability::pairwise(header_key)
}

/// The key schedule of an HPKE base-mode setup (RFC 9180 §5.1), for the vectors.
pub struct HpkeTrace {
    /// The KEM shared secret.
    pub shared_secret: Zeroizing<[u8; 32]>,
    /// The AEAD key.
    pub key: Zeroizing<[u8; 32]>,
    /// The AEAD base nonce.
    pub base_nonce: [u8; 12],
    /// The exporter secret.
    pub exporter_secret: Zeroizing<[u8; 32]>,
}

/// RFC 9180 `DeriveKeyPair(ikm)` for DHKEM(X25519, HKDF-SHA256): the secret key.
#[must_use]
pub fn hpke_derive_key_pair(ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    crate::crypto::hpke::derive_key_pair(ikm)
}

/// HPKE base mode, single shot at sequence 0, with the ephemeral key pair
/// `DeriveKeyPair(ikm_e)` (spec §8.2): returns `(enc, ciphertext, key schedule)`.
///
/// # Errors
/// [`Error::NonContributory`] if `pk_r` is a low-order point.
pub fn hpke_seal_base(
    ikm_e: &[u8; 32],
    pk_r: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
) -> Result<([u8; 32], Vec<u8>, HpkeTrace), Error> {
    let (enc, ctx) = crate::crypto::hpke::setup_base_s_with_ikm(ikm_e, pk_r, info)?;
    let trace = HpkeTrace {
        shared_secret: Zeroizing::new(*ctx.shared_secret()),
        key: Zeroizing::new(*ctx.key()),
        base_nonce: *ctx.base_nonce(),
        exporter_secret: Zeroizing::new(*ctx.exporter_secret()),
    };
    Ok((enc, ctx.seal(aad, pt), trace))
}

/// HPKE base mode open at sequence 0 with the raw recipient secret `sk_r`.
///
/// # Errors
/// [`Error::NonContributory`] for a low-order `enc`, [`Error::Decrypt`] if the tag fails.
pub fn hpke_open_base(
    sk_r: &[u8; 32],
    enc: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
) -> Result<Vec<u8>, Error> {
    let secret = x25519_dalek::StaticSecret::from(*sk_r);
    crate::crypto::hpke::setup_base_r(enc, &secret, info)?.open(aad, ct)
}

/// Envelope sealing with an explicit `ikmE` (spec §8.7), returning every intermediate
/// value.
///
/// # Errors
/// As [`crate::envelope::seal`].
pub fn envelope_seal(
    ikm_e: &[u8; 32],
    recipient_mailbox: &[u8; 32],
    recipient_sealing_key: &[u8; 32],
    sender: &crate::IdentityPublicKey,
    inner: &[u8],
) -> Result<(crate::Envelope, SealTrace), Error> {
    crate::envelope::seal_traced(
        ikm_e,
        recipient_mailbox,
        recipient_sealing_key,
        sender,
        inner,
    )
}

/// Seals an arbitrary AEAD plaintext in an envelope, as if it were a padded content: for
/// negative vectors only (bad padding, unknown inner type). Never use it to send.
///
/// # Errors
/// [`Error::InvalidEncoding`] if `padded.len()` is not a padded length;
/// [`Error::NonContributory`] for a low-order sealing key.
pub fn envelope_seal_padded_for_testing(
    ikm_e: &[u8; 32],
    recipient_mailbox: &[u8; 32],
    recipient_sealing_key: &[u8; 32],
    padded: &[u8],
) -> Result<crate::Envelope, Error> {
    crate::envelope::seal_padded_for_testing(
        ikm_e,
        recipient_mailbox,
        recipient_sealing_key,
        padded,
    )
}

/// [`Session::seal`](crate::Session::seal) with an explicit nonce (spec §7.8), for the
/// sealed-state vectors.
///
/// # Errors
/// As [`Session::seal`](crate::Session::seal).
pub fn seal_session_with_nonce(
    session: &crate::Session,
    key: &crate::StorageKey,
    slot: &[u8],
    epoch: u64,
    nonce: &[u8; 24],
) -> Result<Vec<u8>, Error> {
    session.seal_with_nonce(key, slot, epoch, nonce)
}

/// A change to a session's state that the public API reaches only after 2³² messages, or
/// never, so that negative vectors can exercise the checks that guard them (spec §7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionTweak {
    /// Sets `Ns`, the next sending message number.
    SendingNumber(u32),
    /// Removes the sending chain and any pending step (a responder before its first
    /// decryption).
    NoSendingChain,
}

/// Applies a [`SessionTweak`].
pub fn tweak_session(session: &mut crate::Session, tweak: SessionTweak) {
    session.tweak(tweak);
}

/// The oracle key `DeriveKeyPair(seed, info)` of RFC 9497 §3.2.1 with any `info` (the
/// RFC's vectors use `"test key"`), labelled with `key_epoch`. Suite `ch2` itself always
/// uses [`OracleKey::derive`](crate::contact::OracleKey::derive) (spec §13.3).
///
/// # Errors
/// [`Error::ApiMisuse`] if `seed` and `info` together exceed the RFC's length bound.
pub fn oprf_oracle_key_with_info(
    seed: &[u8],
    info: &[u8],
    key_epoch: u32,
) -> Result<crate::contact::OracleKey, Error> {
    crate::contact::OracleKey::derive_with_info(seed, info, key_epoch)
}

/// The oracle key whose secret scalar `skS` is `sk` (canonical, little-endian, non-zero),
/// for the RFC 9497 vectors: its public key pins `skSm` (`pkS = skS · G`).
///
/// # Errors
/// [`Error::ApiMisuse`] for a zero or non-canonical scalar.
pub fn oprf_oracle_key_from_scalar(
    sk: &[u8; 32],
    key_epoch: u32,
) -> Result<crate::contact::OracleKey, Error> {
    crate::contact::OracleKey::from_scalar(sk, key_epoch)
}

/// RFC 9497 `Blind` of arbitrary inputs with explicit blind scalars (canonical, non-zero,
/// little-endian), for the RFC vectors: the state and the blinded elements, in order.
///
/// # Errors
/// [`Error::OprfBatchSize`] for an empty or oversized batch or unequal lengths;
/// [`Error::ApiMisuse`] for a zero or non-canonical blind or an empty input.
pub fn oprf_blind_with(
    inputs: &[&[u8]],
    blinds: &[[u8; 32]],
) -> Result<
    (
        crate::contact::BlindState,
        Vec<crate::contact::BlindedElement>,
    ),
    Error,
> {
    crate::contact::BlindState::blind_with(inputs, blinds)
}

/// [`OracleKey::evaluate`](crate::contact::OracleKey::evaluate) with an explicit proof
/// scalar `r` (RFC 9497 `ProofRandomScalar`), for the vectors.
///
/// # Errors
/// As `evaluate`; [`Error::ApiMisuse`] for a zero or non-canonical `r`.
pub fn oprf_evaluate_with_proof_scalar(
    key: &crate::contact::OracleKey,
    blinded: &[crate::contact::BlindedElement],
    r: &[u8; 32],
) -> Result<crate::contact::Evaluation, Error> {
    crate::contact::oprf::evaluate_with_proof_scalar(key, blinded, r)
}

/// [`BlindState::finalize`](crate::contact::BlindState::finalize) up to the RFC 9497
/// `Finalize` outputs (64 bytes each), before the `ch2` id derivation, for the vectors.
///
/// # Errors
/// As `finalize`.
pub fn oprf_finalize_outputs(
    state: crate::contact::BlindState,
    public_key: &crate::contact::OraclePublicKey,
    evaluation: &crate::contact::Evaluation,
) -> Result<Vec<Zeroizing<[u8; 64]>>, Error> {
    state.finalize_outputs(public_key, evaluation)
}
