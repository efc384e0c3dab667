//! `contact.json`: contact discovery, suite `ch1` (spec §9): canonical identifiers, relay
//! id and salt, Argon2id passwords and contact ids, bucket prefixes, discovery parameters
//! (validity window, generation mark), lookup batches (batch keys, dummy prefixes), the
//! lookup ledger, and the four discovery messages with negative cases. Also pins Argon2id itself with the
//! RFC 9106 §5.3 vector and the research note's three-implementation example.

use crate::util::*;
use blindrelay::codec::{Decode, Encode};
use blindrelay::contact::lookup::batch_shape;
use blindrelay::contact::wire::SUITE_CH1;
use blindrelay::contact::{
    bucket_prefix, dummy_prefix, normalize_lenient, password, BatchKey, BucketBits, BucketEntry,
    ContactHasher, ContactId, ContactSalt, DiscoveryParameters, DiscoverySecret, GenerationMark,
    LookupLedger, LookupRequest, LookupResponse, MatchTag, PhoneNumber, Registration, RelayId,
    SaltNonce, VerifiedDiscovery, MAX_PARAMETERS_LIFETIME_SECS, MIN_GENERATION_LIFETIME_SECS,
};
use blindrelay::crypto::sig;
use blindrelay::{hazmat, Error, IdentityKeyPair};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const CANONICAL_OK: &[(&str, &str)] = &[
    ("+1", "shortest: one digit (country code 1 alone)"),
    ("+12015550123", "NANP fiction range 555-01xx"),
    ("+447700900123", "Ofcom drama range 07700 900xxx"),
    ("+33639980001", "ARCEP fiction range +33 6 39 98"),
    ("+999123456789012", "15 digits, the maximum"),
];

const CANONICAL_BAD: &[(&str, &str, Error)] = &[
    ("", "empty", Error::IdentifierEmpty),
    ("12015550123", "no plus", Error::IdentifierMissingPlus),
    (
        "0012015550123",
        "international prefix instead of plus",
        Error::IdentifierMissingPlus,
    ),
    ("+", "plus alone", Error::IdentifierNoDigits),
    ("+0201555", "leading zero", Error::IdentifierLeadingZero),
    ("+9991234567890123", "16 digits", Error::IdentifierTooLong),
    ("++12015550123", "double plus", Error::IdentifierNonDigit),
    ("+1 2015550123", "space", Error::IdentifierNonDigit),
    (
        "+12015550123\n",
        "trailing newline",
        Error::IdentifierNonDigit,
    ),
    ("+1-201-555-0123", "hyphens", Error::IdentifierNonDigit),
    (
        "+\u{FF11}2015550123",
        "full-width digit",
        Error::IdentifierNonAscii,
    ),
    (
        "+12015550123;ext=12",
        "extension ;ext=",
        Error::IdentifierExtension,
    ),
    ("+12015550123x12", "extension x", Error::IdentifierExtension),
    ("+12015550123,1", "pause ,", Error::IdentifierExtension),
    ("+12015550123#", "hash sign", Error::IdentifierExtension),
    // §9.2's step order: each input breaks two steps; the earlier step's error wins.
    (
        "+1\u{e9};",
        "non-ASCII and an extension: step 2 before 3",
        Error::IdentifierNonAscii,
    ),
    (
        "\u{e9}12",
        "non-ASCII and no plus: step 2 before 4",
        Error::IdentifierNonAscii,
    ),
    (
        "12;3",
        "extension and no plus: step 3 before 4",
        Error::IdentifierExtension,
    ),
    (
        "x",
        "an extension letter alone: step 3 before 4",
        Error::IdentifierExtension,
    ),
    (
        "+;",
        "extension and no digits: step 3 before 5",
        Error::IdentifierExtension,
    ),
    (
        "+0P1",
        "pause P and a leading zero: step 3 before 6 and 7",
        Error::IdentifierExtension,
    ),
    ("+1w2", "wait w (lower case)", Error::IdentifierExtension),
    (
        "1+2",
        "plus not first: step 4 before 6",
        Error::IdentifierMissingPlus,
    ),
    (
        "+0a",
        "a letter and a leading zero: step 6 before 7",
        Error::IdentifierNonDigit,
    ),
    (
        "+1234567890123456a",
        "a letter and 16 digits: step 6 before 8",
        Error::IdentifierNonDigit,
    ),
    (
        "+0123456789012345",
        "16 digits with a leading zero: step 7 before 8",
        Error::IdentifierLeadingZero,
    ),
    ("+1e5", "an exponent letter", Error::IdentifierNonDigit),
    ("+1\u{0}", "a NUL byte", Error::IdentifierNonDigit),
];

const LENIENT: &[(&str, Option<&str>)] = &[
    ("+1 (201) 555-0123", Some("+12015550123")),
    ("+44 7700 900123", Some("+447700900123")),
    ("+33\u{00A0}6.39.98.00.01", Some("+33639980001")),
    (
        "\u{FF0B}\u{FF11}\u{FF12}\u{FF10}\u{FF11}5550123",
        Some("+12015550123"),
    ),
    (
        "+\u{0661}\u{0662}\u{0660}\u{0661}5550123",
        Some("+12015550123"),
    ),
    (
        "+\u{06F1}\u{06F2}\u{06F0}\u{06F1}5550123",
        Some("+12015550123"),
    ),
    ("030 1234567", None),
    // §9.2.1 step 2: a trunk zero in parentheses after `+` is dropped, not kept as a digit.
    ("+44 (0)20 7946 0000", Some("+442079460000")),
    ("+49 ( 0 ) 30 123-4567", Some("+49301234567")),
    ("(0)30 1234567", None),
];

const BUCKET_BITS: [u8; 4] = [8, 12, 13, 16];

fn relay(seed: u8) -> IdentityKeyPair {
    IdentityKeyPair::from_seed(&[seed; 32])
}

/// The vectors' fixed clock: parameters are issued at `T0` (2026-12-01T00:00:00Z) and
/// expire a week later; a client verifies them at `NOW` unless a case says otherwise.
const T0: u64 = 1_796_256_000;
const DAY: u64 = 24 * 3600;
const WEEK: u64 = MAX_PARAMETERS_LIFETIME_SECS;
const NOW: u64 = T0 + 3600;
/// The stored form of a generation mark that has seen nothing (a freshly pinned key).
const UNSEEN: [u8; 13] = [0; 13];

/// The stored form of a generation mark (spec §9.6.1), built by hand from its layout:
/// `seen (u8) || generation (u32) || since (u64)`.
fn mark(generation: u32, since: u64) -> [u8; 13] {
    let mut m = [0u8; 13];
    m[0] = 1;
    m[1..5].copy_from_slice(&generation.to_be_bytes());
    m[5..].copy_from_slice(&since.to_be_bytes());
    assert_eq!(
        GenerationMark::from_bytes(&m).expect("mark").to_bytes(),
        m,
        "the mark's layout"
    );
    m
}

fn params(seed: u8, generation: u32, nonce: [u8; 32], b: u8, max: u16) -> DiscoveryParameters {
    params_at(seed, generation, nonce, b, max, T0, T0 + WEEK)
}

fn params_at(
    seed: u8,
    generation: u32,
    nonce: [u8; 32],
    b: u8,
    max: u16,
    issued_at: u64,
    expires_at: u64,
) -> DiscoveryParameters {
    DiscoveryParameters::sign(
        &relay(seed),
        generation,
        &SaltNonce(nonce),
        BucketBits::new(b).expect("b in range"),
        max,
        issued_at,
        expires_at,
    )
    .expect("valid parameters")
}

/// Discovery parameters encoded field by field (spec §9.6) and signed with the relay
/// identity of `seed`: for windows and size classes `DiscoveryParameters::sign` refuses, so
/// that a case breaks exactly one rule and its signature is valid.
fn signed_by_hand(
    seed: u8,
    generation: u32,
    nonce: [u8; 32],
    b: u8,
    max: u16,
    issued_at: u64,
    expires_at: u64,
) -> Vec<u8> {
    let mut body = vec![0x01, 0x10, SUITE_CH1];
    body.extend_from_slice(&generation.to_be_bytes());
    body.extend_from_slice(&nonce);
    body.push(b);
    body.extend_from_slice(&max.to_be_bytes());
    body.extend_from_slice(&issued_at.to_be_bytes());
    body.extend_from_slice(&expires_at.to_be_bytes());
    // The signature context: what `signature_input` puts before the unsigned encoding.
    let template = params(seed, 1, nonce, 12, 1024);
    let full = template.signature_input();
    let context = &full[..full.len() - body.len()];
    let mut input = context.to_vec();
    input.extend_from_slice(&body);
    let (ed_seed, _) = hazmat::identity_secrets(&[seed; 32]);
    let signature = sig::sign(&hazmat::ed25519_signing_key(&ed_seed), &input);
    body.extend_from_slice(&signature);
    body
}

/// Verifies `bytes` as a client with `mark` at `now` (spec §9.6): the verified parameters
/// and the stored mark after.
fn verify_at(
    bytes: &[u8],
    key: &[u8; 32],
    now: u64,
    mark: &[u8],
) -> Result<(VerifiedDiscovery, [u8; 13]), Error> {
    let mut m = GenerationMark::from_bytes(mark)?;
    let v = DiscoveryParameters::decode_exact(bytes)?.verify(key, now, &mut m)?;
    Ok((v, m.to_bytes()))
}

fn prefixes(id: &ContactId) -> Value {
    let mut m = serde_json::Map::new();
    for b in BUCKET_BITS {
        m.insert(
            format!("b{b}"),
            json!(bucket_prefix(id, BucketBits::new(b).expect("b"))),
        );
    }
    Value::Object(m)
}

fn ids_of(case: &Value) -> Result<Vec<ContactId>, String> {
    case["contactIds"]
        .as_array()
        .ok_or("missing contactIds")?
        .iter()
        .map(|v| {
            let b = hex::decode(v.as_str().ok_or("contact id not a string")?)
                .map_err(|e| e.to_string())?;
            Ok(ContactId::from_bytes(
                b.try_into().map_err(|_| "contact id not 32 bytes")?,
            ))
        })
        .collect()
}

