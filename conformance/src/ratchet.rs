//! `ratchet.json`: the ratchet's KDF steps (spec §7.2), computed here directly with the
//! `hkdf` and `hmac` crates from the spec's formulas (not through blindrelay), and
//! conversation transcripts in the style of MLS "passive client" vectors (spec §7.3–§7.8):
//! both parties' starting states (§7.8 encoding), then every event in order: a *send*
//! (sender, plaintext, the random bytes it draws in the order of §7.4, and the exact wire
//! bytes) or a *delivery* (recipient, wire bytes, expected plaintext or error). The verifier
//! restores the states, replays every send with the recorded randomness and compares the
//! wire bytes, delivers every message and checks its result, checks that every rejection
//! left the recipient's state unchanged, and compares the final states' SHA-256.

use crate::party;
use crate::util::*;
use blindrelay::codec::Decode;
use blindrelay::hazmat::{ratchet_chain_step, ratchet_root_step, tweak_session, SessionTweak};
use blindrelay::wire::{RatchetMessageRef, BODY_NONCE_LEN, ENCRYPTED_HEADER_LEN, MAX_BODY_LEN};
use blindrelay::{accept, initiate, Error, IdentityPublicKey, Session, StorageKey};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub(crate) fn root_step_spec(rk: &[u8; 32], dh: &[u8; 32]) -> [u8; 96] {
    let mut okm = [0u8; 96];
    Hkdf::<Sha256>::new(Some(rk), dh)
        .expand(b"blindrelay v1 ratchet root", &mut okm)
        .expect("96 bytes");
    okm
}

pub(crate) fn chain_step_spec(ck: &[u8; 32], constant: u8) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(ck).expect("any key length");
    mac.update(&[constant]);
    mac.finalize().into_bytes().into()
}

/// An RNG that records what it hands out (generation) or replays recorded bytes
/// (verification), so that every encryption in a transcript is reproducible: spec §7.4
/// fixes the order of the random draws.
pub(crate) struct Tape {
    pub(crate) inner: Option<ChaCha20Rng>,
    pub(crate) bytes: Vec<u8>,
    pub(crate) pos: usize,
    pub(crate) overrun: bool,
}

impl Tape {
    pub(crate) fn record(inner: ChaCha20Rng) -> Self {
        Self {
            inner: Some(inner),
            bytes: Vec::new(),
            pos: 0,
            overrun: false,
        }
    }
    pub(crate) fn replay(bytes: Vec<u8>) -> Self {
        Self {
            inner: None,
            bytes,
            pos: 0,
            overrun: false,
        }
    }
}

impl rand_core::RngCore for Tape {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        match &mut self.inner {
            Some(rng) => {
                rng.fill_bytes(dest);
                self.bytes.extend_from_slice(dest);
            }
            None => {
                for d in dest.iter_mut() {
                    *d = self.bytes.get(self.pos).copied().unwrap_or_else(|| {
                        self.overrun = true;
                        0
                    });
                    self.pos += 1;
                }
            }
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for Tape {}

/// A conversation being recorded.
pub(crate) struct Transcript {
    pub(crate) alice: Session,
    pub(crate) bob: Session,
    start: Value,
    messages: Vec<Value>,
}

impl Transcript {
    pub(crate) fn new(r: &mut ChaCha20Rng) -> Self {
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
        let start = json!({ "alice": h(&*alice.to_bytes()), "bob": h(&*bob.to_bytes()) });
        Self {
            alice,
            bob,
            start,
            messages: Vec::new(),
        }
    }

    /// Encrypts `pt` from `from` without delivering it; records the random bytes drawn
    /// and returns the wire bytes.
    pub(crate) fn send(&mut self, r: &mut ChaCha20Rng, from: &str, pt: &[u8]) -> Vec<u8> {
        let s = if from == "alice" {
            &mut self.alice
        } else {
            &mut self.bob
        };
        let mut tape = Tape::record(r.clone());
        let wire = s.encrypt(&mut tape, pt).expect("encrypt");
        *r = tape.inner.take().expect("recording");
        self.messages.push(json!({
            "event": "send", "from": from, "plaintext": h(pt), "random": h(&tape.bytes), "wire": h(&wire),
        }));
        wire
    }

