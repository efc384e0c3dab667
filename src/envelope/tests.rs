//! Envelope tests (spec §8): round trips, strict codec, indistinguishability of senders,
//! tamper rejection, every error of `open`.

use super::*;
use crate::codec::testing::assert_strict;
use crate::keys::IdentityKeyPair;
use crate::wire::{InitialHeader, PrekeyKind};
use proptest::prelude::*;
use rand_chacha::rand_core::{RngCore as _, SeedableRng};
use rand_chacha::ChaCha20Rng;

struct Recipient {
    sealing: SealingKeySecret,
    mailbox: [u8; 32],
}

fn recipient(rng: &mut ChaCha20Rng) -> Recipient {
    let mut mailbox = [0u8; 32];
    rng.fill_bytes(&mut mailbox);
    Recipient {
        sealing: SealingKeySecret::generate(rng),
        mailbox,
    }
}

/// A stand-in ratchet message: the right header, then opaque bytes.
fn ratchet_bytes(len: usize, fill: u8) -> Vec<u8> {
    let mut v = vec![fill; len];
    v[0] = 0x01;
    v[1] = 0x03;
    v
}

fn initial_message(identity: IdentityPublicKey) -> InitialMessage {
    InitialMessage {
        header: InitialHeader {
            initiator: crate::IdentityRecord {
                identity,
                mailbox: [1; 32],
                sealing_key: [2; 32],
                signature: [4; 64],
            },
            ephemeral: [3; 32],
            signed_prekey_id: 1,
            kem_kind: PrekeyKind::SignedKem,
            kem_prekey_id: 2,
            one_time_prekey_id: Some(7),
            kem_ciphertext: Box::new([5; 1088]),
        },
        message: ratchet_bytes(120, 9),
    }
}

fn seal_to(
    rng: &mut ChaCha20Rng,
    r: &Recipient,
    sender: &IdentityPublicKey,
    inner: &[u8],
) -> Envelope {
    seal(rng, &r.mailbox, &r.sealing.public_key(), sender, inner).unwrap()
}

#[test]
fn seal_then_open_recovers_sender_and_inner() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let bob = recipient(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    for len in [2, 100, 184, 185, 1000, 5000] {
        let inner = ratchet_bytes(len, 0xab);
        let env = seal_to(&mut rng, &bob, alice.public(), &inner);
        let bytes = env.to_bytes();
        assert_eq!(bytes.len(), env.encoded_len());
        let content_len = SEALED_SENDER_OVERHEAD + len;
        assert_eq!(
            env.ciphertext().len(),
            padded_len(content_len).unwrap() + 16,
            "ciphertext = P(content) + tag"
        );
        // What a relay does: parse without keys.
        let relay_view = Envelope::decode_exact(&bytes).unwrap();
        assert_eq!(relay_view.mailbox(), &bob.mailbox);
        let opened = open(&bob.sealing, &bob.mailbox, &relay_view).unwrap();
        assert_eq!(opened.sender, *alice.public());
        assert_eq!(opened.inner_type, MessageType::RATCHET_MESSAGE);
        assert_eq!(opened.inner, inner);
        opened.check_sender(alice.public()).unwrap();
    }
}

#[test]
fn initial_message_travels_in_an_envelope_and_binds_the_sender() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let bob = recipient(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let mallory = IdentityKeyPair::generate(&mut rng);
    let msg = initial_message(*alice.public());
    let env = seal_to(&mut rng, &bob, alice.public(), &msg.to_bytes());
    let opened = open(&bob.sealing, &bob.mailbox, &env).unwrap();
    assert_eq!(opened.inner_type, MessageType::INITIAL_MESSAGE);
    assert_eq!(opened.initial_message().unwrap(), msg);
    assert_eq!(
        opened.check_sender(mallory.public()),
        Err(Error::SenderMismatch)
    );

    // Re-sealing: Mallory puts Alice's initial message in an envelope under her own name.
    // The inner header still names Alice, so the recipient rejects the claim.
    let forged = seal_to(&mut rng, &bob, mallory.public(), &msg.to_bytes());
    let opened = open(&bob.sealing, &bob.mailbox, &forged).unwrap();
    assert_eq!(opened.sender, *mallory.public());
    assert_eq!(opened.initial_message(), Err(Error::SenderMismatch));

    // A ratchet message is not an initial message.
    let env = seal_to(&mut rng, &bob, alice.public(), &ratchet_bytes(50, 1));
    let opened = open(&bob.sealing, &bob.mailbox, &env).unwrap();
    assert_eq!(
        opened.initial_message(),
        Err(Error::UnknownMessageType(0x03))
    );
}

