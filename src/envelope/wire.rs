//! The envelope and the sealed-sender content as plain bytes (spec §8.5, §8.6). Like
//! `crate::wire`, this file never touches keys or crypto: a relay can use it alone.

use crate::codec::{
    read_header, write_header, Decode, Encode, MessageType, Reader, Writer, PROTOCOL_VERSION,
};
use crate::envelope::padding::{is_padded_len, MAX_PADDED_LEN};
use crate::limits::{MAX_PLAINTEXT_LEN, MAX_RATCHET_MESSAGE_LEN};
use crate::wire::{IdentityPublicKey, IDENTITY_PUBLIC_KEY_LEN};
use crate::wire::{RatchetMessageRef, BODY_NONCE_LEN, ENCRYPTED_HEADER_LEN};
use crate::Error;
use alloc::vec::Vec;

/// Length of a mailbox id.
pub const MAILBOX_LEN: usize = 32;
/// Length of the HPKE encapsulated key `enc` (an X25519 public key).
pub const ENC_LEN: usize = 32;
/// Poly1305 tag length (the envelope ciphertext is the padded content plus this).
const TAG_LEN: usize = 16;
/// Bytes of an envelope in front of the ciphertext: header (2), mailbox (32), enc (32),
/// ciphertext length (4).
pub const ENVELOPE_OVERHEAD: usize = 2 + MAILBOX_LEN + ENC_LEN + 4;
/// Bytes of a sealed-sender content around the inner message: header (2), sender
/// identity (64), inner type (1), inner length (4).
pub const SEALED_SENDER_OVERHEAD: usize = 2 + IDENTITY_PUBLIC_KEY_LEN + 1 + 4;

/// The largest inner message an envelope carries: 68608 bytes, which is
/// `MAX_RATCHET_MESSAGE_LEN` (66560) plus 2048 so that an initial message (2 + 1198-byte
/// header + 4-byte prefix in front of its ratchet message, at most 1204 bytes with a
/// one-time prekey id) always fits.
pub const MAX_ENVELOPE_INNER_LEN: usize = MAX_RATCHET_MESSAGE_LEN + 2048;

/// The largest envelope ciphertext: the largest padded content (69632) plus the 16-byte
/// tag. The relay rejects a longer length prefix before allocating anything.
pub const MAX_ENVELOPE_CIPHERTEXT_LEN: usize = MAX_PADDED_LEN + TAG_LEN;

/// Whether `len` is a ciphertext length a conforming sender produces: a padded length
/// (spec §8.4) plus the tag.
const fn is_ciphertext_len(len: usize) -> bool {
    len >= TAG_LEN && is_padded_len(len - TAG_LEN)
}

/// A relay envelope (spec §8.5): everything a relay handles. It carries the recipient's
/// mailbox id in the clear and an HPKE-sealed payload; the relay learns the mailbox and a
/// padded length class, nothing else.
///
/// ```text
/// +--------+------+--------------+----------+-----------------+--------------------------+
/// | ver=01 | 0x04 | mailbox (32) | enc (32) | ct length (u32) | ciphertext (ct length)   |
/// +--------+------+--------------+----------+-----------------+--------------------------+
/// ```
///
/// `ct length` is at most [`MAX_ENVELOPE_CIPHERTEXT_LEN`] and must be a padded length
/// (spec §8.4) plus 16. Decoding checks both, without any key, before allocating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    mailbox: [u8; MAILBOX_LEN],
    enc: [u8; ENC_LEN],
    ciphertext: Vec<u8>,
}

impl Envelope {
    /// Builds an envelope from its fields, with the same checks as decoding.
    ///
    /// # Errors
    /// [`Error::LengthOverMax`] if the ciphertext is longer than
    /// [`MAX_ENVELOPE_CIPHERTEXT_LEN`], [`Error::InvalidEncoding`] if its length is not a
    /// padded length plus the tag.
    pub fn from_parts(
        mailbox: [u8; MAILBOX_LEN],
        enc: [u8; ENC_LEN],
        ciphertext: Vec<u8>,
    ) -> Result<Self, Error> {
        if ciphertext.len() > MAX_ENVELOPE_CIPHERTEXT_LEN {
            return Err(Error::LengthOverMax {
                field: "envelope.ciphertext",
            });
        }
        if !is_ciphertext_len(ciphertext.len()) {
            return Err(Error::InvalidEncoding {
                field: "envelope.ciphertext",
            });
        }
        Ok(Self {
            mailbox,
            enc,
            ciphertext,
        })
    }

