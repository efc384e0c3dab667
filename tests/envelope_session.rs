//! End to end through the relay (issue 4/8): from the initiator's first message onward,
//! every message travels as an envelope only; the recipient recovers the sender and the
//! plaintext; re-sealing someone else's inner message under another name fails (spec §8.8).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blindrelay::codec::{Decode, Encode, MessageType};
use blindrelay::envelope::{open, seal, Envelope};
use blindrelay::keys::{KemPrekeySecret, SealingKeySecret, SignedPrekeySecret};
use blindrelay::{
    accept_opened, initiate, BundleKeys, Error, IdentityKeyPair, IdentityPublicKey, IdentityRecord,
    MemoryPrekeyStore, PrekeyBundle, Session,
};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::HashMap;

struct Party {
    identity: IdentityKeyPair,
    sealing: SealingKeySecret,
    mailbox: [u8; 32],
    store: MemoryPrekeyStore,
    /// What the party uploads: the relay stores these bytes.
    bundle: Vec<u8>,
    /// Sessions by peer identity.
    sessions: HashMap<IdentityPublicKey, Session>,
}

impl Party {
    /// Our signed identity record (spec §5.2), carried by our initial messages.
    fn record(&self) -> IdentityRecord {
        IdentityRecord::create(&self.identity, self.mailbox, &self.sealing)
    }
}

fn party(rng: &mut ChaCha20Rng) -> Party {
    let identity = IdentityKeyPair::generate(rng);
    let sealing = SealingKeySecret::generate(rng);
    let spk = SignedPrekeySecret::generate(rng);
    let kem = KemPrekeySecret::generate(rng);
    let mut mailbox = [0u8; 32];
    rng.fill_bytes(&mut mailbox);
    let bundle = PrekeyBundle::create(&BundleKeys {
        identity: &identity,
        mailbox,
        sealing: &sealing,
        signed_prekey: (1, &spk),
        kem_prekey: (2, &kem),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    })
    .to_bytes();
    let mut store = MemoryPrekeyStore::new();
    store.insert_signed_prekey(1, spk);
    store.insert_kem_prekey(2, kem);
    Party {
        identity,
        sealing,
        mailbox,
        store,
        bundle,
        sessions: HashMap::new(),
    }
}

/// The relay: queues envelope bytes by mailbox, having parsed them without any key.
#[derive(Default)]
struct Relay {
    queues: HashMap<[u8; 32], Vec<Vec<u8>>>,
}

impl Relay {
    fn submit(&mut self, bytes: Vec<u8>) {
        let env = Envelope::decode_exact(&bytes).expect("a well-formed envelope");
        assert_eq!(env.encoded_len(), bytes.len());
        self.queues.entry(*env.mailbox()).or_default().push(bytes);
    }
    fn fetch(&mut self, mailbox: &[u8; 32]) -> Vec<Vec<u8>> {
        self.queues.remove(mailbox).unwrap_or_default()
    }
}

/// Sends `plaintext` from `from` to the owner of `to_bundle` (bytes as fetched from the
/// relay), starting a session if there is none. Returns the inner message it sealed.
fn send(
    rng: &mut ChaCha20Rng,
    relay: &mut Relay,
    from: &mut Party,
    to_bundle: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let bundle = PrekeyBundle::decode_exact(to_bundle)
        .unwrap()
        .verify()
        .unwrap();
    let peer = *bundle.identity();
    let record = from.record();
    let session = match from.sessions.entry(peer) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(initiate(rng, &from.identity, &record, &bundle).unwrap())
        }
    };
    let inner = session.encrypt(rng, plaintext).unwrap();
    let b = bundle.bundle();
    let env = seal(
        rng,
        &b.mailbox,
        &b.sealing_key,
        from.identity.public(),
        &inner,
    )
    .unwrap();
    relay.submit(env.to_bytes());
    inner
}

