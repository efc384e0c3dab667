//! End-to-end behaviour of the client over both stores: first flights, follow-up initial
//! messages, trust on first use, replay after restart, failed receives, prekey upkeep.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use blindrelay::codec::Encode;
use blindrelay_client::StoreTx;
use blindrelay_client::{Client, Error, MemoryStore, Outcome, PrekeyPolicy, SqliteStore, Store};
use common::{Directory, TempDb};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn delivered(o: &Outcome) -> &[u8] {
    match o {
        Outcome::Delivered(r) => &r.plaintext,
        other => panic!("expected a delivery, got {other:?}"),
    }
}

/// Alice and Bob with published bundles and a pool of one-time prekeys each.
fn pair<S: Store>(
    rng: &mut ChaCha20Rng,
    a: S,
    b: S,
    dir: &mut Directory,
) -> (Client<S>, Client<S>) {
    let mut alice = Client::create(rng, a, 0).unwrap();
    let mut bob = Client::create(rng, b, 0).unwrap();
    for (name, c) in [("alice", &mut alice), ("bob", &mut bob)] {
        dir.publish(name, c.bundle().unwrap());
        let pool = c.generate_one_time_prekeys(rng, 3).unwrap();
        dir.upload(name, pool);
    }
    (alice, bob)
}

fn first_flight_and_reply<S: Store>(a: S, b: S) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut dir = Directory::default();
    let (mut alice, mut bob) = pair(&mut rng, a, b, &mut dir);
    assert_eq!(bob.one_time_prekeys_remaining().unwrap(), 3);
    let envs: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            alice
                .send(&mut rng, &mut dir, "bob", format!("m{i}").as_bytes())
                .unwrap()
        })
        .collect();
    // Delivered out of order: the 2nd and 3rd messages of the first flight (initial
    // messages naming a one-time prekey already consumed) are routed to the session.
    for i in [1usize, 2, 0] {
        let o = bob.receive(&mut rng, &mut dir, &envs[i]).unwrap();
        assert_eq!(delivered(&o), format!("m{i}").as_bytes());
        if let Outcome::Delivered(r) = &o {
            assert_eq!(r.sender, *alice.identity());
            assert_eq!(r.new_session, i == 1);
        }
    }
    assert_eq!(bob.one_time_prekeys_remaining().unwrap(), 2);
    // Duplicates are a distinct outcome.
    assert!(matches!(
        bob.receive(&mut rng, &mut dir, &envs[0]).unwrap(),
        Outcome::Duplicate { .. }
    ));
    // Bob replies to the address; the identity learnt from the first message is bound to it.
    let reply = bob.send(&mut rng, &mut dir, "alice", b"hi alice").unwrap();
    let o = alice.receive(&mut rng, &mut dir, &reply).unwrap();
    assert_eq!(delivered(&o), b"hi alice");
    let next = alice.send(&mut rng, &mut dir, "bob", b"ratchet").unwrap();
    assert_eq!(
        delivered(&bob.receive(&mut rng, &mut dir, &next).unwrap()),
        b"ratchet"
    );
    assert_eq!(bob.session_count(alice.identity()).unwrap(), 1);
}

#[test]
fn first_flight_follow_ups_are_delivered_memory() {
    first_flight_and_reply(MemoryStore::new(), MemoryStore::new());
}

#[test]
fn first_flight_follow_ups_are_delivered_sqlite() {
    let (da, db) = (TempDb::new("ff-a"), TempDb::new("ff-b"));
    first_flight_and_reply(
        SqliteStore::open(&da.0).unwrap(),
        SqliteStore::open(&db.0).unwrap(),
    );
}