    /// The recipient's mailbox id: the one routing field, readable without any key.
    #[must_use]
    pub fn mailbox(&self) -> &[u8; MAILBOX_LEN] {
        &self.mailbox
    }

    /// The HPKE encapsulated key (fresh per envelope, unlinkable to the sender).
    #[must_use]
    pub fn enc(&self) -> &[u8; ENC_LEN] {
        &self.enc
    }

    /// The sealed payload (padded content plus tag).
    #[must_use]
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// The encoded length of the whole envelope: what a relay stores and forwards, and
    /// the only size it learns (a padded length class, spec §8.4).
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        ENVELOPE_OVERHEAD + self.ciphertext.len()
    }
}

impl Encode for Envelope {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::ENVELOPE);
        w.bytes(&self.mailbox);
        w.bytes(&self.enc);
        w.opaque_u32(&self.ciphertext);
    }
}

impl Decode for Envelope {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::ENVELOPE)?;
        let mailbox = r.array()?;
        let enc = r.array()?;
        let ciphertext = r.opaque_u32(MAX_ENVELOPE_CIPHERTEXT_LEN, "envelope.ciphertext")?;
        if !is_ciphertext_len(ciphertext.len()) {
            return Err(Error::InvalidEncoding {
                field: "envelope.ciphertext",
            });
        }
        Ok(Self {
            mailbox,
            enc,
            ciphertext: ciphertext.to_vec(),
        })
    }
}

/// The sealed-sender content (spec §8.6): the plaintext of an envelope before padding. It
/// names the sender and carries the encoded initial or ratchet message.
///
/// ```text
/// +--------+------+---------------------+----------------+--------------------+---------+
/// | ver=01 | 0x07 | sender identity(64) | inner type (1) | inner length (u32) | inner   |
/// +--------+------+---------------------+----------------+--------------------+---------+
/// ```
///
/// `inner type` is `0x02` (initial message) or `0x03` (ratchet message); `inner` is that
/// message's full encoding, so it starts with `0x01 || inner type`; its length is at most
/// [`MAX_ENVELOPE_INNER_LEN`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedSenderContent {
    /// The sender's public identity, as the sender claims it. Authenticated only by the
    /// session layer (spec §8.8).
    pub sender: IdentityPublicKey,
    /// The inner message's type: [`MessageType::INITIAL_MESSAGE`] or
    /// [`MessageType::RATCHET_MESSAGE`].
    pub inner_type: MessageType,
    /// The inner message's encoding.
    pub inner: Vec<u8>,
}

/// Checks an inner message: a permitted type, at most [`MAX_ENVELOPE_INNER_LEN`] bytes,
/// and starting with `0x01 || inner_type`.
pub(crate) fn check_inner(inner_type: MessageType, inner: &[u8]) -> Result<(), Error> {
    if inner_type != MessageType::INITIAL_MESSAGE && inner_type != MessageType::RATCHET_MESSAGE {
        return Err(Error::UnknownMessageType(inner_type.0));
    }
    if inner.len() > MAX_ENVELOPE_INNER_LEN {
        return Err(Error::LengthOverMax {
            field: "sealed.inner",
        });
    }
    if inner.get(..2) != Some(&[PROTOCOL_VERSION, inner_type.0][..]) {
        return Err(Error::InvalidEncoding {
            field: "sealed.inner",
        });
    }
    Ok(())
}

impl Encode for SealedSenderContent {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::SEALED_SENDER_CONTENT);
        self.sender.encode(w);
        w.u8(self.inner_type.0);
        w.opaque_u32(&self.inner);
    }
}

