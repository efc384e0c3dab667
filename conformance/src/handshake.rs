//! `handshake.json`: the hybrid handshake with every intermediate value (spec §6), for every
//! bundle variant, and negative cases of the responder's checks.

use crate::party;
use crate::util::*;
use blindrelay::codec::{Decode, Encode};
use blindrelay::hazmat::{handshake_initiator, handshake_responder};
use blindrelay::keys::PrekeyStore;
use blindrelay::keys::SealingKeySecret;
use blindrelay::wire::InitialHeader;
use blindrelay::{Error, IdentityKeyPair, IdentityRecord, PrekeyBundle};
use serde_json::{json, Value};

fn header_bytes(h: &InitialHeader) -> Vec<u8> {
    h.to_bytes()
}

/// The initiator's secrets as the vectors record them: the identity seed, and the mailbox
/// and sealing secret of the identity record its initial header carries (§6.3).
struct Initiator {
    seed: [u8; 32],
    mailbox: [u8; 32],
    sealing: [u8; 32],
}

impl Initiator {
    fn draw(r: &mut rand_chacha::ChaCha20Rng) -> Self {
        Self {
            seed: fill(r),
            mailbox: fill(r),
            sealing: fill(r),
        }
    }

    fn from_case(case: &Value) -> Result<Self, String> {
        Ok(Self {
            seed: arr(case, "initiatorIdentitySeed")?,
            mailbox: arr(case, "initiatorMailbox")?,
            sealing: arr(case, "initiatorSealingSecret")?,
        })
    }

    fn keys(&self) -> (IdentityKeyPair, IdentityRecord) {
        let identity = IdentityKeyPair::from_seed(&self.seed);
        let record = IdentityRecord::create(
            &identity,
            self.mailbox,
            &SealingKeySecret::from_bytes(self.sealing),
        );
        (identity, record)
    }

    /// The JSON fields of the inputs and the record.
    fn fields(&self) -> Value {
        let (identity, record) = self.keys();
        json!({
            "initiatorIdentitySeed": h(self.seed),
            "initiatorMailbox": h(self.mailbox),
            "initiatorSealingSecret": h(self.sealing),
            "initiatorIdentity": h(identity.public().to_array()),
            "initiatorRecord": h(record.to_bytes()),
        })
    }
}

/// `a` with the fields of `b` added.
fn merged(mut a: Value, b: Value) -> Value {
    if let (Value::Object(a), Value::Object(b)) = (&mut a, b) {
        a.extend(b);
    }
    a
}