pub fn generate() -> (String, Value) {
    let mut f = FileBuilder::new(
        "contact.json",
        "Contact discovery, suite ch1: canonical E.164 identifiers, relay id and salt, Argon2id contact ids, bucket prefixes, discovery parameters with their validity window and the client's generation mark, lookup batches (batch keys, dummy prefixes, shapes), the lookup ledger, responses and registrations; negative cases name their error code.",
        &["§9"],
    );
    f.note(
        "NonCanonical",
        "BASIC",
        "The identifier is not in canonical E.164 form.",
    );
    f.note(
        "UnknownSuite",
        "MODIFIED_PARAMETER",
        "The suite byte is neither 0x01 (ch1) nor 0x02 (ch2).",
    );
    f.note("BucketBits", "EDGE_CASE", "Bucket bits outside 8..=16.");
    f.note(
        "SizeClass",
        "EDGE_CASE",
        "A count or maximum that is not a usable size class.",
    );
    f.note(
        "Unsorted",
        "MALLEABILITY",
        "Prefixes, entries or contact ids not strictly ascending (unsorted or duplicated).",
    );
    f.note("PrefixRange", "EDGE_CASE", "A prefix not below 2^b.");
    f.note(
        "OverMax",
        "EDGE_CASE",
        "A count or length above its maximum.",
    );
    f.note("Truncated", "BASIC", "The encoding is cut short.");
    f.note(
        "TrailingBytes",
        "BASIC",
        "One extra byte follows a complete message.",
    );
    f.note(
        "BadSignature",
        "AUTH_BYPASS",
        "A signed byte changed after signing, or the wrong relay key.",
    );
    f.note(
        "Mismatch",
        "MISSING_STEP",
        "A request, response or ledger made under another salt generation or bucket bits than the parameters it is used with.",
    );
    f.note(
        "Expired",
        "MISSING_STEP",
        "The discovery parameters' validity window has ended (now >= expires_at).",
    );
    f.note(
        "NotYetValid",
        "EDGE_CASE",
        "The discovery parameters are issued more than 300 s (MAX_CLOCK_SKEW_SECS) after the client's clock.",
    );
    f.note(
        "Window",
        "MODIFIED_PARAMETER",
        "A validly signed window that is empty (expires_at <= issued_at) or longer than 7 days (MAX_PARAMETERS_LIFETIME_SECS).",
    );
    f.note(
        "RolledBack",
        "MISSING_STEP",
        "A salt generation below the one the client's generation mark holds for this relay key (old or compromised parameters).",
    );
    f.note(
        "TooSoon",
        "MISSING_STEP",
        "A newer salt generation before the mark's generation has been held 30 days (MIN_GENERATION_LIFETIME_SECS).",
    );
    f.note(
        "MarkEncoding",
        "MALLEABILITY",
        "A stored generation mark whose flag byte is not 0 or 1, or an unseen mark (flag 0) with a non-zero generation or time.",
    );
    f.note(
        "EmptyBatch",
        "EDGE_CASE",
        "A stored lookup ledger with a batch of no real prefixes.",
    );

    // §9.2 identifiers.
    for (input, comment) in CANONICAL_OK {
        f.valid(
            "e164-canonical",
            comment,
            json!({ "input": input, "canonical": input }),
        );
    }
    for (input, comment, e) in CANONICAL_BAD {
        f.invalid(
            "e164-canonical",
            comment,
            &["NonCanonical"],
            json!({ "input": input }),
            *e,
        );
    }
    for (input, want) in LENIENT {
        match want {
            Some(w) => f.valid(
                "e164-lenient",
                "informative helper: separators stripped, Unicode digits mapped",
                json!({ "input": input, "canonical": w }),
            ),
            None => f.invalid(
                "e164-lenient",
                "informative helper never guesses a trunk or country prefix",
                &["NonCanonical"],
                json!({ "input": input }),
                Error::IdentifierMissingPlus,
            ),
        }
    }

    // §9.3 relay id and salt.
    let relay_a = relay(0xa1).public().signing;
    let relay_b = relay(0xb2).public().signing;
    let nonce = [0x22; 32];
    for key in [[0x11; 32], relay_a, relay_b] {
        f.valid(
            "relay-id",
            "SHA-256(label || 0x00 || relay Ed25519 key)",
            json!({ "relayKey": h(key), "relayId": h(RelayId::from_relay_key(&key).0) }),
        );
    }
    let rid_a = RelayId::from_relay_key(&relay_a);
    let mut flipped = nonce;
    flipped[0] ^= 0x01;
    for (generation, n, comment) in [
        (0, nonce, "generation 0"),
        (1, nonce, "generation 1"),
        (u32::MAX, nonce, "generation 2^32 - 1"),
        (1, flipped, "generation 1, one nonce bit flipped"),
    ] {
        f.valid(
            "salt",
            comment,
            json!({
                "relayId": h(rid_a.0),
                "saltGeneration": generation,
                "saltNonce": h(n),
                "salt": h(ContactSalt::derive(&rid_a, generation, &SaltNonce(n)).0),
            }),
        );
    }

    // Argon2id pins.
    f.valid(
        "argon2id-rfc9106",
        "RFC 9106 section 5.3 Argon2id test vector (pins the Argon2 implementation)",
        json!({
            "version": 19, "memoryKiB": 32, "passes": 3, "lanes": 4,
            "password": h([0x01; 32]), "salt": h([0x02; 16]), "secret": h([0x03; 8]),
            "associatedData": h([0x04; 12]),
            "tag": "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
        }),
    );
    f.valid(
        "argon2id-ch1",
        "research note worked example (draft labels), computed identically by RustCrypto argon2, argon2-cffi and libsodium crypto_pwhash",
        json!({
            "password": h(b"blindrelay/v1/contact-id\x00\x01\x0c+12015550123"),
            "salt": "6b1b88fc9bcd54514df18fad4552c541",
            "tag": "6d33421f39ae468379c8792c629454b814a435f62bf046afaaf91c546a867f44",
        }),
    );

    // §9.4 contact ids.
    let mut sample_id = None;
    let id_case =
        |f: &mut FileBuilder, key: [u8; 32], generation: u32, e164: &str, comment: &str| {
            let rid = RelayId::from_relay_key(&key);
            let salt = ContactSalt::derive(&rid, generation, &SaltNonce(nonce));
            let number = PhoneNumber::parse_canonical(e164).expect("canonical");
            let id = ContactHasher::new(salt)
                .and_then(|mut hasher| hasher.contact_id(&number))
                .expect("hash");
            f.valid(
                "contact-id",
                comment,
                json!({
                    "relayKey": h(key),
                    "saltGeneration": generation,
                    "saltNonce": h(nonce),
                    "salt": h(salt.0),
                    "e164": e164,
                    "password": h(&*password(&number)),
                    "contactId": h(id.as_bytes()),
                    "matchTag": h(MatchTag::of(&id).0),
                    "prefixes": prefixes(&id),
                }),
            );
            *id.as_bytes()
        };
    for (e164, comment) in CANONICAL_OK.iter().skip(1) {
        let id = id_case(&mut f, relay_a, 1, e164, comment);
        sample_id.get_or_insert(id);
    }
    id_case(
        &mut f,
        relay_a,
        2,
        "+12015550123",
        "same number, same relay, generation 2",
    );
    id_case(
        &mut f,
        relay_b,
        1,
        "+12015550123",
        "same number, another relay, generation 1",
    );

    // §9.5 buckets, including the non-byte-aligned b = 13.
    let sample = sample_id.expect("one id");
    for b in BUCKET_BITS {
        let id = ContactId::from_bytes(sample);
        f.valid(
            "bucket",
            &format!("b = {b}"),
            json!({
                "contactId": h(sample),
                "bucketBits": b,
                "prefix": bucket_prefix(&id, BucketBits::new(b).expect("b")),
                "matchTag": h(MatchTag::of(&id).0),
            }),
        );
    }

    // §9.7 batch keys and dummy prefixes. The first key is the value computed
    // independently (Python's hmac/hashlib HKDF) in the core's
    // `batch_key_and_dummies_match_an_independent_hkdf`.
    let secret = [0x33; 32];
    let client = DiscoverySecret::from_bytes(&secret);
    let rid_11 = RelayId::from_relay_key(&[0x11; 32]);
    let b12 = BucketBits::new(12).expect("b");
    let b16 = BucketBits::new(16).expect("b");
    let pinned = BatchKey::derive(&client, &rid_11, 1, b12, &[5, 700, 4095]);
    assert_eq!(
        hex::encode(*pinned.to_bytes()),
        "c96bc792662e01cc2b3c1b6d22cdf1ba0cfc1504c477bd7b56cf638b2f88d454",
        "the independently computed batch key"
    );
    for (rid, generation, b, reals, comment) in [
        (
            rid_11,
            1u32,
            b12,
            vec![5u32, 700, 4095],
            "three real prefixes, b = 12 (computed independently with Python's hmac and hashlib)",
        ),
        (
            rid_11,
            1,
            b12,
            vec![5, 700],
            "one real prefix fewer: an unrelated key",
        ),
        (
            rid_11,
            2,
            b12,
            vec![5, 700, 4095],
            "salt generation 2: an unrelated key",
        ),
        (
            rid_11,
            1,
            b16,
            vec![5, 700, 4095],
            "b = 16 (the same prefixes): an unrelated key",
        ),
        (
            rid_a,
            u32::MAX,
            b16,
            vec![65535],
            "one real prefix, 2^16 - 1, generation 2^32 - 1",
        ),
    ] {
        let key = BatchKey::derive(&client, &rid, generation, b, &reals);
        f.valid(
            "lookup-batch-key",
            comment,
            json!({
                "clientSecret": h(secret),
                "relayId": h(rid.0),
                "saltGeneration": generation,
                "bucketBits": b.get(),
                "realPrefixes": reals,
                "batchKey": h(*key.to_bytes()),
            }),
        );
    }
    for (chunk, i, want12, want16) in [
        (0u32, 0u32, 573u32, 9174u32),
        (0, 1, 2064, 33027),
        (0, 2, 3366, 53864),
        (0, 3, 2732, 43725),
        (1, 0, 2387, 38192),
        (1, 3, 2352, 37640),
    ] {
        for (b, want) in [(b12, want12), (b16, want16)] {
            let got = dummy_prefix(&pinned, b, chunk, i);
            assert_eq!(got, want, "independently computed dummy prefix");
            assert_eq!(
                independent_dummy(&pinned.to_bytes(), b.get(), chunk, i),
                got
            );
            f.valid(
                "dummy-prefix",
                &format!("request {chunk}, draw {i}, b = {}", b.get()),
                json!({
                    "batchKey": h(*pinned.to_bytes()),
                    "bucketBits": b.get(),
                    "request": chunk,
                    "index": i,
                    "prefix": got,
                }),
            );
        }
    }

    // §9.6 parameters: signed at T0 for a week, verified at NOW by a client whose mark for
    // the relay key is `generationMark`.
    let p = params(0xa1, 1, nonce, 12, 1024);
    let p_bytes = p.to_bytes();
    assert_eq!(
        signed_by_hand(0xa1, 1, nonce, 12, 1024, T0, T0 + WEEK),
        p_bytes,
        "the hand-built encoding"
    );
    let (v, _) = verify_at(&p_bytes, &relay_a, NOW, &UNSEEN).expect("verifies");
    let pvalid = |f: &mut FileBuilder,
                  comment: &str,
                  (generation, b, max): (u32, u8, u16),
                  (issued_at, expires_at): (u64, u64),
                  now: u64,
                  before: [u8; 13]| {
        let p = params_at(0xa1, generation, nonce, b, max, issued_at, expires_at);
        let (v, after) = verify_at(&p.to_bytes(), &relay_a, now, &before).expect("verifies");
        f.valid(
            "discovery-parameters",
            comment,
            json!({
                "relayIdentitySeed": h([0xa1; 32]),
                "relayKey": h(relay_a),
                "saltGeneration": generation,
                "saltNonce": h(nonce),
                "bucketBits": b,
                "maxSizeClass": max,
                "issuedAt": issued_at,
                "expiresAt": expires_at,
                "signatureInput": h(p.signature_input()),
                "discoveryParameters": h(p.to_bytes()),
                "now": now,
                "generationMark": h(before),
                "generationMarkAfter": h(after),
                "relayId": h(v.relay_id().0),
                "salt": h(v.salt().0),
            }),
        );
    };
    pvalid(
        &mut f,
        "signed by the relay identity derived from relayIdentitySeed; a week's window; the first generation the client sees",
        (1, 12, 1024),
        (T0, T0 + WEEK),
        NOW,
        UNSEEN,
    );
    // The largest salt generation, 16-bit buckets and the largest size class.
    pvalid(
        &mut f,
        "salt generation 2^32 - 1, b = 16, max size class 4096",
        (u32::MAX, 16, 4096),
        (T0, T0 + WEEK),
        NOW,
        UNSEEN,
    );
    pvalid(
        &mut f,
        "max size class 256, the smallest allowed (MIN_MAX_SIZE_CLASS), with b = 8",
        (1, 8, 256),
        (T0, T0 + WEEK),
        NOW,
        UNSEEN,
    );
    pvalid(
        &mut f,
        "issued exactly 300 s (MAX_CLOCK_SKEW_SECS) after the client's clock: accepted",
        (1, 12, 1024),
        (T0, T0 + WEEK),
        T0 - 300,
        UNSEEN,
    );
    pvalid(
        &mut f,
        "now = expires_at - 1: the last second of the window",
        (1, 12, 1024),
        (T0, T0 + WEEK),
        T0 + WEEK - 1,
        UNSEEN,
    );
    pvalid(
        &mut f,
        "a window of exactly 7 days (MAX_PARAMETERS_LIFETIME_SECS) starting at T0 + 1000",
        (1, 12, 1024),
        (T0 + 1000, T0 + 1000 + WEEK),
        NOW,
        UNSEEN,
    );
    pvalid(
        &mut f,
        "a window of one second",
        (1, 12, 1024),
        (NOW, NOW + 1),
        NOW,
        UNSEEN,
    );
    pvalid(
        &mut f,
        "the generation the mark holds (first seen 10 days ago): accepted, the mark unchanged",
        (1, 12, 1024),
        (T0, T0 + WEEK),
        NOW,
        mark(1, NOW - 10 * DAY),
    );
    pvalid(
        &mut f,
        "generation 2 exactly 30 days (MIN_GENERATION_LIFETIME_SECS) after generation 1 was first seen: accepted, the mark records generation 2 at now",
        (2, 12, 1024),
        (T0, T0 + WEEK),
        NOW,
        mark(1, NOW - MIN_GENERATION_LIFETIME_SECS),
    );
    pvalid(
        &mut f,
        "generation 9 a year after generation 1: skipping generations is allowed",
        (9, 12, 1024),
        (T0, T0 + WEEK),
        NOW,
        mark(1, NOW - 365 * DAY),
    );
    let pneg_at = |f: &mut FileBuilder,
                   comment: &str,
                   flags: &[&str],
                   bytes: Vec<u8>,
                   key: [u8; 32],
                   now: u64,
                   before: [u8; 13],
                   e: Error| {
        assert_eq!(
            verify_at(&bytes, &key, now, &before).map(drop),
            Err(e),
            "{comment}"
        );
        f.invalid(
            "discovery-parameters",
            comment,
            flags,
            json!({
                "relayKey": h(key),
                "discoveryParameters": h(bytes),
                "now": now,
                "generationMark": h(before),
            }),
            e,
        );
    };
    let pneg = |f: &mut FileBuilder,
                comment: &str,
                flag: &str,
                bytes: Vec<u8>,
                key: [u8; 32],
                e: Error| {
        pneg_at(f, comment, &[flag], bytes, key, NOW, UNSEEN, e);
    };
    let mut t = p_bytes.clone();
    t[2] = 0x03;
    pneg(
        &mut f,
        "suite 0x03 (reserved)",
        "UnknownSuite",
        t,
        relay_a,
        Error::UnknownSuite(3),
    );
    let mut t = p_bytes.clone();
    t[39] = 7;
    pneg(
        &mut f,
        "b = 7",
        "BucketBits",
        t,
        relay_a,
        Error::BucketBitsOutOfRange(7),
    );
    let mut t = p_bytes.clone();
    t[39] = 17;
    pneg(
        &mut f,
        "b = 17",
        "BucketBits",
        t,
        relay_a,
        Error::BucketBitsOutOfRange(17),
    );
    let mut t = p_bytes.clone();
    t[40..42].copy_from_slice(&100u16.to_be_bytes());
    pneg(
        &mut f,
        "max size class 100",
        "SizeClass",
        t,
        relay_a,
        Error::NotASizeClass,
    );
    let mut t = p_bytes.clone();
    t[39] = 8;
    pneg(
        &mut f,
        "max size class 1024 above 2^8",
        "SizeClass",
        t,
        relay_a,
        Error::NotASizeClass,
    );
    let mut t = p_bytes.clone();
    t[10] ^= 0x01;
    pneg(
        &mut f,
        "salt nonce changed after signing",
        "BadSignature",
        t,
        relay_a,
        Error::BadSignature,
    );
    pneg(
        &mut f,
        "verified under another relay's key",
        "BadSignature",
        p_bytes.clone(),
        relay_b,
        Error::BadSignature,
    );
    let mut t = p_bytes.clone();
    t.push(0);
    pneg(
        &mut f,
        "trailing byte",
        "TrailingBytes",
        t,
        relay_a,
        Error::TrailingBytes,
    );
    pneg(
        &mut f,
        "signature cut short",
        "Truncated",
        p_bytes[..p_bytes.len() - 1].to_vec(),
        relay_a,
        Error::Truncated,
    );
    // §9.6: the validity window (Expired, 700), checked after the signature.
    pneg_at(
        &mut f,
        "now = expires_at: the window has ended",
        &["Expired"],
        p_bytes.clone(),
        relay_a,
        T0 + WEEK,
        UNSEEN,
        Error::Expired,
    );
    pneg_at(
        &mut f,
        "now = expires_at + 30 days",
        &["Expired"],
        p_bytes.clone(),
        relay_a,
        T0 + WEEK + 30 * DAY,
        UNSEEN,
        Error::Expired,
    );
    pneg_at(
        &mut f,
        "issued 301 s after the client's clock (more than MAX_CLOCK_SKEW_SECS ahead)",
        &["NotYetValid"],
        p_bytes.clone(),
        relay_a,
        T0 - 301,
        UNSEEN,
        Error::Expired,
    );
    for (comment, issued_at, expires_at) in [
        (
            "a window of 7 days + 1 s, validly signed (longer than MAX_PARAMETERS_LIFETIME_SECS)",
            T0,
            T0 + WEEK + 1,
        ),
        (
            "a window of 30 days, validly signed, verified inside it",
            T0,
            T0 + 30 * DAY,
        ),
        (
            "an empty window (expires_at = issued_at), validly signed",
            NOW,
            NOW,
        ),
        ("expires_at before issued_at, validly signed", T0 + WEEK, T0),
    ] {
        pneg_at(
            &mut f,
            comment,
            &["Window"],
            signed_by_hand(0xa1, 1, nonce, 12, 1024, issued_at, expires_at),
            relay_a,
            NOW,
            UNSEEN,
            Error::Expired,
        );
    }
    // §9.6: max_size_class has a floor of 256 (decoding refuses it).
    for max in [64u16, 16] {
        pneg(
            &mut f,
            &format!("max size class {max}, a size class below MIN_MAX_SIZE_CLASS = 256 (validly signed)"),
            "SizeClass",
            signed_by_hand(0xa1, 1, nonce, 12, max, T0, T0 + WEEK),
            relay_a,
            Error::NotASizeClass,
        );
    }
    // §9.6.1: the client's generation mark.
    let p_gen2 = params(0xa1, 2, nonce, 12, 1024);
    pneg_at(
        &mut f,
        "generation 1 to a client whose mark holds generation 2: rolled back",
        &["RolledBack"],
        p_bytes.clone(),
        relay_a,
        NOW,
        mark(2, T0 - 40 * DAY),
        Error::GenerationRolledBack,
    );
    pneg_at(
        &mut f,
        "generation 2 one day after generation 1 was first seen: too soon",
        &["TooSoon"],
        p_gen2.to_bytes(),
        relay_a,
        NOW,
        mark(1, NOW - DAY),
        Error::GenerationTooSoon,
    );
    pneg_at(
        &mut f,
        "generation 2 one second before generation 1 has been held 30 days: too soon",
        &["TooSoon"],
        p_gen2.to_bytes(),
        relay_a,
        NOW,
        mark(1, NOW - MIN_GENERATION_LIFETIME_SECS + 1),
        Error::GenerationTooSoon,
    );
    // §9.6 order: the signature, then the window, then the mark.
    let mut t = p_bytes.clone();
    t[10] ^= 0x01;
    pneg_at(
        &mut f,
        "a changed byte on expired parameters: BadSignature (the signature is checked first)",
        &["BadSignature", "Expired"],
        t,
        relay_a,
        T0 + WEEK + DAY,
        UNSEEN,
        Error::BadSignature,
    );
    pneg_at(
        &mut f,
        "expired parameters of a rolled-back generation: Expired (the window before the mark)",
        &["Expired", "RolledBack"],
        p_bytes.clone(),
        relay_a,
        T0 + WEEK,
        mark(2, T0 - 40 * DAY),
        Error::Expired,
    );
    pneg_at(
        &mut f,
        "a window of 8 days on parameters signed by another relay: BadSignature first",
        &["BadSignature", "Window"],
        signed_by_hand(0xb2, 1, nonce, 12, 1024, T0, T0 + 8 * DAY),
        relay_a,
        NOW,
        UNSEEN,
        Error::BadSignature,
    );
    // An undecodable stored mark is the caller's input error, not the parameters'.
    pneg_at(
        &mut f,
        "valid parameters, a stored generation mark with flag byte 2",
        &["MarkEncoding"],
        p_bytes.clone(),
        relay_a,
        NOW,
        {
            let mut m = UNSEEN;
            m[0] = 2;
            m
        },
        Error::InvalidEncoding {
            field: "generation_mark",
        },
    );

    // §9.6.1: the generation mark alone (`GenerationMark::admit` and its stored form).
    let admit =
        |f: &mut FileBuilder, comment: &str, before: [u8; 13], generation: u32, now: u64| {
            let m = GenerationMark::from_bytes(&before).expect("mark");
            match m.admit(generation, now) {
                Ok(after) => f.valid(
                    "generation-mark",
                    comment,
                    json!({
                        "generationMark": h(before),
                        "saltGeneration": generation,
                        "now": now,
                        "generationMarkAfter": h(after.to_bytes()),
                    }),
                ),
                Err(err) => f.invalid(
                    "generation-mark",
                    comment,
                    &[if err == Error::GenerationRolledBack {
                        "RolledBack"
                    } else {
                        "TooSoon"
                    }],
                    json!({
                        "generationMark": h(before),
                        "saltGeneration": generation,
                        "now": now,
                    }),
                    err,
                ),
            }
        };
    admit(
        &mut f,
        "unseen: generation 1 is recorded with now",
        UNSEEN,
        1,
        NOW,
    );
    admit(
        &mut f,
        "unseen: generation 0 is recorded with now",
        UNSEEN,
        0,
        NOW,
    );
    admit(
        &mut f,
        "the same generation a year later: unchanged (the first-seen time is kept)",
        mark(3, T0),
        3,
        T0 + 365 * DAY,
    );
    admit(
        &mut f,
        "seen generation 0 at time 0 (not the unseen mark): generation 0 again is unchanged",
        mark(0, 0),
        0,
        NOW,
    );
    admit(
        &mut f,
        "a newer generation exactly 30 days after: recorded with now",
        mark(1, T0),
        2,
        T0 + MIN_GENERATION_LIFETIME_SECS,
    );
    admit(
        &mut f,
        "generation 2^32 - 1 after generation 7, 31 days later",
        mark(7, T0),
        u32::MAX,
        T0 + 31 * DAY,
    );
    admit(
        &mut f,
        "an older generation: rolled back",
        mark(2, T0),
        1,
        NOW,
    );
    admit(
        &mut f,
        "an older generation a year later: still rolled back",
        mark(5, T0),
        4,
        T0 + 365 * DAY,
    );
    admit(
        &mut f,
        "a newer generation 1 s before the 30 days have passed: too soon",
        mark(1, T0),
        2,
        T0 + MIN_GENERATION_LIFETIME_SECS - 1,
    );
    admit(
        &mut f,
        "a newer generation with the clock before the first-seen time: too soon",
        mark(1, NOW),
        2,
        T0,
    );
    let mneg = |f: &mut FileBuilder, comment: &str, flag: &str, bytes: Vec<u8>, e: Error| {
        assert_eq!(GenerationMark::from_bytes(&bytes), Err(e), "{comment}");
        f.invalid(
            "generation-mark",
            comment,
            &[flag],
            json!({ "generationMark": h(bytes) }),
            e,
        );
    };
    let seen = mark(1, T0);
    let mut t = seen;
    t[0] = 2;
    mneg(
        &mut f,
        "flag byte 2",
        "MarkEncoding",
        t.to_vec(),
        Error::InvalidEncoding {
            field: "generation_mark",
        },
    );
    let mut t = UNSEEN;
    t[4] = 1;
    mneg(
        &mut f,
        "unseen with generation 1",
        "MarkEncoding",
        t.to_vec(),
        Error::InvalidEncoding {
            field: "generation_mark",
        },
    );
    let mut t = UNSEEN;
    t[12] = 1;
    mneg(
        &mut f,
        "unseen with a first-seen time of 1",
        "MarkEncoding",
        t.to_vec(),
        Error::InvalidEncoding {
            field: "generation_mark",
        },
    );
    mneg(
        &mut f,
        "12 bytes",
        "Truncated",
        seen[..12].to_vec(),
        Error::Truncated,
    );
    mneg(&mut f, "empty", "Truncated", Vec::new(), Error::Truncated);
    let mut t = seen.to_vec();
    t.push(0);
    mneg(&mut f, "14 bytes", "TrailingBytes", t, Error::TrailingBytes);

    // §9.7 to §9.10: batches, registrations, response, matches (random ids: their
    // derivation is vectored above).
    let mut r = rng("contact");
    let ids: Vec<[u8; 32]> = (0..20).map(|_| fill::<32>(&mut r)).collect();
    let contact_ids: Vec<ContactId> = ids.iter().map(|b| ContactId::from_bytes(*b)).collect();
    let batch = |f: &mut FileBuilder,
                 comment: &str,
                 p: &DiscoveryParameters,
                 ids: &[[u8; 32]]|
     -> Vec<LookupRequest> {
        let (v, after) = verify_at(&p.to_bytes(), &relay_a, NOW, &UNSEEN).expect("verifies");
        let cids: Vec<ContactId> = ids.iter().map(|b| ContactId::from_bytes(*b)).collect();
        let reqs = v.lookup_batch(&client, &cids).expect("batch");
        let rev: Vec<ContactId> = ids
            .iter()
            .rev()
            .map(|b| ContactId::from_bytes(*b))
            .collect();
        let bytes_of = |r: &[LookupRequest]| r.iter().map(Encode::to_bytes).collect::<Vec<_>>();
        assert_eq!(
            bytes_of(&v.lookup_batch(&client, &rev).expect("batch")),
            bytes_of(&reqs)
        );
        let b = p.bucket_bits();
        let reals: Vec<u32> = cids
            .iter()
            .map(|id| bucket_prefix(id, b))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let shape = batch_shape(reals.len(), b, p.max_size_class());
        let mut fields = json!({
            "relayKey": h(relay_a),
            "discoveryParameters": h(p.to_bytes()),
            "now": NOW,
            "generationMark": h(UNSEEN),
            "generationMarkAfter": h(after),
            "clientSecret": h(secret),
            "contactIds": ids.iter().map(h).collect::<Vec<_>>(),
            "realPrefixes": reals,
            "shape": match shape {
                Some((k, q)) => json!({ "requests": k, "sizeClass": q }),
                None => json!("everyBucket"),
            },
            "lookupRequests": reqs.iter().map(|q| h(q.to_bytes())).collect::<Vec<_>>(),
        });
        if shape.is_some() {
            fields["batchKey"] =
                h(
                    *BatchKey::derive(&client, v.relay_id(), p.salt_generation(), b, &reals)
                        .to_bytes(),
                );
        }
        f.valid("lookup-batch", comment, fields);
        reqs
    };
    let reqs = batch(
        &mut f,
        "20 contacts, b = 12, max 1024: one request of the 64 size class, at least half dummies",
        &p,
        &ids,
    );
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].prefixes().len(), 64);
    let req = reqs[0].clone();
    let req_bytes = req.to_bytes();
    let mut rb = rng("contact batches");
    let ids_700: Vec<[u8; 32]> = (0..700).map(|_| fill::<32>(&mut rb)).collect();
    let reqs_700 = batch(
        &mut f,
        "700 contacts (fewer distinct prefixes), b = 12, max 1024: two requests of 1024, the reals split evenly, no dummy repeated",
        &p,
        &ids_700,
    );
    assert_eq!(
        reqs_700
            .iter()
            .map(|q| q.prefixes().len())
            .collect::<Vec<_>>(),
        [1024, 1024]
    );
    let p256 = params(0xa1, 1, nonce, 12, 256);
    let ids_300: Vec<[u8; 32]> = (0..300).map(|_| fill::<32>(&mut rb)).collect();
    let reqs_300 = batch(
        &mut f,
        "300 contacts, b = 12, max 256 (the smallest allowed): three requests of 256",
        &p256,
        &ids_300,
    );
    assert_eq!(
        reqs_300
            .iter()
            .map(|q| q.prefixes().len())
            .collect::<Vec<_>>(),
        [256, 256, 256]
    );
    let p8 = params(0xa1, 1, nonce, 8, 256);
    let ids_100: Vec<[u8; 32]> = (0..100).map(|_| fill::<32>(&mut rb)).collect();
    let reqs_100 = batch(
        &mut f,
        "100 contacts, b = 8, max 256: more than half the buckets, so the batch asks for every bucket (one request, 0..255)",
        &p8,
        &ids_100,
    );
    assert_eq!(reqs_100.len(), 1);
    assert!(reqs_100[0].prefixes().iter().copied().eq(0..256));
    let one = [ids[0]];
    let reqs_1 = batch(
        &mut f,
        "one contact, b = 16, max 4096: one request of the 16 size class",
        &params(0xa1, 1, nonce, 16, 4096),
        &one,
    );
    assert_eq!(reqs_1[0].prefixes().len(), 16);
    // Every third contact registered, one of them twice; plus unrelated registrants.
    let mut regs = Vec::new();
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        regs.push((*id, format!("mailbox-{i}").into_bytes()));
    }
    regs.push((ids[0], b"second-device".to_vec()));
    for i in 0..10 {
        regs.push((fill::<32>(&mut r), format!("other-{i}").into_bytes()));
    }
    let regs: Vec<([u8; 32], &[u8])> = regs.iter().map(|(i, r)| (*i, r.as_slice())).collect();
    let (resp, reg_json, matches) = file_and_answer(&v, &req, &contact_ids, &regs);
    f.valid(
        "lookup-response",
        "the relay's answer to the request above and the client's local matches",
        json!({
            "relayKey": h(relay_a),
            "discoveryParameters": h(&p_bytes),
            "now": NOW,
            "generationMark": h(UNSEEN),
            "generationMarkAfter": h(mark(1, NOW)),
            "contactIds": ids.iter().map(h).collect::<Vec<_>>(),
            "lookupRequest": h(&req_bytes),
            "registrations": reg_json,
            "lookupResponse": h(resp.to_bytes()),
            "matches": matches,
        }),
    );
    let reg = Registration::new(1, ids[0], b"mailbox-0").expect("registration");
    f.valid(
        "registration",
        "opt-in registration of the client's own contact id",
        json!({ "saltGeneration": 1, "contactId": h(ids[0]), "record": h(b"mailbox-0"), "registration": h(reg.to_bytes()) }),
    );

    // Negative wire vectors.
    let rneg = |f: &mut FileBuilder, comment: &str, flag: &str, bytes: Vec<u8>, e: Error| {
        f.invalid(
            "lookup-request",
            comment,
            &[flag],
            json!({ "lookupRequest": h(bytes) }),
            e,
        );
    };
    let mut t = req_bytes.clone();
    t[2] = 0x03;
    rneg(
        &mut f,
        "suite 0x03",
        "UnknownSuite",
        t,
        Error::UnknownSuite(3),
    );
    let mut t = req_bytes.clone();
    t[7] = 17;
    rneg(
        &mut f,
        "b = 17",
        "BucketBits",
        t,
        Error::BucketBitsOutOfRange(17),
    );
    let mut t = req_bytes.clone();
    t.swap(10, 14);
    t.swap(11, 15);
    t.swap(12, 16);
    t.swap(13, 17);
    rneg(
        &mut f,
        "first two prefixes swapped",
        "Unsorted",
        t,
        Error::PrefixesNotSorted,
    );
    let mut t = req_bytes.clone();
    let second: [u8; 4] = t[10..14].try_into().expect("4 bytes");
    t[14..18].copy_from_slice(&second);
    rneg(
        &mut f,
        "duplicate prefix",
        "Unsorted",
        t,
        Error::PrefixesNotSorted,
    );
    let mut t = req_bytes.clone();
    let n = t.len();
    t[n - 4..].copy_from_slice(&4096u32.to_be_bytes());
    rneg(
        &mut f,
        "last prefix = 2^12",
        "PrefixRange",
        t,
        Error::PrefixOutOfRange,
    );
    let mut t = req_bytes[..req_bytes.len() - 4].to_vec();
    t[8..10].copy_from_slice(&63u16.to_be_bytes());
    rneg(&mut f, "63 prefixes", "SizeClass", t, Error::NotASizeClass);
    let mut t = req_bytes.clone();
    t[8..10].copy_from_slice(&4097u16.to_be_bytes());
    rneg(
        &mut f,
        "count 4097 above the maximum",
        "OverMax",
        t,
        Error::LengthOverMax {
            field: "lookup.prefixes",
        },
    );
    let mut t = req_bytes.clone();
    t.push(0);
    rneg(
        &mut f,
        "trailing byte",
        "TrailingBytes",
        t,
        Error::TrailingBytes,
    );
    rneg(
        &mut f,
        "last prefix cut short",
        "Truncated",
        req_bytes[..req_bytes.len() - 1].to_vec(),
        Error::Truncated,
    );

    let other_gen = params(0xa1, 2, nonce, 12, 1024);
    f.invalid(
        "lookup-request-check",
        "relay's current parameters are generation 2; the request was made under 1",
        &["Mismatch"],
        json!({ "discoveryParameters": h(other_gen.to_bytes()), "lookupRequest": h(&req_bytes) }),
        Error::LookupMismatch,
    );

    let resp_bytes = resp.to_bytes();
    let sneg = |f: &mut FileBuilder, comment: &str, flag: &str, bytes: Vec<u8>, e: Error| {
        f.invalid(
            "lookup-response",
            comment,
            &[flag],
            json!({ "lookupResponse": h(bytes) }),
            e,
        );
    };
    let mut t = resp_bytes.clone();
    t[2] = 0x03;
    sneg(
        &mut f,
        "suite 0x03",
        "UnknownSuite",
        t,
        Error::UnknownSuite(3),
    );
    let mut t = resp_bytes.clone();
    t[7] = 0;
    sneg(
        &mut f,
        "b = 0",
        "BucketBits",
        t,
        Error::BucketBitsOutOfRange(0),
    );
    let mut t = resp_bytes.clone();
    t[10..14].copy_from_slice(&4096u32.to_be_bytes());
    sneg(
        &mut f,
        "first bucket prefix = 2^12",
        "PrefixRange",
        t,
        Error::PrefixOutOfRange,
    );
    let mut t = resp_bytes.clone();
    t[8..10].copy_from_slice(&4097u16.to_be_bytes());
    sneg(
        &mut f,
        "bucket count 4097 above the maximum",
        "OverMax",
        t,
        Error::LengthOverMax {
            field: "lookup.buckets",
        },
    );
    let mut t = resp_bytes.clone();
    t[14..16].copy_from_slice(&4097u16.to_be_bytes());
    sneg(
        &mut f,
        "entry count 4097 above the maximum",
        "OverMax",
        t,
        Error::LengthOverMax {
            field: "lookup.entries",
        },
    );
    let unsorted = {
        let mut w = vec![0x01, 0x12, SUITE_CH1, 0, 0, 0, 1, 12, 0, 2];
        w.extend_from_slice(&5u32.to_be_bytes());
        w.extend_from_slice(&[0, 0]);
        w.extend_from_slice(&5u32.to_be_bytes());
        w.extend_from_slice(&[0, 0]);
        w
    };
    sneg(
        &mut f,
        "duplicate bucket prefix",
        "Unsorted",
        unsorted,
        Error::PrefixesNotSorted,
    );
    let entries = {
        let mut w = vec![0x01, 0x12, SUITE_CH1, 0, 0, 0, 1, 12, 0, 1];
        w.extend_from_slice(&5u32.to_be_bytes());
        w.extend_from_slice(&[0, 2]);
        w.extend_from_slice(&[0x09; 16]);
        w.extend_from_slice(&[0, 0]);
        w.extend_from_slice(&[0x08; 16]);
        w.extend_from_slice(&[0, 0]);
        w
    };
    sneg(
        &mut f,
        "entries not ascending by tag",
        "Unsorted",
        entries,
        Error::InvalidEncoding {
            field: "lookup.entries",
        },
    );
    let mut t = resp_bytes.clone();
    t.push(0);
    sneg(
        &mut f,
        "trailing byte",
        "TrailingBytes",
        t,
        Error::TrailingBytes,
    );

    let reg_bytes = reg.to_bytes();
    let mut t = reg_bytes.clone();
    t[39..41].copy_from_slice(&513u16.to_be_bytes());
    f.invalid(
        "registration",
        "record length 513 above the maximum",
        &["OverMax"],
        json!({ "registration": h(t) }),
        Error::LengthOverMax {
            field: "registration.record",
        },
    );
    let mut t = reg_bytes.clone();
    t[2] = 0x03;
    f.invalid(
        "registration",
        "suite 0x03",
        &["UnknownSuite"],
        json!({ "registration": h(t) }),
        Error::UnknownSuite(3),
    );

    // §9.8: a bucket is a set. The same registration filed twice (two owners, or one
    // owner twice) is answered once; the response stays decodable.
    let dup_ids = [ids[0], ids[3]];
    let (resp, reg_json, matches) = file_and_answer(
        &v,
        &req,
        &contact_ids,
        &[
            (dup_ids[0], b"mailbox-0".as_slice()),
            (dup_ids[0], b"mailbox-0".as_slice()),
            (dup_ids[1], b"mailbox-3".as_slice()),
            (dup_ids[0], b"another device".as_slice()),
        ],
    );
    assert_eq!(matches.len(), 2);
    f.valid(
        "lookup-response",
        "the same registration filed twice: one entry in the response; contact 0's two records in ascending order; contacts without a match are absent",
        json!({
            "relayKey": h(relay_a),
            "discoveryParameters": h(&p_bytes),
            "now": NOW,
            "generationMark": h(UNSEEN),
            "generationMarkAfter": h(mark(1, NOW)),
            "contactIds": ids.iter().map(h).collect::<Vec<_>>(),
            "lookupRequest": h(&req_bytes),
            "registrations": reg_json,
            "lookupResponse": h(resp.to_bytes()),
            "matches": matches,
        }),
    );
    // §2.3 / §9.7 order: the count's maximum, the remaining input, then the size class.
    let mut t = req_bytes[..8].to_vec();
    t.extend_from_slice(&17u16.to_be_bytes());
    t.extend_from_slice(&[0u8; 4]);
    rneg(
        &mut f,
        "Q = 17 (not a size class) with one prefix present: Truncated before NotASizeClass",
        "Truncated",
        t,
        Error::Truncated,
    );
    let mut t = req_bytes[..8].to_vec();
    t.extend_from_slice(&17u16.to_be_bytes());
    t.extend_from_slice(&[0u8; 68]);
    rneg(
        &mut f,
        "Q = 17 with 17 prefixes present: NotASizeClass",
        "SizeClass",
        t,
        Error::NotASizeClass,
    );
    // §9.8 (relay check): the request's bucket bits, and Q against max_size_class.
    let q1024 = reqs_700[0].to_bytes();
    for (comment, relay_params, request, err) in [
        (
            "relay's current parameters have b = 13; the request was made under b = 12",
            params(0xa1, 1, nonce, 13, 1024),
            &req_bytes,
            Error::LookupMismatch,
        ),
        (
            "the relay now accepts at most Q = 256; the request has Q = 1024",
            params(0xa1, 1, nonce, 12, 256),
            &q1024,
            Error::NotASizeClass,
        ),
    ] {
        assert_eq!(
            relay_params
                .check_request(&LookupRequest::decode_exact(request).expect("request"))
                .map_err(|e| e.code()),
            Err(err.code()),
            "{comment}"
        );
        f.invalid(
            "lookup-request-check",
            comment,
            &[if err == Error::LookupMismatch { "Mismatch" } else { "SizeClass" }],
            json!({ "discoveryParameters": h(relay_params.to_bytes()), "lookupRequest": h(request) }),
            err,
        );
    }
    // §9.10: the client's checks of a response, each broken alone.
    let matched = |req: &LookupRequest, resp: &LookupResponse| {
        v.match_response(req, resp, &contact_ids).map(drop)
    };
    let buckets = |resp: &LookupResponse| -> Vec<(u32, Vec<BucketEntry>)> {
        resp.buckets()
            .iter()
            .map(|b| (b.prefix(), b.entries().to_vec()))
            .collect()
    };
    let b12 = resp.bucket_bits();
    let mut fewer = buckets(&resp);
    fewer.pop();
    let req_gen2 =
        LookupRequest::new(2, req.bucket_bits(), req.prefixes().to_vec()).expect("request");
    for (comment, request, response) in [
        (
            "a response of salt generation 2 to a generation-1 request",
            req.clone(),
            LookupResponse::new(2, b12, buckets(&resp)).expect("response"),
        ),
        (
            "a response with b = 13 (the same prefixes)",
            req.clone(),
            LookupResponse::new(
                1,
                blindrelay::contact::BucketBits::new(13).expect("bits"),
                buckets(&resp),
            )
            .expect("response"),
        ),
        (
            "a response missing the request's last bucket",
            req.clone(),
            LookupResponse::new(1, b12, fewer.clone()).expect("response"),
        ),
        (
            "a request of salt generation 2 (the parameters and the response are generation 1)",
            req_gen2.clone(),
            LookupResponse::new(1, b12, buckets(&resp)).expect("response"),
        ),
    ] {
        assert_eq!(
            matched(&request, &response),
            Err(Error::LookupMismatch),
            "{comment}"
        );
        f.invalid(
            "lookup-match-negative",
            comment,
            &["Mismatch"],
            json!({
                "relayKey": h(relay_a), "discoveryParameters": h(&p_bytes),
                "now": NOW, "generationMark": h(UNSEEN),
                "contactIds": ids.iter().map(h).collect::<Vec<_>>(),
                "lookupRequest": h(request.to_bytes()), "lookupResponse": h(response.to_bytes()),
            }),
            Error::LookupMismatch,
        );
    }
    let reg7 = Registration::new(7, ids[1], b"mailbox-1").expect("registration");
    f.valid(
        "registration",
        "a registration under salt generation 7",
        json!({ "saltGeneration": 7, "contactId": h(ids[1]), "record": h(b"mailbox-1"), "registration": h(reg7.to_bytes()) }),
    );
    for (comment, relay_params, request) in [
        (
            "the relay's max_size_class is exactly the request's Q = 256: accepted",
            &p256,
            reqs_300[2].to_bytes(),
        ),
        (
            "the relay's max_size_class is exactly the request's Q = 1024: accepted",
            &p,
            q1024.clone(),
        ),
        (
            "a request for every bucket of b = 8 under max_size_class 256: accepted",
            &p8,
            reqs_100[0].to_bytes(),
        ),
    ] {
        relay_params
            .check_request(&LookupRequest::decode_exact(&request).expect("request"))
            .expect("Q = max_size_class is accepted");
        f.valid(
            "lookup-request-check",
            comment,
            json!({ "discoveryParameters": h(relay_params.to_bytes()), "lookupRequest": h(request) }),
        );
    }
    // §9.6: the version and type come first.
    for (at, value, comment, err) in [
        (0usize, 0x02u8, "version 0x02", Error::UnknownVersion(2)),
        (
            1,
            0x11,
            "type 0x11 (a lookup request)",
            Error::UnknownMessageType(0x11),
        ),
    ] {
        let mut t = p_bytes.clone();
        t[at] = value;
        pneg_at(
            &mut f,
            comment,
            &["Truncated"],
            t,
            relay_a,
            NOW,
            UNSEEN,
            err,
        );
    }
    // §9.8: the response's remaining rules. One bucket (prefix 5, b = 12) with `entries`.
    let response = |entries: &[([u8; 16], &[u8])], record_len: Option<u16>| {
        let mut w = vec![0x01, 0x12, SUITE_CH1, 0, 0, 0, 1, 12, 0, 1];
        w.extend_from_slice(&5u32.to_be_bytes());
        w.extend_from_slice(&u16::try_from(entries.len()).expect("few").to_be_bytes());
        for (tag, record) in entries {
            w.extend_from_slice(tag);
            let len = record_len.unwrap_or(u16::try_from(record.len()).expect("short"));
            w.extend_from_slice(&len.to_be_bytes());
            w.extend_from_slice(record);
        }
        w
    };
    let big = vec![0x33u8; 513];
    sneg(
        &mut f,
        "a record of 513 bytes (MAX_RECORD_LEN + 1)",
        "OverMax",
        response(&[([0x01; 16], &big)], None),
        Error::LengthOverMax {
            field: "lookup.record",
        },
    );
    sneg(
        &mut f,
        "a record length of 513 with no record bytes: LengthOverMax before Truncated",
        "OverMax",
        response(&[([0x01; 16], &[])], Some(513)),
        Error::LengthOverMax {
            field: "lookup.record",
        },
    );
    sneg(
        &mut f,
        "the same entry twice (a bucket is a set)",
        "Unsorted",
        response(&[([0x01; 16], b"r"), ([0x01; 16], b"r")], None),
        Error::InvalidEncoding {
            field: "lookup.entries",
        },
    );
    sneg(
        &mut f,
        "equal tags, records descending",
        "Unsorted",
        response(&[([0x01; 16], b"rb"), ([0x01; 16], b"ra")], None),
        Error::InvalidEncoding {
            field: "lookup.entries",
        },
    );
    sneg(
        &mut f,
        "equal tags, a record before its own proper prefix",
        "Unsorted",
        response(&[([0x01; 16], b"ra"), ([0x01; 16], b"r")], None),
        Error::InvalidEncoding {
            field: "lookup.entries",
        },
    );
    let mut t = response(&[([0x01; 16], b"r")], None);
    t[9] = 2;
    sneg(
        &mut f,
        "bucket count 2 with one bucket present",
        "Truncated",
        t,
        Error::Truncated,
    );
    let reg_bytes = reg.to_bytes();
    f.invalid(
        "registration",
        "cut inside the record",
        &["Truncated"],
        json!({ "registration": h(&reg_bytes[..reg_bytes.len() - 1]) }),
        Error::Truncated,
    );
    let mut t = reg_bytes.clone();
    t.push(0);
    f.invalid(
        "registration",
        "one trailing byte",
        &["TrailingBytes"],
        json!({ "registration": h(t) }),
        Error::TrailingBytes,
    );
    // §9.7.1: a lookup ledger over one address book's edits.
    let mut rl = rng("contact ledger");
    let book_a: Vec<[u8; 32]> = (0..30).map(|_| fill::<32>(&mut rl)).collect();
    let newcomer = fill::<32>(&mut rl);
    let mut book_b = book_a.clone();
    book_b.push(newcomer);
    let mut ledger = LookupLedger::new(&v);
    let mut plans = Vec::new();
    let mut sent = Vec::new();
    for (book, count) in [
        (&book_a[..], 1usize),
        (&book_a[..], 0),
        (&book_a[10..], 0),
        (&book_b[..], 1),
    ] {
        let cids: Vec<ContactId> = book.iter().map(|b| ContactId::from_bytes(*b)).collect();
        let before = ledger.to_bytes();
        let reqs = ledger.plan(&v, &client, &cids).expect("plan");
        assert_eq!(reqs.len(), count);
        if count == 0 {
            assert_eq!(
                ledger.to_bytes(),
                before,
                "an unchanged book changes nothing"
            );
        }
        let reqs: Vec<Vec<u8>> = reqs.iter().map(Encode::to_bytes).collect();
        sent.extend(reqs.iter().cloned());
        plans.push(json!({
            "contactIds": book.iter().map(h).collect::<Vec<_>>(),
            "lookupRequests": reqs.iter().map(h).collect::<Vec<_>>(),
            "lookupLedger": h(ledger.to_bytes()),
        }));
    }
    assert!(ledger.covers(&ContactId::from_bytes(newcomer)));
    assert_eq!(ledger.batch_count(), 2);
    let refresh: Vec<Vec<u8>> = ledger
        .requests(&v, &client)
        .expect("requests")
        .iter()
        .map(Encode::to_bytes)
        .collect();
    assert_eq!(refresh, sent, "a refresh re-sends the same bytes");
    let l_bytes = ledger.to_bytes();
    f.valid(
        "lookup-ledger",
        "an empty ledger; book A (30 contacts): one batch; A again: nothing; A minus 10: nothing; A plus one new contact: a batch of that contact alone; then the refresh re-sends both batches byte for byte",
        json!({
            "relayKey": h(relay_a),
            "discoveryParameters": h(&p_bytes),
            "now": NOW,
            "generationMark": h(UNSEEN),
            "generationMarkAfter": h(mark(1, NOW)),
            "clientSecret": h(secret),
            "plans": plans,
            "lookupLedger": h(&l_bytes),
            "lookupRequests": refresh.iter().map(h).collect::<Vec<_>>(),
        }),
    );
    // A ledger belongs to one salt generation and bucket bits.
    let (v2, _) = verify_at(&p_gen2.to_bytes(), &relay_a, NOW, &UNSEEN).expect("verifies");
    let book_a_ids: Vec<ContactId> = book_a.iter().map(|b| ContactId::from_bytes(*b)).collect();
    assert_eq!(
        LookupLedger::from_bytes(&l_bytes)
            .expect("ledger")
            .plan(&v2, &client, &book_a_ids)
            .map(drop),
        Err(Error::LookupMismatch)
    );
    f.invalid(
        "lookup-ledger",
        "a ledger of generation 1 planned under parameters of generation 2: start a new ledger",
        &["Mismatch"],
        json!({
            "relayKey": h(relay_a),
            "discoveryParameters": h(p_gen2.to_bytes()),
            "now": NOW,
            "generationMark": h(UNSEEN),
            "clientSecret": h(secret),
            "lookupLedger": h(&l_bytes),
            "contactIds": book_a.iter().map(h).collect::<Vec<_>>(),
        }),
        Error::LookupMismatch,
    );
    // The stored form's decoder: salt_generation (4) || b (1) || max (2) || count (4) ||
    // 31 contacts || batch count (2) || batches; the last batch is one prefix.
    let lneg = |f: &mut FileBuilder, comment: &str, flag: &str, bytes: Vec<u8>, e: Error| {
        assert_eq!(
            LookupLedger::from_bytes(&bytes).map(drop),
            Err(e),
            "{comment}"
        );
        f.invalid(
            "lookup-ledger",
            comment,
            &[flag],
            json!({ "lookupLedger": h(bytes) }),
            e,
        );
    };
    let contacts_at = 11;
    let batches_at = contacts_at + 32 * book_b.len();
    let n = l_bytes.len();
    lneg(
        &mut f,
        "cut inside the last prefix",
        "Truncated",
        l_bytes[..n - 1].to_vec(),
        Error::Truncated,
    );
    let mut t = l_bytes.clone();
    t.push(0);
    lneg(
        &mut f,
        "one trailing byte",
        "TrailingBytes",
        t,
        Error::TrailingBytes,
    );
    let mut t = l_bytes.clone();
    t[7..11].copy_from_slice(&65_537u32.to_be_bytes());
    lneg(
        &mut f,
        "contact count 65537 (over MAX_LEDGER_CONTACTS = 65536)",
        "OverMax",
        t,
        Error::LengthOverMax {
            field: "ledger.contacts",
        },
    );
    let mut t = l_bytes.clone();
    t[7..11].copy_from_slice(&65_536u32.to_be_bytes());
    lneg(
        &mut f,
        "contact count 65536 (the maximum) with 31 present: Truncated",
        "Truncated",
        t,
        Error::Truncated,
    );
    let mut t = l_bytes.clone();
    let (first, second) = t[contacts_at..contacts_at + 64].split_at_mut(32);
    first.swap_with_slice(second);
    lneg(
        &mut f,
        "the first two contact ids swapped",
        "Unsorted",
        t,
        Error::InvalidEncoding {
            field: "ledger.contacts",
        },
    );
    let mut t = l_bytes.clone();
    t.copy_within(contacts_at..contacts_at + 32, contacts_at + 32);
    lneg(
        &mut f,
        "the first contact id twice",
        "Unsorted",
        t,
        Error::InvalidEncoding {
            field: "ledger.contacts",
        },
    );
    let mut t = l_bytes.clone();
    t[5..7].copy_from_slice(&64u16.to_be_bytes());
    lneg(
        &mut f,
        "max size class 64 (below MIN_MAX_SIZE_CLASS = 256)",
        "SizeClass",
        t,
        Error::NotASizeClass,
    );
    let mut t = l_bytes.clone();
    t[4] = 7;
    lneg(
        &mut f,
        "b = 7",
        "BucketBits",
        t,
        Error::BucketBitsOutOfRange(7),
    );
    let mut t = l_bytes.clone();
    t[n - 4..].copy_from_slice(&4096u32.to_be_bytes());
    lneg(
        &mut f,
        "the last batch's prefix = 2^12",
        "PrefixRange",
        t,
        Error::PrefixOutOfRange,
    );
    let mut t = l_bytes.clone();
    let p0 = batches_at + 2 + 4;
    t.copy_within(p0..p0 + 4, p0 + 4);
    lneg(
        &mut f,
        "the first batch's first prefix twice",
        "Unsorted",
        t,
        Error::PrefixesNotSorted,
    );
    let mut t = l_bytes[..n - 8].to_vec();
    t.extend_from_slice(&0u32.to_be_bytes());
    lneg(
        &mut f,
        "an empty last batch (real count 0)",
        "EmptyBatch",
        t,
        Error::InvalidEncoding {
            field: "ledger.batches",
        },
    );
    let mut t = l_bytes.clone();
    t[batches_at..batches_at + 2].copy_from_slice(&4097u16.to_be_bytes());
    lneg(
        &mut f,
        "batch count 4097 (over MAX_LEDGER_BATCHES = 4096)",
        "OverMax",
        t,
        Error::LengthOverMax {
            field: "ledger.batches",
        },
    );
    f.build()
}

