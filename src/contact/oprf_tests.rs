//! Suite `ch2` (spec §13): end to end, determinism, and every way an oracle or a network
//! attacker can tamper with an evaluation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use crate::contact::{bucket_prefix, BucketBits, MatchTag};
use crate::crypto::kdf::sha256;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn ids(n: u32) -> Vec<ContactId> {
    (0..n)
        .map(|i| ContactId::from_bytes(sha256(&[b"ch1 id", &i.to_be_bytes()])))
        .collect()
}

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

/// Blinds `contacts`, evaluates under `key`, and returns the client state, the blinded
/// elements and the honest evaluation.
fn round(
    key: &OracleKey,
    contacts: &[ContactId],
    seed: u8,
) -> (BlindState, Vec<BlindedElement>, Evaluation) {
    let mut r = rng(seed);
    let (state, blinded) = blind(&mut r, contacts).unwrap();
    let eval = key.evaluate(&mut r, &blinded).unwrap();
    (state, blinded, eval)
}

#[test]
fn end_to_end_1000_contacts() {
    let key = OracleKey::derive(&[7; 32], 3).unwrap();
    let contacts = ids(1000);
    let (state, blinded, eval) = round(&key, &contacts, 1);
    assert_eq!(blinded.len(), 1000);
    assert_eq!(eval.elements.len(), 1000);
    let out = state.finalize(&key.public_key(), 3, &eval).unwrap();
    assert_eq!(out.len(), 1000);

    // Independent of the blinds: another run with other blinds gives the same ids, and
    // so does the direct (unblinded) evaluation.
    let (state2, blinded2, eval2) = round(&key, &contacts, 2);
    assert_ne!(blinded, blinded2);
    assert_ne!(eval.elements, eval2.elements);
    let out2 = state2.finalize(&key.public_key(), 3, &eval2).unwrap();
    assert_eq!(out, out2);
    for (c, id) in contacts.iter().zip(&out).take(50) {
        assert_eq!(&key.evaluate_unblinded(c).unwrap(), id);
    }
    // Distinct contacts, distinct ids; none equals its ch1 id.
    let mut seen = std::collections::BTreeSet::new();
    for (c, id) in contacts.iter().zip(&out) {
        assert_ne!(c, id);
        assert!(seen.insert(*id.as_bytes()));
    }
    // Prefixes and tags are §9.5 of the ch2 id.
    let b = BucketBits::new(12).unwrap();
    let id = &out[0];
    let prefix = u32::from_be_bytes(id.as_bytes()[..4].try_into().unwrap()) >> 20;
    assert_eq!(bucket_prefix(id, b), prefix);
    assert_eq!(MatchTag::of(id).0, id.as_bytes()[16..32]);
}

#[test]
fn another_epoch_or_key_gives_other_ids() {
    let contacts = ids(4);
    let k3 = OracleKey::derive(&[7; 32], 3).unwrap();
    let k4 = OracleKey::derive(&[7; 32], 4).unwrap();
    let other = OracleKey::derive(&[8; 32], 3).unwrap();
    assert_ne!(k3.public_key(), k4.public_key());
    assert_ne!(k3.public_key(), other.public_key());
    assert_eq!(k3.key_epoch(), 3);

    let finalize = |key: &OracleKey, epoch: u32| {
        let (state, _, eval) = round(key, &contacts, 5);
        state.finalize(&key.public_key(), epoch, &eval).unwrap()
    };
    let base = finalize(&k3, 3);
    for other_ids in [finalize(&k4, 4), finalize(&other, 3), finalize(&k3, 4)] {
        for (a, b) in base.iter().zip(&other_ids) {
            assert_ne!(a, b);
        }
    }
    // A key derived twice from one seed is the same key.
    assert_eq!(
        OracleKey::derive(&[7; 32], 3).unwrap().public_key(),
        k3.public_key()
    );
    // Generated keys are fresh.
    let g1 = OracleKey::generate(&mut rng(1), 0).unwrap();
    let g2 = OracleKey::generate(&mut rng(2), 0).unwrap();
    assert_ne!(g1.public_key(), g2.public_key());
}

