//! Pairwise mailboxes (issue 16) in the client: first flights go to the public mailbox,
//! everything else as pairwise envelopes to mailboxes the receiver watches; replies need
//! no bundle; the mailbox index survives restarts and schema migration; reinstalls fall
//! back to the public mailbox; unknown mailboxes write nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use blindrelay::envelope::RelayEnvelope;
use blindrelay::PrekeyBundle;
use blindrelay_client::{Client, Error, MemoryStore, Outcome, SqliteStore, Store};
use common::{Directory, TempDb};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const SEALED: u8 = 0x04;
const PAIRWISE: u8 = 0x08;

fn delivered(o: &Outcome) -> &[u8] {
    match o {
        Outcome::Delivered(r) => &r.plaintext,
        other => panic!("expected a delivery, got {other:?}"),
    }
}

fn kind(envelope: &[u8]) -> u8 {
    envelope[1]
}

fn mailbox(envelope: &[u8]) -> [u8; 32] {
    *RelayEnvelope::parse(envelope).unwrap().mailbox()
}

fn watched<S: Store>(c: &mut Client<S>) -> Vec<[u8; 32]> {
    c.watched_mailboxes()
        .unwrap()
        .iter()
        .map(blindrelay::route::ReadCapability::mailbox)
        .collect()
}

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
        let pool = c.generate_one_time_prekeys(rng, 2).unwrap();
        dir.upload(name, pool);
    }
    (alice, bob)
}

/// Hands `envelope` to `to` the way a relay does: only if it is addressed to a mailbox
/// the recipient watches.
fn fetch_and_receive<S: Store>(
    rng: &mut ChaCha20Rng,
    dir: &mut Directory,
    to: &mut Client<S>,
    envelope: &[u8],
) -> Outcome {
    assert!(
        watched(to).contains(&mailbox(envelope)),
        "the envelope's mailbox is not watched by its recipient"
    );
    to.receive(rng, dir, envelope).unwrap()
}

#[test]
fn public_mailbox_comes_from_a_capability_and_is_watched() {
    let mut rng = ChaCha20Rng::seed_from_u64(20);
    let mut alice = Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    let cap = alice.public_capability().expect("a capability");
    assert_eq!(cap.mailbox(), *alice.mailbox());
    assert!(blindrelay::route::verify_read_capability(
        alice.mailbox(),
        &cap.to_bytes()
    ));
    assert_eq!(alice.bundle().unwrap().mailbox, *alice.mailbox());
    // Before any session, only the public mailbox.
    assert_eq!(watched(&mut alice), vec![*alice.mailbox()]);
}

/// (a) The first flight goes sealed to the public mailbox; from the reply on, every
/// message is a pairwise envelope to a mailbox the receiver watches (never its public
/// one), and the mailboxes rotate when the direction changes.
#[test]
fn after_the_first_flight_messages_are_pairwise_and_rotate() {
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let mut dir = Directory::default();
    let (mut alice, mut bob) = pair(&mut rng, MemoryStore::new(), MemoryStore::new(), &mut dir);
    let first: Vec<Vec<u8>> = (0..2)
        .map(|i| {
            alice
                .send(&mut rng, &mut dir, "bob", format!("first {i}").as_bytes())
                .unwrap()
        })
        .collect();
    for e in &first {
        assert_eq!(kind(e), SEALED);
        assert_eq!(mailbox(e), *bob.mailbox());
        fetch_and_receive(&mut rng, &mut dir, &mut bob, e);
    }
    // Alice's pending session already watches where Bob will reply.
    let alice_watched = watched(&mut alice);
    assert!(alice_watched.len() > 1);

    let mut previous: Option<[u8; 32]> = None;
    let mut used = Vec::new();
    for round in 0..4 {
        let (from, to) = if round % 2 == 0 {
            (&mut bob, &mut alice)
        } else {
            (&mut alice, &mut bob)
        };
        let to_address = if round % 2 == 0 { "alice" } else { "bob" };
        let envs: Vec<Vec<u8>> = (0..3)
            .map(|i| {
                from.send(
                    &mut rng,
                    &mut dir,
                    to_address,
                    format!("{round}.{i}").as_bytes(),
                )
                .unwrap()
            })
            .collect();
        let m = mailbox(&envs[0]);
        for (i, e) in envs.iter().enumerate() {
            assert_eq!(kind(e), PAIRWISE, "round {round}");
            assert_ne!(mailbox(e), *to.mailbox(), "never the public mailbox");
            // One chain, one mailbox: no rotation within a direction.
            assert_eq!(mailbox(e), m);
            let o = fetch_and_receive(&mut rng, &mut dir, to, e);
            assert_eq!(delivered(&o), format!("{round}.{i}").as_bytes());
            if let Outcome::Delivered(r) = &o {
                assert!(!r.new_session && r.position.is_some());
            }
            // A re-delivery is a duplicate, writing nothing.
            assert!(matches!(
                to.receive(&mut rng, &mut dir, e).unwrap(),
                Outcome::Duplicate { .. }
            ));
        }
        // Each change of direction rotates the mailbox.
        assert_ne!(Some(m), previous);
        assert!(!used.contains(&m), "a mailbox is never reused");
        used.push(m);
        previous = Some(m);
    }
}