/// Files each `(contact id, record)` registration in its bucket as a relay would (§9.9),
/// answers `req` from them (§9.8) and matches the answer for `contacts` (§9.10): the
/// response, the registrations' JSON and the matches' JSON of a `lookup-response` case.
fn file_and_answer(
    v: &blindrelay::contact::VerifiedDiscovery,
    req: &LookupRequest,
    contacts: &[ContactId],
    regs: &[([u8; 32], &[u8])],
) -> (LookupResponse, Vec<Value>, Vec<Value>) {
    let mut store: std::collections::BTreeMap<u32, Vec<BucketEntry>> = Default::default();
    let mut reg_json = Vec::new();
    for (id, record) in regs {
        let reg = v
            .register_discoverable(&ContactId::from_bytes(*id), record)
            .expect("registration");
        let (prefix, entry) = v.params().bucket_entry(&reg).expect("entry");
        store.entry(prefix).or_default().push(entry);
        reg_json.push(
            json!({ "contactId": h(id), "record": h(record), "registration": h(reg.to_bytes()) }),
        );
    }
    let resp = v
        .params()
        .answer(req, |p| store.get(&p).cloned().unwrap_or_default())
        .expect("answer (a repeated entry is answered once)");
    let matches = v
        .match_response(req, &resp, contacts)
        .expect("match")
        .iter()
        .map(|m| json!({ "contact": m.contact, "records": m.records.iter().map(h).collect::<Vec<_>>() }))
        .collect();
    (resp, reg_json, matches)
}

