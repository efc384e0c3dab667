//! AEAD wrappers (spec §3.2). `open` returns only [`Error::Decrypt`] on any failure.

use crate::Error;
use alloc::vec::Vec;
use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};

/// AEAD key length (both ChaCha20-Poly1305 variants).
pub const KEY_LEN: usize = 32;
/// ChaCha20-Poly1305 nonce length.
pub const NONCE_LEN: usize = 12;
/// XChaCha20-Poly1305 nonce length.
pub const XNONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;

/// ChaCha20-Poly1305 seal (RFC 8439).
#[must_use]
pub fn seal(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN], aad: &[u8], pt: &[u8]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(key.into());
    // Encryption fails only for plaintexts over 2^38 bytes, far beyond MAX_MESSAGE_LEN;
    // an empty output on that impossible path fails to open rather than panicking.
    cipher
        .encrypt(nonce.into(), Payload { msg: pt, aad })
        .unwrap_or_default()
}

/// ChaCha20-Poly1305 open.
///
/// # Errors
/// [`Error::Decrypt`] if the tag does not verify.
pub fn open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ct: &[u8],
) -> Result<Vec<u8>, Error> {
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(nonce.into(), Payload { msg: ct, aad })
        .map_err(|_| Error::Decrypt)
}

/// XChaCha20-Poly1305 seal (24-byte nonce, safe to choose at random).
#[must_use]
pub fn xseal(key: &[u8; KEY_LEN], nonce: &[u8; XNONCE_LEN], aad: &[u8], pt: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .encrypt(nonce.into(), Payload { msg: pt, aad })
        .unwrap_or_default()
}

/// XChaCha20-Poly1305 open.
///
/// # Errors
/// [`Error::Decrypt`] if the tag does not verify.
pub fn xopen(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    ct: &[u8],
) -> Result<Vec<u8>, Error> {
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(nonce.into(), Payload { msg: ct, aad })
        .map_err(|_| Error::Decrypt)
}

/// XChaCha20-Poly1305 seal in place with a detached tag: `buf` holds the plaintext on
/// entry and the ciphertext on return. Lets the ratchet encrypt straight into the message
/// buffer without a second copy of the body (spec §7.5).
#[must_use]
pub fn xseal_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> [u8; TAG_LEN] {
    let cipher = XChaCha20Poly1305::new(key.into());
    // Fails only for buffers over 2^38 bytes; the zero tag then fails to open.
    cipher
        .encrypt_in_place_detached(nonce.into(), aad, buf)
        .map(Into::into)
        .unwrap_or([0u8; TAG_LEN])
}

/// XChaCha20-Poly1305 open in place with a detached tag. On failure `buf` is left
/// unchanged (the tag is checked before anything is decrypted).
///
/// # Errors
/// [`Error::Decrypt`] if the tag does not verify.
pub fn xopen_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), Error> {
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt_in_place_detached(nonce.into(), aad, buf, tag.into())
        .map_err(|_| Error::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8439 §2.8.2 pins ChaCha20-Poly1305.
    #[test]
    fn rfc8439_aead() {
        let key: [u8; 32] =
            hex::decode("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
                .unwrap()
                .try_into()
                .unwrap();
        let nonce: [u8; 12] = hex::decode("070000004041424344454647")
            .unwrap()
            .try_into()
            .unwrap();
        let aad = hex::decode("50515253c0c1c2c3c4c5c6c7").unwrap();
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let ct = seal(&key, &nonce, &aad, pt);
        assert_eq!(
            hex::encode(&ct[ct.len() - 16..]),
            "1ae10b594f09e26a7e902ecbd0600691"
        );
        assert_eq!(open(&key, &nonce, &aad, &ct).unwrap(), pt);
        let mut bad = ct.clone();
        bad[0] ^= 1;
        assert_eq!(open(&key, &nonce, &aad, &bad), Err(Error::Decrypt));
    }

    /// The in-place variants agree with the allocating ones.
    #[test]
    fn in_place_matches() {
        let key = [7u8; 32];
        let nonce = [9u8; 24];
        let pt = b"in place".to_vec();
        let ct = xseal(&key, &nonce, b"ad", &pt);
        let mut buf = pt.clone();
        let tag = xseal_in_place(&key, &nonce, b"ad", &mut buf);
        assert_eq!([buf.as_slice(), &tag].concat(), ct);
        let mut bad = buf.clone();
        bad[0] ^= 1;
        assert_eq!(
            xopen_in_place(&key, &nonce, b"ad", &mut bad, &tag),
            Err(Error::Decrypt)
        );
        xopen_in_place(&key, &nonce, b"ad", &mut buf, &tag).unwrap();
        assert_eq!(buf, pt);
    }
}
