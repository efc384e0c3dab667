//! Tests of suite `ch1` (spec §9). Expected values come from independent routes: RFC 9106,
//! the research note's worked example (computed by three Argon2id implementations),
//! Python `hashlib`/`hmac` recomputations of the SHA-256 and HKDF derivations, and
//! hand-written byte strings.

use super::test_util::{DAY, NOW};
use super::*;
use crate::codec::testing::assert_strict;
use crate::codec::{Decode, Encode};
use crate::contact::wire::{MAX_LOOKUP_PREFIXES, SIZE_CLASSES, SUITE_CH1};
use crate::keys::IdentityKeyPair;
use crate::Error;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

fn pn(s: &str) -> PhoneNumber {
    PhoneNumber::parse_canonical(s).unwrap()
}

fn random_id(rng: &mut ChaCha20Rng) -> ContactId {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    ContactId::from_bytes(b)
}

fn relay() -> IdentityKeyPair {
    IdentityKeyPair::from_seed(&[7; 32])
}

fn signed(b: u8, max_class: u16, generation: u32) -> DiscoveryParameters {
    DiscoveryParameters::sign(
        &relay(),
        generation,
        &SaltNonce([0x22; 32]),
        BucketBits::new(b).unwrap(),
        max_class,
        NOW - DAY,
        NOW + DAY,
    )
    .unwrap()
}

fn verified(b: u8, max_class: u16, generation: u32) -> VerifiedDiscovery {
    let bytes = signed(b, max_class, generation).to_bytes();
    DiscoveryParameters::decode_exact(&bytes)
        .unwrap()
        .verify(&relay().public().signing, NOW, &mut GenerationMark::new())
        .unwrap()
}

// ---- §9.2 identifiers ----------------------------------------------------------------

#[test]
fn strict_parser_accepts_exactly_the_canonical_form() {
    for ok in ["+1", "+12015550123", "+447700900123", "+999999999999999"] {
        assert_eq!(pn(ok).as_str(), ok);
        assert_eq!(pn(ok).as_bytes(), ok.as_bytes());
    }
    let cases: &[(&str, Error)] = &[
        ("", Error::IdentifierEmpty),
        ("12015550123", Error::IdentifierMissingPlus),
        ("0012015550123", Error::IdentifierMissingPlus),
        ("+", Error::IdentifierNoDigits),
        ("+0201555", Error::IdentifierLeadingZero),
        ("+1234567890123456", Error::IdentifierTooLong),
        ("++12015550123", Error::IdentifierNonDigit),
        ("+1 2015550123", Error::IdentifierNonDigit),
        ("+12015550123\n", Error::IdentifierNonDigit),
        ("+1-201-555-0123", Error::IdentifierNonDigit),
        ("tel:+12015550123", Error::IdentifierMissingPlus),
        ("+\u{FF11}2015550123", Error::IdentifierNonAscii),
        ("+12015550123\u{00A0}", Error::IdentifierNonAscii),
        ("+12015550123;ext=12", Error::IdentifierExtension),
        ("+12015550123x12", Error::IdentifierExtension),
        ("+12015550123,1", Error::IdentifierExtension),
        ("+12015550123#", Error::IdentifierExtension),
        ("+12015550123p1", Error::IdentifierExtension),
        ("+12015550123w1", Error::IdentifierExtension),
    ];
    for (input, err) in cases {
        assert_eq!(PhoneNumber::parse_canonical(input), Err(*err), "{input:?}");
    }
}

/// The regex `^\+[1-9][0-9]{0,14}$`, written independently of the parser.
fn matches_regex(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b.len() <= 16
        && b[0] == b'+'
        && (b'1'..=b'9').contains(&b[1])
        && b[2..].iter().all(u8::is_ascii_digit)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn strict_parser_never_panics_and_agrees_with_the_regex(s in "\\PC{0,24}") {
        let r = PhoneNumber::parse_canonical(&s);
        prop_assert_eq!(r.is_ok(), matches_regex(&s));
        if let Ok(n) = r {
            prop_assert_eq!(n.as_str(), s.as_str());
        }
    }

    #[test]
    fn strict_parser_on_a_phone_alphabet(s in "[+0-9 ;x()-]{0,20}") {
        let r = PhoneNumber::parse_canonical(&s);
        prop_assert_eq!(r.is_ok(), matches_regex(&s));
        if let Err(e) = r {
            prop_assert!((600..=607).contains(&e.code()));
        }
    }

    #[test]
    fn helper_never_panics_and_only_yields_canonical_numbers(s in "\\PC{0,40}") {
        if let Ok(n) = normalize_lenient(&s) {
            prop_assert!(matches_regex(n.as_str()));
        }
    }

    #[test]
    fn helper_on_a_phone_alphabet_only_yields_canonical_numbers(s in "[+0-9 ()\u{FF10}\u{FF0B}-]{0,30}") {
        if let Ok(n) = normalize_lenient(&s) {
            prop_assert!(matches_regex(n.as_str()));
        }
    }

    /// Spec §9.2.1, step 2: a trunk-zero group inserted anywhere after the first digit of
    /// an international number (written `+` then digits, with or without spaces around
    /// the group) never changes the result.
    #[test]
    fn trunk_zero_group_anywhere_after_the_first_digit_is_dropped(
        digits in "[1-9][0-9]{0,14}",
        split in any::<prop::sample::Index>(),
        group in prop::sample::select(vec!["(0)", " (0) ", "( 0 )", "(\u{00A0}0)", "(\u{FF10})"]),
    ) {
        let at = 1 + split.index(digits.len());
        let (head, tail) = digits.split_at(at);
        let input = format!("+{head}{group}{tail}");
        let want = PhoneNumber::parse_canonical(&format!("+{digits}"));
        prop_assert!(want.is_ok());
        prop_assert_eq!(normalize_lenient(&input), want, "{:?}", input);
    }
}

