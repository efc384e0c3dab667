//! Blindrelay identities as MLS credentials (spec §15.2).
//!
//! A member's MLS leaf carries a per-group Ed25519 signature key and a basic credential
//! whose identity is `identity public key (64) || certificate (64)`, the certificate being
//! the blindrelay identity's Ed25519 signature over
//! `"blindrelay v1 group leaf" || MLS signature public key (32)`. So the safety number of a
//! 1:1 session (§4.3) vouches for the same member in every group, and a leaf whose
//! certificate fails is refused by every member.

use crate::crypto::sig;
use crate::keys::IdentityKeyPair;
use crate::wire::{IdentityPublicKey, IDENTITY_PUBLIC_KEY_LEN};
use crate::{codec::Decode, Error};

/// The prefix of the certified message.
pub const GROUP_LEAF_LABEL: &[u8] = b"blindrelay v1 group leaf";
/// Length of a group credential: identity public key (64) and certificate (64).
pub const GROUP_CREDENTIAL_LEN: usize = IDENTITY_PUBLIC_KEY_LEN + sig::SIGNATURE_LEN;

/// Certifies `mls_signature_key` (an Ed25519 public key) for `identity` (spec §15.2).
#[must_use]
pub fn certify_group_key(
    identity: &IdentityKeyPair,
    mls_signature_key: &[u8; sig::PUBLIC_KEY_LEN],
) -> GroupCredential {
    let mut msg = [0u8; 24 + sig::PUBLIC_KEY_LEN];
    fill_message(&mut msg, mls_signature_key);
    GroupCredential {
        identity: *identity.public(),
        certificate: identity.sign(&msg),
    }
}

/// Checks that `credential` certifies `mls_signature_key`: decodes it (64 + 64 bytes
/// exactly, a valid identity key) and verifies the certificate.
///
/// # Errors
/// [`Error::InvalidEncoding`] for another length, [`Error::InvalidPublicKey`] for a bad
/// identity key, [`Error::BadSignature`] if the certificate does not verify.
pub fn verify_group_key(
    credential: &[u8],
    mls_signature_key: &[u8],
) -> Result<IdentityPublicKey, Error> {
    let parsed = GroupCredential::parse(credential)?;
    let key: &[u8; sig::PUBLIC_KEY_LEN] = mls_signature_key
        .try_into()
        .map_err(|_| Error::InvalidPublicKey)?;
    let mut msg = [0u8; 24 + sig::PUBLIC_KEY_LEN];
    fill_message(&mut msg, key);
    sig::verify(&parsed.identity.signing, &msg, &parsed.certificate)?;
    Ok(parsed.identity)
}

fn fill_message(msg: &mut [u8; 24 + sig::PUBLIC_KEY_LEN], key: &[u8; sig::PUBLIC_KEY_LEN]) {
    for (dst, src) in msg
        .iter_mut()
        .zip(GROUP_LEAF_LABEL.iter().chain(key.iter()))
    {
        *dst = *src;
    }
}

/// A member's group credential: its blindrelay identity and the certificate of its
/// per-group MLS signature key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupCredential {
    identity: IdentityPublicKey,
    certificate: [u8; sig::SIGNATURE_LEN],
}

impl GroupCredential {
    /// Decodes a credential: exactly 128 bytes, an identity key then a certificate.
    ///
    /// # Errors
    /// [`Error::InvalidEncoding`] for another length; the identity key's decode errors.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != GROUP_CREDENTIAL_LEN {
            return Err(Error::InvalidEncoding {
                field: "group.credential",
            });
        }
        let (id, cert) = bytes
            .split_at_checked(IDENTITY_PUBLIC_KEY_LEN)
            .ok_or(Error::Truncated)?;
        let identity = IdentityPublicKey::decode_exact(id)?;
        let certificate = cert.try_into().map_err(|_| Error::Truncated)?;
        Ok(Self {
            identity,
            certificate,
        })
    }

    /// The member's blindrelay identity.
    #[must_use]
    pub fn identity(&self) -> &IdentityPublicKey {
        &self.identity
    }

    /// The 128-byte encoding (the MLS basic credential's identity).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; GROUP_CREDENTIAL_LEN] {
        let mut out = [0u8; GROUP_CREDENTIAL_LEN];
        let id = self.identity.to_array();
        for (dst, src) in out.iter_mut().zip(id.iter().chain(self.certificate.iter())) {
            *dst = *src;
        }
        out
    }
}
