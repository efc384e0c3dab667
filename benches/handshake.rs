//! Handshake benchmarks (issue 2/8): `initiate` and `accept` next to the primitive
//! operations they are made of, so the overhead above the primitives is visible.
//!
//! Run: `cargo bench --bench handshake`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use blindrelay::crypto::{dh, kem, sig};
use blindrelay::keys::KemPrekeySecret;
use blindrelay::{accept, initiate};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;

fn handshake(c: &mut Criterion) {
    let mut rng = common::rng(1);
    let alice = common::party(&mut rng, false);
    let mut bob = common::party(&mut rng, false);
    let verified = bob.bundle.clone().verify().unwrap();
    let mut group = c.benchmark_group("handshake");
    group.bench_function("bundle verify (3 signatures)", |b| {
        b.iter(|| bob.bundle.clone().verify().unwrap())
    });
    group.bench_function("initiate", |b| {
        b.iter(|| {
            initiate(
                &mut rng,
                &alice.identity,
                &alice.bundle.identity_record(),
                black_box(&verified),
            )
            .unwrap()
        })
    });
    group.bench_function("initiate + first encrypt", |b| {
        b.iter(|| {
            let mut s = initiate(
                &mut rng,
                &alice.identity,
                &alice.bundle.identity_record(),
                &verified,
            )
            .unwrap();
            s.encrypt(&mut rng, b"hello").unwrap()
        })
    });
    let mut msg_rng = common::rng(2);
    group.bench_function("accept (incl. first decrypt)", |b| {
        b.iter_batched(
            || {
                let mut s = initiate(
                    &mut msg_rng,
                    &alice.identity,
                    &alice.bundle.identity_record(),
                    &verified,
                )
                .unwrap();
                s.encrypt(&mut msg_rng, b"hello").unwrap()
            },
            |m| accept(&bob.identity, &mut bob.store, &m).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut prim = c.benchmark_group("handshake/primitives");
    let a = [1u8; 32];
    let b_pub = dh::public_from_secret(&[2u8; 32]);
    prim.bench_function("X25519 DH (x4 in a handshake)", |b| {
        b.iter(|| dh::x25519(black_box(&a), &b_pub).unwrap())
    });
    prim.bench_function("X25519 key generation", |b| {
        b.iter(|| dh::public_from_secret(black_box(&a)))
    });
    let kem_secret = KemPrekeySecret::generate(&mut rng);
    let ek = kem_secret.encapsulation_key();
    let seed = kem_secret.to_bytes();
    prim.bench_function("ML-KEM-768 encapsulate (incl. key check)", |b| {
        b.iter(|| kem::encapsulate(black_box(&ek), &[3; 32]).unwrap())
    });
    let (ct, _) = kem::encapsulate(&ek, &[3; 32]).unwrap();
    prim.bench_function("ML-KEM-768 decapsulate (from a 64-byte seed)", |b| {
        b.iter(|| kem::decapsulate(black_box(&seed), &ct))
    });
    // A real prekey signature from the bundle (spec §5.2).
    let spk = &bob.bundle.signed_prekey;
    let msg = blindrelay::PrekeyBundle::signature_input(
        b"blindrelay v1 prekey signature",
        blindrelay::wire::PrekeyKind::SignedX25519,
        &[&spk.id.to_be_bytes(), &spk.key],
    );
    let signature = spk.signature;
    let public = bob.bundle.identity.signing;
    sig::verify(&public, &msg, &signature).unwrap();
    prim.bench_function("Ed25519 verify (strict)", |b| {
        b.iter(|| sig::verify(&public, black_box(&msg), &signature).unwrap())
    });
    prim.finish();
}

criterion_group!(benches, handshake);
criterion_main!(benches);
