//! The relay envelope: sealed sender, length padding and mailboxes (spec §8), and what a
//! relay sees (spec §11).
//!
//! A client hands a relay only envelopes: for a first message an [`Envelope`] to the
//! recipient's public mailbox, for every later message a [`PairwiseEnvelope`] built by
//! [`Session::seal_pairwise`](crate::Session::seal_pairwise) (spec §8.13–§8.15; see
//! [`crate::route`]). An [`Envelope`] names the recipient's public mailbox (an opaque
//! 32-byte id, the hash of a read capability, published in its bundle) and
//! carries an HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
//! ChaCha20-Poly1305) ciphertext sealed to the recipient's sealing key. Inside is the
//! [`SealedSenderContent`]: the sender's public identity and the encoded initial or
//! ratchet message, padded with Padmé (256-byte floor) before encryption.
//!
//! ```text
//! info       = ENVELOPE_INFO || mailbox          ("blindrelay v1 envelope" || 32 bytes)
//! enc, ctx   = SetupBaseS(sealing_key, info)
//! ciphertext = ctx.Seal(aad = "", pad(SealedSenderContent))
//! envelope   = 0x01 || 0x04 || mailbox || enc || u32(len(ciphertext)) || ciphertext
//! ```
//!
//! # What the relay sees (spec §11)
//!
//! | message | field the relay observes | what it can infer |
//! | --- | --- | --- |
//! | envelope | version, type (`0x01 0x04`) | nothing: constant |
//! | envelope | mailbox (32) | which mailbox receives; all envelopes to one mailbox are linkable; the mailbox is linked to the owner's identity for whoever stores the owner's bundle |
//! | envelope | `enc` (32) | nothing: a fresh X25519 key per envelope, from fresh randomness |
//! | envelope | ciphertext length, total length (`P(n) + 86`) | the padded-length class of the content ([`padded_len`]): 0 bits up to 255 bytes, at most 4 bits within each power-of-two range up to 64 KiB, at most log2(131) ≈ 7.03 bits in total |
//! | envelope | ciphertext | nothing |
//! | pairwise envelope ([`PairwiseEnvelope`], type `0x08`) | mailbox (32) | the envelopes of one sending chain of one session (one run of messages in one direction); nothing links the id to the conversation's other ids, to a public mailbox or to an identity (spec §8.14, §11.1a) |
//! | pairwise envelope | encrypted header, nonce, body; length `P(n) + 158` | the padded-length class, nothing else |
//! | bundle upload | identity keys, mailbox, sealing key, prekeys with ids and signatures | the owner's identity and its mailbox ↔ identity link; prekey rotation times; one-time prekey consumption, so roughly how many new sessions the owner accepts |
//! | bundle fetch | which bundle, when, by whom (transport) | that someone intends to start a session with that owner |
//! | contact lookup | bucket prefixes only, padded to a size class (spec §9) | a bucket per contact (k-anonymity); the size class of the request |
//! | any message | network address, timing (transport) | outside this crate (spec §11.4) |
//!
//! Never visible to a relay: the sender's identity, the inner message type (initial or
//! ratchet), the ratchet public key, message counters, the exact plaintext length.
//!
//! The sender identity inside the envelope is only a claim. It is authenticated by the
//! session: an initial message carries the initiator's identity in its header (checked by
//! [`Opened::initial_message`], [`Error::SenderMismatch`] otherwise), and every ratchet
//! message's AEAD associated data binds both identities, so a message re-sealed under
//! another sender's name fails to decrypt in the session with that sender (spec §8.8).

mod padding;
mod wire;

#[cfg(test)]
mod tests;

pub use padding::{
    is_padded_len, pad, padded_len, unpad, MAX_PADDED_LEN, MAX_UNPADDED_LEN, MIN_PADDED_LEN,
};
pub use wire::{
    Envelope, PairwiseEnvelope, RelayEnvelope, SealedSenderContent, ENC_LEN, ENVELOPE_OVERHEAD,
    MAILBOX_LEN, MAX_ENVELOPE_CIPHERTEXT_LEN, MAX_ENVELOPE_INNER_LEN, MAX_PAIRWISE_BODY_LEN,
    MAX_PAIRWISE_PLAINTEXT_LEN, PAIRWISE_OVERHEAD, PAIRWISE_PREFIX_LEN, SEALED_SENDER_OVERHEAD,
};

