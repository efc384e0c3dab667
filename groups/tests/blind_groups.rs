//! Blind groups end to end against a relay that records everything (spec §15, §11.5):
//! joins, messages, updates, concurrent commits, removal, and what the relay saw.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use blindrelay::envelope::is_padded_len;
use blindrelay::group::{GroupEnvelope, GROUP_ENVELOPE_OVERHEAD};
use blindrelay::{Error, IdentityKeyPair};
use blindrelay_groups::{BlindGroup, Change, Member, Received};
use common::{Seen, TestRelay};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const NOW: u64 = 1_800_000_000;

struct Party {
    identity: IdentityKeyPair,
    member: Member,
}

fn party(rng: &mut ChaCha20Rng) -> Party {
    let identity = IdentityKeyPair::generate(rng);
    let member = Member::new(&identity, rng);
    Party { identity, member }
}

/// Alice's group with Bob in it, at epoch 1 (Alice's commit applied directly).
fn pair(seed: u64) -> (Party, Party, BlindGroup, BlindGroup) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (a, b) = (party(&mut rng), party(&mut rng));
    let mut ga = a.member.create_group(NOW).unwrap();
    let add = Change {
        add: vec![b.member.key_package(NOW).unwrap()],
        remove: vec![],
    };
    let out = ga.commit(&add, NOW).unwrap();
    ga.commit_accepted().unwrap();
    let gb = b.member.join(out.invite.as_ref().unwrap(), NOW).unwrap();
    (a, b, ga, gb)
}

/// Delivers everything in `group`'s current mailbox that it has not processed, in order.
fn drain(relay: &mut TestRelay, group: &mut BlindGroup, cursor: &mut usize) -> Vec<Received> {
    let mut out = Vec::new();
    loop {
        let envelopes = relay.fetch(&group.capability());
        let Some(env) = envelopes.get(*cursor) else {
            return out;
        };
        *cursor += 1;
        let before_epoch = group.epoch();
        let r = group
            .receive(env, NOW)
            .expect("a relayed envelope is accepted");
        let moved = group.epoch() != before_epoch;
        let done = matches!(r, Received::Removed);
        out.push(r);
        if moved {
            *cursor = 0;
        }
        if done {
            return out;
        }
    }
}