impl Decode for SealedSenderContent {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::SEALED_SENDER_CONTENT)?;
        let sender = IdentityPublicKey::decode(r)?;
        let inner_type = MessageType(r.u8()?);
        if inner_type != MessageType::INITIAL_MESSAGE && inner_type != MessageType::RATCHET_MESSAGE
        {
            return Err(Error::UnknownMessageType(inner_type.0));
        }
        let inner = r.opaque_u32(MAX_ENVELOPE_INNER_LEN, "sealed.inner")?;
        check_inner(inner_type, inner)?;
        Ok(Self {
            sender,
            inner_type,
            inner: inner.to_vec(),
        })
    }
}

/// Bytes of a pairwise envelope in front of the body: header (2), mailbox (32), encrypted
/// ratchet header (80), body nonce (24), body length (4).
pub const PAIRWISE_PREFIX_LEN: usize = 2 + MAILBOX_LEN + ENCRYPTED_HEADER_LEN + BODY_NONCE_LEN + 4;

/// Bytes of a pairwise envelope around the padded plaintext: the prefix and the body's
/// 16-byte tag (158). A pairwise envelope is `P(n) + 158` bytes for an `n`-byte plaintext.
pub const PAIRWISE_OVERHEAD: usize = PAIRWISE_PREFIX_LEN + TAG_LEN;

/// The largest plaintext a pairwise envelope carries: 65535 bytes, the largest `n` with
/// `P(n) <= MAX_PLAINTEXT_LEN` (65536), since the ratchet encrypts the padded plaintext.
pub const MAX_PAIRWISE_PLAINTEXT_LEN: usize = MAX_PLAINTEXT_LEN - 1;

/// The largest pairwise body: the largest padded plaintext (65536) plus the tag.
pub const MAX_PAIRWISE_BODY_LEN: usize = MAX_PLAINTEXT_LEN + TAG_LEN;

/// Whether `len` is a pairwise body length a conforming sender produces: a padded length
/// of at most [`MAX_PLAINTEXT_LEN`], plus the tag (spec §8.15).
const fn is_pairwise_body_len(len: usize) -> bool {
    len >= TAG_LEN && len - TAG_LEN <= MAX_PLAINTEXT_LEN && is_padded_len(len - TAG_LEN)
}

/// A pairwise envelope (spec §8.15), borrowed from its encoding: a ratchet message of an
/// established session, sent to the recipient's current pairwise mailbox, with no
/// public-key sealing. The relay reads the mailbox and a padded length class; the header is
/// encrypted under the chain's header key and the body (the padded plaintext) under the
/// message key.
///
/// ```text
/// +--------+------+--------------+--------------------------+-----------------+----------------------+
/// | ver=01 | 0x08 | mailbox (32) | encrypted header (80)    | body nonce (24) | body: opaque32       |
/// +--------+------+--------------+--------------------------+-----------------+----------------------+
/// ```
///
/// The body length is at most [`MAX_PAIRWISE_BODY_LEN`] and must be a padded length plus
/// 16; parsing checks both, without any key, before anything else is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairwiseEnvelope<'a> {
    /// The recipient's pairwise mailbox id.
    pub mailbox: &'a [u8; MAILBOX_LEN],
    /// The ratchet header, encrypted (spec §7.5).
    pub encrypted_header: &'a [u8; ENCRYPTED_HEADER_LEN],
    /// The body nonce.
    pub body_nonce: &'a [u8; BODY_NONCE_LEN],
    /// The body: the padded plaintext, encrypted, with its tag.
    pub body: &'a [u8],
}

