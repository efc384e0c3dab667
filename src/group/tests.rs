//! Blind-group envelopes, tokens and credentials (spec §15.2–§15.6).

use super::*;
use crate::envelope::{padded_len, MAILBOX_LEN};
use crate::keys::IdentityKeyPair;
use crate::route::MAILBOX_ID_LABEL;
use crate::Error;
use hkdf::Hkdf;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

fn keys(byte: u8) -> EpochKeys {
    EpochKeys::from_exporter_secret(&[byte; 32])
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(15)
}

/// The derivations of §15.3, recomputed with the `hkdf` and `sha2` crates directly.
#[test]
fn epoch_derivations_follow_the_spec() {
    let secret = [7u8; 32];
    let k = EpochKeys::from_exporter_secret(&secret);
    let hk = Hkdf::<Sha256>::from_prk(&secret).unwrap();
    let mut token = [0u8; 32];
    hk.expand(b"blindrelay v1 group commit token", &mut token)
        .unwrap();
    assert_eq!(k.token().to_bytes(), token);
    let cap: [u8; 32] = Sha256::new()
        .chain_update(b"blindrelay v1 group capability")
        .chain_update(token)
        .finalize()
        .into();
    assert_eq!(k.capability().to_bytes(), cap);
    let mailbox: [u8; 32] = Sha256::new()
        .chain_update(MAILBOX_ID_LABEL)
        .chain_update(cap)
        .finalize()
        .into();
    assert_eq!(k.mailbox(), mailbox);
    // Another epoch secret gives unrelated values.
    let other = keys(8);
    assert_ne!(other.mailbox(), k.mailbox());
    assert_ne!(other.token(), k.token());
}

#[test]
fn seal_open_round_trip_and_length_class() {
    let k = keys(1);
    let mut r = rng();
    for n in [0usize, 1, 100, 255, 256, 1000, 5000] {
        let inner = vec![0xA5u8; n];
        let env = k.seal(&inner, &mut r).unwrap();
        let bytes = env.to_bytes();
        assert_eq!(
            bytes.len(),
            padded_len(n).unwrap() + GROUP_ENVELOPE_OVERHEAD
        );
        assert_eq!(env.encoded_len(), bytes.len());
        let parsed = GroupEnvelope::parse(&bytes).unwrap();
        assert_eq!(parsed, env);
        assert_eq!(parsed.mailbox(), &k.mailbox());
        assert_eq!(&k.open(&parsed).unwrap()[..], &inner[..]);
    }
}

#[test]
fn another_epoch_cannot_open_and_names_the_wrong_mailbox() {
    let env = keys(1).seal(b"hello", &mut rng()).unwrap();
    assert_eq!(keys(2).open(&env), Err(Error::WrongMailbox));
    // Same mailbox, wrong wrap key: a forged envelope re-addressed by someone who knows
    // only the mailbox fails authentication.
    let forged = GroupEnvelope::from_parts(*env.mailbox(), [0; 24], env.body().to_vec()).unwrap();
    assert_eq!(keys(1).open(&forged), Err(Error::Decrypt));
}

#[test]
fn decode_errors_are_precise() {
    let env = keys(1).seal(b"x", &mut rng()).unwrap().to_bytes();
    for cut in 0..env.len() {
        assert!(GroupEnvelope::parse(&env[..cut]).is_err(), "cut {cut}");
    }
    let mut long = env.clone();
    long.push(0);
    assert_eq!(GroupEnvelope::parse(&long), Err(Error::TrailingBytes));
    let mut v = env.clone();
    v[0] = 2;
    assert_eq!(GroupEnvelope::parse(&v), Err(Error::UnknownVersion(2)));
    let mut t = env.clone();
    t[1] = 0x08;
    assert_eq!(
        GroupEnvelope::parse(&t),
        Err(Error::UnknownMessageType(0x08))
    );
    // A body length over the maximum is refused before the input length is looked at.
    let mut over = env[..58].to_vec();
    over.extend_from_slice(&u32::try_from(MAX_GROUP_BODY_LEN + 1).unwrap().to_be_bytes());
    assert_eq!(
        GroupEnvelope::parse(&over),
        Err(Error::LengthOverMax {
            field: "group.body"
        })
    );
    // A body that is not a padded length plus the tag.
    let mut odd = env[..58].to_vec();
    odd.extend_from_slice(&100u32.to_be_bytes());
    odd.extend_from_slice(&[0u8; 100]);
    assert_eq!(
        GroupEnvelope::parse(&odd),
        Err(Error::InvalidEncoding {
            field: "group.body"
        })
    );
    assert_eq!(env.len(), MAILBOX_LEN + 24 + 4 + 2 + 256 + 16);
}

#[test]
fn commit_request_binds_the_token_to_the_mailbox() {
    let k = keys(3);
    let env = k.seal(b"commit", &mut rng()).unwrap();
    let req = CommitRequest::new(k.token().clone(), env.clone()).unwrap();
    let bytes = req.to_bytes();
    let parsed = CommitRequest::parse(&bytes).unwrap();
    assert_eq!(parsed, req);
    parsed.check().unwrap();
    // Another epoch's token does not open this mailbox.
    assert_eq!(
        CommitRequest::new(keys(4).token().clone(), env.clone()).unwrap_err(),
        Error::WrongMailbox
    );
    let mut wrong = bytes.clone();
    wrong[2] ^= 1;
    assert_eq!(
        CommitRequest::parse(&wrong).unwrap().check(),
        Err(Error::WrongMailbox)
    );
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(CommitRequest::parse(&trailing), Err(Error::TrailingBytes));
    for cut in 0..bytes.len() {
        assert!(CommitRequest::parse(&bytes[..cut]).is_err());
    }
}

#[test]
fn credentials_certify_exactly_one_key_for_one_identity() {
    let mut r = rng();
    let alice = IdentityKeyPair::generate(&mut r);
    let bob = IdentityKeyPair::generate(&mut r);
    let key = [9u8; 32];
    let cred = certify_group_key(&alice, &key).to_bytes();
    assert_eq!(verify_group_key(&cred, &key).unwrap(), *alice.public());
    assert_eq!(
        verify_group_key(&cred, &[8u8; 32]),
        Err(Error::BadSignature)
    );
    // Bob's identity with Alice's certificate.
    let mut swapped = cred;
    swapped[..64].copy_from_slice(&bob.public().to_array());
    assert_eq!(verify_group_key(&swapped, &key), Err(Error::BadSignature));
    assert_eq!(
        verify_group_key(&cred[..127], &key),
        Err(Error::InvalidEncoding {
            field: "group.credential"
        })
    );
    assert_eq!(
        verify_group_key(&cred, &key[..31]),
        Err(Error::InvalidPublicKey)
    );
}

proptest! {
    /// Any single flipped bit of a group envelope is refused: by the parser, by the
    /// mailbox check, or by authentication.
    #[test]
    fn any_tampering_is_refused(len in 0usize..600, bit in 0usize..8 * 2000) {
        let k = keys(5);
        let mut bytes = k.seal(&vec![1u8; len], &mut rng()).unwrap().to_bytes();
        let bit = bit % (bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        let opened = GroupEnvelope::parse(&bytes).and_then(|e| k.open(&e).map(|_| ()));
        prop_assert!(opened.is_err());
    }
}
