//! mls-rs's RustCrypto cipher suite with the caller's randomness (spec §15.1).
//!
//! blindrelay takes every random byte from its caller, so a seeded RNG reproduces every
//! output (the vectors of §15.10 depend on it). mls-rs's stock provider draws from the
//! operating system in three places: `random_bytes` (path secrets, reuse guards, init
//! secrets), the DH-KEM's key generation (HPKE ephemerals, leaf and init keys) and
//! signature-key generation. [`BlindCrypto`] is the same suite, built from the same
//! crates' parts, with those three drawing from a ChaCha20 stream seeded by the caller.
//! No primitive is implemented here.

use mls_rs_core::crypto::{
    CipherSuite, CipherSuiteProvider, CryptoProvider, HpkeCiphertext, HpkePsk, HpkePublicKey,
    HpkeSecretKey, SignaturePublicKey, SignatureSecretKey,
};
use mls_rs_crypto_hpke::context::{ContextR, ContextS};
use mls_rs_crypto_hpke::dhkem::DhKem;
use mls_rs_crypto_rustcrypto::aead::Aead;
use mls_rs_crypto_rustcrypto::ecdh::{Ecdh, EcdhKemError};
use mls_rs_crypto_rustcrypto::kdf::Kdf;
use mls_rs_crypto_rustcrypto::{RustCryptoCipherSuite, RustCryptoError};
use mls_rs_crypto_traits::{DhType, KemId, SamplingMethod};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use std::sync::{Arc, Mutex, PoisonError};
use zeroize::Zeroizing;

/// The one cipher suite of blind groups: `MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519`
/// (RFC 9420 §17.1, value 3): the primitives of blindrelay's own suite (§3).
pub const CIPHER_SUITE: CipherSuite = CipherSuite::CURVE25519_CHACHA;

/// A ChaCha20 stream seeded from the caller's RNG, shared by a member's MLS client and
/// its groups.
#[derive(Clone)]
pub struct GroupRng(Arc<Mutex<ChaCha20Rng>>);

impl GroupRng {
    /// Seeds a stream with 32 bytes from `rng`.
    pub fn from_rng(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self(Arc::new(Mutex::new(ChaCha20Rng::from_seed(*seed))))
    }

    /// Fills `out` from the stream.
    pub fn fill(&self, out: &mut [u8]) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill_bytes(out);
    }
}

impl core::fmt::Debug for GroupRng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("GroupRng(<redacted>)")
    }
}

/// X25519 of the RustCrypto provider, generating key pairs from the [`GroupRng`].
#[derive(Clone)]
pub struct SeededDh {
    inner: Ecdh,
    rng: GroupRng,
}

impl DhType for SeededDh {
    type Error = EcdhKemError;

    fn dh(
        &self,
        secret_key: &HpkeSecretKey,
        public_key: &HpkePublicKey,
    ) -> Result<Vec<u8>, Self::Error> {
        self.inner.dh(secret_key, public_key)
    }

    fn to_public(&self, secret_key: &HpkeSecretKey) -> Result<HpkePublicKey, Self::Error> {
        self.inner.to_public(secret_key)
    }

    fn generate(&self) -> Result<(HpkeSecretKey, HpkePublicKey), Self::Error> {
        // An X25519 secret is any 32 bytes (clamped when used, RFC 7748 §5).
        let mut secret = Zeroizing::new(vec![0u8; self.inner.secret_key_size()]);
        self.rng.fill(&mut secret);
        let secret = HpkeSecretKey::from(secret.to_vec());
        let public = self.inner.to_public(&secret)?;
        Ok((secret, public))
    }

    fn bitmask_for_rejection_sampling(&self) -> SamplingMethod {
        self.inner.bitmask_for_rejection_sampling()
    }

    fn public_key_validate(&self, key: &HpkePublicKey) -> Result<(), Self::Error> {
        self.inner.public_key_validate(key)
    }

    fn secret_key_size(&self) -> usize {
        self.inner.secret_key_size()
    }

    fn public_key_size(&self) -> usize {
        self.inner.public_key_size()
    }
}

type Inner = RustCryptoCipherSuite<DhKem<SeededDh, Kdf>, Kdf, Aead>;

/// The cipher-suite provider: the RustCrypto suite built on [`SeededDh`], with
/// `random_bytes` and signature-key generation drawing from the [`GroupRng`].
#[derive(Clone)]
pub struct BlindSuite {
    inner: Inner,
    rng: GroupRng,
}

/// The crypto provider of blind groups: [`CIPHER_SUITE`] only.
#[derive(Clone, Debug)]
pub struct BlindCrypto {
    rng: GroupRng,
}

impl BlindCrypto {
    /// A provider drawing from `rng`.
    #[must_use]
    pub fn new(rng: GroupRng) -> Self {
        Self { rng }
    }
}

impl CryptoProvider for BlindCrypto {
    type CipherSuiteProvider = BlindSuite;

    fn supported_cipher_suites(&self) -> Vec<CipherSuite> {
        vec![CIPHER_SUITE]
    }

    fn cipher_suite_provider(&self, cipher_suite: CipherSuite) -> Option<BlindSuite> {
        if cipher_suite != CIPHER_SUITE {
            return None;
        }
        let kdf = Kdf::new(cipher_suite)?;
        let dh = SeededDh {
            inner: Ecdh::new(cipher_suite)?,
            rng: self.rng.clone(),
        };
        let kem_id = KemId::new(cipher_suite)?;
        let kem = DhKem::new(dh, kdf, kem_id as u16, kem_id.n_secret());
        let aead = Aead::new(cipher_suite)?;
        Some(BlindSuite {
            inner: RustCryptoCipherSuite::new(cipher_suite, kem, kdf, aead)?,
            rng: self.rng.clone(),
        })
    }
}

