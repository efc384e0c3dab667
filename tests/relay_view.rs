//! The relay's view of two recorded conversations with many changes of direction (issue
//! 16, spec §11.1): the test plays the relay, keeps every envelope it is handed, and checks
//! what it can link.
//!
//! - no pairwise mailbox id appears in two rotation periods (a period is one run of
//!   messages in one direction of one conversation);
//! - no pairwise id equals, or visibly derives from, a public mailbox or an identity key,
//!   and consecutive ids of one conversation are uncorrelated;
//! - the two conversations' envelopes are indistinguishable apart from timing and count:
//!   same lengths for the same plaintext lengths, and no byte position that is constant in
//!   one conversation's envelopes but not the other's, or constant with another value.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blindrelay::codec::{Decode, Encode};
use blindrelay::envelope::{open, seal, Envelope, PairwiseEnvelope, RelayEnvelope};
use blindrelay::keys::{KemPrekeySecret, SealingKeySecret, SignedPrekeySecret};
use blindrelay::route::{verify_read_capability, ReadCapability};
use blindrelay::{
    accept_opened, initiate, BundleKeys, IdentityKeyPair, MemoryPrekeyStore, PrekeyBundle, Session,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

struct Party {
    identity: IdentityKeyPair,
    sealing: SealingKeySecret,
    public: ReadCapability,
    store: MemoryPrekeyStore,
    bundle: PrekeyBundle,
}

fn party(rng: &mut ChaCha20Rng) -> Party {
    let identity = IdentityKeyPair::generate(rng);
    let sealing = SealingKeySecret::generate(rng);
    let public = ReadCapability::generate(rng);
    let spk = SignedPrekeySecret::generate(rng);
    let kem = KemPrekeySecret::generate(rng);
    let bundle = PrekeyBundle::create(&BundleKeys {
        identity: &identity,
        mailbox: public.mailbox(),
        sealing: &sealing,
        signed_prekey: (1, &spk),
        kem_prekey: (2, &kem),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    });
    let mut store = MemoryPrekeyStore::new();
    store.insert_signed_prekey(1, spk);
    store.insert_kem_prekey(2, kem);
    Party {
        identity,
        sealing,
        public,
        store,
        bundle,
    }
}

/// One envelope as the relay recorded it, with the test's knowledge of where it belongs.
struct Recorded {
    bytes: Vec<u8>,
    conversation: usize,
    /// (direction, turn): one rotation period.
    period: (bool, usize),
    plaintext_len: usize,
}

/// A conversation between `a` (initiator) and `b`: the first message sealed to `b`'s public
/// mailbox, then `turns` alternating bursts, every envelope through the relay. Burst
/// sizes and plaintext lengths come from `plan`, so two conversations can be given the same
/// shape.
fn converse(
    rng: &mut ChaCha20Rng,
    conversation: usize,
    a: &Party,
    b: &mut Party,
    plan: &[(usize, usize)],
    relay: &mut Vec<Recorded>,
) {
    let verified = b.bundle.clone().verify().unwrap();
    let record = a.bundle.identity_record();
    let mut sa: Session = initiate(rng, &a.identity, &record, &verified).unwrap();
    let inner = sa.encrypt(rng, b"hello").unwrap();
    let first = seal(
        rng,
        &b.bundle.mailbox,
        &b.bundle.sealing_key,
        a.identity.public(),
        &inner,
    )
    .unwrap()
    .to_bytes();
    relay.push(Recorded {
        bytes: first.clone(),
        conversation,
        period: (true, 0),
        plaintext_len: 5,
    });
    // The recipient fetches its public mailbox with its capability and accepts.
    assert!(verify_read_capability(
        &b.bundle.mailbox,
        &b.public.to_bytes()
    ));
    let env = Envelope::decode_exact(&first).unwrap();
    let opened = open(&b.sealing, &b.bundle.mailbox, &env).unwrap();
    let (mut sb, _) = accept_opened(&b.identity, &mut b.store, &opened).unwrap();

    for (turn, &(burst, len)) in plan.iter().enumerate() {
        // Turn 0 is b's reply; then directions alternate.
        let from_a = turn % 2 == 1;
        let (sender, receiver) = if from_a {
            (&mut sa, &mut sb)
        } else {
            (&mut sb, &mut sa)
        };
        let mut sent = Vec::new();
        for i in 0..burst {
            let pt = vec![u8::try_from(i % 251).unwrap(); len];
            let bytes = sender.seal_pairwise(rng, &pt).unwrap();
            // The relay's whole check: a strict parse, no key.
            let parsed = RelayEnvelope::parse(&bytes).unwrap();
            assert_eq!(parsed.encoded_len(), bytes.len());
            relay.push(Recorded {
                bytes: bytes.clone(),
                conversation,
                period: (from_a, turn + 1),
                plaintext_len: len,
            });
            sent.push((bytes, pt));
        }
        // The receiver fetches each watched mailbox with its capability, newest last.
        let caps = receiver.receiving_capabilities();
        for (bytes, pt) in sent.iter().rev() {
            let mailbox = *PairwiseEnvelope::parse(bytes).unwrap().mailbox;
            assert!(caps
                .iter()
                .any(|c| verify_read_capability(&mailbox, &c.to_bytes())));
            assert_eq!(&receiver.open_pairwise(bytes).unwrap().plaintext, pt);
        }
    }
}

fn contains_window(hay: &[u8], key: &[u8]) -> bool {
    key.windows(8).any(|w| hay.windows(8).any(|h| h == w))
}

#[test]
fn what_the_relay_can_link_in_two_recorded_conversations() {
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let alice = party(&mut rng);
    let mut bob = party(&mut rng);
    let carol = party(&mut rng);
    let mut dave = party(&mut rng);
    // The same shape for both conversations: 16 changes of direction, bursts of 1-3,
    // plaintexts across several padding classes.
    let plan: Vec<(usize, usize)> = (0..16)
        .map(|t| (1 + t % 3, [10, 300, 1000, 5000][t % 4]))
        .collect();
    let mut relay = Vec::new();
    converse(&mut rng, 0, &alice, &mut bob, &plan, &mut relay);
    converse(&mut rng, 1, &carol, &mut dave, &plan, &mut relay);

    let public: BTreeSet<[u8; 32]> = [&alice, &bob, &carol, &dave]
        .iter()
        .map(|p| p.bundle.mailbox)
        .collect();
    let pairwise: Vec<&Recorded> = relay.iter().filter(|r| r.bytes[1] == 0x08).collect();
    assert_eq!(pairwise.len(), 2 * plan.iter().map(|p| p.0).sum::<usize>());

    // 1. One id per rotation period, never reused in another period.
    let mut periods_of: BTreeMap<[u8; 32], BTreeSet<(usize, bool, usize)>> = BTreeMap::new();
    for r in &pairwise {
        let id = *PairwiseEnvelope::parse(&r.bytes).unwrap().mailbox;
        periods_of
            .entry(id)
            .or_default()
            .insert((r.conversation, r.period.0, r.period.1));
    }
    for (id, periods) in &periods_of {
        assert_eq!(periods.len(), 1, "id {id:02x?} spans periods {periods:?}");
    }
    assert_eq!(periods_of.len(), 2 * plan.len(), "one id per period");

    // 2. No id is a public mailbox or an identity key, or a visible function of one, and
    //    no pairwise envelope contains an 8-byte window of either.
    let identities: Vec<[u8; 32]> = [&alice, &bob, &carol, &dave]
        .iter()
        .flat_map(|p| {
            let id = p.identity.public();
            [id.signing, id.agreement]
        })
        .collect();
    let visible = |x: &[u8; 32]| -> Vec<[u8; 32]> {
        vec![
            *x,
            Sha256::digest(x).into(),
            Sha256::digest([&b"blindrelay v1 mailbox id"[..], x].concat()).into(),
        ]
    };
    let derived: BTreeSet<[u8; 32]> = public
        .iter()
        .chain(identities.iter())
        .flat_map(visible)
        .collect();
    for r in &pairwise {
        let id = *PairwiseEnvelope::parse(&r.bytes).unwrap().mailbox;
        assert!(!derived.contains(&id));
        for key in public.iter().chain(identities.iter()) {
            assert!(!contains_window(&r.bytes, key));
        }
    }
    // Consecutive ids of a conversation are uncorrelated: Hamming distance near 128
    // (binomial, sd 8; the bound is 8 sd away).
    for c in 0..2 {
        let mut ids: Vec<[u8; 32]> = Vec::new();
        for r in pairwise.iter().filter(|r| r.conversation == c) {
            let id = *PairwiseEnvelope::parse(&r.bytes).unwrap().mailbox;
            if ids.last() != Some(&id) {
                ids.push(id);
            }
        }
        for w in ids.windows(2) {
            let d: u32 = w[0]
                .iter()
                .zip(&w[1])
                .map(|(x, y)| (x ^ y).count_ones())
                .sum();
            assert!((64..=192).contains(&d), "distance {d}");
        }
    }

    // 3. The two conversations look alike: equal lengths for equal plaintext lengths, and
    //    the same set of constant byte positions with the same values.
    let conv = |c: usize| -> Vec<&Recorded> {
        pairwise
            .iter()
            .copied()
            .filter(|r| r.conversation == c)
            .collect()
    };
    let (c0, c1) = (conv(0), conv(1));
    assert_eq!(c0.len(), c1.len());
    for (x, y) in c0.iter().zip(&c1) {
        assert_eq!(x.plaintext_len, y.plaintext_len);
        assert_eq!(x.bytes.len(), y.bytes.len());
    }
    let constant_positions = |rs: &[&Recorded]| -> BTreeMap<usize, u8> {
        let min = rs.iter().map(|r| r.bytes.len()).min().unwrap();
        (0..min)
            .filter(|&i| rs.iter().all(|r| r.bytes[i] == rs[0].bytes[i]))
            .map(|i| (i, rs[0].bytes[i]))
            .collect()
    };
    let k0 = constant_positions(&c0);
    let k1 = constant_positions(&c1);
    assert_eq!(k0, k1, "a byte position marks one conversation");
    // Only format constants: the version and type, and the two high bytes of the body
    // length (zero below 64 KiB); the low bytes vary with the length class.
    assert_eq!(k0.keys().copied().collect::<Vec<_>>(), vec![0, 1, 138, 139]);
}
