//! X25519 with the contributory check (spec §3.1). Every DH output passes through
//! [`diffie_hellman`], which rejects the all-zero output before any key is derived.

use crate::Error;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// Length of an X25519 public key, secret and shared secret.
pub const X25519_LEN: usize = 32;

/// Computes X25519(`secret`, `public`) and rejects a non-contributory result.
///
/// # Errors
/// [`Error::NonContributory`] if the output is all zero (a low-order `public`).
pub fn diffie_hellman(
    secret: &StaticSecret,
    public: &[u8; X25519_LEN],
) -> Result<Zeroizing<[u8; X25519_LEN]>, Error> {
    let shared = secret.diffie_hellman(&PublicKey::from(*public));
    if !shared.was_contributory() {
        return Err(Error::NonContributory);
    }
    Ok(Zeroizing::new(shared.to_bytes()))
}

/// The public key of an X25519 secret.
#[must_use]
pub fn public_key(secret: &StaticSecret) -> [u8; X25519_LEN] {
    PublicKey::from(secret).to_bytes()
}

/// X25519(`scalar`, `u`) on raw bytes, with the contributory check (for test vectors and
/// for protocols above this crate that hold raw scalars).
///
/// # Errors
/// [`Error::NonContributory`] if the output is all zero.
pub fn x25519(
    scalar: &[u8; X25519_LEN],
    u: &[u8; X25519_LEN],
) -> Result<Zeroizing<[u8; X25519_LEN]>, Error> {
    diffie_hellman(&StaticSecret::from(*scalar), u)
}

/// The X25519 public key of a raw secret scalar.
#[must_use]
pub fn public_from_secret(secret: &[u8; X25519_LEN]) -> [u8; X25519_LEN] {
    public_key(&StaticSecret::from(*secret))
}