/// Every `len`-byte window of `needle` that occurs anywhere in `haystack`.
fn shared_windows(haystack: &[u8], needle: &[u8], len: usize) -> usize {
    needle
        .windows(len)
        .filter(|w| haystack.windows(len).any(|h| h == *w))
        .count()
}

#[test]
fn two_senders_same_bucket_are_indistinguishable_by_length_and_bytes() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let bob = recipient(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let carol = IdentityKeyPair::generate(&mut rng);
    // Inner lengths 40 and 180 both give contents under 256 bytes: one class.
    let a = seal_to(&mut rng, &bob, alice.public(), &ratchet_bytes(40, 0x11)).to_bytes();
    let c = seal_to(&mut rng, &bob, carol.public(), &ratchet_bytes(180, 0x22)).to_bytes();
    assert_eq!(a.len(), c.len());
    // And in a larger class: contents 1030 and 1080 both pad to 1088.
    let a2 = seal_to(&mut rng, &bob, alice.public(), &ratchet_bytes(1030 - 71, 1)).to_bytes();
    let c2 = seal_to(&mut rng, &bob, carol.public(), &ratchet_bytes(1080 - 71, 2)).to_bytes();
    assert_eq!(a2.len(), c2.len());
    // The same prefix: version, type and mailbox; nothing else in common by design.
    assert_eq!(a[..34], c[..34]);
    for env in [&a, &c, &a2, &c2] {
        for id in [alice.public(), carol.public()] {
            assert_eq!(shared_windows(env, &id.signing, 8), 0);
            assert_eq!(shared_windows(env, &id.agreement, 8), 0);
        }
    }
}

#[test]
fn every_single_byte_change_is_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let bob = recipient(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let env = seal_to(&mut rng, &bob, alice.public(), &ratchet_bytes(64, 7));
    let bytes = env.to_bytes();
    let digest_before = *bob.sealing.to_bytes();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut t = bytes.clone();
            t[i] ^= mask;
            let result =
                Envelope::decode_exact(&t).and_then(|e| open(&bob.sealing, &bob.mailbox, &e));
            assert!(result.is_err(), "byte {i} mask {mask:#x} accepted");
        }
    }
    // Opening is stateless: the key is untouched and the original still opens.
    assert_eq!(*bob.sealing.to_bytes(), digest_before);
    assert!(open(&bob.sealing, &bob.mailbox, &env).is_ok());
}

#[test]
fn open_errors() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let bob = recipient(&mut rng);
    let other = recipient(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let env = seal_to(&mut rng, &bob, alice.public(), &ratchet_bytes(30, 3));

    // Wrong mailbox: checked before any key is used.
    assert_eq!(
        open(&bob.sealing, &other.mailbox, &env),
        Err(Error::WrongMailbox)
    );
    // A relay that rewrites the mailbox (to another mailbox of the same owner) breaks
    // the HPKE info binding.
    let moved = Envelope::from_parts(other.mailbox, *env.enc(), env.ciphertext().to_vec()).unwrap();
    assert_eq!(
        open(&bob.sealing, &other.mailbox, &moved),
        Err(Error::Decrypt)
    );
    // Wrong key.
    assert_eq!(
        open(&other.sealing, &bob.mailbox, &env),
        Err(Error::Decrypt)
    );
    // Low-order enc.
    let low = Envelope::from_parts(bob.mailbox, [0u8; 32], env.ciphertext().to_vec()).unwrap();
    assert_eq!(
        open(&bob.sealing, &bob.mailbox, &low),
        Err(Error::NonContributory)
    );

    let ikm = [0x42u8; 32];
    let pk = bob.sealing.public_key();
    let sealed = |pt: &[u8]| seal_padded_for_testing(&ikm, &bob.mailbox, &pk, pt).unwrap();
    // Bad padding: no marker; non-zero after the marker; non-minimal padding.
    assert_eq!(
        open(&bob.sealing, &bob.mailbox, &sealed(&[0u8; 256])),
        Err(Error::BadPadding)
    );
    let content = SealedSenderContent {
        sender: *alice.public(),
        inner_type: MessageType::RATCHET_MESSAGE,
        inner: ratchet_bytes(30, 3),
    }
    .to_bytes();
    let mut p = pad(&content).unwrap().to_vec();
    p[255] = 1;
    assert_eq!(
        open(&bob.sealing, &bob.mailbox, &sealed(&p)),
        Err(Error::BadPadding)
    );
    let mut p = content.clone();
    p.push(0x80);
    p.resize(272, 0);
    assert_eq!(
        open(&bob.sealing, &bob.mailbox, &sealed(&p)),
        Err(Error::BadPadding)
    );
    // Unknown inner type (a bundle, 0x01), correctly padded.
    let mut c = content.clone();
    c[66] = 0x01;
    assert_eq!(
        open(&bob.sealing, &bob.mailbox, &sealed(&pad(&c).unwrap())),
        Err(Error::UnknownMessageType(0x01))
    );
    // Content that is not a sealed-sender content at all.
    let mut c = content.clone();
    c[1] = 0x04;
    assert_eq!(
        open(&bob.sealing, &bob.mailbox, &sealed(&pad(&c).unwrap())),
        Err(Error::UnknownMessageType(0x04))
    );
    // Inner bytes whose header disagrees with the inner type.
    let mut c = content;
    c[72] = 0x02;
    assert_eq!(
        open(&bob.sealing, &bob.mailbox, &sealed(&pad(&c).unwrap())),
        Err(Error::InvalidEncoding {
            field: "sealed.inner"
        })
    );
}

