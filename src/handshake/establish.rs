//! Starting sessions: the public `initiate` and `accept` (spec §6.2, §6.5).

use super::derive::{initiator_secrets, responder_seed, Trace};
use crate::bundle::VerifiedBundle;
use crate::codec::Decode;
use crate::crypto::{random_array, CryptoRng, RngCore};
use crate::keys::{IdentityKeyPair, PrekeyStore};
use crate::session::Session;
use crate::wire::{IdentityRecord, InitialMessage};
use crate::Error;
use alloc::vec::Vec;
use zeroize::Zeroize;

/// Starts a session with the owner of a verified bundle (spec §6.2). The ephemeral secret
/// and the ML-KEM randomness are drawn from `rng` and erased here; they never leave.
/// `our_record` ([`IdentityRecord::create`]) travels in the initial header, so that the
/// responder authenticates both halves of our identity and learns where to reply (§6.3).
///
/// Every message the returned session encrypts is an initial message (§6.3) until it has
/// decrypted a reply.
///
/// # Errors
/// [`Error::NonContributory`] if a bundle key is a low-order point; [`Error::ApiMisuse`]
/// if `our_record` is not the record of `ours`.
pub fn initiate(
    rng: &mut (impl CryptoRng + RngCore),
    ours: &IdentityKeyPair,
    our_record: &IdentityRecord,
    theirs: &VerifiedBundle,
) -> Result<Session, Error> {
    if our_record.identity != *ours.public() {
        return Err(Error::ApiMisuse {
            reason: "the identity record belongs to another identity",
        });
    }
    start(rng, ours, our_record, theirs)
}

/// [`initiate`] without the check that `our_record` is `ours`'s: the hazmat entry point of
/// the forged-record vectors (spec §6.5) goes through here.
pub(crate) fn start(
    rng: &mut (impl CryptoRng + RngCore),
    ours: &IdentityKeyPair,
    our_record: &IdentityRecord,
    theirs: &VerifiedBundle,
) -> Result<Session, Error> {
    let mut ephemeral = random_array::<32>(rng);
    let mut m = random_array::<32>(rng);
    let result = initiator_secrets(ours, our_record, theirs, &ephemeral, &m, Trace::Skip);
    ephemeral.zeroize();
    m.zeroize();
    let (seed, header, _trace) = result?;
    Session::new_initiator(rng, seed, &theirs.bundle().signed_prekey.key, header)
}

/// Accepts an initial message (spec §6.5): recomputes the handshake, decrypts the first
/// message inside, and only if that authenticates deletes the one-time prekeys used and
/// records the replay id. On any error `store` is unchanged.
///
/// Returns the new session and the first plaintext.
///
/// # Errors
/// Decode errors; [`Error::ReplayedInitialMessage`] (a further message of a first flight
/// already accepted: pass it to the existing session instead, §6.6);
/// [`Error::BadSignature`] if the initiator's identity record does not verify;
/// [`Error::UnknownPrekey`]; [`Error::NonContributory`]; [`Error::Decrypt`] if the first
/// message does not authenticate.
pub fn accept(
    ours: &IdentityKeyPair,
    store: &mut impl PrekeyStore,
    initial_message: &[u8],
) -> Result<(Session, Vec<u8>), Error> {
    let msg = InitialMessage::decode_exact(initial_message)?;
    let (seed, used, _trace) = responder_seed(ours, store, &msg.header, Trace::Skip)?;
    let spk = store
        .signed_prekey(used.signed_prekey_id)
        .ok_or(Error::UnknownPrekey)?;
    let mut session = Session::new_responder(seed, spk, &msg.header)?;
    let plaintext = session.decrypt(initial_message)?;
    // Authenticated: now, and only now, consume the one-time prekeys and record the replay.
    if let Some(id) = used.one_time_prekey_id {
        store.remove_one_time_prekey(id);
    }
    if let Some(id) = used.one_time_kem_prekey_id {
        store.remove_one_time_kem_prekey(id);
    }
    store.record_replay(used.signed_prekey_id, used.replay_id);
    Ok((session, plaintext))
}

/// Accepts the initial message inside an opened envelope (spec §8.8): checks that the
/// sealed sender is the initiator the handshake header names, then runs [`accept`].
///
/// # Errors
/// [`Error::SenderMismatch`] if they differ, [`Error::UnknownMessageType`] if the inner
/// message is not an initial message; otherwise as [`accept`]. On any error `store` is
/// unchanged.
pub fn accept_opened(
    ours: &IdentityKeyPair,
    store: &mut impl PrekeyStore,
    opened: &crate::envelope::Opened,
) -> Result<(Session, Vec<u8>), Error> {
    opened.initial_message()?;
    accept(ours, store, &opened.inner)
}
