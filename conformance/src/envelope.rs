//! `envelope.json`: the relay envelope (spec §8). HPKE base mode pinned by RFC 9180
//! Appendix A.2.1; envelope sealing with every intermediate value; the padding function;
//! and negative cases of the relay's parse and the recipient's open, naming their errors.

use crate::util::*;
use blindrelay::codec::{Decode, Encode, MessageType};
use blindrelay::envelope::{open, padded_len, Envelope, SealedSenderContent};
use blindrelay::hazmat::{
    envelope_seal, envelope_seal_padded_for_testing, hpke_derive_key_pair, hpke_open_base,
    hpke_seal_base,
};
use blindrelay::keys::SealingKeySecret;
use blindrelay::wire::{InitialHeader, InitialMessage, PrekeyKind};
use blindrelay::{Error, IdentityKeyPair, IdentityPublicKey};
use serde_json::{json, Value};

/// RFC 9180 Appendix A.2.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305,
/// base mode), copied from the RFC text, with its first encryption (sequence number 0).
const RFC9180_A21: &[(&str, &str)] = &[
    ("info", "4f6465206f6e2061204772656369616e2055726e"),
    ("ikmE", "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b"),
    ("skEm", "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600"),
    ("pkEm", "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a"),
    ("ikmR", "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df"),
    ("skRm", "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb"),
    ("pkRm", "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a"),
    ("enc", "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a"),
    ("sharedSecret", "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7"),
    ("key", "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91"),
    ("baseNonce", "5c4d98150661b848853b547f"),
    ("exporterSecret", "a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922"),
    ("aad", "436f756e742d30"),
    ("plaintext", "4265617574792069732074727574682c20747275746820626561757479"),
    ("ciphertext", "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28"),
];

/// The recipient of every envelope case: the fuzz target's fixed recipient, so the
/// envelopes seed the `envelope_open` corpus.
const RECIPIENT: [u8; 32] = blindrelay::fuzzing::ENVELOPE_FUZZ_RECIPIENT;

fn identity_hex(id: &IdentityPublicKey) -> Value {
    h(id.to_array())
}

fn identity_from(case: &Value, key: &str) -> Result<IdentityPublicKey, String> {
    let b: [u8; 64] = arr(case, key)?;
    IdentityPublicKey::decode_exact(&b).map_err(|e| e.to_string())
}

/// A stand-in ratchet message: its header, then opaque bytes (the envelope never looks
/// inside).
fn ratchet_stand_in(r: &mut rand_chacha::ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand_core::RngCore::fill_bytes(r, &mut v);
    v[0] = 0x01;
    v[1] = 0x03;
    v
}

fn initial_stand_in(r: &mut rand_chacha::ChaCha20Rng, sender: IdentityPublicKey) -> Vec<u8> {
    let mut ct = Box::new([0u8; 1088]);
    rand_core::RngCore::fill_bytes(r, ct.as_mut());
    InitialMessage {
        header: InitialHeader {
            initiator: blindrelay::IdentityRecord {
                identity: sender,
                mailbox: fill(r),
                sealing_key: fill(r),
                signature: [0x5a; 64],
            },
            ephemeral: fill(r),
            signed_prekey_id: 1,
            kem_kind: PrekeyKind::OneTimeKem,
            kem_prekey_id: 2,
            one_time_prekey_id: Some(3),
            kem_ciphertext: ct,
        },
        message: ratchet_stand_in(r, 150),
    }
    .to_bytes()
}

fn seal_case(
    ikm_e: &[u8; 32],
    mailbox: &[u8; 32],
    sender: &IdentityPublicKey,
    inner: &[u8],
) -> Result<(Envelope, Value), Error> {
    let sealing = SealingKeySecret::from_bytes(RECIPIENT);
    let (env, t) = envelope_seal(ikm_e, mailbox, &sealing.public_key(), sender, inner)?;
    let inner_type = inner.get(1).copied().unwrap_or(0);
    let v = json!({
        "recipientSealingSecret": h(RECIPIENT),
        "recipientSealingKey": h(sealing.public_key()),
        "mailbox": h(mailbox),
        "sender": identity_hex(sender),
        "innerType": inner_type,
        "inner": h(inner),
        "ikmE": h(*t.ikm_e),
        "ephemeralSecret": h(*t.ephemeral_secret),
        "enc": h(t.enc),
        "info": h(&t.info),
        "sharedSecret": h(*t.shared_secret),
        "key": h(*t.key),
        "baseNonce": h(*t.base_nonce),
        "content": h(&t.content),
        "paddedContent": h(&*t.padded),
        "ciphertext": h(&t.ciphertext),
        "envelopeLength": env.encoded_len(),
        "envelope": h(env.to_bytes()),
    });
    Ok((env, v))
}

