//! Ed25519 signatures with strict verification (spec §3.1): non-canonical encodings and
//! small-order components are rejected, as `verify_strict` and libsodium do.

use crate::Error;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// Ed25519 public key length.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Ed25519 signature length.
pub const SIGNATURE_LEN: usize = 64;

/// Signs `msg`.
#[must_use]
pub fn sign(key: &SigningKey, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
    key.sign(msg).to_bytes()
}

/// Parses an Ed25519 public key, rejecting encodings that do not decompress and
/// small-order (weak) keys.
///
/// # Errors
/// [`Error::InvalidPublicKey`].
pub fn verifying_key(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<VerifyingKey, Error> {
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| Error::InvalidPublicKey)?;
    if key.is_weak() {
        return Err(Error::InvalidPublicKey);
    }
    Ok(key)
}

/// Verifies `sig` over `msg` strictly.
///
/// # Errors
/// [`Error::InvalidPublicKey`] if `public` is not a usable key, [`Error::BadSignature`]
/// if the signature does not verify.
pub fn verify(
    public: &[u8; PUBLIC_KEY_LEN],
    msg: &[u8],
    sig: &[u8; SIGNATURE_LEN],
) -> Result<(), Error> {
    let key = verifying_key(public)?;
    key.verify_strict(msg, &Signature::from_bytes(sig))
        .map_err(|_| Error::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1 test 2 pins Ed25519.
    #[test]
    fn rfc8032_test2() {
        let sk: [u8; 32] =
            hex::decode("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
                .unwrap()
                .try_into()
                .unwrap();
        let key = SigningKey::from_bytes(&sk);
        let pk = key.verifying_key().to_bytes();
        assert_eq!(
            hex::encode(pk),
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
        );
        let sig = sign(&key, &[0x72]);
        assert_eq!(hex::encode(sig), "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
        assert_eq!(verify(&pk, &[0x72], &sig), Ok(()));
        assert_eq!(verify(&pk, &[0x73], &sig), Err(Error::BadSignature));
    }
}
