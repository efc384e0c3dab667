//! Tests of the relay API encodings and checks (spec §12), each check shown to refuse the
//! attack it exists for.

use super::*;
use crate::bundle::BundleKeys;
use crate::codec::testing::assert_strict;
use crate::codec::{Decode, Encode};
use crate::keys::{
    IdentityKeyPair, KemPrekeySecret, OneTimeKemPrekeySecret, OneTimePrekeySecret,
    SealingKeySecret, SignedPrekeySecret,
};
use crate::route::ReadCapability;
use crate::wire::{KemPrekeyPublic, PrekeyBundle, X25519PrekeyPublic};
use crate::Error;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 24 * 3600;

struct Owner {
    identity: IdentityKeyPair,
    capability: ReadCapability,
    bundle: PrekeyBundle,
}

fn owner(seed: u64) -> Owner {
    let rng = &mut ChaCha20Rng::seed_from_u64(seed);
    let identity = IdentityKeyPair::generate(rng);
    let capability = ReadCapability::generate(rng);
    let sealing = SealingKeySecret::generate(rng);
    let spk = SignedPrekeySecret::generate(rng);
    let kpk = KemPrekeySecret::generate(rng);
    let bundle = PrekeyBundle::create(&BundleKeys {
        identity: &identity,
        mailbox: capability.mailbox(),
        sealing: &sealing,
        signed_prekey: (1, &spk),
        kem_prekey: (2, &kpk),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    });
    Owner {
        identity,
        capability,
        bundle,
    }
}

fn one_time_keys(o: &Owner, seed: u64) -> (X25519PrekeyPublic, KemPrekeyPublic) {
    let rng = &mut ChaCha20Rng::seed_from_u64(seed);
    let x = OneTimePrekeySecret::generate(rng);
    let k = OneTimeKemPrekeySecret::generate(rng);
    (
        X25519PrekeyPublic::sign_one_time(&o.identity, 100, &x),
        KemPrekeyPublic::sign_one_time(&o.identity, 200, &k),
    )
}

fn publication(o: &Owner) -> Publication {
    Publication::create(&o.identity, &o.bundle, NOW, NOW + 7 * DAY).unwrap()
}

#[test]
fn publication_round_trips_strictly_and_verifies() {
    let o = owner(1);
    let p = publication(&o);
    assert_strict::<Publication>(&p.to_bytes());
    assert_eq!(Publication::decode_exact(&p.to_bytes()).unwrap(), p);
    p.verify(NOW).unwrap();
    p.verify(NOW + 7 * DAY - 1).unwrap();
}

#[test]
fn publication_times_are_enforced() {
    let o = owner(1);
    let p = publication(&o);
    // Expired: at or after expires_at.
    assert_eq!(p.verify(NOW + 7 * DAY), Err(Error::Expired));
    // Issued in the future beyond the allowed skew.
    assert_eq!(p.verify(NOW - MAX_CLOCK_SKEW_SECS - 1), Err(Error::Expired));
    p.verify(NOW - MAX_CLOCK_SKEW_SECS).unwrap();
    // Windows that are empty or longer than the maximum cannot be created...
    assert!(Publication::create(&o.identity, &o.bundle, NOW, NOW).is_err());
    assert!(Publication::create(
        &o.identity,
        &o.bundle,
        NOW,
        NOW + MAX_PUBLICATION_LIFETIME_SECS + 1
    )
    .is_err());
    Publication::create(
        &o.identity,
        &o.bundle,
        NOW,
        NOW + MAX_PUBLICATION_LIFETIME_SECS,
    )
    .unwrap();
}

#[test]
fn publication_rejects_a_relay_that_moves_its_times() {
    // A relay that extends a stale publication's expiry (or backdates it) breaks the
    // signature: the times are signed.
    let o = owner(1);
    let mut bytes = publication(&o).to_bytes();
    // expires_at is bytes 10..18; add one day.
    let expires = u64::from_be_bytes(bytes[10..18].try_into().unwrap()) + DAY;
    bytes[10..18].copy_from_slice(&expires.to_be_bytes());
    let moved = Publication::decode_exact(&bytes).unwrap();
    assert_eq!(moved.verify(NOW), Err(Error::BadSignature));
}