impl CipherSuiteProvider for BlindSuite {
    type Error = RustCryptoError;
    type HpkeContextR = ContextR<Kdf, Aead>;
    type HpkeContextS = ContextS<Kdf, Aead>;

    fn cipher_suite(&self) -> CipherSuite {
        self.inner.cipher_suite()
    }

    fn hash(&self, data: &[u8]) -> Result<Vec<u8>, Self::Error> {
        self.inner.hash(data)
    }

    fn mac(&self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, Self::Error> {
        self.inner.mac(key, data)
    }

    fn aead_seal(
        &self,
        key: &[u8],
        data: &[u8],
        aad: Option<&[u8]>,
        nonce: &[u8],
    ) -> Result<Vec<u8>, Self::Error> {
        self.inner.aead_seal(key, data, aad, nonce)
    }

    fn aead_open(
        &self,
        key: &[u8],
        ciphertext: &[u8],
        aad: Option<&[u8]>,
        nonce: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Self::Error> {
        self.inner.aead_open(key, ciphertext, aad, nonce)
    }

    fn aead_key_size(&self) -> usize {
        self.inner.aead_key_size()
    }

    fn aead_nonce_size(&self) -> usize {
        self.inner.aead_nonce_size()
    }

    fn kdf_extract(&self, salt: &[u8], ikm: &[u8]) -> Result<Zeroizing<Vec<u8>>, Self::Error> {
        self.inner.kdf_extract(salt, ikm)
    }

    fn kdf_expand(
        &self,
        prk: &[u8],
        info: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, Self::Error> {
        self.inner.kdf_expand(prk, info, len)
    }

    fn kdf_extract_size(&self) -> usize {
        self.inner.kdf_extract_size()
    }

    fn hpke_seal(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        pt: &[u8],
    ) -> Result<HpkeCiphertext, Self::Error> {
        self.inner.hpke_seal(remote_key, info, aad, pt)
    }

    fn hpke_seal_psk(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        pt: &[u8],
        psk: HpkePsk<'_>,
    ) -> Result<HpkeCiphertext, Self::Error> {
        self.inner.hpke_seal_psk(remote_key, info, aad, pt, psk)
    }

    fn hpke_open(
        &self,
        ciphertext: &HpkeCiphertext,
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>, Self::Error> {
        self.inner
            .hpke_open(ciphertext, local_secret, local_public, info, aad)
    }

    fn hpke_open_psk(
        &self,
        ciphertext: &HpkeCiphertext,
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        psk: HpkePsk<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, Self::Error> {
        self.inner
            .hpke_open_psk(ciphertext, local_secret, local_public, info, aad, psk)
    }

    fn hpke_setup_s(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
    ) -> Result<(Vec<u8>, Self::HpkeContextS), Self::Error> {
        self.inner.hpke_setup_s(remote_key, info)
    }

    fn hpke_setup_r(
        &self,
        kem_output: &[u8],
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
    ) -> Result<Self::HpkeContextR, Self::Error> {
        self.inner
            .hpke_setup_r(kem_output, local_secret, local_public, info)
    }

    fn kem_derive(&self, ikm: &[u8]) -> Result<(HpkeSecretKey, HpkePublicKey), Self::Error> {
        self.inner.kem_derive(ikm)
    }

    fn kem_generate(&self) -> Result<(HpkeSecretKey, HpkePublicKey), Self::Error> {
        self.inner.kem_generate()
    }

    fn kem_public_key_validate(&self, key: &HpkePublicKey) -> Result<(), Self::Error> {
        self.inner.kem_public_key_validate(key)
    }

    fn random_bytes(&self, out: &mut [u8]) -> Result<(), Self::Error> {
        self.rng.fill(out);
        Ok(())
    }

    fn signature_key_generate(
        &self,
    ) -> Result<(SignatureSecretKey, SignaturePublicKey), Self::Error> {
        let (secret, public) = signature_key_pair(&self.rng);
        Ok((secret, public))
    }

    fn sign(&self, secret_key: &SignatureSecretKey, data: &[u8]) -> Result<Vec<u8>, Self::Error> {
        self.inner.sign(secret_key, data)
    }

    fn verify(
        &self,
        public_key: &SignaturePublicKey,
        signature: &[u8],
        data: &[u8],
    ) -> Result<(), Self::Error> {
        self.inner.verify(public_key, signature, data)
    }

    fn signature_key_derive_public(
        &self,
        secret_key: &SignatureSecretKey,
    ) -> Result<SignaturePublicKey, Self::Error> {
        self.inner.signature_key_derive_public(secret_key)
    }
}

/// A fresh Ed25519 MLS signature key pair from the stream: the secret in the provider's
/// form (seed || public, 64 bytes), the public key (32 bytes).
pub fn signature_key_pair(rng: &GroupRng) -> (SignatureSecretKey, SignaturePublicKey) {
    let mut seed = Zeroizing::new([0u8; 32]);
    rng.fill(seed.as_mut());
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let pair = Zeroizing::new(key.to_keypair_bytes());
    (
        SignatureSecretKey::from(pair.to_vec()),
        SignaturePublicKey::from(key.verifying_key().to_bytes().to_vec()),
    )
}