#[test]
fn helper_strips_separators_and_maps_digits_but_never_guesses() {
    for (input, want) in [
        ("+1 (201) 555-0123", "+12015550123"),
        ("+44 7700 900123", "+447700900123"),
        ("+33\u{00A0}6.39.98.00.01", "+33639980001"),
        ("+1/201/555/0123", "+12015550123"),
        (
            "\u{FF0B}\u{FF11}\u{FF12}\u{FF10}\u{FF11}5550123",
            "+12015550123",
        ),
        ("+\u{0661}\u{0662}\u{0660}\u{0661}5550123", "+12015550123"),
        ("+\u{06F1}\u{06F2}\u{06F0}\u{06F1}5550123", "+12015550123"),
        ("+49\u{2011}30\u{2013}1234567", "+49301234567"),
    ] {
        assert_eq!(
            normalize_lenient(input).unwrap().as_str(),
            want,
            "{input:?}"
        );
    }
    // Trunk and international prefixes are not guessed.
    assert_eq!(
        normalize_lenient("030 1234567"),
        Err(Error::IdentifierMissingPlus)
    );
    assert_eq!(
        normalize_lenient("0049 30 1234567"),
        Err(Error::IdentifierMissingPlus)
    );
    // A parenthesised trunk zero after `+` is dropped (spec §9.2.1, step 2) ...
    for (input, want) in [
        ("+49 (0)30 1234567", "+49301234567"),
        ("+44 (0)20 7946 0000", "+442079460000"),
        ("+44 ( 0 ) 20 7946 0000", "+442079460000"),
        ("+44(0)2079460000", "+442079460000"),
        ("+44 (\u{00A0}0\u{2009}) 20 7946 0000", "+442079460000"),
        ("\u{FF0B}44 (\u{FF10})20 7946 0000", "+442079460000"),
        (" +44 (0)20 7946 0000", "+442079460000"),
        ("+44 20 (0) 7946 0000", "+442079460000"),
        ("+44 (0)(0)20 7946 0000", "+442079460000"),
        // ... but nothing else in parentheses is: only the single digit 0.
        ("+1 (201) 555-0123", "+12015550123"),
        ("+44 (00)20 7946 0000", "+4400207946 0000"),
        ("+44 (0-)20 7946 0000", "+440207946 0000"),
        ("+44 (0 20 7946 0000", "+440207946 0000"),
    ] {
        let want = want.replace(' ', "");
        assert_eq!(normalize_lenient(input), Ok(pn(&want)), "{input:?}");
    }
    // Without `+` the group is not special and the strict parser rejects the number.
    assert_eq!(
        normalize_lenient("(0)30 1234567"),
        Err(Error::IdentifierMissingPlus)
    );
    assert_eq!(
        normalize_lenient("49 (0)30 1234567"),
        Err(Error::IdentifierMissingPlus)
    );
    assert_eq!(normalize_lenient("+(0)"), Err(Error::IdentifierNoDigits));
    assert_eq!(
        normalize_lenient("+ ( 0 ) "),
        Err(Error::IdentifierNoDigits)
    );
    assert_eq!(
        normalize_lenient("+1 201 555 0123 ext. 12"),
        Err(Error::IdentifierExtension)
    );
}

#[test]
fn phone_number_debug_is_redacted() {
    let s = format!("{:?}", pn("+12015550123"));
    assert!(!s.contains("2015550123"), "{s}");
}

// ---- §9.3 relay id and salt -----------------------------------------------------------

#[test]
fn relay_id_and_salt_match_an_independent_recomputation() {
    // Python: hashlib.sha256(b"blindrelay v1 contact relay id" + b"\0" + b"\x11"*32)
    let rid = RelayId::from_relay_key(&[0x11; 32]);
    assert_eq!(
        hex::encode(rid.0),
        "d2f10efefb1722d4e897a769958675c33f97a729aecd4a9fe41db770b4fe4583"
    );
    let nonce = SaltNonce([0x22; 32]);
    for (generation, want) in [
        (0, "cc94ac2f6c0f5279ab150c3a259d3482"),
        (1, "a795dc2bc39b13f5afa34a72164825a2"),
        (u32::MAX, "31e542ae67e9ba6e7c97479a45ead8fd"),
    ] {
        assert_eq!(
            hex::encode(ContactSalt::derive(&rid, generation, &nonce).0),
            want
        );
    }
    let mut flipped = nonce;
    flipped.0[31] ^= 1;
    assert_ne!(
        ContactSalt::derive(&rid, 1, &flipped),
        ContactSalt::derive(&rid, 1, &nonce)
    );
}

// ---- §9.4 hash ---------------------------------------------------------------------------

/// RFC 9106 §5.3 (Argon2id, v1.3, m = 32, t = 3, p = 4, secret and associated data) pins
/// the `argon2` dependency.
#[test]
fn rfc9106_argon2id_test_vector() {
    use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};
    let params = ParamsBuilder::new()
        .m_cost(32)
        .t_cost(3)
        .p_cost(4)
        .output_len(32)
        .data(AssociatedData::new(&[0x04; 12]).unwrap())
        .build()
        .unwrap();
    let secret = [0x03; 8];
    let a = Argon2::new_with_secret(&secret, Algorithm::Argon2id, Version::V0x13, params).unwrap();
    let mut out = [0u8; 32];
    a.hash_password_into(&[0x01; 32], &[0x02; 16], &mut out)
        .unwrap();
    assert_eq!(
        hex::encode(out),
        "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
    );
}