#[test]
fn publication_signs_the_bundle_without_one_time_keys() {
    // A publication made from a bundle with one-time keys carries (and signs) the base.
    let o = owner(2);
    let (x, k) = one_time_keys(&o, 9);
    let mut with_keys = o.bundle.clone();
    with_keys.one_time_prekey = Some(x);
    with_keys.one_time_kem_prekey = Some(k);
    let p = Publication::create(&o.identity, &with_keys, NOW, NOW + DAY).unwrap();
    assert_eq!(p.bundle(), &o.bundle);
    p.verify(NOW).unwrap();
    // A publication whose bundle carries a one-time key is not canonical.
    let mut bytes = p.to_bytes();
    let flags_at = bytes.len() - 64 - 1;
    bytes[flags_at] = 0x01;
    assert!(Publication::decode_exact(&bytes).is_err());
}

#[test]
fn publication_of_another_identity_is_refused() {
    let a = owner(1);
    let b = owner(2);
    assert!(Publication::create(&b.identity, &a.bundle, NOW, NOW + DAY).is_err());
}

#[test]
fn publish_request_proves_ownership_with_the_capability() {
    let o = owner(3);
    let req = PublishRequest {
        capability: ReadCapability::from_bytes(o.capability.to_bytes()),
        publication: publication(&o),
    };
    assert_strict::<PublishRequest>(&req.to_bytes());
    let back = PublishRequest::decode_exact(&req.to_bytes()).unwrap();
    assert_eq!(back, req);
    req.check(NOW).unwrap();
    // Someone else's capability (the attacker's own) does not open this bundle's mailbox:
    // nobody can publish a bundle over another owner's mailbox.
    let thief = owner(4);
    let forged = PublishRequest {
        capability: ReadCapability::from_bytes(thief.capability.to_bytes()),
        publication: publication(&o),
    };
    assert_eq!(forged.check(NOW), Err(Error::Unauthorized));
    // The attacker's own bundle naming the victim's mailbox needs the victim's capability.
    let mut stolen = thief.bundle.clone();
    stolen.mailbox = o.capability.mailbox();
    let resigned = PrekeyBundle::create(&BundleKeys {
        identity: &thief.identity,
        mailbox: o.capability.mailbox(),
        sealing: &SealingKeySecret::generate(&mut ChaCha20Rng::seed_from_u64(5)),
        signed_prekey: (
            1,
            &SignedPrekeySecret::generate(&mut ChaCha20Rng::seed_from_u64(6)),
        ),
        kem_prekey: (
            2,
            &KemPrekeySecret::generate(&mut ChaCha20Rng::seed_from_u64(7)),
        ),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    });
    let hijack = PublishRequest {
        capability: ReadCapability::from_bytes(thief.capability.to_bytes()),
        publication: Publication::create(&thief.identity, &resigned, NOW, NOW + DAY).unwrap(),
    };
    assert_eq!(hijack.check(NOW), Err(Error::Unauthorized));
}

#[test]
fn claim_response_verifies_and_attaches_one_time_keys() {
    let o = owner(5);
    let (x, k) = one_time_keys(&o, 10);
    let resp = ClaimResponse {
        publication: publication(&o),
        one_time_prekey: Some(x.clone()),
        one_time_kem_prekey: Some(k.clone()),
    };
    assert_strict::<ClaimResponse>(&resp.to_bytes());
    assert_eq!(ClaimResponse::decode_exact(&resp.to_bytes()).unwrap(), resp);
    let verified = resp.clone().verify(&o.capability.mailbox(), NOW).unwrap();
    assert_eq!(verified.bundle().one_time_prekey.as_ref(), Some(&x));
    assert_eq!(verified.bundle().one_time_kem_prekey.as_ref(), Some(&k));
    // Last resort: no one-time keys.
    let bare = ClaimResponse {
        publication: publication(&o),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    };
    assert_strict::<ClaimResponse>(&bare.to_bytes());
    bare.clone().verify(&o.capability.mailbox(), NOW).unwrap();
    // A relay answering with another owner's bundle is caught.
    let other = owner(6);
    assert_eq!(
        bare.clone()
            .verify(&other.capability.mailbox(), NOW)
            .unwrap_err(),
        Error::WrongMailbox
    );
    // A relay attaching a one-time key of another identity is caught.
    let (foreign, _) = one_time_keys(&other, 11);
    let mixed = ClaimResponse {
        one_time_prekey: Some(foreign),
        ..bare.clone()
    };
    assert_eq!(
        mixed.verify(&o.capability.mailbox(), NOW).unwrap_err(),
        Error::BadSignature
    );
    // A relay serving an expired publication is caught by the claimer's clock.
    assert_eq!(
        bare.verify(&o.capability.mailbox(), NOW + 8 * DAY)
            .unwrap_err(),
        Error::Expired
    );
}

