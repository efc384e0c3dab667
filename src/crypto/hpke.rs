//! HPKE (RFC 9180) base mode for the one suite blindrelay uses (spec §8.2):
//! DHKEM(X25519, HKDF-SHA256) (`kem_id` 0x0020), HKDF-SHA256 (`kdf_id` 0x0001),
//! ChaCha20-Poly1305 (`aead_id` 0x0003).
//!
//! Built from the primitives already in the tree: X25519 through [`crate::crypto::dh`]
//! (with the contributory check RFC 9180 §7.1.4 asks for), HKDF-SHA256 through the `hkdf`
//! crate's `extract` / `from_prk` / `expand`, and ChaCha20-Poly1305 through
//! [`crate::crypto::aead`]. Only single-shot use is provided: one `seal` or `open` at
//! sequence number 0, so the nonce is `base_nonce` itself and no counter exists to misuse.
//!
//! The ephemeral key pair is always produced by `DeriveKeyPair(ikmE)` (RFC 9180 §7.1.3)
//! from 32 bytes of the caller's randomness, which lets the RFC's Appendix A.2.1 vector
//! pin the whole path, including key generation.

use crate::crypto::{aead, dh};
use crate::Error;
use alloc::vec::Vec;
use core::fmt;
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::StaticSecret;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// `Nenc`: length of the encapsulated key (an X25519 public key).
pub const ENC_LEN: usize = 32;
/// `Nsk` / `Npk`: X25519 secret and public key length.
pub const KEY_LEN: usize = 32;
/// `Nsecret` / `Nh`: KEM shared secret and HKDF-SHA256 output length.
pub const SECRET_LEN: usize = 32;
/// `Nk`: ChaCha20-Poly1305 key length.
pub const AEAD_KEY_LEN: usize = aead::KEY_LEN;
/// `Nn`: ChaCha20-Poly1305 nonce length.
pub const NONCE_LEN: usize = aead::NONCE_LEN;
/// Length of the ikm `DeriveKeyPair` takes here (`Nsk`, RFC 9180 §7.1.3 requires ≥ `Nsk`).
pub const IKM_LEN: usize = 32;

/// RFC 9180 §4: the version prefix of every labeled KDF input (a fixed RFC string, not a
/// blindrelay label).
const HPKE_VERSION: &[u8] = b"HPKE-v1";
/// `suite_id` of the KEM: `"KEM" || I2OSP(kem_id = 0x0020, 2)` (RFC 9180 §4.1).
const KEM_SUITE_ID: &[u8] = b"KEM\x00\x20";
/// `suite_id` of the key schedule: `"HPKE" || kem_id || kdf_id || aead_id` (RFC 9180 §5.1).
const HPKE_SUITE_ID: &[u8] = b"HPKE\x00\x20\x00\x01\x00\x03";
/// `mode_base` (RFC 9180 §5).
const MODE_BASE: u8 = 0x00;

/// `LabeledExtract(salt, label, ikm)` (RFC 9180 §4) for the given `suite_id`.
fn labeled_extract(suite_id: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut labeled_ikm = Zeroizing::new(Vec::with_capacity(
        HPKE_VERSION.len() + suite_id.len() + label.len() + ikm.len(),
    ));
    labeled_ikm.extend_from_slice(HPKE_VERSION);
    labeled_ikm.extend_from_slice(suite_id);
    labeled_ikm.extend_from_slice(label);
    labeled_ikm.extend_from_slice(ikm);
    let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), &labeled_ikm);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&prk);
    out
}

