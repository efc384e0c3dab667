//! The ratchet's two KDFs (spec §7.2).

use crate::crypto::kdf::{hkdf, hmac_sha256_pair, split3};
use zeroize::Zeroizing;

/// HKDF info of the root KDF `KDF_RK_HE` (spec §7.2).
pub(crate) const RATCHET_ROOT_INFO: &[u8] = b"blindrelay v1 ratchet root";
/// HMAC input deriving a message key from a chain key (spec §7.2).
pub(crate) const MESSAGE_KEY_CONSTANT: &[u8] = &[0x01];
/// HMAC input deriving the next chain key from a chain key (spec §7.2).
pub(crate) const CHAIN_KEY_CONSTANT: &[u8] = &[0x02];

/// The output of one root-KDF step: the next root key, a chain key and the next header key
/// for the chain that follows.
pub(crate) struct RootStep {
    pub(crate) root_key: Zeroizing<[u8; 32]>,
    pub(crate) chain_key: Zeroizing<[u8; 32]>,
    pub(crate) next_header_key: Zeroizing<[u8; 32]>,
}

/// `KDF_RK_HE(rk, dh_out)` (spec §7.2):
/// `HKDF-SHA256(salt = rk, ikm = dh_out, info = RATCHET_ROOT_INFO, L = 96)` split as
/// `root key || chain key || next header key`.
pub(crate) fn root_step(root_key: &[u8; 32], dh_out: &[u8; 32]) -> RootStep {
    let okm: Zeroizing<[u8; 96]> = hkdf(root_key, dh_out, RATCHET_ROOT_INFO);
    let [root_key, chain_key, next_header_key] = split3(&okm);
    RootStep {
        root_key,
        chain_key,
        next_header_key,
    }
}

/// `KDF_CK(ck)` (spec §7.2): `(message key, next chain key) =
/// (HMAC-SHA256(ck, 0x01), HMAC-SHA256(ck, 0x02))`.
pub(crate) fn chain_step(chain_key: &[u8; 32]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    hmac_sha256_pair(chain_key, MESSAGE_KEY_CONSTANT, CHAIN_KEY_CONSTANT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hkdf::Hkdf;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    /// The root step equals a direct use of the `hkdf` crate with the spec's parameters.
    #[test]
    fn root_step_is_the_specified_hkdf() {
        let rk = [1u8; 32];
        let dh = [2u8; 32];
        let mut okm = [0u8; 96];
        Hkdf::<Sha256>::new(Some(&rk), &dh)
            .expand(b"blindrelay v1 ratchet root", &mut okm)
            .unwrap();
        let s = root_step(&rk, &dh);
        assert_eq!(s.root_key.as_slice(), &okm[..32]);
        assert_eq!(s.chain_key.as_slice(), &okm[32..64]);
        assert_eq!(s.next_header_key.as_slice(), &okm[64..]);
    }

    /// Message key and next chain key are distinct HMACs of the chain key.
    #[test]
    fn chain_step_is_the_specified_hmac() {
        let ck = [3u8; 32];
        let (mk, next) = chain_step(&ck);
        for (out, constant) in [(mk, 1u8), (next, 2u8)] {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&ck).unwrap();
            mac.update(&[constant]);
            assert_eq!(out.as_slice(), mac.finalize().into_bytes().as_slice());
        }
    }
}
