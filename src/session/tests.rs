use super::*;
use crate::bundle::tests::{party, Party};
use crate::handshake::accept;
use crate::keys::{MemoryPrekeyStore, PrekeyStore};
use crate::ratchet::{MAX_SKIP, MAX_SKIPPED_KEYS};
use crate::wire::RatchetMessage;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Alice initiates to Bob; Bob accepts her first message. Returns both sessions.
fn pair(rng: &mut ChaCha20Rng, opk: bool, otk: bool) -> (Session, Session, Party) {
    let alice = party(rng, false, false);
    let mut bob = party(rng, opk, otk);
    let verified = bob.bundle.clone().verify().unwrap();
    let mut a = alice.initiate(rng, &verified);
    let first = a.encrypt(rng, b"hello bob").unwrap();
    let (b, pt) = accept(&bob.identity, &mut bob.store, &first).unwrap();
    assert_eq!(pt, b"hello bob");
    (a, b, bob)
}

/// Decrypting must fail with `expected` and leave the serialized state unchanged.
fn rejects(s: &mut Session, msg: &[u8], expected: Error) {
    let before = s.to_bytes();
    assert_eq!(s.decrypt(msg).unwrap_err(), expected);
    assert_eq!(*s.to_bytes(), *before, "a failed decrypt changed the state");
}

#[test]
fn conversation_in_every_bundle_variant() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for (opk, otk) in [(false, false), (true, false), (false, true), (true, true)] {
        let (mut a, mut b, _) = pair(&mut rng, opk, otk);
        assert_eq!(a.remote_identity(), b.local_identity());
        assert_eq!(b.remote_identity(), a.local_identity());
        // Until Bob replies, Alice's messages are initial messages.
        let m = a.encrypt(&mut rng, b"second").unwrap();
        assert_eq!(peek_type(&m).unwrap(), MessageType::INITIAL_MESSAGE);
        assert_eq!(b.decrypt(&m).unwrap(), b"second");
        let r = b.encrypt(&mut rng, b"hi alice").unwrap();
        assert_eq!(peek_type(&r).unwrap(), MessageType::RATCHET_MESSAGE);
        assert!(a.is_pending());
        assert_eq!(a.decrypt(&r).unwrap(), b"hi alice");
        assert!(!a.is_pending());
        for round in 0..5u8 {
            let m = a.encrypt(&mut rng, &[round; 3]).unwrap();
            assert_eq!(peek_type(&m).unwrap(), MessageType::RATCHET_MESSAGE);
            assert_eq!(b.decrypt(&m).unwrap(), [round; 3]);
            let r = b.encrypt(&mut rng, &[round; 4]).unwrap();
            assert_eq!(a.decrypt(&r).unwrap(), [round; 4]);
        }
    }
}

#[test]
fn accept_changes_the_store_only_after_authentication() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let alice = party(&mut rng, false, false);
    let mut bob = party(&mut rng, true, true);
    let verified = bob.bundle.clone().verify().unwrap();
    let mut a = alice.initiate(&mut rng, &verified);
    let first = a.encrypt(&mut rng, b"m0").unwrap();
    let header_len = InitialMessage::decode_exact(&first)
        .unwrap()
        .header
        .to_bytes()
        .len();
    let digest = bob.store.state_digest();
    // Tamper with every field region: identity, ephemeral key, ids, KEM ciphertext, the
    // inner message. Each fails and the store is unchanged.
    for (offset, expected) in [
        (2 + 10, Error::BadSignature),      // initiator identity (ed25519 part)
        (2 + 64 + 3, Error::BadSignature),  // initiator mailbox
        (2 + 160 + 9, Error::BadSignature), // identity record signature
        (2 + 192 + 5, Error::Decrypt),      // ephemeral key
        (2 + 192 + 32 + 3, Error::UnknownPrekey), // signed prekey id
        (2 + header_len - 7, Error::Decrypt), // KEM ciphertext (implicit rejection)
        (first.len() - 3, Error::Decrypt),  // inner ratchet message body
    ] {
        let mut bad = first.clone();
        bad[offset] ^= 0x01;
        let err = accept(&bob.identity, &mut bob.store, &bad).unwrap_err();
        assert!(
            err == expected || err == Error::InvalidPublicKey || err == Error::NonContributory,
            "offset {offset}: {err:?}"
        );
        assert_eq!(bob.store.state_digest(), digest, "offset {offset}");
    }
    // The genuine message is accepted and consumes the one-time prekeys.
    let (mut b, pt) = accept(&bob.identity, &mut bob.store, &first).unwrap();
    assert_eq!(pt, b"m0");
    assert_ne!(bob.store.state_digest(), digest);
    assert!(bob.store.one_time_prekey(3).is_none());
    assert!(bob.store.one_time_kem_prekey(4).is_none());
    // A replay cannot create a second session; the existing session rejects it as a
    // duplicate but accepts Alice's further initial messages.
    let digest = bob.store.state_digest();
    assert_eq!(
        accept(&bob.identity, &mut bob.store, &first).unwrap_err(),
        Error::ReplayedInitialMessage
    );
    assert_eq!(bob.store.state_digest(), digest);
    rejects(&mut b, &first, Error::Duplicate);
    let second = a.encrypt(&mut rng, b"m1").unwrap();
    assert_eq!(b.decrypt(&second).unwrap(), b"m1");
}