#[test]
fn upload_keys_are_verified_against_the_published_identity() {
    let o = owner(7);
    let (x, k) = one_time_keys(&o, 12);
    let req = UploadKeysRequest {
        capability: ReadCapability::from_bytes(o.capability.to_bytes()),
        x25519: vec![x.clone()],
        kem: vec![k.clone()],
    };
    assert_strict::<UploadKeysRequest>(&req.to_bytes());
    assert_eq!(
        UploadKeysRequest::decode_exact(&req.to_bytes()).unwrap(),
        req
    );
    req.verify_keys(&o.bundle.identity).unwrap();
    let other = owner(8);
    assert_eq!(
        req.verify_keys(&other.bundle.identity),
        Err(Error::BadSignature)
    );
    // A one-time X25519 signature is not accepted as a signed prekey's, or vice versa:
    // the kind byte is signed.
    let mut as_kem_kind = o.bundle.signed_prekey.clone();
    as_kem_kind.id = 100;
    assert_eq!(
        as_kem_kind.verify_one_time(&o.bundle.identity),
        Err(Error::BadSignature)
    );
    // Counts over the maximum are refused before allocation.
    let mut bytes = req.to_bytes();
    let at = 2 + 32;
    bytes[at..at + 2].copy_from_slice(&u16::try_from(MAX_UPLOAD_KEYS + 1).unwrap().to_be_bytes());
    assert!(matches!(
        UploadKeysRequest::decode_exact(&bytes),
        Err(Error::LengthOverMax { .. })
    ));
}