pub fn generate() -> (String, Value) {
    let mut f = FileBuilder::new(
        "handshake.json",
        "Hybrid X25519 + ML-KEM-768 handshakes: inputs (both parties' secrets, the ephemeral secret and the ML-KEM randomness), the initial header, every DH output, the ML-KEM secret and ciphertext, the transcript hash, the HKDF input, info and output, and the associated data. Negative cases exercise the responder's checks.",
        &["§6.2", "§6.3", "§6.4", "§6.5"],
    );
    f.note("UnknownPrekey", "MISSING_STEP", "The header names a prekey id the responder does not hold (never issued, or already consumed).");
    f.note(
        "NonContributory",
        "EDGE_CASE",
        "The ephemeral key is a low-order point, so a DH output is all zero.",
    );
    f.note(
        "Replay",
        "EDGE_CASE",
        "The ephemeral key was already accepted under this signed prekey.",
    );
    f.note(
        "BadSignature",
        "AUTH_BYPASS",
        "The bundle's signed prekey signature does not verify, so no handshake may start.",
    );
    f.note(
        "ForgedInitiatorRecord",
        "AUTH_BYPASS",
        "The initiator's identity record in the header does not verify: its Ed25519 key is paired with an X25519 key, mailbox or sealing key it did not sign. Refused before any prekey is looked up.",
    );
    f.note(
        "WrongVersion",
        "BASIC",
        "The header's version byte is not 0x01.",
    );
    f.note(
        "BadKemKind",
        "MALLEABILITY",
        "The ML-KEM prekey kind byte is neither 0x02 nor 0x04.",
    );
    let mut r = rng("handshake");
    let mut last = None;
    for (opk, otk) in [(false, false), (true, false), (false, true), (true, true)] {
        let alice = Initiator::draw(&mut r);
        let bob = party::generate(&mut r, opk, otk);
        let ephemeral: [u8; 32] = fill(&mut r);
        let m: [u8; 32] = fill(&mut r);
        let case = derive_case(&alice, &bob, &ephemeral, &m).expect("handshake");
        f.valid(
            "handshake",
            &format!("one-time X25519 prekey: {opk}, one-time ML-KEM prekey: {otk}"),
            case,
        );
        last = Some((alice, bob, ephemeral, m));
    }
    let (alice, bob, ephemeral, m) = last.expect("generated");
    let p = party::build(&bob).expect("party");
    let (alice_identity, alice_record) = alice.keys();
    let verified = p.bundle.clone().verify().expect("valid");
    let (header, _) =
        handshake_initiator(&alice_identity, &alice_record, &verified, &ephemeral, &m)
            .expect("handshake");
    let mut neg = |comment: &str, flag: &str, hdr: Vec<u8>, e: Error, extra: Value| {
        let mut fields = json!({ "responder": bob.clone(), "header": h(&hdr) });
        if let (Value::Object(a), Value::Object(b)) = (&mut fields, extra) {
            a.extend(b);
        }
        f.invalid("responder-negative", comment, &[flag], fields, e);
    };
    let good = header_bytes(&header);
    let mut t = header.clone();
    t.signed_prekey_id = 77;
    neg(
        "unknown signed prekey id",
        "UnknownPrekey",
        header_bytes(&t),
        Error::UnknownPrekey,
        json!({}),
    );
    let mut t = header.clone();
    t.kem_prekey_id = 77;
    neg(
        "unknown one-time ML-KEM prekey id",
        "UnknownPrekey",
        header_bytes(&t),
        Error::UnknownPrekey,
        json!({}),
    );
    let mut t = header.clone();
    t.one_time_prekey_id = Some(77);
    neg(
        "unknown one-time X25519 prekey id",
        "UnknownPrekey",
        header_bytes(&t),
        Error::UnknownPrekey,
        json!({}),
    );
    let mut t = header.clone();
    t.ephemeral = [0; 32];
    neg(
        "ephemeral key is the point u = 0",
        "NonContributory",
        header_bytes(&t),
        Error::NonContributory,
        json!({}),
    );
    let mut t = header.clone();
    t.ephemeral = [0; 32];
    t.ephemeral[0] = 1;
    neg(
        "ephemeral key is the point u = 1",
        "NonContributory",
        header_bytes(&t),
        Error::NonContributory,
        json!({}),
    );
    neg(
        "ephemeral key already accepted under this signed prekey",
        "Replay",
        good.clone(),
        Error::ReplayedInitialMessage,
        json!({ "replayCache": [{ "signedPrekeyId": header.signed_prekey_id, "ephemeral": h(header.ephemeral) }] }),
    );
    let mut t = good.clone();
    t[blindrelay::wire::IDENTITY_RECORD_LEN + 32 + 4] = 0x03;
    neg(
        "ML-KEM prekey kind 0x03",
        "BadKemKind",
        t,
        Error::InvalidEncoding {
            field: "initial.kem_kind",
        },
        json!({}),
    );
    // The initiator's Ed25519 key paired with another X25519 key (§6.5 step 3): the
    // record's signature no longer verifies.
    let mut t = header.clone();
    t.initiator.identity.agreement = p.bundle.identity.agreement;
    neg(
        "initiator identity record: Alice's Ed25519 key and signature with another X25519 key",
        "ForgedInitiatorRecord",
        header_bytes(&t),
        Error::BadSignature,
        json!({}),
    );
    let mut t = header.clone();
    t.initiator.mailbox[0] ^= 0x01;
    neg(
        "initiator identity record: mailbox changed after signing",
        "ForgedInitiatorRecord",
        header_bytes(&t),
        Error::BadSignature,
        json!({}),
    );
    // A bundle whose signed prekey signature was altered: the initiator must refuse it.
    let mut b = p.bundle.clone();
    b.signed_prekey.signature[5] ^= 0x20;
    f.invalid(
        "bundle-refused",
        "signed prekey signature altered: verification fails before any handshake",
        &["BadSignature"],
        json!({ "bundle": h(b.to_bytes()) }),
        Error::BadSignature,
    );
    accept_cases(&mut f);
    f.build()
}

