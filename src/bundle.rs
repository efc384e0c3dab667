//! Creating and verifying prekey bundles (spec §5). This module joins the wire layer
//! ([`PrekeyBundle`]) with the keys and signatures.
//!
//! [`PrekeyBundle::verify`] is the only way to obtain a [`VerifiedBundle`], and a
//! [`VerifiedBundle`] is the only thing a handshake starts from (typestate, spec §5.4).

use crate::crypto::labels::PREKEY_SIGNATURE_CONTEXT;
use crate::crypto::{kem, sig};
use crate::keys::{
    IdentityKeyPair, IdentityPublicKey, KemPrekeySecret, OneTimeKemPrekeySecret,
    OneTimePrekeySecret, SealingKeySecret, SignedPrekeySecret,
};
use crate::wire::{IdentityRecord, KemPrekeyPublic, PrekeyBundle, PrekeyKind, X25519PrekeyPublic};
use crate::Error;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// The secret halves a party signs into a bundle. The caller keeps the secrets in its
/// [`PrekeyStore`](crate::keys::PrekeyStore).
#[derive(Debug)]
pub struct BundleKeys<'a> {
    /// The owner's identity.
    pub identity: &'a IdentityKeyPair,
    /// The owner's mailbox id.
    pub mailbox: [u8; 32],
    /// The sealing key envelopes are sealed to.
    pub sealing: &'a SealingKeySecret,
    /// The signed X25519 prekey and its id.
    pub signed_prekey: (u32, &'a SignedPrekeySecret),
    /// The signed ML-KEM-768 prekey and its id.
    pub kem_prekey: (u32, &'a KemPrekeySecret),
    /// An optional one-time X25519 prekey and its id.
    pub one_time_prekey: Option<(u32, &'a OneTimePrekeySecret)>,
    /// An optional one-time ML-KEM-768 prekey and its id.
    pub one_time_kem_prekey: Option<(u32, &'a OneTimeKemPrekeySecret)>,
}

fn sign_x25519(
    id: &IdentityKeyPair,
    kind: PrekeyKind,
    pid: u32,
    key: [u8; 32],
) -> X25519PrekeyPublic {
    let input =
        PrekeyBundle::signature_input(PREKEY_SIGNATURE_CONTEXT, kind, &[&pid.to_be_bytes(), &key]);
    X25519PrekeyPublic {
        id: pid,
        key,
        signature: id.sign(&input),
    }
}

fn sign_kem(id: &IdentityKeyPair, kind: PrekeyKind, pid: u32, key: [u8; 1184]) -> KemPrekeyPublic {
    let input =
        PrekeyBundle::signature_input(PREKEY_SIGNATURE_CONTEXT, kind, &[&pid.to_be_bytes(), &key]);
    KemPrekeyPublic {
        id: pid,
        key: Box::new(key),
        signature: id.sign(&input),
    }
}

impl X25519PrekeyPublic {
    /// Signs a one-time X25519 prekey on its own, for upload to a relay's pool (spec §12.4).
    #[must_use]
    pub fn sign_one_time(
        identity: &IdentityKeyPair,
        id: u32,
        secret: &OneTimePrekeySecret,
    ) -> Self {
        sign_x25519(identity, PrekeyKind::OneTimeX25519, id, secret.public_key())
    }

    /// Verifies this record as a one-time X25519 prekey of `identity` (spec §5.2): what a
    /// relay checks before adding it to the owner's pool.
    ///
    /// # Errors
    /// [`Error::InvalidPublicKey`] or [`Error::BadSignature`].
    pub fn verify_one_time(&self, identity: &IdentityPublicKey) -> Result<(), Error> {
        let input = PrekeyBundle::signature_input(
            PREKEY_SIGNATURE_CONTEXT,
            PrekeyKind::OneTimeX25519,
            &[&self.id.to_be_bytes(), &self.key],
        );
        sig::verify(&identity.signing, &input, &self.signature)
    }
}

impl KemPrekeyPublic {
    /// Signs a one-time ML-KEM-768 prekey on its own, for upload to a relay's pool
    /// (spec §12.4).
    #[must_use]
    pub fn sign_one_time(
        identity: &IdentityKeyPair,
        id: u32,
        secret: &OneTimeKemPrekeySecret,
    ) -> Self {
        sign_kem(
            identity,
            PrekeyKind::OneTimeKem,
            id,
            secret.encapsulation_key(),
        )
    }

    /// Verifies this record as a one-time ML-KEM prekey of `identity` and validates the
    /// encapsulation key (spec §5.2, §5.4).
    ///
    /// # Errors
    /// [`Error::InvalidPublicKey`] or [`Error::BadSignature`].
    pub fn verify_one_time(&self, identity: &IdentityPublicKey) -> Result<(), Error> {
        let input = PrekeyBundle::signature_input(
            PREKEY_SIGNATURE_CONTEXT,
            PrekeyKind::OneTimeKem,
            &[&self.id.to_be_bytes(), &*self.key],
        );
        sig::verify(&identity.signing, &input, &self.signature)?;
        kem::validate(&self.key)
    }
}

/// The kind-`0x05` signature input of an identity record (spec §5.2).
fn identity_record_input(
    identity: &IdentityPublicKey,
    mailbox: &[u8; 32],
    sealing_key: &[u8; 32],
) -> Vec<u8> {
    PrekeyBundle::signature_input(
        PREKEY_SIGNATURE_CONTEXT,
        PrekeyKind::Sealing,
        &[&identity.agreement, mailbox, sealing_key],
    )
}

impl IdentityRecord {
    /// Signs the identity record of `identity` with this mailbox and sealing key
    /// (spec §5.2). The initiator passes it to [`initiate`](crate::initiate), which carries
    /// it in the initial header (§6.3).
    #[must_use]
    pub fn create(
        identity: &IdentityKeyPair,
        mailbox: [u8; 32],
        sealing: &SealingKeySecret,
    ) -> Self {
        let sealing_key = sealing.public_key();
        let input = identity_record_input(identity.public(), &mailbox, &sealing_key);
        Self {
            identity: *identity.public(),
            mailbox,
            sealing_key,
            signature: identity.sign(&input),
        }
    }

    /// Verifies the record's signature under its own Ed25519 key (spec §5.4, §6.5).
    ///
    /// # Errors
    /// [`Error::InvalidPublicKey`] if the Ed25519 key is not a valid key;
    /// [`Error::BadSignature`] if the signature does not verify.
    pub fn verify(&self) -> Result<(), Error> {
        let input = identity_record_input(&self.identity, &self.mailbox, &self.sealing_key);
        sig::verify(&self.identity.signing, &input, &self.signature)
    }
}

impl PrekeyBundle {
    /// The bundle's identity record (identity, mailbox, sealing key and their signature).
    #[must_use]
    pub fn identity_record(&self) -> IdentityRecord {
        IdentityRecord {
            identity: self.identity,
            mailbox: self.mailbox,
            sealing_key: self.sealing_key,
            signature: self.sealing_signature,
        }
    }

    /// Builds and signs a bundle from the owner's secrets (spec §5.3).
    #[must_use]
    pub fn create(keys: &BundleKeys<'_>) -> Self {
        let id = keys.identity;
        let record = IdentityRecord::create(id, keys.mailbox, keys.sealing);
        Self {
            identity: record.identity,
            mailbox: record.mailbox,
            sealing_key: record.sealing_key,
            sealing_signature: record.signature,
            signed_prekey: sign_x25519(
                id,
                PrekeyKind::SignedX25519,
                keys.signed_prekey.0,
                keys.signed_prekey.1.public_key(),
            ),
            kem_prekey: sign_kem(
                id,
                PrekeyKind::SignedKem,
                keys.kem_prekey.0,
                keys.kem_prekey.1.encapsulation_key(),
            ),
            one_time_prekey: keys
                .one_time_prekey
                .map(|(pid, s)| sign_x25519(id, PrekeyKind::OneTimeX25519, pid, s.public_key())),
            one_time_kem_prekey: keys
                .one_time_kem_prekey
                .map(|(pid, s)| sign_kem(id, PrekeyKind::OneTimeKem, pid, s.encapsulation_key())),
        }
    }

    /// Verifies every signature in the bundle under its own identity key, and validates
    /// every ML-KEM encapsulation key (spec §5.4). To pin the bundle to a known contact,
    /// compare [`VerifiedBundle::identity`] with the expected identity (or use
    /// [`PrekeyBundle::verify_for`]).
    ///
    /// # Errors
    /// [`Error::InvalidPublicKey`] if the identity's Ed25519 key or an ML-KEM key is not
    /// valid; [`Error::BadSignature`] if any signature fails.
    pub fn verify(self) -> Result<VerifiedBundle, Error> {
        let signer = &self.identity.signing;
        let check = |kind: PrekeyKind, body: &[&[u8]], signature: &[u8; 64]| {
            let input = Self::signature_input(PREKEY_SIGNATURE_CONTEXT, kind, body);
            sig::verify(signer, &input, signature)
        };
        self.identity_record().verify()?;
        let spk = &self.signed_prekey;
        check(
            PrekeyKind::SignedX25519,
            &[&spk.id.to_be_bytes(), &spk.key],
            &spk.signature,
        )?;
        let kp = &self.kem_prekey;
        check(
            PrekeyKind::SignedKem,
            &[&kp.id.to_be_bytes(), &*kp.key],
            &kp.signature,
        )?;
        kem::validate(&kp.key)?;
        if let Some(opk) = &self.one_time_prekey {
            check(
                PrekeyKind::OneTimeX25519,
                &[&opk.id.to_be_bytes(), &opk.key],
                &opk.signature,
            )?;
        }
        if let Some(otk) = &self.one_time_kem_prekey {
            check(
                PrekeyKind::OneTimeKem,
                &[&otk.id.to_be_bytes(), &*otk.key],
                &otk.signature,
            )?;
            kem::validate(&otk.key)?;
        }
        Ok(VerifiedBundle {
            bundle: self,
            _proof: SignaturesChecked(()),
        })
    }

    /// Verifies the bundle and checks that it belongs to `expected` (a contact whose
    /// identity the caller already knows, e.g. after comparing safety numbers).
    ///
    /// # Errors
    /// [`Error::BadSignature`] if the bundle's identity is not `expected`, or any error of
    /// [`PrekeyBundle::verify`].
    pub fn verify_for(self, expected: &IdentityPublicKey) -> Result<VerifiedBundle, Error> {
        use subtle::ConstantTimeEq;
        if !bool::from(self.identity.to_array().ct_eq(&expected.to_array())) {
            return Err(Error::BadSignature);
        }
        self.verify()
    }
}

/// Proof that every signature of a bundle was checked. The private field makes it
/// impossible to construct outside this module.
#[derive(Clone, Debug)]
struct SignaturesChecked(());

/// A bundle whose signatures and keys have been checked. Only [`PrekeyBundle::verify`]
/// makes one; the handshake accepts nothing else.
#[derive(Clone, Debug)]
pub struct VerifiedBundle {
    bundle: PrekeyBundle,
    _proof: SignaturesChecked,
}

impl VerifiedBundle {
    /// The verified bundle's contents.
    #[must_use]
    pub fn bundle(&self) -> &PrekeyBundle {
        &self.bundle
    }
    /// The identity that signed the bundle.
    #[must_use]
    pub fn identity(&self) -> &IdentityPublicKey {
        &self.bundle.identity
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::codec::{testing::assert_strict, Decode, Encode};
    use crate::keys::MemoryPrekeyStore;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// A party with a published bundle and the store holding its secrets.
    #[allow(dead_code, reason = "the sealing key is used by the envelope tests")]
    pub(crate) struct Party {
        pub(crate) identity: IdentityKeyPair,
        pub(crate) sealing: SealingKeySecret,
        pub(crate) store: MemoryPrekeyStore,
        pub(crate) bundle: PrekeyBundle,
    }

    pub(crate) fn party(rng: &mut ChaCha20Rng, opk: bool, otk: bool) -> Party {
        let identity = IdentityKeyPair::generate(rng);
        let sealing = SealingKeySecret::generate(rng);
        let spk = SignedPrekeySecret::generate(rng);
        let kpk = KemPrekeySecret::generate(rng);
        let o = OneTimePrekeySecret::generate(rng);
        let q = OneTimeKemPrekeySecret::generate(rng);
        let mut mailbox = [0u8; 32];
        rand_core::RngCore::fill_bytes(rng, &mut mailbox);
        let bundle = PrekeyBundle::create(&BundleKeys {
            identity: &identity,
            mailbox,
            sealing: &sealing,
            signed_prekey: (1, &spk),
            kem_prekey: (2, &kpk),
            one_time_prekey: opk.then_some((3, &o)),
            one_time_kem_prekey: otk.then_some((4, &q)),
        });
        let mut store = MemoryPrekeyStore::new();
        store.insert_signed_prekey(1, spk);
        store.insert_kem_prekey(2, kpk);
        if opk {
            store.insert_one_time_prekey(3, o);
        }
        if otk {
            store.insert_one_time_kem_prekey(4, q);
        }
        Party {
            identity,
            sealing,
            store,
            bundle,
        }
    }

    impl Party {
        /// Starts a session from this party to the owner of `bundle`, carrying this
        /// party's identity record.
        pub(crate) fn initiate(
            &self,
            rng: &mut ChaCha20Rng,
            bundle: &VerifiedBundle,
        ) -> crate::Session {
            crate::initiate(rng, &self.identity, &self.bundle.identity_record(), bundle).unwrap()
        }
    }

    #[test]
    fn bundles_verify_and_are_strictly_decoded() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for (opk, otk) in [(false, false), (true, false), (false, true), (true, true)] {
            let p = party(&mut rng, opk, otk);
            let bytes = p.bundle.to_bytes();
            assert_strict::<PrekeyBundle>(&bytes);
            let decoded = PrekeyBundle::decode_exact(&bytes).unwrap();
            let verified = decoded.clone().verify().unwrap();
            assert_eq!(verified.identity(), p.identity.public());
            assert!(decoded.verify_for(p.identity.public()).is_ok());
        }
    }

    #[test]
    fn unknown_flag_bits_rejected() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let p = party(&mut rng, false, false);
        let mut bytes = p.bundle.to_bytes();
        let last = bytes.len() - 1;
        bytes[last] = 0x04;
        assert_eq!(
            PrekeyBundle::decode_exact(&bytes),
            Err(Error::InvalidEncoding {
                field: "bundle.flags"
            })
        );
    }

    #[test]
    fn every_tampered_byte_fails_verification_or_decoding() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let p = party(&mut rng, true, true);
        let other = party(&mut rng, false, false);
        let bytes = p.bundle.to_bytes();
        // Flip one bit in every byte after the header (in steps, to bound the run time
        // inside the 1184-byte ML-KEM keys), and always in the signed and small fields.
        for i in 2..bytes.len() {
            let in_kem_key = (i > 300 && i < 1470) || (i > 1600 && i < bytes.len() - 70);
            if in_kem_key && i % 37 != 0 {
                continue;
            }
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            let result = PrekeyBundle::decode_exact(&t).and_then(PrekeyBundle::verify);
            assert!(result.is_err(), "tampered byte {i} accepted");
        }
        assert_eq!(
            p.bundle
                .clone()
                .verify_for(other.identity.public())
                .unwrap_err(),
            Error::BadSignature
        );
    }

    #[test]
    fn swapped_key_kinds_do_not_verify() {
        // A one-time prekey record re-labelled as the signed prekey must not verify,
        // because the kind byte is inside the signature input.
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let p = party(&mut rng, true, false);
        let mut b = p.bundle.clone();
        b.signed_prekey = b.one_time_prekey.clone().unwrap();
        assert_eq!(b.verify().unwrap_err(), Error::BadSignature);
    }
}
