//! MLS credential validation for blind groups (spec §15.2): a leaf's basic credential must
//! be a blindrelay group credential certifying the leaf's signature key.

use blindrelay::group::verify_group_key;
use mls_rs::identity::{CredentialType, SigningIdentity};
use mls_rs::time::MlsTime;
use mls_rs::ExtensionList;
use mls_rs_core::identity::{Credential, IdentityProvider, MemberValidationContext};

/// Why a credential was refused (mapped to the core's codes by the group layer).
#[derive(Debug)]
pub struct CredentialRefused(pub blindrelay::Error);

impl core::fmt::Display for CredentialRefused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "group credential refused: {}", self.0)
    }
}

impl std::error::Error for CredentialRefused {}

impl mls_rs::error::IntoAnyError for CredentialRefused {
    fn into_dyn_error(self) -> Result<Box<dyn std::error::Error + Send + Sync>, Self> {
        Ok(Box::new(self))
    }
}

/// The identity of a leaf: the 64-byte blindrelay identity public key its credential
/// certifies for its signature key.
///
/// # Errors
/// [`CredentialRefused`] for anything but a valid blindrelay group credential.
pub fn leaf_identity(
    signing_identity: &SigningIdentity,
) -> Result<blindrelay::IdentityPublicKey, CredentialRefused> {
    verify_group_key(
        basic_identifier(signing_identity)?,
        signing_identity.signature_key.as_bytes(),
    )
    .map_err(CredentialRefused)
}

/// The identity a leaf's credential names, decoded without checking its certificate: for
/// leaves of the group's tree, which MLS admitted only through
/// [`BlindIdentityProvider::validate_member`] (one Ed25519 verification per leaf, once).
///
/// # Errors
/// [`CredentialRefused`] if the credential does not decode.
pub fn claimed_identity(
    signing_identity: &SigningIdentity,
) -> Result<blindrelay::IdentityPublicKey, CredentialRefused> {
    blindrelay::group::GroupCredential::parse(basic_identifier(signing_identity)?)
        .map(|c| *c.identity())
        .map_err(CredentialRefused)
}

/// The bytes of a leaf's basic credential (a blindrelay group credential, §15.2); any
/// other credential type is `InvalidEncoding`.
fn basic_identifier(signing_identity: &SigningIdentity) -> Result<&[u8], CredentialRefused> {
    match &signing_identity.credential {
        Credential::Basic(basic) => Ok(&basic.identifier),
        _ => Err(CredentialRefused(blindrelay::Error::InvalidEncoding {
            field: "group.credential",
        })),
    }
}

/// mls-rs's identity hook: validates every leaf and names it by its blindrelay identity.
/// A member keeps its identity for life (`valid_successor`: same identity only). External
/// senders are refused: blind groups have none.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlindIdentityProvider;

impl IdentityProvider for BlindIdentityProvider {
    type Error = CredentialRefused;

    fn validate_member(
        &self,
        signing_identity: &SigningIdentity,
        _timestamp: Option<MlsTime>,
        _context: MemberValidationContext<'_>,
    ) -> Result<(), Self::Error> {
        leaf_identity(signing_identity).map(|_| ())
    }

    fn validate_external_sender(
        &self,
        _signing_identity: &SigningIdentity,
        _timestamp: Option<MlsTime>,
        _extensions: Option<&ExtensionList>,
    ) -> Result<(), Self::Error> {
        Err(CredentialRefused(blindrelay::Error::ApiMisuse {
            reason: "blind groups have no external senders",
        }))
    }

    fn identity(
        &self,
        signing_identity: &SigningIdentity,
        _extensions: &ExtensionList,
    ) -> Result<Vec<u8>, Self::Error> {
        // MLS asks for identities of leaves it has validated (`validate_member`), many
        // times per commit and join: decode only, the certificate was checked once.
        Ok(claimed_identity(signing_identity)?.to_array().to_vec())
    }

    fn valid_successor(
        &self,
        predecessor: &SigningIdentity,
        successor: &SigningIdentity,
        _extensions: &ExtensionList,
    ) -> Result<bool, Self::Error> {
        Ok(claimed_identity(predecessor)? == claimed_identity(successor)?)
    }

    fn supported_types(&self) -> Vec<CredentialType> {
        vec![CredentialType::BASIC]
    }
}
