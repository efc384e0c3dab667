//! `contact.json`: contact discovery, suite `ch1` (spec §9): canonical identifiers, relay
//! id and salt, Argon2id passwords and contact ids, bucket prefixes, dummy prefixes, and
//! the four discovery messages with negative cases. Also pins Argon2id itself with the
//! RFC 9106 §5.3 vector and the research note's three-implementation example.

use crate::util::*;
use blindrelay::codec::{Decode, Encode};
use blindrelay::contact::wire::SUITE_CH1;
use blindrelay::contact::{
    bucket_prefix, dummy_prefix, normalize_lenient, password, BucketBits, BucketEntry,
    ContactHasher, ContactId, ContactSalt, DiscoveryParameters, DiscoverySecret, LookupRequest,
    LookupResponse, MatchTag, PhoneNumber, Registration, RelayId, SaltNonce,
};
use blindrelay::{Error, IdentityKeyPair};
use serde_json::{json, Value};

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
];

const BUCKET_BITS: [u8; 4] = [8, 12, 13, 16];

fn relay(seed: u8) -> IdentityKeyPair {
    IdentityKeyPair::from_seed(&[seed; 32])
}

fn params(seed: u8, generation: u32, nonce: [u8; 32], b: u8, max: u16) -> DiscoveryParameters {
    DiscoveryParameters::sign(
        &relay(seed),
        generation,
        &SaltNonce(nonce),
        BucketBits::new(b).expect("b in range"),
        max,
    )
    .expect("valid parameters")
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
        "Contact discovery, suite ch1: canonical E.164 identifiers, relay id and salt, Argon2id contact ids, bucket prefixes, padded lookup requests, responses and registrations; negative cases name their error code.",
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
        "The suite byte is not 0x01 (ch1); 0x02 (ch2) is reserved, not implemented.",
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
        "Prefixes or entries not strictly ascending (unsorted or duplicated).",
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
        "A request made under another salt generation than the relay's current parameters.",
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

    // §9.7 dummy prefixes.
    let secret = [0x33; 32];
    for i in 0..4u32 {
        for b in [12u8, 16] {
            f.valid(
                "dummy-prefix",
                &format!("draw {i}, b = {b}"),
                json!({
                    "clientSecret": h(secret),
                    "relayId": h(rid_a.0),
                    "saltGeneration": 1,
                    "bucketBits": b,
                    "index": i,
                    "prefix": dummy_prefix(&DiscoverySecret::from_bytes(&secret), &rid_a, 1, BucketBits::new(b).expect("b"), i),
                }),
            );
        }
    }

    // §9.6 parameters.
    let p = params(0xa1, 1, nonce, 12, 1024);
    let p_bytes = p.to_bytes();
    let v = DiscoveryParameters::decode_exact(&p_bytes)
        .and_then(|p| p.verify(&relay_a))
        .expect("verifies");
    f.valid(
        "discovery-parameters",
        "signed by the relay identity derived from relayIdentitySeed",
        json!({
            "relayIdentitySeed": h([0xa1; 32]),
            "relayKey": h(relay_a),
            "saltGeneration": 1,
            "saltNonce": h(nonce),
            "bucketBits": 12,
            "maxSizeClass": 1024,
            "signatureInput": h(p.signature_input()),
            "discoveryParameters": h(&p_bytes),
            "relayId": h(v.relay_id().0),
            "salt": h(v.salt().0),
        }),
    );
    // The largest salt generation, 16-bit buckets and the largest size class.
    let p_max = params(0xa1, u32::MAX, nonce, 16, 4096);
    let v_max = DiscoveryParameters::decode_exact(&p_max.to_bytes())
        .and_then(|p| p.verify(&relay_a))
        .expect("verifies");
    f.valid(
        "discovery-parameters",
        "salt generation 2^32 - 1, b = 16, max size class 4096",
        json!({
            "relayIdentitySeed": h([0xa1; 32]),
            "relayKey": h(relay_a),
            "saltGeneration": u32::MAX,
            "saltNonce": h(nonce),
            "bucketBits": 16,
            "maxSizeClass": 4096,
            "signatureInput": h(p_max.signature_input()),
            "discoveryParameters": h(p_max.to_bytes()),
            "relayId": h(v_max.relay_id().0),
            "salt": h(v_max.salt().0),
        }),
    );
    let pneg = |f: &mut FileBuilder,
                comment: &str,
                flag: &str,
                bytes: Vec<u8>,
                key: [u8; 32],
                e: Error| {
        f.invalid(
            "discovery-parameters",
            comment,
            &[flag],
            json!({ "relayKey": h(key), "discoveryParameters": h(bytes) }),
            e,
        );
    };
    let mut t = p_bytes.clone();
    t[2] = 0x02;
    pneg(
        &mut f,
        "suite 0x02 (ch2, reserved)",
        "UnknownSuite",
        t,
        relay_a,
        Error::UnknownSuite(2),
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

    // §9.7 to §9.10: request, registrations, response, matches (random ids: their
    // derivation is vectored above).
    let mut r = rng("contact");
    let ids: Vec<[u8; 32]> = (0..20).map(|_| fill::<32>(&mut r)).collect();
    let contact_ids: Vec<ContactId> = ids.iter().map(|b| ContactId::from_bytes(*b)).collect();
    let client = DiscoverySecret::from_bytes(&secret);
    let req = v.lookup_request(&client, &contact_ids).expect("request");
    let req_bytes = req.to_bytes();
    f.valid(
        "lookup-request",
        "20 contacts padded to the 64 size class with deterministic dummies",
        json!({
            "relayKey": h(relay_a),
            "discoveryParameters": h(&p_bytes),
            "clientSecret": h(secret),
            "contactIds": ids.iter().map(h).collect::<Vec<_>>(),
            "realPrefixes": contact_ids.iter().map(|id| bucket_prefix(id, p.bucket_bits())).collect::<Vec<_>>(),
            "lookupRequest": h(&req_bytes),
        }),
    );
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
    t[2] = 0x02;
    rneg(
        &mut f,
        "suite 0x02",
        "UnknownSuite",
        t,
        Error::UnknownSuite(2),
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
    t[2] = 0x02;
    f.invalid(
        "registration",
        "suite 0x02",
        &["UnknownSuite"],
        json!({ "registration": h(t) }),
        Error::UnknownSuite(2),
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
    for (comment, relay_params, err) in [
        (
            "relay's current parameters have b = 13; the request was made under b = 12",
            params(0xa1, 1, nonce, 13, 1024),
            Error::LookupMismatch,
        ),
        (
            "the relay now accepts at most Q = 16; the request has Q = 64",
            params(0xa1, 1, nonce, 12, 16),
            Error::NotASizeClass,
        ),
    ] {
        assert_eq!(
            relay_params
                .check_request(&LookupRequest::decode_exact(&req_bytes).expect("request"))
                .map_err(|e| e.code()),
            Err(err.code()),
            "{comment}"
        );
        f.invalid(
            "lookup-request-check",
            comment,
            &[if err == Error::LookupMismatch { "Mismatch" } else { "SizeClass" }],
            json!({ "discoveryParameters": h(relay_params.to_bytes()), "lookupRequest": h(&req_bytes) }),
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
    let at_max = params(0xa1, 1, nonce, 12, 64);
    at_max
        .check_request(&LookupRequest::decode_exact(&req_bytes).expect("request"))
        .expect("Q = max_size_class is accepted");
    f.valid(
        "lookup-request-check",
        "the relay's max_size_class is exactly the request's Q = 64: accepted",
        json!({ "discoveryParameters": h(at_max.to_bytes()), "lookupRequest": h(&req_bytes) }),
    );
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
        f.invalid(
            "discovery-parameters",
            comment,
            &["Truncated"],
            json!({ "relayKey": h(relay_a), "discoveryParameters": h(t) }),
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

fn verify_params(case: &Value) -> Result<blindrelay::contact::VerifiedDiscovery, Error> {
    let key: [u8; 32] = arr(case, "relayKey").map_err(|_| Error::Truncated)?;
    let bytes = bytes(case, "discoveryParameters").map_err(|_| Error::Truncated)?;
    DiscoveryParameters::decode_exact(&bytes)?.verify(&key)
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
            let got = dummy_prefix(
                &DiscoverySecret::from_bytes(&arr(case, "clientSecret")?),
                &RelayId(arr(case, "relayId")?),
                u32::try_from(uint(case, "saltGeneration")?).map_err(|e| e.to_string())?,
                BucketBits::new(b).map_err(e)?,
                u32::try_from(uint(case, "index")?).map_err(|e| e.to_string())?,
            );
            if u64::from(got) != uint(case, "prefix")? {
                return Err(format!("dummy prefix {got} differs"));
            }
            Ok(())
        }
        "discovery-parameters" if valid => {
            let v = verify_params(case).map_err(e)?;
            expect_eq(case, "relayId", v.relay_id().0)?;
            expect_eq(case, "salt", v.salt().0)?;
            expect_eq(case, "signatureInput", v.params().signature_input())?;
            // Ed25519 is deterministic: re-signing reproduces the bytes.
            let relay = IdentityKeyPair::from_seed(&arr(case, "relayIdentitySeed")?);
            let again = DiscoveryParameters::sign(
                &relay,
                v.params().salt_generation(),
                &SaltNonce(*v.params().salt_nonce()),
                v.params().bucket_bits(),
                v.params().max_size_class(),
            )
            .map_err(e)?;
            expect_eq(case, "discoveryParameters", again.to_bytes())
        }
        "discovery-parameters" => expect_error(case, verify_params(case)),
        "lookup-request" if valid => {
            let v = verify_params(case).map_err(e)?;
            let ids = ids_of(case)?;
            let secret = DiscoverySecret::from_bytes(&arr(case, "clientSecret")?);
            let req = v.lookup_request(&secret, &ids).map_err(e)?;
            expect_eq(case, "lookupRequest", req.to_bytes())?;
            let mut rev = ids_of(case)?;
            rev.reverse();
            expect_eq(
                case,
                "lookupRequest",
                v.lookup_request(&secret, &rev).map_err(e)?.to_bytes(),
            )?;
            let decoded = LookupRequest::decode_exact(&bytes(case, "lookupRequest")?).map_err(e)?;
            v.params().check_request(&decoded).map_err(e)
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
            let v = verify_params(case).map_err(e)?;
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
            let v = verify_params(case).map_err(e)?;
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
