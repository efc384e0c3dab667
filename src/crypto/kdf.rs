//! HKDF-SHA256 and HMAC-SHA256 helpers (spec §3.2).

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// HKDF-SHA256 extract-then-expand into a fixed-size, zeroizing output.
///
/// `N` is at most 255 × 32 bytes for every call site in this crate (all are ≤ 96), so the
/// expand step cannot fail.
#[must_use]
pub fn hkdf<const N: usize>(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; N]> {
    let mut out = Zeroizing::new([0u8; N]);
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    // Invariant: N <= 255 * 32 at every call site, so expand succeeds; on the impossible
    // failure the output stays all zero rather than panicking.
    let _ = hk.expand(info, out.as_mut());
    out
}

/// HKDF-SHA256 expand-only from a pseudorandom key (used where the PRK is already uniform).
#[must_use]
pub fn hkdf_expand<const N: usize>(prk: &[u8; 32], info: &[u8]) -> Zeroizing<[u8; N]> {
    let mut out = Zeroizing::new([0u8; N]);
    if let Ok(hk) = Hkdf::<Sha256>::from_prk(prk) {
        let _ = hk.expand(info, out.as_mut());
    }
    out
}

/// HMAC-SHA256(`key`, `data`).
#[must_use]
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut out = Zeroizing::new([0u8; 32]);
    if let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) {
        mac.update(data);
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

/// Two HMAC-SHA256 values under one key, `(HMAC(key, a), HMAC(key, b))`, keying the MAC
/// once (the ratchet's chain step, spec §7.2, runs this for every message).
#[must_use]
pub fn hmac_sha256_pair(
    key: &[u8; 32],
    a: &[u8],
    b: &[u8],
) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    let mut out_a = Zeroizing::new([0u8; 32]);
    let mut out_b = Zeroizing::new([0u8; 32]);
    if let Ok(keyed) = <Hmac<Sha256> as Mac>::new_from_slice(key) {
        let mut mac_a = keyed.clone();
        mac_a.update(a);
        out_a.copy_from_slice(&mac_a.finalize().into_bytes());
        let mut mac_b = keyed;
        mac_b.update(b);
        out_b.copy_from_slice(&mac_b.finalize().into_bytes());
    }
    (out_a, out_b)
}

/// SHA-256 over the concatenation of `parts`.
#[must_use]
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Splits a 96-byte KDF output into three 32-byte keys, in order.
#[must_use]
pub fn split3(okm: &[u8; 96]) -> [Zeroizing<[u8; 32]>; 3] {
    let mut out = [
        Zeroizing::new([0u8; 32]),
        Zeroizing::new([0u8; 32]),
        Zeroizing::new([0u8; 32]),
    ];
    for (dst, src) in out.iter_mut().zip(okm.chunks_exact(32)) {
        dst.copy_from_slice(src);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5869 test case 1 pins the HKDF dependency as the spec uses it.
    #[test]
    fn rfc5869_case1() {
        let ikm = [0x0b; 22];
        let salt = hex::decode("000102030405060708090a0b0c").unwrap();
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
        let okm: Zeroizing<[u8; 42]> = hkdf(&salt, &ikm, &info);
        assert_eq!(
            hex::encode(okm.as_ref()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    /// RFC 4231 test case 2 pins HMAC-SHA256.
    #[test]
    fn rfc4231_case2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.as_ref()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