/// `LabeledExpand(prk, label, info, L)` (RFC 9180 §4) for the given `suite_id`, with
/// `L = N` (every call site has `N ≤ 32`, far below HKDF's 255·32 limit and `u16::MAX`).
fn labeled_expand<const N: usize>(
    suite_id: &[u8],
    prk: &[u8; 32],
    label: &[u8],
    info: &[u8],
) -> Zeroizing<[u8; N]> {
    let mut out = Zeroizing::new([0u8; N]);
    // N is a compile-time constant ≤ 32 at every call site, so it fits in u16; the
    // fallback is unreachable and would only produce an all-zero (useless) key.
    let len = u16::try_from(N).unwrap_or(0).to_be_bytes();
    let mut labeled_info =
        Vec::with_capacity(2 + HPKE_VERSION.len() + suite_id.len() + label.len() + info.len());
    labeled_info.extend_from_slice(&len);
    labeled_info.extend_from_slice(HPKE_VERSION);
    labeled_info.extend_from_slice(suite_id);
    labeled_info.extend_from_slice(label);
    labeled_info.extend_from_slice(info);
    if let Ok(hk) = Hkdf::<Sha256>::from_prk(prk) {
        let _ = hk.expand(&labeled_info, out.as_mut());
    }
    out
}

/// `DeriveKeyPair(ikm)` for DHKEM(X25519, HKDF-SHA256) (RFC 9180 §7.1.3): returns the
/// secret scalar `sk` (the public key is `X25519(sk, 9)`).
#[must_use]
pub fn derive_key_pair(ikm: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    let dkp_prk = labeled_extract(KEM_SUITE_ID, b"", b"dkp_prk", ikm);
    labeled_expand::<KEY_LEN>(KEM_SUITE_ID, &dkp_prk, b"sk", b"")
}

/// `ExtractAndExpand(dh, kem_context)` (RFC 9180 §4.1).
fn extract_and_expand(dh: &[u8; 32], kem_context: &[u8]) -> Zeroizing<[u8; SECRET_LEN]> {
    let eae_prk = labeled_extract(KEM_SUITE_ID, b"", b"eae_prk", dh);
    labeled_expand::<SECRET_LEN>(KEM_SUITE_ID, &eae_prk, b"shared_secret", kem_context)
}

/// `kem_context = enc || pkRm` (RFC 9180 §4.1).
fn kem_context(enc: &[u8; ENC_LEN], pk_r: &[u8; KEY_LEN]) -> [u8; 2 * KEY_LEN] {
    let mut ctx = [0u8; 2 * KEY_LEN];
    let (a, b) = ctx.split_at_mut(KEY_LEN);
    a.copy_from_slice(enc);
    b.copy_from_slice(pk_r);
    ctx
}

/// An HPKE base-mode context after `KeySchedule` (RFC 9180 §5.1), used once at sequence
/// number 0. Holds the AEAD key, the base nonce and the exporter secret; zeroized on drop,
/// redacted in `Debug`, never `Clone`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Context {
    shared_secret: Zeroizing<[u8; SECRET_LEN]>,
    key: Zeroizing<[u8; AEAD_KEY_LEN]>,
    base_nonce: Zeroizing<[u8; NONCE_LEN]>,
    exporter_secret: Zeroizing<[u8; SECRET_LEN]>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            shared_secret: _,
            key: _,
            base_nonce: _,
            exporter_secret: _,
        } = self;
        f.debug_struct("hpke::Context").finish_non_exhaustive()
    }
}

impl Context {
    /// `KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "")`.
    fn key_schedule(shared_secret: Zeroizing<[u8; SECRET_LEN]>, info: &[u8]) -> Self {
        let psk_id_hash = labeled_extract(HPKE_SUITE_ID, b"", b"psk_id_hash", b"");
        let info_hash = labeled_extract(HPKE_SUITE_ID, b"", b"info_hash", info);
        let mut ksc = [0u8; 1 + 2 * SECRET_LEN];
        let (mode, hashes) = ksc.split_at_mut(1);
        mode.copy_from_slice(&[MODE_BASE]);
        let (a, b) = hashes.split_at_mut(SECRET_LEN);
        a.copy_from_slice(psk_id_hash.as_ref());
        b.copy_from_slice(info_hash.as_ref());
        let secret = labeled_extract(HPKE_SUITE_ID, shared_secret.as_ref(), b"secret", b"");
        Self {
            key: labeled_expand(HPKE_SUITE_ID, &secret, b"key", &ksc),
            base_nonce: labeled_expand(HPKE_SUITE_ID, &secret, b"base_nonce", &ksc),
            exporter_secret: labeled_expand(HPKE_SUITE_ID, &secret, b"exp", &ksc),
            shared_secret,
        }
    }