/// The research note's worked example: the same construction with its draft labels
/// (`blindrelay/v1/...`), computed by RustCrypto argon2 0.6, argon2-cffi (PHC reference C)
/// and libsodium. Pins the `ch1` Argon2id parameters and the password layout.
#[test]
fn worked_example_from_three_implementations() {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"blindrelay/v1/contact-salt\0");
    h.update([0x11; 32]);
    h.update(1u32.to_be_bytes());
    h.update([0x22; 32]);
    let salt: [u8; 16] = h.finalize()[..16].try_into().unwrap();
    assert_eq!(hex::encode(salt), "6b1b88fc9bcd54514df18fad4552c541");
    let mut hasher = ContactHasher::new(ContactSalt(salt)).unwrap();
    for (e164, want, b12, b16) in [
        (
            "+12015550123",
            "6d33421f39ae468379c8792c629454b814a435f62bf046afaaf91c546a867f44",
            1747,
            27955,
        ),
        (
            "+447700900123",
            "0278c90ca931d9554e754105f2e5c6b82a8bc2686ce9237ffa26cb9afccc59b2",
            39,
            632,
        ),
        (
            "+33639980001",
            "7e7a91d044ecce983e5a47f5c6734ae4fc058d00bbea0f03fc9ccf36cf9560e6",
            2023,
            32378,
        ),
    ] {
        let mut pwd = b"blindrelay/v1/contact-id\0\x01".to_vec();
        pwd.push(u8::try_from(e164.len()).unwrap());
        pwd.extend_from_slice(e164.as_bytes());
        let out = hasher.hash_password(&pwd).unwrap();
        assert_eq!(hex::encode(out), want, "{e164}");
        let id = ContactId::from_bytes(out);
        assert_eq!(bucket_prefix(&id, BucketBits::new(12).unwrap()), b12);
        assert_eq!(bucket_prefix(&id, BucketBits::new(16).unwrap()), b16);
    }
}

#[test]
fn password_layout() {
    let p = password(&pn("+12015550123"));
    let mut want = b"blindrelay v1 contact id".to_vec();
    want.extend_from_slice(&[0x00, 0x01, 12]);
    want.extend_from_slice(b"+12015550123");
    assert_eq!(*p, want);
}

/// The crate's contact id equals the `argon2` crate's defaults (which are the `ch1`
/// parameters) applied to the hand-built password, and reusing the buffer gives the same
/// result as a fresh one.
#[test]
fn contact_id_is_argon2id_defaults_over_the_password() {
    use argon2::Argon2;
    let salt = ContactSalt([0x5a; 16]);
    let mut hasher = ContactHasher::new(salt).unwrap();
    let a = hasher.contact_id(&pn("+12015550123")).unwrap();
    let b = hasher.contact_id(&pn("+12015550123")).unwrap();
    assert_eq!(a, b);
    let mut pwd = b"blindrelay v1 contact id".to_vec();
    pwd.extend_from_slice(&[0x00, 0x01, 12]);
    pwd.extend_from_slice(b"+12015550123");
    let mut want = [0u8; 32];
    Argon2::default()
        .hash_password_into(&pwd, &salt.0, &mut want)
        .unwrap();
    assert_eq!(a.as_bytes(), &want);
    assert_eq!(contact_id(salt, &pn("+12015550123")).unwrap(), a);
}

#[test]
fn ids_differ_across_relays_and_generations() {
    let number = pn("+12015550123");
    let nonce = SaltNonce([0x22; 32]);
    let mut ids = Vec::new();
    for key in [[0x11; 32], [0x12; 32]] {
        let rid = RelayId::from_relay_key(&key);
        for generation in [1, 2] {
            let salt = ContactSalt::derive(&rid, generation, &nonce);
            ids.push(*contact_id(salt, &number).unwrap().as_bytes());
        }
    }
    for i in 0..ids.len() {
        for j in i + 1..ids.len() {
            assert_ne!(ids[i], ids[j], "ids {i} and {j} collide");
        }
    }
}

#[test]
fn secrets_and_ids_have_redacted_debug() {
    let secret = DiscoverySecret::from_bytes(&[0xab; 32]);
    let s = format!("{secret:?}");
    assert!(!s.contains("abab"), "{s}");
    let id = ContactId::from_bytes([0xcd; 32]);
    let s = format!("{id:?}");
    assert!(!s.contains("cdcd") && !s.contains("205"), "{s}");
    let s = format!("{:?}", MatchTag::of(&id));
    assert!(!s.contains("cdcd") && !s.contains("205"), "{s}");
}

// ---- §9.5 buckets -----------------------------------------------------------------------

#[test]
fn bucket_prefix_and_tag_by_hand() {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&[0xab, 0xcd, 0xef, 0x12]);
    for (i, b) in bytes.iter_mut().enumerate().skip(16) {
        *b = u8::try_from(i).unwrap();
    }
    let id = ContactId::from_bytes(bytes);
    // 0xabcdef12 = 1010 1011 1100 1101 1110 ...
    for (b, want) in [
        (8, 0xab),
        (12, 0xabc),
        (13, 0b1_0101_0111_1001),
        (16, 0xabcd),
    ] {
        assert_eq!(
            bucket_prefix(&id, BucketBits::new(b).unwrap()),
            want,
            "b={b}"
        );
    }
    assert_eq!(
        MatchTag::of(&id).0,
        core::array::from_fn(|i| u8::try_from(i + 16).unwrap())
    );
    assert_eq!(BucketBits::new(7), Err(Error::BucketBitsOutOfRange(7)));
    assert_eq!(BucketBits::new(17), Err(Error::BucketBitsOutOfRange(17)));
}

// ---- §9.6 parameters ----------------------------------------------------------------------

