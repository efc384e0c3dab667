//! Two clients over SQLite files, killed at random points between (and in the middle of)
//! protocol steps and reopened from the same files: nothing acknowledged is lost, nothing
//! is delivered twice, and every session resumes. Deterministic seeds, no timing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use blindrelay_client::{Client, Outcome, PrekeyPolicy, SqliteStore, StoreTx};
use common::{Directory, TempDb};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

const NAMES: [&str; 2] = ["alice", "bob"];

struct Side {
    db: TempDb,
    client: Option<Client<SqliteStore>>,
    /// What the application was given (receives that returned), in order.
    history: Vec<Vec<u8>>,
    restarts: u32,
}

impl Side {
    fn client(&mut self) -> &mut Client<SqliteStore> {
        if self.client.is_none() {
            let store = SqliteStore::open(&self.db.0).unwrap();
            self.client = Some(Client::open(store).unwrap());
            self.restarts += 1;
        }
        self.client.as_mut().unwrap()
    }
    /// The process dies: the client and its connection are dropped.
    fn kill(&mut self) {
        self.client = None;
    }
}

fn run(seed: u64, steps: usize) -> (u32, u32, u32) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut dir = Directory::default();
    let mut sides: Vec<Side> = NAMES
        .iter()
        .map(|name| {
            let db = TempDb::new(&format!("crash-{seed}-{name}"));
            let mut c = Client::create(&mut rng, SqliteStore::open(&db.0).unwrap(), 0).unwrap();
            dir.publish(name, c.bundle().unwrap());
            let pool = c.generate_one_time_prekeys(&mut rng, 4).unwrap();
            dir.upload(name, pool);
            Side {
                db,
                client: Some(c),
                history: Vec::new(),
                restarts: 0,
            }
        })
        .collect();
    // The relay's queue: an envelope stays until the recipient acknowledges it, which it
    // does after `receive` returned (at-least-once delivery).
    let mut queue: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut sent: Vec<(usize, Vec<u8>)> = Vec::new();
    // Prekey upkeep between steps: rotations and retirements happen, but nothing queued
    // outlives a grace period (the test's clock covers less than ten days).
    let hour = 3600;
    let policy = PrekeyPolicy {
        max_replays: 2,
        max_age: 24 * hour,
        grace: 10 * 24 * hour,
        sealing_max_age: 24 * hour,
        sealing_grace: 10 * 24 * hour,
    };
    let mut now = 0u64;
    let mut rotations = 0u32;

    let deliver = |sides: &mut Vec<Side>,
                   queue: &mut Vec<(usize, Vec<u8>)>,
                   rng: &mut ChaCha20Rng,
                   dir: &mut Directory,
                   k: usize,
                   ack: bool| {
        let (to, env) = queue[k].clone();
        let side = &mut sides[to];
        match side.client().receive(rng, dir, &env).unwrap() {
            Outcome::Delivered(r) => {
                assert!(
                    !side.history.contains(&r.plaintext),
                    "delivered twice: {:?}",
                    String::from_utf8_lossy(&r.plaintext)
                );
                side.history.push(r.plaintext);
            }
            Outcome::Duplicate { .. } => {}
            other => panic!("{} could not receive: {other:?}", NAMES[to]),
        }
        if ack {
            queue.remove(k);
        }
    };

    for step in 0..steps {
        let r = rng.next_u32() % 100;
        let s = usize::from(rng.next_u32() % 2 == 1);
        match r {
            0..=29 => {
                let text = format!("{}-{step}", NAMES[s]).into_bytes();
                let env = sides[s]
                    .client()
                    .send(&mut rng, &mut dir, NAMES[1 - s], &text)
                    .unwrap();
                // The send returned: the message is acknowledged to the user, and the
                // envelope is in the application's outbox, handed to the relay.
                queue.push((1 - s, env));
                sent.push((1 - s, text));
            }
            30..=64 if !queue.is_empty() => {
                let k = rng.next_u32() as usize % queue.len();
                // Sometimes the process dies after the commit, before acknowledging the
                // envelope to the relay: it will be delivered again.
                let ack = rng.next_u32() % 4 != 0;
                deliver(&mut sides, &mut queue, &mut rng, &mut dir, k, ack);
                if !ack {
                    sides[queue[k].0].kill();
                }
            }
            65..=79 => sides[s].kill(),
            80..=89 => {
                // Killed in the middle of a step: a transaction with writes that never
                // commits.
                let peer = *sides[1 - s].client().identity();
                let c = sides[s].client();
                c.store_mut()
                    .abandon_transaction(|tx| {
                        tx.put_sessions(&peer, &[vec![0xAB; 64]])?;
                        tx.put_delivered(&[0xCD; 32])?;
                        tx.delete_one_time_prekey(1)
                    })
                    .unwrap();
                sides[s].kill();
            }
            90..=94 => {
                now += 12 * hour;
                let c = sides[s].client();
                let m = c.maintain_prekeys(&mut rng, now, &policy).unwrap();
                rotations += u32::from(m.rotated.is_some()) + u32::from(m.sealing_rotated);
                if m.rotated.is_some() || m.sealing_rotated {
                    dir.publish(NAMES[s], c.bundle().unwrap());
                }
                if c.needs_refill(2).unwrap() {
                    let pool = c.generate_one_time_prekeys(&mut rng, 3).unwrap();
                    dir.upload(NAMES[s], pool);
                }
                c.refresh_routes(&mut dir).unwrap();
            }
            _ => {}
        }
    }
    // Drain, with more kills between deliveries.
    while !queue.is_empty() {
        deliver(&mut sides, &mut queue, &mut rng, &mut dir, 0, true);
        if rng.next_u32() % 3 == 0 {
            sides[usize::from(rng.next_u32() % 2 == 1)].kill();
        }
    }
    // Nothing acknowledged was lost.
    for (to, text) in &sent {
        assert!(
            sides[*to].history.contains(text),
            "{} never got {:?}",
            NAMES[*to],
            String::from_utf8_lossy(text)
        );
    }
    // Every session resumes after a last restart.
    for s in 0..2 {
        sides[s].kill();
        sides[1 - s].kill();
        let env = sides[s]
            .client()
            .send(&mut rng, &mut dir, NAMES[1 - s], b"after restart")
            .unwrap();
        match sides[1 - s]
            .client()
            .receive(&mut rng, &mut dir, &env)
            .unwrap()
        {
            Outcome::Delivered(r) => assert_eq!(r.plaintext, b"after restart"),
            other => panic!("{other:?}"),
        }
    }
    (sides[0].restarts, sides[1].restarts, rotations)
}

#[test]
fn killed_and_restarted_clients_lose_nothing_and_deliver_nothing_twice() {
    let (mut restarts, mut rotations) = (0, 0);
    for seed in 0..4 {
        let (a, b, r) = run(seed, 80);
        restarts += a + b;
        rotations += r;
    }
    assert!(
        rotations >= 4,
        "prekeys and sealing keys rotated ({rotations})"
    );
    assert!(
        restarts >= 40,
        "the test restarted the clients ({restarts})"
    );
}