/// (b) The responder replies without ever fetching the initiator's bundle: its source
/// knows nothing of "alice", and `send_to` the sender's identity goes pairwise.
#[test]
fn a_reply_needs_no_bundle_of_the_initiator() {
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    let mut dir = Directory::default();
    let (mut alice, mut bob) = pair(&mut rng, MemoryStore::new(), MemoryStore::new(), &mut dir);
    let mut nothing_of_alice = |address: &str| -> Option<PrekeyBundle> {
        assert_ne!(
            address, "alice",
            "the responder fetched the initiator's bundle"
        );
        None
    };
    let e = alice.send(&mut rng, &mut dir, "bob", b"hello").unwrap();
    let o = bob.receive(&mut rng, &mut nothing_of_alice, &e).unwrap();
    let Outcome::Delivered(r) = o else {
        panic!("{o:?}")
    };
    assert_eq!(r.address, None);
    let reply = bob
        .send_to(&mut rng, &mut nothing_of_alice, &r.sender, b"hi, no lookup")
        .unwrap();
    assert_eq!(kind(&reply), PAIRWISE);
    assert_eq!(
        delivered(&fetch_and_receive(&mut rng, &mut dir, &mut alice, &reply)),
        b"hi, no lookup"
    );
    // Alice's session is now established: her next message goes pairwise too, and Bob
    // opens it without any lookup.
    let e = alice.send(&mut rng, &mut dir, "bob", b"and back").unwrap();
    assert_eq!(kind(&e), PAIRWISE);
    assert!(watched(&mut bob).contains(&mailbox(&e)));
    assert_eq!(
        delivered(&bob.receive(&mut rng, &mut nothing_of_alice, &e).unwrap()),
        b"and back"
    );
    // An identity this client never heard of is refused, writing nothing.
    let stranger = Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    let before = bob.store().clone();
    assert_eq!(
        bob.send_to(&mut rng, &mut dir, stranger.identity(), b"?")
            .unwrap_err(),
        Error::UnknownPeer
    );
    assert!(bob.store() == &before);
}