/// A re-delivery that the digest table no longer knows (evicted, or the table was lost)
/// is never delivered again: the session recognises the used position (the core's
/// `Duplicate`), and the client treats bytes it never delivered at a used position as a
/// peer that re-used it, so it resets once (rate-limited), and nothing else is written.
#[test]
fn a_redelivery_unknown_to_the_digest_table_is_not_delivered_again() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let mut dir = Directory::default();
    let (da, db) = (TempDb::new("dup-a"), TempDb::new("dup-b"));
    let (mut alice, mut bob) = pair(
        &mut rng,
        SqliteStore::open(&da.0).unwrap(),
        SqliteStore::open(&db.0).unwrap(),
        &mut dir,
    );
    let first = alice.send(&mut rng, &mut dir, "bob", b"one").unwrap();
    bob.receive(&mut rng, &mut dir, &first).unwrap();
    let reply = bob.send(&mut rng, &mut dir, "alice", b"two").unwrap();
    alice.receive(&mut rng, &mut dir, &reply).unwrap();
    let third = alice.send(&mut rng, &mut dir, "bob", b"three").unwrap();
    let o = bob.receive(&mut rng, &mut dir, &third).unwrap();
    let Outcome::Delivered(r) = o else {
        panic!("{o:?}")
    };
    assert!(r.position.is_some() && !r.new_session);
    rusqlite::Connection::open(&db.0)
        .unwrap()
        .execute_batch("DELETE FROM delivered")
        .unwrap();
    let o = bob.receive(&mut rng, &mut dir, &third).unwrap();
    assert!(
        matches!(o, Outcome::Undecryptable { reset: Some(_), .. }),
        "{o:?}"
    );
    let dump = bob.store().dump().unwrap();
    let o = bob.receive(&mut rng, &mut dir, &first).unwrap();
    assert!(
        matches!(o, Outcome::Undecryptable { reset: None, .. }),
        "{o:?}"
    );
    assert_eq!(bob.store().dump().unwrap(), dump);
}

#[test]
fn a_changed_identity_is_refused_until_trusted() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut dir = Directory::default();
    let (mut alice, mut bob) = pair(&mut rng, MemoryStore::new(), MemoryStore::new(), &mut dir);
    let env = alice.send(&mut rng, &mut dir, "bob", b"one").unwrap();
    bob.receive(&mut rng, &mut dir, &env).unwrap();

    // Bob reinstalls: a new identity publishes under the same address.
    let mut bob2 = Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    dir.publish("bob", bob2.bundle().unwrap());
    dir.clear_pool("bob");
    // While Alice's session with the old Bob is usable she keeps using it...
    alice
        .send(&mut rng, &mut dir, "bob", b"still old bob")
        .unwrap();
    // ...once it is gone (here: the session rows are lost) she must fetch the bundle,
    // and the new identity is refused, writing nothing.
    let empty = MemoryStore::new();
    alice.store_mut().restore_sessions_from(&empty);
    let before = alice.store().clone();
    let err = alice
        .send(&mut rng, &mut dir, "bob", b"to whom?")
        .unwrap_err();
    assert_eq!(
        err,
        Error::IdentityChanged {
            address: "bob".into()
        }
    );
    assert!(alice.store() == &before, "a refused send wrote nothing");
    // After comparing safety numbers, Alice accepts the new identity.
    let new = alice.trust_new_identity(&mut dir, "bob").unwrap();
    assert_eq!(new, *bob2.identity());
    let env = alice
        .send(&mut rng, &mut dir, "bob", b"hello new bob")
        .unwrap();
    assert_eq!(
        delivered(&bob2.receive(&mut rng, &mut dir, &env).unwrap()),
        b"hello new bob"
    );
}

