//! Contact discovery costs (spec §9.11): one Argon2id contact id, 1 000 ids with the buffer
//! reused, matching 1 000 contacts against a bucket response, and request encode/parse.
//! The spec's cost figures come from
//! `cargo bench --bench contact -- --warm-up-time 1 --measurement-time 2`, together with
//! the plain SHA-256 baselines measured here for comparison. Suite `ch2`'s figures (spec
//! §13.8) come from `cargo bench --bench contact -- ch2 --warm-up-time 1 --measurement-time 3`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use blindrelay::codec::{Decode, Encode};
use blindrelay::contact::oprf;
use blindrelay::contact::{
    BucketBits, BucketEntry, ContactHasher, ContactId, ContactSalt, DiscoveryParameters,
    DiscoverySecret, GenerationMark, LookupRequest, LookupResponse, OracleKey, PhoneNumber,
    SaltNonce,
};
use blindrelay::IdentityKeyPair;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
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

/// Suite `ch2` (spec §13.8): the client's blind and finalize for 1 000 contacts, the
/// oracle's batch evaluation (one proof per batch), and the per-element costs that re-keying
/// a directory scales with.
fn ch2(c: &mut Criterion) {
    let key = OracleKey::derive(&[0x44; 32], 1).unwrap();
    let pk = key.public_key();
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let contacts: Vec<ContactId> = random_ids(&mut rng, 1000)
        .into_iter()
        .map(ContactId::from_bytes)
        .collect();
    let one = &contacts[..1];
    let (_, blinded) = oprf::blind(&mut rng, &contacts).unwrap();
    let (_, blinded_one) = oprf::blind(&mut rng, one).unwrap();

    let mut g = c.benchmark_group("ch2");
    g.sample_size(10);
    g.bench_function("client blind 1000", |b| {
        b.iter(|| oprf::blind(&mut rng, black_box(&contacts)).unwrap())
    });
    g.bench_function("oracle evaluate 1000 (one batch, one proof)", |b| {
        b.iter(|| key.evaluate(&mut rng, black_box(&blinded)).unwrap())
    });
    g.bench_function("client finalize 1000 (proof check + HKDF)", |b| {
        b.iter_batched(
            || {
                let mut r = ChaCha20Rng::seed_from_u64(17);
                let (state, bl) = oprf::blind(&mut r, &contacts).unwrap();
                let eval = key.evaluate(&mut r, &bl).unwrap();
                (state, eval)
            },
            |(state, eval)| state.finalize(&pk, 1, black_box(&eval)).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("ch2_per_element");
    g.bench_function("oracle evaluate 1 (batch of one, with proof)", |b| {
        b.iter(|| key.evaluate(&mut rng, black_box(&blinded_one)).unwrap())
    });
    g.bench_function(
        "oracle evaluate unblinded 1 (re-key cost per registrant)",
        |b| b.iter(|| key.evaluate_unblinded(black_box(&contacts[0])).unwrap()),
    );
    g.finish();
}

criterion_group!(benches, hashing, lookup, ch2);
criterion_main!(benches);
