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

/// Whether an Ed25519 point encoding is canonical (RFC 8032 §5.1.3): `y < p` with
/// p = 2^255 − 19, and not `x = 0` with the sign bit set. The second case only arises for
/// y = ±1, which are small-order points and refused anyway; the first is checked here
/// because `ed25519-dalek` decodes `y ≥ p` by reducing it.
fn is_canonical_point(bytes: &[u8; PUBLIC_KEY_LEN]) -> bool {
    // y ≥ p exactly when the 255-bit y is 2^255 − 19 .. 2^255 − 1: every byte from 1 to 30
    // is 0xff, byte 31 is 0x7f (sign bit cleared) and byte 0 is at least 0xed.
    let (first, rest) = bytes.split_at(1);
    let (middle, last) = rest.split_at(PUBLIC_KEY_LEN - 2);
    let y_at_least_p = first.iter().all(|&b| b >= 0xed)
        && middle.iter().all(|&b| b == 0xff)
        && last.iter().all(|&b| b & 0x7f == 0x7f);
    !y_at_least_p
}

/// Parses an Ed25519 public key, rejecting encodings that do not decompress, non-canonical
/// encodings and small-order (weak) keys (spec §3.1).
///
/// # Errors
/// [`Error::InvalidPublicKey`].
pub fn verifying_key(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<VerifyingKey, Error> {
    if !is_canonical_point(bytes) {
        return Err(Error::InvalidPublicKey);
    }
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

    /// A non-canonical encoding (y = p + 5, which `ed25519-dalek` alone would decode as the
    /// large-order point y = 5) is refused, as is every encoding with y ≥ p; the canonical
    /// encodings just below p are not refused for being non-canonical.
    #[test]
    fn non_canonical_keys_are_refused() {
        let mut y_p_plus_5 = [0xffu8; 32];
        y_p_plus_5[0] = 0xf2;
        y_p_plus_5[31] = 0x7f;
        assert!(VerifyingKey::from_bytes(&y_p_plus_5).is_ok_and(|k| !k.is_weak()));
        assert_eq!(
            verifying_key(&y_p_plus_5).err(),
            Some(Error::InvalidPublicKey)
        );
        for low in 0xedu8..=0xff {
            for sign in [0u8, 0x80] {
                let mut e = [0xffu8; 32];
                e[0] = low;
                e[31] = 0x7f | sign;
                assert!(!is_canonical_point(&e), "{e:02x?}");
            }
        }
        let mut below = [0xffu8; 32];
        below[0] = 0xec;
        below[31] = 0x7f;
        assert!(is_canonical_point(&below));
        let mut two = [0u8; 32];
        two[0] = 2;
        assert!(is_canonical_point(&two));
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes();
        assert!(is_canonical_point(&key));
        assert!(verifying_key(&key).is_ok());
    }
}
