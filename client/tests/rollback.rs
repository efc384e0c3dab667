//! Issue 15, defect 1 (the client half): random conversations with random delivery order,
//! duplicates and rollbacks of either side (session rows only, or the whole store) never
//! deliver a plaintext twice to one history, never reuse a nonce, and resume within one
//! round trip after the last rollback, with no user action.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use blindrelay::codec::{Decode, MessageType};
use blindrelay::envelope::{open, RelayEnvelope};
use blindrelay::keys::SealingKeySecret;
use blindrelay::wire::{InitialMessage, RatchetMessageRef};
use blindrelay::Envelope;
use blindrelay_client::{Client, MemoryStore, Outcome, PrekeyPolicy, Store, StoreTx};
use common::Directory;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::HashSet;

#[derive(Clone, Debug)]
enum Op {
    Send(usize),
    Deliver(usize),
    Duplicate(usize),
    Snapshot(usize),
    RollbackSessions(usize, usize),
    RollbackWhole(usize, usize),
    /// Eight days pass; the side runs its prekey upkeep (rotation, retirement, sealing-key
    /// rotation, pool refill) and publishes what changed.
    Maintain(usize),
}

fn op_with_upkeep() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => op(),
        1 => (0..2usize).prop_map(Op::Maintain),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize).prop_map(Op::Send),
        5 => any::<usize>().prop_map(Op::Deliver),
        1 => any::<usize>().prop_map(Op::Duplicate),
        2 => (0..2usize).prop_map(Op::Snapshot),
        1 => (0..2usize, any::<usize>()).prop_map(|(s, i)| Op::RollbackSessions(s, i)),
        1 => (0..2usize, any::<usize>()).prop_map(|(s, i)| Op::RollbackWhole(s, i)),
    ]
}

const NAMES: [&str; 2] = ["alice", "bob"];

struct Side {
    client: Client<MemoryStore>,
    history: Vec<Vec<u8>>,
    snapshots: Vec<(MemoryStore, Vec<Vec<u8>>)>,
}

struct World {
    rng: ChaCha20Rng,
    dir: Directory,
    sides: [Side; 2],
    /// In flight: (recipient, envelope).
    relay: Vec<(usize, Vec<u8>)>,
    header_nonces: HashSet<[u8; 24]>,
    body_nonces: HashSet<[u8; 24]>,
    sent: u64,
    resets: u64,
    /// One-time prekey pools, prekey upkeep and recovery after restores are exercised.
    upkeep: bool,
    now: u64,
    lost: u64,
}

const DAY: u64 = 86_400;

fn upkeep_policy() -> PrekeyPolicy {
    PrekeyPolicy {
        max_replays: 3,
        max_age: 7 * DAY,
        grace: 14 * DAY,
        ..PrekeyPolicy::default()
    }
}

impl World {
    fn new(seed: u64) -> Self {
        Self::with(seed, false)
    }

