//! `route.json`: mailboxes, read capabilities and pairwise envelopes (spec §8.13–§8.15).
//!
//! - `mailbox-id`: a read capability and its mailbox id, computed here with `sha2` from
//!   the spec's formula and checked against blindrelay.
//! - `pairwise-capability`: a root-KDF step (spec §7.2) whose next header key keys a
//!   pairwise mailbox: the capability (`HMAC-SHA256(hk, label)`) and the mailbox id,
//!   computed here with `hkdf`/`hmac`.
//! - `pairwise-transcript`: a conversation of pairwise envelopes across many rotations, in
//!   the style of `ratchet.json` transcripts: both starting states, every send (sender,
//!   plaintext, random bytes, exact envelope, its mailbox) and every delivery (recipient,
//!   envelope, plaintext and position or error, and the mailboxes the recipient watches
//!   afterwards), final state digests.
//! - `pairwise-parse`: the relay's strict parse (`RelayEnvelope::parse`) of malformed
//!   envelopes, each with its error.
//! - `pairwise-open`: a session state and an envelope that must be refused with the named
//!   error, leaving the state unchanged.

use crate::party;
use crate::ratchet::Tape;
use crate::util::*;
use blindrelay::envelope::{PairwiseEnvelope, RelayEnvelope};
use blindrelay::hazmat::{pairwise_capability, ratchet_root_step};
use blindrelay::route::{verify_read_capability, ReadCapability};
use blindrelay::{accept, initiate, Error, Session};
use hmac::{Hmac, Mac};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const MAILBOX_ID_LABEL: &[u8] = b"blindrelay v1 mailbox id";
const PAIRWISE_LABEL: &[u8] = b"blindrelay v1 pairwise mailbox";

/// `SHA-256("blindrelay v1 mailbox id" || capability)`, from the spec.
fn mailbox_spec(capability: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(MAILBOX_ID_LABEL);
    h.update(capability);
    h.finalize().into()
}

/// `HMAC-SHA256(header key, "blindrelay v1 pairwise mailbox")`, from the spec.
fn capability_spec(header_key: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(header_key).expect("any key length");
    mac.update(PAIRWISE_LABEL);
    mac.finalize().into_bytes().into()
}

fn watched(s: &Session) -> Value {
    Value::Array(
        s.receiving_capabilities()
            .iter()
            .map(|c| h(c.mailbox()))
            .collect(),
    )
}

/// A pairwise conversation being recorded.
struct Transcript {
    alice: Session,
    bob: Session,
    start: Value,
    events: Vec<Value>,
}

impl Transcript {
    fn new(r: &mut ChaCha20Rng) -> Self {
        let alice_party = party::build(&party::generate(r, false, false)).expect("party");
        let mut bob_party = party::build(&party::generate(r, true, true)).expect("party");
        let verified = bob_party.bundle.clone().verify().expect("valid bundle");
        let mut alice = initiate(
            r,
            &alice_party.identity,
            &alice_party.bundle.identity_record(),
            &verified,
        )
        .expect("initiate");
        let first = alice.encrypt(r, b"first").expect("encrypt");
        let (bob, _) = accept(&bob_party.identity, &mut bob_party.store, &first).expect("accept");
        let start = json!({
            "alice": h(&*alice.to_bytes()),
            "bob": h(&*bob.to_bytes()),
            "aliceWatches": watched(&alice),
            "bobWatches": watched(&bob),
        });
        Self {
            alice,
            bob,
            start,
            events: Vec::new(),
        }
    }

    fn party(&mut self, who: &str) -> &mut Session {
        if who == "alice" {
            &mut self.alice
        } else {
            &mut self.bob
        }
    }

    fn send(&mut self, r: &mut ChaCha20Rng, from: &str, pt: &[u8]) -> Vec<u8> {
        let s = self.party(from);
        let predicted = s.sending_mailbox().expect("an established session");
        let probe = s.next_send_is_probe();
        let mut tape = Tape::record(r.clone());
        let envelope = s.seal_pairwise(&mut tape, pt).expect("seal");
        *r = tape.inner.take().expect("recording");
        assert_eq!(
            PairwiseEnvelope::parse(&envelope).expect("parse").mailbox,
            &predicted
        );
        self.events.push(json!({
            "event": "send", "from": from, "plaintext": h(pt), "random": h(&tape.bytes),
            "mailbox": h(predicted), "probe": probe, "envelope": h(&envelope),
        }));
        envelope
    }