#[test]
fn seal_errors() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let bob = recipient(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let pk = bob.sealing.public_key();
    assert_eq!(
        seal(
            &mut rng,
            &bob.mailbox,
            &pk,
            alice.public(),
            &ratchet_bytes(MAX_ENVELOPE_INNER_LEN + 1, 0)
        ),
        Err(Error::MessageTooLarge)
    );
    assert!(matches!(
        seal(
            &mut rng,
            &bob.mailbox,
            &pk,
            alice.public(),
            &[0x01, 0x01, 0]
        ),
        Err(Error::ApiMisuse { .. })
    ));
    assert!(matches!(
        seal(&mut rng, &bob.mailbox, &pk, alice.public(), &[]),
        Err(Error::ApiMisuse { .. })
    ));
    assert_eq!(
        seal(
            &mut rng,
            &bob.mailbox,
            &[0u8; 32],
            alice.public(),
            &ratchet_bytes(10, 0)
        ),
        Err(Error::NonContributory)
    );
    // The largest inner message fits, in the largest class.
    let env = seal(
        &mut rng,
        &bob.mailbox,
        &pk,
        alice.public(),
        &ratchet_bytes(MAX_ENVELOPE_INNER_LEN, 0),
    )
    .unwrap();
    assert_eq!(env.ciphertext().len(), MAX_ENVELOPE_CIPHERTEXT_LEN);
    assert_eq!(
        open(&bob.sealing, &bob.mailbox, &env).unwrap().inner.len(),
        MAX_ENVELOPE_INNER_LEN
    );
}

#[test]
fn limits_match_the_spec() {
    assert_eq!(MAX_ENVELOPE_INNER_LEN, 68_608);
    assert_eq!(MAX_ENVELOPE_CIPHERTEXT_LEN, 69_648);
    assert_eq!(ENVELOPE_OVERHEAD, 70);
    assert_eq!(SEALED_SENDER_OVERHEAD, 71);
    // The largest initial message fits: header 2 + 1198 + 4 prefix + max ratchet message.
    let big = InitialMessage {
        message: vec![0; crate::limits::MAX_RATCHET_MESSAGE_LEN],
        ..initial_message(IdentityPublicKey {
            signing: [1; 32],
            agreement: [2; 32],
        })
    };
    assert!(big.to_bytes().len() <= MAX_ENVELOPE_INNER_LEN);
    assert_eq!(ENVELOPE_INFO, b"blindrelay v1 envelope");
}

#[test]
fn envelope_codec_is_strict() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let bob = recipient(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let env = seal_to(&mut rng, &bob, alice.public(), &ratchet_bytes(20, 1));
    let bytes = env.to_bytes();
    assert_strict::<Envelope>(&bytes);
    // Header checks.
    let mut t = bytes.clone();
    t[0] = 2;
    assert_eq!(Envelope::decode_exact(&t), Err(Error::UnknownVersion(2)));
    let mut t = bytes.clone();
    t[1] = 0x07;
    assert_eq!(
        Envelope::decode_exact(&t),
        Err(Error::UnknownMessageType(7))
    );
    // A length prefix over the maximum is refused before allocating.
    let mut t = bytes[..66].to_vec();
    t.extend_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        Envelope::decode_exact(&t),
        Err(Error::LengthOverMax {
            field: "envelope.ciphertext"
        })
    );
    // A ciphertext length that is not a padded length plus the tag.
    let mut t = bytes[..66].to_vec();
    t.extend_from_slice(&271u32.to_be_bytes());
    t.extend_from_slice(&[0u8; 271]);
    assert_eq!(
        Envelope::decode_exact(&t),
        Err(Error::InvalidEncoding {
            field: "envelope.ciphertext"
        })
    );
    assert!(Envelope::from_parts([0; 32], [0; 32], vec![0; 15]).is_err());
    assert!(Envelope::from_parts([0; 32], [0; 32], vec![0; 272]).is_ok());

    let content = SealedSenderContent {
        sender: *alice.public(),
        inner_type: MessageType::INITIAL_MESSAGE,
        inner: initial_message(*alice.public()).to_bytes(),
    };
    assert_strict::<SealedSenderContent>(&content.to_bytes());
}

