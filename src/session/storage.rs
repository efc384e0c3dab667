//! Sealed session state (spec §7.8): the state encoding encrypted under a 32-byte storage
//! key the caller holds (for example in the platform keystore).

use super::persist::MAX_SESSION_STATE_LEN;
use super::Session;
use crate::codec::{read_header, write_header, Encode, MessageType, Reader, Writer};
use crate::crypto::aead::{self, TAG_LEN, XNONCE_LEN};
use crate::crypto::{random_array, CryptoRng, RngCore};
use crate::keys::IdentityPublicKey;
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

    /// The 32 secret bytes, for the caller's keystore (erased when dropped).
    #[must_use]
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0)
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

/// The longest caller-chosen slot label a sealed state can be bound to (spec §7.8).
pub const MAX_SLOT_LEN: usize = 255;

/// What a sealed state is bound to besides its key (spec §7.8): the session's two
/// identities, a caller-chosen slot (for example the peer's row id and device) and a
/// monotonic epoch. Whoever can write the storage can neither swap one peer's sealed state
/// for another's, nor move it to another slot; an older copy opens, but with its older
/// epoch, which the caller compares with its high-water mark.
fn storage_ad(
    local: &IdentityPublicKey,
    remote: &IdentityPublicKey,
    slot: &[u8],
    epoch: u64,
) -> Result<Vec<u8>, Error> {
    let slot_len = u8::try_from(slot.len()).map_err(|_| Error::ApiMisuse {
        reason: "storage slot longer than 255 bytes",
    })?;
    let mut w = Writer::with_capacity(SESSION_STORAGE_AD.len() + 128 + 1 + slot.len() + 8);
    w.bytes(SESSION_STORAGE_AD);
    local.encode(&mut w);
    remote.encode(&mut w);
    w.u8(slot_len);
    w.bytes(slot);
    w.u64(epoch);
    Ok(w.into_inner())
}

impl Session {
    /// The session state sealed under `key` and bound to this session's identities, `slot`
    /// and `epoch` (spec §7.8):
    /// `0x01 0x06 || epoch (u64) || nonce (24) || opaque32(XChaCha20-Poly1305(key, nonce,
    /// ad, state))` with `ad = SESSION_STORAGE_AD || local identity || remote identity ||
    /// u8 slot length || slot || epoch` and a random nonce.
    ///
    /// Use a new, larger `epoch` for every save of the same slot (a counter kept with the
    /// storage key, or the row's version): [`Session::open`] returns it, and a value below
    /// the newest one the caller has seen is a restored or replayed older copy.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if `slot` is longer than [`MAX_SLOT_LEN`].
    pub fn seal(
        &self,
        rng: &mut (impl CryptoRng + RngCore),
        key: &StorageKey,
        slot: &[u8],
        epoch: u64,
    ) -> Result<Vec<u8>, Error> {
        let nonce = random_array::<XNONCE_LEN>(rng);
        self.seal_with_nonce(key, slot, epoch, &nonce)
    }

    /// [`Session::seal`] with an explicit nonce (for the conformance vectors, through
    /// `hazmat`).
    pub(crate) fn seal_with_nonce(
        &self,
        key: &StorageKey,
        slot: &[u8],
        epoch: u64,
        nonce: &[u8; XNONCE_LEN],
    ) -> Result<Vec<u8>, Error> {
        let ad = storage_ad(&self.local_identity, &self.remote_identity, slot, epoch)?;
        let state = self.to_bytes();
        let ct = aead::xseal(&key.0, nonce, &ad, &state);
        let mut w = Writer::with_capacity(2 + 8 + XNONCE_LEN + 4 + ct.len());
        write_header(&mut w, MessageType::SEALED_SESSION_STATE);
        w.u64(epoch);
        w.bytes(nonce);
        w.opaque_u32(&ct);
        Ok(w.into_inner())
    }

    /// Opens a state sealed by [`Session::seal`] for the session between `local` and
    /// `remote` in `slot`, and returns it with its epoch. The caller MUST compare the epoch
    /// with the newest it has seen for this slot: a smaller one is an older copy (a restored
    /// backup, or storage rolled back by whoever can write it), spec §7.9.
    ///
    /// # Errors
    /// Decode errors; [`Error::Decrypt`] under the wrong key, for another pair of
    /// identities, another slot, a changed epoch or after any modification;
    /// [`Error::ApiMisuse`] if `slot` is longer than [`MAX_SLOT_LEN`].
    pub fn open(
        key: &StorageKey,
        local: &IdentityPublicKey,
        remote: &IdentityPublicKey,
        slot: &[u8],
        sealed: &[u8],
    ) -> Result<(Self, u64), Error> {
        let mut r = Reader::new(sealed);
        read_header(&mut r, MessageType::SEALED_SESSION_STATE)?;
        let epoch = r.u64()?;
        let nonce = r.array::<XNONCE_LEN>()?;
        let ct = r.opaque_u32(MAX_SESSION_STATE_LEN + TAG_LEN, "sealed_state.ciphertext")?;
        r.finish()?;
        let ad = storage_ad(local, remote, slot, epoch)?;
        let state = zeroize::Zeroizing::new(aead::xopen(&key.0, &nonce, &ad, ct)?);
        let session = Self::from_bytes(&state)?;
        // The AD already binds them; a state whose own identities differ was sealed by a
        // holder of the key under a false label.
        if session.local_identity != *local || session.remote_identity != *remote {
            return Err(Error::Decrypt);
        }
        Ok((session, epoch))
    }

    /// The epoch of a sealed state, read without the key (it is in clear, and
    /// authenticated when the state is opened): lets a store pick the newest copy.
    ///
    /// # Errors
    /// Decode errors of the sealed form's prefix.
    pub fn sealed_epoch(sealed: &[u8]) -> Result<u64, Error> {
        let mut r = Reader::new(sealed);
        read_header(&mut r, MessageType::SEALED_SESSION_STATE)?;
        r.u64()
    }
}
