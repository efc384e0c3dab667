//! The byte-level codec (spec §2, `spec/02-encoding.md`). Pure bytes: no keys, no crypto.
//!
//! Every message is `version (u8) || message type (u8) || body`. Integers are big-endian.
//! Fixed-size fields have no length prefix; variable-size fields have a `u16` or `u32`
//! length prefix that is checked against the field's named maximum and the remaining input
//! *before* anything is allocated. Decoding must consume the whole input; the one public
//! entry point is [`Decode::decode_exact`]. Encoding cannot fail and computes every length
//! itself, so a value has exactly one encoding (decode then encode returns the input).

mod reader;
mod writer;

pub use reader::Reader;
pub use writer::Writer;

use crate::Error;
use alloc::vec::Vec;

/// The only protocol version this implementation speaks (spec §2.1).
pub const PROTOCOL_VERSION: u8 = 0x01;

/// The message-type byte that follows the version byte (spec §2.2). A newtype with named
/// constants, so an unknown value is representable (and rejected) rather than a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MessageType(pub u8);

impl MessageType {
    /// A published prekey bundle (spec §5).
    pub const PREKEY_BUNDLE: Self = Self(0x01);
    /// A handshake initial message (spec §6).
    pub const INITIAL_MESSAGE: Self = Self(0x02);
    /// A ratchet message with an encrypted header (spec §7).
    pub const RATCHET_MESSAGE: Self = Self(0x03);
    /// A relay envelope (spec §8).
    pub const ENVELOPE: Self = Self(0x04);
    /// Persisted session state (spec §7.8).
    pub const SESSION_STATE: Self = Self(0x05);
    /// Persisted session state sealed under a storage key (spec §7.8).
    pub const SEALED_SESSION_STATE: Self = Self(0x06);
    /// The sealed-sender content inside an envelope (spec §8).
    pub const SEALED_SENDER_CONTENT: Self = Self(0x07);
    /// A pairwise envelope: a ratchet message to a pairwise mailbox (spec §8.15).
    pub const PAIRWISE_ENVELOPE: Self = Self(0x08);
    /// A bundle publication: the bundle signed with issue and expiry times (spec §12.3).
    pub const PUBLICATION: Self = Self(0x20);
    /// Relay API: publish or replace a bundle (spec §12.3).
    pub const PUBLISH_REQUEST: Self = Self(0x21);
    /// Relay API: upload one-time prekeys (spec §12.4).
    pub const UPLOAD_KEYS_REQUEST: Self = Self(0x22);
    /// Relay API: how many one-time prekeys are left (spec §12.4).
    pub const COUNT_REQUEST: Self = Self(0x23);
    /// Relay API: delete everything an owner published (spec §12.4).
    pub const DELETE_REQUEST: Self = Self(0x24);
    /// Relay API: remove an owner's discovery registrations (spec §12.7).
    pub const DEREGISTER_REQUEST: Self = Self(0x25);
    /// Relay API: claim a bundle (spec §12.4).
    pub const CLAIM_REQUEST: Self = Self(0x26);
    /// Relay API: a claimed bundle (spec §12.4).
    pub const CLAIM_RESPONSE: Self = Self(0x27);
    /// Relay API: the one-time prekeys left (spec §12.4).
    pub const COUNT_RESPONSE: Self = Self(0x28);
    /// Relay API: fetch a mailbox (spec §12.5).
    pub const FETCH_REQUEST: Self = Self(0x29);
    /// Relay API: a page of envelopes (spec §12.5).
    pub const FETCH_RESPONSE: Self = Self(0x2A);
    /// Relay API: acknowledge envelopes (spec §12.5).
    pub const ACK_REQUEST: Self = Self(0x2B);
    /// Relay API: subscribe to mailboxes over WebSocket (spec §12.6).
    pub const SUBSCRIBE_REQUEST: Self = Self(0x2C);
    /// Relay API: one envelope pushed over WebSocket (spec §12.6).
    pub const DELIVERY: Self = Self(0x2D);
    /// Relay API: register as discoverable (spec §12.7).
    pub const REGISTER_REQUEST: Self = Self(0x2E);
    /// Relay API: a refusal with its stable error code (spec §12.10).
    pub const ERROR_RESPONSE: Self = Self(0x2F);
    /// Signed contact-discovery parameters published by a relay (spec §9).
    pub const DISCOVERY_PARAMETERS: Self = Self(0x10);
    /// A bucketed contact lookup request (spec §9).
    pub const LOOKUP_REQUEST: Self = Self(0x11);
    /// A bucketed contact lookup response (spec §9).
    pub const LOOKUP_RESPONSE: Self = Self(0x12);
    /// An opt-in discovery registration (spec §9).
    pub const REGISTRATION: Self = Self(0x13);
    /// A group envelope (spec §15.4).
    pub const GROUP_ENVELOPE: Self = Self(0x09);
    /// A group invite, carried inside a 1:1 session (spec §15.8).
    pub const GROUP_INVITE: Self = Self(0x0A);
    /// A commit request: a commit-slot token and a group envelope (spec §15.6).
    pub const COMMIT_REQUEST: Self = Self(0x31);
}

