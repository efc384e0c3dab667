//! Prekey secrets (spec §5.1). X25519 prekey secrets are 32-byte scalars (clamped by
//! X25519 itself); ML-KEM-768 prekey secrets are the 64-byte FIPS 203 seed `d || z`.

use crate::crypto::{dh, kem, random_array, CryptoRng, RngCore};
use core::fmt;
use subtle::{Choice, ConstantTimeEq};
use x25519_dalek::StaticSecret;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Constant-time equality for a secret newtype over a boxed byte array, and `PartialEq`
/// built on it (never derived on secret bytes).
macro_rules! secret_eq {
    ($name:ident) => {
        impl ConstantTimeEq for $name {
            fn ct_eq(&self, other: &Self) -> Choice {
                self.0.ct_eq(&*other.0)
            }
        }
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                bool::from(self.ct_eq(other))
            }
        }
        impl Eq for $name {}
    };
}

macro_rules! x25519_secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Zeroize, ZeroizeOnDrop)]
        pub struct $name(Box<[u8; 32]>);

        impl $name {
            /// A fresh secret from the caller's RNG.
            pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
                Self(Box::new(random_array(rng)))
            }
            /// Restores a secret from its 32 bytes (as kept in the caller's store).
            #[must_use]
            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                let mut bytes = bytes;
                let s = Self(Box::new(bytes));
                bytes.zeroize();
                s
            }
            /// Exports the secret bytes for the caller's own storage.
            #[must_use]
            pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
                Zeroizing::new(*self.0)
            }
            /// The X25519 public key.
            #[must_use]
            pub fn public_key(&self) -> [u8; 32] {
                dh::public_key(&self.static_secret())
            }
            pub(crate) fn static_secret(&self) -> StaticSecret {
                StaticSecret::from(*self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let Self(_) = self;
                f.debug_struct(stringify!($name))
                    .field("public", &crate::keys::identity::Hex8(&self.public_key()))
                    .finish_non_exhaustive()
            }
        }

        secret_eq!($name);
    };
}

macro_rules! kem_secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Zeroize, ZeroizeOnDrop)]
        pub struct $name(Box<[u8; kem::SEED_LEN]>);

        impl $name {
            /// A fresh key-generation seed from the caller's RNG.
            pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
                Self(Box::new(random_array(rng)))
            }
            /// Restores a secret from its 64-byte seed.
            #[must_use]
            pub fn from_bytes(bytes: [u8; kem::SEED_LEN]) -> Self {
                let mut bytes = bytes;
                let s = Self(Box::new(bytes));
                bytes.zeroize();
                s
            }
            /// Exports the seed for the caller's own storage.
            #[must_use]
            pub fn to_bytes(&self) -> Zeroizing<[u8; kem::SEED_LEN]> {
                Zeroizing::new(*self.0)
            }
            /// The ML-KEM-768 encapsulation key (recomputed from the seed).
            #[must_use]
            pub fn encapsulation_key(&self) -> [u8; kem::ENCAPSULATION_KEY_LEN] {
                kem::encapsulation_key(&self.0)
            }
            pub(crate) fn seed(&self) -> &[u8; kem::SEED_LEN] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let Self(_) = self;
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        secret_eq!($name);
    };
}

x25519_secret!(
    /// The secret half of a signed X25519 prekey (SPK). It also serves as the responder's
    /// first ratchet key pair.
    SignedPrekeySecret
);
x25519_secret!(
    /// The secret half of a one-time X25519 prekey (OPK), deleted after first use.
    OneTimePrekeySecret
);
x25519_secret!(
    /// The secret half of the X25519 sealing key that envelopes are sealed to (spec §8).
    SealingKeySecret
);
kem_secret!(
    /// The seed of a signed ML-KEM-768 prekey (the last-resort PQ prekey, reusable).
    KemPrekeySecret
);
kem_secret!(
    /// The seed of a one-time ML-KEM-768 prekey, deleted after first use.
    OneTimeKemPrekeySecret
);

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn debug_is_redacted_and_eq_is_by_value() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let s = SignedPrekeySecret::generate(&mut rng);
        let secret_hex = hex::encode(*s.to_bytes());
        let dbg = format!("{s:?}");
        assert!(!dbg.contains(&secret_hex), "{dbg}");
        assert!(!dbg.contains(&secret_hex[..16]), "{dbg}");
        assert!(dbg.contains("SignedPrekeySecret"));
        assert_eq!(s, SignedPrekeySecret::from_bytes(*s.to_bytes()));
        assert_ne!(s, SignedPrekeySecret::generate(&mut rng));

        let k = KemPrekeySecret::generate(&mut rng);
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(&hex::encode(&k.to_bytes()[..8])), "{dbg}");
        assert_eq!(k, KemPrekeySecret::from_bytes(*k.to_bytes()));
    }
}