/// Receives every queued envelope: opens, authenticates the sender through the session,
/// and returns `(sender, plaintext)` for each.
fn receive(relay: &mut Relay, to: &mut Party) -> Vec<(IdentityPublicKey, Vec<u8>)> {
    let mut out = Vec::new();
    for bytes in relay.fetch(&to.mailbox) {
        let env = Envelope::decode_exact(&bytes).unwrap();
        let opened = open(&to.sealing, &to.mailbox, &env).unwrap();
        let plaintext = match to.sessions.get_mut(&opened.sender) {
            Some(session) => session.decrypt_opened(&opened).unwrap(),
            None => {
                // A new session: the initial header must name the sealed sender.
                let initial = opened.initial_message().unwrap();
                assert_eq!(initial.header.initiator.identity, opened.sender);
                let (session, pt) = accept_opened(&to.identity, &mut to.store, &opened).unwrap();
                assert_eq!(session.remote_identity(), &opened.sender);
                to.sessions.insert(opened.sender, session);
                pt
            }
        };
        out.push((opened.sender, plaintext));
    }
    out
}

#[test]
fn a_conversation_travels_as_envelopes_only() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut relay = Relay::default();
    let mut alice = party(&mut rng);
    let mut bob = party(&mut rng);
    let (alice_bundle, bob_bundle) = (alice.bundle.clone(), bob.bundle.clone());

    // Alice's first two messages are initial messages (no reply yet).
    let first = send(&mut rng, &mut relay, &mut alice, &bob_bundle, b"hello bob");
    assert_eq!(first[1], MessageType::INITIAL_MESSAGE.0);
    send(
        &mut rng,
        &mut relay,
        &mut alice,
        &bob_bundle,
        b"are you there?",
    );
    let got = receive(&mut relay, &mut bob);
    assert_eq!(
        got,
        vec![
            (*alice.identity.public(), b"hello bob".to_vec()),
            (*alice.identity.public(), b"are you there?".to_vec()),
        ]
    );

    // Bob replies (he fetches Alice's bundle to learn her mailbox and sealing key).
    let reply = send(&mut rng, &mut relay, &mut bob, &alice_bundle, b"hi alice");
    assert_eq!(reply[1], MessageType::RATCHET_MESSAGE.0);
    assert_eq!(
        receive(&mut relay, &mut alice),
        vec![(*bob.identity.public(), b"hi alice".to_vec())]
    );

    // Back and forth, with a long message.
    let long = vec![0x5a; 20_000];
    for round in 0..3u8 {
        send(&mut rng, &mut relay, &mut alice, &bob_bundle, &[round; 10]);
        send(&mut rng, &mut relay, &mut alice, &bob_bundle, &long);
        let got = receive(&mut relay, &mut bob);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, vec![round; 10]);
        assert_eq!(got[1].1, long);
        send(&mut rng, &mut relay, &mut bob, &alice_bundle, &[round; 3]);
        assert_eq!(receive(&mut relay, &mut alice)[0].1, vec![round; 3]);
    }
}