impl<'a> PairwiseEnvelope<'a> {
    /// Parses a whole pairwise envelope without copying (spec §8.15): version, type,
    /// mailbox, encrypted header, body nonce, body length (over
    /// [`MAX_PAIRWISE_BODY_LEN`]: [`Error::LengthOverMax`], before the input length; not a
    /// padded length plus 16: [`Error::InvalidEncoding`]), no trailing bytes.
    ///
    /// # Errors
    /// The 1xx decode errors above.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        read_header(&mut r, MessageType::PAIRWISE_ENVELOPE)?;
        let mailbox = r
            .bytes(MAILBOX_LEN)?
            .try_into()
            .map_err(|_| Error::Truncated)?;
        let encrypted_header = r
            .bytes(ENCRYPTED_HEADER_LEN)?
            .try_into()
            .map_err(|_| Error::Truncated)?;
        let body_nonce = r
            .bytes(BODY_NONCE_LEN)?
            .try_into()
            .map_err(|_| Error::Truncated)?;
        let body = r.opaque_u32(MAX_PAIRWISE_BODY_LEN, "pairwise.body")?;
        if !is_pairwise_body_len(body.len()) {
            return Err(Error::InvalidEncoding {
                field: "pairwise.body",
            });
        }
        r.finish()?;
        Ok(Self {
            mailbox,
            encrypted_header,
            body_nonce,
            body,
        })
    }

    /// The ratchet message this envelope carries, for the session to decrypt.
    #[must_use]
    pub fn ratchet_message(&self) -> RatchetMessageRef<'a> {
        RatchetMessageRef {
            encrypted_header: self.encrypted_header,
            body_nonce: self.body_nonce,
            body: self.body,
        }
    }

    /// The encoded length: `P(n) + 158`.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        PAIRWISE_PREFIX_LEN + self.body.len()
    }

    /// Starts an encoding in place (the sender encrypts the body straight into it): the
    /// prefix of an envelope whose body is `body_len` bytes (checked by the caller).
    #[must_use]
    pub(crate) fn start_encoding(
        mailbox: &[u8; MAILBOX_LEN],
        encrypted_header: &[u8; ENCRYPTED_HEADER_LEN],
        body_nonce: &[u8; BODY_NONCE_LEN],
        body_len: usize,
    ) -> Vec<u8> {
        let mut w = Writer::with_capacity(PAIRWISE_PREFIX_LEN + body_len);
        write_header(&mut w, MessageType::PAIRWISE_ENVELOPE);
        w.bytes(mailbox);
        w.bytes(encrypted_header);
        w.bytes(body_nonce);
        w.u32(u32::try_from(body_len).unwrap_or(u32::MAX));
        w.into_inner()
    }
}

/// Any envelope a relay accepts for deposit (spec §8.5, §8.15), parsed without a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelayEnvelope<'a> {
    /// An HPKE-sealed envelope to a public mailbox (type `0x04`).
    Sealed(Envelope),
    /// A pairwise envelope (type `0x08`).
    Pairwise(PairwiseEnvelope<'a>),
    /// A group envelope (type `0x09`, spec §15.4).
    Group(crate::group::GroupEnvelope),
}

impl<'a> RelayEnvelope<'a> {
    /// Strictly parses any kind of envelope (HPKE, pairwise, group): the relay's whole check before storing
    /// one. Any other message type is [`Error::UnknownMessageType`].
    ///
    /// # Errors
    /// The 1xx decode errors of [`Envelope`] and [`PairwiseEnvelope::parse`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        match crate::codec::peek_type(bytes)? {
            MessageType::ENVELOPE => Ok(Self::Sealed(Envelope::decode_exact(bytes)?)),
            MessageType::PAIRWISE_ENVELOPE => Ok(Self::Pairwise(PairwiseEnvelope::parse(bytes)?)),
            MessageType::GROUP_ENVELOPE => {
                Ok(Self::Group(crate::group::GroupEnvelope::parse(bytes)?))
            }
            other => Err(Error::UnknownMessageType(other.0)),
        }
    }

    /// The mailbox the envelope is addressed to.
    #[must_use]
    pub fn mailbox(&self) -> &[u8; MAILBOX_LEN] {
        match self {
            Self::Sealed(e) => e.mailbox(),
            Self::Pairwise(p) => p.mailbox,
            Self::Group(g) => g.mailbox(),
        }
    }

    /// The envelope's encoded length.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        match self {
            Self::Sealed(e) => e.encoded_len(),
            Self::Pairwise(p) => p.encoded_len(),
            Self::Group(g) => g.encoded_len(),
        }
    }
}
