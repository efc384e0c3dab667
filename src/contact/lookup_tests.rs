//! The leak attacks of issue 19 played by a relay (spec §9.11.3), against the old way of
//! splitting and editing lookups (reconstructed here, so each attack is shown to work) and
//! against [`VerifiedDiscovery::lookup_batch`] and [`LookupLedger`] (where it recovers
//! nothing beyond what §9.11.3 states); and the ledger's persistence.

use super::test_util::{ids, NOW};
use super::*;
use crate::codec::Encode;
use crate::contact::lookup::batch_shape;
use crate::keys::IdentityKeyPair;
use crate::Error;
use proptest::prelude::*;

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

fn verified(b: u8, max_class: u16, generation: u32) -> VerifiedDiscovery {
    let relay = IdentityKeyPair::from_seed(&[7; 32]);
    DiscoveryParameters::sign(
        &relay,
        generation,
        &SaltNonce([0x22; 32]),
        BucketBits::new(b).unwrap(),
        max_class,
        NOW,
        NOW + 3600,
    )
    .unwrap()
    .verify(&relay.public().signing, NOW, &mut GenerationMark::new())
    .unwrap()
}

fn reals_of(contacts: &[ContactId], b: BucketBits) -> BTreeSet<u32> {
    contacts.iter().map(|c| bucket_prefix(c, b)).collect()
}

/// The relay's first attack: over all requests of one lookup, a prefix seen once is taken
/// as real (dummies came from one shared sequence, so they repeated), and so is every
/// prefix of a request that is full of real prefixes.
fn count_repeats_attack(requests: &[Vec<u32>]) -> BTreeSet<u32> {
    let mut count: BTreeMap<u32, usize> = BTreeMap::new();
    for r in requests {
        for p in r {
            *count.entry(*p).or_default() += 1;
        }
    }
    count
        .into_iter()
        .filter(|&(_, c)| c == 1)
        .map(|(p, _)| p)
        .collect()
}

/// The old client (before issue 19): the caller split the distinct prefixes into equal
/// parts of at most `max_class`, and each part was padded to its class from the one
/// dummy sequence d₀, d₁, … of the secret and generation.
fn old_split(reals: &BTreeSet<u32>, max_class: usize, b: BucketBits) -> Vec<Vec<u32>> {
    let key = BatchKey::derive(
        &DiscoverySecret::from_bytes(&[9; 32]),
        &RelayId([1; 32]),
        1,
        b,
        &[],
    );
    let reals: Vec<u32> = reals.iter().copied().collect();
    let parts = reals.len().div_ceil(max_class);
    let per = reals.len().div_ceil(parts);
    reals
        .chunks(per)
        .map(|part| {
            let class = *[16usize, 64, 256, 1024, 4096]
                .iter()
                .find(|&&c| c >= part.len())
                .unwrap();
            let mut set: BTreeSet<u32> = part.iter().copied().collect();
            let mut i = 0;
            while set.len() < class {
                set.insert(dummy_prefix(&key, b, 0, i));
                i += 1;
            }
            set.into_iter().collect()
        })
        .collect()
}

#[test]
fn a_relay_counting_repeats_recovered_every_real_prefix_from_the_old_split() {
    // The reproduction: max_size_class 16, a book with 39 distinct prefixes.
    let b = BucketBits::new(12).unwrap();
    let book = ids(39, 60);
    let reals = reals_of(&book, b);
    let old = old_split(&reals, 16, b);
    assert!(old.len() >= 3);
    assert_eq!(
        count_repeats_attack(&old),
        reals,
        "the attack works on the old split"
    );
    // Today a relay cannot publish 16 (or 64): clients refuse it (§9.6).
    let relay = IdentityKeyPair::from_seed(&[7; 32]);
    for small in [16, 64] {
        assert_eq!(
            DiscoveryParameters::sign(&relay, 1, &SaltNonce([0; 32]), b, small, NOW, NOW + 1)
                .unwrap_err(),
            Error::NotASizeClass
        );
    }
}