#[test]
fn replay_without_one_time_prekeys_is_caught_by_the_replay_cache() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let alice = party(&mut rng, false, false);
    let mut bob = party(&mut rng, false, false);
    let verified = bob.bundle.clone().verify().unwrap();
    let mut a = alice.initiate(&mut rng, &verified);
    let first = a.encrypt(&mut rng, b"m0").unwrap();
    let (mut b, _) = accept(&bob.identity, &mut bob.store, &first).unwrap();
    let digest = bob.store.state_digest();
    assert_eq!(
        accept(&bob.identity, &mut bob.store, &first).unwrap_err(),
        Error::ReplayedInitialMessage
    );
    assert_eq!(bob.store.state_digest(), digest);
    rejects(&mut b, &first, Error::Duplicate);
    // A second, independent handshake from Alice is a new session.
    let mut a2 = alice.initiate(&mut rng, &verified);
    let other = a2.encrypt(&mut rng, b"again").unwrap();
    rejects(&mut b, &other, Error::SessionMismatch);
    let (_, pt) = accept(&bob.identity, &mut bob.store, &other).unwrap();
    assert_eq!(pt, b"again");
}

#[test]
fn an_initiator_rejects_initial_messages() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let (mut a, _b, _) = pair(&mut rng, false, false);
    let m = a.encrypt(&mut rng, b"x").unwrap();
    rejects(&mut a, &m, Error::SessionMismatch);
    rejects(&mut a, &[1, 0x09], Error::UnknownMessageType(9));
    rejects(&mut a, &[2, 0x03], Error::UnknownVersion(2));
    rejects(&mut a, &[], Error::Truncated);
}

#[test]
fn out_of_order_duplicates_and_dh_steps() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (mut a, mut b, _) = pair(&mut rng, true, false);
    let r = b.encrypt(&mut rng, b"r0").unwrap();
    a.decrypt(&r).unwrap();
    // Alice sends a chain of 5; Bob receives them reversed.
    let chain1: Vec<_> = (0..5u8)
        .map(|i| a.encrypt(&mut rng, &[i]).unwrap())
        .collect();
    // Bob answers (a DH step in his direction) before Alice's first chain arrives, and
    // Alice then starts another chain.
    for (i, m) in chain1.iter().enumerate().rev() {
        assert_eq!(b.decrypt(m).unwrap(), [u8::try_from(i).unwrap()]);
        rejects(&mut b, m, Error::Duplicate);
    }
    let r1 = b.encrypt(&mut rng, b"r1").unwrap();
    let r2 = b.encrypt(&mut rng, b"r2").unwrap();
    assert_eq!(a.decrypt(&r2).unwrap(), b"r2");
    let chain2: Vec<_> = (10..13u8)
        .map(|i| a.encrypt(&mut rng, &[i]).unwrap())
        .collect();
    // A message of the previous receiving chain still decrypts after the DH step.
    assert_eq!(a.decrypt(&r1).unwrap(), b"r1");
    rejects(&mut a, &r1, Error::Duplicate);
    // Bob gets chain2 out of order, skipping into it.
    assert_eq!(b.decrypt(&chain2[2]).unwrap(), [12]);
    assert_eq!(b.skipped_keys(), 2);
    assert_eq!(b.decrypt(&chain2[0]).unwrap(), [10]);
    assert_eq!(b.decrypt(&chain2[1]).unwrap(), [11]);
    assert_eq!(b.skipped_keys(), 0);
    for m in &chain2 {
        rejects(&mut b, m, Error::Duplicate);
    }
    // Chain 1 is remembered after the step to chain 2: its re-deliveries are duplicates.
    for m in &chain1 {
        rejects(&mut b, m, Error::Duplicate);
    }
}