    /// `Seal(aad, pt)` at sequence number 0 (nonce = `base_nonce`). Consumes the context:
    /// a second seal under the same nonce is impossible.
    #[must_use]
    pub fn seal(self, aad: &[u8], pt: &[u8]) -> Vec<u8> {
        aead::seal(&self.key, &self.base_nonce, aad, pt)
    }

    /// `Open(aad, ct)` at sequence number 0.
    ///
    /// # Errors
    /// [`Error::Decrypt`] if the tag does not verify.
    pub fn open(self, aad: &[u8], ct: &[u8]) -> Result<Vec<u8>, Error> {
        aead::open(&self.key, &self.base_nonce, aad, ct)
    }

    /// The KEM shared secret (hazmat: for test vectors only).
    pub(crate) fn shared_secret(&self) -> &[u8; SECRET_LEN] {
        &self.shared_secret
    }
    /// The AEAD key (hazmat: for test vectors only).
    pub(crate) fn key(&self) -> &[u8; AEAD_KEY_LEN] {
        &self.key
    }
    /// The base nonce (hazmat: for test vectors only).
    pub(crate) fn base_nonce(&self) -> &[u8; NONCE_LEN] {
        &self.base_nonce
    }
    /// The exporter secret (hazmat: for test vectors only).
    #[cfg(any(test, feature = "hazmat"))]
    pub(crate) fn exporter_secret(&self) -> &[u8; SECRET_LEN] {
        &self.exporter_secret
    }
}

/// `SetupBaseS(pkR, info)` with the ephemeral key pair `DeriveKeyPair(ikm_e)`
/// (deterministic: the hazmat path the RFC vectors and blindrelay's vectors pin).
/// Returns `(enc, context)`.
///
/// # Errors
/// [`Error::NonContributory`] if `pk_r` is a low-order point (the DH output is zero).
pub fn setup_base_s_with_ikm(
    ikm_e: &[u8; IKM_LEN],
    pk_r: &[u8; KEY_LEN],
    info: &[u8],
) -> Result<([u8; ENC_LEN], Context), Error> {
    let sk_e = derive_key_pair(ikm_e);
    let secret = StaticSecret::from(*sk_e);
    let enc = dh::public_key(&secret);
    let dh_out = dh::diffie_hellman(&secret, pk_r)?;
    let shared = extract_and_expand(&dh_out, &kem_context(&enc, pk_r));
    Ok((enc, Context::key_schedule(shared, info)))
}

