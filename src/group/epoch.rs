//! Per-epoch keys of a blind group (spec §15.3).

use crate::crypto::{aead, kdf, random_array, CryptoRng, RngCore};
use crate::envelope::MAILBOX_LEN;
use crate::envelope::{pad, unpad};
use crate::group::wire::{GroupEnvelope, GROUP_ENVELOPE_AAD_LEN};
use crate::route::ReadCapability;
use crate::Error;
use alloc::vec::Vec;
use core::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The MLS exporter label (RFC 9420 §8.5) of the per-epoch secret `E`; context empty,
/// length [`EXPORTER_SECRET_LEN`].
pub const GROUP_EXPORTER_LABEL: &[u8] = b"blindrelay v1 group epoch";
/// HKDF-Expand info of the epoch's wrap key.
pub const GROUP_WRAP_LABEL: &[u8] = b"blindrelay v1 group wrap";
/// HKDF-Expand info of the epoch's commit-slot token.
pub const GROUP_COMMIT_TOKEN_LABEL: &[u8] = b"blindrelay v1 group commit token";
/// Hash prefix turning a commit-slot token into the epoch mailbox's read capability.
pub const GROUP_CAPABILITY_LABEL: &[u8] = b"blindrelay v1 group capability";
/// Length of the exporter secret `E`.
pub const EXPORTER_SECRET_LEN: usize = 32;
/// Length of a commit-slot token.
pub const COMMIT_TOKEN_LEN: usize = 32;

/// An epoch's commit-slot token (spec §15.6): the secret a member presents to claim the
/// epoch's one commit. Its hash chain gives the epoch's read capability and mailbox, so a
/// relay checks a token against a mailbox without any registry, and learns the token (and
/// with it the capability of an epoch that is over) only when a commit closes the epoch.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CommitToken([u8; COMMIT_TOKEN_LEN]);

impl CommitToken {
    /// A token from its bytes (a relay reading a commit request).
    #[must_use]
    pub fn from_bytes(bytes: [u8; COMMIT_TOKEN_LEN]) -> Self {
        Self(bytes)
    }

    /// The token's bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; COMMIT_TOKEN_LEN] {
        self.0
    }

    /// The read capability of the epoch's mailbox:
    /// `SHA-256(GROUP_CAPABILITY_LABEL || token)`.
    #[must_use]
    pub fn capability(&self) -> ReadCapability {
        ReadCapability::from_bytes(kdf::sha256(&[GROUP_CAPABILITY_LABEL, &self.0]))
    }

    /// The epoch's mailbox id, the one a commit with this token must be addressed to.
    #[must_use]
    pub fn mailbox(&self) -> [u8; MAILBOX_LEN] {
        self.capability().mailbox()
    }
}

impl PartialEq for CommitToken {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for CommitToken {}

impl fmt::Debug for CommitToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CommitToken(<redacted>)")
    }
}

/// Everything one epoch of a blind group derives from its exporter secret (spec §15.3):
/// the wrap key of its group envelopes, its commit-slot token, and through the token its
/// read capability and mailbox. Members only: nothing here is ever sent, except the token
/// in the one commit request that ends the epoch.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct EpochKeys {
    wrap: [u8; 32],
    token: CommitToken,
}

impl EpochKeys {
    /// Derives the epoch's keys from `E = MLS-Exporter(GROUP_EXPORTER_LABEL, "", 32)`.
    #[must_use]
    pub fn from_exporter_secret(secret: &[u8; EXPORTER_SECRET_LEN]) -> Self {
        let wrap: Zeroizing<[u8; 32]> = kdf::hkdf_expand(secret, GROUP_WRAP_LABEL);
        let token: Zeroizing<[u8; 32]> = kdf::hkdf_expand(secret, GROUP_COMMIT_TOKEN_LABEL);
        Self {
            wrap: *wrap,
            token: CommitToken(*token),
        }
    }

    /// The epoch's commit-slot token.
    #[must_use]
    pub fn token(&self) -> &CommitToken {
        &self.token
    }

    /// The epoch mailbox's read capability (members fetch with it, §12.5).
    #[must_use]
    pub fn capability(&self) -> ReadCapability {
        self.token.capability()
    }

    /// The epoch's mailbox id.
    #[must_use]
    pub fn mailbox(&self) -> [u8; MAILBOX_LEN] {
        self.token.mailbox()
    }

    /// Seals `inner` (a blind MLS message, §15.5) into a group envelope to this epoch's
    /// mailbox: padded (§8.4), then XChaCha20-Poly1305 under the wrap key with a fresh
    /// 24-byte nonce from `rng` and the envelope's first 58 bytes as associated data.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] if `inner` is longer than the padding allows.
    pub fn seal(
        &self,
        inner: &[u8],
        rng: &mut (impl CryptoRng + RngCore),
    ) -> Result<GroupEnvelope, Error> {
        let padded = pad(inner)?;
        let nonce: [u8; 24] = random_array(rng);
        let mailbox = self.mailbox();
        let aad = GroupEnvelope::aad(&mailbox, &nonce);
        let body = aead::xseal(&self.wrap, &nonce, &aad, &padded);
        GroupEnvelope::from_parts(mailbox, nonce, body)
    }

    /// Opens a group envelope of this epoch: the mailbox must be this epoch's
    /// ([`Error::WrongMailbox`]), the body must authenticate under the wrap key
    /// ([`Error::Decrypt`]) and its padding must be exact ([`Error::BadPadding`]). Returns
    /// the blind MLS message.
    ///
    /// # Errors
    /// As above.
    pub fn open(&self, envelope: &GroupEnvelope) -> Result<Zeroizing<Vec<u8>>, Error> {
        if !bool::from(envelope.mailbox().ct_eq(&self.mailbox())) {
            return Err(Error::WrongMailbox);
        }
        let aad: [u8; GROUP_ENVELOPE_AAD_LEN] =
            GroupEnvelope::aad(envelope.mailbox(), envelope.nonce());
        let padded = Zeroizing::new(aead::xopen(
            &self.wrap,
            envelope.nonce(),
            &aad,
            envelope.body(),
        )?);
        Ok(Zeroizing::new(unpad(&padded)?.to_vec()))
    }
}

impl fmt::Debug for EpochKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EpochKeys(<redacted>)")
    }
}