#[test]
fn parameters_are_strict_and_signed() {
    let relay = relay();
    let params = DiscoveryParameters::sign(
        &relay,
        3,
        &SaltNonce([0x22; 32]),
        BucketBits::new(12).unwrap(),
        1024,
        NOW,
        NOW + DAY,
    )
    .unwrap();
    let bytes = params.to_bytes();
    assert_eq!(bytes.len(), 2 + 1 + 4 + 32 + 1 + 2 + 8 + 8 + 64);
    assert_eq!(&bytes[..3], &[0x01, 0x10, SUITE_CH1]);
    assert_eq!(&bytes[42..50], &NOW.to_be_bytes());
    assert_eq!(&bytes[50..58], &(NOW + DAY).to_be_bytes());
    assert_strict::<DiscoveryParameters>(&bytes);
    let key = relay.public().signing;
    let v = DiscoveryParameters::decode_exact(&bytes)
        .unwrap()
        .verify(&key, NOW, &mut GenerationMark::new())
        .unwrap();
    assert_eq!(
        *v.relay_id(),
        RelayId::from_relay_key(&relay.public().signing)
    );
    assert_eq!(
        *v.salt(),
        ContactSalt::derive(v.relay_id(), 3, &SaltNonce([0x22; 32]))
    );
    // Every signed byte is covered: flipping it breaks decoding or the signature.
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        let r = DiscoveryParameters::decode_exact(&t)
            .and_then(|p| p.verify(&key, NOW, &mut GenerationMark::new()));
        assert!(r.is_err(), "byte {i}");
    }
    // Another relay's key.
    let other = IdentityKeyPair::from_seed(&[8; 32]);
    assert_eq!(
        DiscoveryParameters::decode_exact(&bytes)
            .unwrap()
            .verify(&other.public().signing, NOW, &mut GenerationMark::new())
            .unwrap_err(),
        Error::BadSignature
    );
    let mut t = bytes.clone();
    t[2] = 0x03;
    assert_eq!(
        DiscoveryParameters::decode_exact(&t),
        Err(Error::UnknownSuite(3))
    );
    let mut t = bytes.clone();
    t[39] = 17;
    assert_eq!(
        DiscoveryParameters::decode_exact(&t),
        Err(Error::BucketBitsOutOfRange(17))
    );
    let mut t = bytes.clone();
    t[40..42].copy_from_slice(&100u16.to_be_bytes());
    assert_eq!(
        DiscoveryParameters::decode_exact(&t),
        Err(Error::NotASizeClass)
    );
    // A size class above 2^b cannot be padded with distinct prefixes.
    assert_eq!(
        DiscoveryParameters::sign(
            &relay,
            3,
            &SaltNonce([0; 32]),
            BucketBits::new(8).unwrap(),
            1024,
            NOW,
            NOW + DAY,
        )
        .unwrap_err(),
        Error::NotASizeClass
    );
    // The floor: a relay may not make clients split a book into 16- or 64-prefix requests.
    for small in [16u16, 64] {
        let mut t = bytes.clone();
        t[40..42].copy_from_slice(&small.to_be_bytes());
        assert_eq!(
            DiscoveryParameters::decode_exact(&t),
            Err(Error::NotASizeClass)
        );
        assert_eq!(
            DiscoveryParameters::sign(
                &relay,
                3,
                &SaltNonce([0; 32]),
                BucketBits::new(12).unwrap(),
                small,
                NOW,
                NOW + DAY,
            )
            .unwrap_err(),
            Error::NotASizeClass
        );
    }
}

/// §9.6: the relay plays an attacker serving stale or replayed parameters; each is refused
/// after the signature verified, and the client's mark is unchanged by every refusal.
#[test]
fn stale_expired_and_rolled_back_parameters_are_refused() {
    let relay = relay();
    let key = relay.public().signing;
    let at = |generation: u32, issued: u64, expires: u64| {
        let mut p = signed(12, 1024, generation);
        p.issued_at = issued;
        p.expires_at = expires;
        p.signature = relay.sign(&p.signature_input());
        DiscoveryParameters::decode_exact(&p.to_bytes()).unwrap()
    };
    let mut mark = GenerationMark::new();
    at(5, NOW - DAY, NOW + DAY)
        .verify(&key, NOW, &mut mark)
        .unwrap();
    assert_eq!(mark.seen(), Some((5, NOW)));
    let before = mark;
    let refusals = [
        // Expired, exactly at expiry, issued too far ahead, empty and over-long windows.
        (at(5, NOW - 2 * DAY, NOW - 1), NOW, Error::Expired),
        (at(5, NOW - DAY, NOW), NOW, Error::Expired),
        (at(5, NOW + 301, NOW + DAY), NOW, Error::Expired),
        (at(5, NOW, NOW), NOW, Error::Expired),
        (
            at(5, NOW - DAY, NOW - DAY + MAX_PARAMETERS_LIFETIME_SECS + 1),
            NOW,
            Error::Expired,
        ),
        // Old (or compromised) parameters of an earlier generation, perfectly signed.
        (
            at(4, NOW - DAY, NOW + DAY),
            NOW,
            Error::GenerationRolledBack,
        ),
        // A rotation forced a day later, to intersect this user's repeated lookups.
        (
            at(6, NOW, NOW + 2 * DAY),
            NOW + DAY,
            Error::GenerationTooSoon,
        ),
    ];
    for (params, now, want) in refusals {
        assert_eq!(params.verify(&key, now, &mut mark).unwrap_err(), want);
        assert_eq!(mark, before, "a refusal changed the mark");
    }
    // The edges that are accepted: issued 300 s ahead, one second before expiry, a window
    // of exactly the maximum, the same generation again, and a rotation after 30 days.
    at(5, NOW + 300, NOW + DAY)
        .verify(&key, NOW, &mut mark)
        .unwrap();
    at(5, NOW - DAY, NOW + 1)
        .verify(&key, NOW, &mut mark)
        .unwrap();
    at(5, NOW, NOW + MAX_PARAMETERS_LIFETIME_SECS)
        .verify(&key, NOW, &mut mark)
        .unwrap();
    assert_eq!(mark, before);
    let later = NOW + MIN_GENERATION_LIFETIME_SECS;
    at(6, later, later + DAY)
        .verify(&key, later, &mut mark)
        .unwrap();
    assert_eq!(mark.seen(), Some((6, later)));
    // The relay cannot sign an invalid window either.
    assert_eq!(
        DiscoveryParameters::sign(
            &relay,
            1,
            &SaltNonce([0; 32]),
            BucketBits::new(12).unwrap(),
            1024,
            NOW,
            NOW + MAX_PARAMETERS_LIFETIME_SECS + 1,
        )
        .unwrap_err(),
        Error::Expired
    );
}

