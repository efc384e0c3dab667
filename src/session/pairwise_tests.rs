//! Pairwise mailboxes (spec §8.14, §8.15), each test playing the relay or a peer.
#![allow(
    clippy::cast_possible_truncation,
    reason = "test counters are below 256"
)]

use super::*;
use crate::bundle::tests::party;
use crate::envelope::{padded_len, PairwiseEnvelope, PAIRWISE_OVERHEAD};
use crate::handshake::accept;
use crate::route::verify_read_capability;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Alice initiates, Bob accepts and replies through his pairwise mailbox; Alice opens it.
fn established(rng: &mut ChaCha20Rng) -> (Session, Session) {
    let alice = party(rng, false, false);
    let mut bob = party(rng, true, true);
    let verified = bob.bundle.clone().verify().unwrap();
    let mut a = alice.initiate(rng, &verified);
    let first = a.encrypt(rng, b"hello").unwrap();
    let (mut b, _) = accept(&bob.identity, &mut bob.store, &first).unwrap();
    // The reply route: Bob's first sending mailbox is one Alice already watches.
    let reply_to = b.sending_mailbox().unwrap();
    assert!(a.watches(&reply_to));
    let reply = b.seal_pairwise(rng, b"hi").unwrap();
    assert_eq!(PairwiseEnvelope::parse(&reply).unwrap().mailbox, &reply_to);
    assert_eq!(a.open_pairwise(&reply).unwrap().plaintext, b"hi");
    assert!(!a.is_pending());
    (a, b)
}

/// Opening must fail with `expected` and leave the serialized state unchanged.
fn refuses(s: &mut Session, envelope: &[u8], expected: Error) {
    let before = s.to_bytes();
    assert_eq!(s.open_pairwise(envelope).unwrap_err(), expected);
    assert_eq!(*s.to_bytes(), *before, "a failed open changed the state");
}

fn mailbox(envelope: &[u8]) -> [u8; 32] {
    *PairwiseEnvelope::parse(envelope).unwrap().mailbox
}

#[test]
fn mailboxes_rotate_at_every_change_of_direction_and_never_repeat() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let (mut a, mut b) = established(&mut rng);
    let mut seen: Vec<[u8; 32]> = Vec::new();
    for round in 0..12u8 {
        let (sender, receiver) = if round % 2 == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        let predicted = sender.sending_mailbox().unwrap();
        let burst: Vec<Vec<u8>> = (0..3)
            .map(|i| sender.seal_pairwise(&mut rng, &[round, i]).unwrap())
            .collect();
        // One mailbox per sending chain, predicted by both sides.
        for e in &burst {
            assert_eq!(mailbox(e), predicted);
            assert!(receiver.watches(&predicted));
        }
        assert!(!seen.contains(&predicted), "a mailbox id was reused");
        seen.push(predicted);
        for (i, e) in burst.iter().enumerate() {
            assert_eq!(
                receiver.open_pairwise(e).unwrap().plaintext,
                [round, i as u8]
            );
        }
        // The capabilities the receiver holds open exactly its watched mailboxes.
        let caps = receiver.receiving_capabilities();
        assert!(caps.len() <= MAX_WATCHED_MAILBOXES);
        assert!(caps
            .iter()
            .any(|c| verify_read_capability(&predicted, &c.to_bytes())));
    }
    // No id equals either identity's keys or a header key the relay could know.
    for id in &seen {
        assert_ne!(id, &a.local_identity().signing);
        assert_ne!(id, &a.local_identity().agreement);
        assert_ne!(id, &b.local_identity().signing);
        assert_ne!(id, &b.local_identity().agreement);
    }
}

#[test]
fn envelopes_are_padded_inside_the_aead() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let (mut a, mut b) = established(&mut rng);
    for n in [0usize, 1, 200, 255, 256, 1000, 1024, 5000, 65535] {
        let pt = vec![0x5a; n];
        let e = a.seal_pairwise(&mut rng, &pt).unwrap();
        assert_eq!(e.len(), padded_len(n).unwrap() + PAIRWISE_OVERHEAD);
        assert_eq!(b.open_pairwise(&e).unwrap().plaintext, pt);
    }
    assert_eq!(
        a.seal_pairwise(&mut rng, &vec![0; 65536]).unwrap_err(),
        Error::MessageTooLarge
    );
}

#[test]
fn a_pending_initiator_cannot_send_pairwise() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let alice = party(&mut rng, false, false);
    let bob = party(&mut rng, false, false);
    let mut a = alice.initiate(&mut rng, &bob.bundle.clone().verify().unwrap());
    let before = a.to_bytes();
    assert!(matches!(
        a.seal_pairwise(&mut rng, b"x"),
        Err(Error::ApiMisuse { .. })
    ));
    assert_eq!(a.sending_mailbox(), None);
    assert_eq!(*a.to_bytes(), *before);
}

