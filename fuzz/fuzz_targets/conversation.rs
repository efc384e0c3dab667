//! Structured target: arbitrary sequences of operations on two parties (send, deliver,
//! drop, duplicate, tamper, persist and restore). Oracle: every genuine message decrypts
//! exactly once to its plaintext; every other delivery fails and leaves the recipient's
//! serialized state unchanged (spec §7.6, §7.8).
#![no_main]

use arbitrary::Arbitrary;
use blindrelay::{accept, initiate, Session};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[derive(Arbitrary, Debug)]
enum Op {
    Send { from_alice: bool, len: u8 },
    Deliver { index: u8 },
    Duplicate { index: u8 },
    Tamper { index: u8, offset: u16, xor: u8 },
    Drop { index: u8 },
    Restore { alice: bool },
}

#[derive(Arbitrary, Debug)]
struct Input {
    seed: u64,
    ops: Vec<Op>,
}

fn pick<T>(v: &[T], i: u8) -> Option<usize> {
    (!v.is_empty()).then(|| usize::from(i) % v.len())
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    let mut rng = ChaCha20Rng::seed_from_u64(input.seed);
    let identity_a = blindrelay::IdentityKeyPair::from_seed(&[11; 32]);
    let (identity_b, mut store, bundle) = blindrelay::fuzzing::fuzz_responder();
    let verified = bundle.verify().expect("fixed bundle verifies");
    let record_a = blindrelay::fuzzing::fuzz_record(&identity_a);
    let mut alice = initiate(&mut rng, &identity_a, &record_a, &verified).expect("initiate");
    let first = alice.encrypt(&mut rng, b"first").expect("encrypt");
    let (mut bob, _) = accept(&identity_b, &mut store, &first).expect("accept");
    // (to_bob, wire, plaintext)
    let mut pending: Vec<(bool, Vec<u8>, Vec<u8>)> = Vec::new();
    let mut delivered: Vec<(bool, Vec<u8>)> = Vec::new();
    for op in input.ops.into_iter().take(64) {
        match op {
            Op::Send { from_alice, len } => {
                let pt = vec![len; usize::from(len)];
                let s = if from_alice { &mut alice } else { &mut bob };
                let wire = s.encrypt(&mut rng, &pt).expect("encrypt");
                pending.push((from_alice, wire, pt));
            }
            Op::Deliver { index } => {
                let Some(i) = pick(&pending, index) else {
                    continue;
                };
                let (to_bob, wire, pt) = pending.remove(i);
                let s = if to_bob { &mut bob } else { &mut alice };
                assert_eq!(s.decrypt(&wire).expect("a genuine message decrypts"), pt);
                delivered.push((to_bob, wire));
            }
            Op::Duplicate { index } => {
                let Some(i) = pick(&delivered, index) else {
                    continue;
                };
                let (to_bob, wire) = &delivered[i];
                let s = if *to_bob { &mut bob } else { &mut alice };
                let before = s.to_bytes();
                assert!(s.decrypt(wire).is_err(), "a duplicate decrypted");
                assert_eq!(*s.to_bytes(), *before);
            }
            Op::Tamper { index, offset, xor } => {
                let Some(i) = pick(&pending, index) else {
                    continue;
                };
                if xor == 0 {
                    continue;
                }
                let (to_bob, wire, _) = &pending[i];
                let mut bad = wire.clone();
                let at = usize::from(offset) % bad.len();
                bad[at] ^= xor;
                let s = if *to_bob { &mut bob } else { &mut alice };
                let before = s.to_bytes();
                assert!(s.decrypt(&bad).is_err(), "a tampered message decrypted");
                assert_eq!(*s.to_bytes(), *before);
            }
            Op::Drop { index } => {
                if let Some(i) = pick(&pending, index) {
                    pending.remove(i);
                }
            }
            Op::Restore { alice: a } => {
                let s = if a { &mut alice } else { &mut bob };
                let restored = Session::from_bytes(&s.to_bytes()).expect("own state restores");
                assert_eq!(*restored.to_bytes(), *s.to_bytes());
                *s = restored;
            }
        }
    }
});