#[test]
fn a_first_envelope_replayed_after_a_restart_is_not_a_new_session() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let mut dir = Directory::default();
    let (da, db) = (TempDb::new("replay-a"), TempDb::new("replay-b"));
    let (mut alice, bob) = pair(
        &mut rng,
        SqliteStore::open(&da.0).unwrap(),
        SqliteStore::open(&db.0).unwrap(),
        &mut dir,
    );
    // A first envelope without a one-time prekey: replay protection rests on the replay
    // record alone.
    dir.clear_pool("bob");
    let first = alice.send(&mut rng, &mut dir, "bob", b"once").unwrap();
    let mut bob = bob;
    assert_eq!(
        delivered(&bob.receive(&mut rng, &mut dir, &first).unwrap()),
        b"once"
    );
    let bob_id = *alice.identity();
    drop(bob);

    let mut bob = Client::open(SqliteStore::open(&db.0).unwrap()).unwrap();
    let dump = bob.store().dump().unwrap();
    let hw = bob.high_water_mark(&bob_id).unwrap();
    let o = bob.receive(&mut rng, &mut dir, &first).unwrap();
    assert!(matches!(o, Outcome::Duplicate { .. }), "{o:?}");
    assert_eq!(
        bob.store().dump().unwrap(),
        dump,
        "the replay wrote nothing"
    );
    assert_eq!(bob.high_water_mark(&bob_id).unwrap(), hw);
    assert_eq!(bob.session_count(&bob_id).unwrap(), 1);
}

/// A syntactically valid ratchet message that authenticates under no key.
fn garbage_inner() -> Vec<u8> {
    let mut v = vec![0x01, 0x03];
    v.extend_from_slice(&[7u8; 80 + 24]);
    v.extend_from_slice(&16u32.to_be_bytes());
    v.extend_from_slice(&[9u8; 16]);
    v
}

fn forge(
    rng: &mut ChaCha20Rng,
    to: &blindrelay::PrekeyBundle,
    claimed: &blindrelay::IdentityPublicKey,
    inner: &[u8],
) -> Vec<u8> {
    blindrelay::envelope::seal(rng, &to.mailbox, &to.sealing_key, claimed, inner)
        .unwrap()
        .to_bytes()
}

#[test]
fn a_failed_receive_writes_nothing() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut dir = Directory::default();
    let (da, db) = (TempDb::new("fail-a"), TempDb::new("fail-b"));
    let (mut alice, mut bob) = pair(
        &mut rng,
        SqliteStore::open(&da.0).unwrap(),
        SqliteStore::open(&db.0).unwrap(),
        &mut dir,
    );
    let bob_bundle = bob.bundle().unwrap();
    let env = alice.send(&mut rng, &mut dir, "bob", b"hello").unwrap();
    let mut tampered = env.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;

    // Before any session: a tampered first envelope, garbage bytes, a forged ratchet
    // message from a stranger, and a forged initial message naming unknown prekeys.
    let stranger = Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    let dump = bob.store().dump().unwrap();
    assert!(bob.receive(&mut rng, &mut dir, &tampered).is_err());
    assert!(bob.receive(&mut rng, &mut dir, b"\x01\x04garbage").is_err());
    let forged = forge(&mut rng, &bob_bundle, stranger.identity(), &garbage_inner());
    assert!(bob.receive(&mut rng, &mut dir, &forged).is_err());
    assert_eq!(bob.store().dump().unwrap(), dump);

    // With a session: a forged message in Alice's name starts one reset (a deliberate
    // write), and then, while it is unanswered, nothing more.
    bob.receive(&mut rng, &mut dir, &env).unwrap();
    let forged = forge(&mut rng, &bob_bundle, alice.identity(), &garbage_inner());
    // Bob has not bound an address to Alice yet: no reset is possible, nothing written.
    let dump = bob.store().dump().unwrap();
    assert!(matches!(
        bob.receive(&mut rng, &mut dir, &forged).unwrap(),
        Outcome::Undecryptable { reset: None, .. }
    ));
    assert_eq!(bob.store().dump().unwrap(), dump);
    bob.send(&mut rng, &mut dir, "alice", b"reply").unwrap();
    let forged2 = forge(&mut rng, &bob_bundle, alice.identity(), &garbage_inner());
    let o = bob.receive(&mut rng, &mut dir, &forged2).unwrap();
    let Outcome::Undecryptable {
        reset: Some(reset), ..
    } = o
    else {
        panic!("expected a reset, got {o:?}")
    };
    let dump = bob.store().dump().unwrap();
    for _ in 0..3 {
        let forged = forge(&mut rng, &bob_bundle, alice.identity(), &garbage_inner());
        assert!(matches!(
            bob.receive(&mut rng, &mut dir, &forged).unwrap(),
            Outcome::Undecryptable { reset: None, .. }
        ));
    }
    assert_eq!(
        bob.store().dump().unwrap(),
        dump,
        "rate-limited: no further writes"
    );
    // Alice accepts the reset; her answer on the new session clears the limit.
    assert!(matches!(
        alice.receive(&mut rng, &mut dir, &reset).unwrap(),
        Outcome::Control { .. }
    ));
    let answer = alice
        .send(&mut rng, &mut dir, "bob", b"after reset")
        .unwrap();
    assert_eq!(
        delivered(&bob.receive(&mut rng, &mut dir, &answer).unwrap()),
        b"after reset"
    );
    let forged3 = forge(&mut rng, &bob_bundle, alice.identity(), &garbage_inner());
    assert!(matches!(
        bob.receive(&mut rng, &mut dir, &forged3).unwrap(),
        Outcome::Undecryptable { reset: Some(_), .. }
    ));
}