/// `SetupBaseR(enc, skR, info)`.
///
/// # Errors
/// [`Error::NonContributory`] if `enc` is a low-order point.
pub fn setup_base_r(
    enc: &[u8; ENC_LEN],
    sk_r: &StaticSecret,
    info: &[u8],
) -> Result<Context, Error> {
    let pk_r = dh::public_key(sk_r);
    let dh_out = dh::diffie_hellman(sk_r, enc)?;
    let shared = extract_and_expand(&dh_out, &kem_context(enc, &pk_r));
    Ok(Context::key_schedule(shared, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    // ChaCha20Poly1305, base mode. Values copied from the RFC text.
    const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
    const IKM_E: &str = "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
    const PK_EM: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
    const SK_EM: &str = "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600";
    const IKM_R: &str = "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df";
    const PK_RM: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
    const SK_RM: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
    const SHARED_SECRET: &str = "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7";
    const KEY: &str = "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91";
    const BASE_NONCE: &str = "5c4d98150661b848853b547f";
    const EXPORTER_SECRET: &str =
        "a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922";
    const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
    const AAD0: &str = "436f756e742d30";
    const CT0: &str =
        "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28";

    #[test]
    fn rfc9180_a21_derive_key_pair() {
        assert_eq!(hex::encode(*derive_key_pair(&h::<32>(IKM_E))), SK_EM);
        assert_eq!(hex::encode(*derive_key_pair(&h::<32>(IKM_R))), SK_RM);
        let sk_r = StaticSecret::from(h::<32>(SK_RM));
        assert_eq!(hex::encode(dh::public_key(&sk_r)), PK_RM);
    }

    #[test]
    fn rfc9180_a21_sender_key_schedule_and_seal() {
        let info = hex::decode(INFO).unwrap();
        let (enc, ctx) = setup_base_s_with_ikm(&h(IKM_E), &h(PK_RM), &info).unwrap();
        assert_eq!(hex::encode(enc), PK_EM);
        assert_eq!(hex::encode(ctx.shared_secret()), SHARED_SECRET);
        assert_eq!(hex::encode(ctx.key()), KEY);
        assert_eq!(hex::encode(ctx.base_nonce()), BASE_NONCE);
        assert_eq!(hex::encode(ctx.exporter_secret()), EXPORTER_SECRET);
        let ct = ctx.seal(&hex::decode(AAD0).unwrap(), &hex::decode(PT).unwrap());
        assert_eq!(hex::encode(ct), CT0);
    }

    #[test]
    fn rfc9180_a21_recipient_opens() {
        let info = hex::decode(INFO).unwrap();
        let sk_r = StaticSecret::from(h::<32>(SK_RM));
        let ctx = setup_base_r(&h(PK_EM), &sk_r, &info).unwrap();
        assert_eq!(hex::encode(ctx.shared_secret()), SHARED_SECRET);
        assert_eq!(hex::encode(ctx.exporter_secret()), EXPORTER_SECRET);
        let ct = hex::decode(CT0).unwrap();
        let aad = hex::decode(AAD0).unwrap();
        assert_eq!(hex::encode(ctx.open(&aad, &ct).unwrap()), PT);
        // Any change to ct, aad, info or enc fails.
        let mut bad = ct.clone();
        bad[3] ^= 0x10;
        let ctx = setup_base_r(&h(PK_EM), &sk_r, &info).unwrap();
        assert_eq!(ctx.open(&aad, &bad), Err(Error::Decrypt));
        let ctx = setup_base_r(&h(PK_EM), &sk_r, b"other info").unwrap();
        assert_eq!(ctx.open(&aad, &ct), Err(Error::Decrypt));
        let ctx = setup_base_r(&h(PK_EM), &sk_r, &info).unwrap();
        assert_eq!(ctx.open(b"Count-1", &ct), Err(Error::Decrypt));
    }

    #[test]
    fn low_order_keys_are_rejected() {
        let sk_r = StaticSecret::from(h::<32>(SK_RM));
        assert_eq!(
            setup_base_r(&[0u8; 32], &sk_r, b"").unwrap_err(),
            Error::NonContributory
        );
        assert_eq!(
            setup_base_s_with_ikm(&h(IKM_E), &[0u8; 32], b"").unwrap_err(),
            Error::NonContributory
        );
    }

    #[test]
    fn context_debug_is_redacted() {
        let (_, ctx) = setup_base_s_with_ikm(&h(IKM_E), &h(PK_RM), b"").unwrap();
        let dbg = format!("{ctx:?}");
        assert!(!dbg.contains(&hex::encode(ctx.key())[..16]), "{dbg}");
        assert!(
            !dbg.contains(&hex::encode(ctx.shared_secret())[..16]),
            "{dbg}"
        );
    }
}
