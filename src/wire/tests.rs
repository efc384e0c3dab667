//! Codec properties of the foundation's messages: canonical round trips for arbitrary
//! values (proptest), and rejection of every truncation and of trailing bytes.

use super::*;
use crate::codec::testing::assert_strict;
use crate::codec::{Decode, Encode};
use crate::Error;
use proptest::prelude::*;

fn arr<const N: usize>() -> impl Strategy<Value = [u8; N]> {
    proptest::collection::vec(any::<u8>(), N).prop_map(|v| v.try_into().unwrap())
}

fn identity() -> impl Strategy<Value = IdentityPublicKey> {
    (arr::<32>(), arr::<32>())
        .prop_map(|(signing, agreement)| IdentityPublicKey { signing, agreement })
}

fn x_prekey() -> impl Strategy<Value = X25519PrekeyPublic> {
    (any::<u32>(), arr::<32>(), arr::<64>()).prop_map(|(id, key, signature)| X25519PrekeyPublic {
        id,
        key,
        signature,
    })
}

fn kem_prekey() -> impl Strategy<Value = KemPrekeyPublic> {
    (any::<u32>(), any::<u8>(), arr::<64>()).prop_map(|(id, fill, signature)| KemPrekeyPublic {
        id,
        key: Box::new([fill; 1184]),
        signature,
    })
}

fn bundle() -> impl Strategy<Value = PrekeyBundle> {
    (
        identity(),
        arr::<32>(),
        arr::<32>(),
        arr::<64>(),
        x_prekey(),
        kem_prekey(),
        proptest::option::of(x_prekey()),
        proptest::option::of(kem_prekey()),
    )
        .prop_map(
            |(
                identity,
                mailbox,
                sealing_key,
                sealing_signature,
                signed_prekey,
                kem_prekey,
                one_time_prekey,
                one_time_kem_prekey,
            )| {
                PrekeyBundle {
                    identity,
                    mailbox,
                    sealing_key,
                    sealing_signature,
                    signed_prekey,
                    kem_prekey,
                    one_time_prekey,
                    one_time_kem_prekey,
                }
            },
        )
}