#[test]
fn prekeys_rotate_by_count_and_age_and_retire_with_their_replay_records() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut dir = Directory::default();
    let (mut alice, mut bob) = pair(&mut rng, MemoryStore::new(), MemoryStore::new(), &mut dir);
    let policy = PrekeyPolicy {
        max_replays: 2,
        max_age: 100,
        grace: 50,
        ..PrekeyPolicy::default()
    };
    assert!(!bob.needs_refill(3).unwrap());
    assert!(bob.needs_refill(4).unwrap());
    assert_eq!(
        bob.maintain_prekeys(&mut rng, 10, &policy).unwrap().rotated,
        None
    );

    // Two sessions accepted under the first signed prekey: rotation by count.
    let carol = &mut Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    dir.publish("carol", carol.bundle().unwrap());
    let e1 = alice.send(&mut rng, &mut dir, "bob", b"a").unwrap();
    let e2 = carol.send(&mut rng, &mut dir, "bob", b"c").unwrap();
    bob.receive(&mut rng, &mut dir, &e1).unwrap();
    bob.receive(&mut rng, &mut dir, &e2).unwrap();
    assert!(bob.needs_refill(2).unwrap());
    let old_bundle = bob.bundle().unwrap();
    let old_spk = old_bundle.signed_prekey.id;
    let m = bob.maintain_prekeys(&mut rng, 20, &policy).unwrap();
    let new_spk = m.rotated.expect("rotated by count");
    assert!(new_spk > old_spk && m.retired.is_empty());
    assert_eq!(bob.bundle().unwrap().signed_prekey.id, new_spk);

    // A follow-up to the old prekey still routes during the grace period...
    let e1b = alice.send(&mut rng, &mut dir, "bob", b"a2").unwrap();
    assert_eq!(
        delivered(&bob.receive(&mut rng, &mut dir, &e1b).unwrap()),
        b"a2"
    );
    // ...after it, the old prekey and its replay records are gone.
    let m = bob.maintain_prekeys(&mut rng, 70, &policy).unwrap();
    assert_eq!(m.retired, vec![old_spk]);
    assert_eq!(m.rotated, None);
    let replays = bob
        .store_mut()
        .transaction(|tx| tx.replay_count(old_spk))
        .unwrap();
    assert_eq!(replays, 0);
    // Rotation by age.
    let m = bob.maintain_prekeys(&mut rng, 20 + 100, &policy).unwrap();
    assert!(m.rotated.is_some());
    // A first message to the retired prekey (a bundle fetched long ago) is refused and
    // writes nothing.
    let mut stale_dir = Directory::default();
    stale_dir.publish("bob", old_bundle);
    let mut dave = Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    let late = dave.send(&mut rng, &mut stale_dir, "bob", b"late").unwrap();
    let before = bob.store().clone();
    let err = bob.receive(&mut rng, &mut dir, &late).unwrap_err();
    assert_eq!(err, Error::Protocol(blindrelay::Error::UnknownPrekey));
    assert!(bob.store() == &before);
}