#[test]
fn late_and_duplicate_envelopes_across_rotations() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let (mut a, mut b) = established(&mut rng);
    // Alice sends two on her chain, Bob receives only the second, replies; Alice answers
    // on a new chain (new mailbox); then the late first message arrives at the old one.
    let m1 = a.seal_pairwise(&mut rng, b"m1").unwrap();
    let m2 = a.seal_pairwise(&mut rng, b"m2").unwrap();
    assert_eq!(b.open_pairwise(&m2).unwrap().plaintext, b"m2");
    let r = b.seal_pairwise(&mut rng, b"r").unwrap();
    assert_eq!(a.open_pairwise(&r).unwrap().plaintext, b"r");
    let m3 = a.seal_pairwise(&mut rng, b"m3").unwrap();
    assert_ne!(mailbox(&m3), mailbox(&m1));
    assert_eq!(b.open_pairwise(&m3).unwrap().plaintext, b"m3");
    assert!(b.watches(&mailbox(&m1)), "the old mailbox is still watched");
    assert_eq!(b.open_pairwise(&m1).unwrap().plaintext, b"m1");
    // Duplicates from the relay: refused, nothing changes.
    refuses(&mut b, &m1, Error::Duplicate);
    refuses(&mut b, &m2, Error::Duplicate);
    refuses(&mut b, &m3, Error::Duplicate);
}

#[test]
fn the_relay_cannot_move_an_envelope_to_another_mailbox_of_the_session() {
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let (mut a, mut b) = established(&mut rng);
    let m = a.seal_pairwise(&mut rng, b"m").unwrap();
    // Every other mailbox Bob watches, and one he does not.
    let own = mailbox(&m);
    for cap in b.receiving_capabilities() {
        let other = cap.mailbox();
        if other == own {
            continue;
        }
        let mut moved = m.clone();
        moved[2..34].copy_from_slice(&other);
        refuses(&mut b, &moved, Error::Decrypt);
    }
    assert!(!b.watches(&[0x42; 32]), "a foreign mailbox is not watched");
    assert!(b.watches(&own));
    let mut elsewhere = m.clone();
    elsewhere[2..34].copy_from_slice(&[0x42; 32]);
    refuses(&mut b, &elsewhere, Error::WrongMailbox);
    assert_eq!(b.open_pairwise(&m).unwrap().plaintext, b"m");
}

#[test]
fn an_envelope_of_another_session_is_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let (mut a, mut b) = established(&mut rng);
    let (mut c, _) = established(&mut rng);
    let m = c.seal_pairwise(&mut rng, b"not yours").unwrap();
    refuses(&mut b, &m, Error::WrongMailbox);
    let m = a.seal_pairwise(&mut rng, b"ok").unwrap();
    assert_eq!(b.open_pairwise(&m).unwrap().plaintext, b"ok");
}

#[test]
fn authenticated_bad_padding_changes_nothing() {
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let (mut a, mut b) = established(&mut rng);
    // A peer that skips the padding: a 256-byte body with no 0x80 marker, authenticated
    // under the right keys as a pairwise body.
    let e = a.seal_pairwise_raw(&mut rng, &[0x41; 256]).unwrap();
    refuses(&mut b, &e, Error::BadPadding);
    // A marker but a non-minimal padding (P(10) is 256, this pads 10 bytes to 272).
    let mut body = vec![7u8; 10];
    body.push(0x80);
    body.resize(272, 0);
    let e = a.seal_pairwise_raw(&mut rng, &body).unwrap();
    refuses(&mut b, &e, Error::BadPadding);
    let ok = a.seal_pairwise(&mut rng, b"fine").unwrap();
    assert_eq!(b.open_pairwise(&ok).unwrap().plaintext, b"fine");
}

/// The relay re-frames a pairwise envelope as a ratchet message (to seal it to the public
/// mailbox under the sender's name, as a probe travels), hoping the padded body is
/// delivered as plaintext with its padding; or a ratchet message as a pairwise envelope.
/// The body's associated data names its framing (spec §7.5), so neither authenticates.
#[test]
fn a_body_cannot_be_reframed_between_ratchet_message_and_pairwise_envelope() {
    let mut rng = ChaCha20Rng::seed_from_u64(19);
    let (mut a, mut b) = established(&mut rng);
    let pairwise = a.seal_pairwise(&mut rng, b"pay 10").unwrap();
    let mut as_ratchet = vec![0x01, 0x03];
    as_ratchet.extend_from_slice(&pairwise[34..]);
    let before = b.to_bytes();
    assert_eq!(b.decrypt(&as_ratchet).unwrap_err(), Error::Decrypt);
    assert_eq!(*b.to_bytes(), *before);
    // The genuine envelope still opens, exactly once.
    assert_eq!(b.open_pairwise(&pairwise).unwrap().plaintext, b"pay 10");
    // The reverse: a ratchet message (a probe's inner message) framed as a pairwise
    // envelope to the chain's mailbox, its body a valid padding of something.
    let mailbox = a.sending_mailbox().unwrap();
    let mut body = b"pay 20".to_vec();
    body.push(0x80);
    body.resize(256, 0);
    let ratchet = a.encrypt(&mut rng, &body).unwrap();
    let mut as_pairwise = vec![0x01, 0x08];
    as_pairwise.extend_from_slice(&mailbox);
    as_pairwise.extend_from_slice(&ratchet[2..]);
    refuses(&mut b, &as_pairwise, Error::Decrypt);
    assert_eq!(b.decrypt(&ratchet).unwrap(), body);
}

