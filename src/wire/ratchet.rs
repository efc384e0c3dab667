//! Ratchet messages and their (plaintext) headers (spec §7.5).

use crate::codec::{read_header, write_header, Decode, Encode, MessageType, Reader, Writer};
use crate::limits::MAX_PLAINTEXT_LEN;
use crate::Error;
use alloc::vec::Vec;

/// Length of an encoded [`RatchetHeader`]: ratchet key (32), PN (4), N (4).
pub const RATCHET_HEADER_LEN: usize = 40;
/// Length of an encrypted header: nonce (24) || XChaCha20-Poly1305(header) (40 + 16).
pub const ENCRYPTED_HEADER_LEN: usize = 24 + RATCHET_HEADER_LEN + 16;
/// Length of the body nonce (XChaCha20-Poly1305).
pub const BODY_NONCE_LEN: usize = 24;
/// The largest body ciphertext: the largest plaintext plus the 16-byte tag.
pub const MAX_BODY_LEN: usize = MAX_PLAINTEXT_LEN + 16;

/// The header of a ratchet message before encryption (spec §7.5). The relay never sees
/// it: it travels only inside [`RatchetMessage::encrypted_header`].
///
/// ```text
/// +--------------------+------------+-----------+
/// | ratchet key (32)   | PN (u32)   | N (u32)   |
/// +--------------------+------------+-----------+
/// ```
/// No version or type bytes: the header is never parsed outside an authenticated
/// decryption under a header key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatchetHeader {
    /// The sender's current ratchet public key (X25519).
    pub ratchet_key: [u8; 32],
    /// PN: the number of messages in the sender's previous sending chain.
    pub previous_chain_length: u32,
    /// N: this message's number in the current sending chain.
    pub message_number: u32,
}

impl RatchetHeader {
    /// The 40-byte encoding on the stack (the sender encrypts it in place).
    #[must_use]
    pub fn to_array(&self) -> [u8; RATCHET_HEADER_LEN] {
        let mut out = [0u8; RATCHET_HEADER_LEN];
        let pn = self.previous_chain_length.to_be_bytes();
        let n = self.message_number.to_be_bytes();
        for (dst, src) in out
            .iter_mut()
            .zip(self.ratchet_key.iter().chain(&pn).chain(&n))
        {
            *dst = *src;
        }
        out
    }
}

impl Encode for RatchetHeader {
    fn encode(&self, w: &mut Writer) {
        w.bytes(&self.to_array());
    }
}

impl Decode for RatchetHeader {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            ratchet_key: r.array()?,
            previous_chain_length: r.u32()?,
            message_number: r.u32()?,
        })
    }
}

/// A ratchet message (spec §7.5): everything a relay could see of it is its length.
///
/// ```text
/// +--------+------+-------------------------+-----------------+--------------------------+
/// | ver=01 | 0x03 | encrypted header (80)   | body nonce (24) | body: opaque32 (≤ 65552) |
/// +--------+------+-------------------------+-----------------+--------------------------+
/// encrypted header = header nonce (24) || XChaCha20-Poly1305(HK, header nonce, AD, header)
/// body             = XChaCha20-Poly1305(MK, body nonce, AD || encrypted header || 00*16,
///                                       plaintext)
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatchetMessage {
    /// The encrypted header, nonce first.
    pub encrypted_header: [u8; ENCRYPTED_HEADER_LEN],
    /// The body's random XChaCha20-Poly1305 nonce.
    pub body_nonce: [u8; BODY_NONCE_LEN],
    /// The body ciphertext with its 16-byte tag at the end.
    pub body: Vec<u8>,
}

/// Length of everything in a ratchet message before the body: version, type, encrypted
/// header, body nonce and the body's length prefix.
pub const RATCHET_PREFIX_LEN: usize = 2 + ENCRYPTED_HEADER_LEN + BODY_NONCE_LEN + 4;

/// A ratchet message borrowed from its encoding: lets a receiver decrypt without first
/// copying the body (same strictness as [`RatchetMessage::decode_exact`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RatchetMessageRef<'a> {
    /// The encrypted header, nonce first.
    pub encrypted_header: &'a [u8; ENCRYPTED_HEADER_LEN],
    /// The body's random XChaCha20-Poly1305 nonce.
    pub body_nonce: &'a [u8; BODY_NONCE_LEN],
    /// The body ciphertext with its tag.
    pub body: &'a [u8],
}

impl<'a> RatchetMessageRef<'a> {
    /// Parses a whole ratchet message without copying.
    ///
    /// # Errors
    /// As [`RatchetMessage::decode_exact`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        read_header(&mut r, MessageType::RATCHET_MESSAGE)?;
        let encrypted_header = r
            .bytes(ENCRYPTED_HEADER_LEN)?
            .try_into()
            .map_err(|_| Error::Truncated)?;
        let body_nonce = r
            .bytes(BODY_NONCE_LEN)?
            .try_into()
            .map_err(|_| Error::Truncated)?;
        let body = r.opaque_u32(MAX_BODY_LEN, "ratchet.body")?;
        // The same order of checks as the owned decoder, so both report the same error.
        if body.len() < 16 {
            return Err(Error::InvalidEncoding {
                field: "ratchet.body",
            });
        }
        r.finish()?;
        Ok(Self {
            encrypted_header,
            body_nonce,
            body,
        })
    }

    /// Starts an encoding in place: writes the prefix of a message whose body will be
    /// `body_len` bytes into a buffer with room for the body, so that a sender can encrypt
    /// straight into it. `body_len` is at most [`MAX_BODY_LEN`] (checked by the caller).
    #[must_use]
    pub fn start_encoding(
        encrypted_header: &[u8; ENCRYPTED_HEADER_LEN],
        body_nonce: &[u8; BODY_NONCE_LEN],
        body_len: usize,
    ) -> Vec<u8> {
        let mut w = Writer::with_capacity(RATCHET_PREFIX_LEN + body_len);
        write_header(&mut w, MessageType::RATCHET_MESSAGE);
        w.bytes(encrypted_header);
        w.bytes(body_nonce);
        w.u32(u32::try_from(body_len).unwrap_or(u32::MAX));
        w.into_inner()
    }
}

impl Encode for RatchetMessage {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::RATCHET_MESSAGE);
        w.bytes(&self.encrypted_header);
        w.bytes(&self.body_nonce);
        w.opaque_u32(&self.body);
    }
}

impl Decode for RatchetMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::RATCHET_MESSAGE)?;
        let encrypted_header = r.array()?;
        let body_nonce = r.array()?;
        let body = r.vec_u32(MAX_BODY_LEN, "ratchet.body")?;
        if body.len() < 16 {
            return Err(Error::InvalidEncoding {
                field: "ratchet.body",
            });
        }
        Ok(Self {
            encrypted_header,
            body_nonce,
            body,
        })
    }
}
