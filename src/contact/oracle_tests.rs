//! The oracle's parameters and one evaluation on the wire (spec §13.6, §13.7), played by
//! the oracle, the relay in the middle, and the client.

use super::test_util::{ids, DAY, NOW};
use super::*;
use crate::codec::testing::assert_strict;
use crate::codec::{Decode, Encode};
use crate::keys::IdentityKeyPair;
use crate::Error;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn oracle() -> (IdentityKeyPair, OracleKey) {
    (
        IdentityKeyPair::from_seed(&[0x0c; 32]),
        OracleKey::derive(&[0x0d; 32], 3).unwrap(),
    )
}

/// A relay's `ch2` parameters naming `identity`'s oracle at `key_epoch`, verified.
fn relay_params(identity: &IdentityKeyPair, key_epoch: u32) -> VerifiedDiscovery {
    let relay = IdentityKeyPair::from_seed(&[7; 32]);
    DiscoveryParameters::sign_ch2(
        &relay,
        key_epoch,
        &SaltNonce([0x22; 32]),
        BucketBits::new(12).unwrap(),
        1024,
        OracleBinding {
            oracle_key: identity.public().signing,
            key_epoch,
        },
        (NOW, NOW + DAY),
    )
    .unwrap()
    .verify(&relay.public().signing, NOW, &mut GenerationMark::new())
    .unwrap()
}

#[test]
fn oracle_parameters_are_strict_signed_and_fresh() {
    let (identity, key) = oracle();
    let pinned = identity.public().signing;
    let p = OracleParameters::sign(&identity, &key, NOW, NOW + DAY).unwrap();
    let bytes = p.to_bytes();
    assert_eq!(bytes.len(), 2 + 1 + 4 + 32 + 8 + 8 + 64);
    assert_eq!(&bytes[..3], &[0x01, 0x14, 0x02]);
    assert_eq!(&bytes[3..7], &3u32.to_be_bytes());
    assert_eq!(&bytes[7..39], &key.public_key().to_bytes());
    assert_strict::<OracleParameters>(&bytes);
    let v = OracleParameters::decode_exact(&bytes)
        .unwrap()
        .verify(&pinned, NOW + 60)
        .unwrap();
    assert_eq!(v.key_epoch(), 3);
    assert_eq!(*v.public_key(), key.public_key());
    // Every byte is covered by the signature or the decoder.
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        let r = OracleParameters::decode_exact(&t).and_then(|p| p.verify(&pinned, NOW));
        assert!(r.is_err(), "byte {i}");
    }
    let other = IdentityKeyPair::from_seed(&[0x0e; 32]).public().signing;
    assert_eq!(
        p.clone().verify(&other, NOW).unwrap_err(),
        Error::BadSignature
    );
    assert_eq!(
        p.clone().verify(&pinned, NOW + DAY).unwrap_err(),
        Error::Expired
    );
    assert_eq!(
        p.clone().verify(&pinned, NOW - 301).unwrap_err(),
        Error::Expired
    );
    p.verify(&pinned, NOW - 300).unwrap();
    assert_eq!(
        OracleParameters::sign(&identity, &key, NOW, NOW + 7 * DAY + 1).unwrap_err(),
        Error::Expired
    );
    let mut t = bytes.clone();
    t[2] = 0x01;
    assert_eq!(
        OracleParameters::decode_exact(&t),
        Err(Error::UnknownSuite(1))
    );
}

#[test]
fn an_evaluation_through_the_relay_gives_the_oracle_keyed_ids() {
    let (identity, key) = oracle();
    let v = OracleParameters::sign(&identity, &key, NOW, NOW + DAY)
        .unwrap()
        .verify(&identity.public().signing, NOW)
        .unwrap();
    let contacts = ids(1, 50);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let (state, request) = v
        .request(&mut rng, &relay_params(&identity, 3), &contacts)
        .unwrap();
    // The relay forwards bytes; the oracle decodes and answers.
    let request = OprfRequest::decode_exact(&request.to_bytes()).unwrap();
    assert_eq!(request.blinded().len(), 50);
    let response = key.answer(&mut rng, &request).unwrap();
    let bytes = response.to_bytes();
    assert_eq!(bytes.len(), 9 + 32 * 50 + 64);
    assert_strict::<OprfResponse>(&bytes);
    let ch2 = v
        .finalize(state, &OprfResponse::decode_exact(&bytes).unwrap())
        .unwrap();
    // Independent of the blinds: the oracle's direct evaluation gives the same ids.
    for (c, id) in contacts.iter().zip(&ch2) {
        assert_eq!(*id, *key.evaluate_unblinded(c).unwrap());
        assert!(*id != *c, "a ch2 id is not the ch1 id");
    }
}

