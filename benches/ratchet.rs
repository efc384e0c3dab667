//! Ratchet benchmarks (issue 3/8 targets): encrypt and decrypt next to the raw AEAD of the
//! same size, ping-pong, persistence, and serialized state sizes.
//!
//! Run: `cargo bench --bench ratchet`. The raw baselines are ChaCha20-Poly1305 (the
//! target's reference) and XChaCha20-Poly1305 (what the ratchet uses for bodies).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use blindrelay::crypto::aead;
use blindrelay::Session;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

const SIZES: &[usize] = &[32, 256, 1024, 16 * 1024, 64 * 1024];

fn encrypt_decrypt(c: &mut Criterion) {
    let mut rng = common::rng(1);
    for &size in SIZES {
        let mut group = c.benchmark_group(format!("ratchet/{size}B"));
        group.throughput(Throughput::Bytes(size as u64));
        let pt = vec![0x42u8; size];
        let key = [1u8; 32];
        group.bench_function("raw chacha20poly1305 seal", |b| {
            b.iter(|| aead::seal(&key, &[2; 12], &[], black_box(&pt)))
        });
        group.bench_function("raw xchacha20poly1305 seal", |b| {
            b.iter(|| aead::xseal(&key, &[2; 24], &[], black_box(&pt)))
        });
        let ct = aead::seal(&key, &[2; 12], &[], &pt);
        group.bench_function("raw chacha20poly1305 open", |b| {
            b.iter(|| aead::open(&key, &[2; 12], &[], black_box(&ct)).unwrap())
        });
        let (mut alice, mut bob) = common::session_pair(&mut rng);
        // Decrypt the next message of a chain from a restored copy of the receiver (the
        // first message of the chain, with its DH step, is already consumed).
        let first = alice.encrypt(&mut rng, &pt).unwrap();
        bob.decrypt(&first).unwrap();
        let saved = bob.to_bytes();
        let msg = alice.encrypt(&mut rng, &pt).unwrap();
        group.bench_function("session encrypt (same direction)", |b| {
            b.iter(|| alice.encrypt(&mut rng, black_box(&pt)).unwrap())
        });
        group.bench_function("session decrypt (same direction)", |b| {
            // `_ref`: dropping the restored session is not part of decrypting.
            b.iter_batched_ref(
                || Session::from_bytes(&saved).unwrap(),
                |s| s.decrypt(black_box(&msg)).unwrap(),
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

/// One message each way: every message starts a new chain (one key generation and one
/// DH at the sender, one DH at the receiver).
fn ping_pong(c: &mut Criterion) {
    let mut rng = common::rng(2);
    let mut group = c.benchmark_group("ratchet/ping-pong");
    for &size in &[32usize, 1024] {
        let (mut a, mut b) = common::session_pair(&mut rng);
        let pt = vec![7u8; size];
        group.bench_with_input(
            BenchmarkId::new("round trip (2 messages)", size),
            &pt,
            |bn, pt| {
                bn.iter(|| {
                    let m = a.encrypt(&mut rng, pt).unwrap();
                    b.decrypt(&m).unwrap();
                    let r = b.encrypt(&mut rng, pt).unwrap();
                    a.decrypt(&r).unwrap()
                })
            },
        );
    }
    group.finish();
}

fn persistence(c: &mut Criterion) {
    let mut rng = common::rng(3);
    let (mut a, mut b) = common::session_pair(&mut rng);
    let fresh = b.to_bytes().len();
    for _ in 0..1000 {
        let m = a.encrypt(&mut rng, b"x").unwrap();
        b.decrypt(&m).unwrap();
    }
    let after_1000 = b.to_bytes().len();
    let mut group = c.benchmark_group("ratchet/persistence");
    group.bench_function("to_bytes", |bn| bn.iter(|| b.to_bytes()));
    let bytes = b.to_bytes();
    group.bench_function("from_bytes", |bn| {
        bn.iter(|| Session::from_bytes(black_box(&bytes)).unwrap())
    });
    // Fill the skipped-key store: two chains with MAX_SKIP gaps.
    for _ in 0..2 {
        let mut last = Vec::new();
        for _ in 0..=blindrelay::ratchet::MAX_SKIP {
            last = a.encrypt(&mut rng, b"x").unwrap();
        }
        b.decrypt(&last).unwrap();
        let r = b.encrypt(&mut rng, b"r").unwrap();
        a.decrypt(&r).unwrap();
    }
    let full = b.to_bytes();
    group.bench_function("from_bytes (full skipped store)", |bn| {
        bn.iter(|| Session::from_bytes(black_box(&full)).unwrap())
    });
    group.finish();
    println!(
        "serialized session size: fresh {fresh} B, after 1000 messages {after_1000} B, \
         with {} skipped keys {} B",
        b.skipped_keys(),
        full.len()
    );
}

/// The fixed per-message work, piece by piece, to explain the overhead above raw AEAD.
fn components(c: &mut Criterion) {
    let mut group = c.benchmark_group("ratchet/components");
    let key = [1u8; 32];
    let ad = [3u8; 160];
    // The header AEAD as the ratchet runs it (HACL*, `xseal_short`), and the same seal
    // through RustCrypto, whose SIMD set-up dominates at 40 bytes (spec §7.5).
    group.bench_function("header AEAD seal (40 B, 160 B AD)", |b| {
        b.iter(|| {
            let mut out = [0u8; 56];
            aead::xseal_short(&key, &[2; 24], black_box(&ad), &[0u8; 40], &mut out).unwrap();
            out
        })
    });
    group.bench_function("header AEAD seal, RustCrypto (40 B, 160 B AD)", |b| {
        b.iter(|| {
            let mut h = [0u8; 40];
            aead::xseal_in_place(&key, &[2; 24], black_box(&ad), &mut h)
        })
    });
    group.bench_function("chain step (two HMAC-SHA256, one keying)", |b| {
        b.iter(|| blindrelay::crypto::kdf::hmac_sha256_pair(black_box(&key), &[1], &[2]))
    });
    // Why the body AD is padded to 256 bytes (spec §7.5): the AVX2 Poly1305 backend hashes
    // four blocks at a time and falls out of step when the AD is not a multiple of 64 B.
    let body = vec![0x42u8; 64 * 1024];
    for ad_len in [0usize, 240, 256] {
        let ad = vec![3u8; ad_len];
        group.bench_function(format!("64 KiB body seal, {ad_len} B AD"), |b| {
            let mut buf = body.clone();
            b.iter(|| aead::xseal_in_place(&key, &[2; 24], &ad, black_box(&mut buf)))
        });
    }
    group.bench_function("empty XChaCha20-Poly1305 seal", |b| {
        b.iter(|| aead::xseal(&key, &[2; 24], &[], black_box(&[])))
    });
    group.finish();
}

criterion_group!(benches, encrypt_decrypt, ping_pong, persistence, components);
criterion_main!(benches);
