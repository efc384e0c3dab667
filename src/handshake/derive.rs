//! The handshake key derivation, shared by both roles (spec §6.4).

use crate::bundle::VerifiedBundle;
use crate::codec::Encode;
use crate::crypto::labels::{HANDSHAKE_INFO, HANDSHAKE_TRANSCRIPT_LABEL};
use crate::crypto::{dh, kdf, kem};
use crate::keys::{IdentityKeyPair, IdentityPublicKey, PrekeyStore};
use crate::seed::SessionSeed;
use crate::wire::{IdentityRecord, InitialHeader, PrekeyKind};
use crate::Error;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use sha2::{Digest, Sha256};
use x25519_dalek::StaticSecret;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The 32 bytes of `0xFF` in front of the DH outputs (X3DH/PQXDH's domain separator `F`
/// for X25519).
const F: [u8; 32] = [0xFF; 32];

/// Every intermediate value of one handshake, for test vectors and audits (spec §6.4).
/// Holds secrets: zeroized on drop, redacted `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct HandshakeTrace {
    /// DH1..DH3 and, with a one-time prekey, DH4.
    pub dh: Vec<[u8; 32]>,
    /// The ML-KEM shared secret.
    pub kem_shared_secret: [u8; 32],
    /// The transcript hash TH.
    pub transcript_hash: [u8; 32],
    /// The HKDF input keying material IKM.
    pub ikm: Vec<u8>,
    /// The HKDF info.
    pub info: Vec<u8>,
    /// The 96-byte HKDF output.
    pub okm: Vec<u8>,
    /// The associated data AD.
    pub associated_data: Vec<u8>,
}

impl fmt::Debug for HandshakeTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandshakeTrace")
            .field(
                "transcript_hash",
                &crate::wire::HexBytes(&self.transcript_hash),
            )
            .finish_non_exhaustive()
    }
}

/// The public keys the transcript hash covers, in order.
struct TranscriptKeys<'a> {
    responder: &'a IdentityPublicKey,
    spk: &'a [u8; 32],
    pqpk: &'a [u8; kem::ENCAPSULATION_KEY_LEN],
    opk: Option<&'a [u8; 32]>,
}

fn transcript_hash(keys: &TranscriptKeys<'_>, header: &InitialHeader) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(HANDSHAKE_TRANSCRIPT_LABEL);
    h.update(keys.responder.to_array());
    h.update(header.to_bytes());
    h.update(keys.spk);
    h.update(keys.pqpk);
    if let Some(opk) = keys.opk {
        h.update(opk);
    }
    h.finalize().into()
}

/// Whether a derivation also returns its [`HandshakeTrace`]: only the conformance vectors
/// (`hazmat`) and tests ask; `initiate` and `accept` never build one, so IKM and OKM are
/// never copied out of their `Zeroizing` buffers on production paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trace {
    /// Build the trace.
    Keep,
    /// Do not.
    Skip,
}

/// Derives the seed (and, if asked, the trace) from the DH outputs and the KEM secret (both
/// roles).
fn finish(
    dhs: Vec<Zeroizing<[u8; 32]>>,
    kem_ss: &[u8; 32],
    th: [u8; 32],
    (initiator, responder): (&IdentityPublicKey, &IdentityPublicKey),
    local_is_initiator: bool,
    want: Trace,
) -> (SessionSeed, Option<HandshakeTrace>) {
    let mut ikm = Zeroizing::new(Vec::with_capacity(32 * 6));
    ikm.extend_from_slice(&F);
    for d in &dhs {
        ikm.extend_from_slice(d.as_ref());
    }
    ikm.extend_from_slice(kem_ss);
    let mut info = Vec::with_capacity(HANDSHAKE_INFO.len() + 32);
    info.extend_from_slice(HANDSHAKE_INFO);
    info.extend_from_slice(&th);
    let okm: Zeroizing<[u8; 96]> = kdf::hkdf(&[0u8; 32], &ikm, &info);
    let mut ad = Vec::with_capacity(160);
    ad.extend_from_slice(&initiator.to_array());
    ad.extend_from_slice(&responder.to_array());
    ad.extend_from_slice(&th);
    let [root, hka, nhkb] = kdf::split3(&okm);
    let (local, remote) = if local_is_initiator {
        (*initiator, *responder)
    } else {
        (*responder, *initiator)
    };
    let trace = (want == Trace::Keep).then(|| HandshakeTrace {
        dh: dhs.iter().map(|d| **d).collect(),
        kem_shared_secret: *kem_ss,
        transcript_hash: th,
        ikm: ikm.to_vec(),
        info,
        okm: okm.to_vec(),
        associated_data: ad.clone(),
    });
    let seed = SessionSeed {
        root_key: root,
        initiator_header_key: hka,
        responder_next_header_key: nhkb,
        associated_data: ad,
        local_identity: local,
        remote_identity: remote,
    };
    (seed, trace)
}