#[test]
fn skipped_messages_of_an_old_chain_survive_a_step() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let (mut a, mut b, _) = pair(&mut rng, false, false);
    let lost: Vec<_> = (0..3u8)
        .map(|i| a.encrypt(&mut rng, &[i]).unwrap())
        .collect();
    // Bob replies, Alice answers in a new chain; Bob sees it before the lost ones.
    let r = b.encrypt(&mut rng, b"r").unwrap();
    a.decrypt(&r).unwrap();
    let late = a.encrypt(&mut rng, b"new chain").unwrap();
    assert_eq!(b.decrypt(&late).unwrap(), b"new chain");
    // PN told Bob to keep the keys of Alice's three earlier messages.
    assert_eq!(b.skipped_keys(), 3);
    for (i, m) in lost.iter().enumerate() {
        assert_eq!(b.decrypt(m).unwrap(), [u8::try_from(i).unwrap()]);
    }
    assert_eq!(b.skipped_keys(), 0);
}

#[test]
fn a_gap_over_max_skip_is_rejected_and_changes_nothing() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (mut a, mut b, _) = pair(&mut rng, false, false);
    let r = b.encrypt(&mut rng, b"r").unwrap();
    a.decrypt(&r).unwrap();
    let mut last = Vec::new();
    for _ in 0..=MAX_SKIP + 1 {
        last = a.encrypt(&mut rng, b"x").unwrap();
    }
    // Message number MAX_SKIP + 1 of a fresh chain needs MAX_SKIP + 1 skipped keys.
    rejects(&mut b, &last, Error::TooManySkipped);
    let next = a.encrypt(&mut rng, b"y").unwrap();
    rejects(&mut b, &next, Error::TooManySkipped);
}

#[test]
fn skipped_keys_are_bounded_in_total_oldest_first() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let (mut a, mut b, _) = pair(&mut rng, false, false);
    let r = b.encrypt(&mut rng, b"r").unwrap();
    a.decrypt(&r).unwrap();
    let mut first_skipped = None;
    // Three chains of MAX_SKIP skipped keys each: more than MAX_SKIPPED_KEYS in total.
    for _ in 0..3 {
        let mut msgs = Vec::new();
        for _ in 0..=MAX_SKIP {
            msgs.push(a.encrypt(&mut rng, b"x").unwrap());
        }
        first_skipped.get_or_insert(msgs[0].clone());
        b.decrypt(msgs.last().unwrap()).unwrap();
        assert!(b.skipped_keys() <= MAX_SKIPPED_KEYS);
        let r = b.encrypt(&mut rng, b"r").unwrap();
        a.decrypt(&r).unwrap();
    }
    assert_eq!(b.skipped_keys(), MAX_SKIPPED_KEYS);
    // The oldest key was evicted: that message can no longer be decrypted. Its header
    // still authenticates under a remembered chain, so it is reported as a duplicate.
    rejects(&mut b, &first_skipped.unwrap(), Error::Duplicate);
}

#[test]
fn messages_of_another_session_are_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let (mut a1, mut b1, _) = pair(&mut rng, false, false);
    let (mut a2, _b2, _) = pair(&mut rng, false, false);
    let r = b1.encrypt(&mut rng, b"r").unwrap();
    a1.decrypt(&r).unwrap();
    rejects(&mut a2, &r, Error::Decrypt);
    let m = a1.encrypt(&mut rng, b"m").unwrap();
    rejects(&mut a2, &m, Error::Decrypt);
}

