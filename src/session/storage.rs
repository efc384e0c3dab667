//! Sealed session state (spec §7.8): the state encoding encrypted under a 32-byte storage
//! key the caller holds (for example in the platform keystore).

use super::persist::MAX_SESSION_STATE_LEN;
use super::Session;
use crate::codec::{read_header, write_header, MessageType, Reader, Writer};
use crate::crypto::aead::{self, TAG_LEN, XNONCE_LEN};
use crate::crypto::{random_array, CryptoRng, RngCore};
use crate::Error;
use alloc::vec::Vec;
use core::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Associated data of the sealed state (spec §7.8).
pub(crate) const SESSION_STORAGE_AD: &[u8] = b"blindrelay v1 session storage";

/// A 32-byte key that seals persisted sessions. The caller generates and keeps it (for
/// example in the platform keystore); blindrelay never stores it.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct StorageKey([u8; 32]);

impl StorageKey {
    /// Wraps 32 secret bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random key.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        Self(random_array(rng))
    }
}

impl fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageKey").finish_non_exhaustive()
    }
}

impl PartialEq for StorageKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}
impl Eq for StorageKey {}

impl Session {
    /// The session state sealed under `key` (spec §7.8):
    /// `0x01 0x06 || nonce (24) || opaque32(XChaCha20-Poly1305(key, nonce,
    /// SESSION_STORAGE_AD, state))`, with a random nonce.
    #[must_use]
    pub fn seal(&self, rng: &mut (impl CryptoRng + RngCore), key: &StorageKey) -> Vec<u8> {
        let nonce = random_array::<XNONCE_LEN>(rng);
        let state = self.to_bytes();
        let ct = aead::xseal(&key.0, &nonce, SESSION_STORAGE_AD, &state);
        let mut w = Writer::with_capacity(2 + XNONCE_LEN + 4 + ct.len());
        write_header(&mut w, MessageType::SEALED_SESSION_STATE);
        w.bytes(&nonce);
        w.opaque_u32(&ct);
        w.into_inner()
    }

    /// Opens a state sealed by [`Session::seal`] and restores the session.
    ///
    /// # Errors
    /// Decode errors; [`Error::Decrypt`] under the wrong key or after any modification.
    pub fn open(key: &StorageKey, sealed: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(sealed);
        read_header(&mut r, MessageType::SEALED_SESSION_STATE)?;
        let nonce = r.array::<XNONCE_LEN>()?;
        let ct = r.opaque_u32(MAX_SESSION_STATE_LEN + TAG_LEN, "sealed_state.ciphertext")?;
        r.finish()?;
        let state = zeroize::Zeroizing::new(aead::xopen(&key.0, &nonce, SESSION_STORAGE_AD, ct)?);
        Self::from_bytes(&state)
    }
}