/// Spec §8.12: the sealing key rotates; envelopes sealed to the previous key still open
/// during its grace period, peers learn the new key from the identity record carried in
/// messages meanwhile, and after the grace period the old key is erased.
#[test]
fn the_sealing_key_rotates_and_peers_follow() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let mut dir = Directory::default();
    let (da, db) = (TempDb::new("seal-a"), TempDb::new("seal-b"));
    let (mut alice, mut bob) = pair(
        &mut rng,
        SqliteStore::open(&da.0).unwrap(),
        SqliteStore::open(&db.0).unwrap(),
        &mut dir,
    );
    let e = alice.send(&mut rng, &mut dir, "bob", b"hello").unwrap();
    bob.receive(&mut rng, &mut dir, &e).unwrap();
    let e = bob.send(&mut rng, &mut dir, "alice", b"hi").unwrap();
    alice.receive(&mut rng, &mut dir, &e).unwrap();
    let policy = PrekeyPolicy::default();
    let day = 86_400;

    let old_key = bob.bundle().unwrap().sealing_key;
    let m = bob.maintain_prekeys(&mut rng, 31 * day, &policy).unwrap();
    assert!(m.sealing_rotated && !m.sealing_erased);
    let new_key = bob.bundle().unwrap().sealing_key;
    assert_ne!(old_key, new_key);
    dir.publish("bob", bob.bundle().unwrap());

    // Alice still seals to the old key: it opens during the grace period, also after a
    // restart of Bob.
    let e = alice
        .send(&mut rng, &mut dir, "bob", b"to the old key")
        .unwrap();
    drop(bob);
    let mut bob = Client::open(SqliteStore::open(&db.0).unwrap()).unwrap();
    assert_eq!(
        delivered(&bob.receive(&mut rng, &mut dir, &e).unwrap()),
        b"to the old key"
    );
    // Bob's reply carries his new identity record; Alice's next envelope uses the new key.
    // The longest message fits with the record.
    let long = vec![7u8; blindrelay_client::MAX_MESSAGE_LEN];
    let too_long = [long.as_slice(), b"!"].concat();
    assert_eq!(
        bob.send(&mut rng, &mut dir, "alice", &too_long)
            .unwrap_err(),
        Error::Protocol(blindrelay::Error::MessageTooLarge)
    );
    let e = bob.send(&mut rng, &mut dir, "alice", &long).unwrap();
    assert_eq!(
        delivered(&alice.receive(&mut rng, &mut dir, &e).unwrap()),
        long
    );
    let e = bob
        .send(&mut rng, &mut dir, "alice", b"my key changed")
        .unwrap();
    assert_eq!(
        delivered(&alice.receive(&mut rng, &mut dir, &e).unwrap()),
        b"my key changed"
    );
    let late = alice
        .send(&mut rng, &mut dir, "bob", b"to the new key")
        .unwrap();

    // After the grace period the previous key is erased: nothing sealed to it opens.
    let stale = blindrelay::envelope::seal(
        &mut rng,
        bob.mailbox(),
        &old_key,
        alice.identity(),
        &garbage_inner(),
    )
    .unwrap()
    .to_bytes();
    let m = bob.maintain_prekeys(&mut rng, 39 * day, &policy).unwrap();
    assert!(m.sealing_erased && !m.sealing_rotated);
    assert_eq!(
        bob.receive(&mut rng, &mut dir, &stale).unwrap_err(),
        Error::Protocol(blindrelay::Error::Decrypt)
    );
    assert_eq!(
        delivered(&bob.receive(&mut rng, &mut dir, &late).unwrap()),
        b"to the new key"
    );

    // Alice rotates in turn, and Bob stays silent through her whole grace period. Their
    // session is established, so his next message is a pairwise envelope, which needs no
    // sealing key at all: it arrives although the key he knows is erased (before pairwise
    // mailboxes, this envelope was lost).
    let m = alice.maintain_prekeys(&mut rng, 62 * day, &policy).unwrap();
    assert!(m.sealing_rotated);
    dir.publish("alice", alice.bundle().unwrap());
    let m = alice.maintain_prekeys(&mut rng, 70 * day, &policy).unwrap();
    assert!(m.sealing_erased);
    let not_lost = bob
        .send(&mut rng, &mut dir, "alice", b"into the void")
        .unwrap();
    assert_eq!(not_lost[1], 0x08, "a pairwise envelope");
    assert_eq!(
        delivered(&alice.receive(&mut rng, &mut dir, &not_lost).unwrap()),
        b"into the void"
    );
    let e = alice
        .send(&mut rng, &mut dir, "bob", b"still here")
        .unwrap();
    assert_eq!(
        delivered(&bob.receive(&mut rng, &mut dir, &e).unwrap()),
        b"still here"
    );
    let e = bob.send(&mut rng, &mut dir, "alice", b"found you").unwrap();
    assert_eq!(
        delivered(&alice.receive(&mut rng, &mut dir, &e).unwrap()),
        b"found you"
    );
}