#[test]
fn counters_never_wrap() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let (mut a, _b, _) = pair(&mut rng, false, false);
    a.ratchet.sending_number = u32::MAX;
    let before = a.to_bytes();
    assert_eq!(
        a.encrypt(&mut rng, b"x").unwrap_err(),
        Error::CounterExhausted
    );
    assert_eq!(*a.to_bytes(), *before);
    assert_eq!(
        a.encrypt(&mut rng, &vec![0; crate::limits::MAX_PLAINTEXT_LEN + 1])
            .unwrap_err(),
        Error::MessageTooLarge
    );
}

/// Rollback safety (spec §7.9): a sender restored from an old copy re-derives the same
/// message key, but the random nonce makes the two keystreams differ.
#[test]
fn a_rolled_back_sender_never_reuses_a_keystream() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let (mut a, mut b, _) = pair(&mut rng, false, false);
    let r = b.encrypt(&mut rng, b"r").unwrap();
    a.decrypt(&r).unwrap();
    let saved = a.to_bytes();
    let p1 = [0xAAu8; 64];
    let p2 = [0x55u8; 64];
    let m1 = RatchetMessage::decode_exact(&a.encrypt(&mut rng, &p1).unwrap()).unwrap();
    let mut restored = Session::from_bytes(&saved).unwrap();
    let m2 = RatchetMessage::decode_exact(&restored.encrypt(&mut rng, &p2).unwrap()).unwrap();
    let ks = |m: &RatchetMessage, p: &[u8]| -> Vec<u8> {
        m.body.iter().zip(p).map(|(c, p)| c ^ p).collect()
    };
    assert_ne!(ks(&m1, &p1), ks(&m2, &p2));
    assert_ne!(m1.body_nonce, m2.body_nonce);
    assert_ne!(m1.encrypted_header[..24], m2.encrypted_header[..24]);
    // Both still decrypt for Bob (the same message number, first one wins; the second is
    // then a duplicate under that key).
    let bytes1 = m1.to_bytes();
    assert_eq!(b.decrypt(&bytes1).unwrap(), p1);
    rejects(&mut b, &m2.to_bytes(), Error::Decrypt);
}

#[test]
fn persistence_round_trips_and_continues() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let (mut a, mut b, _) = pair(&mut rng, false, true);
    let r = b.encrypt(&mut rng, b"r").unwrap();
    let skipped_msg = a.encrypt(&mut rng, b"late").unwrap();
    let m = a.encrypt(&mut rng, b"m").unwrap();
    b.decrypt(&m).unwrap();
    a.decrypt(&r).unwrap();
    for s in [&a, &b] {
        let bytes = s.to_bytes();
        crate::codec::testing::assert_strict::<StateBytes>(&bytes);
    }
    let key = StorageKey::generate(&mut rng);
    let (bl, br) = (*b.local_identity(), *b.remote_identity());
    let sealed = b.seal(&mut rng, &key, b"slot", 7).unwrap();
    let (mut b2, epoch) = Session::open(&key, &bl, &br, b"slot", &sealed).unwrap();
    assert_eq!((epoch, Session::sealed_epoch(&sealed).unwrap()), (7, 7));
    assert_eq!(*b2.to_bytes(), *b.to_bytes());
    assert_eq!(b2.decrypt(&skipped_msg).unwrap(), b"late");
    let m = a.encrypt(&mut rng, b"after restore").unwrap();
    assert_eq!(b2.decrypt(&m).unwrap(), b"after restore");
    let wrong = StorageKey::from_bytes([9; 32]);
    assert_eq!(
        Session::open(&wrong, &bl, &br, b"slot", &sealed).unwrap_err(),
        Error::Decrypt
    );
    let mut bad = sealed.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(
        Session::open(&key, &bl, &br, b"slot", &bad).unwrap_err(),
        Error::Decrypt
    );
    let k2 = StorageKey::from_bytes(*key.to_bytes());
    assert_eq!(k2, key, "the storage key round-trips through its bytes");
    assert!(!format!("{key:?}").contains("09"));
    assert!(!format!("{b:?}").contains(&hex::encode(b.ratchet.root_key)));
}

