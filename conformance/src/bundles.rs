//! `bundles.json`: prekey bundle encodings and signatures (spec §5), with negative cases.

use crate::party;
use crate::util::*;
use blindrelay::codec::{Decode, Encode};
use blindrelay::wire::PrekeyKind;
use blindrelay::{Error, PrekeyBundle};
use serde_json::{json, Value};

/// The prekey signature context (spec §5.2), also used by the reference adapter.
pub const CONTEXT: &[u8] = b"blindrelay v1 prekey signature";

pub fn generate() -> (String, Value) {
    let mut f = FileBuilder::new(
        "bundles.json",
        "Prekey bundles built from the owner's secrets: exact encoding, signature inputs and verification; negative cases name their error code.",
        &["§2", "§5"],
    );
    f.note(
        "CheckOrder",
        "EDGE_CASE",
        "Two rules of §5.4 fail at once: the code is the first check's.",
    );
    f.note(
        "Truncated",
        "BASIC",
        "The encoding is cut short by one byte.",
    );
    f.note(
        "TrailingBytes",
        "BASIC",
        "One extra byte follows a complete bundle.",
    );
    f.note(
        "WrongVersion",
        "BASIC",
        "The protocol version byte is not 0x01.",
    );
    f.note(
        "WrongType",
        "BASIC",
        "The message type byte is not 0x01 (bundle).",
    );
    f.note(
        "ReservedFlags",
        "MALLEABILITY",
        "A reserved bit of the flags byte is set.",
    );
    f.note(
        "ModifiedField",
        "AUTH_BYPASS",
        "A signed field was changed after signing.",
    );
    f.note(
        "WeakIdentityKey",
        "EDGE_CASE",
        "The identity's Ed25519 key is a small-order point.",
    );
    f.note(
        "InvalidKemKey",
        "MODIFIED_PARAMETER",
        "A correctly signed ML-KEM key fails the FIPS 203 modulus check.",
    );
    let mut r = rng("bundles");
    let mut base = None;
    for (opk, otk) in [(false, false), (true, false), (false, true), (true, true)] {
        let secrets = party::generate(&mut r, opk, otk);
        let p = party::build(&secrets).expect("fresh secrets build");
        let spk = &p.bundle.signed_prekey;
        let spk_input = PrekeyBundle::signature_input(
            CONTEXT,
            PrekeyKind::SignedX25519,
            &[&spk.id.to_be_bytes(), &spk.key],
        );
        let rec_input = PrekeyBundle::signature_input(
            CONTEXT,
            PrekeyKind::Sealing,
            &[
                &p.bundle.identity.agreement,
                &p.bundle.mailbox,
                &p.bundle.sealing_key,
            ],
        );
        f.valid(
            "bundle",
            &format!("one-time X25519 prekey: {opk}, one-time ML-KEM prekey: {otk}"),
            json!({
            "secrets": secrets,
            "signedPrekeySignatureInput": h(&spk_input),
            "identityRecordSignatureInput": h(&rec_input),
            "bundle": h(p.bundle.to_bytes()) }),
        );
        if opk && otk {
            base = Some((secrets, p));
        }
    }
    let (secrets, p) = base.expect("full bundle generated");
    let good = p.bundle.to_bytes();
    let mut neg = |comment: &str, flags: &[&str], bytes: Vec<u8>, e: Error| {
        f.invalid(
            "bundle-negative",
            comment,
            flags,
            json!({ "bundle": h(bytes) }),
            e,
        );
    };
    neg(
        "last byte removed",
        &["Truncated"],
        good[..good.len() - 1].to_vec(),
        Error::Truncated,
    );
    neg(
        "header only",
        &["Truncated"],
        good[..2].to_vec(),
        Error::Truncated,
    );
    let mut t = good.clone();
    t.push(0);
    neg(
        "one trailing zero byte",
        &["TrailingBytes"],
        t,
        Error::TrailingBytes,
    );
    let mut t = good.clone();
    t[0] = 2;
    neg("version 2", &["WrongVersion"], t, Error::UnknownVersion(2));
    let mut t = good.clone();
    t[1] = 3;
    neg(
        "message type 0x03",
        &["WrongType"],
        t,
        Error::UnknownMessageType(3),
    );
    // Offsets (spec §5.3): header 2, identity 64, mailbox 32, sealing 32, sig 64, spk 100,
    // kem 1252, flags 1.
    let flags_at = 2 + 64 + 32 + 32 + 64 + 100 + 1252;
    let mut t = good.clone();
    t[flags_at] |= 0x80;
    neg(
        "reserved flag bit 7 set",
        &["ReservedFlags"],
        t,
        Error::InvalidEncoding {
            field: "bundle.flags",
        },
    );
    for (what, at) in [
        ("identity X25519 key", 2 + 32),
        ("mailbox id", 2 + 64),
        ("sealing key", 2 + 64 + 32),
        ("identity record signature", 2 + 64 + 64),
        ("signed prekey id", 2 + 64 + 128),
        ("signed prekey", 2 + 64 + 128 + 4),
        ("signed prekey signature", 2 + 64 + 128 + 36),
        ("signed ML-KEM prekey id", 2 + 64 + 128 + 100),
        ("signed ML-KEM prekey", 2 + 64 + 128 + 104 + 500),
        ("signed ML-KEM prekey signature", 2 + 64 + 128 + 100 + 1188),
        ("one-time prekey", flags_at + 1 + 4),
        ("one-time ML-KEM prekey", flags_at + 1 + 100 + 4 + 7),
        ("one-time ML-KEM prekey signature", good.len() - 1),
    ] {
        let mut t = good.clone();
        t[at] ^= 0x01;
        neg(
            &format!("{what} modified"),
            &["ModifiedField"],
            t,
            Error::BadSignature,
        );
    }
    let mut t = good.clone();
    t[2..34].copy_from_slice(&{
        let mut k = [0u8; 32];
        k[0] = 1;
        k
    });
    neg(
        "identity Ed25519 key is the identity point (small order)",
        &["WeakIdentityKey"],
        t,
        Error::InvalidPublicKey,
    );
    // A bad ML-KEM key re-signed with the owner's real identity key.
    let (ed_seed, _) =
        blindrelay::hazmat::identity_secrets(&arr(&secrets, "identitySeed").expect("seed"));
    let signer = blindrelay::hazmat::ed25519_signing_key(&ed_seed);
    let mut b = p.bundle.clone();
    b.kem_prekey.key[0] = 0xff;
    b.kem_prekey.key[1] |= 0x0f;
    let input = PrekeyBundle::signature_input(
        CONTEXT,
        PrekeyKind::SignedKem,
        &[&b.kem_prekey.id.to_be_bytes(), &*b.kem_prekey.key],
    );
    b.kem_prekey.signature = blindrelay::crypto::sig::sign(&signer, &input);
    neg(
        "signed ML-KEM prekey with a coefficient >= q, validly signed",
        &["InvalidKemKey"],
        b.to_bytes(),
        Error::InvalidPublicKey,
    );
    // §5.4's order: every signature of step 3 before the modulus check.
    let mut t = b.to_bytes();
    t[2 + 64 + 32 + 32 + 10] ^= 0x01;
    neg(
        "that bad ML-KEM key and a broken identity record signature: BadSignature first",
        &["InvalidKemKey", "CheckOrder"],
        t,
        Error::BadSignature,
    );
    // Step 4: the one-time ML-KEM key's signature, then its modulus check; a bad one-time
    // X25519 signature comes before both.
    let mut b = p.bundle.clone();
    if let Some(k) = b.one_time_kem_prekey.as_mut() {
        k.key[0] = 0xff;
        k.key[1] |= 0x0f;
        let input = PrekeyBundle::signature_input(
            CONTEXT,
            PrekeyKind::OneTimeKem,
            &[&k.id.to_be_bytes(), &*k.key],
        );
        k.signature = blindrelay::crypto::sig::sign(&signer, &input);
    }
    neg(
        "one-time ML-KEM prekey with a coefficient >= q, validly signed",
        &["InvalidKemKey"],
        b.to_bytes(),
        Error::InvalidPublicKey,
    );
    if let Some(x) = b.one_time_prekey.as_mut() {
        x.signature[0] ^= 0x01;
    }
    neg(
        "that one-time ML-KEM key and a broken one-time X25519 signature: BadSignature first",
        &["InvalidKemKey", "CheckOrder"],
        b.to_bytes(),
        Error::BadSignature,
    );
    // §5.4 step 1: a client that knows the peer's identity compares it right after
    // decoding, before any key is parsed or signature checked.
    f.note("KnownIdentity", "MISSING_STEP", "The bundle is verified for an identity the client already knows (§5.4 step 1): a different identity is BadSignature, whatever else is wrong with the bundle.");
    let other = party::build(&party::generate(&mut r, false, false)).expect("party");
    let expect = |bundle: &[u8], identity: [u8; 64]| json!({ "bundle": h(bundle), "expectedIdentity": h(identity) });
    f.valid(
        "bundle-expected",
        "the expected identity is the bundle's",
        expect(&good, p.bundle.identity.to_array()),
    );
    f.invalid(
        "bundle-expected",
        "another identity was expected",
        &["KnownIdentity"],
        expect(&good, other.bundle.identity.to_array()),
        Error::BadSignature,
    );
    let mut weak = good.clone();
    weak[2..34].copy_from_slice(&{
        let mut id = [0u8; 32];
        id[0] = 1;
        id
    });
    let mut weak_identity = [0u8; 64];
    weak_identity.copy_from_slice(&weak[2..66]);
    f.invalid("bundle-expected", "a small-order identity key and another identity expected: the comparison comes first (BadSignature, not InvalidPublicKey)", &["KnownIdentity"], expect(&weak, other.bundle.identity.to_array()), Error::BadSignature);
    f.invalid(
        "bundle-expected",
        "a small-order identity key that is the expected one: step 2 refuses it",
        &["KnownIdentity"],
        expect(&weak, weak_identity),
        Error::InvalidPublicKey,
    );
    f.build()
}