#[test]
fn a_group_lives_joins_talks_updates_and_removes() {
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let (a, b, c) = (party(&mut rng), party(&mut rng), party(&mut rng));
    let mut relay = TestRelay::default();
    let mut ga = a.member.create_group(NOW).unwrap();
    let mut cursor = [0usize; 3];

    // Alice adds Bob and Carol: the commit is ordered by the relay, the invite travels 1:1.
    let out = ga
        .commit(
            &Change {
                add: vec![
                    b.member.key_package(NOW).unwrap(),
                    c.member.key_package(NOW).unwrap(),
                ],
                remove: vec![],
            },
            NOW,
        )
        .unwrap();
    relay.commit(&out.request).unwrap();
    assert_eq!(
        drain(&mut relay, &mut ga, &mut cursor[0]),
        vec![Received::OwnCommit { epoch: 1 }]
    );
    let invite = out.invite.unwrap();
    let mut gb = b.member.join(&invite, NOW).unwrap();
    let mut gc = c.member.join(&invite, NOW).unwrap();
    assert_eq!(gb.epoch(), 1);
    assert_eq!(gb.mailbox(), ga.mailbox());
    assert_eq!(
        gc.epoch_authenticator().unwrap(),
        ga.epoch_authenticator().unwrap()
    );
    assert_eq!(
        ga.members(),
        vec![
            *a.identity.public(),
            *b.identity.public(),
            *c.identity.public()
        ]
    );

    // Bob talks; Alice and Carol learn it is Bob from his certified leaf.
    relay.deposit(&gb.send(b"hello group").unwrap()).unwrap();
    let expect = Received::Message {
        sender: *b.identity.public(),
        plaintext: b"hello group".to_vec(),
    };
    assert_eq!(
        drain(&mut relay, &mut ga, &mut cursor[0]),
        vec![expect.clone()]
    );
    assert_eq!(drain(&mut relay, &mut gc, &mut cursor[2]), vec![expect]);
    assert_eq!(
        drain(&mut relay, &mut gb, &mut cursor[1]),
        vec![Received::Own]
    );

    // Alice and Carol both update in epoch 1: the relay takes Alice's, refuses Carol's.
    let oa = ga.commit(&Change::default(), NOW).unwrap();
    let oc = gc.commit(&Change::default(), NOW).unwrap();
    relay.commit(&oa.request).unwrap();
    assert_eq!(relay.commit(&oc.request), Err(Error::CommitSlotTaken));
    gc.commit_refused();
    // The epoch is closed: a late message to it is refused, nothing stored.
    let late = gb.send(b"late").unwrap();
    assert_eq!(relay.deposit(&late), Err(Error::EpochClosed));
    for (g, cur) in [(&mut ga, 0), (&mut gb, 1), (&mut gc, 2)] {
        let got = drain(&mut relay, g, &mut cursor[cur]);
        assert!(matches!(
            got.last(),
            Some(Received::Commit { epoch: 2, .. } | Received::OwnCommit { epoch: 2 })
        ));
    }
    assert_eq!(ga.mailbox(), gc.mailbox());

    // Alice removes Carol.
    let carol_last_mailbox = gc.mailbox();
    let carol_last_keys_mailbox = gc.epoch_keys().mailbox();
    let out = ga
        .commit(
            &Change {
                add: vec![],
                remove: vec![*c.identity.public()],
            },
            NOW,
        )
        .unwrap();
    relay.commit(&out.request).unwrap();
    drain(&mut relay, &mut ga, &mut cursor[0]);
    drain(&mut relay, &mut gb, &mut cursor[1]);
    assert_eq!(
        drain(&mut relay, &mut gc, &mut cursor[2]),
        vec![Received::Removed]
    );
    assert_eq!(
        ga.members(),
        vec![*a.identity.public(), *b.identity.public()]
    );
    assert_eq!(ga.epoch(), 3);

    // Epoch 3: Carol knows neither the mailbox nor the key.
    let secret = gb.send(b"after carol").unwrap();
    relay.deposit(&secret).unwrap();
    let env = GroupEnvelope::parse(&secret).unwrap();
    assert_ne!(env.mailbox(), &carol_last_mailbox);
    assert_ne!(env.mailbox(), &carol_last_keys_mailbox);
    assert_eq!(gc.receive(&secret, NOW), Err(Error::GroupRemoved));
    // Her last epoch keys do not open it, nor does re-addressing it to her old mailbox.
    assert_eq!(gc.epoch_keys().open(&env), Err(Error::WrongMailbox));
    let readdressed =
        GroupEnvelope::from_parts(carol_last_mailbox, *env.nonce(), env.body().to_vec()).unwrap();
    assert_eq!(gc.epoch_keys().open(&readdressed), Err(Error::Decrypt));
    // Her old capability fetches only the old epoch's mailbox.
    assert_eq!(gc.capability().mailbox(), carol_last_mailbox);
    assert!(!relay.fetch(&gc.capability()).iter().any(|e| e == &secret));
    assert_eq!(
        drain(&mut relay, &mut ga, &mut cursor[0]),
        vec![Received::Message {
            sender: *b.identity.public(),
            plaintext: b"after carol".to_vec()
        }]
    );
}