/// Adapts the state encoding to the codec's strictness helper.
#[derive(Debug)]
struct StateBytes(Vec<u8>);
impl Encode for StateBytes {
    fn encode(&self, w: &mut crate::codec::Writer) {
        w.bytes(&self.0);
    }
}
impl Decode for StateBytes {
    fn decode(r: &mut crate::codec::Reader<'_>) -> Result<Self, Error> {
        let all = r.rest();
        Session::from_bytes(all).map(|s| StateBytes(s.to_bytes().to_vec()))
    }
}

#[test]
fn inconsistent_states_are_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let (a, _b, _) = pair(&mut rng, false, false);
    let good = a.to_bytes();
    // Flipping the AD's first byte breaks the identity/AD consistency check.
    let mut bad = good.to_vec();
    bad[2 + 128] ^= 1;
    assert_eq!(
        Session::from_bytes(&bad).unwrap_err(),
        Error::InvalidEncoding {
            field: "state.associated_data"
        }
    );
}

/// An event of a generated conversation.
#[derive(Clone, Debug)]
enum Step {
    /// A sends (true) or B sends (false) a message.
    Send(bool),
    /// Deliver the pending message at this index (mod the number pending) to its receiver.
    Deliver(usize),
    /// Deliver a copy of an already delivered message again.
    Replay(usize),
    /// Deliver a pending message with one byte flipped (then keep it pending).
    Tamper(usize, usize, u8),
    /// Drop a pending message.
    Drop(usize),
    /// Persist A (true) or B and continue from the restored copy.
    Restore(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => any::<bool>().prop_map(Step::Send),
        4 => any::<usize>().prop_map(Step::Deliver),
        1 => any::<usize>().prop_map(Step::Replay),
        1 => (any::<usize>(), any::<usize>(), 1..=255u8).prop_map(|(i, o, x)| Step::Tamper(i, o, x)),
        1 => any::<usize>().prop_map(Step::Drop),
        1 => any::<bool>().prop_map(Step::Restore),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any conversation: every genuine message decrypts exactly once to its plaintext,
    /// everything else is rejected, and every rejection leaves the state unchanged.
    #[test]
    fn arbitrary_conversations(seed in any::<u64>(), steps in prop::collection::vec(step(), 1..60)) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (mut a, mut b, _) = pair(&mut rng, seed % 2 == 0, seed % 3 == 0);
        // (from A?, bytes, plaintext)
        let mut pending: Vec<(bool, Vec<u8>, Vec<u8>)> = Vec::new();
        let mut delivered: Vec<(bool, Vec<u8>)> = Vec::new();
        let mut counter = 0u32;
        for s in steps {
            match s {
                Step::Send(from_a) => {
                    counter += 1;
                    let pt = counter.to_be_bytes().to_vec();
                    let sender = if from_a { &mut a } else { &mut b };
                    // B can always send (it accepted); A can always send.
                    let bytes = sender.encrypt(&mut rng, &pt).unwrap();
                    pending.push((from_a, bytes, pt));
                }
                Step::Deliver(i) if !pending.is_empty() => {
                    let (from_a, bytes, pt) = pending.remove(i % pending.len());
                    let receiver = if from_a { &mut b } else { &mut a };
                    let before = receiver.to_bytes();
                    match receiver.decrypt(&bytes) {
                        Ok(got) => prop_assert_eq!(got, pt),
                        Err(e) => {
                            // Only a gap over MAX_SKIP may legitimately fail; it cannot
                            // occur with fewer than MAX_SKIP messages in flight.
                            prop_assert!(false, "genuine message rejected: {:?}", e);
                            prop_assert_eq!(&*receiver.to_bytes(), &*before);
                        }
                    }
                    delivered.push((from_a, bytes));
                }
                Step::Replay(i) if !delivered.is_empty() => {
                    let (from_a, bytes) = &delivered[i % delivered.len()];
                    let receiver = if *from_a { &mut b } else { &mut a };
                    let before = receiver.to_bytes();
                    prop_assert!(receiver.decrypt(bytes).is_err());
                    prop_assert_eq!(&*receiver.to_bytes(), &*before);
                }
                Step::Tamper(i, offset, x) if !pending.is_empty() => {
                    let (from_a, bytes, _) = &pending[i % pending.len()];
                    let mut bad = bytes.clone();
                    let at = offset % bad.len();
                    bad[at] ^= x;
                    let receiver = if *from_a { &mut b } else { &mut a };
                    let before = receiver.to_bytes();
                    prop_assert!(receiver.decrypt(&bad).is_err());
                    prop_assert_eq!(&*receiver.to_bytes(), &*before);
                }
                Step::Drop(i) if !pending.is_empty() => {
                    pending.remove(i % pending.len());
                }
                Step::Restore(which) => {
                    let s = if which { &mut a } else { &mut b };
                    let restored = Session::from_bytes(&s.to_bytes()).unwrap();
                    prop_assert_eq!(&*restored.to_bytes(), &*s.to_bytes());
                    *s = restored;
                }
                _ => {}
            }
        }
    }