/// Verifies the case's parameters as a client with the case's clock and generation mark
/// (spec §9.6): the outer error is a malformed case, the inner one the library's refusal.
#[allow(clippy::type_complexity)]
fn verify_params(case: &Value) -> Result<Result<(VerifiedDiscovery, [u8; 13]), Error>, String> {
    let key: [u8; 32] = arr(case, "relayKey")?;
    let params = bytes(case, "discoveryParameters")?;
    let now = uint(case, "now")?;
    let before = bytes(case, "generationMark")?;
    Ok(verify_at(&params, &key, now, &before))
}

/// As [`verify_params`] for a case whose parameters must verify; checks
/// `generationMarkAfter` when the case gives it.
fn verified(case: &Value) -> Result<VerifiedDiscovery, String> {
    let (v, after) = verify_params(case)?.map_err(e)?;
    if case.get("generationMarkAfter").is_some() {
        expect_eq(case, "generationMarkAfter", after)?;
    }
    Ok(v)
}

fn u32_of(case: &Value, key: &str) -> Result<u32, String> {
    u32::try_from(uint(case, key)?).map_err(|e| format!("`{key}`: {e}"))
}

fn u32_list(case: &Value, key: &str) -> Result<Vec<u32>, String> {
    case[key]
        .as_array()
        .ok_or_else(|| format!("missing array `{key}`"))?
        .iter()
        .map(|p| {
            p.as_u64()
                .and_then(|p| u32::try_from(p).ok())
                .ok_or_else(|| format!("`{key}`: not a u32"))
        })
        .collect()
}