/// (c) Both SQLite clients are closed and reopened between messages: the mailbox index
/// and the watched set survive, and the conversation goes on across direction changes.
#[test]
fn the_mailbox_index_survives_restarts() {
    let mut rng = ChaCha20Rng::seed_from_u64(23);
    let mut dir = Directory::default();
    let (da, db) = (TempDb::new("mb-a"), TempDb::new("mb-b"));
    let (alice, bob) = pair(
        &mut rng,
        SqliteStore::open(&da.0).unwrap(),
        SqliteStore::open(&db.0).unwrap(),
        &mut dir,
    );
    let (mut alice, mut bob) = (Some(alice), Some(bob));
    let reopen = |c: &mut Option<Client<SqliteStore>>, path: &std::path::Path| {
        let mut old = c.take().unwrap();
        let before = watched(&mut old);
        drop(old);
        let mut new = Client::open(SqliteStore::open(path).unwrap()).unwrap();
        assert_eq!(watched(&mut new), before);
        *c = Some(new);
    };
    for i in 0..8 {
        let alice_sends = i % 3 != 2;
        let (from, to_address) = if alice_sends {
            (alice.as_mut().unwrap(), "bob")
        } else {
            (bob.as_mut().unwrap(), "alice")
        };
        let e = from
            .send(&mut rng, &mut dir, to_address, format!("m{i}").as_bytes())
            .unwrap();
        assert_eq!(kind(&e) == PAIRWISE, i > 0 && !(alice_sends && i == 1));
        reopen(&mut alice, &da.0);
        reopen(&mut bob, &db.0);
        let to = if alice_sends {
            bob.as_mut().unwrap()
        } else {
            alice.as_mut().unwrap()
        };
        assert_eq!(
            delivered(&fetch_and_receive(&mut rng, &mut dir, to, &e)),
            format!("m{i}").as_bytes()
        );
    }
}