    /// Any byte flip of a ratchet message is rejected without a state change.
    #[test]
    fn any_tampering_is_rejected(seed in any::<u64>(), offset in any::<usize>(), x in 1..=255u8) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (mut a, mut b, _) = pair(&mut rng, false, false);
        let r = b.encrypt(&mut rng, b"reply").unwrap();
        a.decrypt(&r).unwrap();
        let m = a.encrypt(&mut rng, b"tamper me").unwrap();
        let mut bad = m.clone();
        let at = offset % bad.len();
        bad[at] ^= x;
        let before = b.to_bytes();
        prop_assert!(b.decrypt(&bad).is_err());
        prop_assert_eq!(&*b.to_bytes(), &*before);
        prop_assert_eq!(b.decrypt(&m).unwrap(), b"tamper me".to_vec());
    }

    /// The state parser never panics and accepts only canonical encodings.
    #[test]
    fn state_parser_is_total(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(s) = Session::from_bytes(&bytes) {
            prop_assert_eq!(&*s.to_bytes(), &bytes[..]);
        }
    }
}

#[test]
fn fresh_store_is_untouched_by_garbage() {
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let bob = party(&mut rng, true, true);
    let mut store: MemoryPrekeyStore = bob.store;
    let digest = store.state_digest();
    for garbage in [&b""[..], &[1, 2], &[1, 2, 3, 4, 5], &[0xff; 40]] {
        assert!(accept(&bob.identity, &mut store, garbage).is_err());
    }
    assert_eq!(store.state_digest(), digest);
}

/// Issue 15, defect 5: a re-delivered message (at-least-once delivery makes them normal)
/// used to fail as `Decrypt`, like a forgery. It is now `Duplicate` in every place a
/// message can stand — the current chain, a remembered earlier chain with or without
/// skipped keys left, the initial messages of a first flight — and nothing changes. Every
/// decryption reports the message's position, which orders a peer's messages as sent.
#[test]
fn redelivered_messages_are_duplicates_and_positions_order_them() {
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let (mut a, mut b, _) = pair(&mut rng, true, true);
    // Alice's first flight: the pair's first message was (0, 0); two more initial messages.
    let flight: Vec<_> = (1..3u8)
        .map(|i| a.encrypt(&mut rng, &[i]).unwrap())
        .collect();
    let mut sent = Vec::new(); // (position, plaintext) in sending order
    let mut got = Vec::new();
    for (i, m) in flight.iter().enumerate().rev() {
        let d = b.decrypt_message(m).unwrap();
        assert_eq!(
            d.position,
            Position {
                chain: 0,
                number: u32::try_from(i + 1).unwrap()
            }
        );
        got.push((d.position, d.plaintext));
        rejects(&mut b, m, Error::Duplicate);
    }
    for (i, m) in flight.iter().enumerate() {
        sent.push((
            Position {
                chain: 0,
                number: u32::try_from(i + 1).unwrap(),
            },
            vec![u8::try_from(i + 1).unwrap()],
        ));
        rejects(&mut b, m, Error::Duplicate);
    }
    // Three direction changes; in each of Alice's chains, one message is held back.
    let mut held = Vec::new();
    for round in 1..4u32 {
        let r = b.encrypt(&mut rng, b"r").unwrap();
        let dr = a.decrypt_message(&r).unwrap();
        assert_eq!(
            dr.position.chain,
            round - 1,
            "Bob's chains as Alice sees them"
        );
        rejects(&mut a, &r, Error::Duplicate);
        let msgs: Vec<_> = (0..3u8)
            .map(|i| {
                a.encrypt(&mut rng, &[10 * u8::try_from(round).unwrap() + i])
                    .unwrap()
            })
            .collect();
        for (n, m) in msgs.iter().enumerate() {
            sent.push((
                Position {
                    chain: round,
                    number: u32::try_from(n).unwrap(),
                },
                vec![10 * u8::try_from(round).unwrap() + u8::try_from(n).unwrap()],
            ));
            if n == 1 {
                held.push(m.clone());
                continue;
            }
            let d = b.decrypt_message(m).unwrap();
            got.push((d.position, d.plaintext));
        }
        for m in &msgs {
            if !held.contains(m) {
                rejects(&mut b, m, Error::Duplicate);
            }
        }
    }
    // The held-back messages of earlier chains arrive last; then everything again.
    for m in &held {
        let d = b.decrypt_message(m).unwrap();
        got.push((d.position, d.plaintext));
        rejects(&mut b, m, Error::Duplicate);
    }
    got.sort();
    sent.sort();
    assert_eq!(got, sent, "positions order the messages as Alice sent them");
}