    /// Tries to encrypt a plaintext of `len` zero bytes that must fail with `expected`,
    /// leaving the sender unchanged; records a `send` event with `plaintextLength` and
    /// `error`.
    pub(crate) fn send_fails(
        &mut self,
        r: &mut ChaCha20Rng,
        from: &str,
        len: usize,
        expected: Error,
    ) {
        let s = if from == "alice" {
            &mut self.alice
        } else {
            &mut self.bob
        };
        let before = s.to_bytes();
        let mut tape = Tape::record(r.clone());
        let got = s
            .encrypt(&mut tape, &vec![0u8; len])
            .expect_err("must fail");
        assert_eq!(got.code(), expected.code());
        assert_eq!(*s.to_bytes(), *before);
        *r = tape.inner.take().expect("recording");
        self.messages.push(json!({
            "event": "send", "from": from, "plaintextLength": len, "random": h(&tape.bytes),
            "error": { "code": got.code(), "name": got.name() },
        }));
    }

    /// Puts a party in a state the API reaches only after 2^32 messages or never, and
    /// records it as a `restore` event.
    pub(crate) fn tweak(&mut self, who: &str, tweak: SessionTweak, note: &str) {
        let s = if who == "alice" {
            &mut self.alice
        } else {
            &mut self.bob
        };
        tweak_session(s, tweak);
        self.messages.push(json!({
            "event": "restore", "party": who, "note": note, "state": h(&*s.to_bytes()),
        }));
    }

    /// Encrypts without recording (for long runs), then records the sender's resulting
    /// state as a `restore` event.
    pub(crate) fn silent_sends(
        &mut self,
        r: &mut ChaCha20Rng,
        from: &str,
        pt: &[u8],
        count: u32,
    ) -> Vec<u8> {
        let s = if from == "alice" {
            &mut self.alice
        } else {
            &mut self.bob
        };
        let mut last = Vec::new();
        for _ in 0..count {
            last = s.encrypt(r, pt).expect("encrypt");
        }
        self.messages.push(json!({
            "event": "restore", "party": from,
            "note": format!("{count} messages sent and never delivered; the sender's state afterwards"),
            "state": h(&*s.to_bytes()),
        }));
        last
    }

    /// Delivers `wire` to `to` and records the outcome, which must be `expected` (an error)
    /// or success when `expected` is `None`.
    pub(crate) fn deliver(&mut self, to: &str, wire: &[u8], note: &str, expected: Option<Error>) {
        let s = if to == "alice" {
            &mut self.alice
        } else {
            &mut self.bob
        };
        let mut m = json!({ "event": "deliver", "to": to, "note": note, "wire": h(wire) });
        let result = s.decrypt_message(wire);
        assert_eq!(
            result.as_ref().err().map(Error::code),
            expected.as_ref().map(Error::code),
            "{note}"
        );
        match result {
            Ok(d) => {
                m["plaintext"] = h(d.plaintext);
                m["position"] = json!({ "chain": d.position.chain, "number": d.position.number });
            }
            Err(e) => m["error"] = json!({ "code": e.code(), "name": e.name() }),
        }
        self.messages.push(m);
    }

    /// Replaces a party's state (a restored backup, or a state only 2^32 messages reach)
    /// and records it as a `restore` event.
    pub(crate) fn restore(&mut self, who: &str, state: &[u8], note: &str) {
        let s = Session::from_bytes(state).expect("a valid state");
        if who == "alice" {
            self.alice = s;
        } else {
            self.bob = s;
        }
        self.messages.push(json!({
            "event": "restore", "party": who, "note": note, "state": h(state),
        }));
    }