/// The initiator's side (spec §6.2): the explicit ephemeral secret and KEM randomness make
/// it deterministic for test vectors; [`crate::session`]'s `initiate` draws them from the
/// caller's RNG. Returns the seed, the initial header and the trace.
///
/// # Errors
/// [`Error::NonContributory`] if any DH output is all zero; [`Error::InvalidPublicKey`]
/// if the ML-KEM key fails validation (cannot happen for a verified bundle). `our_record`
/// is carried as given ([`initiate`](crate::initiate) checks that it is `ours`'s).
pub(crate) fn initiator_secrets(
    ours: &IdentityKeyPair,
    our_record: &IdentityRecord,
    theirs: &VerifiedBundle,
    ephemeral: &[u8; 32],
    kem_randomness: &[u8; 32],
    want: Trace,
) -> Result<(SessionSeed, InitialHeader, Option<HandshakeTrace>), Error> {
    let b = theirs.bundle();
    let ek = StaticSecret::from(*ephemeral);
    let (kem_kind, kem_id, pqpk) = match &b.one_time_kem_prekey {
        Some(otk) => (PrekeyKind::OneTimeKem, otk.id, &*otk.key),
        None => (PrekeyKind::SignedKem, b.kem_prekey.id, &*b.kem_prekey.key),
    };
    let mut dhs = Vec::with_capacity(4);
    dhs.push(dh::diffie_hellman(
        &ours.agreement_secret(),
        &b.signed_prekey.key,
    )?);
    dhs.push(dh::diffie_hellman(&ek, &b.identity.agreement)?);
    dhs.push(dh::diffie_hellman(&ek, &b.signed_prekey.key)?);
    if let Some(opk) = &b.one_time_prekey {
        dhs.push(dh::diffie_hellman(&ek, &opk.key)?);
    }
    let (ct, ss) = kem::encapsulate(pqpk, kem_randomness)?;
    let header = InitialHeader {
        initiator: *our_record,
        ephemeral: dh::public_key(&ek),
        signed_prekey_id: b.signed_prekey.id,
        kem_kind,
        kem_prekey_id: kem_id,
        one_time_prekey_id: b.one_time_prekey.as_ref().map(|o| o.id),
        kem_ciphertext: Box::new(ct),
    };
    let keys = TranscriptKeys {
        responder: &b.identity,
        spk: &b.signed_prekey.key,
        pqpk,
        opk: b.one_time_prekey.as_ref().map(|o| &o.key),
    };
    let th = transcript_hash(&keys, &header);
    let (seed, trace) = finish(dhs, &ss, th, (ours.public(), &b.identity), true, want);
    Ok((seed, header, trace))
}

/// What the responder must delete and record once the first message authenticates.
#[derive(Debug)]
#[allow(dead_code, reason = "consumed by `accept` once sessions land")]
pub(crate) struct ResponderUse {
    pub(crate) signed_prekey_id: u32,
    pub(crate) one_time_prekey_id: Option<u32>,
    pub(crate) one_time_kem_prekey_id: Option<u32>,
    pub(crate) replay_id: [u8; 32],
}

/// The responder's side (spec §6.5): recomputes the handshake secret from the header and
/// the store, changing nothing.
///
/// The checks run in the order of spec §6.5: the replay cache first (so that a further
/// initial message of a first flight whose one-time prekey is already consumed is routed
/// to its session, §6.6), then the initiator's identity record, then the prekeys.
///
/// # Errors
/// [`Error::ReplayedInitialMessage`] if the ephemeral key was already accepted under this
/// signed prekey; [`Error::BadSignature`] or [`Error::InvalidPublicKey`] if the initiator's
/// identity record does not verify; [`Error::UnknownPrekey`] if a named prekey is not in
/// the store; [`Error::NonContributory`] if a DH output is all zero.
pub(crate) fn responder_seed(
    ours: &IdentityKeyPair,
    store: &impl PrekeyStore,
    header: &InitialHeader,
    want: Trace,
) -> Result<(SessionSeed, ResponderUse, Option<HandshakeTrace>), Error> {
    if store.is_replay(header.signed_prekey_id, &header.ephemeral) {
        return Err(Error::ReplayedInitialMessage);
    }
    header.initiator.verify()?;
    let spk = store
        .signed_prekey(header.signed_prekey_id)
        .ok_or(Error::UnknownPrekey)?;
    let (kem_seed, one_time_kem_prekey_id) = match header.kem_kind {
        PrekeyKind::OneTimeKem => (
            store
                .one_time_kem_prekey(header.kem_prekey_id)
                .ok_or(Error::UnknownPrekey)?
                .seed(),
            Some(header.kem_prekey_id),
        ),
        PrekeyKind::SignedKem => (
            store
                .kem_prekey(header.kem_prekey_id)
                .ok_or(Error::UnknownPrekey)?
                .seed(),
            None,
        ),
        _ => {
            return Err(Error::InvalidEncoding {
                field: "initial.kem_kind",
            })
        }
    };
    let opk = match header.one_time_prekey_id {
        Some(id) => Some(store.one_time_prekey(id).ok_or(Error::UnknownPrekey)?),
        None => None,
    };
    let spk_secret = spk.static_secret();
    let mut dhs = Vec::with_capacity(4);
    dhs.push(dh::diffie_hellman(
        &spk_secret,
        &header.initiator.identity.agreement,
    )?);
    dhs.push(dh::diffie_hellman(
        &ours.agreement_secret(),
        &header.ephemeral,
    )?);
    dhs.push(dh::diffie_hellman(&spk_secret, &header.ephemeral)?);
    let opk_public = opk.map(|o| o.public_key());
    if let Some(o) = opk {
        dhs.push(dh::diffie_hellman(&o.static_secret(), &header.ephemeral)?);
    }
    let (ss, pqpk) = kem::decapsulate_with_key(kem_seed, &header.kem_ciphertext);
    let spk_public = spk.public_key();
    let keys = TranscriptKeys {
        responder: ours.public(),
        spk: &spk_public,
        pqpk: &pqpk,
        opk: opk_public.as_ref(),
    };
    let th = transcript_hash(&keys, header);
    let (seed, trace) = finish(
        dhs,
        &ss,
        th,
        (&header.initiator.identity, ours.public()),
        false,
        want,
    );
    let used = ResponderUse {
        signed_prekey_id: header.signed_prekey_id,
        one_time_prekey_id: header.one_time_prekey_id,
        one_time_kem_prekey_id,
        replay_id: header.ephemeral,
    };
    Ok((seed, used, trace))
}