#[test]
fn an_oracle_using_another_key_is_caught() {
    let pinned = OracleKey::derive(&[7; 32], 3).unwrap();
    let rogue = OracleKey::derive(&[9; 32], 3).unwrap();
    let (state, _, eval) = round(&rogue, &ids(8), 1);
    assert_eq!(
        state.finalize(&pinned.public_key(), 3, &eval).unwrap_err(),
        Error::OprfProofInvalid
    );
    // A rogue key for a single victim inside an honest batch is caught as well.
    let contacts = ids(8);
    let mut r = rng(3);
    let (state, blinded) = blind(&mut r, &contacts).unwrap();
    let honest = pinned.evaluate(&mut r, &blinded).unwrap();
    let rogue_eval = rogue.evaluate(&mut r, &blinded).unwrap();
    let mut mixed = honest.clone();
    mixed.elements[5] = rogue_eval.elements[5].clone();
    assert_eq!(
        state.finalize(&pinned.public_key(), 3, &mixed).unwrap_err(),
        Error::OprfProofInvalid
    );
}

#[test]
fn reordered_or_miscounted_evaluations_are_refused() {
    let key = OracleKey::derive(&[7; 32], 3).unwrap();
    let contacts = ids(4);

    let (state, _, mut eval) = round(&key, &contacts, 1);
    eval.elements.swap(0, 1);
    assert_eq!(
        state.finalize(&key.public_key(), 3, &eval).unwrap_err(),
        Error::OprfProofInvalid
    );

    let (state, _, mut eval) = round(&key, &contacts, 1);
    eval.elements.pop();
    assert_eq!(
        state.finalize(&key.public_key(), 3, &eval).unwrap_err(),
        Error::OprfBatchSize
    );

    let (state, _, mut eval) = round(&key, &contacts, 1);
    let extra = eval.elements[0].clone();
    eval.elements.push(extra);
    assert_eq!(
        state.finalize(&key.public_key(), 3, &eval).unwrap_err(),
        Error::OprfBatchSize
    );

    // The proof of another batch (same key) does not carry over.
    let (state, _, mut eval) = round(&key, &contacts, 1);
    let (_, _, other) = round(&key, &contacts, 2);
    eval.proof = other.proof;
    assert_eq!(
        state.finalize(&key.public_key(), 3, &eval).unwrap_err(),
        Error::OprfProofInvalid
    );
}

#[test]
fn batch_bounds() {
    let key = OracleKey::derive(&[7; 32], 0).unwrap();
    let mut r = rng(1);
    assert_eq!(blind(&mut r, &[]).unwrap_err(), Error::OprfBatchSize);
    assert_eq!(key.evaluate(&mut r, &[]).unwrap_err(), Error::OprfBatchSize);
    let too_many = ids(u32::try_from(MAX_OPRF_BATCH).unwrap() + 1);
    assert_eq!(blind(&mut r, &too_many).unwrap_err(), Error::OprfBatchSize);
    let (_, one) = blind(&mut r, &ids(1)).unwrap();
    let oversized = vec![one[0].clone(); MAX_OPRF_BATCH + 1];
    assert_eq!(
        key.evaluate(&mut r, &oversized).unwrap_err(),
        Error::OprfBatchSize
    );
    // The bound itself is accepted.
    let (state, blinded) = blind(&mut r, &ids(u32::try_from(MAX_OPRF_BATCH).unwrap())).unwrap();
    assert_eq!(state.len(), MAX_OPRF_BATCH);
    assert!(!state.is_empty());
    let eval = key.evaluate(&mut r, &blinded).unwrap();
    assert_eq!(
        state.finalize(&key.public_key(), 0, &eval).unwrap().len(),
        MAX_OPRF_BATCH
    );
}

#[test]
fn identity_and_non_canonical_encodings_are_refused() {
    let identity = [0u8; 32];
    let mut non_canonical_field = [0xffu8; 32];
    non_canonical_field[31] = 0x7f; // 2^255 - 1 > p
    let mut negative = [0u8; 32];
    negative[0] = 1; // s = 1 is "negative" (odd)
    let high_bit = {
        let mut b = OracleKey::derive(&[7; 32], 0)
            .unwrap()
            .public_key()
            .to_bytes();
        b[31] |= 0x80;
        b
    };
    for bad in [identity, non_canonical_field, negative, high_bit] {
        assert_eq!(
            OraclePublicKey::from_bytes(bad).unwrap_err(),
            Error::OprfInvalidElement
        );
        assert_eq!(
            BlindedElement::from_bytes(&bad).unwrap_err(),
            Error::OprfInvalidElement
        );
        assert_eq!(
            EvaluatedElement::from_bytes(&bad).unwrap_err(),
            Error::OprfInvalidElement
        );
    }
    // Round trips of valid encodings.
    let key = OracleKey::derive(&[7; 32], 0).unwrap();
    let pk = key.public_key();
    assert_eq!(OraclePublicKey::from_bytes(pk.to_bytes()).unwrap(), pk);
    let (_, blinded, eval) = round(&key, &ids(2), 1);
    for b in &blinded {
        assert_eq!(&BlindedElement::from_bytes(&b.to_bytes()).unwrap(), b);
    }
    for e in &eval.elements {
        assert_eq!(&EvaluatedElement::from_bytes(&e.to_bytes()).unwrap(), e);
    }
}