/// The relay-view test (§11.5, §15.9): over a recorded session with joins, a removal and
/// updates, the relay was given no identity key, no MLS signature key, no group id, no
/// epoch number, one mailbox per epoch (never reused, never seen in another epoch) and
/// only padded lengths.
#[test]
fn the_relay_sees_one_mailbox_per_epoch_and_padded_lengths_only() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let parties: Vec<Party> = (0..5).map(|_| party(&mut rng)).collect();
    let mut relay = TestRelay::default();
    let mut groups: Vec<Option<BlindGroup>> = (0..5).map(|_| None).collect();
    groups[0] = Some(parties[0].member.create_group(NOW).unwrap());
    let mut cursors = [0usize; 5];
    let mut epoch_mailboxes: Vec<[u8; 32]> = vec![groups[0].as_ref().unwrap().mailbox()];
    let mut secrets: Vec<Vec<u8>> = Vec::new();

    let step = |groups: &mut Vec<Option<BlindGroup>>,
                relay: &mut TestRelay,
                committer: usize,
                change: Change,
                joiners: &[usize],
                epoch_mailboxes: &mut Vec<[u8; 32]>,
                cursors: &mut [usize; 5]| {
        let out = groups[committer]
            .as_mut()
            .unwrap()
            .commit(&change, NOW)
            .unwrap();
        relay.commit(&out.request).unwrap();
        for i in 0..5 {
            if let Some(g) = groups[i].as_mut() {
                let got = drain(relay, g, &mut cursors[i]);
                if got.last() == Some(&Received::Removed) {
                    groups[i] = None;
                }
            }
        }
        for &j in joiners {
            groups[j] = Some(
                parties[j]
                    .member
                    .join(out.invite.as_ref().unwrap(), NOW)
                    .unwrap(),
            );
            cursors[j] = 0;
        }
        epoch_mailboxes.push(groups[committer].as_ref().unwrap().mailbox());
    };
    let kp = |i: usize| parties[i].member.key_package(NOW).unwrap();
    step(
        &mut groups,
        &mut relay,
        0,
        Change {
            add: vec![kp(1), kp(2)],
            remove: vec![],
        },
        &[1, 2],
        &mut epoch_mailboxes,
        &mut cursors,
    );
    for (i, g) in groups.iter_mut().take(3).enumerate() {
        let g = g.as_mut().unwrap();
        relay
            .deposit(&g.send(format!("message {i}").as_bytes()).unwrap())
            .unwrap();
    }
    step(
        &mut groups,
        &mut relay,
        1,
        Change::default(),
        &[],
        &mut epoch_mailboxes,
        &mut cursors,
    );
    step(
        &mut groups,
        &mut relay,
        2,
        Change {
            add: vec![kp(3)],
            remove: vec![],
        },
        &[3],
        &mut epoch_mailboxes,
        &mut cursors,
    );
    relay
        .deposit(&groups[3].as_mut().unwrap().send(&[0x55; 3000]).unwrap())
        .unwrap();
    let removed = *parties[1].identity.public();
    step(
        &mut groups,
        &mut relay,
        0,
        Change {
            add: vec![kp(4)],
            remove: vec![removed],
        },
        &[4],
        &mut epoch_mailboxes,
        &mut cursors,
    );
    relay
        .deposit(
            &groups[4]
                .as_mut()
                .unwrap()
                .send(b"hi from the newest")
                .unwrap(),
        )
        .unwrap();
    step(
        &mut groups,
        &mut relay,
        3,
        Change::default(),
        &[],
        &mut epoch_mailboxes,
        &mut cursors,
    );
    assert!(groups[1].is_none(), "the removed member left");

    // What must never appear in anything the relay was given.
    let g0 = groups[0].as_ref().unwrap();
    for p in &parties {
        let id = p.identity.public().to_array();
        secrets.push(id[..32].to_vec());
        secrets.push(id[32..].to_vec());
    }
    for g in groups.iter().flatten() {
        secrets.extend(g.signature_keys());
    }
    secrets.push(g0.group_id().to_vec());
    for e in 0..=g0.epoch() {
        secrets.push(e.to_be_bytes().to_vec());
    }

    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let mut seen_mailboxes = Vec::new();
    for s in &relay.seen {
        let (bytes, envelope) = match s {
            Seen::Deposit(b) => (b.clone(), b.clone()),
            Seen::Commit(b) => (b.clone(), b[34..].to_vec()),
            Seen::Fetch(m) => {
                assert!(epoch_mailboxes.contains(m));
                continue;
            }
        };
        for secret in &secrets {
            assert!(
                !contains(&bytes, secret),
                "the relay saw a member or group secret"
            );
        }
        let env = GroupEnvelope::parse(&envelope).unwrap();
        assert!(is_padded_len(env.encoded_len() - GROUP_ENVELOPE_OVERHEAD));
        seen_mailboxes.push(*env.mailbox());
    }
    // One mailbox per epoch, all distinct, and every envelope went to one of them.
    let mut distinct = epoch_mailboxes.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), epoch_mailboxes.len());
    assert_eq!(epoch_mailboxes.len(), 6);
    assert!(seen_mailboxes.iter().all(|m| epoch_mailboxes.contains(m)));
}

/// A failed receive changes nothing (§15.7): tampered envelopes, another epoch's
/// envelope, garbage sealed under the right wrap key by an insider, and a blind message
/// whose MLS content does not authenticate.
#[test]
fn refused_envelopes_change_nothing() {
    let (a, _, mut ga, mut gb) = pair(99);
    let good = ga.send(b"payload").unwrap();
    let before = gb.snapshot().unwrap();

    let mut attempts: Vec<(Vec<u8>, Error)> = Vec::new();
    for at in [0usize, 1, 2, 40, 60, 62, 100, good.len() - 1] {
        let mut t = good.clone();
        t[at] ^= 0x01;
        let err = gb.receive(&t, NOW).unwrap_err();
        attempts.push((t, err));
    }
    // An insider seals garbage and a forged MLS body under the right wrap key.
    let keys = gb.epoch_keys();
    let mut r2 = ChaCha20Rng::seed_from_u64(1);
    let garbage = keys.seal(&[1, 28, 9, 9, 9], &mut r2).unwrap().to_bytes();
    let mut forged_inner = vec![1u8, 28];
    forged_inner.extend_from_slice(&[0u8; 200]);
    let forged = keys.seal(&forged_inner, &mut r2).unwrap().to_bytes();
    assert_eq!(gb.receive(&garbage, NOW), Err(Error::Truncated));
    assert_eq!(gb.receive(&forged, NOW), Err(Error::GroupRejected));
    assert!(
        gb.same_state(&before),
        "a refused envelope changed the state"
    );
    for (_, e) in &attempts {
        assert!(
            matches!(
                e,
                Error::UnknownVersion(_)
                    | Error::UnknownMessageType(_)
                    | Error::WrongMailbox
                    | Error::Decrypt
                    | Error::LengthOverMax { .. }
                    | Error::InvalidEncoding { .. }
                    | Error::Truncated
            ),
            "{e:?}"
        );
    }
    // The untouched envelope still reads, once.
    assert_eq!(
        gb.receive(&good, NOW).unwrap(),
        Received::Message {
            sender: *a.identity.public(),
            plaintext: b"payload".to_vec()
        }
    );
    assert!(!gb.same_state(&before));
    assert_eq!(gb.receive(&good, NOW), Err(Error::GroupRejected));
}