    fn with(seed: u64, upkeep: bool) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut dir = Directory::default();
        let mk = |rng: &mut ChaCha20Rng, dir: &mut Directory, name: &str| {
            let mut c = Client::create(rng, MemoryStore::new(), 0).unwrap();
            dir.publish(name, c.bundle().unwrap());
            Side {
                client: c,
                history: Vec::new(),
                snapshots: Vec::new(),
            }
        };
        let mut a = mk(&mut rng, &mut dir, NAMES[0]);
        let mut b = mk(&mut rng, &mut dir, NAMES[1]);
        if upkeep {
            for (name, side) in [(NAMES[0], &mut a), (NAMES[1], &mut b)] {
                let pool = side.client.generate_one_time_prekeys(&mut rng, 4).unwrap();
                dir.upload(name, pool);
            }
        }
        Self {
            rng,
            dir,
            sides: [a, b],
            relay: Vec::new(),
            header_nonces: HashSet::new(),
            body_nonces: HashSet::new(),
            sent: 0,
            resets: 0,
            upkeep,
            now: 0,
            lost: 0,
        }
    }

    /// Records the nonces of the ratchet message inside `envelope` (a pairwise envelope's
    /// own, or a sealed envelope's opened with the recipient's sealing key) and checks that
    /// none was used before.
    fn check_nonces(&mut self, to: usize, envelope: &[u8]) {
        if let RelayEnvelope::Pairwise(p) = RelayEnvelope::parse(envelope).unwrap() {
            let header_nonce: [u8; 24] = p.encrypted_header[..24].try_into().unwrap();
            assert!(
                self.header_nonces.insert(header_nonce),
                "header nonce reused"
            );
            assert!(self.body_nonces.insert(*p.body_nonce), "body nonce reused");
            return;
        }
        let local = self.sides[to]
            .client
            .store_mut()
            .transaction(|tx| tx.local())
            .unwrap()
            .unwrap();
        let env = Envelope::decode_exact(envelope).unwrap();
        // Sealed to the current key, or to the previous one during its grace period; an
        // envelope to an erased key opens nowhere (and is lost).
        let keys = std::iter::once(&local.sealing_secret)
            .chain(local.previous_sealing.as_ref().map(|(k, _)| k));
        let Some(opened) = keys
            .filter_map(|k| open(&SealingKeySecret::from_bytes(**k), &local.mailbox, &env).ok())
            .next()
        else {
            assert!(self.upkeep, "an envelope that does not open");
            return;
        };
        let ratchet = if opened.inner_type == MessageType::INITIAL_MESSAGE {
            InitialMessage::decode_exact(&opened.inner).unwrap().message
        } else {
            opened.inner
        };
        let m = RatchetMessageRef::parse(&ratchet).unwrap();
        let header_nonce: [u8; 24] = m.encrypted_header[..24].try_into().unwrap();
        assert!(
            self.header_nonces.insert(header_nonce),
            "header nonce reused"
        );
        assert!(self.body_nonces.insert(*m.body_nonce), "body nonce reused");
    }

    fn post(&mut self, to: usize, envelope: Vec<u8>) {
        self.check_nonces(to, &envelope);
        self.relay.push((to, envelope));
    }

    /// Whether the relay hands `envelope` to `to`: only from a mailbox the recipient
    /// fetches, its public mailbox or a pairwise mailbox in its `watched_mailboxes()`.
    /// Envelopes in other mailboxes stay at the relay (and are delivered if the mailbox
    /// is watched again later).
    fn fetchable(&mut self, to: usize, envelope: &[u8]) -> bool {
        let mailbox = *RelayEnvelope::parse(envelope).unwrap().mailbox();
        let client = &mut self.sides[to].client;
        mailbox == *client.mailbox()
            || client
                .watched_mailboxes()
                .unwrap()
                .iter()
                .any(|c| c.mailbox() == mailbox)
    }

    fn send(&mut self, from: usize, text: &str) {
        if std::env::var_os("ROLLBACK_TRACE").is_some() {
            eprintln!("  {} sends {text:?}", NAMES[from]);
        }
        let to = 1 - from;
        let env = self.sides[from]
            .client
            .send(&mut self.rng, &mut self.dir, NAMES[to], text.as_bytes())
            .unwrap();
        self.post(to, env);
    }

    fn deliver(&mut self, to: usize, envelope: &[u8]) {
        let side = &mut self.sides[to];
        let result = side.client.receive(&mut self.rng, &mut self.dir, envelope);
        if std::env::var_os("ROLLBACK_TRACE").is_some() {
            eprintln!("  {} <- {:?}", NAMES[to], result);
        }
        match result {
            Ok(Outcome::Delivered(r)) => {
                assert!(
                    !side.history.contains(&r.plaintext),
                    "{} got {:?} twice",
                    NAMES[to],
                    String::from_utf8_lossy(&r.plaintext)
                );
                side.history.push(r.plaintext);
            }
            Ok(Outcome::Undecryptable {
                reset: Some(reset), ..
            }) => {
                self.resets += 1;
                self.post(1 - to, reset);
            }
            Ok(_) => {}
            // With upkeep, envelopes to an erased sealing key and first messages to
            // retired prekeys are lost by design (spec §8.12, §6.5).
            Err(_) if self.upkeep => self.lost += 1,
            Err(e) => panic!("{} failed to receive: {e}", NAMES[to]),
        }
    }

    fn apply(&mut self, op: &Op) {
        if std::env::var_os("ROLLBACK_TRACE").is_some() {
            eprintln!("{op:?} (in flight: {})", self.relay.len());
        }
        match *op {
            Op::Send(from) => {
                self.sent += 1;
                let text = format!("{}-{}", NAMES[from], self.sent);
                self.send(from, &text);
            }
            Op::Deliver(i) | Op::Duplicate(i) => {
                if self.relay.is_empty() {
                    return;
                }
                let k = i % self.relay.len();
                let (to, env) = self.relay[k].clone();
                if !self.fetchable(to, &env) {
                    return;
                }
                let (to, env) = if matches!(op, Op::Deliver(_)) {
                    self.relay.remove(k)
                } else {
                    self.relay[k].clone()
                };
                self.deliver(to, &env);
            }
            Op::Snapshot(s) => {
                let side = &mut self.sides[s];
                let snap = (side.client.store().clone(), side.history.clone());
                side.snapshots.push(snap);
            }
            Op::RollbackSessions(s, i) => {
                let side = &mut self.sides[s];
                if side.snapshots.is_empty() {
                    return;
                }
                let k = i % side.snapshots.len();
                let old = side.snapshots[k].0.clone();
                side.client.store_mut().restore_sessions_from(&old);
            }
            Op::RollbackWhole(s, i) => {
                let side = &mut self.sides[s];
                if side.snapshots.is_empty() {
                    return;
                }
                let k = i % side.snapshots.len();
                let (store, history) = side.snapshots[k].clone();
                side.client = Client::open(store).unwrap();
                side.history = history;
                if self.upkeep {
                    // What an application does after restoring a backup.
                    side.client
                        .recover_after_restore(&mut self.rng, &mut self.dir, self.now)
                        .unwrap();
                    self.dir.publish(NAMES[s], side.client.bundle().unwrap());
                    self.dir.clear_pool(NAMES[s]);
                    let pool = side
                        .client
                        .generate_one_time_prekeys(&mut self.rng, 3)
                        .unwrap();
                    self.dir.upload(NAMES[s], pool);
                }
            }
            Op::Maintain(s) => {
                self.now += 8 * DAY;
                let side = &mut self.sides[s];
                let m = side
                    .client
                    .maintain_prekeys(&mut self.rng, self.now, &upkeep_policy())
                    .unwrap();
                if m.rotated.is_some() || m.sealing_rotated {
                    self.dir.publish(NAMES[s], side.client.bundle().unwrap());
                }
                side.client.refresh_routes(&mut self.dir).unwrap();
                if side.client.needs_refill(2).unwrap() {
                    let pool = side
                        .client
                        .generate_one_time_prekeys(&mut self.rng, 3)
                        .unwrap();
                    self.dir.upload(NAMES[s], pool);
                }
            }
        }
    }

    /// Delivers everything in flight that its recipient fetches, first in first out, until
    /// nothing fetchable is left (envelopes in mailboxes nobody watches stay at the relay).
    fn settle(&mut self) {
        for _ in 0..64 {
            let next = (0..self.relay.len()).find(|&k| {
                let (to, env) = self.relay[k].clone();
                self.fetchable(to, &env)
            });
            let Some(k) = next else {
                return;
            };
            let (to, env) = self.relay.remove(k);
            self.deliver(to, &env);
        }
        panic!("delivery did not settle: a reset storm");
    }
}

