use super::establish::start;
use super::*;
use crate::bundle::tests::party;
use crate::Error;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[test]
fn both_roles_derive_identical_keys_in_every_bundle_variant() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    for (opk, otk) in [(false, false), (true, false), (false, true), (true, true)] {
        let alice = party(&mut rng, false, false);
        let bob = party(&mut rng, opk, otk);
        let verified = bob.bundle.clone().verify().unwrap();
        let (seed_a, header, trace_a) = initiator_secrets(
            &alice.identity,
            &alice.bundle.identity_record(),
            &verified,
            &[5; 32],
            &[6; 32],
            Trace::Keep,
        )
        .unwrap();
        let (seed_b, used, trace_b) =
            responder_seed(&bob.identity, &bob.store, &header, Trace::Keep).unwrap();
        assert_eq!(*seed_a.root_key, *seed_b.root_key);
        assert_eq!(*seed_a.initiator_header_key, *seed_b.initiator_header_key);
        assert_eq!(
            *seed_a.responder_next_header_key,
            *seed_b.responder_next_header_key
        );
        assert_eq!(seed_a.associated_data, seed_b.associated_data);
        assert_eq!(seed_a.remote_identity, *bob.identity.public());
        assert_eq!(seed_b.remote_identity, *alice.identity.public());
        let (trace_a, trace_b) = (trace_a.unwrap(), trace_b.unwrap());
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
    let (seed_a, header, _) = initiator_secrets(
        &alice.identity,
        &alice.bundle.identity_record(),
        &verified,
        &[5; 32],
        &[6; 32],
        Trace::Keep,
    )
    .unwrap();
    let mut h = header.clone();
    h.kem_ciphertext[10] ^= 1;
    let (seed_b, _, _) = responder_seed(&bob.identity, &bob.store, &h, Trace::Skip).unwrap();
    assert_ne!(
        *seed_a.root_key, *seed_b.root_key,
        "ML-KEM implicit rejection"
    );
    let mut h = header.clone();
    h.ephemeral[3] ^= 1;
    let (seed_b, _, _) = responder_seed(&bob.identity, &bob.store, &h, Trace::Skip).unwrap();
    assert_ne!(*seed_a.root_key, *seed_b.root_key);
    let mut h = header.clone();
    h.signed_prekey_id = 99;
    assert_eq!(
        responder_seed(&bob.identity, &bob.store, &h, Trace::Skip).unwrap_err(),
        Error::UnknownPrekey
    );
    let mut h = header.clone();
    h.one_time_prekey_id = Some(77);
    assert_eq!(
        responder_seed(&bob.identity, &bob.store, &h, Trace::Skip).unwrap_err(),
        Error::UnknownPrekey
    );
    let mut h = header.clone();
    h.ephemeral = [0; 32];
    assert_eq!(
        responder_seed(&bob.identity, &bob.store, &h, Trace::Skip).unwrap_err(),
        Error::NonContributory
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

/// Issue 15, defect 2: Mallory pairs Alice's Ed25519 key with her own X25519 key and runs a
/// genuine handshake with it (her DH1 is real, so the first message authenticates). Before
/// the identity record was carried and checked, `accept` took it and reported Alice's
/// Ed25519 key as the peer. Now the record's signature fails and nothing changes.
#[test]
fn initiator_claiming_anothers_ed25519_key_is_refused() {
    use crate::keys::SealingKeySecret;
    use crate::wire::IdentityRecord;
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let alice = party(&mut rng, false, false);
    let mallory = party(&mut rng, false, false);
    let mut bob = party(&mut rng, true, true);
    let verified = bob.bundle.clone().verify().unwrap();
    let genuine = alice.bundle.identity_record();
    let forged_identity = crate::IdentityPublicKey {
        signing: alice.identity.public().signing,
        agreement: mallory.identity.public().agreement,
    };
    // Alice's real signature (over her own X25519 key), and Mallory's own record re-labelled:
    // neither binds Alice's Ed25519 key to Mallory's X25519 key.
    let forgeries = [
        IdentityRecord {
            identity: forged_identity,
            ..genuine
        },
        IdentityRecord {
            identity: forged_identity,
            ..IdentityRecord::create(
                &mallory.identity,
                genuine.mailbox,
                &SealingKeySecret::generate(&mut rng),
            )
        },
    ];
    for record in forgeries {
        let mut session = start(&mut rng, &mallory.identity, &record, &verified).unwrap();
        let msg = session.encrypt(&mut rng, b"I am Alice").unwrap();
        let before = bob.store.state_digest();
        assert_eq!(
            accept(&bob.identity, &mut bob.store, &msg).unwrap_err(),
            Error::BadSignature
        );
        assert_eq!(bob.store.state_digest(), before, "a refused accept wrote");
    }
    // The public entry point refuses to send a record that is not the caller's own.
    assert_eq!(
        initiate(&mut rng, &mallory.identity, &genuine, &verified).unwrap_err(),
        Error::ApiMisuse {
            reason: "the identity record belongs to another identity"
        }
    );
    // Alice's genuine record is accepted, and the responder learns her route.
    let mut a = initiate(&mut rng, &alice.identity, &genuine, &verified).unwrap();
    let (b, _) = accept(
        &bob.identity,
        &mut bob.store,
        &a.encrypt(&mut rng, b"hi").unwrap(),
    )
    .unwrap();
    assert_eq!(b.remote_identity(), alice.identity.public());
}

/// Issue 15, defect 4: with a one-time prekey in the bundle (the normal case), the 2nd..nth
/// initial message of a first flight used to fail with `UnknownPrekey` (its one-time prekey
/// was consumed by the first). The replay check now runs first, so they are reported as
/// `ReplayedInitialMessage` — "route to the existing session" (§6.6) — and that session
/// decrypts them.
#[test]
fn follow_up_initial_messages_route_to_the_existing_session() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    for (opk, otk) in [(false, false), (true, false), (false, true), (true, true)] {
        let alice = party(&mut rng, false, false);
        let mut bob = party(&mut rng, opk, otk);
        let verified = bob.bundle.clone().verify().unwrap();
        let mut a = alice.initiate(&mut rng, &verified);
        let flight: Vec<Vec<u8>> = (0..3u8)
            .map(|i| a.encrypt(&mut rng, &[i; 5]).unwrap())
            .collect();
        let (mut b, first) = accept(&bob.identity, &mut bob.store, &flight[0]).unwrap();
        assert_eq!(first, [0; 5]);
        for (i, msg) in flight.iter().enumerate().skip(1) {
            let before = bob.store.state_digest();
            assert_eq!(
                accept(&bob.identity, &mut bob.store, msg).unwrap_err(),
                Error::ReplayedInitialMessage,
                "message {i}, one-time prekeys ({opk}, {otk})"
            );
            assert_eq!(bob.store.state_digest(), before);
            assert_eq!(b.decrypt(msg).unwrap(), [u8::try_from(i).unwrap(); 5]);
        }
    }
}

/// Issue 15, defect 8: the production paths (`initiate`, `accept`) build no trace, so IKM
/// and OKM are never copied out of their zeroizing buffers; only a caller that asks gets one.
#[test]
fn production_paths_build_no_trace() {
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let alice = party(&mut rng, false, false);
    let bob = party(&mut rng, true, false);
    let verified = bob.bundle.clone().verify().unwrap();
    let record = alice.bundle.identity_record();
    let (_, header, none) = initiator_secrets(
        &alice.identity,
        &record,
        &verified,
        &[5; 32],
        &[6; 32],
        Trace::Skip,
    )
    .unwrap();
    assert!(none.is_none());
    let (_, _, none) = responder_seed(&bob.identity, &bob.store, &header, Trace::Skip).unwrap();
    assert!(none.is_none());
}
