//! ML-KEM-768 (FIPS 203) through libcrux-ml-kem, a formally verified implementation
//! (spec §3.1). Decapsulation keys are stored as the 64-byte FIPS 203 seed `d || z`, and
//! encapsulation randomness is passed in explicitly so test vectors are reproducible.

use crate::Error;
use libcrux_ml_kem::mlkem768;
use zeroize::Zeroizing;

/// Encapsulation (public) key length.
pub const ENCAPSULATION_KEY_LEN: usize = 1184;
/// Ciphertext length.
pub const CIPHERTEXT_LEN: usize = 1088;
/// Key-generation seed length (`d || z`).
pub const SEED_LEN: usize = 64;
/// Shared secret length.
pub const SHARED_SECRET_LEN: usize = 32;
/// Encapsulation randomness length (`m`).
pub const ENCAPS_RANDOMNESS_LEN: usize = 32;

/// A key pair generated from a seed, whose expanded private key (2400 bytes) is
/// overwritten when dropped. libcrux's key types implement no `Zeroize` and keep their
/// bytes private, so the pair is erased by assigning an all-zero pair in place and
/// passing the place through `black_box`, which keeps the compiler from removing the
/// store as dead (issue 15, defect 8). The pair is built in place and never moved.
/// libcrux's own intermediate values during key generation are outside our reach.
struct ErasedOnDrop(mlkem768::MlKem768KeyPair);

impl ErasedOnDrop {
    fn generate(seed: &[u8; SEED_LEN]) -> Self {
        Self(mlkem768::generate_key_pair(*seed))
    }
}

impl Drop for ErasedOnDrop {
    fn drop(&mut self) {
        self.0 = mlkem768::MlKem768KeyPair::from(
            mlkem768::MlKem768PrivateKey::default(),
            mlkem768::MlKem768PublicKey::default(),
        );
        core::hint::black_box(&mut self.0);
    }
}

/// Derives the encapsulation key of the key pair generated from `seed`.
#[must_use]
pub fn encapsulation_key(seed: &[u8; SEED_LEN]) -> [u8; ENCAPSULATION_KEY_LEN] {
    let pair = ErasedOnDrop::generate(seed);
    *pair.0.pk()
}

/// Checks an encapsulation key with the FIPS 203 §7.2 modulus check.
///
/// # Errors
/// [`Error::InvalidPublicKey`] if the check fails.
pub fn validate(ek: &[u8; ENCAPSULATION_KEY_LEN]) -> Result<(), Error> {
    if mlkem768::validate_public_key(&mlkem768::MlKem768PublicKey::from(*ek)) {
        Ok(())
    } else {
        Err(Error::InvalidPublicKey)
    }
}

/// Encapsulates to `ek` with the explicit randomness `m`.
///
/// # Errors
/// [`Error::InvalidPublicKey`] if `ek` fails validation.
pub fn encapsulate(
    ek: &[u8; ENCAPSULATION_KEY_LEN],
    m: &[u8; ENCAPS_RANDOMNESS_LEN],
) -> Result<([u8; CIPHERTEXT_LEN], Zeroizing<[u8; SHARED_SECRET_LEN]>), Error> {
    validate(ek)?;
    let (ct, ss) = mlkem768::encapsulate(&mlkem768::MlKem768PublicKey::from(*ek), *m);
    let mut ct_bytes = [0u8; CIPHERTEXT_LEN];
    ct_bytes.copy_from_slice(ct.as_ref());
    Ok((ct_bytes, Zeroizing::new(ss)))
}

/// Decapsulates `ct` with the key pair generated from `seed`. ML-KEM uses implicit
/// rejection: a tampered ciphertext yields a pseudorandom secret, not an error, so the
/// failure surfaces later as [`Error::Decrypt`].
#[must_use]
pub fn decapsulate(
    seed: &[u8; SEED_LEN],
    ct: &[u8; CIPHERTEXT_LEN],
) -> Zeroizing<[u8; SHARED_SECRET_LEN]> {
    let pair = ErasedOnDrop::generate(seed);
    let ss = mlkem768::decapsulate(
        pair.0.private_key(),
        &mlkem768::MlKem768Ciphertext::from(*ct),
    );
    Zeroizing::new(ss)
}

/// [`decapsulate`] that also returns the encapsulation key, generating the key pair from
/// `seed` once (the responder needs both: the secret, and the key for the transcript).
#[must_use]
pub fn decapsulate_with_key(
    seed: &[u8; SEED_LEN],
    ct: &[u8; CIPHERTEXT_LEN],
) -> (
    Zeroizing<[u8; SHARED_SECRET_LEN]>,
    [u8; ENCAPSULATION_KEY_LEN],
) {
    let pair = ErasedOnDrop::generate(seed);
    let ss = mlkem768::decapsulate(
        pair.0.private_key(),
        &mlkem768::MlKem768Ciphertext::from(*ct),
    );
    (Zeroizing::new(ss), *pair.0.pk())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_implicit_rejection() {
        let seed = [7u8; SEED_LEN];
        let ek = encapsulation_key(&seed);
        let (ct, ss) = encapsulate(&ek, &[9; 32]).unwrap();
        let (ss2, ek2) = decapsulate_with_key(&seed, &ct);
        assert_eq!((*ss2, ek2), (*ss, ek));
        assert_eq!(validate(&ek), Ok(()));
        let (ct, ss) = encapsulate(&ek, &[9u8; 32]).unwrap();
        assert_eq!(*decapsulate(&seed, &ct), *ss);
        let mut bad = ct;
        bad[0] ^= 1;
        assert_ne!(*decapsulate(&seed, &bad), *ss);
        // A key whose first coefficient is 0xfff (>= q) fails the modulus check.
        let mut bad_ek = ek;
        bad_ek[0] = 0xff;
        bad_ek[1] |= 0x0f;
        assert_eq!(validate(&bad_ek), Err(Error::InvalidPublicKey));
    }
}