pub fn generate() -> (String, Value) {
    let mut f = FileBuilder::new(
        "envelope.json",
        "Relay envelopes: HPKE base mode pinned by RFC 9180 A.2.1; sealing with every intermediate value (ikmE, ephemeral secret, enc, info, shared secret, key, base nonce, content, padded content, ciphertext, envelope); the padding function; negative cases of the relay's parse and of opening, naming their error codes.",
        &["§8.2", "§8.3", "§8.4", "§8.5", "§8.6", "§8.7"],
    );
    f.note(
        "WrongMailbox",
        "MODIFIED_PARAMETER",
        "The envelope is opened for a mailbox other than the one it names.",
    );
    f.note(
        "RedirectedMailbox",
        "AUTH_BYPASS",
        "The mailbox field was rewritten in transit; the HPKE info binding makes opening fail.",
    );
    f.note(
        "TamperedSeal",
        "AUTH_BYPASS",
        "A byte of enc or of the ciphertext was changed.",
    );
    f.note(
        "BadPadding",
        "MALLEABILITY",
        "The decrypted content's padding is malformed or not minimal.",
    );
    f.note(
        "UnknownType",
        "BASIC",
        "A type byte names a message that is not allowed here.",
    );
    f.note(
        "LowOrderEnc",
        "EDGE_CASE",
        "enc is a low-order point, so the DH output is all zero.",
    );
    f.note("Truncated", "BASIC", "The envelope is cut short.");
    f.note("InnerMismatch", "MODIFIED_PARAMETER", "The sealed-sender content's inner type disagrees with the inner message's own type byte (§8.6).");
    f.note("CheckOrder", "EDGE_CASE", "Two rules of one length-prefixed field fail at once, or the length is at its bound: the code is the first in §2.3's order (maximum, remaining input, then the field's own rule).");
    f.note(
        "TrailingBytes",
        "BASIC",
        "A byte follows a complete envelope.",
    );
    f.note("WrongVersion", "BASIC", "The version byte is not 0x01.");
    f.note("NotAPaddedLength", "MALLEABILITY", "The ciphertext length is not a padded length plus the tag, so it is not something a conforming sender produces.");
    f.note(
        "LengthOverMax",
        "EDGE_CASE",
        "The ciphertext length prefix exceeds MAX_ENVELOPE_CIPHERTEXT_LEN.",
    );

    // RFC 9180 A.2.1.
    let mut rfc = serde_json::Map::new();
    for (k, v) in RFC9180_A21 {
        rfc.insert((*k).to_string(), json!(v));
    }
    f.valid(
        "hpke-base",
        "RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base mode, sequence number 0",
        Value::Object(rfc),
    );

    // The padding function.
    for n in [
        0usize, 255, 256, 271, 272, 511, 512, 1000, 1024, 4096, 16384, 65535, 65536, 68679,
    ] {
        f.valid(
            "padded-length",
            &format!("content of {n} bytes"),
            json!({ "contentLength": n, "paddedLength": padded_len(n).expect("within the maximum") }),
        );
    }
    f.note("OverMax", "EDGE_CASE", "A content one byte over MAX_UNPADDED_LEN: no padded length exists, a sender is refused (502).");
    assert_eq!(padded_len(blindrelay::envelope::MAX_UNPADDED_LEN + 1), None);
    f.invalid(
        "padded-length",
        "content of MAX_UNPADDED_LEN + 1 = 68680 bytes",
        &["OverMax"],
        json!({ "contentLength": blindrelay::envelope::MAX_UNPADDED_LEN + 1 }),
        Error::MessageTooLarge,
    );

    // Sealing.
    let mut r = rng("envelope");
    let alice = IdentityKeyPair::from_seed(&fill(&mut r));
    let carol = IdentityKeyPair::from_seed(&fill(&mut r));
    let mailbox: [u8; 32] = fill(&mut r);
    let other_mailbox: [u8; 32] = fill(&mut r);
    let mut base = None;
    for (sender, len, what) in [
        (&alice, 40usize, "ratchet message, smallest class"),
        (
            &carol,
            180,
            "ratchet message, same class as the previous case from another sender",
        ),
        (
            &alice,
            185,
            "content of 256 bytes: first length above the floor",
        ),
        (&alice, 1000, "ratchet message of 1000 bytes"),
        (&carol, 16_000, "ratchet message of 16000 bytes"),
    ] {
        let inner = ratchet_stand_in(&mut r, len);
        let ikm: [u8; 32] = fill(&mut r);
        let (env, v) = seal_case(&ikm, &mailbox, sender.public(), &inner).expect("seal");
        f.valid("envelope-seal", what, v);
        if base.is_none() {
            base = Some(env);
        }
    }
    let inner = initial_stand_in(&mut r, *alice.public());
    let ikm: [u8; 32] = fill(&mut r);
    let (_, v) = seal_case(&ikm, &mailbox, alice.public(), &inner).expect("seal");
    f.valid(
        "envelope-seal",
        "initial message (type 0x02) from its initiator",
        v,
    );

    // Negative cases.
    let env = base.expect("sealed");
    let good = env.to_bytes();
    let mut neg = |comment: &str, flag: &str, expected: &[u8; 32], bytes: Vec<u8>, e: Error| {
        f.invalid(
            "envelope-open",
            comment,
            &[flag],
            json!({
                "recipientSealingSecret": h(RECIPIENT),
                "expectedMailbox": h(expected),
                "envelope": h(bytes),
            }),
            e,
        );
    };
    neg(
        "opened for another mailbox",
        "WrongMailbox",
        &other_mailbox,
        good.clone(),
        Error::WrongMailbox,
    );
    let mut t = good.clone();
    t[2..34].copy_from_slice(&other_mailbox);
    neg(
        "mailbox rewritten to another mailbox of the same recipient",
        "RedirectedMailbox",
        &other_mailbox,
        t,
        Error::Decrypt,
    );
    for (what, at) in [
        ("enc", 34 + 5),
        ("first ciphertext byte", 70),
        ("last byte (tag)", good.len() - 1),
    ] {
        let mut t = good.clone();
        t[at] ^= 0x01;
        neg(
            &format!("{what} modified"),
            "TamperedSeal",
            &mailbox,
            t,
            Error::Decrypt,
        );
    }
    let mut t = good.clone();
    t[34..66].copy_from_slice(&[0u8; 32]);
    neg(
        "enc is the all-zero point",
        "LowOrderEnc",
        &mailbox,
        t,
        Error::NonContributory,
    );
    neg(
        "last byte removed",
        "Truncated",
        &mailbox,
        good[..good.len() - 1].to_vec(),
        Error::Truncated,
    );
    let mut t = good.clone();
    t.push(0);
    neg(
        "one trailing byte",
        "TrailingBytes",
        &mailbox,
        t,
        Error::TrailingBytes,
    );
    let mut t = good.clone();
    t[0] = 2;
    neg(
        "version 2",
        "WrongVersion",
        &mailbox,
        t,
        Error::UnknownVersion(2),
    );
    let mut t = good.clone();
    t[1] = 0x03;
    neg(
        "message type 0x03 instead of 0x04",
        "UnknownType",
        &mailbox,
        t,
        Error::UnknownMessageType(3),
    );
    let mut t = good[..66].to_vec();
    t.extend_from_slice(&271u32.to_be_bytes());
    t.extend_from_slice(&good[70..70 + 271]);
    neg(
        "ciphertext of 271 bytes (255 + 16: below the floor)",
        "NotAPaddedLength",
        &mailbox,
        t,
        Error::InvalidEncoding {
            field: "envelope.ciphertext",
        },
    );
    let mut t = good[..66].to_vec();
    t.extend_from_slice(&69_649u32.to_be_bytes());
    neg(
        "ciphertext length prefix 69649",
        "LengthOverMax",
        &mailbox,
        t,
        Error::LengthOverMax {
            field: "envelope.ciphertext",
        },
    );
    // §2.3's order for a length-prefixed field: maximum, remaining input, then the
    // padded-length rule.
    let mut t = good[..66].to_vec();
    t.extend_from_slice(&300u32.to_be_bytes());
    t.extend_from_slice(&good[70..70 + 200]);
    neg(
        "ciphertext length 300 (not a padded length + 16) with only 200 bytes present: Truncated first",
        "CheckOrder",
        &mailbox,
        t,
        Error::Truncated,
    );
    let mut t = good[..66].to_vec();
    t.extend_from_slice(&69_648u32.to_be_bytes());
    t.extend_from_slice(&good[70..]);
    neg(
        "ciphertext length exactly MAX_ENVELOPE_CIPHERTEXT_LEN (69648), input shorter: Truncated, not LengthOverMax",
        "CheckOrder",
        &mailbox,
        t,
        Error::Truncated,
    );
    let mut t = good[..66].to_vec();
    t.extend_from_slice(&15u32.to_be_bytes());
    t.extend_from_slice(&[0u8; 15]);
    neg(
        "a 15-byte ciphertext (shorter than a tag)",
        "NotAPaddedLength",
        &mailbox,
        t,
        Error::InvalidEncoding {
            field: "envelope.ciphertext",
        },
    );

    // Well-sealed plaintexts with bad contents.
    let sealing = SealingKeySecret::from_bytes(RECIPIENT);
    let content = SealedSenderContent {
        sender: *alice.public(),
        inner_type: MessageType::RATCHET_MESSAGE,
        inner: ratchet_stand_in(&mut r, 30),
    }
    .to_bytes();
    let mut sealed = |comment: &str, flag: &str, padded: Vec<u8>, e: Error| {
        let ikm: [u8; 32] = fill(&mut r);
        let env = envelope_seal_padded_for_testing(&ikm, &mailbox, &sealing.public_key(), &padded)
            .expect("a padded length");
        f.invalid(
            "envelope-open",
            comment,
            &[flag],
            json!({
                "recipientSealingSecret": h(RECIPIENT),
                "expectedMailbox": h(mailbox),
                "paddedContent": h(&padded),
                "envelope": h(env.to_bytes()),
            }),
            e,
        );
    };
    sealed(
        "256 zero bytes: no 0x80 marker",
        "BadPadding",
        vec![0u8; 256],
        Error::BadPadding,
    );
    let mut p = blindrelay::envelope::pad(&content).expect("pads").to_vec();
    p[255] = 0x01;
    sealed(
        "a non-zero byte after the 0x80 marker",
        "BadPadding",
        p,
        Error::BadPadding,
    );
    let mut p = content.clone();
    p.push(0x80);
    p.resize(272, 0);
    sealed(
        "101-byte content padded to 272 instead of 256 (not minimal)",
        "BadPadding",
        p,
        Error::BadPadding,
    );
    let mut c = content.clone();
    c[66] = 0x01;
    sealed(
        "inner type 0x01 (a bundle), correctly padded",
        "UnknownType",
        blindrelay::envelope::pad(&c).expect("pads").to_vec(),
        Error::UnknownMessageType(1),
    );
    let mut c = content.clone();
    c[1] = 0x03;
    sealed(
        "content type 0x03 instead of 0x07, correctly padded",
        "UnknownType",
        blindrelay::envelope::pad(&c).expect("pads").to_vec(),
        Error::UnknownMessageType(3),
    );
    // §8.6's remaining decode rules, each in a correctly padded content.
    let pad = |c: &[u8]| blindrelay::envelope::pad(c).expect("pads").to_vec();
    let mut c = content.clone();
    c[0] = 0x02;
    sealed(
        "content version 0x02",
        "WrongVersion",
        pad(&c),
        Error::UnknownVersion(2),
    );
    let mut c = content[..67].to_vec();
    c.extend_from_slice(
        &u32::try_from(blindrelay::envelope::MAX_ENVELOPE_INNER_LEN + 1)
            .expect("u32")
            .to_be_bytes(),
    );
    sealed(
        "inner length MAX_ENVELOPE_INNER_LEN + 1, no inner bytes: LengthOverMax before Truncated",
        "LengthOverMax",
        pad(&c),
        Error::LengthOverMax {
            field: "sealed.inner",
        },
    );
    let mut c = content.clone();
    let len = u32::from_be_bytes(c[67..71].try_into().expect("4")) + 1;
    c[67..71].copy_from_slice(&len.to_be_bytes());
    sealed(
        "inner length one past the content",
        "Truncated",
        pad(&c),
        Error::Truncated,
    );
    let mut c = content.clone();
    c[72] = 0x02;
    sealed(
        "inner type 0x03 but the inner message starts 0x01 0x02",
        "InnerMismatch",
        pad(&c),
        Error::InvalidEncoding {
            field: "sealed.inner",
        },
    );
    let mut c = content.clone();
    c.push(0x00);
    sealed(
        "one byte after the inner message, inside the padding's content",
        "TrailingBytes",
        pad(&c),
        Error::TrailingBytes,
    );
    session_envelope_cases(&mut f);
    open_any_cases(&mut f);
    // The largest envelope: an inner message of exactly MAX_ENVELOPE_INNER_LEN bytes, so a
    // content of MAX_UNPADDED_LEN, padded to MAX_PADDED_LEN, a ciphertext of exactly
    // MAX_ENVELOPE_CIPHERTEXT_LEN (every bound at its maximum, accepted).
    let mut r = rng("envelope-largest");
    let inner = ratchet_stand_in(&mut r, blindrelay::envelope::MAX_ENVELOPE_INNER_LEN);
    let ikm: [u8; 32] = fill(&mut r);
    let sender = IdentityKeyPair::from_seed(&fill(&mut r));
    let mailbox: [u8; 32] = fill(&mut r);
    let (env, v) = seal_case(&ikm, &mailbox, sender.public(), &inner).expect("seal");
    assert_eq!(
        env.ciphertext().len(),
        blindrelay::envelope::MAX_ENVELOPE_CIPHERTEXT_LEN
    );
    f.valid(
        "envelope-seal",
        "the largest envelope: inner of MAX_ENVELOPE_INNER_LEN bytes (a ratchet-message prefix and filler; the session would refuse it), ciphertext of MAX_ENVELOPE_CIPHERTEXT_LEN",
        v,
    );
    f.build()
}