#[test]
fn a_non_canonical_proof_is_an_invalid_proof() {
    let key = OracleKey::derive(&[7; 32], 0).unwrap();
    let (state, _, mut eval) = round(&key, &ids(2), 1);
    eval.proof[31] = 0xff; // c ≥ ℓ
    assert_eq!(
        state.finalize(&key.public_key(), 0, &eval).unwrap_err(),
        Error::OprfProofInvalid
    );
}

#[test]
fn secrets_are_redacted() {
    let key = OracleKey::derive(&[0xab; 32], 0).unwrap();
    let (state, _, _) = round(&key, &ids(1), 1);
    let k = format!("{key:?}");
    assert!(k.contains("OracleKey") && k.contains("key_epoch"));
    assert!(!k.to_lowercase().contains("abab"));
    let s = format!("{state:?}");
    assert_eq!(s, "BlindState { len: 1, .. }");
    let pk = key.public_key();
    assert_eq!(
        format!("{pk:?}"),
        format!("OraclePublicKey({})", hex::encode(pk.to_bytes()))
    );
}

#[cfg(feature = "serde")]
#[test]
fn public_key_serde_checks_the_point() {
    let pk = OracleKey::derive(&[7; 32], 0).unwrap().public_key();
    let json = serde_json::to_string(&pk).unwrap();
    assert_eq!(serde_json::from_str::<OraclePublicKey>(&json).unwrap(), pk);
    let identity = serde_json::to_string(&[0u8; 32]).unwrap();
    assert!(serde_json::from_str::<OraclePublicKey>(&identity).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any single bit flip in any evaluated element or in the proof is refused, and no
    /// id comes out.
    #[test]
    fn any_flip_is_refused(pos in 0usize..(3 * 32 + 64), bit in 0u8..8, seed in any::<u8>()) {
        let key = OracleKey::derive(&[7; 32], 1).unwrap();
        let (state, _, mut eval) = round(&key, &ids(3), seed);
        let err = if pos < 96 {
            let i = pos / 32;
            let mut bytes = eval.elements[i].to_bytes();
            bytes[pos % 32] ^= 1 << bit;
            match EvaluatedElement::from_bytes(&bytes) {
                Err(e) => e,
                Ok(tampered) => {
                    eval.elements[i] = tampered;
                    state.finalize(&key.public_key(), 1, &eval).unwrap_err()
                }
            }
        } else {
            eval.proof[pos - 96] ^= 1 << bit;
            state.finalize(&key.public_key(), 1, &eval).unwrap_err()
        };
        prop_assert!(matches!(err, Error::OprfInvalidElement | Error::OprfProofInvalid));
    }

    /// Arbitrary 32-byte strings never panic any decoder, and an evaluation built from
    /// arbitrary bytes is refused.
    #[test]
    fn arbitrary_bytes_never_panic(a in any::<[u8; 32]>(), b in any::<[u8; 32]>(), p in any::<[u8; 32]>()) {
        let _ = OraclePublicKey::from_bytes(a);
        let _ = BlindedElement::from_bytes(&a);
        let key = OracleKey::derive(&[7; 32], 1).unwrap();
        if let (Ok(e1), Ok(e2)) = (EvaluatedElement::from_bytes(&a), EvaluatedElement::from_bytes(&b)) {
            let (state, _, _) = round(&key, &ids(2), 1);
            let mut proof = [0u8; 64];
            proof[..32].copy_from_slice(&p);
            proof[32..].copy_from_slice(&b);
            let eval = Evaluation { elements: vec![e1, e2], proof };
            prop_assert!(state.finalize(&key.public_key(), 1, &eval).is_err());
        }
        if let Ok(pk) = OraclePublicKey::from_bytes(a) {
            let (state, _, eval) = round(&key, &ids(2), 1);
            if pk != key.public_key() {
                prop_assert_eq!(
                    state.finalize(&pk, 1, &eval).unwrap_err(),
                    Error::OprfProofInvalid
                );
            }
        }
    }
}