/// After a whole-store restore, `recover_after_restore` keeps new prekey ids apart from the
/// ones the abandoned timeline published, and first messages that timeline accepted cannot
/// be accepted again (its replay records are gone, the prekeys they used are too).
#[test]
fn recovery_after_a_restore_refuses_old_first_messages_and_reissues_no_id() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let mut dir = Directory::default();
    let (mut alice, mut bob) = pair(&mut rng, MemoryStore::new(), MemoryStore::new(), &mut dir);
    let backup = bob.store().clone();
    let first = alice
        .send(&mut rng, &mut dir, "bob", b"after the backup")
        .unwrap();
    bob.receive(&mut rng, &mut dir, &first).unwrap();
    let published: Vec<u32> = bob
        .generate_one_time_prekeys(&mut rng, 2)
        .unwrap()
        .iter()
        .flat_map(|r| [r.x25519.id, r.kem.id])
        .collect();

    // Bob's device is restored from the backup.
    let mut bob = Client::open(backup).unwrap();
    let spk = bob.recover_after_restore(&mut rng, &mut dir, 10).unwrap();
    let pool = bob.generate_one_time_prekeys(&mut rng, 2).unwrap();
    let max_published = published.iter().max().copied().unwrap();
    assert!(spk > max_published);
    assert!(pool
        .iter()
        .all(|r| r.x25519.id > max_published && r.kem.id > max_published));
    assert_eq!(bob.one_time_prekeys_remaining().unwrap(), 2);
    dir.publish("bob", bob.bundle().unwrap());
    dir.clear_pool("bob");
    dir.upload("bob", pool);

    // The relay replays the first message the abandoned timeline accepted: refused.
    let before = bob.store().clone();
    assert_eq!(
        bob.receive(&mut rng, &mut dir, &first).unwrap_err(),
        Error::Protocol(blindrelay::Error::UnknownPrekey)
    );
    assert!(bob.store() == &before);
    // A new contact starts from the new bundle and its one-time prekeys.
    let mut carol = Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    let e = carol.send(&mut rng, &mut dir, "bob", b"hi").unwrap();
    assert_eq!(
        delivered(&bob.receive(&mut rng, &mut dir, &e).unwrap()),
        b"hi"
    );
    assert_eq!(bob.one_time_prekeys_remaining().unwrap(), 1);
}