    fn deliver(&mut self, to: &str, envelope: &[u8], note: &str, expected: Option<Error>) {
        let s = self.party(to);
        let before = s.to_bytes();
        let result = s.open_pairwise(envelope);
        assert_eq!(
            result.as_ref().err().map(Error::code),
            expected.as_ref().map(Error::code),
            "{note}"
        );
        let mut m = json!({ "event": "deliver", "to": to, "note": note, "envelope": h(envelope) });
        match result {
            Ok(d) => {
                m["plaintext"] = h(d.plaintext);
                m["position"] = json!({ "chain": d.position.chain, "number": d.position.number });
            }
            Err(e) => {
                assert_eq!(*s.to_bytes(), *before);
                m["error"] = json!({ "code": e.code(), "name": e.name() });
            }
        }
        m["watches"] = watched(s);
        self.events.push(m);
    }

    fn finish(self) -> Value {
        json!({
            "start": self.start,
            "events": self.events,
            "finalStateSha256": {
                "alice": h(Sha256::digest(&*self.alice.to_bytes())),
                "bob": h(Sha256::digest(&*self.bob.to_bytes())),
            },
        })
    }
}

pub fn generate() -> (String, Value) {
    let mut f = FileBuilder::new(
        "route.json",
        "Mailboxes and read capabilities (mailbox id = SHA-256(label || capability)), pairwise mailboxes derived from header keys, a transcript of pairwise envelopes across many rotations, and negative cases for the relay's parse and the recipient's open.",
        &["§7.5", "§8.13", "§8.14", "§8.15", "§8.17", "§11.1"],
    );
    f.note(
        "WrongMailbox",
        "ROUTING",
        "The envelope is addressed to a mailbox the session does not watch.",
    );
    f.note(
        "MovedEnvelope",
        "ROUTING",
        "A relay moved the envelope to another mailbox the same session watches: it must authenticate only under the chain of the mailbox it names, so it fails Decrypt (the relay learns nothing about which mailboxes belong together).",
    );
    f.note(
        "Reframed",
        "AUTHENTICATION",
        "A body moved between a ratchet message (unpadded plaintext) and a pairwise envelope (padded plaintext): the framing byte in the body's associated data (§7.5) differs, so it does not authenticate.",
    );
    f.note(
        "Tampered",
        "AUTHENTICATION",
        "A flipped bit in the body tag.",
    );
    f.note("Duplicate", "REPLAY", "A relay delivers an envelope again.");
    f.note(
        "BadPadding",
        "PADDING",
        "An authenticated body whose padding is not the canonical Padmé padding of spec §8.4; refused before any state changes.",
    );
    f.note(
        "Malformed",
        "ENCODING",
        "A pairwise envelope the relay's strict parse refuses.",
    );
    let mut r = rng("route");

    // mailbox-id
    for (comment, cap) in [
        ("an all-zero capability", [0u8; 32]),
        (
            "a random capability (a public mailbox's)",
            fill::<32>(&mut r),
        ),
        ("another random capability", fill::<32>(&mut r)),
    ] {
        f.valid(
            "mailbox-id",
            comment,
            json!({ "capability": h(cap), "mailbox": h(mailbox_spec(&cap)) }),
        );
    }

    // pairwise-capability, from root-KDF steps
    for i in 0..3 {
        let rk = fill::<32>(&mut r);
        let dh = fill::<32>(&mut r);
        let [_, _, nhk] = ratchet_root_step(&rk, &dh);
        let cap = capability_spec(&*nhk);
        f.valid(
            "pairwise-capability",
            &format!("root step {i}: the next header key keys the next chain's pairwise mailbox"),
            json!({
                "rootKey": h(rk), "dhOutput": h(dh), "headerKey": h(*nhk),
                "capability": h(cap), "mailbox": h(mailbox_spec(&cap)),
            }),
        );
    }

    // pairwise-transcript: rotations, bursts, out-of-order and late deliveries.
    let mut t = Transcript::new(&mut r);
    let reply = t.send(&mut r, "bob", b"reply to the first message");
    t.deliver(
        "alice",
        &reply,
        "the reply route: Bob's first pairwise mailbox, derived from the handshake",
        None,
    );
    let mut late = None;
    for round in 0..6u8 {
        let a1 = t.send(&mut r, "alice", &[b'a', round, 1]);
        let a2 = t.send(
            &mut r,
            "alice",
            &vec![round; 300 + usize::from(round) * 200],
        );
        t.deliver("bob", &a2, "second of a burst first", None);
        if round == 2 {
            late = Some(a1);
        } else {
            t.deliver("bob", &a1, "first of the burst, out of order", None);
        }
        let b1 = t.send(&mut r, "bob", &[b'b', round]);
        t.deliver("alice", &b1, "a change of direction: a new mailbox", None);
    }
    if let Some(a1) = late {
        t.deliver(
            "bob",
            &a1,
            "late by three rotations: its mailbox is still watched",
            None,
        );
        t.deliver("bob", &a1, "delivered again", Some(Error::Duplicate));
    }
    // A one-way run of six: the 4th message of the chain is a probe (§8.17; a sender
    // would seal it to the public mailbox, the transcript keeps it pairwise).
    let run: Vec<Vec<u8>> = (0..6u8)
        .map(|i| t.send(&mut r, "alice", &[b'r', i]))
        .collect();
    for e in &run {
        t.deliver("bob", e, "a one-way run", None);
    }
    let last = t.send(&mut r, "alice", b"");
    t.deliver("bob", &last, "an empty plaintext pads to 256", None);
    // A relay moves an envelope to another mailbox Bob watches.
    let moved_src = t.send(&mut r, "alice", b"moved");
    let other = t
        .bob
        .receiving_capabilities()
        .iter()
        .map(ReadCapability::mailbox)
        .find(|m| m != PairwiseEnvelope::parse(&moved_src).expect("parse").mailbox)
        .expect("Bob watches several mailboxes");
    let mut moved = moved_src.clone();
    moved[2..34].copy_from_slice(&other);
    t.deliver(
        "bob",
        &moved,
        "moved by the relay to another of Bob's mailboxes",
        Some(Error::Decrypt),
    );
    t.deliver("bob", &moved_src, "the original still opens", None);
    // An envelope of a remembered chain (its key stored as skipped) moved to the current
    // chain's mailbox: only the named chain's header key may open it (§8.15).
    let w = t.send(&mut r, "bob", b"turn");
    t.deliver("alice", &w, "a rotation", None);
    let x0 = t.send(&mut r, "alice", b"x0");
    let x1 = t.send(&mut r, "alice", b"x1");
    t.deliver("bob", &x1, "x0 is skipped", None);
    let w = t.send(&mut r, "bob", b"turn again");
    t.deliver("alice", &w, "another rotation", None);
    let y0 = t.send(&mut r, "alice", b"y0");
    t.deliver(
        "bob",
        &y0,
        "the current chain is now y; x is remembered",
        None,
    );
    let mut x0_moved = x0.clone();
    x0_moved[2..34].copy_from_slice(PairwiseEnvelope::parse(&y0).expect("parse").mailbox);
    t.deliver(
        "bob",
        &x0_moved,
        "x0 (remembered chain, key stored) moved to the current chain's mailbox: Decrypt",
        Some(Error::Decrypt),
    );
    t.deliver("bob", &x0, "x0 at its own mailbox opens", None);
    let fresh = t.send(&mut r, "alice", b"never delivered in the transcript");
    let state_bob = t.bob.to_bytes().to_vec();
    let transcript = t.finish();
    f.valid(
        "pairwise-transcript",
        "A conversation of pairwise envelopes: bursts, out-of-order and late deliveries across rotations, a duplicate, an envelope moved between mailboxes.",
        transcript,
    );

    // pairwise-open negatives, against Bob's final state.
    let mut bob = Session::from_bytes(&state_bob).expect("state");
    let mut foreign = moved_src.clone();
    foreign[2..34].copy_from_slice(&fill::<32>(&mut r));
    let before = bob.to_bytes();
    assert_eq!(bob.open_pairwise(&foreign), Err(Error::WrongMailbox));
    assert_eq!(*bob.to_bytes(), *before);
    f.invalid(
        "pairwise-open",
        "a mailbox Bob does not watch",
        &["WrongMailbox"],
        json!({ "state": h(&state_bob), "envelope": h(&foreign) }),
        Error::WrongMailbox,
    );
    f.invalid(
        "pairwise-open",
        "an envelope already delivered",
        &["Duplicate"],
        json!({ "state": h(&state_bob), "envelope": h(&moved_src) }),
        Error::Duplicate,
    );
    let mut flipped = fresh.clone();
    let n = flipped.len();
    flipped[n - 1] ^= 1;
    f.invalid(
        "pairwise-open",
        "a tampered tag",
        &["Tampered"],
        json!({ "state": h(&state_bob), "envelope": h(&flipped) }),
        Error::Decrypt,
    );
    let fresh_mailbox = *PairwiseEnvelope::parse(&fresh).expect("parse").mailbox;
    let elsewhere = bob
        .receiving_capabilities()
        .iter()
        .map(ReadCapability::mailbox)
        .find(|m| *m != fresh_mailbox)
        .expect("several watched mailboxes");
    let mut moved = fresh.clone();
    moved[2..34].copy_from_slice(&elsewhere);
    f.invalid(
        "pairwise-open",
        "moved to another mailbox the session watches",
        &["MovedEnvelope"],
        json!({ "state": h(&state_bob), "envelope": h(&moved) }),
        Error::Decrypt,
    );
    assert_eq!(
        bob.open_pairwise(&fresh).map(|d| d.plaintext),
        Ok(b"never delivered in the transcript".to_vec())
    );
    // Authenticated bad padding, from a fresh pair (spec §8.15: checked before commit).
    let (bad_state, bad_env, reframed) = bad_padding_case(&mut r);
    f.invalid(
        "pairwise-open",
        "a ratchet message's body re-framed as a pairwise envelope: the body's associated data names its framing (§7.5)",
        &["Reframed"],
        json!({ "state": h(&bad_state), "envelope": h(&reframed) }),
        Error::Decrypt,
    );
    f.invalid(
        "pairwise-open",
        "an authenticated body with no padding marker",
        &["BadPadding"],
        json!({ "state": h(&bad_state), "envelope": h(&bad_env) }),
        Error::BadPadding,
    );

    // pairwise-parse negatives (the relay's parse, no key).
    let good = moved_src;
    let mut cases: Vec<(&str, Vec<u8>, Error)> = Vec::new();
    cases.push((
        "truncated in the mailbox",
        good[..20].to_vec(),
        Error::Truncated,
    ));
    let mut long = good.clone();
    long.push(0);
    cases.push(("a trailing byte", long, Error::TrailingBytes));
    let mut over = good[..138].to_vec();
    over.extend_from_slice(&(65_553u32).to_be_bytes());
    cases.push((
        "a body length over the maximum, rejected before the input length",
        over,
        Error::LengthOverMax {
            field: "pairwise.body",
        },
    ));
    let mut unpadded = good[..138].to_vec();
    unpadded.extend_from_slice(&(300u32).to_be_bytes());
    unpadded.extend_from_slice(&[0u8; 300]);
    cases.push((
        "a body length that is not a padded length plus 16",
        unpadded,
        Error::InvalidEncoding {
            field: "pairwise.body",
        },
    ));
    let mut short_body = good[..138].to_vec();
    short_body.extend_from_slice(&(100u32).to_be_bytes());
    short_body.extend_from_slice(&[0u8; 100]);
    cases.push((
        "a body shorter than the smallest padded length plus 16",
        short_body,
        Error::InvalidEncoding {
            field: "pairwise.body",
        },
    ));
    let mut cut = good[..138].to_vec();
    cut.extend_from_slice(&(300u32).to_be_bytes());
    cut.extend_from_slice(&[0u8; 100]);
    cases.push((
        "a body length that is not a padded length plus 16, with only 100 of its 300 bytes: Truncated first (§2.3)",
        cut,
        Error::Truncated,
    ));
    cases.push((
        "truncated inside the body",
        good[..good.len() - 1].to_vec(),
        Error::Truncated,
    ));
    let mut version = good.clone();
    version[0] = 2;
    cases.push(("an unknown version", version, Error::UnknownVersion(2)));
    let mut ty = good.clone();
    ty[1] = 0x0F;
    cases.push(("an unknown type", ty, Error::UnknownMessageType(0x0F)));
    // The largest pairwise envelope the relay accepts: a body of MAX_PAIRWISE_BODY_LEN.
    let mut largest = good[..138].to_vec();
    let max_body = blindrelay::envelope::MAX_PAIRWISE_BODY_LEN;
    largest.extend_from_slice(&u32::try_from(max_body).expect("u32").to_be_bytes());
    largest.resize(138 + 4 + max_body, 0x5c);
    let parsed = RelayEnvelope::parse(&largest).expect("the largest body parses");
    assert_eq!(parsed.encoded_len(), largest.len());
    f.valid(
        "pairwise-parse",
        "a body of exactly MAX_PAIRWISE_BODY_LEN (65552) bytes: the relay's parse accepts it",
        json!({ "envelope": h(&largest), "mailbox": h(parsed.mailbox()), "length": largest.len() }),
    );
    for (comment, env, err) in cases {
        assert_eq!(
            RelayEnvelope::parse(&env).map(|_| ()).map_err(|e| e.code()),
            Err(err.code()),
            "{comment}"
        );
        f.invalid(
            "pairwise-parse",
            comment,
            &["Malformed"],
            json!({ "envelope": h(&env) }),
            err,
        );
    }
    route_state_cases(&mut f);
    pairwise_seal_negative_cases(&mut f);
    f.build()
}

