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

/// XChaCha20-Poly1305 seal of a short input through HACL*'s portable ChaCha20-Poly1305
/// (`libcrux-chacha20poly1305`): writes `ciphertext || tag` into `out`, which must be
/// exactly `pt.len() + 16` bytes. Same algorithm and bytes as [`xseal`]; used for the
/// 40-byte ratchet header (spec §7.5), where RustCrypto's SIMD backends spend about a
/// microsecond per call on set-up (Poly1305 key powers, four ChaCha20 blocks at a time)
/// against about 0.4 µs for the whole seal here. Long inputs stay on [`xseal_in_place`],
/// which is twice as fast over a 64 KiB body.
///
/// # Errors
/// [`Error::ApiMisuse`] if `out` has the wrong length.
pub fn xseal_short(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    pt: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    if pt.len().checked_add(TAG_LEN) != Some(out.len()) {
        return Err(Error::ApiMisuse {
            reason: "short seal output must be plaintext length + 16",
        });
    }
    libcrux_chacha20poly1305::xchacha20_poly1305::encrypt(key, pt, out, aad, nonce)
        .map(|_| ())
        .map_err(|_| Error::ApiMisuse {
            reason: "short seal input too large",
        })
}

/// XChaCha20-Poly1305 open of a short `ciphertext || tag` into `out` (exactly
/// `ct_and_tag.len() - 16` bytes), the inverse of [`xseal_short`]. On failure `out` holds
/// no plaintext (HACL* checks the tag before decrypting).
///
/// # Errors
/// [`Error::Decrypt`] if the input is shorter than a tag, `out` has the wrong length, or
/// the tag does not verify.
pub fn xopen_short(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    ct_and_tag: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    if ct_and_tag.len().checked_sub(TAG_LEN) != Some(out.len()) {
        return Err(Error::Decrypt);
    }
    libcrux_chacha20poly1305::xchacha20_poly1305::decrypt(key, out, ct_and_tag, aad, nonce)
        .map(|_| ())
        .map_err(|_| Error::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8439 §2.8.2's inputs, which draft-irtf-cfrg-xchacha-03 §A.3.1 reuses with its
    // own nonce.
    const KEY_HEX: &str = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
    const AAD_HEX: &str = "50515253c0c1c2c3c4c5c6c7";
    const SUNSCREEN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

    fn hex_array<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// RFC 8439 §2.8.2 pins ChaCha20-Poly1305.
    #[test]
    fn rfc8439_aead() {
        let key: [u8; 32] = hex_array(KEY_HEX);
        let nonce: [u8; 12] = hex_array("070000004041424344454647");
        let aad = hex::decode(AAD_HEX).unwrap();
        let pt = SUNSCREEN;
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

    /// draft-irtf-cfrg-xchacha-03 §A.3.1 pins XChaCha20-Poly1305 in both implementations.
    #[test]
    fn xchacha_draft_vector_in_both_implementations() {
        let key: [u8; 32] = hex_array(KEY_HEX);
        let nonce: [u8; 24] = hex_array("404142434445464748494a4b4c4d4e4f5051525354555657");
        let aad = hex::decode(AAD_HEX).unwrap();
        let pt = SUNSCREEN;
        let expected_tag = "c0875924c1c7987947deafd8780acf49";
        let ct = xseal(&key, &nonce, &aad, pt);
        assert_eq!(hex::encode(&ct[ct.len() - 16..]), expected_tag);
        let mut short = vec![0u8; pt.len() + 16];
        xseal_short(&key, &nonce, &aad, pt, &mut short).unwrap();
        assert_eq!(short, ct);
        let mut back = vec![0u8; pt.len()];
        xopen_short(&key, &nonce, &aad, &ct, &mut back).unwrap();
        assert_eq!(back, pt);
    }

    proptest::proptest! {
        /// The short (HACL*) and general (RustCrypto) XChaCha20-Poly1305 agree byte for
        /// byte, and each opens what the other sealed but nothing tampered.
        #[test]
        fn short_and_general_implementations_agree(
            key in proptest::array::uniform32(proptest::prelude::any::<u8>()),
            nonce in proptest::collection::vec(proptest::prelude::any::<u8>(), 24),
            aad in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            pt in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            flip in proptest::prelude::any::<usize>(),
        ) {
            let nonce: [u8; 24] = nonce.try_into().unwrap();
            let general = xseal(&key, &nonce, &aad, &pt);
            let mut short = vec![0u8; pt.len() + 16];
            xseal_short(&key, &nonce, &aad, &pt, &mut short).unwrap();
            proptest::prop_assert_eq!(&short, &general);
            let mut back = vec![0u8; pt.len()];
            xopen_short(&key, &nonce, &aad, &general, &mut back).unwrap();
            proptest::prop_assert_eq!(&back, &pt);
            let mut bad = general.clone();
            let i = flip % bad.len();
            bad[i] ^= 1;
            proptest::prop_assert_eq!(xopen_short(&key, &nonce, &aad, &bad, &mut back), Err(Error::Decrypt));
            proptest::prop_assert_eq!(xopen(&key, &nonce, &aad, &bad), Err(Error::Decrypt));
        }
    }

    /// Wrong buffer lengths are errors, not panics.
    #[test]
    fn short_variants_check_lengths() {
        let key = [1u8; 32];
        let nonce = [2u8; 24];
        let mut out = [0u8; 20];
        assert!(matches!(
            xseal_short(&key, &nonce, &[], &[0u8; 5], &mut out),
            Err(Error::ApiMisuse { .. })
        ));
        assert_eq!(
            xopen_short(&key, &nonce, &[], &[0u8; 15], &mut []),
            Err(Error::Decrypt)
        );
        assert_eq!(
            xopen_short(&key, &nonce, &[], &[0u8; 30], &mut out),
            Err(Error::Decrypt)
        );
    }
}