    pub(crate) fn finish(self) -> Value {
        json!({
            "start": self.start,
            "events": self.messages,
            "finalStateSha256": {
                "alice": h(Sha256::digest(&*self.alice.to_bytes())),
                "bob": h(Sha256::digest(&*self.bob.to_bytes())),
            },
        })
    }
}

pub fn generate() -> (String, Value) {
    let mut f = FileBuilder::new(
        "ratchet.json",
        "Double Ratchet with encrypted headers: KDF steps computed from the spec's formulas, and conversation transcripts (starting states, messages in delivery order with expected plaintexts or errors, final state digests).",
        &["§7.2", "§7.3", "§7.4", "§7.5", "§7.6", "§7.7", "§7.8", "§7.9"],
    );
    let mut r = rng("ratchet");
    for i in 0..3 {
        let rk: [u8; 32] = fill(&mut r);
        let dh: [u8; 32] = fill(&mut r);
        let okm = root_step_spec(&rk, &dh);
        f.valid(
            "kdf-root",
            &format!("KDF_RK_HE #{i}"),
            json!({ "rootKey": h(rk), "dhOutput": h(dh), "nextRootKey": h(&okm[..32]), "chainKey": h(&okm[32..64]), "nextHeaderKey": h(&okm[64..]) }),
        );
        let ck: [u8; 32] = fill(&mut r);
        f.valid(
            "kdf-chain",
            &format!("KDF_CK #{i}"),
            json!({ "chainKey": h(ck), "messageKey": h(chain_step_spec(&ck, 1)), "nextChainKey": h(chain_step_spec(&ck, 2)) }),
        );
    }

    // 1. In order, with a DH ratchet step in each direction.
    let mut t = Transcript::new(&mut r);
    let w = t.send(&mut r, "alice", b"still pending: an initial message");
    t.deliver(
        "bob",
        &w,
        "initial message for the existing session (spec 6.6)",
        None,
    );
    let w = t.send(&mut r, "bob", b"reply: Bob's first chain");
    t.deliver("alice", &w, "DH ratchet step at Alice", None);
    for i in 0..3u8 {
        let w = t.send(&mut r, "alice", &[b'a', i]);
        t.deliver(
            "bob",
            &w,
            if i == 0 {
                "DH ratchet step at Bob"
            } else {
                "same chain"
            },
            None,
        );
    }
    let w = t.send(&mut r, "bob", b"direction change");
    t.deliver("alice", &w, "DH ratchet step at Alice", None);
    f.valid(
        "transcript",
        "in order, DH ratchet steps in both directions",
        t.finish(),
    );

    // 2. Out of order, duplicates, tampering, and a skipped key from an old chain.
    let mut t = Transcript::new(&mut r);
    let w = t.send(&mut r, "bob", b"reply");
    t.deliver("alice", &w, "DH ratchet step at Alice", None);
    let chain: Vec<Vec<u8>> = (0..4u8)
        .map(|i| t.send(&mut r, "alice", &[b'o', i]))
        .collect();
    t.deliver(
        "bob",
        &chain[2],
        "out of order: skips messages 0 and 1",
        None,
    );
    t.deliver("bob", &chain[0], "a skipped key is used", None);
    t.deliver(
        "bob",
        &chain[0],
        "duplicate: its header opens under a remembered chain, its key was used",
        Some(Error::Duplicate),
    );
    let mut bad = chain[1].clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    t.deliver(
        "bob",
        &bad,
        "tampered body (tag byte)",
        Some(Error::Decrypt),
    );
    let mut bad = chain[1].clone();
    bad[30] ^= 0x01;
    t.deliver(
        "bob",
        &bad,
        "tampered encrypted header",
        Some(Error::Decrypt),
    );
    let w = t.send(&mut r, "bob", b"bob again");
    t.deliver("alice", &w, "DH ratchet step at Alice", None);
    let w = t.send(&mut r, "alice", b"new chain");
    t.deliver(
        "bob",
        &w,
        "DH ratchet step at Bob; message 3 of the old chain is stored as skipped",
        None,
    );
    t.deliver("bob", &chain[3], "old chain, skipped key", None);
    t.deliver(
        "bob",
        &chain[1],
        "old chain, the genuine message after its tampered copies",
        None,
    );
    t.deliver(
        "bob",
        &chain[1],
        "duplicate in the old (remembered) chain",
        Some(Error::Duplicate),
    );
    let w = t.send(&mut r, "alice", b"second of the new chain");
    t.deliver("bob", &w, "current chain", None);
    t.deliver(
        "bob",
        &w,
        "duplicate in the current chain",
        Some(Error::Duplicate),
    );
    f.valid(
        "transcript",
        "out of order, duplicates, tampering, old-chain keys",
        t.finish(),
    );

    // 3. A gap over MAX_SKIP.
    let mut t = Transcript::new(&mut r);
    let w = t.send(&mut r, "bob", b"reply");
    t.deliver("alice", &w, "DH ratchet step at Alice", None);
    let w = t.send(&mut r, "alice", b"0");
    t.deliver("bob", &w, "message 0", None);
    let w = t.silent_sends(&mut r, "alice", b"far", blindrelay::ratchet::MAX_SKIP + 2);
    t.deliver(
        "bob",
        &w,
        "message MAX_SKIP + 2 would skip MAX_SKIP + 1 keys",
        Some(Error::TooManySkipped),
    );
    let w = t.send(&mut r, "bob", b"unaffected");
    t.deliver(
        "alice",
        &w,
        "the rejected message changed nothing at Bob",
        None,
    );
    f.valid("transcript", "a gap over MAX_SKIP", t.finish());

    // 4. Messages from another session and a foreign initial message.
    let mut t = Transcript::new(&mut r);
    let mut other = Transcript::new(&mut r);
    let w = other.send(&mut r, "bob", b"other session");
    t.deliver(
        "alice",
        &w,
        "a ratchet message of another session",
        Some(Error::Decrypt),
    );
    let w = other.send(&mut r, "alice", b"other initial");
    t.deliver(
        "bob",
        &w,
        "an initial message of another handshake",
        Some(Error::SessionMismatch),
    );
    f.valid("transcript", "messages of another session", t.finish());

    // 5. Limits: a gap of exactly MAX_SKIP, an oversize plaintext, counter exhaustion,
    // and a session that cannot send.
    let mut t = Transcript::new(&mut r);
    let w = t.send(&mut r, "bob", b"reply");
    t.deliver("alice", &w, "DH ratchet step at Alice", None);
    let w = t.send(&mut r, "alice", b"0");
    t.deliver("bob", &w, "message 0", None);
    let w = t.silent_sends(&mut r, "alice", b"edge", blindrelay::ratchet::MAX_SKIP + 1);
    t.deliver(
        "bob",
        &w,
        "message MAX_SKIP + 1 skips exactly MAX_SKIP keys: accepted",
        None,
    );
    t.send_fails(
        &mut r,
        "alice",
        blindrelay::limits::MAX_PLAINTEXT_LEN + 1,
        Error::MessageTooLarge,
    );
    // Malformed ratchet messages (spec §7.5, §2.3): each fails to decode at Bob, and
    // changes nothing.
    let good = t.send(&mut r, "alice", b"well formed");
    let (eh, nonce) = ([0x11u8; ENCRYPTED_HEADER_LEN], [0x22u8; BODY_NONCE_LEN]);
    let mut at_limit = RatchetMessageRef::start_encoding(&eh, &nonce, MAX_BODY_LEN);
    at_limit.resize(at_limit.len() + MAX_BODY_LEN, 0);
    t.deliver(
        "bob",
        &at_limit,
        "body of exactly MAX_BODY_LEN bytes: parses, fails to authenticate",
        Some(Error::Decrypt),
    );
    let over = RatchetMessageRef::start_encoding(&eh, &nonce, MAX_BODY_LEN + 1);
    t.deliver(
        "bob",
        &over,
        "body length prefix MAX_BODY_LEN + 1",
        Some(Error::LengthOverMax {
            field: "ratchet.body",
        }),
    );
    let mut short = RatchetMessageRef::start_encoding(&eh, &nonce, 15);
    short.extend_from_slice(&[0; 15]);
    t.deliver(
        "bob",
        &short,
        "body of 15 bytes (shorter than a tag)",
        Some(Error::InvalidEncoding {
            field: "ratchet.body",
        }),
    );
    t.deliver(
        "bob",
        &good[..good.len() - 1],
        "truncated by one byte",
        Some(Error::Truncated),
    );
    let mut trailing = good.clone();
    trailing.push(0);
    t.deliver(
        "bob",
        &trailing,
        "one trailing byte",
        Some(Error::TrailingBytes),
    );
    let mut version = good.clone();
    version[0] = 0x02;
    t.deliver(
        "bob",
        &version,
        "version 0x02",
        Some(Error::UnknownVersion(2)),
    );
    let mut ty = good.clone();
    ty[1] = 0x09;
    t.deliver(
        "bob",
        &ty,
        "message type 0x09",
        Some(Error::UnknownMessageType(9)),
    );
    t.deliver("bob", &good, "the well-formed message still decrypts", None);
    t.tweak(
        "alice",
        SessionTweak::SendingNumber(u32::MAX),
        "Ns = 2^32 - 1",
    );
    t.send_fails(&mut r, "alice", 1, Error::CounterExhausted);
    t.tweak(
        "bob",
        SessionTweak::NoSendingChain,
        "no sending chain and no pending step",
    );
    t.send_fails(&mut r, "bob", 1, Error::ApiMisuse { reason: "" });
    f.valid(
        "transcript",
        "limits: MAX_SKIP exactly, MAX_PLAINTEXT_LEN + 1, counter exhaustion, no sending chain",
        t.finish(),
    );
    sealed_state_cases(&mut f, &mut r);
    crate::ratchet_edge::cases(&mut f);
    f.build()
}

/// The sealed state of spec §7.8, computed here from the formula with the
/// `chacha20poly1305` crate: `0x01 0x06 || epoch || nonce || opaque32(XChaCha20-Poly1305(
/// key, nonce, ad, state))`, `ad = label || local || remote || u8 len || slot || epoch`.
pub(crate) fn seal_spec(
    state: &[u8],
    key: &[u8; 32],
    ids: (&[u8], &[u8]),
    slot: &[u8],
    epoch: u64,
    nonce: &[u8; 24],
) -> Vec<u8> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let mut ad = b"blindrelay v1 session storage".to_vec();
    ad.extend_from_slice(ids.0);
    ad.extend_from_slice(ids.1);
    ad.push(u8::try_from(slot.len()).expect("short slot"));
    ad.extend_from_slice(slot);
    ad.extend_from_slice(&epoch.to_be_bytes());
    let ct = chacha20poly1305::XChaCha20Poly1305::new(key.into())
        .encrypt(
            nonce.into(),
            Payload {
                msg: state,
                aad: &ad,
            },
        )
        .expect("seal");
    let mut out = vec![0x01, 0x06];
    out.extend_from_slice(&epoch.to_be_bytes());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&u32::try_from(ct.len()).expect("short").to_be_bytes());
    out.extend_from_slice(&ct);
    out
}

