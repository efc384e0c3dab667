//! Every call into the core's session persistence, decryption, handshake acceptance and
//! prekey signing, in one place, so that the core's API changes (issue 15: `seal`/`open`
//! with a [`SealContext`]-like binding and an epoch, `decrypt_message` with a position
//! and a distinct `Duplicate`, a standalone prekey signer) touch only this module.
//!
//! Until the core binds sealed state to its context, [`seal_session`] does it here: the
//! session's state encoding ([`Session::to_bytes`]) is sealed with XChaCha20-Poly1305
//! under the storage key, with associated data
//! `SEAL_AD || local identity (64) || remote identity (64) || slot (1) || epoch (8, BE)`,
//! and stored as `epoch (8, BE) || nonce (24) || ciphertext`. A row moved to another peer
//! or slot, or re-labelled with another epoch, fails to open.

use blindrelay::crypto::aead::{xopen, xseal, XNONCE_LEN};
use blindrelay::keys::{
    KemPrekeySecret, OneTimeKemPrekeySecret, OneTimePrekeySecret, SealingKeySecret,
    SignedPrekeySecret,
};
use blindrelay::wire::{KemPrekeyPublic, X25519PrekeyPublic};
use blindrelay::{
    BundleKeys, IdentityKeyPair, IdentityPublicKey, MemoryPrekeyStore, PrekeyBundle, Session,
};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

/// Associated-data label of a sealed session row of this crate.
const SEAL_AD: &[u8] = b"blindrelay-client v1 session";

fn seal_ad(local: &IdentityPublicKey, remote: &IdentityPublicKey, slot: u8, epoch: u64) -> Vec<u8> {
    let mut ad = Vec::with_capacity(SEAL_AD.len() + 64 + 64 + 1 + 8);
    ad.extend_from_slice(SEAL_AD);
    ad.extend_from_slice(&local.to_array());
    ad.extend_from_slice(&remote.to_array());
    ad.push(slot);
    ad.extend_from_slice(&epoch.to_be_bytes());
    ad
}

/// Seals `session` for storage in `slot` of its peer's rows at `epoch`.
pub(crate) fn seal_session(
    rng: &mut (impl CryptoRng + RngCore),
    storage_key: &[u8; 32],
    session: &Session,
    slot: u8,
    epoch: u64,
) -> Vec<u8> {
    let mut nonce = [0u8; XNONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let state = session.to_bytes();
    let ad = seal_ad(
        session.local_identity(),
        session.remote_identity(),
        slot,
        epoch,
    );
    let ct = xseal(storage_key, &nonce, &ad, &state);
    let mut out = Vec::with_capacity(8 + XNONCE_LEN + ct.len());
    out.extend_from_slice(&epoch.to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

/// Opens a row sealed by [`seal_session`] and returns the session and its epoch.
pub(crate) fn open_session(
    storage_key: &[u8; 32],
    local: &IdentityPublicKey,
    remote: &IdentityPublicKey,
    slot: u8,
    sealed: &[u8],
) -> Result<(Session, u64), blindrelay::Error> {
    let (epoch, rest) = sealed
        .split_first_chunk::<8>()
        .ok_or(blindrelay::Error::Truncated)?;
    let (nonce, ct) = rest
        .split_first_chunk::<XNONCE_LEN>()
        .ok_or(blindrelay::Error::Truncated)?;
    let epoch = u64::from_be_bytes(*epoch);
    let ad = seal_ad(local, remote, slot, epoch);
    let state = Zeroizing::new(xopen(storage_key, nonce, &ad, ct)?);
    let session = Session::from_bytes(&state)?;
    if session.local_identity() != local || session.remote_identity() != remote {
        return Err(blindrelay::Error::Decrypt);
    }
    Ok((session, epoch))
}

/// Decrypts an inner message (initial or ratchet) with a session; on error the session is
/// unchanged. Today's core reports a re-delivered message as `Decrypt`; the client's own
/// digest table is what reports duplicates (see `Client::receive`).
pub(crate) fn decrypt(session: &mut Session, inner: &[u8]) -> Result<Vec<u8>, blindrelay::Error> {
    session.decrypt(inner)
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