#[test]
fn a_relay_counting_repeats_learns_nothing_from_a_batch() {
    for (b, max, n) in [(12u8, 256u16, 60usize), (16, 256, 1500), (14, 1024, 1000)] {
        let v = verified(b, max, 1);
        let bits = BucketBits::new(b).unwrap();
        let book = ids(u64::from(b), n);
        let reals = reals_of(&book, bits);
        let secret = DiscoverySecret::from_bytes(&[3; 32]);
        let requests: Vec<Vec<u32>> = v
            .lookup_batch(&secret, &book)
            .unwrap()
            .iter()
            .map(|r| r.prefixes().to_vec())
            .collect();
        let union: BTreeSet<u32> = requests.iter().flatten().copied().collect();
        // Every prefix is sent exactly once: "seen once" is the whole union, so counting
        // repeats singles out nothing; and no request is full of real prefixes.
        assert_eq!(count_repeats_attack(&requests), union);
        assert!(reals.is_subset(&union));
        for r in &requests {
            let real = r.iter().filter(|p| reals.contains(p)).count();
            assert!(2 * real <= r.len(), "a request is more than half real");
            assert_eq!(
                r.len(),
                requests[0].len(),
                "requests of one batch differ in size"
            );
        }
        // What the relay does learn (§9.11.3): k requests of class Q, so the book has at
        // most k·Q/2 distinct prefixes, and more than (k-1)·Q/2 when k > 1.
        let (k, q) = batch_shape(reals.len(), bits, max).unwrap();
        assert_eq!((requests.len(), requests[0].len()), (k, usize::from(q)));
    }
}

/// The old client re-sent its whole book after an edit, padded from the same sequence.
fn old_single(reals: &BTreeSet<u32>, class: usize, b: BucketBits) -> BTreeSet<u32> {
    old_split(reals, class, b).concat().into_iter().collect()
}

#[test]
fn an_edit_marked_the_new_contact_in_the_old_scheme() {
    let b = BucketBits::new(12).unwrap();
    let book = ids(5, 40);
    let reals = reals_of(&book, b);
    let new = (0..)
        .map(|s| ids(1000 + s, 1).remove(0))
        .find(|c| !reals.contains(&bucket_prefix(c, b)));
    let new = new.unwrap();
    let mut edited = reals.clone();
    edited.insert(bucket_prefix(&new, b));
    let before = old_single(&reals, 64, b);
    let after = old_single(&edited, 64, b);
    let added: Vec<u32> = after.difference(&before).copied().collect();
    let removed: Vec<u32> = before.difference(&after).copied().collect();
    assert_eq!(added, vec![bucket_prefix(&new, b)], "one real prefix in");
    assert_eq!(removed.len(), 1, "one dummy out");
}

#[test]
fn an_edit_sends_only_a_new_batch_and_leaves_every_earlier_request_unchanged() {
    let v = verified(12, 1024, 1);
    let b = v.params().bucket_bits();
    let secret = DiscoverySecret::from_bytes(&[3; 32]);
    let mut total_candidates = 0;
    for seed in 0..32u64 {
        let book = ids(seed, 100);
        let mut ledger = LookupLedger::new(&v);
        let first = ledger.plan(&v, &secret, &book).unwrap();
        let first_bytes: Vec<Vec<u8>> = first.iter().map(Encode::to_bytes).collect();
        // Unchanged book: nothing to send. A refresh re-sends the same bytes.
        assert!(ledger.plan(&v, &secret, &book).unwrap().is_empty());
        assert!(ledger.plan(&v, &secret, &book[..50]).unwrap().is_empty());
        let refresh: Vec<Vec<u8>> = ledger
            .requests(&v, &secret)
            .unwrap()
            .iter()
            .map(Encode::to_bytes)
            .collect();
        assert_eq!(refresh, first_bytes);
        // One contact added in a new bucket.
        let old: BTreeSet<u32> = first.iter().flat_map(|r| r.prefixes().to_vec()).collect();
        let reals = reals_of(&book, b);
        let new = (0..)
            .map(|s| ids(10_000 + 100 * seed + s, 1).remove(0))
            .find(|c| !old.contains(&bucket_prefix(c, b)) && !reals.contains(&bucket_prefix(c, b)))
            .unwrap();
        let new_prefix = bucket_prefix(&new, b);
        let mut edited = ids(seed, 100);
        edited.push(new);
        let second = ledger.plan(&v, &secret, &edited).unwrap();
        assert_eq!(second.len(), 1);
        // Every earlier request is re-sent byte for byte: nothing moved out.
        let all: Vec<Vec<u8>> = ledger
            .requests(&v, &secret)
            .unwrap()
            .iter()
            .map(Encode::to_bytes)
            .collect();
        assert_eq!(&all[..first_bytes.len()], first_bytes.as_slice());
        assert_eq!(all.len(), first_bytes.len() + 1);
        // The relay's diff: what is new in this lookup. The new contact is one of them.
        let added: Vec<u32> = second[0]
            .prefixes()
            .iter()
            .copied()
            .filter(|p| !old.contains(p))
            .collect();
        assert!(added.contains(&new_prefix));
        assert_eq!(second[0].prefixes().len(), 16);
        total_candidates += added.len();
    }
    // The old scheme named the new contact exactly (1 candidate); now the relay is left
    // with, on average, about 15 of the new request's 16 prefixes (those not in the first
    // batch's 1 024 of 4 096 buckets happen to be most).
    assert!(total_candidates >= 32 * 10, "{total_candidates}");
}

