//! The public identity as plain bytes (spec §4.2): `ed25519 (32) || x25519 (32)`.

use crate::codec::{Decode, Encode, Reader, Writer};
use crate::Error;
use core::fmt;

/// Encoded length of an [`IdentityPublicKey`].
pub const IDENTITY_PUBLIC_KEY_LEN: usize = 64;

/// A party's public identity: its Ed25519 verifying key and its X25519 agreement key.
///
/// ```text
/// +----------------------+----------------------+
/// | ed25519 key (32)     | x25519 key (32)      |
/// +----------------------+----------------------+
/// ```
///
/// This is plain public data; it is checked for validity where it is used (signature
/// verification, DH), not when decoded.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityPublicKey {
    /// The Ed25519 verifying key that signs prekeys.
    pub signing: [u8; 32],
    /// The X25519 key used in the handshake's DH1 and DH2.
    pub agreement: [u8; 32],
}

impl IdentityPublicKey {
    /// The 64-byte encoding.
    #[must_use]
    pub fn to_array(&self) -> [u8; IDENTITY_PUBLIC_KEY_LEN] {
        let mut out = [0u8; IDENTITY_PUBLIC_KEY_LEN];
        let (a, b) = out.split_at_mut(32);
        a.copy_from_slice(&self.signing);
        b.copy_from_slice(&self.agreement);
        out
    }
}

impl fmt::Debug for IdentityPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityPublicKey")
            .field("signing", &HexBytes(&self.signing))
            .field("agreement", &HexBytes(&self.agreement))
            .finish()
    }
}

/// Formats public bytes as lowercase hex in `Debug` output.
pub(crate) struct HexBytes<'a>(pub(crate) &'a [u8]);

impl fmt::Debug for HexBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Encode for IdentityPublicKey {
    fn encode(&self, w: &mut Writer) {
        w.bytes(&self.signing);
        w.bytes(&self.agreement);
    }
}

impl Decode for IdentityPublicKey {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            signing: r.array()?,
            agreement: r.array()?,
        })
    }
}

/// A party's identity record (spec §5.2, kind `0x05`): its public identity, mailbox id and
/// sealing key, with the Ed25519 signature that binds the X25519 half of the identity, the
/// mailbox and the sealing key to the Ed25519 half.
///
/// ```text
/// +----------------+-------------+-------------+----------------+
/// | identity (64)  | mailbox(32) | sealing(32) | signature (64) |
/// +----------------+-------------+-------------+----------------+
/// ```
///
/// It is published in every bundle (§5.3) and carried by every initial message (§6.3), so
/// that the responder authenticates both halves of the initiator's identity. Plain data:
/// [`IdentityRecord::verify`](crate::bundle) checks the signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityRecord {
    /// The public identity the record belongs to.
    pub identity: IdentityPublicKey,
    /// The owner's mailbox id (opaque, random; spec §5.1).
    pub mailbox: [u8; 32],
    /// The X25519 key envelopes to this owner are sealed to (spec §8).
    pub sealing_key: [u8; 32],
    /// Ed25519 signature by `identity.signing` over the kind-`0x05` signature input.
    pub signature: [u8; 64],
}

/// Encoded length of an [`IdentityRecord`].
pub const IDENTITY_RECORD_LEN: usize = IDENTITY_PUBLIC_KEY_LEN + 32 + 32 + 64;

impl fmt::Debug for IdentityRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityRecord")
            .field("identity", &self.identity)
            .field("mailbox", &HexBytes(&self.mailbox))
            .field("sealing_key", &HexBytes(&self.sealing_key))
            .finish_non_exhaustive()
    }
}

impl Encode for IdentityRecord {
    fn encode(&self, w: &mut Writer) {
        self.identity.encode(w);
        w.bytes(&self.mailbox);
        w.bytes(&self.sealing_key);
        w.bytes(&self.signature);
    }
}

impl Decode for IdentityRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            identity: IdentityPublicKey::decode(r)?,
            mailbox: r.array()?,
            sealing_key: r.array()?,
            signature: r.array()?,
        })
    }
}