/// `mailbox(capability(HK))` of §8.13 and §8.14, from the formulas.
fn mailbox_of_header_key(hk: &[u8; 32]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(hk).expect("any key length");
    mac.update(b"blindrelay v1 pairwise mailbox");
    let cap: [u8; 32] = mac.finalize().into_bytes().into();
    Sha256::new()
        .chain_update(b"blindrelay v1 mailbox id")
        .chain_update(cap)
        .finalize()
        .into()
}

/// `route-state`: what a restored session addresses and watches (§8.14, §8.17): none while
/// unconfirmed, `mailbox(NHKs)` while a DH step is pending, `mailbox(HKs)` otherwise. The
/// sending mailbox is computed here from the §7.8 fields; the watch list is the core's.
fn route_state_cases(f: &mut FileBuilder) {
    use crate::ratchet_edge::StateImage;
    let mut r = rng("route-state");
    let mut t = Transcript::new(&mut r);
    let mut states = vec![(
        "an unconfirmed initiator: no sending mailbox, never a probe",
        t.alice.to_bytes().to_vec(),
    )];
    let reply = t.send(&mut r, "bob", b"r");
    t.deliver("alice", &reply, "", None);
    states.push((
        "a DH step pending: the next chain's mailbox, mailbox(NHKs)",
        t.alice.to_bytes().to_vec(),
    ));
    for _ in 0..2 {
        let w = t.send(&mut r, "alice", b"m");
        t.deliver("bob", &w, "", None);
    }
    states.push((
        "two messages into a chain: mailbox(HKs); the third is not a probe",
        t.alice.to_bytes().to_vec(),
    ));
    let w = t.send(&mut r, "alice", b"m");
    t.deliver("bob", &w, "", None);
    states.push((
        "three messages into a chain without a reply: the fourth is a probe (PROBE_FIRST)",
        t.alice.to_bytes().to_vec(),
    ));
    states.push((
        "the receiver of that chain: watches its current, next and remembered chains",
        t.bob.to_bytes().to_vec(),
    ));
    for (comment, state) in states {
        let img = StateImage::parse(&state);
        let sending = if img.initial.is_some() {
            None
        } else if img.step {
            Some(mailbox_of_header_key(&img.nhks))
        } else {
            img.hks.as_ref().map(mailbox_of_header_key)
        };
        let s = Session::from_bytes(&state).expect("state");
        assert_eq!(s.sending_mailbox(), sending, "{comment}");
        let watches: Vec<Value> = s
            .receiving_capabilities()
            .iter()
            .map(|c| h(c.mailbox()))
            .collect();
        f.valid(
            "route-state",
            comment,
            json!({
                "state": h(&state),
                "sendingMailbox": sending.map(h).unwrap_or(Value::Null),
                "probe": s.next_send_is_probe(),
                "watches": watches,
            }),
        );
    }
}

