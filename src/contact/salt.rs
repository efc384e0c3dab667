//! The relay id and the per-relay contact salt (spec §9.3). Clients derive both from the
//! relay's pinned Ed25519 public key and the signed discovery parameters; a salt is never
//! read from the wire.

use crate::crypto::{random_array, CryptoRng, RngCore};
use sha2::{Digest, Sha256};

/// Hash prefix of the relay id (spec §9.3).
pub(crate) const RELAY_ID_LABEL: &[u8] = b"blindrelay v1 contact relay id";
/// Hash prefix of the contact salt (spec §9.3).
pub(crate) const CONTACT_SALT_LABEL: &[u8] = b"blindrelay v1 contact salt";

/// Length of a contact salt: 16 bytes, the only salt length libsodium's `crypto_pwhash`
/// accepts (spec §9.3).
pub const SALT_LEN: usize = 16;
/// Length of the relay's published salt nonce (spec §9.3).
pub const SALT_NONCE_LEN: usize = 32;

/// A relay's discovery identity: `SHA-256(RELAY_ID_LABEL || 0x00 || relay_key)` (spec §9.3).
/// Public; binds salts and dummy prefixes to one relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RelayId(pub [u8; 32]);

impl RelayId {
    /// Derives the relay id from the relay's long-term Ed25519 public key.
    #[must_use]
    pub fn from_relay_key(relay_key: &[u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(RELAY_ID_LABEL);
        h.update([0x00]);
        h.update(relay_key);
        Self(h.finalize().into())
    }
}

/// The random nonce a relay publishes with each salt generation (spec §9.3), so nobody can
/// precompute identifiers before the generation starts. Public.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SaltNonce(pub [u8; SALT_NONCE_LEN]);

impl SaltNonce {
    /// A fresh nonce from the caller's RNG, for a relay starting a salt generation.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        Self(random_array(rng))
    }
}

/// The 16-byte Argon2id salt of one relay and salt generation (spec §9.3):
/// `SHA-256(CONTACT_SALT_LABEL || 0x00 || relay_id || BE32(generation) || nonce)[0..16]`.
///
/// Public by construction (every client of the relay derives it), so it is not treated as a
/// secret; its only job is to make identifiers relay- and generation-specific and to defeat
/// precomputed tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ContactSalt(pub [u8; SALT_LEN]);

impl ContactSalt {
    /// Derives the salt of `relay_id` for `generation` and its published `nonce`.
    #[must_use]
    pub fn derive(relay_id: &RelayId, generation: u32, nonce: &SaltNonce) -> Self {
        let mut h = Sha256::new();
        h.update(CONTACT_SALT_LABEL);
        h.update([0x00]);
        h.update(relay_id.0);
        h.update(generation.to_be_bytes());
        h.update(nonce.0);
        let digest: [u8; 32] = h.finalize().into();
        let mut salt = [0u8; SALT_LEN];
        for (s, d) in salt.iter_mut().zip(digest) {
            *s = d;
        }
        Self(salt)
    }
}