pub fn verify(case: &Value) -> Result<(), String> {
    match kind(case)?.as_str() {
        "bundle" => {
            let p = party::build(&case["secrets"])?;
            expect_eq(case, "bundle", p.bundle.to_bytes())?;
            let spk = &p.bundle.signed_prekey;
            expect_eq(
                case,
                "signedPrekeySignatureInput",
                PrekeyBundle::signature_input(
                    CONTEXT,
                    PrekeyKind::SignedX25519,
                    &[&spk.id.to_be_bytes(), &spk.key],
                ),
            )?;
            let decoded =
                PrekeyBundle::decode_exact(&bytes(case, "bundle")?).map_err(|e| e.to_string())?;
            let verified = decoded.verify().map_err(|e| e.to_string())?;
            if verified.identity() != p.identity.public() {
                return Err("verified identity differs".into());
            }
            Ok(())
        }
        "bundle-expected" => {
            let expected =
                blindrelay::IdentityPublicKey::decode_exact(&bytes(case, "expectedIdentity")?)
                    .map_err(|e| e.to_string())?;
            let r = PrekeyBundle::decode_exact(&bytes(case, "bundle")?)
                .and_then(|b| b.verify_for(&expected));
            if is_valid(case) {
                r.map(drop).map_err(|e| e.to_string())
            } else {
                expect_error(case, r)
            }
        }
        "bundle-negative" => expect_error(
            case,
            PrekeyBundle::decode_exact(&bytes(case, "bundle")?).and_then(PrekeyBundle::verify),
        ),
        other => Err(format!("unknown kind {other}")),
    }
}