use crate::codec::{peek_type, Decode, Encode, MessageType};
use crate::crypto::{hpke, CryptoRng, RngCore};
use crate::keys::SealingKeySecret;
use crate::wire::{IdentityPublicKey, InitialMessage};
use crate::Error;
use alloc::vec::Vec;
use zeroize::Zeroizing;

/// HPKE `info` prefix of every envelope (spec §8.3); the recipient's 32-byte mailbox id
/// follows it, so an envelope cannot be moved to another mailbox.
pub(crate) const ENVELOPE_INFO: &[u8] = b"blindrelay v1 envelope";

/// Length of the HPKE `info`: the label and the mailbox (54 bytes).
const INFO_LEN: usize = ENVELOPE_INFO.len() + MAILBOX_LEN;

/// `info = ENVELOPE_INFO || mailbox` (spec §8.3).
fn hpke_info(mailbox: &[u8; MAILBOX_LEN]) -> [u8; INFO_LEN] {
    let mut info = [0u8; INFO_LEN];
    let (a, b) = info.split_at_mut(ENVELOPE_INFO.len());
    a.copy_from_slice(ENVELOPE_INFO);
    b.copy_from_slice(mailbox);
    info
}

/// An opened envelope: the claimed sender and the inner message, ready for the session.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Opened {
    /// The sender identity sealed in the envelope. A *claim* until the session has
    /// decrypted the inner message with this identity's session (spec §8.8).
    pub sender: IdentityPublicKey,
    /// [`MessageType::INITIAL_MESSAGE`] or [`MessageType::RATCHET_MESSAGE`].
    pub inner_type: MessageType,
    /// The inner message's full encoding (starts with `0x01 || inner_type`).
    pub inner: Vec<u8>,
}

impl Opened {
    /// Decodes the inner message as an initial message and checks that its header names
    /// the same initiator identity as the envelope (spec §8.8).
    ///
    /// # Errors
    /// [`Error::UnknownMessageType`] if the inner message is a ratchet message, any decode
    /// error of [`InitialMessage`], [`Error::SenderMismatch`] if the identities differ.
    pub fn initial_message(&self) -> Result<InitialMessage, Error> {
        if self.inner_type != MessageType::INITIAL_MESSAGE {
            return Err(Error::UnknownMessageType(self.inner_type.0));
        }
        let msg = InitialMessage::decode_exact(&self.inner)?;
        if msg.header.initiator.identity != self.sender {
            return Err(Error::SenderMismatch);
        }
        Ok(msg)
    }

    /// Checks the sealed sender against the peer identity of the session that is about to
    /// decrypt the inner ratchet message (spec §8.8). The session's AD check is what
    /// authenticates; this check makes a mismatch a distinct, early error.
    ///
    /// # Errors
    /// [`Error::SenderMismatch`] if `session_peer` is not the sealed sender.
    pub fn check_sender(&self, session_peer: &IdentityPublicKey) -> Result<(), Error> {
        if &self.sender == session_peer {
            Ok(())
        } else {
            Err(Error::SenderMismatch)
        }
    }
}

/// Every intermediate value of one sealing (spec §8.7), for the conformance vectors
/// (reached through the `hazmat` feature). Holds secrets, so it has no `Debug`; every
/// secret field zeroizes on drop.
pub struct SealTrace {
    /// `ikmE`, the 32 random bytes the ephemeral key pair is derived from.
    pub ikm_e: Zeroizing<[u8; hpke::IKM_LEN]>,
    /// `skE = DeriveKeyPair(ikmE)`.
    pub ephemeral_secret: Zeroizing<[u8; hpke::KEY_LEN]>,
    /// `enc = pkE`.
    pub enc: [u8; ENC_LEN],
    /// The HPKE `info`.
    pub info: Vec<u8>,
    /// The KEM shared secret.
    pub shared_secret: Zeroizing<[u8; hpke::SECRET_LEN]>,
    /// The AEAD key.
    pub key: Zeroizing<[u8; hpke::AEAD_KEY_LEN]>,
    /// The AEAD base nonce.
    pub base_nonce: Zeroizing<[u8; hpke::NONCE_LEN]>,
    /// The sealed-sender content before padding.
    pub content: Vec<u8>,
    /// The padded content (the AEAD plaintext).
    pub padded: Zeroizing<Vec<u8>>,
    /// The AEAD ciphertext (with tag).
    pub ciphertext: Vec<u8>,
}