/// Sealed session states (spec §7.8): one valid case, and the storage thief's swaps, each
/// of which must fail with `Decrypt`.
fn sealed_state_cases(f: &mut FileBuilder, r: &mut ChaCha20Rng) {
    f.note(
        "SwappedSealedState",
        "AUTH_BYPASS",
        "A sealed session state presented for another pair of identities, another slot, or with its clear epoch rewritten: the associated data differs, so it does not open (issue 15, defect 6).",
    );
    let mut t = Transcript::new(r);
    let w = t.send(r, "alice", b"before the save");
    t.deliver("bob", &w, "in order", None);
    let state = t.bob.to_bytes().to_vec();
    let local = t.bob.local_identity().to_array();
    let remote = t.bob.remote_identity().to_array();
    let key: [u8; 32] = fill(r);
    let nonce: [u8; 24] = fill(r);
    let slot = b"peer 7, device 1";
    let epoch = 42u64;
    let sealed = seal_spec(&state, &key, (&local, &remote), slot, epoch, &nonce);
    let base = json!({
        "storageKey": h(key), "localIdentity": h(local), "remoteIdentity": h(remote),
        "slot": h(slot), "epoch": epoch,
    });
    let mut valid = base.clone();
    valid["state"] = h(&state);
    valid["nonce"] = h(nonce);
    valid["sealed"] = h(&sealed);
    f.valid(
        "sealed-state",
        "Bob's state, sealed for (Bob, Alice) in a slot at epoch 42",
        valid,
    );
    let mut neg = |comment: &str, fields: Value| {
        f.invalid(
            "sealed-state-negative",
            comment,
            &["SwappedSealedState"],
            fields,
            Error::Decrypt,
        );
    };
    let mut c = base.clone();
    c["sealed"] = h(&sealed);
    c["localIdentity"] = h(remote);
    c["remoteIdentity"] = h(local);
    neg("the identities exchanged (Alice's row)", c);
    let other = Transcript::new(r);
    let mut c = base.clone();
    c["sealed"] = h(&sealed);
    c["remoteIdentity"] = h(other.alice.local_identity().to_array());
    neg("presented as Bob's session with another peer", c);
    let mut c = base.clone();
    c["sealed"] = h(&sealed);
    c["slot"] = h(b"peer 8, device 1");
    neg("moved to another slot", c);
    let mut relabelled = sealed.clone();
    relabelled[2..10].copy_from_slice(&43u64.to_be_bytes());
    let mut c = base.clone();
    c["sealed"] = h(&relabelled);
    neg("the clear epoch rewritten to 43", c);
}