/// A fresh pair where Alice sends Bob an authenticated but unpadded pairwise body, and a
/// ratchet message (with a canonically padded plaintext) re-framed as a pairwise envelope.
/// Returns Bob's state and the two envelopes.
fn bad_padding_case(r: &mut ChaCha20Rng) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut t = Transcript::new(r);
    let reply = t.send(r, "bob", b"r");
    t.deliver("alice", &reply, "", None);
    let env =
        blindrelay::hazmat::seal_pairwise_unpadded(&mut t.alice, r, &[0x41; 256]).expect("seal");
    let mailbox = t.alice.sending_mailbox().expect("established");
    let mut body = b"pay 20".to_vec();
    body.push(0x80);
    body.resize(256, 0);
    let ratchet = t.alice.encrypt(r, &body).expect("encrypt");
    let mut reframed = vec![0x01, 0x08];
    reframed.extend_from_slice(&mailbox);
    reframed.extend_from_slice(&ratchet[2..]);
    let state = t.bob.to_bytes().to_vec();
    let mut bob = Session::from_bytes(&state).expect("state");
    assert_eq!(bob.open_pairwise(&env), Err(Error::BadPadding));
    assert_eq!(bob.open_pairwise(&reframed), Err(Error::Decrypt));
    (state, env, reframed)
}