/// Seals an already padded plaintext under `ctx` (aad is empty, spec §8.7).
fn seal_context(
    ctx: hpke::Context,
    mailbox: [u8; MAILBOX_LEN],
    enc: [u8; ENC_LEN],
    padded: &[u8],
) -> Result<Envelope, Error> {
    Envelope::from_parts(mailbox, enc, ctx.seal(b"", padded))
}

/// Seals an arbitrary plaintext as if it were a padded content: for negative tests and
/// vectors (bad padding, unknown inner type). The plaintext length must be a padded
/// length, or the envelope is rejected as [`Error::InvalidEncoding`].
#[cfg_attr(not(any(test, feature = "hazmat")), allow(dead_code))]
pub(crate) fn seal_padded_for_testing(
    ikm_e: &[u8; hpke::IKM_LEN],
    recipient_mailbox: &[u8; MAILBOX_LEN],
    recipient_sealing_key: &[u8; 32],
    padded: &[u8],
) -> Result<Envelope, Error> {
    let info = hpke_info(recipient_mailbox);
    let (enc, ctx) = hpke::setup_base_s_with_ikm(ikm_e, recipient_sealing_key, &info)?;
    seal_context(ctx, *recipient_mailbox, enc, padded)
}

/// Sealing with an explicit `ikmE`, returning every intermediate value.
pub(crate) fn seal_traced(
    ikm_e: &[u8; hpke::IKM_LEN],
    recipient_mailbox: &[u8; MAILBOX_LEN],
    recipient_sealing_key: &[u8; 32],
    sender: &IdentityPublicKey,
    inner: &[u8],
) -> Result<(Envelope, SealTrace), Error> {
    let inner_type = peek_type(inner).map_err(|_| Error::ApiMisuse {
        reason: "envelope inner message has no header",
    })?;
    if inner_type != MessageType::INITIAL_MESSAGE && inner_type != MessageType::RATCHET_MESSAGE {
        return Err(Error::ApiMisuse {
            reason: "envelope inner message is not an initial or ratchet message",
        });
    }
    if inner.len() > MAX_ENVELOPE_INNER_LEN {
        return Err(Error::MessageTooLarge);
    }
    let content = SealedSenderContent {
        sender: *sender,
        inner_type,
        inner: inner.to_vec(),
    }
    .to_bytes();
    let padded = pad(&content)?;
    let info = hpke_info(recipient_mailbox);
    let (enc, ctx) = hpke::setup_base_s_with_ikm(ikm_e, recipient_sealing_key, &info)?;
    let shared_secret = Zeroizing::new(*ctx.shared_secret());
    let key = Zeroizing::new(*ctx.key());
    let base_nonce = Zeroizing::new(*ctx.base_nonce());
    let envelope = seal_context(ctx, *recipient_mailbox, enc, &padded)?;
    let ciphertext = envelope.ciphertext().to_vec();
    let trace = SealTrace {
        ikm_e: Zeroizing::new(*ikm_e),
        ephemeral_secret: hpke::derive_key_pair(ikm_e),
        enc,
        info: info.to_vec(),
        shared_secret,
        key,
        base_nonce,
        content,
        padded,
        ciphertext,
    };
    Ok((envelope, trace))
}