fn run(seed: u64, ops: &[Op]) {
    run_with(seed, ops, false);
}

fn run_with(seed: u64, ops: &[Op], upkeep: bool) {
    let mut w = World::with(seed, upkeep);
    // Both sides know each other before the first snapshot.
    w.send(0, "hello bob");
    w.settle();
    w.send(1, "hello alice");
    w.settle();
    for op in ops {
        w.apply(op);
    }
    // After the last rollback: everything in flight is delivered, then each side sends
    // `PROBE_FIRST` messages without an answer, the last of which is a probe sealed to the
    // other's public mailbox (spec §8.17): a desynchronised session fails to decrypt it
    // and resets, with no user action. Then each side's next message must arrive.
    w.settle();
    for (s, name) in NAMES.iter().enumerate() {
        for i in 0..blindrelay::session::PROBE_FIRST {
            w.send(s, &format!("probe {i} from {name}"));
            w.settle();
        }
    }
    w.settle();
    w.send(0, "final from alice");
    w.settle();
    w.send(1, "final from bob");
    w.settle();
    assert!(
        w.sides[1].history.contains(&b"final from alice".to_vec()),
        "bob did not get alice's final message"
    );
    assert!(
        w.sides[0].history.contains(&b"final from bob".to_vec()),
        "alice did not get bob's final message"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES overrides, for longer runs.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        max_shrink_iters: 2000,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    /// The same, with one-time prekey pools, signed-prekey and sealing-key rotation and
    /// retirement as time passes, and `recover_after_restore` after every whole-store
    /// restore (as an application does after restoring a backup).
    #[test]
    fn conversations_with_prekey_upkeep_survive_random_rollbacks(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op_with_upkeep(), 1..48),
    ) {
        run_with(seed, &ops, true);
    }

    #[test]
    fn conversations_survive_random_rollbacks(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..48),
    ) {
        run(seed, &ops);
    }
}