fn initial() -> impl Strategy<Value = InitialMessage> {
    (
        (identity(), arr::<32>(), arr::<32>(), any::<u8>()),
        arr::<32>(),
        any::<u32>(),
        any::<bool>(),
        any::<u32>(),
        proptest::option::of(any::<u32>()),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(
            |(
                (identity, mailbox, sealing_key, sig),
                ephemeral,
                spk,
                one_time,
                kem_id,
                opk,
                fill,
                message,
            )| InitialMessage {
                header: InitialHeader {
                    initiator: IdentityRecord {
                        identity,
                        mailbox,
                        sealing_key,
                        signature: [sig; 64],
                    },
                    ephemeral,
                    signed_prekey_id: spk,
                    kem_kind: if one_time {
                        PrekeyKind::OneTimeKem
                    } else {
                        PrekeyKind::SignedKem
                    },
                    kem_prekey_id: kem_id,
                    one_time_prekey_id: opk,
                    kem_ciphertext: Box::new([fill; 1088]),
                },
                message,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn bundle_round_trips(b in bundle()) {
        let bytes = b.to_bytes();
        prop_assert_eq!(PrekeyBundle::decode_exact(&bytes).unwrap(), b);
    }

    #[test]
    fn initial_message_round_trips(m in initial()) {
        let bytes = m.to_bytes();
        prop_assert_eq!(InitialMessage::decode_exact(&bytes).unwrap(), m);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_decode_canonically(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
        crate::fuzzing::bundle_decode(&data);
        crate::fuzzing::initial_decode(&data);
    }
}

/// An initial header with fixed field values (not a valid handshake: for codec tests).
fn fixed_header(kem_kind: PrekeyKind, one_time_prekey_id: Option<u32>) -> InitialHeader {
    InitialHeader {
        initiator: IdentityRecord {
            identity: IdentityPublicKey {
                signing: [1; 32],
                agreement: [2; 32],
            },
            mailbox: [7; 32],
            sealing_key: [8; 32],
            signature: [9; 64],
        },
        ephemeral: [3; 32],
        signed_prekey_id: 1,
        kem_kind,
        kem_prekey_id: 4,
        one_time_prekey_id,
        kem_ciphertext: Box::new([5; 1088]),
    }
}

#[test]
fn initial_message_rejects_every_truncation_and_trailing_bytes() {
    for opk in [None, Some(9)] {
        let m = InitialMessage {
            header: fixed_header(PrekeyKind::OneTimeKem, opk),
            message: vec![6; 40],
        };
        let bytes = m.to_bytes();
        assert_eq!(
            bytes.len(),
            2 + 1322 + opk.map_or(0, |_| 4) + 4 + 40,
            "spec §6.3 sizes"
        );
        assert_strict::<InitialMessage>(&bytes);
    }
}

#[test]
fn initial_message_length_prefix_is_bounded() {
    let m = InitialMessage {
        header: fixed_header(PrekeyKind::SignedKem, None),
        message: vec![],
    };
    let mut bytes = m.to_bytes();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        InitialMessage::decode_exact(&bytes),
        Err(Error::LengthOverMax {
            field: "initial.message"
        })
    );
}

#[test]
fn bundle_sizes_match_the_spec() {
    let b = PrekeyBundle {
        identity: IdentityPublicKey {
            signing: [0; 32],
            agreement: [0; 32],
        },
        mailbox: [0; 32],
        sealing_key: [0; 32],
        sealing_signature: [0; 64],
        signed_prekey: X25519PrekeyPublic {
            id: 0,
            key: [0; 32],
            signature: [0; 64],
        },
        kem_prekey: KemPrekeyPublic {
            id: 0,
            key: Box::new([0; 1184]),
            signature: [0; 64],
        },
        one_time_prekey: None,
        one_time_kem_prekey: None,
    };
    assert_eq!(b.to_bytes().len(), 1547);
    let mut full = b.clone();
    full.one_time_prekey = Some(b.signed_prekey.clone());
    full.one_time_kem_prekey = Some(b.kem_prekey.clone());
    assert_eq!(full.to_bytes().len(), 2899);
}

fn ratchet_message() -> impl Strategy<Value = RatchetMessage> {
    (
        arr::<ENCRYPTED_HEADER_LEN>(),
        arr::<BODY_NONCE_LEN>(),
        proptest::collection::vec(any::<u8>(), 16..300),
    )
        .prop_map(|(encrypted_header, body_nonce, body)| RatchetMessage {
            encrypted_header,
            body_nonce,
            body,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Ratchet messages round-trip, and the borrowed parser agrees with the owned one on
    /// valid and mutated inputs alike.
    #[test]
    fn ratchet_message_round_trips(m in ratchet_message(), cut in any::<usize>(), flip in any::<usize>()) {
        let bytes = m.to_bytes();
        prop_assert_eq!(bytes.len(), RATCHET_PREFIX_LEN + m.body.len());
        assert_strict::<RatchetMessage>(&bytes);
        let r = RatchetMessageRef::parse(&bytes).unwrap();
        prop_assert_eq!(r.body, &m.body[..]);
        let mut prefix = RatchetMessageRef::start_encoding(&m.encrypted_header, &m.body_nonce, m.body.len());
        prefix.extend_from_slice(&m.body);
        prop_assert_eq!(&prefix, &bytes);
        let mut mutated = bytes.clone();
        mutated.truncate(cut % (bytes.len() + 1));
        if let Some(b) = mutated.get_mut(flip % (bytes.len() + 1)) { *b ^= 0x80; }
        prop_assert_eq!(
            RatchetMessage::decode_exact(&mutated).map(|m| m.to_bytes()),
            RatchetMessageRef::parse(&mutated).map(|r| r.body.to_vec()).map(|_| mutated.clone())
        );
    }
}

#[test]
fn ratchet_body_bounds() {
    let mut bytes =
        RatchetMessageRef::start_encoding(&[0; ENCRYPTED_HEADER_LEN], &[0; BODY_NONCE_LEN], 15);
    bytes.extend_from_slice(&[0; 15]);
    let short = Error::InvalidEncoding {
        field: "ratchet.body",
    };
    assert_eq!(RatchetMessage::decode_exact(&bytes).unwrap_err(), short);
    assert_eq!(RatchetMessageRef::parse(&bytes).unwrap_err(), short);
    let over = RatchetMessageRef::start_encoding(
        &[0; ENCRYPTED_HEADER_LEN],
        &[0; BODY_NONCE_LEN],
        MAX_BODY_LEN + 1,
    );
    let long = Error::LengthOverMax {
        field: "ratchet.body",
    };
    assert_eq!(RatchetMessage::decode_exact(&over).unwrap_err(), long);
    assert_eq!(RatchetMessageRef::parse(&over).unwrap_err(), long);
    let header = RatchetHeader {
        ratchet_key: [9; 32],
        previous_chain_length: 7,
        message_number: 1 << 31,
    };
    assert_strict::<RatchetHeader>(&header.to_bytes());
    assert_eq!(header.to_bytes().len(), RATCHET_HEADER_LEN);
}

/// Regression (fuzz finding `regression-short-body-trailing`, fuzz/README.md): a body
/// shorter than a tag followed by trailing bytes. The borrowed parser checked for
/// trailing bytes before the minimum body length and reported `TrailingBytes` where the
/// owned parser reported `InvalidEncoding`; both now report the body first.
#[test]
fn regression_short_body_with_trailing_bytes_is_the_same_error_in_both_parsers() {
    let mut bytes =
        RatchetMessageRef::start_encoding(&[0; ENCRYPTED_HEADER_LEN], &[0; BODY_NONCE_LEN], 1);
    bytes.extend_from_slice(&[0x49, 0xbb, 0xf7, 0x6f]);
    let short = Error::InvalidEncoding {
        field: "ratchet.body",
    };
    assert_eq!(RatchetMessage::decode_exact(&bytes).unwrap_err(), short);
    assert_eq!(RatchetMessageRef::parse(&bytes).unwrap_err(), short);
}