/// Issue 15, defect 6: the sealed state's associated data was a constant label, so whoever
/// could write the storage could put one peer's sealed session in another's row (or in
/// another slot, or an older copy in place of the newest) and `open` accepted it. It is now
/// bound to both identities, the slot and the epoch: every swap fails with `Decrypt`, and
/// an older copy reveals its older epoch.
#[test]
fn sealed_state_is_bound_to_identities_slot_and_epoch() {
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let (a1, b1, _) = pair(&mut rng, false, false);
    let (_a2, b2, _) = pair(&mut rng, false, false);
    let key = StorageKey::generate(&mut rng);
    let (bl, br1, br2) = (
        *b1.local_identity(),
        *b1.remote_identity(),
        *b2.remote_identity(),
    );
    let old = b1.seal(&mut rng, &key, b"peer-1", 1).unwrap();
    let new = b1.seal(&mut rng, &key, b"peer-1", 2).unwrap();
    let other = b2.seal(&mut rng, &key, b"peer-2", 1).unwrap();
    // The genuine rows open.
    assert_eq!(
        Session::open(&key, &bl, &br1, b"peer-1", &new).unwrap().1,
        2
    );
    assert!(Session::open(&key, b2.local_identity(), &br2, b"peer-2", &other).is_ok());
    // Storage thief: peer 2's state written into peer 1's row; peer 1's state moved to
    // another slot; the roles of the identities exchanged.
    for (remote, slot, sealed) in [
        (&br1, &b"peer-1"[..], &other),
        (&br1, b"peer-2", &new),
        (&br2, b"peer-1", &new),
    ] {
        assert_eq!(
            Session::open(&key, &bl, remote, slot, sealed).unwrap_err(),
            Error::Decrypt
        );
    }
    assert_eq!(
        Session::open(&key, &br1, &bl, b"peer-1", &new).unwrap_err(),
        Error::Decrypt
    );
    // The epoch is authenticated: relabelling an old copy as new fails ...
    let mut relabelled = old.clone();
    relabelled[2..10].copy_from_slice(&2u64.to_be_bytes());
    assert_eq!(
        Session::open(&key, &bl, &br1, b"peer-1", &relabelled).unwrap_err(),
        Error::Decrypt
    );
    // ... and a rolled-back row opens with its old epoch, which the caller compares with
    // its high-water mark (2) and refuses.
    let (_, epoch) = Session::open(&key, &bl, &br1, b"peer-1", &old).unwrap();
    assert!(epoch < 2);
    // Slots are at most 255 bytes.
    assert!(matches!(
        a1.seal(&mut rng, &key, &[0; 256], 1),
        Err(Error::ApiMisuse { .. })
    ));
}