#[test]
fn owner_requests_are_bound_to_their_endpoint() {
    let o = owner(9);
    for kind in [
        OwnerRequestKind::Count,
        OwnerRequestKind::Delete,
        OwnerRequestKind::Deregister,
    ] {
        let req = OwnerRequest {
            kind,
            capability: ReadCapability::from_bytes(o.capability.to_bytes()),
        };
        let bytes = req.to_bytes();
        assert_eq!(OwnerRequest::decode_as(kind, &bytes).unwrap(), req);
        for other in [
            OwnerRequestKind::Count,
            OwnerRequestKind::Delete,
            OwnerRequestKind::Deregister,
        ] {
            if other != kind {
                assert!(matches!(
                    OwnerRequest::decode_as(other, &bytes),
                    Err(Error::UnknownMessageType(_))
                ));
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            OwnerRequest::decode_as(kind, &longer),
            Err(Error::TrailingBytes)
        );
        assert_eq!(
            OwnerRequest::decode_as(kind, &bytes[..bytes.len() - 1]),
            Err(Error::Truncated)
        );
    }
}

#[test]
fn fetch_round_trips_and_bounds_hold() {
    let o = owner(10);
    let req = FetchRequest {
        capability: ReadCapability::from_bytes(o.capability.to_bytes()),
        after: 7,
        limit: MAX_FETCH_LIMIT,
    };
    assert_strict::<FetchRequest>(&req.to_bytes());
    assert_eq!(FetchRequest::decode_exact(&req.to_bytes()).unwrap(), req);
    for bad in [0u16, MAX_FETCH_LIMIT + 1] {
        let mut bytes = req.to_bytes();
        let n = bytes.len();
        bytes[n - 2..].copy_from_slice(&bad.to_be_bytes());
        assert!(matches!(
            FetchRequest::decode_exact(&bytes),
            Err(Error::InvalidEncoding { .. })
        ));
    }
    let resp = FetchResponse {
        envelopes: vec![
            FetchedEnvelope {
                seq: 3,
                envelope: vec![1, 2, 3],
            },
            FetchedEnvelope {
                seq: 9,
                envelope: vec![4],
            },
        ],
        more: true,
    };
    assert_strict::<FetchResponse>(&resp.to_bytes());
    assert_eq!(FetchResponse::decode_exact(&resp.to_bytes()).unwrap(), resp);
    // Seqs must increase.
    let unordered = FetchResponse {
        envelopes: vec![resp.envelopes[1].clone(), resp.envelopes[0].clone()],
        more: false,
    };
    assert!(matches!(
        FetchResponse::decode_exact(&unordered.to_bytes()),
        Err(Error::InvalidEncoding { .. })
    ));
    let ack = AckRequest {
        capability: ReadCapability::from_bytes(o.capability.to_bytes()),
        up_to: 9,
    };
    assert_strict::<AckRequest>(&ack.to_bytes());
    assert_eq!(AckRequest::decode_exact(&ack.to_bytes()).unwrap(), ack);
}

#[test]
fn subscribe_delivery_register_error_round_trip() {
    let o = owner(11);
    let sub = SubscribeRequest {
        capabilities: vec![
            ReadCapability::from_bytes(o.capability.to_bytes()),
            ReadCapability::from_bytes([7; 32]),
        ],
    };
    assert_strict::<SubscribeRequest>(&sub.to_bytes());
    assert_eq!(
        SubscribeRequest::decode_exact(&sub.to_bytes()).unwrap(),
        sub
    );
    for n in [0u8, u8::try_from(MAX_SUBSCRIPTIONS + 1).unwrap()] {
        let mut bytes = vec![1, 0x2C, n];
        bytes.extend(core::iter::repeat_n(0u8, 32 * usize::from(n)));
        assert!(matches!(
            SubscribeRequest::decode_exact(&bytes),
            Err(Error::LengthOverMax { .. })
        ));
    }
    let d = Delivery {
        mailbox: [3; 32],
        seq: 42,
        envelope: vec![9; 10],
    };
    assert_strict::<Delivery>(&d.to_bytes());
    assert_eq!(Delivery::decode_exact(&d.to_bytes()).unwrap(), d);
    let reg = RegisterRequest {
        capability: ReadCapability::from_bytes(o.capability.to_bytes()),
        registration: crate::contact::Registration::new(1, [5; 32], &[6; 32]).unwrap(),
    };
    assert_strict::<RegisterRequest>(&reg.to_bytes());
    assert_eq!(RegisterRequest::decode_exact(&reg.to_bytes()).unwrap(), reg);
    let e = ErrorResponse::of(&Error::MailboxFull);
    assert_strict::<ErrorResponse>(&e.to_bytes());
    assert_eq!(ErrorResponse::decode_exact(&e.to_bytes()).unwrap(), e);
    assert_eq!(e.code, 804);
    assert_eq!(e.name(), Some("MailboxFull"));
    assert_eq!(ErrorResponse { code: 1 }.name(), None);
    let c = CountResponse { x25519: 5, kem: 6 };
    assert_strict::<CountResponse>(&c.to_bytes());
    assert_eq!(CountResponse::decode_exact(&c.to_bytes()).unwrap(), c);
    let claim = ClaimRequest { mailbox: [8; 32] };
    assert_strict::<ClaimRequest>(&claim.to_bytes());
    assert_eq!(
        ClaimRequest::decode_exact(&claim.to_bytes()).unwrap(),
        claim
    );
}

#[test]
fn max_request_len_covers_a_full_upload() {
    let o = owner(12);
    let (x, k) = one_time_keys(&o, 13);
    let req = UploadKeysRequest {
        capability: ReadCapability::from_bytes(o.capability.to_bytes()),
        x25519: vec![x; MAX_UPLOAD_KEYS],
        kem: vec![k; MAX_UPLOAD_KEYS],
    };
    assert_eq!(req.to_bytes().len(), MAX_REQUEST_LEN);
}