pub fn verify(case: &Value) -> Result<(), String> {
    match kind(case)?.as_str() {
        "kdf-root" => {
            let [rk, ck, nhk] = ratchet_root_step(&arr(case, "rootKey")?, &arr(case, "dhOutput")?);
            expect_eq(case, "nextRootKey", *rk)?;
            expect_eq(case, "chainKey", *ck)?;
            expect_eq(case, "nextHeaderKey", *nhk)
        }
        "kdf-chain" => {
            let (mk, ck) = ratchet_chain_step(&arr(case, "chainKey")?);
            expect_eq(case, "messageKey", *mk)?;
            expect_eq(case, "nextChainKey", *ck)
        }
        "transcript" => {
            let restore = |who: &str| -> Result<Session, String> {
                Session::from_bytes(&bytes(&case["start"], who)?)
                    .map_err(|e| format!("{who}'s starting state: {e}"))
            };
            let (mut alice, mut bob) = (restore("alice")?, restore("bob")?);
            for (i, m) in case["events"]
                .as_array()
                .ok_or("events")?
                .iter()
                .enumerate()
            {
                let who = match string(m, "event")?.as_str() {
                    "send" => string(m, "from")?,
                    "restore" => string(m, "party")?,
                    _ => string(m, "to")?,
                };
                let s = match who.as_str() {
                    "alice" => &mut alice,
                    "bob" => &mut bob,
                    other => return Err(format!("event {i}: unknown party {other}")),
                };
                if string(m, "event")? == "restore" {
                    *s = Session::from_bytes(&bytes(m, "state")?)
                        .map_err(|e| format!("event {i}: {e}"))?;
                    continue;
                }
                if string(m, "event")? == "send" {
                    let mut tape = Tape::replay(bytes(m, "random")?);
                    let plaintext = match m.get("plaintextLength") {
                        Some(n) => vec![0u8; n.as_u64().ok_or("plaintextLength")? as usize],
                        None => bytes(m, "plaintext")?,
                    };
                    let before = s.to_bytes();
                    let result = s.encrypt(&mut tape, &plaintext);
                    if let Some(err) = m.get("error") {
                        match result {
                            Err(e) if Some(u64::from(e.code())) == err["code"].as_u64() => {}
                            other => {
                                return Err(format!("event {i}: expected {err}, got {other:?}"))
                            }
                        }
                        if *s.to_bytes() != *before {
                            return Err(format!("event {i}: a failed encrypt changed the state"));
                        }
                        if tape.overrun || tape.pos != tape.bytes.len() {
                            return Err(format!(
                                "event {i}: the failed encrypt drew other random bytes than recorded (§7.4)"
                            ));
                        }
                        continue;
                    }
                    let wire = result.map_err(|e| format!("event {i}: {e}"))?;
                    if tape.overrun || tape.pos != tape.bytes.len() {
                        return Err(format!(
                            "event {i}: random bytes drawn differ from the tape"
                        ));
                    }
                    expect_eq(m, "wire", wire).map_err(|e| format!("event {i}: {e}"))?;
                    continue;
                }
                let wire = bytes(m, "wire")?;
                // The owned and the borrowing ratchet-message decoders agree (§7.5: one
                // decoding per input).
                if wire.get(..2) == Some(&[0x01, 0x03][..]) {
                    let owned = blindrelay::wire::RatchetMessage::decode_exact(&wire).map(drop);
                    let borrowed = RatchetMessageRef::parse(&wire).map(drop);
                    if owned.map_err(|e| e.code()) != borrowed.map_err(|e| e.code()) {
                        return Err(format!(
                            "event {i}: the two ratchet-message decoders disagree"
                        ));
                    }
                }
                let before = s.to_bytes();
                let result = s.decrypt_message(&wire);
                match (result, m.get("plaintext"), m.get("error")) {
                    (Ok(d), Some(_), None) => {
                        if d.plaintext != bytes(m, "plaintext")? {
                            return Err(format!("event {i}: wrong plaintext"));
                        }
                        let pos = &m["position"];
                        if pos["chain"].as_u64() != Some(u64::from(d.position.chain))
                            || pos["number"].as_u64() != Some(u64::from(d.position.number))
                        {
                            return Err(format!(
                                "event {i}: position {:?}, expected {pos}",
                                d.position
                            ));
                        }
                    }
                    (Err(e), None, Some(err)) => {
                        if Some(u64::from(e.code())) != err["code"].as_u64() {
                            return Err(format!("event {i}: got {e:?}, expected {err}"));
                        }
                        if *s.to_bytes() != *before {
                            return Err(format!("event {i}: a rejection changed the state"));
                        }
                    }
                    (got, _, _) => return Err(format!("event {i}: unexpected outcome {got:?}")),
                }
            }
            let finals = &case["finalStateSha256"];
            expect_eq(finals, "alice", Sha256::digest(&*alice.to_bytes()))?;
            expect_eq(finals, "bob", Sha256::digest(&*bob.to_bytes()))
        }
        "sealed-state" => {
            let session = Session::from_bytes(&bytes(case, "state")?).map_err(|e| e.to_string())?;
            let key = StorageKey::from_bytes(arr(case, "storageKey")?);
            let slot = bytes(case, "slot")?;
            let epoch = case["epoch"].as_u64().ok_or("epoch")?;
            let sealed = blindrelay::hazmat::seal_session_with_nonce(
                &session,
                &key,
                &slot,
                epoch,
                &arr(case, "nonce")?,
            )
            .map_err(|e| e.to_string())?;
            expect_eq(case, "sealed", &sealed)?;
            let (local, remote) = identities(case)?;
            let (opened, got) =
                Session::open(&key, &local, &remote, &slot, &sealed).map_err(|e| e.to_string())?;
            if got != epoch || *opened.to_bytes() != bytes(case, "state")? {
                return Err("the opened state or epoch differs".into());
            }
            // The clear epoch, read without the key (§7.8).
            if Session::sealed_epoch(&sealed).map_err(|e| e.to_string())? != epoch {
                return Err("sealed_epoch differs".into());
            }
            Ok(())
        }
        "state-negative" => expect_error(case, Session::from_bytes(&bytes(case, "state")?)),
        "state-roundtrip" => {
            let state = bytes(case, "state")?;
            let s = Session::from_bytes(&state).map_err(|e| e.to_string())?;
            if *s.to_bytes() != state {
                return Err("the restored state re-encodes differently".into());
            }
            Ok(())
        }
        "sealed-state-negative" => {
            let key = StorageKey::from_bytes(arr(case, "storageKey")?);
            let (local, remote) = identities(case)?;
            expect_error(
                case,
                Session::open(
                    &key,
                    &local,
                    &remote,
                    &bytes(case, "slot")?,
                    &bytes(case, "sealed")?,
                )
                .map(|_| ()),
            )
        }
        other => Err(format!("unknown kind {other}")),
    }
}