/// §9.6.1: a thief of the client's storage who restores an older mark, or a bug that loses
/// it, re-opens the rollback window; the stored form round-trips exactly and is strict.
#[test]
fn generation_mark_round_trips_and_is_strict() {
    let fresh = GenerationMark::new();
    assert_eq!(fresh.to_bytes(), [0; 13]);
    let seen = fresh.admit(7, NOW).unwrap();
    let bytes = seen.to_bytes();
    assert_eq!(bytes[0], 1);
    assert_eq!(&bytes[1..5], &7u32.to_be_bytes());
    assert_eq!(&bytes[5..13], &NOW.to_be_bytes());
    assert_eq!(GenerationMark::from_bytes(&bytes).unwrap(), seen);
    assert_eq!(GenerationMark::from_bytes(&[0; 13]).unwrap(), fresh);
    assert_eq!(
        GenerationMark::from_bytes(&bytes[..12]),
        Err(Error::Truncated)
    );
    let mut long = bytes.to_vec();
    long.push(0);
    assert_eq!(GenerationMark::from_bytes(&long), Err(Error::TrailingBytes));
    let mut t = bytes;
    t[0] = 2;
    assert!(matches!(
        GenerationMark::from_bytes(&t),
        Err(Error::InvalidEncoding { .. })
    ));
    let mut t = [0u8; 13];
    t[4] = 1;
    assert!(matches!(
        GenerationMark::from_bytes(&t),
        Err(Error::InvalidEncoding { .. })
    ));
    // A restored older mark accepts what the newer one refused: why it must be kept.
    let newer = seen.admit(8, NOW + MIN_GENERATION_LIFETIME_SECS).unwrap();
    assert_eq!(newer.admit(7, NOW), Err(Error::GenerationRolledBack));
    assert!(seen.admit(7, NOW).is_ok());
}

// ---- §9.7 requests -----------------------------------------------------------------------

#[test]
fn batch_key_and_dummies_match_an_independent_hkdf() {
    // Python hmac/hashlib HKDF: secret 0x33*32, relay id of key 0x11*32, generation 1,
    // b = 12, real prefixes [5, 700, 4095].
    let secret = DiscoverySecret::from_bytes(&[0x33; 32]);
    let rid = RelayId::from_relay_key(&[0x11; 32]);
    let b12 = BucketBits::new(12).unwrap();
    let b16 = BucketBits::new(16).unwrap();
    let key = BatchKey::derive(&secret, &rid, 1, b12, &[5, 700, 4095]);
    assert_eq!(
        hex::encode(*key.to_bytes()),
        "c96bc792662e01cc2b3c1b6d22cdf1ba0cfc1504c477bd7b56cf638b2f88d454"
    );
    for (chunk, i, w12, w16) in [
        (0, 0, 573, 9174),
        (0, 1, 2064, 33027),
        (0, 2, 3366, 53864),
        (0, 3, 2732, 43725),
        (1, 0, 2387, 38192),
        (1, 3, 2352, 37640),
    ] {
        assert_eq!(dummy_prefix(&key, b12, chunk, i), w12);
        assert_eq!(dummy_prefix(&key, b16, chunk, i), w16);
    }
    // Another real set, generation or relay gives another key.
    let others = [
        BatchKey::derive(&secret, &rid, 1, b12, &[5, 700]),
        BatchKey::derive(&secret, &rid, 2, b12, &[5, 700, 4095]),
        BatchKey::derive(&secret, &RelayId([0; 32]), 1, b12, &[5, 700, 4095]),
        BatchKey::derive(&secret, &rid, 1, b16, &[5, 700, 4095]),
    ];
    for o in &others {
        assert_ne!(*o.to_bytes(), *key.to_bytes());
    }
}

/// The shape rule of §9.7 step 2, by hand.
#[test]
fn batch_shapes_by_hand() {
    let b = |n| BucketBits::new(n).unwrap();
    // One contact: the smallest class. 8 reals fill half of 16.
    assert_eq!(lookup::batch_shape(1, b(12), 1024), Some((1, 16)));
    assert_eq!(lookup::batch_shape(8, b(12), 1024), Some((1, 16)));
    assert_eq!(lookup::batch_shape(9, b(12), 1024), Some((1, 64)));
    assert_eq!(lookup::batch_shape(512, b(12), 1024), Some((1, 1024)));
    // 513 reals: two requests of 257 and 256 reals, class 1024 each (2048 = half of 4096).
    assert_eq!(lookup::batch_shape(513, b(12), 1024), Some((2, 1024)));
    assert_eq!(lookup::batch_shape(1024, b(12), 1024), Some((2, 1024)));
    // 1025 reals would fill more than half the buckets: every bucket instead.
    assert_eq!(lookup::batch_shape(1025, b(12), 1024), None);
    // The example: 39 reals under the smallest allowed maximum.
    assert_eq!(lookup::batch_shape(39, b(12), 256), Some((1, 256)));
    assert_eq!(lookup::batch_shape(300, b(16), 256), Some((3, 256)));
    assert_eq!(lookup::batch_shape(100, b(8), 256), None);
}