/// A message that writes its canonical encoding. Encoding never fails.
pub trait Encode {
    /// Appends the canonical encoding of `self` to `w`.
    fn encode(&self, w: &mut Writer);

    /// The canonical encoding of `self` as a fresh vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_inner()
    }
}

/// A message that can be read back from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from `r`, leaving any following bytes unread.
    ///
    /// # Errors
    /// Any decode error (1xx) when the bytes are not a valid encoding.
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error>;

    /// Decodes exactly one value from `bytes`; trailing bytes are an error.
    ///
    /// # Errors
    /// [`Error::TrailingBytes`] if bytes remain, or any error from [`Decode::decode`].
    fn decode_exact(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let value = Self::decode(&mut r)?;
        r.finish()?;
        Ok(value)
    }
}

/// Writes the two header bytes every message starts with.
pub fn write_header(w: &mut Writer, ty: MessageType) {
    w.u8(PROTOCOL_VERSION);
    w.u8(ty.0);
}

/// Reads and checks the two header bytes; the version is checked first.
///
/// # Errors
/// [`Error::UnknownVersion`] or [`Error::UnknownMessageType`].
pub fn read_header(r: &mut Reader<'_>, expected: MessageType) -> Result<(), Error> {
    let version = r.u8()?;
    if version != PROTOCOL_VERSION {
        return Err(Error::UnknownVersion(version));
    }
    let ty = r.u8()?;
    if ty != expected.0 {
        return Err(Error::UnknownMessageType(ty));
    }
    Ok(())
}

/// Reads the header of any message and returns its type without checking it against an
/// expectation (used by a relay that dispatches on the type).
///
/// # Errors
/// [`Error::Truncated`] or [`Error::UnknownVersion`].
pub fn peek_type(bytes: &[u8]) -> Result<MessageType, Error> {
    let mut r = Reader::new(bytes);
    let version = r.u8()?;
    if version != PROTOCOL_VERSION {
        return Err(Error::UnknownVersion(version));
    }
    Ok(MessageType(r.u8()?))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Shared test helpers: every codec test uses these to check truncation and trailing
    //! bytes over a valid encoding.
    use super::Decode;
    use crate::Error;

    /// Asserts that every strict prefix of `bytes` fails to decode and that one extra byte
    /// is rejected as trailing, and that the full input round-trips canonically.
    pub(crate) fn assert_strict<T: Decode + super::Encode + core::fmt::Debug>(bytes: &[u8]) {
        for cut in 0..bytes.len() {
            let prefix = &bytes[..cut];
            assert!(
                T::decode_exact(prefix).is_err(),
                "prefix of length {cut} of {} decoded",
                bytes.len()
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(T::decode_exact(&longer).unwrap_err(), Error::TrailingBytes);
        let decoded = T::decode_exact(bytes).expect("valid encoding decodes");
        assert_eq!(
            decoded.to_bytes(),
            bytes,
            "decode then encode is not canonical"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks_version_then_type() {
        let mut r = Reader::new(&[2, 1]);
        assert_eq!(
            read_header(&mut r, MessageType::PREKEY_BUNDLE),
            Err(Error::UnknownVersion(2))
        );
        let mut r = Reader::new(&[1, 9]);
        assert_eq!(
            read_header(&mut r, MessageType::PREKEY_BUNDLE),
            Err(Error::UnknownMessageType(9))
        );
        let mut r = Reader::new(&[1]);
        assert_eq!(
            read_header(&mut r, MessageType::PREKEY_BUNDLE),
            Err(Error::Truncated)
        );
        assert_eq!(peek_type(&[1, 0x42, 7]), Ok(MessageType(0x42)));
    }
}