/// The `localIdentity` and `remoteIdentity` of a sealed-state case.
fn identities(case: &Value) -> Result<(IdentityPublicKey, IdentityPublicKey), String> {
    let read = |key: &str| -> Result<IdentityPublicKey, String> {
        IdentityPublicKey::decode_exact(&bytes(case, key)?).map_err(|e| format!("{key}: {e}"))
    };
    Ok((read("localIdentity")?, read("remoteIdentity")?))
}

/// Seeds for the session fuzz targets (spec §7): the fixture state of `session_decrypt`
/// (Bob's starting state in the second transcript, `fuzz/fixtures/session.state`), the
/// messages delivered to him there, every wire message and state for the decoders, and
/// genuine initial messages for the fixed responder of the `accept` target.
pub fn write_fuzz_seeds(corpus: &std::path::Path) -> std::io::Result<usize> {
    let (_, v) = generate();
    let transcripts: Vec<&Value> = v["tests"]
        .as_array()
        .map(|t| t.iter().filter(|c| c["kind"] == "transcript").collect())
        .unwrap_or_default();
    let mut n = 0;
    let mut write = |target: &str, name: String, data: Vec<u8>| -> std::io::Result<()> {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), data)?;
        n += 1;
        Ok(())
    };
    for (ti, t) in transcripts.iter().enumerate() {
        for who in ["alice", "bob"] {
            if let Ok(b) = bytes(&t["start"], who) {
                write("session_state", format!("transcript{ti}-{who}"), b)?;
            }
        }
        for (ei, e) in t["events"].as_array().into_iter().flatten().enumerate() {
            let Ok(wire) = bytes(e, "wire") else { continue };
            write(
                "ratchet_decode",
                format!("transcript{ti}-event{ei}"),
                wire.clone(),
            )?;
            if ti == 1 && e["event"] == "deliver" && e["to"] == "bob" {
                write("session_decrypt", format!("event{ei}"), wire)?;
            }
        }
    }
    // The §7.8 decoder's negative and boundary states seed the state decoder's corpus.
    for (i, c) in v["tests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["kind"] == "state-negative" || c["kind"] == "state-roundtrip")
        .enumerate()
    {
        if let Ok(b) = bytes(c, "state") {
            write("session_state", format!("state-case{i}"), b)?;
        }
    }
    if let Some(t) = transcripts.get(1) {
        if let Ok(state) = bytes(&t["start"], "bob") {
            let fixture = corpus.join("../fixtures");
            std::fs::create_dir_all(&fixture)?;
            std::fs::write(fixture.join("session.state"), state)?;
        }
    }
    let (_, _, bundle) = blindrelay::fuzzing::fuzz_responder();
    let verified = bundle
        .verify()
        .expect("the fuzz responder's bundle verifies");
    let mut r = rng("fuzz-accept");
    for i in 0..3 {
        let alice = blindrelay::IdentityKeyPair::generate(&mut r);
        let record = blindrelay::fuzzing::fuzz_record(&alice);
        let mut s = initiate(&mut r, &alice, &record, &verified).expect("initiate");
        let msg = s
            .encrypt(&mut r, format!("seed {i}").as_bytes())
            .expect("encrypt");
        write("accept", format!("initial{i}"), msg)?;
    }
    Ok(n)
}