/// The reproduction: Alice's session is saved, she sends the first message after
/// a change of direction (a DH step), it is delivered, and the saved state is restored.
/// The conversation resumes within one round trip.
#[test]
fn rollback_across_a_dh_step_heals_within_one_round_trip() {
    for whole in [false, true] {
        let mut w = World::new(7);
        w.send(0, "hello bob");
        w.settle();
        w.send(1, "hello alice");
        w.settle();
        w.apply(&Op::Snapshot(0));
        w.send(0, "after the DH step");
        w.settle();
        w.apply(&if whole {
            Op::RollbackWhole(0, 0)
        } else {
            Op::RollbackSessions(0, 0)
        });
        w.send(0, "forked");
        w.settle();
        w.send(1, "probe");
        w.settle();
        w.send(0, "final from alice");
        w.send(1, "final from bob");
        w.settle();
        assert!(w.sides[1].history.contains(&b"final from alice".to_vec()));
        assert!(w.sides[0].history.contains(&b"final from bob".to_vec()));
        // Session rows only: Alice sees her rows are below the high-water mark and starts
        // a fresh session herself. Whole store: Bob cannot decrypt the forked message and
        // resets, once.
        assert_eq!(w.resets, u64::from(whole), "whole store: {whole}");
    }
}

/// The property test's first counterexample (before epochs advanced by random steps and
/// before a `Duplicate` of unknown bytes counted as a desync): Alice's whole store is
/// restored to an early snapshot, she resets, and then her session rows are restored from
/// a snapshot of the abandoned timeline that carried the same epoch as her new mark.
#[test]
fn regression_session_rows_from_an_abandoned_timeline() {
    use Op::*;
    run(
        0,
        &[
            Snapshot(0),
            Send(0),
            Snapshot(0),
            Deliver(0),
            Send(1),
            Deliver(0),
            Send(0),
            Deliver(0),
            Send(1),
            RollbackWhole(0, 0),
            Deliver(0),
            RollbackSessions(0, 1),
        ],
    );
}

#[test]
fn regression_upkeep_1() {
    use Op::*;
    run_with(
        0,
        &[
            Snapshot(0),
            Send(0),
            Send(0),
            Maintain(0),
            Send(1),
            Duplicate(6929396412699836082),
            Maintain(0),
            Duplicate(11252281855671991032),
            Snapshot(1),
            RollbackSessions(0, 0),
            Deliver(289144073092362009),
            Maintain(0),
            Maintain(1),
            Deliver(181940240970987811),
            RollbackWhole(1, 0),
        ],
        true,
    );
}