#[test]
fn a_delivered_envelope_is_a_duplicate_after_a_restart() {
    let mut rng = ChaCha20Rng::seed_from_u64(20);
    let (mut a, mut b) = established(&mut rng);
    let m1 = a.seal_pairwise(&mut rng, b"one").unwrap();
    let m2 = a.seal_pairwise(&mut rng, b"two").unwrap();
    assert_eq!(b.open_pairwise(&m2).unwrap().plaintext, b"two");
    let mut restored = Session::from_bytes(&b.to_bytes()).unwrap();
    refuses(&mut restored, &m2, Error::Duplicate);
    assert_eq!(restored.open_pairwise(&m1).unwrap().plaintext, b"one");
    refuses(&mut restored, &m1, Error::Duplicate);
}

#[test]
fn watched_mailboxes_survive_persistence() {
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let (mut a, b) = established(&mut rng);
    let saved = b.to_bytes();
    let mut restored = Session::from_bytes(&saved).unwrap();
    let caps: Vec<[u8; 32]> = b
        .receiving_capabilities()
        .iter()
        .map(ReadCapability::mailbox)
        .collect();
    let again: Vec<[u8; 32]> = restored
        .receiving_capabilities()
        .iter()
        .map(ReadCapability::mailbox)
        .collect();
    assert_eq!(caps, again);
    let m = a.seal_pairwise(&mut rng, b"after restart").unwrap();
    assert_eq!(
        restored.open_pairwise(&m).unwrap().plaintext,
        b"after restart"
    );
}

use crate::route::ReadCapability;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any tampering with any byte of a pairwise envelope is refused and changes nothing.
    #[test]
    fn any_tampering_is_refused(seed in any::<u64>(), at in any::<usize>(), bit in 0u8..8) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (mut a, mut b) = established(&mut rng);
        let m = a.seal_pairwise(&mut rng, b"payload").unwrap();
        let mut t = m.clone();
        let i = at % t.len();
        t[i] ^= 1 << bit;
        let before = b.to_bytes();
        prop_assert!(b.open_pairwise(&t).is_err());
        prop_assert_eq!(&*b.to_bytes(), &*before);
        prop_assert_eq!(b.open_pairwise(&m).unwrap().plaintext, b"payload".to_vec());
    }

    /// Any delivery order of a conversation with direction changes: every envelope opens
    /// exactly once, with its position.
    #[test]
    fn any_delivery_order(seed in any::<u64>(), turns in proptest::collection::vec(1usize..4, 1..6),
                          order in any::<proptest::sample::Index>()) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (mut a, mut b) = established(&mut rng);
        // Alice sends `turns[i]` messages, Bob acknowledges each turn in order (so chains
        // advance), and all of Alice's envelopes are delivered at the end, shuffled.
        let mut pending = Vec::new();
        for (t, &count) in turns.iter().enumerate() {
            for i in 0..count {
                pending.push((a.seal_pairwise(&mut rng, &[t as u8, i as u8]).unwrap(), [t as u8, i as u8]));
            }
            let r = b.seal_pairwise(&mut rng, b"ack").unwrap();
            prop_assert_eq!(a.open_pairwise(&r).unwrap().plaintext, b"ack".to_vec());
        }
        let n = pending.len();
        let k = order.index(n);
        pending.rotate_left(k);
        pending.reverse();
        for (e, pt) in &pending {
            prop_assert_eq!(&b.open_pairwise(e).unwrap().plaintext, &pt.to_vec());
        }
        for (e, _) in &pending {
            prop_assert!(b.open_pairwise(e).is_err());
        }
    }
}

#[test]
fn probes_are_the_4th_8th_16th_unanswered_messages() {
    let mut rng = ChaCha20Rng::seed_from_u64(18);
    let (mut a, mut b) = established(&mut rng);
    // After the reply, Alice's next message starts a new chain: numbers 0, 1, 2, ...
    let mut probes = Vec::new();
    for i in 0..20u32 {
        if a.next_send_is_probe() {
            probes.push(i);
        }
        let e = a.seal_pairwise(&mut rng, b"x").unwrap();
        b.open_pairwise(&e).unwrap();
    }
    assert_eq!(probes, vec![3, 7, 15]);
    // A reply resets the run: Bob's first message is no probe, nor Alice's next.
    assert!(!b.next_send_is_probe());
    let r = b.seal_pairwise(&mut rng, b"r").unwrap();
    a.open_pairwise(&r).unwrap();
    assert!(!a.next_send_is_probe());
    // A pending initiator never probes (its messages all go to the public mailbox).
    let alice = party(&mut rng, false, false);
    let bob = party(&mut rng, false, false);
    let mut p = alice.initiate(&mut rng, &bob.bundle.clone().verify().unwrap());
    for _ in 0..8 {
        assert!(!p.next_send_is_probe());
        p.encrypt(&mut rng, b"m").unwrap();
    }
}