fn hex_list(case: &Value, key: &str) -> Result<Vec<Vec<u8>>, String> {
    case[key]
        .as_array()
        .ok_or_else(|| format!("missing array `{key}`"))?
        .iter()
        .map(|x| hex::decode(x.as_str().ok_or("not a hex string")?).map_err(|e| e.to_string()))
        .collect()
}

fn requests_eq(case: &Value, key: &str, got: &[LookupRequest]) -> Result<(), String> {
    let want = hex_list(case, key)?;
    let got: Vec<Vec<u8>> = got.iter().map(Encode::to_bytes).collect();
    if want != got {
        return Err(format!(
            "`{key}` differ: expected {} requests, computed {} (first difference at request {})",
            want.len(),
            got.len(),
            want.iter()
                .zip(&got)
                .position(|(a, b)| a != b)
                .unwrap_or(want.len().min(got.len()))
        ));
    }
    Ok(())
}

/// The §9.7 dummy draw computed from the spec's formula with the `hkdf` crate, not through
/// blindrelay: the top `b` bits of `HKDF-SHA256(salt = "", ikm = batch_key, info = "blindrelay
/// v1 contact dummy prefix" || 0x00 || BE32(request) || BE32(index), L = 4)`.
fn independent_dummy(key: &[u8; 32], b: u8, request: u32, index: u32) -> u32 {
    let mut info = b"blindrelay v1 contact dummy prefix\x00".to_vec();
    info.extend_from_slice(&request.to_be_bytes());
    info.extend_from_slice(&index.to_be_bytes());
    let mut okm = [0u8; 4];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&[]), key)
        .expand(&info, &mut okm)
        .expect("4 bytes");
    u32::from_be_bytes(okm) >> (32 - u32::from(b))
}