/// Full initial messages (header and first ratchet message) through `accept` (§6.5): the
/// valid ones yield the first plaintext and consume the one-time prekeys; the tampered ones
/// fail with their error and leave the responder's store unchanged.
fn accept_cases(f: &mut FileBuilder) {
    f.note(
        "TamperedKemCiphertext",
        "MODIFIED_PARAMETER",
        "A byte of the ML-KEM ciphertext was changed: implicit rejection yields another secret, so the first message fails to authenticate.",
    );
    f.note(
        "TamperedEphemeral",
        "MODIFIED_PARAMETER",
        "A byte of the ephemeral key was changed: DH2..DH4 change, so the first message fails to authenticate.",
    );
    f.note(
        "TamperedInnerMessage",
        "AUTH_BYPASS",
        "A byte of the inner ratchet message was changed.",
    );
    f.note("MalformedInner", "MODIFIED_PARAMETER", "An initial message whose inner ratchet message is malformed, alone or with another fault: §6.5 decodes the inner message only in step 8, so steps 1-7 report first.");
    f.note(
        "ResealedSender",
        "AUTH_BYPASS",
        "The envelope's sealed sender is not the initiator the initial message names.",
    );
    let mut r = rng("handshake-accept");
    for (opk, otk) in [(false, false), (true, true)] {
        let initiator = Initiator::draw(&mut r);
        let bob = party::generate(&mut r, opk, otk);
        let p = party::build(&bob).expect("party");
        let (alice, record) = initiator.keys();
        let verified = p.bundle.clone().verify().expect("valid");
        let mut session =
            blindrelay::initiate(&mut r, &alice, &record, &verified).expect("initiate");
        let plaintext = b"the first message inside the initial message";
        let msg = session.encrypt(&mut r, plaintext).expect("encrypt");
        let base = json!({ "responder": bob.clone(), "initialMessage": h(&msg) });
        let comment = format!("one-time prekeys: {opk}");
        let mut valid = base.clone();
        valid["plaintext"] = h(plaintext);
        valid["initiatorIdentity"] = h(alice.public().to_array());
        valid["initiatorRecord"] = h(record.to_bytes());
        f.valid("accept", &comment, valid);
        let header_len = blindrelay::wire::InitialMessage::decode_exact(&msg)
            .expect("decodes")
            .header
            .to_bytes()
            .len();
        let mut neg = |flag: &str, what: &str, offset: usize, e: Error| {
            let mut bad = msg.clone();
            bad[offset] ^= 0x01;
            let mut fields = base.clone();
            fields["initialMessage"] = h(&bad);
            f.invalid(
                "accept-negative",
                &format!("{what} ({comment})"),
                &[flag],
                fields,
                e,
            );
        };
        neg(
            "TamperedKemCiphertext",
            "ML-KEM ciphertext byte changed",
            2 + header_len - 100,
            Error::Decrypt,
        );
        neg(
            "TamperedEphemeral",
            "ephemeral key byte changed",
            2 + blindrelay::wire::IDENTITY_RECORD_LEN + 7,
            Error::Decrypt,
        );
        neg(
            "TamperedInnerMessage",
            "inner message byte changed",
            msg.len() - 20,
            Error::Decrypt,
        );
        // Issue 15 defect 2: Mallory runs a genuine handshake with Alice's Ed25519 key paired
        // with her own X25519 key. Her first message authenticates; the record does not.
        let mallory = IdentityKeyPair::from_seed(&fill(&mut r));
        let forged = IdentityRecord {
            identity: blindrelay::IdentityPublicKey {
                signing: alice.public().signing,
                agreement: mallory.public().agreement,
            },
            ..record
        };
        let mut s =
            blindrelay::hazmat::initiate_with_any_record(&mut r, &mallory, &forged, &verified)
                .expect("initiate");
        let forged_msg = s.encrypt(&mut r, b"I am Alice").expect("encrypt");
        let mut fields = base.clone();
        fields["initialMessage"] = h(&forged_msg);
        f.invalid(
            "accept-negative",
            &format!("Mallory's handshake under Alice's Ed25519 key and Mallory's X25519 key ({comment})"),
            &["ForgedInitiatorRecord"],
            fields,
            Error::BadSignature,
        );
        // Sealed sender (spec §8.8): Mallory re-seals Alice's initial message under her own
        // name; accepting it through the envelope must fail and change nothing.
        if !opk {
            let mallory = IdentityKeyPair::from_seed(&fill(&mut r));
            let b = p.bundle.clone();
            let env = blindrelay::envelope::seal(
                &mut r,
                &b.mailbox,
                &b.sealing_key,
                mallory.public(),
                &msg,
            )
            .expect("seal")
            .to_bytes();
            let mut fields = base.clone();
            fields["envelope"] = h(&env);
            f.invalid(
                "accept-envelope-negative",
                "Alice's initial message sealed under Mallory's identity",
                &["ResealedSender"],
                fields,
                Error::SenderMismatch,
            );
        }
        let mut bad = msg.clone();
        bad[0] = 0x02;
        let mut fields = base.clone();
        fields["initialMessage"] = h(&bad);
        f.invalid(
            "accept-negative",
            &format!("version byte 0x02 ({comment})"),
            &["WrongVersion"],
            fields,
            Error::UnknownVersion(2),
        );
        // §6.5 steps 1 and 8: the inner ratchet message is an opaque32 until step 8, so its
        // own decode errors come after every check of steps 2-7.
        let inner = 2 + header_len + 4;
        let spk_id = 2 + blindrelay::wire::IDENTITY_RECORD_LEN + 32;
        let record_sig = 2 + blindrelay::wire::IDENTITY_RECORD_LEN - 1;
        let mut order = |what: &str, edits: &[(usize, u8)], e: Error| {
            let mut bad = msg.clone();
            for &(at, x) in edits {
                bad[at] ^= x;
            }
            let mut fields = base.clone();
            fields["initialMessage"] = h(&bad);
            f.invalid(
                "accept-negative",
                &format!("{what} ({comment})"),
                &["MalformedInner"],
                fields,
                e,
            );
        };
        order(
            "the inner ratchet message's version is 0x02: decoded in step 8",
            &[(inner, 0x03)],
            Error::UnknownVersion(2),
        );
        order(
            "the inner ratchet message's type is 0x02 (an initial message inside an initial message)",
            &[(inner + 1, 0x01)],
            Error::UnknownMessageType(2),
        );
        order(
            "inner version 0x02 and an unknown signed prekey id: UnknownPrekey (step 4) first",
            &[(inner, 0x03), (spk_id + 3, 0x01)],
            Error::UnknownPrekey,
        );
        order(
            "inner version 0x02 and a broken identity record signature: BadSignature (step 3) first",
            &[(inner, 0x03), (record_sig, 0x01)],
            Error::BadSignature,
        );
        // The length prefix one past MAX_RATCHET_MESSAGE_LEN: LengthOverMax in step 1,
        // before anything else (and before the input length).
        let mut bad = msg[..inner].to_vec();
        bad[inner - 4..].copy_from_slice(
            &u32::try_from(blindrelay::limits::MAX_RATCHET_MESSAGE_LEN + 1)
                .expect("u32")
                .to_be_bytes(),
        );
        bad[record_sig] ^= 0x01;
        let mut fields = base.clone();
        fields["initialMessage"] = h(&bad);
        f.invalid(
            "accept-negative",
            &format!("inner length MAX_RATCHET_MESSAGE_LEN + 1 with no inner bytes and a broken record: LengthOverMax (step 1) first ({comment})"),
            &["MalformedInner"],
            fields,
            Error::LengthOverMax { field: "initial.message" },
        );
    }
}