/// An insider's forged "commit" (a blind message of content type 3 under the right wrap
/// key) while this member's own commit is pending: refused, and the pending commit survives
/// to be applied when it comes back from the mailbox.
#[test]
fn a_forged_commit_does_not_cancel_a_pending_one() {
    let (_, _, mut ga, mut gb) = pair(5);
    let mut relay = TestRelay::default();
    let mut cursor = 0;
    let update = gb.commit(&Change::default(), NOW).unwrap();
    let before = gb.snapshot().unwrap();
    let mut forged = vec![3u8, 28];
    forged.extend_from_slice(&[7u8; 300]);
    let forged = gb
        .epoch_keys()
        .seal(&forged, &mut ChaCha20Rng::seed_from_u64(3))
        .unwrap()
        .to_bytes();
    assert_eq!(gb.receive(&forged, NOW), Err(Error::GroupRejected));
    assert!(gb.same_state(&before));
    assert!(gb.has_pending_commit());
    relay.commit(&update.request).unwrap();
    let mut cb = 0;
    assert_eq!(
        drain(&mut relay, &mut gb, &mut cb),
        vec![Received::OwnCommit { epoch: 2 }]
    );
    let got = drain(&mut relay, &mut ga, &mut cursor);
    assert!(
        matches!(got.last(), Some(Received::Commit { epoch: 2, .. })),
        "{got:?}"
    );
    assert_eq!(
        ga.epoch_authenticator().unwrap(),
        gb.epoch_authenticator().unwrap()
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Any flipped bit of an application envelope is refused and changes nothing; the
    /// untouched envelope then still reads.
    #[test]
    fn any_tampering_is_refused_and_changes_nothing(bit in 0usize..8 * 400) {
        let (_, _, mut ga, mut gb) = pair(11);
        let good = ga.send(b"a message").unwrap();
        let bit = bit % (good.len() * 8);
        let mut bad = good.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let before = gb.snapshot().unwrap();
        proptest::prop_assert!(gb.receive(&bad, NOW).is_err());
        proptest::prop_assert!(gb.same_state(&before));
        let got = gb.receive(&good, NOW);
        proptest::prop_assert!(matches!(got, Ok(Received::Message { .. })), "{:?}", got);
    }
}

/// A key package whose credential certifies another MLS key (a member forging its leaf)
/// is refused by MLS through the identity hook (§15.2): `GroupRejected`, and the
/// committer's state is as before, with no pending commit.
#[test]
fn a_leaf_whose_credential_certifies_another_key_is_refused() {
    let (_, _, mut ga, _) = pair(21);
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    let mallory = IdentityKeyPair::generate(&mut rng);
    let forged = Member::with_certifier(
        |_| blindrelay::group::certify_group_key(&mallory, &[9u8; 32]),
        &mut rng,
    );
    let kp = forged.key_package(NOW).unwrap();
    let before = ga.snapshot().unwrap();
    let change = Change {
        add: vec![kp],
        remove: vec![],
    };
    assert_eq!(ga.commit(&change, NOW).unwrap_err(), Error::GroupRejected);
    assert!(ga.same_state(&before));
    assert!(!ga.has_pending_commit());
}

/// A commit that does not fit one group envelope (§15.8) is refused with
/// `MessageTooLarge` and changes nothing; the same members fit in two commits.
#[test]
fn a_commit_too_large_for_one_envelope_changes_nothing() {
    let (_, _, mut ga, _) = pair(23);
    let mut rng = ChaCha20Rng::seed_from_u64(24);
    let kps: Vec<Vec<u8>> = (0..180)
        .map(|_| party(&mut rng).member.key_package(NOW).unwrap())
        .collect();
    let before = ga.snapshot().unwrap();
    let all = Change {
        add: kps.clone(),
        remove: vec![],
    };
    assert_eq!(ga.commit(&all, NOW).unwrap_err(), Error::MessageTooLarge);
    assert!(ga.same_state(&before));
    let half = Change {
        add: kps[..90].to_vec(),
        remove: vec![],
    };
    ga.commit(&half, NOW).unwrap();
    ga.commit_accepted().unwrap();
    assert_eq!(ga.members().len(), 2 + 90);
}