/// A file written by schema 1 (no capability, no mailbox index) opens: the index is
/// rebuilt from the sessions, pairwise envelopes route, and the old random mailbox stays
/// published without a capability.
#[test]
fn a_schema_1_file_migrates_and_the_index_is_rebuilt() {
    let mut rng = ChaCha20Rng::seed_from_u64(24);
    let mut dir = Directory::default();
    let (da, db) = (TempDb::new("mig-a"), TempDb::new("mig-b"));
    let (mut alice, mut bob) = pair(
        &mut rng,
        SqliteStore::open(&da.0).unwrap(),
        SqliteStore::open(&db.0).unwrap(),
        &mut dir,
    );
    let e = alice.send(&mut rng, &mut dir, "bob", b"hello").unwrap();
    bob.receive(&mut rng, &mut dir, &e).unwrap();
    let public = *bob.mailbox();
    let watched_before = watched(&mut bob);
    drop(bob);
    // Turn Bob's file back into schema 1.
    {
        let conn = rusqlite::Connection::open(&db.0).unwrap();
        conn.execute_batch(
            "DROP TABLE discovery; DROP TABLE ch2_ids; DROP TABLE mailboxes; \
             ALTER TABLE local DROP COLUMN public_capability; PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let mut bob = Client::open(SqliteStore::open(&db.0).unwrap()).unwrap();
    assert!(bob.public_capability().is_none());
    assert_eq!(*bob.mailbox(), public);
    let mut after: Vec<[u8; 32]> = watched(&mut bob);
    after.insert(0, public);
    assert_eq!(after, watched_before);
    let reply = bob.send(&mut rng, &mut dir, "alice", b"hi").unwrap();
    alice.receive(&mut rng, &mut dir, &reply).unwrap();
    let e = alice.send(&mut rng, &mut dir, "bob", b"pairwise").unwrap();
    assert_eq!(kind(&e), PAIRWISE);
    assert_eq!(
        delivered(&fetch_and_receive(&mut rng, &mut dir, &mut bob, &e)),
        b"pairwise"
    );
}

/// (d) Bob reinstalls (a new identity under the same address). Alice's pairwise
/// messages go to the old Bob's mailboxes, which the new Bob does not watch; a new
/// handshake from either side goes through the public mailbox, and the conversation
/// resumes pairwise on the new session.
#[test]
fn a_reinstalled_peer_is_reached_through_the_public_mailbox() {
    let mut rng = ChaCha20Rng::seed_from_u64(25);
    let mut dir = Directory::default();
    let (mut alice, mut bob) = pair(&mut rng, MemoryStore::new(), MemoryStore::new(), &mut dir);
    let e = alice.send(&mut rng, &mut dir, "bob", b"hello").unwrap();
    bob.receive(&mut rng, &mut dir, &e).unwrap();
    let e = bob.send(&mut rng, &mut dir, "alice", b"hi").unwrap();
    alice.receive(&mut rng, &mut dir, &e).unwrap();

    // Case 1: Alice learns of the new identity and trusts it before any message.
    let mut bob2 = Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    dir.publish("bob", bob2.bundle().unwrap());
    dir.clear_pool("bob");
    let lost = alice
        .send(&mut rng, &mut dir, "bob", b"to the old bob")
        .unwrap();
    assert_eq!(kind(&lost), PAIRWISE);
    assert!(!watched(&mut bob2).contains(&mailbox(&lost)));
    assert_eq!(
        alice.trust_new_identity(&mut dir, "bob").unwrap(),
        *bob2.identity()
    );
    let e = alice
        .send(&mut rng, &mut dir, "bob", b"hello new bob")
        .unwrap();
    assert_eq!(kind(&e), SEALED);
    assert_eq!(mailbox(&e), *bob2.mailbox());
    let o = fetch_and_receive(&mut rng, &mut dir, &mut bob2, &e);
    assert_eq!(delivered(&o), b"hello new bob");
    let e = bob2.send(&mut rng, &mut dir, "alice", b"hi again").unwrap();
    assert_eq!(kind(&e), PAIRWISE);
    assert_eq!(
        delivered(&fetch_and_receive(&mut rng, &mut dir, &mut alice, &e)),
        b"hi again"
    );

    // Case 2: Bob reinstalls again and writes first: his first message reaches Alice's
    // public mailbox; after she trusts the identity, her reply is pairwise.
    let mut bob3 = Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    dir.publish("bob", bob3.bundle().unwrap());
    let e = bob3
        .send(&mut rng, &mut dir, "alice", b"it's me, bob")
        .unwrap();
    assert_eq!(kind(&e), SEALED);
    assert_eq!(mailbox(&e), *alice.mailbox());
    let o = fetch_and_receive(&mut rng, &mut dir, &mut alice, &e);
    let Outcome::Delivered(r) = &o else {
        panic!("{o:?}")
    };
    assert!(r.new_session && r.sender == *bob3.identity() && r.address.is_none());
    alice.trust_new_identity(&mut dir, "bob").unwrap();
    let e = alice
        .send(&mut rng, &mut dir, "bob", b"welcome back")
        .unwrap();
    assert_eq!(kind(&e), PAIRWISE);
    assert_eq!(
        delivered(&fetch_and_receive(&mut rng, &mut dir, &mut bob3, &e)),
        b"welcome back"
    );
}

/// (e) A pairwise envelope to a mailbox no session of this client watches is refused
/// with `WrongMailbox`, and nothing is written.
#[test]
fn a_pairwise_envelope_to_an_unknown_mailbox_writes_nothing() {
    let mut rng = ChaCha20Rng::seed_from_u64(26);
    let mut dir = Directory::default();
    let (db, dc, dd) = (
        TempDb::new("unk-b"),
        TempDb::new("unk-c"),
        TempDb::new("unk-d"),
    );
    let mut bob = Client::create(&mut rng, SqliteStore::open(&db.0).unwrap(), 0).unwrap();
    let mut carol = Client::create(&mut rng, SqliteStore::open(&dc.0).unwrap(), 0).unwrap();
    let mut dave = Client::create(&mut rng, SqliteStore::open(&dd.0).unwrap(), 0).unwrap();
    dir.publish("bob", bob.bundle().unwrap());
    dir.publish("carol", carol.bundle().unwrap());
    dir.publish("dave", dave.bundle().unwrap());
    // Bob has a session with Carol, so his index is not empty.
    let e = carol.send(&mut rng, &mut dir, "bob", b"hi bob").unwrap();
    bob.receive(&mut rng, &mut dir, &e).unwrap();
    // A pairwise envelope of Carol and Dave's session.
    let e = carol.send(&mut rng, &mut dir, "dave", b"hello").unwrap();
    dave.receive(&mut rng, &mut dir, &e).unwrap();
    let foreign = dave
        .send(&mut rng, &mut dir, "carol", b"for carol")
        .unwrap();
    assert_eq!(kind(&foreign), PAIRWISE);
    let dump = bob.store().dump().unwrap();
    assert_eq!(
        bob.receive(&mut rng, &mut dir, &foreign).unwrap_err(),
        Error::Protocol(blindrelay::Error::WrongMailbox)
    );
    assert_eq!(bob.store().dump().unwrap(), dump);
}
