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
    theirs: &VerifiedBundle,
    ephemeral: &[u8; 32],
    kem_randomness: &[u8; 32],
) -> Result<(InitialHeader, HandshakeTrace), Error> {
    let (_seed, header, trace) =
        crate::handshake::initiator_secrets(ours, theirs, ephemeral, kem_randomness)?;
    Ok((header, trace))
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
    let (_seed, _used, trace) = crate::handshake::responder_seed(ours, store, header)?;
    Ok(trace)
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