#[test]
fn a_batch_is_order_independent_and_repeatable() {
    let v = verified(12, 1024, 1);
    let secret = DiscoverySecret::from_bytes(&[0x33; 32]);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let ids: Vec<[u8; 32]> = (0..40).map(|_| *random_id(&mut rng).as_bytes()).collect();
    let forward: Vec<ContactId> = ids.iter().map(|b| ContactId::from_bytes(*b)).collect();
    let backward: Vec<ContactId> = ids
        .iter()
        .rev()
        .map(|b| ContactId::from_bytes(*b))
        .collect();
    let mut doubled: Vec<ContactId> = ids.iter().map(|b| ContactId::from_bytes(*b)).collect();
    doubled.extend(ids.iter().map(|b| ContactId::from_bytes(*b)));
    let bytes = |c: &[ContactId]| -> Vec<Vec<u8>> {
        v.lookup_batch(&secret, c)
            .unwrap()
            .iter()
            .map(Encode::to_bytes)
            .collect()
    };
    let a = bytes(&forward);
    assert_eq!(a, bytes(&backward));
    assert_eq!(a, bytes(&forward));
    assert_eq!(a, bytes(&doubled));
    assert_eq!(a.len(), 1);
    assert_strict::<LookupRequest>(&a[0]);
    let req = LookupRequest::decode_exact(&a[0]).unwrap();
    // 40 contacts in distinct buckets need a class of at least 80: 256.
    assert_eq!(req.prefixes().len(), 256);
    for id in &forward {
        let p = bucket_prefix(id, BucketBits::new(12).unwrap());
        assert!(req.prefixes().binary_search(&p).is_ok());
    }
    // Another secret gives other dummies around the same real prefixes.
    let other = DiscoverySecret::from_bytes(&[0x34; 32]);
    assert_ne!(
        v.lookup_batch(&other, &forward).unwrap()[0].to_bytes(),
        a[0]
    );
    // One contact pads to the smallest class; no contacts send nothing.
    assert_eq!(
        v.lookup_batch(&secret, &forward[..1]).unwrap()[0]
            .prefixes()
            .len(),
        16
    );
    assert!(v
        .lookup_batch::<ContactId>(&secret, &[])
        .unwrap()
        .is_empty());
}

#[test]
fn a_batch_over_half_the_buckets_asks_for_every_bucket() {
    let v = verified(8, 256, 1);
    let secret = DiscoverySecret::from_bytes(&[0x33; 32]);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let ids: Vec<ContactId> = (0..100).map(|_| random_id(&mut rng)).collect();
    let reqs = v.lookup_batch(&secret, &ids).unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].prefixes(),
        (0..256).collect::<Vec<u32>>().as_slice()
    );
    let v = verified(10, 256, 1);
    let ids: Vec<ContactId> = (0..600).map(|_| random_id(&mut rng)).collect();
    let reqs = v.lookup_batch(&secret, &ids).unwrap();
    assert_eq!(reqs.len(), 4);
    let all: Vec<u32> = reqs.iter().flat_map(|r| r.prefixes().to_vec()).collect();
    assert_eq!(all, (0..1024).collect::<Vec<u32>>());
}

fn request_bytes(b: u8, prefixes: &[u32]) -> Vec<u8> {
    let mut out = vec![0x01, 0x11, SUITE_CH1, 0, 0, 0, 1, b];
    out.extend_from_slice(&u16::try_from(prefixes.len()).unwrap().to_be_bytes());
    for p in prefixes {
        out.extend_from_slice(&p.to_be_bytes());
    }
    out
}

#[test]
fn request_parser_rejects_each_malformation() {
    let good: Vec<u32> = (0..16).map(|i| i * 3).collect();
    let bytes = request_bytes(12, &good);
    assert_strict::<LookupRequest>(&bytes);
    let mut t = bytes.clone();
    t[2] = 3;
    assert_eq!(LookupRequest::decode_exact(&t), Err(Error::UnknownSuite(3)));
    assert_eq!(
        LookupRequest::decode_exact(&request_bytes(7, &good)),
        Err(Error::BucketBitsOutOfRange(7))
    );
    let mut unsorted = good.clone();
    unsorted.swap(3, 4);
    assert_eq!(
        LookupRequest::decode_exact(&request_bytes(12, &unsorted)),
        Err(Error::PrefixesNotSorted)
    );
    let mut dup = good.clone();
    dup[5] = dup[4];
    assert_eq!(
        LookupRequest::decode_exact(&request_bytes(12, &dup)),
        Err(Error::PrefixesNotSorted)
    );
    let mut high = good.clone();
    high[15] = 4096;
    assert_eq!(
        LookupRequest::decode_exact(&request_bytes(12, &high)),
        Err(Error::PrefixOutOfRange)
    );
    assert_eq!(
        LookupRequest::decode_exact(&request_bytes(12, &good[..15])),
        Err(Error::NotASizeClass)
    );
    let mut over = request_bytes(12, &[]);
    over[8..10].copy_from_slice(
        &u16::try_from(MAX_LOOKUP_PREFIXES + 1)
            .unwrap()
            .to_be_bytes(),
    );
    assert_eq!(
        LookupRequest::decode_exact(&over),
        Err(Error::LengthOverMax {
            field: "lookup.prefixes"
        })
    );
    // A count that claims more than the input holds fails before allocating.
    let mut short = request_bytes(12, &[]);
    short[8..10].copy_from_slice(&4096u16.to_be_bytes());
    assert_eq!(LookupRequest::decode_exact(&short), Err(Error::Truncated));
}

// ---- §9.8 to §9.10 responses, registration, matching ------------------------------------

