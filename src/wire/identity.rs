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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