fn e(err: Error) -> String {
    err.to_string()
}

pub fn verify(case: &Value) -> Result<(), String> {
    let valid = is_valid(case);
    match kind(case)?.as_str() {
        "e164-canonical" | "e164-lenient" => {
            let input = string(case, "input")?;
            let r = if kind(case)? == "e164-canonical" {
                PhoneNumber::parse_canonical(&input)
            } else {
                normalize_lenient(&input)
            };
            if valid {
                let n = r.map_err(e)?;
                if n.as_str() != string(case, "canonical")? {
                    return Err(format!("canonical form {} differs", n.as_str()));
                }
                Ok(())
            } else {
                expect_error(case, r)
            }
        }
        "relay-id" => expect_eq(
            case,
            "relayId",
            RelayId::from_relay_key(&arr(case, "relayKey")?).0,
        ),
        "salt" => {
            let generation =
                u32::try_from(uint(case, "saltGeneration")?).map_err(|e| e.to_string())?;
            let salt = ContactSalt::derive(
                &RelayId(arr(case, "relayId")?),
                generation,
                &SaltNonce(arr(case, "saltNonce")?),
            );
            expect_eq(case, "salt", salt.0)
        }
        "argon2id-rfc9106" => {
            use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};
            let ad = bytes(case, "associatedData")?;
            let params = ParamsBuilder::new()
                .m_cost(u32::try_from(uint(case, "memoryKiB")?).map_err(|e| e.to_string())?)
                .t_cost(u32::try_from(uint(case, "passes")?).map_err(|e| e.to_string())?)
                .p_cost(u32::try_from(uint(case, "lanes")?).map_err(|e| e.to_string())?)
                .output_len(32)
                .data(AssociatedData::new(&ad).map_err(|e| e.to_string())?)
                .build()
                .map_err(|e| e.to_string())?;
            let secret = bytes(case, "secret")?;
            let a = Argon2::new_with_secret(&secret, Algorithm::Argon2id, Version::V0x13, params)
                .map_err(|e| e.to_string())?;
            let mut out = [0u8; 32];
            a.hash_password_into(&bytes(case, "password")?, &bytes(case, "salt")?, &mut out)
                .map_err(|e| e.to_string())?;
            expect_eq(case, "tag", out)
        }
        "argon2id-ch1" => {
            // The ch1 parameters are argon2's defaults: Argon2id v1.3, 19456 KiB, t = 2, p = 1.
            let mut out = [0u8; 32];
            argon2::Argon2::default()
                .hash_password_into(&bytes(case, "password")?, &bytes(case, "salt")?, &mut out)
                .map_err(|e| e.to_string())?;
            expect_eq(case, "tag", out)
        }
        "contact-id" => {
            let key = arr(case, "relayKey")?;
            let generation =
                u32::try_from(uint(case, "saltGeneration")?).map_err(|e| e.to_string())?;
            let salt = ContactSalt::derive(
                &RelayId::from_relay_key(&key),
                generation,
                &SaltNonce(arr(case, "saltNonce")?),
            );
            expect_eq(case, "salt", salt.0)?;
            let number = PhoneNumber::parse_canonical(&string(case, "e164")?).map_err(e)?;
            expect_eq(case, "password", &*password(&number))?;
            let id = ContactHasher::new(salt)
                .and_then(|mut hasher| hasher.contact_id(&number))
                .map_err(e)?;
            expect_eq(case, "contactId", id.as_bytes())?;
            expect_eq(case, "matchTag", MatchTag::of(&id).0)?;
            if case["prefixes"] != prefixes(&id) {
                return Err("bucket prefixes differ".into());
            }
            Ok(())
        }
        "bucket" => {
            let id = ContactId::from_bytes(arr(case, "contactId")?);
            let b = u8::try_from(uint(case, "bucketBits")?).map_err(|e| e.to_string())?;
            let got = bucket_prefix(&id, BucketBits::new(b).map_err(e)?);
            if u64::from(got) != uint(case, "prefix")? {
                return Err(format!("prefix {got} differs"));
            }
            expect_eq(case, "matchTag", MatchTag::of(&id).0)
        }
        "dummy-prefix" => {
            let b = u8::try_from(uint(case, "bucketBits")?).map_err(|e| e.to_string())?;
            BucketBits::new(b).map_err(e)?;
            let got = independent_dummy(
                &arr(case, "batchKey")?,
                b,
                u32_of(case, "request")?,
                u32_of(case, "index")?,
            );
            if u64::from(got) != uint(case, "prefix")? {
                return Err(format!("dummy prefix {got} differs"));
            }
            Ok(())
        }
        "lookup-batch-key" => {
            let b = u8::try_from(uint(case, "bucketBits")?).map_err(|e| e.to_string())?;
            let key = BatchKey::derive(
                &DiscoverySecret::from_bytes(&arr(case, "clientSecret")?),
                &RelayId(arr(case, "relayId")?),
                u32_of(case, "saltGeneration")?,
                BucketBits::new(b).map_err(e)?,
                &u32_list(case, "realPrefixes")?,
            );
            expect_eq(case, "batchKey", *key.to_bytes())
        }
        "discovery-parameters" if valid => {
            let v = verified(case)?;
            let p = v.params();
            expect_eq(case, "relayId", v.relay_id().0)?;
            expect_eq(case, "salt", v.salt().0)?;
            expect_eq(case, "signatureInput", p.signature_input())?;
            expect_eq(case, "saltNonce", p.salt_nonce())?;
            for (key, got) in [
                ("saltGeneration", u64::from(p.salt_generation())),
                ("bucketBits", u64::from(p.bucket_bits().get())),
                ("maxSizeClass", u64::from(p.max_size_class())),
                ("issuedAt", p.issued_at()),
                ("expiresAt", p.expires_at()),
            ] {
                if uint(case, key)? != got {
                    return Err(format!("`{key}` differs: decoded {got}"));
                }
            }
            // Ed25519 is deterministic: re-signing reproduces the bytes.
            let relay = IdentityKeyPair::from_seed(&arr(case, "relayIdentitySeed")?);
            let again = DiscoveryParameters::sign(
                &relay,
                p.salt_generation(),
                &SaltNonce(*p.salt_nonce()),
                p.bucket_bits(),
                p.max_size_class(),
                p.issued_at(),
                p.expires_at(),
            )
            .map_err(e)?;
            expect_eq(case, "discoveryParameters", again.to_bytes())
        }
        "discovery-parameters" => expect_error(case, verify_params(case)?),
        "generation-mark" if valid => {
            let m = GenerationMark::from_bytes(&bytes(case, "generationMark")?).map_err(e)?;
            let after = m
                .admit(u32_of(case, "saltGeneration")?, uint(case, "now")?)
                .map_err(e)?;
            expect_eq(case, "generationMarkAfter", after.to_bytes())?;
            expect_eq(
                case,
                "generationMarkAfter",
                GenerationMark::from_bytes(&bytes(case, "generationMarkAfter")?)
                    .map_err(e)?
                    .to_bytes(),
            )
        }
        "generation-mark" if case.get("saltGeneration").is_some() => {
            let m = GenerationMark::from_bytes(&bytes(case, "generationMark")?).map_err(e)?;
            expect_error(
                case,
                m.admit(u32_of(case, "saltGeneration")?, uint(case, "now")?),
            )
        }
        "generation-mark" => expect_error(
            case,
            GenerationMark::from_bytes(&bytes(case, "generationMark")?),
        ),
        "lookup-batch" => {
            let v = verified(case)?;
            let p = v.params();
            let b = p.bucket_bits();
            let ids = ids_of(case)?;
            let secret = DiscoverySecret::from_bytes(&arr(case, "clientSecret")?);
            let reqs = v.lookup_batch(&secret, &ids).map_err(e)?;
            requests_eq(case, "lookupRequests", &reqs)?;
            let mut rev = ids_of(case)?;
            rev.reverse();
            requests_eq(
                case,
                "lookupRequests",
                &v.lookup_batch(&secret, &rev).map_err(e)?,
            )?;
            let reals: Vec<u32> = ids
                .iter()
                .map(|id| bucket_prefix(id, b))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if u32_list(case, "realPrefixes")? != reals {
                return Err("realPrefixes differ".into());
            }
            let shape = batch_shape(reals.len(), b, p.max_size_class());
            let want_shape = match shape {
                Some((k, q)) => json!({ "requests": k, "sizeClass": q }),
                None => json!("everyBucket"),
            };
            if case["shape"] != want_shape {
                return Err(format!("shape differs: computed {want_shape}"));
            }
            match shape {
                Some((k, q)) => {
                    if reqs.len() != k || reqs.iter().any(|r| r.prefixes().len() != usize::from(q))
                    {
                        return Err("the requests do not have the batch's shape".into());
                    }
                    let key =
                        BatchKey::derive(&secret, v.relay_id(), p.salt_generation(), b, &reals);
                    expect_eq(case, "batchKey", *key.to_bytes())?;
                }
                None => {
                    if case.get("batchKey").is_some() {
                        return Err("a batch of every bucket has no batch key".into());
                    }
                    if !reqs
                        .iter()
                        .flat_map(|r| r.prefixes().iter().copied())
                        .eq(0..b.bucket_count())
                    {
                        return Err("the requests are not every bucket in order".into());
                    }
                }
            }
            let mut all = BTreeSet::new();
            for r in &reqs {
                p.check_request(r).map_err(e)?;
                all.extend(r.prefixes().iter().copied());
            }
            if all.len() != reqs.iter().map(|r| r.prefixes().len()).sum::<usize>() {
                return Err("a prefix repeats across the batch's requests".into());
            }
            if !reals.iter().all(|r| all.contains(r)) {
                return Err("a real prefix is missing from the batch".into());
            }
            Ok(())
        }
        "lookup-ledger" if valid => {
            let v = verified(case)?;
            let secret = DiscoverySecret::from_bytes(&arr(case, "clientSecret")?);
            let mut stored: Vec<u8> = Vec::new();
            let mut sent = Vec::new();
            for plan in case["plans"].as_array().ok_or("missing array `plans`")? {
                // Each plan starts from the previous stored form, as after a restart.
                let mut ledger = if stored.is_empty() {
                    LookupLedger::new(&v)
                } else {
                    LookupLedger::from_bytes(&stored).map_err(e)?
                };
                let reqs = ledger.plan(&v, &secret, &ids_of(plan)?).map_err(e)?;
                requests_eq(plan, "lookupRequests", &reqs)?;
                sent.extend(reqs);
                stored = ledger.to_bytes();
                expect_eq(plan, "lookupLedger", &stored)?;
            }
            expect_eq(case, "lookupLedger", &stored)?;
            let ledger = LookupLedger::from_bytes(&stored).map_err(e)?;
            if ledger.to_bytes() != stored {
                return Err("the ledger re-encodes differently".into());
            }
            let refresh = ledger.requests(&v, &secret).map_err(e)?;
            requests_eq(case, "lookupRequests", &refresh)?;
            requests_eq(case, "lookupRequests", &sent)
        }
        "lookup-ledger" if case.get("contactIds").is_some() => {
            let v = verified(case)?;
            let secret = DiscoverySecret::from_bytes(&arr(case, "clientSecret")?);
            let mut ledger = LookupLedger::from_bytes(&bytes(case, "lookupLedger")?).map_err(e)?;
            expect_error(case, ledger.plan(&v, &secret, &ids_of(case)?))
        }
        "lookup-ledger" => expect_error(
            case,
            LookupLedger::from_bytes(&bytes(case, "lookupLedger")?),
        ),
        "lookup-request" if valid => {
            let req = LookupRequest::decode_exact(&bytes(case, "lookupRequest")?).map_err(e)?;
            expect_eq(case, "lookupRequest", req.to_bytes())
        }
        "lookup-request" => expect_error(
            case,
            LookupRequest::decode_exact(&bytes(case, "lookupRequest")?),
        ),
        "lookup-request-check" => {
            let p = DiscoveryParameters::decode_exact(&bytes(case, "discoveryParameters")?)
                .map_err(e)?;
            let req = LookupRequest::decode_exact(&bytes(case, "lookupRequest")?).map_err(e)?;
            if valid {
                return p.check_request(&req).map_err(e);
            }
            expect_error(case, p.check_request(&req))
        }
        "lookup-response" if valid => {
            let v = verified(case)?;
            let req = LookupRequest::decode_exact(&bytes(case, "lookupRequest")?).map_err(e)?;
            let mut store: std::collections::BTreeMap<u32, Vec<BucketEntry>> = Default::default();
            for reg in case["registrations"]
                .as_array()
                .ok_or("missing registrations")?
            {
                let built = Registration::new(
                    v.params().salt_generation(),
                    arr(reg, "contactId")?,
                    &bytes(reg, "record")?,
                )
                .map_err(e)?;
                expect_eq(reg, "registration", built.to_bytes())?;
                let decoded =
                    Registration::decode_exact(&bytes(reg, "registration")?).map_err(e)?;
                let (prefix, entry) = v.params().bucket_entry(&decoded).map_err(e)?;
                store.entry(prefix).or_default().push(entry);
            }
            let resp = v
                .params()
                .answer(&req, |p| store.get(&p).cloned().unwrap_or_default())
                .map_err(e)?;
            expect_eq(case, "lookupResponse", resp.to_bytes())?;
            let decoded =
                LookupResponse::decode_exact(&bytes(case, "lookupResponse")?).map_err(e)?;
            let ids = ids_of(case)?;
            let matches: Vec<Value> = v
                .match_response(&req, &decoded, &ids)
                .map_err(e)?
                .iter()
                .map(|m| json!({ "contact": m.contact, "records": m.records.iter().map(h).collect::<Vec<_>>() }))
                .collect();
            if Value::Array(matches) != case["matches"] {
                return Err("matches differ".into());
            }
            Ok(())
        }
        "lookup-match-negative" => {
            let v = verified(case)?;
            let req = LookupRequest::decode_exact(&bytes(case, "lookupRequest")?).map_err(e)?;
            let resp = LookupResponse::decode_exact(&bytes(case, "lookupResponse")?).map_err(e)?;
            expect_error(
                case,
                v.match_response(&req, &resp, &ids_of(case)?).map(drop),
            )
        }
        "lookup-response" => expect_error(
            case,
            LookupResponse::decode_exact(&bytes(case, "lookupResponse")?),
        ),
        "registration" if valid => {
            let reg = Registration::new(
                u32::try_from(uint(case, "saltGeneration")?).map_err(|e| e.to_string())?,
                arr(case, "contactId")?,
                &bytes(case, "record")?,
            )
            .map_err(e)?;
            expect_eq(case, "registration", reg.to_bytes())?;
            let decoded = Registration::decode_exact(&bytes(case, "registration")?).map_err(e)?;
            if decoded != reg {
                return Err("decoded registration differs".into());
            }
            Ok(())
        }
        "registration" => expect_error(
            case,
            Registration::decode_exact(&bytes(case, "registration")?),
        ),
        other => Err(format!("unknown kind {other}")),
    }
}