pub fn verify(case: &Value) -> Result<(), String> {
    match kind(case)?.as_str() {
        "mailbox-id" => {
            let cap = arr::<32>(case, "capability")?;
            expect_eq(case, "mailbox", mailbox_spec(&cap))?;
            expect_eq(case, "mailbox", ReadCapability::from_bytes(cap).mailbox())?;
            if !verify_read_capability(&arr(case, "mailbox")?, &cap) {
                return Err("verify_read_capability refused the capability".into());
            }
            Ok(())
        }
        "pairwise-capability" => {
            let [_, _, nhk] = ratchet_root_step(&arr(case, "rootKey")?, &arr(case, "dhOutput")?);
            expect_eq(case, "headerKey", *nhk)?;
            expect_eq(case, "capability", capability_spec(&*nhk))?;
            expect_eq(case, "capability", pairwise_capability(&nhk).to_bytes())?;
            expect_eq(case, "mailbox", mailbox_spec(&capability_spec(&*nhk)))
        }
        "pairwise-transcript" => verify_transcript(case),
        "route-state" => {
            let s = Session::from_bytes(&bytes(case, "state")?).map_err(|e| e.to_string())?;
            let sending = s.sending_mailbox().map(h).unwrap_or(Value::Null);
            let watches: Vec<Value> = s
                .receiving_capabilities()
                .iter()
                .map(|c| h(c.mailbox()))
                .collect();
            if sending != case["sendingMailbox"]
                || json!(s.next_send_is_probe()) != case["probe"]
                || Value::Array(watches) != case["watches"]
            {
                return Err("the route differs".into());
            }
            Ok(())
        }
        "pairwise-seal-negative" => {
            let state = bytes(case, "state")?;
            let mut s = Session::from_bytes(&state).map_err(|e| e.to_string())?;
            let len = usize::try_from(uint(case, "plaintextLength")?).map_err(|e| e.to_string())?;
            let mut tape = Tape::replay(Vec::new());
            let got = s.seal_pairwise(&mut tape, &vec![0u8; len]);
            if tape.overrun || tape.pos != 0 {
                return Err("a refused send drew random bytes".into());
            }
            if *s.to_bytes() != state[..] {
                return Err("a refused send changed the state".into());
            }
            expect_error(case, got)
        }
        "pairwise-parse" if is_valid(case) => {
            let env = bytes(case, "envelope")?;
            let parsed = RelayEnvelope::parse(&env).map_err(|e| e.to_string())?;
            expect_eq(case, "mailbox", parsed.mailbox())?;
            if Some(parsed.encoded_len() as u64) != case["length"].as_u64() {
                return Err("length differs".into());
            }
            Ok(())
        }
        "pairwise-parse" => expect_error(case, RelayEnvelope::parse(&bytes(case, "envelope")?)),
        "pairwise-open" => {
            let mut s = Session::from_bytes(&bytes(case, "state")?).map_err(|e| e.to_string())?;
            let before = s.to_bytes();
            let result = s.open_pairwise(&bytes(case, "envelope")?);
            if *s.to_bytes() != *before {
                return Err("a refused envelope changed the state".into());
            }
            expect_error(case, result)
        }
        other => Err(format!("unknown kind {other}")),
    }
}

