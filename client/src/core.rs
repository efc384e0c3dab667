//! Every call into the core's session persistence, decryption, handshake and prekey
//! signing, in one place, so that changes of the core's API touch only this module.
//!
//! Sealed rows use the core's binding (spec §7.8): the state is sealed under the storage
//! key with associated data naming both identities, the row's slot and its epoch, and the
//! epoch travels in clear. A row moved to another peer or slot, or re-labelled with another
//! epoch, fails to open; an older copy opens with its older epoch, which the client
//! compares with the peer's high-water mark.

use blindrelay::keys::{
    KemPrekeySecret, OneTimeKemPrekeySecret, OneTimePrekeySecret, SealingKeySecret,
    SignedPrekeySecret,
};
use blindrelay::wire::{KemPrekeyPublic, X25519PrekeyPublic};
use blindrelay::{
    BundleKeys, Decrypted, IdentityKeyPair, IdentityPublicKey, IdentityRecord, MemoryPrekeyStore,
    PrekeyBundle, Session, StorageKey, VerifiedBundle,
};
use rand_core::{CryptoRng, RngCore};

/// The slot label of the row at `position` in a peer's session list.
fn slot(position: u8) -> [u8; 1] {
    [position]
}

/// Seals `session` for storage at `position` of its peer's rows, at `epoch`.
pub(crate) fn seal_session(
    rng: &mut (impl CryptoRng + RngCore),
    storage_key: &StorageKey,
    session: &Session,
    position: u8,
    epoch: u64,
) -> Result<Vec<u8>, blindrelay::Error> {
    session.seal(rng, storage_key, &slot(position), epoch)
}

/// Opens a row sealed by [`seal_session`] and returns the session and its epoch.
pub(crate) fn open_session(
    storage_key: &StorageKey,
    local: &IdentityPublicKey,
    remote: &IdentityPublicKey,
    position: u8,
    sealed: &[u8],
) -> Result<(Session, u64), blindrelay::Error> {
    Session::open(storage_key, local, remote, &slot(position), sealed)
}

/// Starts a session from a verified bundle, carrying our identity record.
pub(crate) fn initiate(
    rng: &mut (impl CryptoRng + RngCore),
    identity: &IdentityKeyPair,
    record: &IdentityRecord,
    theirs: &VerifiedBundle,
) -> Result<Session, blindrelay::Error> {
    blindrelay::initiate(rng, identity, record, theirs)
}

/// Decrypts an inner message (initial or ratchet) with a session; on error the session is
/// unchanged. A message of this session already received is `Error::Duplicate`.
pub(crate) fn decrypt(session: &mut Session, inner: &[u8]) -> Result<Decrypted, blindrelay::Error> {
    session.decrypt_message(inner)
}

/// Runs the core's `accept` against a snapshot prekey store holding just the prekeys the
/// header names.
pub(crate) fn accept(
    identity: &IdentityKeyPair,
    prekeys: &mut MemoryPrekeyStore,
    inner: &[u8],
) -> Result<(Session, Vec<u8>), blindrelay::Error> {
    blindrelay::accept(identity, prekeys, inner)
}

/// Signed public records of one one-time X25519 prekey and one one-time ML-KEM prekey.
///
/// The core signs one-time prekeys only inside a whole bundle, so this signs a bundle and
/// cuts the two records out of it (the core's `create` recomputes the other signatures,
/// which are discarded).
pub(crate) fn sign_one_time_records(
    identity: &IdentityKeyPair,
    mailbox: [u8; 32],
    sealing: &SealingKeySecret,
    signed: (u32, &SignedPrekeySecret, u32, &KemPrekeySecret),
    one_time: (u32, &OneTimePrekeySecret),
    one_time_kem: (u32, &OneTimeKemPrekeySecret),
) -> Option<(X25519PrekeyPublic, KemPrekeyPublic)> {
    let bundle = PrekeyBundle::create(&BundleKeys {
        identity,
        mailbox,
        sealing,
        signed_prekey: (signed.0, signed.1),
        kem_prekey: (signed.2, signed.3),
        one_time_prekey: Some(one_time),
        one_time_kem_prekey: Some(one_time_kem),
    });
    Some((bundle.one_time_prekey?, bundle.one_time_kem_prekey?))
}