#[test]
fn matcher_finds_exactly_the_registered_contacts() {
    let v = verified(8, 256, 4);
    let params = v.params();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    // 300 registrants in 256 buckets, so buckets hold several entries; contacts are half
    // registrants, half strangers. One registrant is registered twice (two records).
    let registrants: Vec<[u8; 32]> = (0..300).map(|_| *random_id(&mut rng).as_bytes()).collect();
    let strangers: Vec<[u8; 32]> = (0..50).map(|_| *random_id(&mut rng).as_bytes()).collect();
    let mut store: std::collections::BTreeMap<u32, Vec<BucketEntry>> = Default::default();
    for (i, id) in registrants.iter().enumerate() {
        let reg = v
            .register_discoverable(
                &ContactId::from_bytes(*id),
                format!("mailbox {i}").as_bytes(),
            )
            .unwrap();
        let reg = Registration::decode_exact(&reg.to_bytes()).unwrap();
        let (prefix, entry) = params.bucket_entry(&reg).unwrap();
        store.entry(prefix).or_default().push(entry);
    }
    let dup = v
        .register_discoverable(&ContactId::from_bytes(registrants[0]), b"second")
        .unwrap();
    let (prefix, entry) = params.bucket_entry(&dup).unwrap();
    store.entry(prefix).or_default().push(entry);

    let mut contacts = Vec::new();
    let mut expected = Vec::new();
    for i in 0..50 {
        contacts.push(ContactId::from_bytes(strangers[i]));
        contacts.push(ContactId::from_bytes(registrants[i * 2]));
        expected.push((2 * i + 1, i * 2));
    }
    let secret = DiscoverySecret::from_bytes(&[1; 32]);
    let request = v.lookup_batch(&secret, &contacts).unwrap().remove(0);
    let request = LookupRequest::decode_exact(&request.to_bytes()).unwrap();
    let response = params
        .answer(&request, |p| store.get(&p).cloned().unwrap_or_default())
        .unwrap();
    let bytes = response.to_bytes();
    assert_strict::<LookupResponse>(&bytes);
    let response = LookupResponse::decode_exact(&bytes).unwrap();
    let found = v.match_response(&request, &response, &contacts).unwrap();
    let got: Vec<(usize, Vec<Vec<u8>>)> = found
        .iter()
        .map(|m| (m.contact, m.records.iter().map(|r| r.to_vec()).collect()))
        .collect();
    let want: Vec<(usize, Vec<Vec<u8>>)> = expected
        .iter()
        .map(|&(c, r)| {
            let mut recs = vec![format!("mailbox {r}").into_bytes()];
            if r == 0 {
                recs.push(b"second".to_vec());
                recs.sort();
            }
            (c, recs)
        })
        .collect();
    assert_eq!(got, want);

    // A response for other prefixes, generation or b is refused.
    let other = verified(8, 256, 5);
    assert_eq!(
        other
            .match_response(&request, &response, &contacts)
            .unwrap_err(),
        Error::LookupMismatch
    );
    let partial = LookupResponse::new(4, BucketBits::new(8).unwrap(), vec![]).unwrap();
    assert_eq!(
        v.match_response(&request, &partial, &contacts).unwrap_err(),
        Error::LookupMismatch
    );
    assert_eq!(
        other.params().check_request(&request),
        Err(Error::LookupMismatch)
    );
    assert_eq!(
        other.params().bucket_entry(&dup),
        Err(Error::LookupMismatch)
    );
}