fn check_watches(m: &Value, key: &str, s: &Session) -> Result<(), String> {
    if m[key] != watched(s) {
        return Err(format!("{key}: watched mailboxes differ"));
    }
    Ok(())
}

fn verify_transcript(case: &Value) -> Result<(), String> {
    let restore = |who: &str| -> Result<Session, String> {
        Session::from_bytes(&bytes(&case["start"], who)?)
            .map_err(|e| format!("{who}'s starting state: {e}"))
    };
    let (mut alice, mut bob) = (restore("alice")?, restore("bob")?);
    check_watches(&case["start"], "aliceWatches", &alice)?;
    check_watches(&case["start"], "bobWatches", &bob)?;
    for (i, m) in case["events"]
        .as_array()
        .ok_or("events")?
        .iter()
        .enumerate()
    {
        let at = |e: String| format!("event {i}: {e}");
        let event = string(m, "event")?;
        let who = if event == "send" {
            string(m, "from")?
        } else {
            string(m, "to")?
        };
        let s = match who.as_str() {
            "alice" => &mut alice,
            "bob" => &mut bob,
            other => return Err(at(format!("unknown party {other}"))),
        };
        if event == "send" {
            expect_eq(
                m,
                "mailbox",
                s.sending_mailbox().ok_or("no sending mailbox")?,
            )
            .map_err(at)?;
            if m["probe"].as_bool() != Some(s.next_send_is_probe()) {
                return Err(at("the probe rule (§8.17) disagrees".into()));
            }
            let mut tape = Tape::replay(bytes(m, "random")?);
            let envelope = s
                .seal_pairwise(&mut tape, &bytes(m, "plaintext")?)
                .map_err(|e| at(e.to_string()))?;
            if tape.overrun || tape.pos != tape.bytes.len() {
                return Err(at("random bytes drawn differ from the tape".into()));
            }
            expect_eq(m, "envelope", &envelope).map_err(at)?;
            let parsed = PairwiseEnvelope::parse(&envelope).map_err(|e| at(e.to_string()))?;
            expect_eq(m, "mailbox", parsed.mailbox).map_err(at)?;
            continue;
        }
        let before = s.to_bytes();
        let result = s.open_pairwise(&bytes(m, "envelope")?);
        match (result, m.get("error")) {
            (Ok(d), None) => {
                expect_eq(m, "plaintext", &d.plaintext).map_err(at)?;
                let pos = &m["position"];
                if pos["chain"].as_u64() != Some(u64::from(d.position.chain))
                    || pos["number"].as_u64() != Some(u64::from(d.position.number))
                {
                    return Err(at(format!("position {:?}, expected {pos}", d.position)));
                }
            }
            (Err(e), Some(err)) => {
                if err["code"].as_u64() != Some(u64::from(e.code())) {
                    return Err(at(format!("expected {err}, got {e}")));
                }
                if *s.to_bytes() != *before {
                    return Err(at("a refused envelope changed the state".into()));
                }
            }
            (got, _) => return Err(at(format!("unexpected outcome {got:?}"))),
        }
        check_watches(m, "watches", s).map_err(at)?;
    }
    let digest = |s: &Session| h(Sha256::digest(&*s.to_bytes()));
    if case["finalStateSha256"]["alice"] != digest(&alice)
        || case["finalStateSha256"]["bob"] != digest(&bob)
    {
        return Err("final state digests differ".into());
    }
    Ok(())
}

