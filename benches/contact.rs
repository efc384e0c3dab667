//! Contact discovery costs (spec §9.11): one Argon2id contact id, 1 000 ids with the buffer
//! reused, matching 1 000 contacts against a bucket response, and request encode/parse.
//! The spec's cost figures come from
//! `cargo bench --bench contact -- --warm-up-time 1 --measurement-time 2`, together with
//! the plain SHA-256 baselines measured here for comparison.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use blindrelay::codec::{Decode, Encode};
use blindrelay::contact::{
    BucketBits, BucketEntry, ContactHasher, ContactId, ContactSalt, DiscoveryParameters,
    DiscoverySecret, GenerationMark, LookupRequest, LookupResponse, PhoneNumber, SaltNonce,
};
use blindrelay::IdentityKeyPair;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

fn numbers(n: u64) -> Vec<PhoneNumber> {
    (0..n)
        .map(|i| PhoneNumber::parse_canonical(&format!("+1201555{:04}", i % 10_000)).unwrap())
        .collect()
}

fn hashing(c: &mut Criterion) {
    let salt = ContactSalt([0x5a; 16]);
    let mut hasher = ContactHasher::new(salt).unwrap();
    let one = numbers(1).remove(0);
    let mut g = c.benchmark_group("contact_id");
    g.sample_size(10);
    g.bench_function("one (buffer reused)", |b| {
        b.iter(|| hasher.contact_id(black_box(&one)).unwrap())
    });
    g.bench_function("one (fresh buffer)", |b| {
        b.iter(|| blindrelay::contact::contact_id(salt, black_box(&one)).unwrap())
    });
    let book = numbers(1000);
    g.bench_function("1000 (buffer reused)", |b| {
        b.iter(|| {
            for n in &book {
                black_box(hasher.contact_id(n).unwrap());
            }
        })
    });
    g.finish();

    // Baselines for the threat model: what an enumerator pays per guess without ch1.
    let mut g = c.benchmark_group("baseline");
    g.bench_function("sha256 salted number", |b| {
        b.iter(|| {
            let mut h = Sha256::new();
            h.update(salt.0);
            h.update(black_box(one.as_bytes()));
            h.finalize()
        })
    });
    g.bench_function("sha256 matrix pepper form", |b| {
        // Matrix identity service v2: SHA-256("<address> <medium> <pepper>").
        b.iter(|| Sha256::digest(black_box(b"12015550123 msisdn matrixrocks")))
    });
    g.finish();
}

fn random_ids(rng: &mut ChaCha20Rng, n: usize) -> Vec<[u8; 32]> {
    (0..n)
        .map(|_| {
            let mut b = [0u8; 32];
            rng.fill_bytes(&mut b);
            b
        })
        .collect()
}

/// The bench's clock (any time inside the parameters' window).
const NOW: u64 = 1_796_256_000;

fn lookup(c: &mut Criterion) {
    let relay = IdentityKeyPair::from_seed(&[7; 32]);
    let params = DiscoveryParameters::sign(
        &relay,
        1,
        &SaltNonce([0x22; 32]),
        BucketBits::new(14).unwrap(),
        4096,
        NOW,
        NOW + 3600,
    )
    .unwrap();
    let v = params
        .verify(&relay.public().signing, NOW, &mut GenerationMark::new())
        .unwrap();
    let secret = DiscoverySecret::from_bytes(&[0x33; 32]);
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let contacts_raw = random_ids(&mut rng, 1000);
    let contacts: Vec<ContactId> = contacts_raw
        .iter()
        .map(|b| ContactId::from_bytes(*b))
        .collect();
    // A registry of 64 000 (about 4 per bucket at b = 14); half the contacts registered.
    // 1 000 contacts are one batch of one 4 096-prefix request (spec §9.7).
    let mut registry = random_ids(&mut rng, 64_000);
    registry.extend(contacts_raw.iter().step_by(2).copied());
    let mut store: BTreeMap<u32, Vec<BucketEntry>> = BTreeMap::new();
    for (i, id) in registry.iter().enumerate() {
        let reg = v
            .register_discoverable(&ContactId::from_bytes(*id), format!("m{i}").as_bytes())
            .unwrap();
        let (p, e) = v.params().bucket_entry(&reg).unwrap();
        store.entry(p).or_default().push(e);
    }
    let mut batch = v.lookup_batch(&secret, &contacts).unwrap();
    assert_eq!(batch.len(), 1);
    let request = batch.remove(0);
    let response = v
        .params()
        .answer(&request, |p| store.get(&p).cloned().unwrap_or_default())
        .unwrap();
    let mut g = c.benchmark_group("lookup");
    g.bench_function("match 1000 contacts", |b| {
        b.iter(|| {
            v.match_response(&request, black_box(&response), &contacts)
                .unwrap()
                .len()
        })
    });
    g.bench_function("build batch 1000 contacts (one request of 4096)", |b| {
        b.iter(|| v.lookup_batch(&secret, black_box(&contacts)).unwrap())
    });
    let bytes = request.to_bytes();
    g.bench_function("encode request (4096 prefixes)", |b| {
        b.iter(|| black_box(&request).to_bytes())
    });
    g.bench_function("parse request (4096 prefixes)", |b| {
        b.iter(|| LookupRequest::decode_exact(black_box(&bytes)).unwrap())
    });
    let resp_bytes = response.to_bytes();
    g.bench_function("parse response", |b| {
        b.iter(|| LookupResponse::decode_exact(black_box(&resp_bytes)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, hashing, lookup);
criterion_main!(benches);