#[test]
fn response_and_registration_parsers_are_strict() {
    let b = BucketBits::new(12).unwrap();
    let entry = |t: u8, r: &[u8]| BucketEntry {
        tag: [t; 16],
        record: r.to_vec(),
    };
    let resp = LookupResponse::new(
        9,
        b,
        vec![
            (7, vec![entry(2, b"b"), entry(1, b"a"), entry(1, b"")]),
            (3, vec![]),
        ],
    )
    .unwrap();
    let bytes = resp.to_bytes();
    assert_eq!(resp.buckets()[0].prefix(), 3);
    assert_strict::<LookupResponse>(&bytes);
    // Header 2 + suite 1 + gen 4 + b 1 + count 2; bucket 3: prefix 4 + count 2;
    // bucket 7: prefix 4 + count 2, then entries of 18 + record.
    let first_entry = 10 + 6 + 6;
    let mut t = bytes.clone();
    t[first_entry..first_entry + 16].copy_from_slice(&[9; 16]);
    assert_eq!(
        LookupResponse::decode_exact(&t),
        Err(Error::InvalidEncoding {
            field: "lookup.entries"
        })
    );
    let mut t = bytes.clone();
    t[10..14].copy_from_slice(&7u32.to_be_bytes());
    assert_eq!(
        LookupResponse::decode_exact(&t),
        Err(Error::PrefixesNotSorted)
    );
    let mut t = bytes.clone();
    t[10..14].copy_from_slice(&5000u32.to_be_bytes());
    assert_eq!(
        LookupResponse::decode_exact(&t),
        Err(Error::PrefixOutOfRange)
    );
    let mut t = bytes.clone();
    t[14..16].copy_from_slice(&4097u16.to_be_bytes());
    assert_eq!(
        LookupResponse::decode_exact(&t),
        Err(Error::LengthOverMax {
            field: "lookup.entries"
        })
    );
    assert_eq!(
        LookupResponse::new(9, b, vec![(1, vec![entry(1, b"x"), entry(1, b"x")])]),
        Err(Error::InvalidEncoding {
            field: "lookup.entries"
        })
    );

    let reg = Registration::new(9, [0x44; 32], b"mailbox").unwrap();
    let bytes = reg.to_bytes();
    assert_eq!(bytes.len(), 2 + 1 + 4 + 32 + 2 + 7);
    assert_strict::<Registration>(&bytes);
    assert_eq!(
        Registration::new(9, [0; 32], &[0; 513]),
        Err(Error::LengthOverMax {
            field: "registration.record"
        })
    );
    let mut t = bytes.clone();
    t[39..41].copy_from_slice(&513u16.to_be_bytes());
    assert_eq!(
        Registration::decode_exact(&t),
        Err(Error::LengthOverMax {
            field: "registration.record"
        })
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn request_round_trips(b in 8u8..=16, class_ix in 0usize..3, seed in any::<u64>()) {
        let bits = BucketBits::new(b).unwrap();
        let class = SIZE_CLASSES[class_ix];
        prop_assume!(u32::from(class) <= bits.bucket_count());
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut set = std::collections::BTreeSet::new();
        while set.len() < usize::from(class) {
            set.insert(rng.next_u32() >> (32 - u32::from(b)));
        }
        let req = LookupRequest::new(rng.next_u32(), bits, set.into_iter().collect()).unwrap();
        let bytes = req.to_bytes();
        prop_assert_eq!(LookupRequest::decode_exact(&bytes).unwrap(), req);
        prop_assert_eq!(bytes.len(), 10 + 4 * usize::from(class));
    }

    #[test]
    fn response_and_registration_round_trip(
        b in 8u8..=16,
        buckets in proptest::collection::btree_map(
            any::<u16>(),
            proptest::collection::vec((any::<[u8; 16]>(), proptest::collection::vec(any::<u8>(), 0..20)), 0..4),
            0..8,
        ),
        generation in any::<u32>(),
    ) {
        let bits = BucketBits::new(b).unwrap();
        let mut map = std::collections::BTreeMap::new();
        for (p, entries) in buckets {
            let mut es: Vec<BucketEntry> = entries
                .into_iter()
                .map(|(tag, record)| BucketEntry { tag, record })
                .collect();
            es.sort();
            es.dedup();
            map.insert(u32::from(p) >> (16 - u32::from(b)), es);
        }
        let resp = LookupResponse::new(generation, bits, map.into_iter().collect()).unwrap();
        let bytes = resp.to_bytes();
        prop_assert_eq!(LookupResponse::decode_exact(&bytes).unwrap(), resp);
        let reg = Registration::new(generation, [b; 32], &bytes[..bytes.len().min(512)]).unwrap();
        prop_assert_eq!(Registration::decode_exact(&reg.to_bytes()).unwrap(), reg);
    }

    #[test]
    fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        for (ty, _) in [(0x10u8, 0), (0x11, 0), (0x12, 0), (0x13, 0)] {
            let mut d = vec![0x01, ty];
            d.extend_from_slice(&data);
            if let Ok(v) = DiscoveryParameters::decode_exact(&d) { prop_assert_eq!(v.to_bytes(), d.clone()); }
            if let Ok(v) = LookupRequest::decode_exact(&d) { prop_assert_eq!(v.to_bytes(), d.clone()); }
            if let Ok(v) = LookupResponse::decode_exact(&d) { prop_assert_eq!(v.to_bytes(), d.clone()); }
            if let Ok(v) = Registration::decode_exact(&d) { prop_assert_eq!(v.to_bytes(), d.clone()); }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The fuzz oracles hold on random input (the fuzzers explore much further).
    #[test]
    fn fuzz_oracles_hold(s in "[+0-9 x;\u{FF10}-\u{FF19}-]{0,20}", data in proptest::collection::vec(any::<u8>(), 0..64)) {
        crate::fuzzing::contact_parse(s.as_bytes());
        crate::fuzzing::contact_normalize(s.as_bytes());
        crate::fuzzing::contact_parse(&data);
        crate::fuzzing::contact_normalize(&data);
        crate::fuzzing::lookup_request_decode(&data);
        crate::fuzzing::lookup_response_decode(&data);
    }
}

/// §9.1, §13.9: a `ch2` relay's parameters name its oracle; every message carries its
/// suite, and a message of the other suite is refused, as is a `ch1` id where a `ch2` id
/// belongs (it would show the relay prefixes it can compute by enumeration).
#[test]
fn suites_do_not_mix() {
    let relay = relay();
    let binding = OracleBinding {
        oracle_key: [0x0c; 32],
        key_epoch: 7,
    };
    let p = DiscoveryParameters::sign_ch2(
        &relay,
        7,
        &SaltNonce([0x22; 32]),
        BucketBits::new(12).unwrap(),
        1024,
        binding,
        (NOW, NOW + DAY),
    )
    .unwrap();
    let bytes = p.to_bytes();
    assert_eq!(bytes.len(), 122 + 36);
    assert_eq!(bytes[2], 0x02);
    assert_eq!(&bytes[42..74], &[0x0c; 32]);
    assert_eq!(&bytes[74..78], &7u32.to_be_bytes());
    assert_strict::<DiscoveryParameters>(&bytes);
    let v = DiscoveryParameters::decode_exact(&bytes)
        .unwrap()
        .verify(&relay.public().signing, NOW, &mut GenerationMark::new())
        .unwrap();
    assert_eq!(v.params().suite(), Suite::Ch2);
    assert_eq!(v.params().oracle(), Some(binding));
    // A ch1 id under ch2 parameters is refused before anything is built.
    let secret = DiscoverySecret::from_bytes(&[1; 32]);
    let ch1 = [ContactId::from_bytes([5; 32])];
    assert!(matches!(
        v.lookup_batch(&secret, &ch1),
        Err(Error::ApiMisuse { .. })
    ));
    assert!(matches!(
        v.register_discoverable(&ch1[0], b"m"),
        Err(Error::ApiMisuse { .. })
    ));
    let mut ledger = LookupLedger::new(&v);
    assert!(matches!(
        ledger.plan(&v, &secret, &ch1),
        Err(Error::ApiMisuse { .. })
    ));
    assert_eq!(ledger, LookupLedger::new(&v));
    // A ch2 id is looked up and registered with suite 0x02.
    let ch2 = [Ch2Id::from_bytes([6; 32])];
    let req = v.lookup_batch(&secret, &ch2).unwrap().remove(0);
    assert_eq!(req.suite(), Suite::Ch2);
    assert_eq!(req.to_bytes()[2], 0x02);
    let reg = v.register_discoverable(&ch2[0], b"m").unwrap();
    assert_eq!(reg.to_bytes()[2], 0x02);
    v.params().bucket_entry(&reg).unwrap();
    let resp = v.params().answer(&req, |_| Vec::new()).unwrap();
    assert_eq!(resp.suite(), Suite::Ch2);
    assert!(v.match_response(&req, &resp, &ch2).unwrap().is_empty());
    // The relay refuses the other suite's messages; the client the other suite's answers.
    let c1 = verified(12, 1024, 7);
    let req1 = c1.lookup_batch(&secret, &ch1).unwrap().remove(0);
    let reg1 = c1.register_discoverable(&ch1[0], b"m").unwrap();
    assert_eq!(v.params().check_request(&req1), Err(Error::LookupMismatch));
    assert_eq!(v.params().bucket_entry(&reg1), Err(Error::LookupMismatch));
    assert_eq!(c1.params().check_request(&req), Err(Error::LookupMismatch));
    let resp1 = c1.params().answer(&req1, |_| Vec::new()).unwrap();
    assert_eq!(
        v.match_responses(&[(&req, &resp1)], &ch2).unwrap_err(),
        Error::LookupMismatch
    );
}