#[test]
fn re_sealing_under_another_name_fails() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let mut relay = Relay::default();
    let mut alice = party(&mut rng);
    let mut bob = party(&mut rng);
    let mut mallory = party(&mut rng);
    let bob_bundle = bob.bundle.clone();
    let bob_verified = PrekeyBundle::decode_exact(&bob_bundle)
        .unwrap()
        .verify()
        .unwrap();
    let b = bob_verified.bundle();

    // Alice's initial message, re-sealed by Mallory under her own name: the header still
    // names Alice.
    let initial = send(&mut rng, &mut relay, &mut alice, &bob_bundle, b"from alice");
    let forged = seal(
        &mut rng,
        &b.mailbox,
        &b.sealing_key,
        mallory.identity.public(),
        &initial,
    )
    .unwrap();
    let opened = open(&bob.sealing, &bob.mailbox, &forged).unwrap();
    assert_eq!(opened.sender, *mallory.identity.public());
    assert_eq!(opened.initial_message().unwrap_err(), Error::SenderMismatch);
    let digest = bob.store.state_digest();
    assert_eq!(
        accept_opened(&bob.identity, &mut bob.store, &opened).unwrap_err(),
        Error::SenderMismatch
    );
    assert_eq!(bob.store.state_digest(), digest);
    // Bob accepts Alice's real envelope.
    assert_eq!(receive(&mut relay, &mut bob)[0].1, b"from alice");

    // Mallory has her own session with Bob.
    send(
        &mut rng,
        &mut relay,
        &mut mallory,
        &bob_bundle,
        b"from mallory",
    );
    assert_eq!(
        receive(&mut relay, &mut bob)[0].0,
        *mallory.identity.public()
    );

    // Alice's next (ratchet) message, re-sealed by Mallory: Bob tries it in his session
    // with Mallory, where it does not authenticate, and that session is unchanged.
    let alice_bundle = alice.bundle.clone();
    send(&mut rng, &mut relay, &mut bob, &alice_bundle, b"reply");
    receive(&mut relay, &mut alice);
    let inner = send(&mut rng, &mut relay, &mut alice, &bob_bundle, b"second");
    assert_eq!(inner[1], MessageType::RATCHET_MESSAGE.0);
    let forged = seal(
        &mut rng,
        &b.mailbox,
        &b.sealing_key,
        mallory.identity.public(),
        &inner,
    )
    .unwrap();
    let opened = open(&bob.sealing, &bob.mailbox, &forged).unwrap();
    let mallory_session = bob.sessions.get_mut(mallory.identity.public()).unwrap();
    let before = mallory_session.to_bytes();
    assert_eq!(mallory_session.decrypt(&opened.inner), Err(Error::Decrypt));
    assert_eq!(mallory_session.to_bytes(), before);
    // The real envelope still decrypts in the session with Alice.
    assert_eq!(
        receive(&mut relay, &mut bob),
        vec![(*alice.identity.public(), b"second".to_vec())]
    );
    let _ = &mut mallory.sessions;
}

#[test]
fn same_class_envelopes_from_two_senders_look_alike() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let mut relay = Relay::default();
    let mut alice = party(&mut rng);
    let mut carol = party(&mut rng);
    let mut bob = party(&mut rng);
    let bob_bundle = bob.bundle.clone();
    let (alice_bundle, carol_bundle) = (alice.bundle.clone(), carol.bundle.clone());
    // Sessions first (initial messages are over 1.2 KiB, §8.4), then Bob replies to both.
    send(&mut rng, &mut relay, &mut alice, &bob_bundle, b"start");
    send(&mut rng, &mut relay, &mut carol, &bob_bundle, b"start");
    receive(&mut relay, &mut bob);
    send(&mut rng, &mut relay, &mut bob, &alice_bundle, b"ok");
    send(&mut rng, &mut relay, &mut bob, &carol_bundle, b"ok");
    receive(&mut relay, &mut alice);
    receive(&mut relay, &mut carol);
    // Two short ratchet messages of different lengths, in the 256-byte class.
    send(&mut rng, &mut relay, &mut alice, &bob_bundle, b"hi");
    send(
        &mut rng,
        &mut relay,
        &mut carol,
        &bob_bundle,
        b"hello there, bob",
    );
    let queued = relay.queues.get(&bob.mailbox).unwrap().clone();
    assert_eq!(queued[0].len(), queued[1].len());
    assert_eq!(queued[0].len(), 256 + 86, "the smallest class");
    for env in &queued {
        for id in [alice.identity.public(), carol.identity.public()] {
            for key in [&id.signing, &id.agreement] {
                for w in key.windows(8) {
                    assert!(!env.windows(8).any(|e| e == w));
                }
            }
        }
    }
    assert_eq!(receive(&mut relay, &mut bob).len(), 2);
}