fn derive_case(
    initiator: &Initiator,
    bob: &Value,
    ephemeral: &[u8; 32],
    m: &[u8; 32],
) -> Result<Value, String> {
    let p = party::build(bob)?;
    let (alice, record) = initiator.keys();
    let verified = p.bundle.clone().verify().map_err(|e| e.to_string())?;
    let (header, t) =
        handshake_initiator(&alice, &record, &verified, ephemeral, m).map_err(|e| e.to_string())?;
    let dh: Vec<Value> = t.dh.iter().map(h).collect();
    Ok(merged(
        initiator.fields(),
        json!({
            "responder": bob,
            "bundle": h(p.bundle.to_bytes()),
            "ephemeralSecret": h(ephemeral),
            "kemRandomness": h(m),
            "header": h(header_bytes(&header)),
            "kemCiphertext": h(*header.kem_ciphertext),
            "dh": dh,
            "kemSharedSecret": h(t.kem_shared_secret),
            "transcriptHash": h(t.transcript_hash),
            "ikm": h(&t.ikm),
            "info": h(&t.info),
            "okm": h(&t.okm),
            "rootKey": h(&t.okm[..32]),
            "initiatorHeaderKey": h(&t.okm[32..64]),
            "responderNextHeaderKey": h(&t.okm[64..]),
            "associatedData": h(&t.associated_data),
        }),
    ))
}

fn header_from(case: &Value) -> Result<InitialHeader, String> {
    let bytes = bytes(case, "header")?;
    let mut r = blindrelay::codec::Reader::new(&bytes);
    let hdr = InitialHeader::decode(&mut r).map_err(|e| format!("header: {e}"))?;
    r.finish().map_err(|e| format!("header: {e}"))?;
    Ok(hdr)
}

