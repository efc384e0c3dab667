//! Envelope benchmarks (issue 4/8): seal and open at the ratchet benchmarks' sizes, next to
//! the raw ChaCha20-Poly1305 of the same size and (with `--features hazmat`) raw HPKE base
//! mode of the same size, so the envelope's overhead (content framing, padding, parse) is
//! visible. The inner message is a stand-in ratchet message of the given size: the
//! envelope never looks inside it.
//!
//! The `envelope/session/*` groups put the envelope next to the ratchet alone: a session
//! encrypt versus a session encrypt followed by sealing its output, and the reverse.
//!
//! The `relay_path/*` groups (issue 16) time the whole per-message path after the first
//! message: a pairwise envelope against the session alone and against the HPKE path.
//!
//! Run: `cargo bench --bench envelope --features hazmat` (or `-- relay_path` for the
//! pairwise comparison alone).

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod common;

use blindrelay::codec::{Decode, Encode};
use blindrelay::crypto::aead;
use blindrelay::envelope::{open, seal, Envelope};
use blindrelay::keys::SealingKeySecret;
use blindrelay::{IdentityKeyPair, Session};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use rand_chacha::rand_core::SeedableRng;
use std::hint::black_box;

const SIZES: &[usize] = &[32, 256, 1024, 16 * 1024, 64 * 1024];

fn stand_in(size: usize) -> Vec<u8> {
    let mut v = vec![0x42u8; size];
    v[0] = 0x01;
    v[1] = 0x03;
    v
}

fn envelope(c: &mut Criterion) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let recipient = SealingKeySecret::generate(&mut rng);
    let pk = recipient.public_key();
    let mailbox = [7u8; 32];
    let sender = IdentityKeyPair::generate(&mut rng);
    for &size in SIZES {
        let mut group = c.benchmark_group(format!("envelope/{size}B"));
        group.throughput(Throughput::Bytes(size as u64));
        let inner = stand_in(size);
        let key = [1u8; 32];
        group.bench_function("raw chacha20poly1305 seal", |b| {
            b.iter(|| aead::seal(&key, &[2; 12], &[], black_box(&inner)))
        });
        let ct = aead::seal(&key, &[2; 12], &[], &inner);
        group.bench_function("raw chacha20poly1305 open", |b| {
            b.iter(|| aead::open(&key, &[2; 12], &[], black_box(&ct)).unwrap())
        });
        #[cfg(feature = "hazmat")]
        {
            use blindrelay::hazmat::{hpke_open_base, hpke_seal_base};
            let ikm = [3u8; 32];
            group.bench_function("raw hpke base seal", |b| {
                b.iter(|| hpke_seal_base(&ikm, &pk, b"info", &[], black_box(&inner)).unwrap())
            });
            let (enc, hct, _) = hpke_seal_base(&ikm, &pk, b"info", &[], &inner).unwrap();
            let sk = recipient.to_bytes();
            group.bench_function("raw hpke base open", |b| {
                b.iter(|| hpke_open_base(&sk, &enc, b"info", &[], black_box(&hct)).unwrap())
            });
        }
        group.bench_function("envelope seal + encode", |b| {
            b.iter(|| {
                seal(&mut rng, &mailbox, &pk, sender.public(), black_box(&inner))
                    .unwrap()
                    .to_bytes()
            })
        });
        let bytes = seal(&mut rng, &mailbox, &pk, sender.public(), &inner)
            .unwrap()
            .to_bytes();
        group.bench_function("relay parse (decode_exact)", |b| {
            b.iter(|| Envelope::decode_exact(black_box(&bytes)).unwrap())
        });
        group.bench_function("envelope decode + open", |b| {
            b.iter(|| {
                let env = Envelope::decode_exact(black_box(&bytes)).unwrap();
                open(&recipient, &mailbox, &env).unwrap()
            })
        });
        group.finish();
    }
}

/// Encoded envelope size per inner size (printed once; the padding overhead).
fn sizes(c: &mut Criterion) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
    let recipient = SealingKeySecret::generate(&mut rng);
    let sender = IdentityKeyPair::generate(&mut rng);
    let mut group = c.benchmark_group("envelope/size");
    for &size in SIZES {
        let env = seal(
            &mut rng,
            &[0; 32],
            &recipient.public_key(),
            sender.public(),
            &stand_in(size),
        )
        .unwrap();
        println!(
            "envelope for a {size}-byte inner message: {} bytes",
            env.encoded_len()
        );
        group.bench_with_input(BenchmarkId::new("encoded_len", size), &env, |b, e| {
            b.iter(|| black_box(e).encoded_len())
        });
    }
    group.finish();
}