#[test]
fn fuzz_oracles_accept_valid_inputs() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let bob = recipient(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let env = seal_to(&mut rng, &bob, alice.public(), &ratchet_bytes(20, 1));
    crate::fuzzing::envelope_decode(&env.to_bytes());
    crate::fuzzing::envelope_open(&env.to_bytes());
}

fn content_strategy() -> impl Strategy<Value = SealedSenderContent> {
    (
        proptest::array::uniform32(any::<u8>()),
        proptest::array::uniform32(any::<u8>()),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..400),
    )
        .prop_map(|(signing, agreement, initial, body)| {
            let inner_type = if initial {
                MessageType::INITIAL_MESSAGE
            } else {
                MessageType::RATCHET_MESSAGE
            };
            let mut inner = vec![0x01, inner_type.0];
            inner.extend(body);
            SealedSenderContent {
                sender: IdentityPublicKey { signing, agreement },
                inner_type,
                inner,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn envelope_round_trips(
        mailbox in proptest::array::uniform32(any::<u8>()),
        enc in proptest::array::uniform32(any::<u8>()),
        n in 0usize..5000,
        fill in any::<u8>(),
    ) {
        let ct = vec![fill; padded_len(n).unwrap() + 16];
        let env = Envelope::from_parts(mailbox, enc, ct).unwrap();
        let bytes = env.to_bytes();
        prop_assert_eq!(Envelope::decode_exact(&bytes).unwrap(), env);
    }

    #[test]
    fn content_round_trips(c in content_strategy()) {
        let bytes = c.to_bytes();
        prop_assert_eq!(SealedSenderContent::decode_exact(&bytes).unwrap(), c);
    }

    #[test]
    fn tampered_envelopes_are_rejected(
        seed in any::<u64>(),
        len in 2usize..3000,
        at in any::<proptest::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let bob = recipient(&mut rng);
        let alice = IdentityKeyPair::generate(&mut rng);
        let env = seal_to(&mut rng, &bob, alice.public(), &ratchet_bytes(len, 5));
        let mut bytes = env.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        let result = Envelope::decode_exact(&bytes).and_then(|e| open(&bob.sealing, &bob.mailbox, &e));
        prop_assert!(result.is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        crate::fuzzing::envelope_decode(&data);
        crate::fuzzing::envelope_open(&data);
    }
}

/// Issue 15, defect 7: the sealing key was long-term, so its theft revealed the sender of
/// every envelope a relay ever logged. With rotation (spec §8.12) an envelope sealed to the
/// previous key still opens during the grace period (`open_any`), and once that secret is
/// erased a thief of the current key — playing the relay that logged everything — can no
/// longer learn who sent the envelopes sealed to it.
#[test]
fn sealing_key_rotation_bounds_what_a_stolen_key_reveals() {
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let alice = IdentityKeyPair::generate(&mut rng);
    let bob = recipient(&mut rng);
    let inner = ratchet_bytes(200, 4);
    let logged_before = seal(
        &mut rng,
        &bob.mailbox,
        &bob.sealing.public_key(),
        alice.public(),
        &inner,
    )
    .unwrap();
    // Bob rotates: a new key, the old one kept for the grace period.
    let new = SealingKeySecret::generate(&mut rng);
    let logged_after = seal(
        &mut rng,
        &bob.mailbox,
        &new.public_key(),
        alice.public(),
        &inner,
    )
    .unwrap();
    for env in [&logged_before, &logged_after] {
        let opened = open_any(&[&new, &bob.sealing], &bob.mailbox, env).unwrap();
        assert_eq!(opened.sender, *alice.public());
    }
    // Grace over: the old secret is erased. The thief steals Bob's live key.
    let stolen = [&new];
    assert_eq!(
        open_any(&stolen, &bob.mailbox, &logged_before).unwrap_err(),
        Error::Decrypt
    );
    assert_eq!(
        open_any(&stolen, &bob.mailbox, &logged_after)
            .unwrap()
            .sender,
        *alice.public()
    );
    // The API takes one or two live keys; other errors are the envelope's own.
    assert!(matches!(
        open_any(&[], &bob.mailbox, &logged_after),
        Err(Error::ApiMisuse { .. })
    ));
    assert!(matches!(
        open_any(&[&new, &new, &new], &bob.mailbox, &logged_after),
        Err(Error::ApiMisuse { .. })
    ));
    assert_eq!(
        open_any(&[&new, &bob.sealing], &[0; 32], &logged_after).unwrap_err(),
        Error::WrongMailbox
    );
}