#[test]
fn regression_upkeep_2() {
    use Op::*;
    run_with(
        0,
        &[
            Deliver(0),
            Snapshot(1),
            Send(0),
            Deliver(0),
            Send(1),
            RollbackWhole(1, 0),
            Deliver(0),
            Send(0),
            Send(1),
            Send(0),
            Send(0),
            Send(0),
            Deliver(7064382717773901781),
            Send(0),
            Send(0),
            Snapshot(0),
            RollbackWhole(1, 0),
            Deliver(0),
            RollbackWhole(0, 0),
        ],
        true,
    );
}

#[test]
fn regression_upkeep_3() {
    use Op::*;
    run_with(
        0,
        &[
            Maintain(0),
            Maintain(0),
            Maintain(0),
            Snapshot(1),
            Maintain(0),
            Send(0),
            Maintain(1),
            Deliver(0),
            Send(1),
            Maintain(0),
            RollbackWhole(1, 0),
        ],
        true,
    );
}

/// Both sides rotate and erase their sealing keys while neither writes.
#[test]
fn regression_upkeep_4_mutual_silence() {
    use Op::*;
    run_with(
        0,
        &[
            Maintain(0),
            Maintain(0),
            Maintain(0),
            Maintain(0),
            Maintain(1),
            Maintain(0),
            Maintain(1),
        ],
        true,
    );
}

#[test]
fn regression_upkeep_5() {
    use Op::*;
    run_with(
        0,
        &[
            Maintain(0),
            Send(0),
            Duplicate(0),
            Maintain(0),
            Duplicate(0),
            Send(0),
            Send(0),
            Send(0),
            Send(0),
            Snapshot(0),
            Send(0),
            Maintain(0),
            Send(0),
            Send(0),
            Send(1),
            Maintain(0),
            Send(0),
            RollbackWhole(0, 0),
        ],
        true,
    );
}

#[test]
fn regression_upkeep_6() {
    use Op::*;
    run_with(
        0,
        &[
            Snapshot(0),
            Send(0),
            Send(0),
            Send(0),
            RollbackWhole(0, 0),
            Send(0),
            Send(0),
            Deliver(3616016970949260853),
            Send(0),
            Send(0),
            RollbackWhole(0, 0),
        ],
        true,
    );
}

#[test]
fn regression_upkeep_7() {
    use Op::*;
    run_with(
        0,
        &[
            Deliver(0),
            Snapshot(0),
            Deliver(0),
            Send(0),
            Send(0),
            RollbackWhole(0, 0),
            Send(0),
            Send(0),
            RollbackSessions(0, 0),
            Deliver(2251347420473029486),
            Send(0),
            RollbackWhole(0, 0),
            Send(1),
            Send(1),
        ],
        true,
    );
}

/// Found with pairwise routing, before the mailbox index kept the mailboxes of dropped and
/// forgotten sessions: both sides restored whole stores, and each wrote pairwise envelopes
/// the other could not attribute to anyone.
#[test]
fn regression_pairwise_1() {
    use Op::*;
    run(
        0,
        &[
            Snapshot(1),
            Send(0),
            Deliver(0),
            Send(0),
            Send(1),
            Deliver(954863333607384907),
            Snapshot(0),
            RollbackWhole(1, 0),
            Send(1),
            Deliver(6845931220765191978),
            RollbackWhole(1, 0),
            Deliver(0),
            RollbackWhole(0, 0),
            Deliver(0),
            Send(0),
        ],
    );
}

/// Found with pairwise routing (with upkeep): as `regression_pairwise_1`.
#[test]
fn regression_pairwise_2_upkeep() {
    use Op::*;
    run_with(
        0,
        &[
            Snapshot(1),
            Send(0),
            Deliver(0),
            Send(1),
            Deliver(0),
            RollbackWhole(1, 0),
            Snapshot(0),
            Send(1),
            Deliver(0),
            Deliver(0),
            RollbackWhole(0, 0),
        ],
        true,
    );
}