/// Seeds for the pairwise fuzz targets (spec §8.15): the fixture state of `pairwise_open`
/// (`fuzz/fixtures/pairwise.state`, a responder of an established pair) and genuine
/// pairwise envelopes to it, on its current chain and on the peer's next one.
pub fn write_fuzz_seeds(corpus: &std::path::Path) -> std::io::Result<usize> {
    let mut r = rng("fuzz-pairwise");
    let mut t = Transcript::new(&mut r);
    let reply = t.send(&mut r, "bob", b"reply");
    t.deliver("alice", &reply, "", None);
    let fixture = t.bob.to_bytes().to_vec();
    let dir = corpus.join("../fixtures");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("pairwise.state"), &fixture)?;
    let mut seeds = Vec::new();
    for len in [0usize, 40, 700] {
        seeds.push(t.send(&mut r, "alice", &vec![0x61; len]));
    }
    // Bob (a copy) answers; Alice's next message starts a chain the fixture watches as
    // its next one.
    let answer = t.send(&mut r, "bob", b"answer");
    t.deliver("alice", &answer, "", None);
    seeds.push(t.send(&mut r, "alice", b"next chain"));
    let out = corpus.join("pairwise_open");
    std::fs::create_dir_all(&out)?;
    for (i, s) in seeds.iter().enumerate() {
        std::fs::write(out.join(format!("seed{i}")), s)?;
    }
    let mut check = Session::from_bytes(&fixture).expect("fixture");
    for s in &seeds {
        check
            .open_pairwise(s)
            .expect("every seed opens at the fixture");
    }
    Ok(seeds.len())
}