pub fn verify(case: &Value) -> Result<(), String> {
    match kind(case)?.as_str() {
        "handshake" => {
            let initiator = Initiator::from_case(case)?;
            let ephemeral = arr::<32>(case, "ephemeralSecret")?;
            let m = arr::<32>(case, "kemRandomness")?;
            let expected = derive_case(&initiator, &case["responder"], &ephemeral, &m)?;
            for key in [
                "initiatorIdentity",
                "initiatorRecord",
                "bundle",
                "header",
                "kemCiphertext",
                "kemSharedSecret",
                "transcriptHash",
                "ikm",
                "info",
                "okm",
                "associatedData",
            ] {
                expect_eq(case, key, bytes(&expected, key)?)?;
            }
            if case["dh"] != expected["dh"] {
                return Err("DH outputs differ".into());
            }
            // The responder recomputes the same values from the header alone.
            let p = party::build(&case["responder"])?;
            let hdr = header_from(case)?;
            let t = handshake_responder(&p.identity, &p.store, &hdr).map_err(|e| e.to_string())?;
            expect_eq(case, "okm", &t.okm)?;
            expect_eq(case, "associatedData", &t.associated_data)?;
            expect_eq(case, "transcriptHash", t.transcript_hash)
        }
        "responder-negative" => {
            let mut p = party::build(&case["responder"])?;
            if let Some(cache) = case.get("replayCache").and_then(Value::as_array) {
                for e in cache {
                    let id = u32::try_from(uint(e, "signedPrekeyId")?).map_err(|_| "id")?;
                    p.store.record_replay(id, arr(e, "ephemeral")?);
                }
            }
            let bytes = bytes(case, "header")?;
            let mut r = blindrelay::codec::Reader::new(&bytes);
            let result = InitialHeader::decode(&mut r)
                .and_then(|hdr| r.finish().map(|()| hdr))
                .and_then(|hdr| handshake_responder(&p.identity, &p.store, &hdr).map(|_| ()));
            expect_error(case, result)
        }
        "accept" | "accept-negative" => {
            let mut p = party::build(&case["responder"])?;
            let before = p.store.state_digest();
            let result =
                blindrelay::accept(&p.identity, &mut p.store, &bytes(case, "initialMessage")?);
            if is_valid(case) {
                let (session, pt) = result.map_err(|e| format!("accept failed: {e}"))?;
                expect_eq(case, "plaintext", pt)?;
                expect_eq(
                    case,
                    "initiatorIdentity",
                    session.remote_identity().to_array(),
                )?;
                let header =
                    blindrelay::wire::InitialMessage::decode_exact(&bytes(case, "initialMessage")?)
                        .map_err(|e| e.to_string())?
                        .header;
                expect_eq(case, "initiatorRecord", header.initiator.to_bytes())?;
                // §6.5 step 9: the one-time prekeys named are gone, and the initial
                // message is recorded for replay under its signed prekey.
                let id = |key: &str| {
                    case["responder"][key]
                        .as_u64()
                        .and_then(|v| u32::try_from(v).ok())
                };
                if let Some(i) = id("oneTimePrekeyId") {
                    if p.store.one_time_prekey(i).is_some() {
                        return Err("the one-time prekey was not consumed".into());
                    }
                }
                if let Some(i) = id("oneTimeKemPrekeyId") {
                    if p.store.one_time_kem_prekey(i).is_some() {
                        return Err("the one-time ML-KEM prekey was not consumed".into());
                    }
                }
                let spk = id("signedPrekeyId").ok_or("signedPrekeyId")?;
                if p.store.replay_count(spk) != 1 {
                    return Err("the initial message was not recorded for replay".into());
                }
                Ok(())
            } else {
                expect_error(case, result.map(|_| ()))?;
                if p.store.state_digest() != before {
                    return Err("a failed accept changed the responder's store".into());
                }
                Ok(())
            }
        }
        "accept-envelope-negative" => {
            let mut p = party::build(&case["responder"])?;
            let before = p.store.state_digest();
            let env = blindrelay::envelope::Envelope::decode_exact(&bytes(case, "envelope")?)
                .map_err(|e| format!("envelope: {e}"))?;
            let result =
                blindrelay::envelope::open(&p.sealing, &p.mailbox, &env).and_then(|opened| {
                    blindrelay::accept_opened(&p.identity, &mut p.store, &opened).map(|_| ())
                });
            expect_error(case, result)?;
            if p.store.state_digest() != before {
                return Err("a failed accept changed the responder's store".into());
            }
            Ok(())
        }
        "bundle-refused" => expect_error(
            case,
            PrekeyBundle::decode_exact(&bytes(case, "bundle")?).and_then(PrekeyBundle::verify),
        ),
        other => Err(format!("unknown kind {other}")),
    }
}
