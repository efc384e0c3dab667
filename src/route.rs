//! Mailboxes, routes and read capabilities (spec §8.13, §8.14).
//!
//! Every mailbox id is the hash of a secret 32-byte *read capability*:
//!
//! ```text
//! mailbox = SHA-256("blindrelay v1 mailbox id" || read capability)
//! ```
//!
//! A relay stores the id and lets a reader fetch or acknowledge a mailbox only if the reader
//! presents a capability that hashes to it ([`verify_read_capability`]). The relay learns
//! no identity from it: a capability is as unlinkable as the id it opens.
//!
//! There are two kinds of mailbox:
//!
//! - the **public mailbox** of an owner, published in its bundle (§5.2): the capability is a
//!   random secret the owner keeps ([`ReadCapability::generate`]). Only first messages of a
//!   conversation (initial messages, §6.3) go there, sealed with HPKE (§8.2–§8.7).
//! - **pairwise mailboxes**, one per sending chain of a session: the capability is derived
//!   from the chain's header key (§7.5), which both peers hold, so the recipient knows the
//!   current and the next mailbox of every session without any message saying so, and ids
//!   rotate at every DH ratchet step. Messages to a pairwise mailbox are
//!   [`PairwiseEnvelope`](crate::envelope::PairwiseEnvelope)s: no public-key sealing, the
//!   ratchet's encrypted header and body padded inside the AEAD (§8.15).

use crate::crypto::kdf::{hmac_sha256, sha256};
use crate::crypto::{random_array, CryptoRng, RngCore};
use crate::envelope::MAILBOX_LEN;
use core::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Prefix of the hash that turns a read capability into a mailbox id (spec §8.13).
pub const MAILBOX_ID_LABEL: &[u8] = b"blindrelay v1 mailbox id";

/// HMAC message that derives a pairwise mailbox's read capability from a chain's header
/// key (spec §8.14).
pub const PAIRWISE_CAPABILITY_LABEL: &[u8] = b"blindrelay v1 pairwise mailbox";

/// Length of a read capability.
pub const READ_CAPABILITY_LEN: usize = 32;

/// The mailbox id of a read capability: `SHA-256(MAILBOX_ID_LABEL || capability)`.
fn mailbox_of(capability: &[u8; READ_CAPABILITY_LEN]) -> [u8; MAILBOX_LEN] {
    sha256(&[MAILBOX_ID_LABEL, capability])
}

/// The secret that opens one mailbox at a relay (spec §8.13): whoever holds it may fetch and
/// acknowledge the mailbox's envelopes, and the mailbox id is its hash.
///
/// A bearer token for the relay API, sent only over an authenticated, encrypted transport.
/// It opens no envelope: every envelope is end-to-end encrypted under keys the capability
/// does not reveal. Zeroized on drop, compared in constant time, redacted in `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ReadCapability([u8; READ_CAPABILITY_LEN]);

impl ReadCapability {
    /// A fresh capability for a public mailbox (spec §8.13): 32 random bytes.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        Self(random_array(rng))
    }

    /// A capability from its bytes (as stored by its owner).
    #[must_use]
    pub fn from_bytes(bytes: [u8; READ_CAPABILITY_LEN]) -> Self {
        Self(bytes)
    }

    /// The capability's bytes: what a reader presents to the relay, and what its owner
    /// stores.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; READ_CAPABILITY_LEN] {
        self.0
    }

    /// The read capability of the pairwise mailbox of the sending chain whose header key is
    /// `header_key` (spec §8.14): `HMAC-SHA256(header_key, PAIRWISE_CAPABILITY_LABEL)`.
    #[must_use]
    pub(crate) fn pairwise(header_key: &[u8; 32]) -> Self {
        Self(*hmac_sha256(header_key, PAIRWISE_CAPABILITY_LABEL))
    }

    /// The mailbox id this capability opens.
    #[must_use]
    pub fn mailbox(&self) -> [u8; MAILBOX_LEN] {
        mailbox_of(&self.0)
    }
}

impl PartialEq for ReadCapability {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for ReadCapability {}

impl fmt::Debug for ReadCapability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadCapability(<redacted>)")
    }
}

/// The relay's check (spec §8.13): whether `capability` opens `mailbox`, compared in
/// constant time. A relay serves a fetch or an acknowledgement only when this holds.
#[must_use]
pub fn verify_read_capability(
    mailbox: &[u8; MAILBOX_LEN],
    capability: &[u8; READ_CAPABILITY_LEN],
) -> bool {
    mailbox_of(capability).ct_eq(mailbox).into()
}

/// The mailbox id of the pairwise mailbox keyed by `header_key` (spec §8.14).
pub(crate) fn pairwise_mailbox(header_key: &[u8; 32]) -> [u8; MAILBOX_LEN] {
    ReadCapability::pairwise(header_key).mailbox()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn mailbox_is_the_labelled_hash_of_the_capability() {
        let cap = ReadCapability::from_bytes([7; 32]);
        // Independently: SHA-256 over the label and the bytes.
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"blindrelay v1 mailbox id");
        h.update([7u8; 32]);
        let expected: [u8; 32] = h.finalize().into();
        assert_eq!(cap.mailbox(), expected);
        assert!(verify_read_capability(&expected, &[7; 32]));
        assert!(!verify_read_capability(&expected, &[8; 32]));
    }

    #[test]
    fn pairwise_capability_is_an_hmac_of_the_header_key() {
        use hmac::{Hmac, Mac};
        let hk = [3u8; 32];
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&hk).unwrap();
        mac.update(b"blindrelay v1 pairwise mailbox");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(ReadCapability::pairwise(&hk).to_bytes(), expected);
        assert_ne!(pairwise_mailbox(&hk), pairwise_mailbox(&[4u8; 32]));
        // The mailbox is not the header key, nor the capability.
        assert_ne!(pairwise_mailbox(&hk), hk);
        assert_ne!(pairwise_mailbox(&hk), expected);
    }

    #[test]
    fn generated_capabilities_differ_and_debug_is_redacted() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let a = ReadCapability::generate(&mut rng);
        let b = ReadCapability::generate(&mut rng);
        assert_ne!(a, b);
        assert_eq!(a, ReadCapability::from_bytes(a.to_bytes()));
        let shown = format!("{a:?}");
        assert!(!shown.contains(&format!("{:?}", a.to_bytes()[0..4].to_vec())));
        assert_eq!(shown, "ReadCapability(<redacted>)");
    }
}