#[test]
fn the_ledger_round_trips_refuses_other_parameters_and_changes_nothing_on_refusal() {
    let v = verified(12, 1024, 1);
    let secret = DiscoverySecret::from_bytes(&[3; 32]);
    let mut ledger = LookupLedger::new(&v);
    ledger.plan(&v, &secret, &ids(1, 30)).unwrap();
    ledger.plan(&v, &secret, &ids(2, 700)).unwrap();
    assert_eq!(ledger.batch_count(), 2);
    let bytes = ledger.to_bytes();
    let restored = LookupLedger::from_bytes(&bytes).unwrap();
    assert_eq!(restored, ledger);
    assert_eq!(restored.to_bytes(), bytes);
    let again: Vec<Vec<u8>> = restored
        .requests(&v, &secret)
        .unwrap()
        .iter()
        .map(Encode::to_bytes)
        .collect();
    let want: Vec<Vec<u8>> = ledger
        .requests(&v, &secret)
        .unwrap()
        .iter()
        .map(Encode::to_bytes)
        .collect();
    assert_eq!(again, want);
    assert!(ledger.covers(&ids(2, 700)[699]));
    // Another generation: refused, ledger unchanged.
    let other = verified(12, 1024, 2);
    assert_eq!(
        ledger.plan(&other, &secret, &ids(3, 5)).unwrap_err(),
        Error::LookupMismatch
    );
    assert_eq!(
        ledger.requests(&other, &secret).unwrap_err(),
        Error::LookupMismatch
    );
    assert_eq!(ledger.to_bytes(), bytes);
    // Strict decoding.
    for cut in [0, 5, 7, 11, 12, 44, bytes.len() - 1] {
        assert!(
            LookupLedger::from_bytes(&bytes[..cut]).is_err(),
            "cut {cut}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(LookupLedger::from_bytes(&long), Err(Error::TrailingBytes));
    let mut t = bytes.clone();
    t[7..11].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        LookupLedger::from_bytes(&t),
        Err(Error::LengthOverMax {
            field: "ledger.contacts"
        })
    );
    let mut t = bytes.clone();
    t[7..11].copy_from_slice(&65_536u32.to_be_bytes());
    assert_eq!(LookupLedger::from_bytes(&t), Err(Error::Truncated));
    // Two contacts out of order.
    let mut t = bytes.clone();
    let (a, b) = (11, 11 + 32);
    let first: Vec<u8> = t[a..a + 32].to_vec();
    let second: Vec<u8> = t[b..b + 32].to_vec();
    t[a..a + 32].copy_from_slice(&second);
    t[b..b + 32].copy_from_slice(&first);
    assert_eq!(
        LookupLedger::from_bytes(&t),
        Err(Error::InvalidEncoding {
            field: "ledger.contacts"
        })
    );
    let mut t = bytes.clone();
    t[6] = 64;
    assert_eq!(LookupLedger::from_bytes(&t), Err(Error::NotASizeClass));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any book, bits and class: one size per batch, at least half dummies, no prefix
    /// twice, every real prefix present; or every bucket exactly once.
    #[test]
    fn every_batch_has_the_promised_shape(
        b in 8u8..=16,
        class_ix in 0usize..3,
        n in 0usize..1500,
        seed in any::<u64>(),
    ) {
        let max = [256u16, 1024, 4096][class_ix];
        prop_assume!(u32::from(max) <= 1u32 << b);
        let v = verified(b, max, 1);
        let bits = BucketBits::new(b).unwrap();
        let book = ids(seed, n);
        let reals = reals_of(&book, bits);
        let requests = v.lookup_batch(&DiscoverySecret::from_bytes(&[5; 32]), &book).unwrap();
        let mut seen = BTreeSet::new();
        for r in &requests {
            prop_assert_eq!(r.prefixes().len(), requests[0].prefixes().len());
            prop_assert!(r.prefixes().len() <= usize::from(max));
            for p in r.prefixes() {
                prop_assert!(seen.insert(*p), "prefix {} twice", p);
            }
        }
        prop_assert!(reals.is_subset(&seen));
        match batch_shape(reals.len(), bits, max) {
            _ if reals.is_empty() => prop_assert!(requests.is_empty()),
            Some((k, q)) => {
                prop_assert_eq!(requests.len(), k);
                for r in &requests {
                    let real = r.prefixes().iter().filter(|p| reals.contains(p)).count();
                    prop_assert!(2 * real <= usize::from(q));
                }
            }
            None => prop_assert_eq!(seen.len(), 1usize << b),
        }
    }
}

/// §9.11.3's intersection figure, measured: an enumerating relay keeps, for each salt
/// generation, the numbers whose bucket was in that generation's lookup. A number not in
/// the book survives a generation with probability |U| / 2^b for a lookup of |U| prefixes,
/// so about ln S / ln(2^b / |U|) generations single the book out. Simulated over S = 2^16
/// numbers with SHA-256 standing in for Argon2id (only the bucket distribution matters).
#[test]
fn intersection_across_generations_follows_the_model() {
    let space: u32 = 1 << 16;
    let book: Vec<u32> = (0..200).map(|i| i * 97 + 11).collect();
    let secret = DiscoverySecret::from_bytes(&[8; 32]);
    let id_of = |generation: u32, x: u32| {
        let mut h = Sha256::new();
        h.update(generation.to_be_bytes());
        h.update(x.to_be_bytes());
        ContactId::from_bytes(h.finalize().into())
    };
    let mut candidates: Vec<u32> = (0..space).collect();
    let mut generations = 0;
    let mut union_sizes = Vec::new();
    for generation in 1..=20u32 {
        let v = verified(12, 1024, generation);
        let b = v.params().bucket_bits();
        let contacts: Vec<ContactId> = book.iter().map(|&x| id_of(generation, x)).collect();
        let mut ledger = LookupLedger::new(&v);
        let requests = ledger.plan(&v, &secret, &contacts).unwrap();
        let union: BTreeSet<u32> = requests
            .iter()
            .flat_map(|r| r.prefixes().to_vec())
            .collect();
        union_sizes.push(union.len());
        candidates.retain(|&x| union.contains(&bucket_prefix(&id_of(generation, x), b)));
        generations = generation;
        if candidates.len() == book.len() {
            break;
        }
    }
    println!("singled out after {generations} generations; lookups of {union_sizes:?} prefixes");
    assert!(book.iter().all(|x| candidates.contains(x)));
    assert_eq!(
        candidates.len(),
        book.len(),
        "not singled out in 20 generations"
    );
    // 200 contacts → one request of 1 024 of 4 096 buckets: survival 1/4 per generation,
    // so ln(2^16) / ln 4 = 8 generations by the model.
    assert!(union_sizes.iter().all(|&u| u == 1024));
    let model = f64::from(space).ln() / (4096f64 / 1024f64).ln();
    assert!(
        (f64::from(generations) - model).abs() <= 2.0,
        "measured {generations}, model {model}"
    );
}