#[test]
fn a_relay_or_oracle_that_tampers_gets_no_ids() {
    let (identity, key) = oracle();
    let v = OracleParameters::sign(&identity, &key, NOW, NOW + DAY)
        .unwrap()
        .verify(&identity.public().signing, NOW)
        .unwrap();
    let contacts = ids(3, 4);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    // Parameters naming another oracle or epoch: the client does not even blind.
    let other = IdentityKeyPair::from_seed(&[0x0e; 32]);
    assert_eq!(
        v.request(&mut rng, &relay_params(&other, 3), &contacts)
            .unwrap_err(),
        Error::LookupMismatch
    );
    assert_eq!(
        v.request(&mut rng, &relay_params(&identity, 4), &contacts)
            .unwrap_err(),
        Error::LookupMismatch
    );
    // Another epoch's key (a relay or oracle trying to tag this client with its own key).
    let rogue = OracleKey::derive(&[0x0d; 32], 4).unwrap();
    let (state, request) = v
        .request(&mut rng, &relay_params(&identity, 3), &contacts)
        .unwrap();
    let mut forged = request.clone();
    forged = OprfRequest::new(4, forged.blinded().to_vec()).unwrap();
    let answer = rogue.answer(&mut rng, &forged).unwrap();
    assert_eq!(
        v.finalize(state, &answer).unwrap_err(),
        Error::LookupMismatch
    );
    // The same epoch number but another key: the proof does not verify.
    let rogue = OracleKey::derive(&[0x0f; 32], 3).unwrap();
    let (state, request) = v
        .request(&mut rng, &relay_params(&identity, 3), &contacts)
        .unwrap();
    let answer = rogue.answer(&mut rng, &request).unwrap();
    assert_eq!(
        v.finalize(state, &answer).unwrap_err(),
        Error::OprfProofInvalid
    );
    // The oracle refuses another epoch and invalid elements.
    assert_eq!(
        key.answer(&mut rng, &forged).unwrap_err(),
        Error::LookupMismatch
    );
    let zero = OprfRequest::new(3, vec![[0u8; 32]]).unwrap();
    assert_eq!(
        key.answer(&mut rng, &zero).unwrap_err(),
        Error::OprfInvalidElement
    );
    // Element counts.
    assert_eq!(
        OprfRequest::new(3, vec![]).unwrap_err(),
        Error::OprfBatchSize
    );
    assert_eq!(
        OprfRequest::new(3, vec![[1; 32]; 4097]).unwrap_err(),
        Error::LengthOverMax {
            field: "oprf.blinded"
        }
    );
    let mut empty = OprfRequest::new(3, vec![[1; 32]]).unwrap().to_bytes();
    empty[7..9].copy_from_slice(&0u16.to_be_bytes());
    empty.truncate(9);
    assert_eq!(OprfRequest::decode_exact(&empty), Err(Error::OprfBatchSize));
    let mut over = OprfRequest::new(3, vec![[1; 32]]).unwrap().to_bytes();
    over[7..9].copy_from_slice(&4097u16.to_be_bytes());
    assert_eq!(
        OprfRequest::decode_exact(&over),
        Err(Error::LengthOverMax {
            field: "oprf.blinded"
        })
    );
    let mut short = OprfRequest::new(3, vec![[1; 32]]).unwrap().to_bytes();
    short[7..9].copy_from_slice(&2u16.to_be_bytes());
    assert_eq!(OprfRequest::decode_exact(&short), Err(Error::Truncated));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any single-byte change of a response in transit: no ids, never a panic.
    #[test]
    fn any_tampered_response_is_refused(at in 0usize..(9 + 32 * 3 + 64), bit in 0u8..8, seed in any::<u64>()) {
        let (identity, key) = oracle();
        let v = OracleParameters::sign(&identity, &key, NOW, NOW + DAY)
            .unwrap()
            .verify(&identity.public().signing, NOW)
            .unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (state, request) = v.request(&mut rng, &relay_params(&identity, 3), &ids(seed, 3)).unwrap();
        let mut bytes = key.answer(&mut rng, &request).unwrap().to_bytes();
        bytes[at] ^= 1 << bit;
        let r = OprfResponse::decode_exact(&bytes).and_then(|resp| v.finalize(state, &resp));
        prop_assert!(r.is_err());
    }

    #[test]
    fn oracle_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        for ty in [0x14u8, 0x15, 0x16] {
            let mut d = vec![0x01, ty, 0x02];
            d.extend_from_slice(&data);
            if let Ok(v) = OracleParameters::decode_exact(&d) { prop_assert_eq!(v.to_bytes(), d.clone()); }
            if let Ok(v) = OprfRequest::decode_exact(&d) { prop_assert_eq!(v.to_bytes(), d.clone()); }
            if let Ok(v) = OprfResponse::decode_exact(&d) { prop_assert_eq!(v.to_bytes(), d.clone()); }
        }
    }
}

