//! A bundle published with an issue time and an expiry (spec §12.3).

use super::{MAX_CLOCK_SKEW_SECS, MAX_PUBLICATION_LIFETIME_SECS};
use crate::codec::{read_header, write_header, Decode, Encode, MessageType, Reader, Writer};
use crate::crypto::sig;
use crate::keys::IdentityKeyPair;
use crate::wire::PrekeyBundle;
use crate::Error;
use alloc::vec::Vec;

/// The context string of a publication's signature (spec §12.3).
pub const PUBLICATION_LABEL: &[u8] = b"blindrelay v1 bundle publication";

/// The largest encoded base bundle a publication carries (a bundle without one-time keys is
/// exactly this long; the bound is checked before anything is allocated).
const MAX_BASE_BUNDLE_LEN: usize = 2 + 64 + 32 + 32 + 64 + (4 + 32 + 64) + (4 + 1184 + 64) + 1;

/// A prekey bundle without one-time keys, signed by its identity together with an issue
/// time and an expiry (spec §12.3). A relay stores it as uploaded and hands it out with one
/// one-time key of each kind attached; the claimer verifies the signature over the bundle with
/// the one-time keys removed.
///
/// ```text
/// 0x01 || 0x20 || issued_at (u64) || expires_at (u64) || bundle_len (u32) || bundle
///      || signature [64]
/// signature = Ed25519(identity, PUBLICATION_LABEL || issued_at || expires_at || bundle)
/// ```
///
/// Times are seconds since the Unix epoch. `bundle` is a canonical prekey bundle with flags
/// `0x00` (no one-time keys): one-time keys travel in their own records (§12.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publication {
    issued_at: u64,
    expires_at: u64,
    bundle: PrekeyBundle,
    signature: [u8; 64],
}

impl Publication {
    /// Signs `bundle` (whose one-time keys, if any, are left out) with the owner's identity,
    /// valid from `issued_at` until `expires_at`.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if `identity` did not make the bundle or the window is empty or
    /// longer than [`MAX_PUBLICATION_LIFETIME_SECS`].
    pub fn create(
        identity: &IdentityKeyPair,
        bundle: &PrekeyBundle,
        issued_at: u64,
        expires_at: u64,
    ) -> Result<Self, Error> {
        if bundle.identity != *identity.public() {
            return Err(Error::ApiMisuse {
                reason: "the bundle is not this identity's",
            });
        }
        if window_error(issued_at, expires_at).is_some() {
            return Err(Error::ApiMisuse {
                reason: "publication window empty or longer than allowed",
            });
        }
        let base = base_of(bundle);
        let signature = identity.sign(&signature_input(issued_at, expires_at, &base));
        Ok(Self {
            issued_at,
            expires_at,
            bundle: base,
            signature,
        })
    }

    /// When the owner signed it (seconds since the Unix epoch).
    #[must_use]
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// When it stops being valid (seconds since the Unix epoch).
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// The signed bundle, without one-time keys. Unverified until [`Publication::verify`].
    #[must_use]
    pub fn bundle(&self) -> &PrekeyBundle {
        &self.bundle
    }

    /// The exact bytes the identity signs (spec §12.3).
    #[must_use]
    pub fn signature_input(&self) -> Vec<u8> {
        signature_input(self.issued_at, self.expires_at, &self.bundle)
    }

    /// The checks a relay makes before storing a publication, and a claimer before using
    /// one (spec §12.3), in this order: every signature of the bundle (§5.4), the
    /// publication's signature, then the times against `now`: the window is at most
    /// [`MAX_PUBLICATION_LIFETIME_SECS`] long and not empty, it is not issued more than
    /// [`MAX_CLOCK_SKEW_SECS`] in the future, and it has not expired.
    ///
    /// # Errors
    /// [`Error::BadSignature`] or [`Error::InvalidPublicKey`] from the signatures;
    /// [`Error::Expired`] from the times.
    pub fn verify(&self, now: u64) -> Result<(), Error> {
        self.bundle.clone().verify()?;
        sig::verify(
            &self.bundle.identity.signing,
            &self.signature_input(),
            &self.signature,
        )?;
        if let Some(e) = window_error(self.issued_at, self.expires_at) {
            return Err(e);
        }
        if self.issued_at > now.saturating_add(MAX_CLOCK_SKEW_SECS) || now >= self.expires_at {
            return Err(Error::Expired);
        }
        Ok(())
    }
}

/// `Some(Expired)` if the window is empty or longer than the maximum.
fn window_error(issued_at: u64, expires_at: u64) -> Option<Error> {
    match expires_at.checked_sub(issued_at) {
        Some(len) if len > 0 && len <= MAX_PUBLICATION_LIFETIME_SECS => None,
        _ => Some(Error::Expired),
    }
}

/// The bundle with its one-time keys removed.
pub(crate) fn base_of(bundle: &PrekeyBundle) -> PrekeyBundle {
    let mut base = bundle.clone();
    base.one_time_prekey = None;
    base.one_time_kem_prekey = None;
    base
}

fn signature_input(issued_at: u64, expires_at: u64, base: &PrekeyBundle) -> Vec<u8> {
    let encoded = base.to_bytes();
    let mut out = Vec::with_capacity(PUBLICATION_LABEL.len() + 16 + encoded.len());
    out.extend_from_slice(PUBLICATION_LABEL);
    out.extend_from_slice(&issued_at.to_be_bytes());
    out.extend_from_slice(&expires_at.to_be_bytes());
    out.extend_from_slice(&encoded);
    out
}

impl Encode for Publication {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::PUBLICATION);
        w.u64(self.issued_at);
        w.u64(self.expires_at);
        w.opaque_u32(&self.bundle.to_bytes());
        w.bytes(&self.signature);
    }
}

impl Decode for Publication {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::PUBLICATION)?;
        let issued_at = r.u64()?;
        let expires_at = r.u64()?;
        let bundle =
            PrekeyBundle::decode_exact(r.opaque_u32(MAX_BASE_BUNDLE_LEN, "publication.bundle")?)?;
        if bundle.one_time_prekey.is_some() || bundle.one_time_kem_prekey.is_some() {
            return Err(Error::InvalidEncoding {
                field: "publication.bundle.flags",
            });
        }
        let signature = r.array()?;
        Ok(Self {
            issued_at,
            expires_at,
            bundle,
            signature,
        })
    }
}
