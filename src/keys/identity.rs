//! Identity key pairs (spec §4.1). An identity is derived from one 32-byte seed:
//!
//! ```text
//! ed25519_seed  = HKDF-SHA256(salt = "", ikm = seed, info = IDENTITY_ED25519_INFO, L = 32)
//! x25519_secret = HKDF-SHA256(salt = "", ikm = seed, info = IDENTITY_X25519_INFO,  L = 32)
//! ```
//!
//! The public half is always derived from the secret, never supplied separately, so a
//! key pair can never sign with a mismatched public key (ed25519-dalek issue #221).

use crate::crypto::labels::{IDENTITY_ED25519_INFO, IDENTITY_X25519_INFO};
use crate::crypto::{dh, kdf, random_array, sig, CryptoRng, RngCore};
pub use crate::wire::IdentityPublicKey;
use core::fmt;
use ed25519_dalek::SigningKey;
use subtle::{Choice, ConstantTimeEq};
use x25519_dalek::StaticSecret;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A party's long-term identity: an Ed25519 signing key and an X25519 agreement key, both
/// derived from one seed. Not `Clone`; export the seed with [`IdentityKeyPair::to_seed`].
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct IdentityKeyPair {
    seed: Box<[u8; 32]>,
    #[zeroize(skip)]
    public: IdentityPublicKey,
}

impl IdentityKeyPair {
    /// A fresh identity from the caller's RNG.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        let mut seed = random_array::<32>(rng);
        let pair = Self::from_seed(&seed);
        seed.zeroize();
        pair
    }

    /// Restores an identity from its 32-byte seed.
    #[must_use]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let seed = Box::new(*seed);
        let public = IdentityPublicKey {
            signing: Self::signing_key_from(&seed).verifying_key().to_bytes(),
            agreement: dh::public_key(&Self::agreement_from(&seed)),
        };
        Self { seed, public }
    }

    /// Exports the seed for the caller's own storage.
    #[must_use]
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*self.seed)
    }

    /// The public identity.
    #[must_use]
    pub fn public(&self) -> &IdentityPublicKey {
        &self.public
    }

    fn signing_key_from(seed: &[u8; 32]) -> SigningKey {
        let ed_seed: Zeroizing<[u8; 32]> = kdf::hkdf(&[], seed, IDENTITY_ED25519_INFO);
        SigningKey::from_bytes(&ed_seed)
    }

    fn agreement_from(seed: &[u8; 32]) -> StaticSecret {
        let x: Zeroizing<[u8; 32]> = kdf::hkdf(&[], seed, IDENTITY_X25519_INFO);
        StaticSecret::from(*x)
    }

    /// Signs `msg` with the identity's Ed25519 key.
    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        sig::sign(&Self::signing_key_from(&self.seed), msg)
    }

    /// The identity's X25519 agreement secret.
    pub(crate) fn agreement_secret(&self) -> StaticSecret {
        Self::agreement_from(&self.seed)
    }
}

impl fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { seed: _, public } = self;
        f.debug_struct("IdentityKeyPair")
            .field("public", public)
            .finish_non_exhaustive()
    }
}

impl ConstantTimeEq for IdentityKeyPair {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.seed.ct_eq(&*other.seed)
    }
}
impl PartialEq for IdentityKeyPair {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.ct_eq(other))
    }
}
impl Eq for IdentityKeyPair {}

/// Prints the first 8 bytes of public data as hex (a short, non-secret fingerprint).
pub(crate) struct Hex8<'a>(pub(crate) &'a [u8; 32]);

impl fmt::Debug for Hex8<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.iter().take(8) {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn derived_public_matches_signing_and_debug_is_redacted() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let id = IdentityKeyPair::generate(&mut rng);
        let seed_hex = hex::encode(*id.to_seed());
        let dbg = format!("{id:?}");
        assert!(!dbg.contains(&seed_hex[..16]), "{dbg}");
        let sig = id.sign(b"msg");
        assert_eq!(sig::verify(&id.public().signing, b"msg", &sig), Ok(()));
        let again = IdentityKeyPair::from_seed(&id.to_seed());
        assert_eq!(again.public(), id.public());
        assert_eq!(again, id);
        assert_ne!(IdentityKeyPair::generate(&mut rng), id);
        // The two halves are independent keys.
        assert_ne!(id.public().signing, id.public().agreement);
    }
}