/// §13.8's traffic figures, from the encodings: one OPRF round trip for 1 000 contacts
/// through the relay (the `0x30` wrapper adds 34 bytes), and the lookup request of their
/// `ch2` ids at b = 14 under a 4 096 maximum (one request of 4 096 prefixes).
#[test]
fn traffic_for_1000_contacts() {
    let (identity, key) = oracle();
    let v = OracleParameters::sign(&identity, &key, NOW, NOW + DAY)
        .unwrap()
        .verify(&identity.public().signing, NOW)
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let contacts = ids(10, 1000);
    let (state, request) = v
        .request(&mut rng, &relay_params(&identity, 3), &contacts)
        .unwrap();
    let response = key.answer(&mut rng, &request).unwrap();
    let up = 34 + request.to_bytes().len();
    let down = response.to_bytes().len();
    assert_eq!((up, down), (2 + 32 + 9 + 32_000, 9 + 32_000 + 64));
    assert_eq!(up + down, 64_116);
    let ch2 = v.finalize(state, &response).unwrap();
    let relay = IdentityKeyPair::from_seed(&[7; 32]);
    let d = DiscoveryParameters::sign_ch2(
        &relay,
        3,
        &SaltNonce([0x22; 32]),
        BucketBits::new(14).unwrap(),
        4096,
        OracleBinding {
            oracle_key: identity.public().signing,
            key_epoch: 3,
        },
        (NOW, NOW + DAY),
    )
    .unwrap()
    .verify(&relay.public().signing, NOW, &mut GenerationMark::new())
    .unwrap();
    let requests = d
        .lookup_batch(&DiscoverySecret::from_bytes(&[1; 32]), &ch2)
        .unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].to_bytes().len(), 10 + 4 * 4096);
}

/// §13.10, played by the relay: with its whole registry (prefix, tag, record of every `ch2`
/// registration) and the public salt, it computes the `ch1` id of each number it wants to
/// test, and keys it under an OPRF key of its own: no tag matches. Only the oracle's key
/// (an online evaluation, §14.4) finds the registrant.
#[test]
fn a_relay_with_its_whole_registry_cannot_test_a_number_offline() {
    let (identity, key) = oracle();
    let v = OracleParameters::sign(&identity, &key, NOW, NOW + DAY)
        .unwrap()
        .verify(&identity.public().signing, NOW)
        .unwrap();
    let discovery = relay_params(&identity, 3);
    let registrants = ids(20, 50);
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let (state, request) = v.request(&mut rng, &discovery, &registrants).unwrap();
    let ch2 = v
        .finalize(state, &key.answer(&mut rng, &request).unwrap())
        .unwrap();
    let mut registry = std::collections::BTreeMap::new();
    for (i, id) in ch2.iter().enumerate() {
        let reg = discovery
            .register_discoverable(id, &[u8::try_from(i).unwrap()])
            .unwrap();
        let (prefix, entry) = discovery.params().bucket_entry(&reg).unwrap();
        registry.insert((prefix, entry.tag), entry.record);
    }
    let b = discovery.params().bucket_bits();
    let own_key = OracleKey::derive(&[0x99; 32], 3).unwrap();
    for guess in &registrants {
        // The ch1 id, which the salt lets anyone compute, is not what is stored...
        let hit = registry.contains_key(&(bucket_prefix(guess, b), MatchTag::of(guess).0));
        assert!(!hit, "a ch1 id is in the ch2 registry");
        // ...nor its evaluation under any key but the oracle's.
        let keyed = own_key.evaluate_unblinded(guess).unwrap();
        let hit = registry.contains_key(&(bucket_prefix(&keyed, b), MatchTag::of(&keyed).0));
        assert!(!hit, "another key's evaluation is in the registry");
        // The oracle's evaluation is.
        let real = key.evaluate_unblinded(guess).unwrap();
        assert!(registry.contains_key(&(bucket_prefix(&real, b), MatchTag::of(&real).0)));
    }
}
