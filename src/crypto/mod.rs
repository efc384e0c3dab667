//! Thin wrappers over the v1 suite's primitives (spec §3). This layer knows nothing about
//! the wire format; it never imports `crate::codec` or `crate::wire`.
//!
//! Suite v1 is fixed (no negotiation, hence no downgrade): X25519, Ed25519 (strict
//! verification), ML-KEM-768, HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305 and
//! XChaCha20-Poly1305, SHA-256 and SHA-512.

pub mod aead;
pub mod dh;
pub(crate) mod hpke;
pub mod kdf;
pub mod kem;
pub mod labels;
pub mod sig;

pub use rand_core::{CryptoRng, RngCore};

/// Fills a fresh array from the caller's RNG.
pub(crate) fn random_array<const N: usize>(rng: &mut (impl CryptoRng + RngCore)) -> [u8; N] {
    let mut out = [0u8; N];
    rng.fill_bytes(&mut out);
    out
}