/// Frames (spec §7.9): an unknown kind, an empty plaintext, and a `0x02` whose record is
/// not the sender's or does not verify are control messages: nothing is delivered, and
/// the session still advances.
#[test]
fn malformed_frames_are_control_messages() {
    use blindrelay::codec::Encode;
    use blindrelay::IdentityRecord;
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let mut dir = Directory::default();
    let (_, mut bob) = pair(&mut rng, MemoryStore::new(), MemoryStore::new(), &mut dir);
    // Frames are built below the client layer: a raw core session of another party.
    let mallory = blindrelay::IdentityKeyPair::generate(&mut rng);
    let sealing = blindrelay::keys::SealingKeySecret::generate(&mut rng);
    let record = IdentityRecord::create(&mallory, [9; 32], &sealing);
    let bundle = bob.bundle().unwrap();
    let mut raw = blindrelay::initiate(
        &mut rng,
        &mallory,
        &record,
        &bundle.clone().verify().unwrap(),
    )
    .unwrap();
    let mut sealed = |rng: &mut ChaCha20Rng, pt: &[u8]| {
        let inner = raw.encrypt(rng, pt).unwrap();
        blindrelay::envelope::seal(
            rng,
            &bundle.mailbox,
            &bundle.sealing_key,
            mallory.public(),
            &inner,
        )
        .unwrap()
        .to_bytes()
    };
    let framed = |record: &[u8], text: &[u8]| {
        [
            &[blindrelay_client::FRAME_MESSAGE_WITH_RECORD][..],
            record,
            text,
        ]
        .concat()
    };
    let eve = blindrelay::IdentityKeyPair::generate(&mut rng);
    let eves = IdentityRecord::create(&eve, [9; 32], &sealing).to_bytes();
    let mut forged = record.to_bytes();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    for (pt, kind) in [
        (vec![0x7f, 1, 2], Some(0x7f)),
        (vec![], None),
        (framed(&eves, b"not mine"), Some(0x02)),
        (framed(&forged, b"bad signature"), Some(0x02)),
        (framed(&record.to_bytes()[..100], b""), Some(0x02)),
    ] {
        let env = sealed(&mut rng, &pt);
        let o = bob.receive(&mut rng, &mut dir, &env).unwrap();
        assert_eq!(
            o,
            Outcome::Control {
                sender: *mallory.public(),
                kind
            }
        );
    }
    let env = sealed(&mut rng, &framed(&record.to_bytes(), b"with my record"));
    assert_eq!(
        delivered(&bob.receive(&mut rng, &mut dir, &env).unwrap()),
        b"with my record"
    );
}

/// The application can reset a session itself: the peer accepts the reset, and both go
/// on with the new session.
#[test]
fn an_application_reset_starts_a_new_session_the_peer_follows() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut dir = Directory::default();
    let (mut alice, mut bob) = pair(&mut rng, MemoryStore::new(), MemoryStore::new(), &mut dir);
    let e = alice.send(&mut rng, &mut dir, "bob", b"hello").unwrap();
    bob.receive(&mut rng, &mut dir, &e).unwrap();
    let reset = alice.reset(&mut rng, &mut dir, "bob").unwrap();
    assert_eq!(alice.session_count(bob.identity()).unwrap(), 2);
    assert!(matches!(
        bob.receive(&mut rng, &mut dir, &reset).unwrap(),
        Outcome::Control {
            kind: Some(0x01),
            ..
        }
    ));
    assert_eq!(bob.session_count(alice.identity()).unwrap(), 2);
    let e = bob
        .send(&mut rng, &mut dir, "alice", b"on the new session")
        .unwrap();
    let o = alice.receive(&mut rng, &mut dir, &e).unwrap();
    assert_eq!(delivered(&o), b"on the new session");
    let e = alice.send(&mut rng, &mut dir, "bob", b"and back").unwrap();
    assert_eq!(
        delivered(&bob.receive(&mut rng, &mut dir, &e).unwrap()),
        b"and back"
    );
    // A reset to an address whose identity changed is refused and writes nothing.
    let mallory = Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    let mut evil = Directory::default();
    evil.publish("bob", {
        let mut m = mallory;
        m.bundle().unwrap()
    });
    let before = alice.store().clone();
    assert_eq!(
        alice.reset(&mut rng, &mut evil, "bob").unwrap_err(),
        Error::IdentityChanged {
            address: "bob".into()
        }
    );
    assert!(alice.store() == &before);
}
