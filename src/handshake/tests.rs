use super::*;
use crate::bundle::tests::party;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[test]
fn both_roles_derive_identical_keys_in_every_bundle_variant() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    for (opk, otk) in [(false, false), (true, false), (false, true), (true, true)] {
        let alice = party(&mut rng, false, false);
        let bob = party(&mut rng, opk, otk);
        let verified = bob.bundle.clone().verify().unwrap();
        let (seed_a, header, trace_a) =
            initiator_secrets(&alice.identity, &verified, &[5; 32], &[6; 32]).unwrap();
        let (seed_b, used, trace_b) = responder_seed(&bob.identity, &bob.store, &header).unwrap();
        assert_eq!(*seed_a.root_key, *seed_b.root_key);
        assert_eq!(*seed_a.initiator_header_key, *seed_b.initiator_header_key);
        assert_eq!(
            *seed_a.responder_next_header_key,
            *seed_b.responder_next_header_key
        );
        assert_eq!(seed_a.associated_data, seed_b.associated_data);
        assert_eq!(seed_a.remote_identity, *bob.identity.public());
        assert_eq!(seed_b.remote_identity, *alice.identity.public());
        assert_eq!(trace_a.dh.len(), if opk { 4 } else { 3 });
        assert_eq!(trace_a.dh, trace_b.dh);
        assert_eq!(trace_a.okm, trace_b.okm);
        assert_eq!(used.one_time_prekey_id, opk.then_some(3));
        assert_eq!(used.one_time_kem_prekey_id, otk.then_some(4));
        // The three output keys are distinct.
        assert_ne!(*seed_a.root_key, *seed_a.initiator_header_key);
        assert_ne!(
            *seed_a.initiator_header_key,
            *seed_a.responder_next_header_key
        );
    }
}

#[test]
fn tampered_header_fields_change_the_keys_or_fail() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let alice = party(&mut rng, false, false);
    let bob = party(&mut rng, true, true);
    let verified = bob.bundle.clone().verify().unwrap();
    let (seed_a, header, _) =
        initiator_secrets(&alice.identity, &verified, &[5; 32], &[6; 32]).unwrap();
    let mut h = header.clone();
    h.kem_ciphertext[10] ^= 1;
    let (seed_b, _, _) = responder_seed(&bob.identity, &bob.store, &h).unwrap();
    assert_ne!(
        *seed_a.root_key, *seed_b.root_key,
        "ML-KEM implicit rejection"
    );
    let mut h = header.clone();
    h.ephemeral[3] ^= 1;
    let (seed_b, _, _) = responder_seed(&bob.identity, &bob.store, &h).unwrap();
    assert_ne!(*seed_a.root_key, *seed_b.root_key);
    let mut h = header.clone();
    h.signed_prekey_id = 99;
    assert_eq!(
        responder_seed(&bob.identity, &bob.store, &h).unwrap_err(),
        crate::Error::UnknownPrekey
    );
    let mut h = header.clone();
    h.one_time_prekey_id = Some(77);
    assert_eq!(
        responder_seed(&bob.identity, &bob.store, &h).unwrap_err(),
        crate::Error::UnknownPrekey
    );
    let mut h = header.clone();
    h.ephemeral = [0; 32];
    assert_eq!(
        responder_seed(&bob.identity, &bob.store, &h).unwrap_err(),
        crate::Error::NonContributory
    );
}

#[test]
fn low_order_bundle_keys_are_rejected_by_the_initiator() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let bob = party(&mut rng, false, false);
    let verified = bob.bundle.clone().verify().unwrap();
    // An all-zero ephemeral secret is clamped, still contributory; a zero *peer* key is not.
    let mut bundle = verified.bundle().clone();
    bundle.identity.agreement = [0; 32];
    // Re-signing is impossible without Bob's key, so verification fails first.
    assert!(bundle.verify().is_err());
}