/// `pairwise-seal-negative`: sends §8.15 refuses before drawing any randomness.
fn pairwise_seal_negative_cases(f: &mut FileBuilder) {
    f.note("SealRefused", "EDGE_CASE", "A pairwise send the session must refuse, before any random byte is drawn and without changing its state (§8.15, §7.4).");
    let mut r = rng("pairwise-seal-negative");
    let mut t = Transcript::new(&mut r);
    let unconfirmed = t.alice.to_bytes().to_vec();
    let reply = t.send(&mut r, "bob", b"r");
    t.deliver("alice", &reply, "", None);
    let confirmed = t.alice.to_bytes().to_vec();
    let max = blindrelay::envelope::MAX_PAIRWISE_PLAINTEXT_LEN;
    for (comment, state, len, err) in [
        (
            "a plaintext of MAX_PAIRWISE_PLAINTEXT_LEN + 1 = 65536 bytes",
            &confirmed,
            max + 1,
            Error::MessageTooLarge,
        ),
        (
            "an unconfirmed session (its messages are initial messages)",
            &unconfirmed,
            1,
            Error::ApiMisuse { reason: "" },
        ),
        (
            "an unconfirmed session and an oversize plaintext: ApiMisuse comes first",
            &unconfirmed,
            max + 1,
            Error::ApiMisuse { reason: "" },
        ),
    ] {
        let mut s = Session::from_bytes(state).expect("state");
        let mut tape = Tape::replay(Vec::new());
        let got = s.seal_pairwise(&mut tape, &vec![0u8; len]).map(drop);
        assert_eq!(got.map_err(|e| e.code()), Err(err.code()), "{comment}");
        assert!(!tape.overrun && tape.pos == 0 && *s.to_bytes() == state[..]);
        f.invalid(
            "pairwise-seal-negative",
            comment,
            &["SealRefused"],
            json!({ "state": h(state), "plaintextLength": len }),
            err,
        );
    }
}