/// Seals `inner` (an encoded initial message, type `0x02`, or ratchet message, type
/// `0x03`) from `sender` to the owner of `recipient_mailbox` and `recipient_sealing_key`
/// (both from the recipient's verified bundle) (spec §8.7).
///
/// # Errors
/// [`Error::MessageTooLarge`] if `inner` is longer than [`MAX_ENVELOPE_INNER_LEN`];
/// [`Error::ApiMisuse`] if `inner` does not start with `0x01 || 0x02` or `0x01 || 0x03`;
/// [`Error::NonContributory`] if the sealing key is a low-order point.
pub fn seal(
    rng: &mut (impl CryptoRng + RngCore),
    recipient_mailbox: &[u8; MAILBOX_LEN],
    recipient_sealing_key: &[u8; 32],
    sender: &IdentityPublicKey,
    inner: &[u8],
) -> Result<Envelope, Error> {
    let mut ikm_e = Zeroizing::new([0u8; hpke::IKM_LEN]);
    rng.fill_bytes(ikm_e.as_mut());
    seal_traced(
        &ikm_e,
        recipient_mailbox,
        recipient_sealing_key,
        sender,
        inner,
    )
    .map(|(envelope, _)| envelope)
}

/// Opens an envelope addressed to `expected_mailbox` with the recipient's sealing key
/// (spec §8.7). Stateless: a failure changes nothing anywhere.
///
/// # Errors
/// [`Error::WrongMailbox`] if the envelope names another mailbox; [`Error::NonContributory`]
/// if `enc` is a low-order point; [`Error::Decrypt`] if authentication fails (tampered
/// bytes, wrong key, or a mailbox rewritten in transit); [`Error::BadPadding`] if the
/// padding is malformed; a decode error (1xx) if the content is malformed, including
/// [`Error::UnknownMessageType`] for an inner type other than `0x02`/`0x03`.
pub fn open(
    recipient: &SealingKeySecret,
    expected_mailbox: &[u8; MAILBOX_LEN],
    envelope: &Envelope,
) -> Result<Opened, Error> {
    if envelope.mailbox() != expected_mailbox {
        return Err(Error::WrongMailbox);
    }
    let info = hpke_info(envelope.mailbox());
    let ctx = hpke::setup_base_r(envelope.enc(), &recipient.static_secret(), &info)?;
    let padded = Zeroizing::new(ctx.open(b"", envelope.ciphertext())?);
    let content = SealedSenderContent::decode_exact(unpad(&padded)?)?;
    Ok(Opened {
        sender: content.sender,
        inner_type: content.inner_type,
        inner: content.inner,
    })
}

/// Live sealing secrets an owner opens envelopes with: the current one and the previous
/// one during its grace period (spec §8.12).
pub const MAX_SEALING_KEYS: usize = 2;
/// Seconds between sealing-key rotations (spec §6.7, §8.12): 30 days. Bounds how many
/// logged envelopes the theft of one sealing key de-anonymises.
pub const SEALING_KEY_MAX_AGE: u64 = 30 * 24 * 3600;
/// Seconds the previous sealing secret is kept for envelopes in flight (spec §8.12): 7 days.
pub const SEALING_KEY_GRACE: u64 = 7 * 24 * 3600;

/// Opens an envelope with the owner's live sealing secrets, newest first (spec §8.12): the
/// current key and, during its grace period, the previous one. The first that
/// authenticates wins; under a wrong key HPKE fails (`Decrypt`) and nothing is learnt.
///
/// # Errors
/// [`Error::ApiMisuse`] for no key or more than [`MAX_SEALING_KEYS`]; otherwise as
/// [`open`] (the error of the last key tried when none opens it).
pub fn open_any(
    live: &[&SealingKeySecret],
    expected_mailbox: &[u8; MAILBOX_LEN],
    envelope: &Envelope,
) -> Result<Opened, Error> {
    if live.is_empty() || live.len() > MAX_SEALING_KEYS {
        return Err(Error::ApiMisuse {
            reason: "open_any takes one or two live sealing keys",
        });
    }
    let mut last = Error::Decrypt;
    for key in live {
        match open(key, expected_mailbox, envelope) {
            Ok(opened) => return Ok(opened),
            // Only an authentication failure can mean "another key"; anything else
            // (mailbox, padding, decoding) is the envelope's own fault.
            Err(Error::Decrypt) => last = Error::Decrypt,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}