pub fn verify(case: &Value) -> Result<(), String> {
    match kind(case)?.as_str() {
        "hpke-base" => {
            expect_eq(case, "skEm", *hpke_derive_key_pair(&bytes(case, "ikmE")?))?;
            expect_eq(case, "skRm", *hpke_derive_key_pair(&bytes(case, "ikmR")?))?;
            let (enc, ct, t) = hpke_seal_base(
                &arr(case, "ikmE")?,
                &arr(case, "pkRm")?,
                &bytes(case, "info")?,
                &bytes(case, "aad")?,
                &bytes(case, "plaintext")?,
            )
            .map_err(|e| e.to_string())?;
            expect_eq(case, "enc", enc)?;
            expect_eq(case, "sharedSecret", *t.shared_secret)?;
            expect_eq(case, "key", *t.key)?;
            expect_eq(case, "baseNonce", t.base_nonce)?;
            expect_eq(case, "exporterSecret", *t.exporter_secret)?;
            expect_eq(case, "ciphertext", ct)?;
            let pt = hpke_open_base(
                &arr(case, "skRm")?,
                &arr(case, "enc")?,
                &bytes(case, "info")?,
                &bytes(case, "aad")?,
                &bytes(case, "ciphertext")?,
            )
            .map_err(|e| e.to_string())?;
            expect_eq(case, "plaintext", pt)
        }
        "padded-length" if !is_valid(case) => {
            let n = usize::try_from(uint(case, "contentLength")?).map_err(|e| e.to_string())?;
            match padded_len(n) {
                None if expected_code(case)? == Error::MessageTooLarge.code() => Ok(()),
                other => Err(format!("padded length of {n}: expected 502, got {other:?}")),
            }
        }
        "padded-length" => {
            let n = usize::try_from(uint(case, "contentLength")?).map_err(|e| e.to_string())?;
            let want = uint(case, "paddedLength")?;
            match padded_len(n) {
                Some(p) if p as u64 == want => Ok(()),
                other => Err(format!(
                    "padded length of {n}: expected {want}, got {other:?}"
                )),
            }
        }
        "envelope-seal" => {
            let secret = SealingKeySecret::from_bytes(arr(case, "recipientSealingSecret")?);
            expect_eq(case, "recipientSealingKey", secret.public_key())?;
            let mailbox: [u8; 32] = arr(case, "mailbox")?;
            let sender = identity_from(case, "sender")?;
            let inner = bytes(case, "inner")?;
            let (env, t) = envelope_seal(
                &arr(case, "ikmE")?,
                &mailbox,
                &secret.public_key(),
                &sender,
                &inner,
            )
            .map_err(|e| e.to_string())?;
            expect_eq(case, "ephemeralSecret", *t.ephemeral_secret)?;
            expect_eq(case, "enc", t.enc)?;
            expect_eq(case, "info", &t.info)?;
            expect_eq(case, "sharedSecret", *t.shared_secret)?;
            expect_eq(case, "key", *t.key)?;
            expect_eq(case, "baseNonce", *t.base_nonce)?;
            expect_eq(case, "content", &t.content)?;
            expect_eq(case, "paddedContent", &*t.padded)?;
            expect_eq(case, "ciphertext", &t.ciphertext)?;
            expect_eq(case, "envelope", env.to_bytes())?;
            // The relay's view, then the recipient's open.
            let parsed =
                Envelope::decode_exact(&bytes(case, "envelope")?).map_err(|e| e.to_string())?;
            if parsed.mailbox() != &mailbox
                || parsed.encoded_len() as u64 != uint(case, "envelopeLength")?
            {
                return Err("relay view (mailbox, length) differs".into());
            }
            let opened = open(&secret, &mailbox, &parsed).map_err(|e| e.to_string())?;
            if opened.sender != sender
                || opened.inner != inner
                || u64::from(opened.inner_type.0) != uint(case, "innerType")?
            {
                return Err("opened envelope differs from its inputs".into());
            }
            if opened.inner_type == MessageType::INITIAL_MESSAGE {
                opened.initial_message().map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        "session-envelope" => {
            let state = bytes(case, "state")?;
            let mut session = blindrelay::Session::from_bytes(&state).map_err(|e| e.to_string())?;
            let sealing = SealingKeySecret::from_bytes(arr(case, "recipientSealingSecret")?);
            let env =
                Envelope::decode_exact(&bytes(case, "envelope")?).map_err(|e| e.to_string())?;
            let opened = open(&sealing, &arr(case, "mailbox")?, &env).map_err(|e| e.to_string())?;
            let got = session.decrypt_opened(&opened);
            if is_valid(case) {
                let pt = got.map_err(|e| e.to_string())?;
                expect_eq(case, "plaintext", pt)
            } else {
                if *session.to_bytes() != state[..] {
                    return Err("a refused envelope changed the session".into());
                }
                expect_error(case, got)
            }
        }
        "envelope-open-any" => {
            let secrets: Vec<SealingKeySecret> = case["recipientSealingSecrets"]
                .as_array()
                .ok_or("recipientSealingSecrets")?
                .iter()
                .map(|v| {
                    let b: [u8; 32] = hex::decode(v.as_str().unwrap_or(""))
                        .map_err(|e| e.to_string())?
                        .try_into()
                        .map_err(|_| "32 bytes".to_string())?;
                    Ok(SealingKeySecret::from_bytes(b))
                })
                .collect::<Result<_, String>>()?;
            let live: Vec<&SealingKeySecret> = secrets.iter().collect();
            let env =
                Envelope::decode_exact(&bytes(case, "envelope")?).map_err(|e| e.to_string())?;
            let got = blindrelay::envelope::open_any(&live, &arr(case, "expectedMailbox")?, &env);
            if !is_valid(case) {
                return expect_error(case, got);
            }
            let opened = got.map_err(|e| e.to_string())?;
            expect_eq(case, "sender", opened.sender.to_array())?;
            expect_eq(case, "inner", &opened.inner)
        }
        "envelope-open" => {
            let secret = SealingKeySecret::from_bytes(arr(case, "recipientSealingSecret")?);
            let expected: [u8; 32] = arr(case, "expectedMailbox")?;
            expect_error(
                case,
                Envelope::decode_exact(&bytes(case, "envelope")?)
                    .and_then(|e| open(&secret, &expected, &e)),
            )
        }
        other => Err(format!("unknown kind {other}")),
    }
}

/// `session-envelope`: an envelope opened and decrypted by an existing session (§8.8):
/// the sealed sender must be the session's peer, else `SenderMismatch` and nothing changes.
fn session_envelope_cases(f: &mut FileBuilder) {
    use crate::ratchet::Transcript;
    f.note("ResealedSender", "AUTH_BYPASS", "A genuine message of the session re-sealed under another sender's identity: the sealed sender is not the session's peer (§8.8).");
    let mut r = rng("session-envelope");
    let mut t = Transcript::new(&mut r);
    let w = t.send(&mut r, "bob", b"reply");
    t.deliver("alice", &w, "", None);
    let state = t.bob.to_bytes().to_vec();
    let plaintext = b"a probe-like message through the public mailbox";
    let inner = t.alice.encrypt(&mut r, plaintext).expect("encrypt");
    let sealing = SealingKeySecret::from_bytes(RECIPIENT);
    let mailbox: [u8; 32] = fill(&mut r);
    let alice = *t.alice.local_identity();
    let mallory = IdentityKeyPair::from_seed(&fill(&mut r));
    for (comment, sender, err) in [
        ("sealed by the session's peer: decrypts", alice, None),
        (
            "the same message sealed under another identity: SenderMismatch, nothing changes",
            *mallory.public(),
            Some(Error::SenderMismatch),
        ),
    ] {
        let env =
            blindrelay::envelope::seal(&mut r, &mailbox, &sealing.public_key(), &sender, &inner)
                .expect("seal")
                .to_bytes();
        let mut bob = blindrelay::Session::from_bytes(&state).expect("state");
        let opened = open(
            &sealing,
            &mailbox,
            &Envelope::decode_exact(&env).expect("decodes"),
        )
        .expect("opens");
        let got = bob.decrypt_opened(&opened);
        let fields = json!({
            "state": h(&state), "recipientSealingSecret": h(RECIPIENT), "mailbox": h(mailbox),
            "envelope": h(&env), "plaintext": h(plaintext),
        });
        match err {
            None => {
                assert_eq!(got.expect("decrypts"), plaintext);
                f.valid("session-envelope", comment, fields);
            }
            Some(e) => {
                assert_eq!(got.map(drop), Err(e));
                assert_eq!(*bob.to_bytes(), state[..]);
                f.invalid("session-envelope", comment, &["ResealedSender"], fields, e);
            }
        }
    }
}

/// `envelope-open-any`: opening with the owner's live sealing secrets, newest first
/// (§8.12): the current and the previous one during its grace period.
fn open_any_cases(f: &mut FileBuilder) {
    f.note("RotatedKey", "EDGE_CASE", "An envelope sealed to a sealing key that is no longer live (§8.12): no live key opens it, Decrypt.");
    f.note("LiveKeys", "MODIFIED_PARAMETER", "The caller passes no live key or more than MAX_SEALING_KEYS (a caller's error, ApiMisuse).");
    let mut r = rng("envelope-open-any");
    let (current, previous, retired): ([u8; 32], [u8; 32], [u8; 32]) =
        (fill(&mut r), fill(&mut r), fill(&mut r));
    let sender = IdentityKeyPair::from_seed(&fill(&mut r));
    let mailbox: [u8; 32] = fill(&mut r);
    let inner = ratchet_stand_in(&mut r, 60);
    let seal_to = |r: &mut rand_chacha::ChaCha20Rng, secret: &[u8; 32]| {
        let key = SealingKeySecret::from_bytes(*secret).public_key();
        blindrelay::envelope::seal(r, &mailbox, &key, sender.public(), &inner)
            .expect("seal")
            .to_bytes()
    };
    let to_previous = seal_to(&mut r, &previous);
    let to_current = seal_to(&mut r, &current);
    let to_retired = seal_to(&mut r, &retired);
    let case = |keys: &[&[u8; 32]], env: &[u8]| {
        json!({
            "recipientSealingSecrets": keys.iter().map(h).collect::<Vec<_>>(),
            "expectedMailbox": h(mailbox), "envelope": h(env),
            "sender": h(sender.public().to_array()), "inner": h(&inner),
        })
    };
    f.valid(
        "envelope-open-any",
        "sealed to the current key, two live keys",
        case(&[&current, &previous], &to_current),
    );
    f.valid(
        "envelope-open-any",
        "sealed to the previous key during its grace period: the second live key opens it",
        case(&[&current, &previous], &to_previous),
    );
    f.invalid(
        "envelope-open-any",
        "sealed to a retired key: no live key opens it",
        &["RotatedKey"],
        case(&[&current, &previous], &to_retired),
        Error::Decrypt,
    );
    f.invalid(
        "envelope-open-any",
        "no live key",
        &["LiveKeys"],
        case(&[], &to_current),
        Error::ApiMisuse { reason: "" },
    );
    f.invalid(
        "envelope-open-any",
        "three live keys (MAX_SEALING_KEYS + 1)",
        &["LiveKeys"],
        case(&[&current, &previous, &retired], &to_current),
        Error::ApiMisuse { reason: "" },
    );
}