/// The ratchet alone versus the ratchet plus the envelope, at the ratchet benchmarks' sizes.
fn with_session(c: &mut Criterion) {
    let mut rng = common::rng(3);
    let recipient = SealingKeySecret::generate(&mut rng);
    let pk = recipient.public_key();
    let mailbox = [9u8; 32];
    for &size in SIZES {
        let mut group = c.benchmark_group(format!("envelope/session/{size}B"));
        group.throughput(Throughput::Bytes(size as u64));
        let pt = vec![0x42u8; size];
        let (mut alice, mut bob) = common::session_pair(&mut rng);
        let sender = *alice.local_identity();
        let first = alice.encrypt(&mut rng, &pt).unwrap();
        bob.decrypt(&first).unwrap();
        let saved = bob.to_bytes();
        let msg = alice.encrypt(&mut rng, &pt).unwrap();
        let env = seal(&mut rng, &mailbox, &pk, &sender, &msg)
            .unwrap()
            .to_bytes();
        group.bench_function("session encrypt (ratchet alone)", |b| {
            b.iter(|| alice.encrypt(&mut rng, black_box(&pt)).unwrap())
        });
        group.bench_function("session encrypt + envelope seal", |b| {
            b.iter(|| {
                let m = alice.encrypt(&mut rng, black_box(&pt)).unwrap();
                seal(&mut rng, &mailbox, &pk, &sender, &m)
                    .unwrap()
                    .to_bytes()
            })
        });
        group.bench_function("session decrypt (ratchet alone)", |b| {
            b.iter_batched(
                || Session::from_bytes(&saved).unwrap(),
                |mut s| s.decrypt(black_box(&msg)).unwrap(),
                BatchSize::SmallInput,
            )
        });
        group.bench_function("envelope open + session decrypt", |b| {
            b.iter_batched(
                || Session::from_bytes(&saved).unwrap(),
                |mut s| {
                    let e = Envelope::decode_exact(black_box(&env)).unwrap();
                    let opened = open(&recipient, &mailbox, &e).unwrap();
                    opened.check_sender(s.remote_identity()).unwrap();
                    s.decrypt(&opened.inner).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

/// The whole per-message relay path after the first message (issue 16): a pairwise
/// envelope (`seal_pairwise`, then `open_pairwise` at the recipient) next to the session
/// alone (`encrypt`, then `decrypt`) and next to the HPKE path every message took before
/// pairwise mailboxes (encrypt, seal, open, decrypt). Each iteration restores both sides
/// from saved states at the same chain position (restoring is not timed), so every
/// iteration sends and receives the same message of a chain. 65535 B is the largest
/// pairwise plaintext (spec §8.15).
fn relay_path(c: &mut Criterion) {
    let mut rng = common::rng(4);
    let recipient = SealingKeySecret::generate(&mut rng);
    let pk = recipient.public_key();
    let mailbox = [9u8; 32];
    for size in [1024usize, 65535] {
        let mut group = c.benchmark_group(format!("relay_path/{size}B"));
        group.throughput(Throughput::Bytes(size as u64));
        let pt = vec![0x42u8; size];
        let (mut alice, mut bob) = common::session_pair(&mut rng);
        // Consume the chain's first message (its DH step) so every timed message is a
        // same-direction one, as in the ratchet benchmarks.
        let first = alice.seal_pairwise(&mut rng, &pt).unwrap();
        bob.open_pairwise(&first).unwrap();
        let (a_saved, b_saved) = (alice.to_bytes(), bob.to_bytes());
        let sender = *alice.local_identity();
        let restore = || {
            (
                Session::from_bytes(&a_saved).unwrap(),
                Session::from_bytes(&b_saved).unwrap(),
            )
        };
        group.bench_function("session alone: encrypt + decrypt", |b| {
            b.iter_batched_ref(
                restore,
                |(a, s)| {
                    let m = a.encrypt(&mut rng, black_box(&pt)).unwrap();
                    s.decrypt(&m).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        group.bench_function("pairwise: seal_pairwise + open_pairwise", |b| {
            b.iter_batched_ref(
                restore,
                |(a, s)| {
                    let e = a.seal_pairwise(&mut rng, black_box(&pt)).unwrap();
                    s.open_pairwise(&e).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        group.bench_function("HPKE: encrypt + seal + open + decrypt", |b| {
            b.iter_batched_ref(
                restore,
                |(a, s)| {
                    let m = a.encrypt(&mut rng, black_box(&pt)).unwrap();
                    let e = seal(&mut rng, &mailbox, &pk, &sender, &m)
                        .unwrap()
                        .to_bytes();
                    let e = Envelope::decode_exact(&e).unwrap();
                    let opened = open(&recipient, &mailbox, &e).unwrap();
                    s.decrypt(&opened.inner).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, envelope, with_session, sizes, relay_path);
criterion_main!(benches);
