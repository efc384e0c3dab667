//! `ratchet.json`, part 2: what ordinary conversations never reach (spec §7.6–§7.8).
//!
//! - `state-negative`: one persisted state per decoder rule of §7.8, each made from a genuine
//!   state by changing the fields the rule is about, through `StateImage`, a reading of
//!   §7.8's table written here and independent of the core's decoder.
//! - Transcripts of a peer who holds every key and sends what a conforming sender never
//!   does (a foreign ratchet key under the current header key, an old number, a counter at
//!   2^32 − 1, DH steps whose checks collide), built by `forge` from the formulas of §7.2
//!   and §7.5 with the `chacha20poly1305`, `hmac`, `hkdf` and `curve25519-dalek` crates.
//! - A sender restored from a backup (`PN < Nr`, a consumed position re-used), and runs of
//!   chains that overflow `MAX_SKIPPED_KEYS` and `MAX_RECEIVING_CHAINS` (§7.7).
//!
//! Every expected outcome is the core's, checked against the outcome the spec's rule names
//! (the generator asserts each), and the verifier replays them.

use crate::ratchet::{chain_step_spec, root_step_spec, Transcript};
use crate::util::*;
use blindrelay::ratchet::{MAX_RECEIVING_CHAINS, MAX_SKIP, MAX_SKIPPED_KEYS};
use blindrelay::session::MAX_SESSION_STATE_LEN;
use blindrelay::Error;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use curve25519_dalek::montgomery::MontgomeryPoint;
use rand_chacha::ChaCha20Rng;
use serde_json::json;

/// One skipped-key group of §7.8.
#[derive(Clone)]
pub(crate) struct Group {
    pub(crate) header_key: [u8; 32],
    pub(crate) index: u32,
    pub(crate) keys: Vec<(u32, [u8; 32])>,
}

/// A §7.8 session state, field by field.
#[derive(Clone)]
pub(crate) struct StateImage {
    pub(crate) prefix: [u8; 2],
    pub(crate) local: Vec<u8>,
    pub(crate) remote: Vec<u8>,
    pub(crate) ad: Vec<u8>,
    pub(crate) rk: [u8; 32],
    pub(crate) dhs: [u8; 32],
    pub(crate) dhr: Option<[u8; 32]>,
    pub(crate) cks: Option<[u8; 32]>,
    pub(crate) ckr: Option<[u8; 32]>,
    pub(crate) hks: Option<[u8; 32]>,
    pub(crate) hkr: Option<[u8; 32]>,
    pub(crate) nhks: [u8; 32],
    pub(crate) nhkr: [u8; 32],
    pub(crate) ns: u32,
    pub(crate) nr: u32,
    pub(crate) pn: u32,
    pub(crate) chain_index: u32,
    pub(crate) step: bool,
    pub(crate) initial: Option<Vec<u8>>,
    pub(crate) digest: Option<[u8; 32]>,
    pub(crate) groups: Vec<Group>,
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Vec<u8> {
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a.to_vec()
    }
    fn arr(&mut self) -> [u8; 32] {
        self.take(32).try_into().expect("32 bytes")
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.take(4).try_into().expect("4 bytes"))
    }
    fn opt(&mut self) -> Option<[u8; 32]> {
        (self.take(1)[0] == 1).then(|| self.arr())
    }
}

/// Offsets of the one-byte flags inside an encoding, for the byte-level cases.
#[derive(Default)]
pub(crate) struct Marks {
    pub(crate) dhr_flag: usize,
    pub(crate) step: usize,
    pub(crate) initial_flag: usize,
    pub(crate) group_count: usize,
    /// The `k` (u16) of each group.
    pub(crate) key_counts: Vec<usize>,
}

impl StateImage {
    /// Reads a state the core wrote (so it is well formed).
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        let mut c = Cursor(bytes);
        let prefix = c.take(2).try_into().expect("2");
        let local = c.take(64);
        let remote = c.take(64);
        let ad = c.take(160);
        let rk = c.arr();
        let dhs = c.arr();
        let (dhr, cks, ckr, hks, hkr) = (c.opt(), c.opt(), c.opt(), c.opt(), c.opt());
        let (nhks, nhkr) = (c.arr(), c.arr());
        let (ns, nr, pn, chain_index) = (c.u32(), c.u32(), c.u32(), c.u32());
        let step = c.take(1)[0] == 1;
        let initial = (c.take(1)[0] == 1).then(|| {
            // §7.8: 1322 bytes, or 1326 when the header's one-time flag (offset 233) is set.
            let len = if c.0[233] == 1 { 1326 } else { 1322 };
            c.take(len)
        });
        let digest = c.opt();
        let g = c.take(1)[0];
        let groups = (0..g)
            .map(|_| {
                let header_key = c.arr();
                let index = c.u32();
                let k = u16::from_be_bytes(c.take(2).try_into().expect("2"));
                let keys = (0..k).map(|_| (c.u32(), c.arr())).collect();
                Group {
                    header_key,
                    index,
                    keys,
                }
            })
            .collect();
        assert!(c.0.is_empty(), "the whole state is read");
        Self {
            prefix,
            local,
            remote,
            ad,
            rk,
            dhs,
            dhr,
            cks,
            ckr,
            hks,
            hkr,
            nhks,
            nhkr,
            ns,
            nr,
            pn,
            chain_index,
            step,
            initial,
            digest,
            groups,
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        self.encode_marked().0
    }

    pub(crate) fn encode_marked(&self) -> (Vec<u8>, Marks) {
        let mut m = Marks::default();
        let mut w = self.prefix.to_vec();
        w.extend_from_slice(&self.local);
        w.extend_from_slice(&self.remote);
        w.extend_from_slice(&self.ad);
        w.extend_from_slice(&self.rk);
        w.extend_from_slice(&self.dhs);
        let opt = |w: &mut Vec<u8>, v: &Option<[u8; 32]>| match v {
            Some(v) => {
                w.push(1);
                w.extend_from_slice(v);
            }
            None => w.push(0),
        };
        m.dhr_flag = w.len();
        for v in [&self.dhr, &self.cks, &self.ckr, &self.hks, &self.hkr] {
            opt(&mut w, v);
        }
        w.extend_from_slice(&self.nhks);
        w.extend_from_slice(&self.nhkr);
        for n in [self.ns, self.nr, self.pn, self.chain_index] {
            w.extend_from_slice(&n.to_be_bytes());
        }
        m.step = w.len();
        w.push(u8::from(self.step));
        m.initial_flag = w.len();
        match &self.initial {
            Some(hdr) => {
                w.push(1);
                w.extend_from_slice(hdr);
            }
            None => w.push(0),
        }
        opt(&mut w, &self.digest);
        m.group_count = w.len();
        w.push(u8::try_from(self.groups.len()).expect("few groups"));
        for g in &self.groups {
            w.extend_from_slice(&g.header_key);
            w.extend_from_slice(&g.index.to_be_bytes());
            m.key_counts.push(w.len());
            w.extend_from_slice(&u16::try_from(g.keys.len()).expect("few keys").to_be_bytes());
            for (n, k) in &g.keys {
                w.extend_from_slice(&n.to_be_bytes());
                w.extend_from_slice(k);
            }
        }
        (w, m)
    }
}

fn xseal(key: &[u8; 32], nonce: &[u8; 24], aad: &[u8], msg: &[u8]) -> Vec<u8> {
    XChaCha20Poly1305::new(key.into())
        .encrypt(nonce.into(), Payload { msg, aad })
        .expect("seal")
}

/// The message key of message `steps` ahead of chain key `ck` (§7.2: `CK' = HMAC(CK,
/// 0x02)` per step, then `MK = HMAC(CK, 0x01)`).
pub(crate) fn message_key(ck: &[u8; 32], steps: u32) -> [u8; 32] {
    let mut ck = *ck;
    for _ in 0..steps {
        ck = chain_step_spec(&ck, 2);
    }
    chain_step_spec(&ck, 1)
}

/// A ratchet message (§7.5) with any header under any header key, its body sealed under
/// `mk`, for the session whose associated data is `ad`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forge(
    r: &mut ChaCha20Rng,
    ad: &[u8],
    header_key: &[u8; 32],
    ratchet_key: [u8; 32],
    pn: u32,
    n: u32,
    mk: &[u8; 32],
    plaintext: &[u8],
) -> Vec<u8> {
    let mut header = ratchet_key.to_vec();
    header.extend_from_slice(&pn.to_be_bytes());
    header.extend_from_slice(&n.to_be_bytes());
    let header_nonce: [u8; 24] = fill(r);
    let mut encrypted_header = header_nonce.to_vec();
    encrypted_header.extend(xseal(header_key, &header_nonce, ad, &header));
    let body_nonce: [u8; 24] = fill(r);
    let mut body_ad = ad.to_vec();
    body_ad.extend_from_slice(&encrypted_header);
    body_ad.extend_from_slice(&[0u8; 16]);
    let body = xseal(mk, &body_nonce, &body_ad, plaintext);
    let mut wire = vec![0x01, 0x03];
    wire.extend_from_slice(&encrypted_header);
    wire.extend_from_slice(&body_nonce);
    wire.extend_from_slice(&u32::try_from(body.len()).expect("short").to_be_bytes());
    wire.extend(body);
    wire
}

/// A DH ratchet step a peer could send to the holder of `img`: a new ratchet key pair from
/// `secret`, and the message key of message `n` of the chain it starts (§7.6 rule 3).
fn step_keys(img: &StateImage, secret: [u8; 32], n: u32) -> ([u8; 32], [u8; 32]) {
    let public = MontgomeryPoint::mul_base_clamped(secret).to_bytes();
    let ours = MontgomeryPoint::mul_base_clamped(img.dhs);
    let dh = ours.mul_clamped(secret).to_bytes();
    let okm = root_step_spec(&img.rk, &dh);
    let ck: [u8; 32] = okm[32..64].try_into().expect("32");
    (public, message_key(&ck, n))
}

pub(crate) fn cases(f: &mut crate::util::FileBuilder) {
    let mut r = rng("ratchet-edge");
    state_negative_cases(f, &mut r);
    forged_peer_transcript(f, &mut r);
    restored_sender_transcript(f, &mut r);
    eviction_transcript(f, &mut r);
    bounds_transcript(f, &mut r);
    sealed_frame_cases(f, &mut r);
}

/// A responder's state with several skipped-key groups, keys in each, and a pending DH
/// step; and the unconfirmed initiator's state (with its initial header).
fn rich_states(r: &mut ChaCha20Rng) -> (Vec<u8>, Vec<u8>) {
    let mut t = Transcript::new(r);
    let initiator = t.alice.to_bytes().to_vec();
    for round in 0..3u8 {
        let w = t.send(r, "bob", &[b'b', round]);
        t.deliver("alice", &w, "", None);
        let ws: Vec<Vec<u8>> = (0..4u8).map(|i| t.send(r, "alice", &[round, i])).collect();
        t.deliver("bob", &ws[3], "", None);
        t.deliver("bob", &ws[1], "", None);
    }
    (t.bob.to_bytes().to_vec(), initiator)
}

fn state_negative_cases(f: &mut crate::util::FileBuilder, r: &mut ChaCha20Rng) {
    f.note(
        "StateDecoder",
        "MODIFIED_PARAMETER",
        "A persisted session state (§7.8) that breaks one rule of the decoder, made from a genuine state; restoring it must fail with the code and field the rule names, in the rule order of §7.8.",
    );
    let (bob, alice) = rich_states(r);
    let base = StateImage::parse(&bob);
    assert!(base.groups.len() >= 3 && base.groups.iter().any(|g| g.keys.len() >= 2));
    assert!(base.digest.is_some() && base.step && base.dhr.is_some());
    assert_eq!(base.encode(), bob, "the image re-encodes the core's state");
    let (enc, marks) = base.encode_marked();
    fn neg(f: &mut crate::util::FileBuilder, comment: &str, state: Vec<u8>, err: Error) {
        let got = blindrelay::Session::from_bytes(&state).err();
        assert_eq!(got.as_ref().map(Error::code), Some(err.code()), "{comment}");
        f.invalid(
            "state-negative",
            comment,
            &["StateDecoder"],
            json!({ "state": h(&state) }),
            err,
        );
    }
    let over = |field| Error::LengthOverMax { field };
    let invalid = |field| Error::InvalidEncoding { field };

    // 1. The length, before anything is read.
    let mut long = enc.clone();
    long.resize(MAX_SESSION_STATE_LEN + 1, 0);
    neg(
        f,
        "MAX_SESSION_STATE_LEN + 1 bytes (a valid state and trailing zeros): LengthOverMax before parsing",
        long,
        over("session state"),
    );
    let mut at_max = enc.clone();
    at_max.resize(MAX_SESSION_STATE_LEN, 0);
    neg(
        f,
        "exactly MAX_SESSION_STATE_LEN bytes: parsed, then TrailingBytes",
        at_max,
        Error::TrailingBytes,
    );
    // 2. Fields in order.
    let mut c = enc.clone();
    c[0] = 0x02;
    neg(f, "version 0x02", c, Error::UnknownVersion(2));
    let mut c = enc.clone();
    c[1] = 0x06;
    neg(
        f,
        "type 0x06 (the sealed form)",
        c,
        Error::UnknownMessageType(6),
    );
    neg(
        f,
        "truncated inside the last skipped key",
        enc[..enc.len() - 5].to_vec(),
        Error::Truncated,
    );
    let mut c = enc.clone();
    c[marks.dhr_flag] = 2;
    neg(f, "DHr option byte 0x02", c, invalid("state.remote_key"));
    let mut c = enc.clone();
    c[marks.step] = 2;
    neg(
        f,
        "step-pending bool 0x02",
        c,
        invalid("state.send_step_pending"),
    );
    let mut c = enc.clone();
    c[marks.initial_flag] = 2;
    neg(
        f,
        "initial-header option byte 0x02",
        c,
        invalid("state.pending_initial_header"),
    );
    // The unconfirmed initiator's embedded header is decoded by §6.3's rules.
    let a = StateImage::parse(&alice);
    let mut bad_kind = a.clone();
    if let Some(hdr) = bad_kind.initial.as_mut() {
        hdr[228] = 0x03;
    }
    neg(
        f,
        "the embedded initial header's ML-KEM prekey kind is 0x03",
        bad_kind.encode(),
        invalid("initial.kem_kind"),
    );
    // 3. Groups.
    let mut c = enc.clone();
    c[marks.group_count] = u8::try_from(MAX_RECEIVING_CHAINS + 1).expect("small");
    neg(
        f,
        "MAX_RECEIVING_CHAINS + 1 groups: LengthOverMax before the groups are read",
        c,
        over("state.skipped_chains"),
    );
    let mut c = enc.clone();
    let k0 = marks.key_counts[0];
    c[k0..k0 + 2].copy_from_slice(
        &u16::try_from(MAX_SKIPPED_KEYS + 1)
            .expect("u16")
            .to_be_bytes(),
    );
    neg(
        f,
        "a group with MAX_SKIPPED_KEYS + 1 keys: LengthOverMax before the input length",
        c,
        over("state.skipped_keys"),
    );
    let mut c = enc.clone();
    let last = *marks.key_counts.last().expect("a group");
    let k = base.groups.last().expect("group").keys.len();
    c[last..last + 2].copy_from_slice(&u16::try_from(k + 1).expect("u16").to_be_bytes());
    neg(
        f,
        "the last group's count one above its keys: Truncated before any key is read",
        c,
        Error::Truncated,
    );
    let fake_keys = |r: &mut ChaCha20Rng, n: usize| -> Vec<(u32, [u8; 32])> {
        (0..n)
            .map(|i| (u32::try_from(i).expect("small"), fill(r)))
            .collect()
    };
    let mut full = base.clone();
    full.groups[0].keys = fake_keys(r, MAX_SKIPPED_KEYS / 2);
    full.groups[1].keys = fake_keys(r, MAX_SKIPPED_KEYS / 2);
    for g in full.groups.iter_mut().skip(2) {
        g.keys.clear();
    }
    let at_limit = full.encode();
    assert!(blindrelay::Session::from_bytes(&at_limit).is_ok());
    f.valid(
        "state-roundtrip",
        "exactly MAX_SKIPPED_KEYS keys over two groups: restores and re-encodes byte for byte",
        json!({ "state": h(&at_limit) }),
    );
    // Exactly MAX_RECEIVING_CHAINS groups (the count at its maximum).
    let mut eight = base.clone();
    let first_new = u32::try_from(eight.groups.len()).expect("few");
    for i in first_new..u32::try_from(MAX_RECEIVING_CHAINS).expect("few") {
        eight.groups.push(Group {
            header_key: fill(r),
            index: eight.chain_index + 1 + i - first_new,
            keys: fake_keys(r, 1),
        });
    }
    eight.chain_index = eight.groups.last().expect("groups").index;
    let eight = eight.encode();
    assert!(blindrelay::Session::from_bytes(&eight).is_ok());
    f.valid(
        "state-roundtrip",
        "exactly MAX_RECEIVING_CHAINS skipped-key groups: restores",
        json!({ "state": h(&eight) }),
    );
    let mut one = full.clone();
    one.groups[0].keys = fake_keys(r, MAX_SKIPPED_KEYS);
    one.groups[1].keys.clear();
    let one_group = one.encode();
    assert!(blindrelay::Session::from_bytes(&one_group).is_ok());
    f.valid(
        "state-roundtrip",
        "one group of exactly MAX_SKIPPED_KEYS keys (a count at its maximum): restores",
        json!({ "state": h(&one_group) }),
    );
    let mut c = full.clone();
    c.groups[2].keys = fake_keys(r, 1);
    neg(
        f,
        "MAX_SKIPPED_KEYS + 1 keys in total, each group under the maximum",
        c.encode(),
        invalid("state.skipped_keys"),
    );
    let mut c = base.clone();
    c.groups[1].header_key = c.groups[0].header_key;
    neg(
        f,
        "two groups with the same header key",
        c.encode(),
        invalid("state.skipped_chains"),
    );
    let mut c = base.clone();
    c.groups.swap(0, 1);
    neg(
        f,
        "groups not oldest first (indices descending)",
        c.encode(),
        invalid("state.skipped_chains"),
    );
    let mut c = base.clone();
    c.groups[1].index = c.groups[0].index;
    neg(
        f,
        "two groups with the same index",
        c.encode(),
        invalid("state.skipped_chains"),
    );
    let mut c = base.clone();
    let top = c.groups.len() - 1;
    c.groups[top].index = c.chain_index + 1;
    neg(
        f,
        "the newest group's index above chain_index",
        c.encode(),
        invalid("state.skipped_chains"),
    );
    let mut c = base.clone();
    c.groups[top].index = c.chain_index;
    let equal = c.encode();
    if blindrelay::Session::from_bytes(&equal).is_ok() {
        f.valid(
            "state-roundtrip",
            "the newest group's index equal to chain_index (the bound itself) is accepted",
            json!({ "state": h(&equal) }),
        );
    }
    let gk = base
        .groups
        .iter()
        .position(|g| g.keys.len() >= 2)
        .expect("a group with two keys");
    let mut c = base.clone();
    c.groups[gk].keys.swap(0, 1);
    neg(
        f,
        "message numbers descending in a group",
        c.encode(),
        invalid("state.skipped_keys"),
    );
    let mut c = base.clone();
    c.groups[gk].keys[1].0 = c.groups[gk].keys[0].0;
    neg(
        f,
        "a message number repeated in a group",
        c.encode(),
        invalid("state.skipped_keys"),
    );
    // 4. Trailing bytes, before the consistency checks.
    let mut c = enc.clone();
    c.push(0);
    neg(f, "one trailing byte", c, Error::TrailingBytes);
    let mut bad_ad = base.clone();
    bad_ad.ad[0] ^= 1;
    let mut c = bad_ad.encode();
    c.push(0);
    neg(
        f,
        "a broken AD and a trailing byte: TrailingBytes comes first",
        c,
        Error::TrailingBytes,
    );
    // 5. Consistency.
    neg(
        f,
        "AD whose first identity is neither party's",
        bad_ad.encode(),
        invalid("state.associated_data"),
    );
    let mut c = base.clone();
    c.ad[64..128].copy_from_slice(&base.ad[..64]);
    neg(
        f,
        "AD naming the same identity twice",
        c.encode(),
        invalid("state.associated_data"),
    );
    let mut c = base.clone();
    c.initial = a.initial.clone();
    neg(
        f,
        "both an initial header and a responder's digest",
        c.encode(),
        invalid("state.initial_header"),
    );
    let mut c = base.clone();
    c.hkr = None;
    neg(
        f,
        "a receiving chain key without its header key",
        c.encode(),
        invalid("state.chains"),
    );
    let mut c = base.clone();
    assert!(c.cks.is_some());
    c.hks = None;
    neg(
        f,
        "a sending chain key without its header key",
        c.encode(),
        invalid("state.chains"),
    );
    let mut c = base.clone();
    c.dhr = None;
    neg(
        f,
        "a pending DH step without DHr",
        c.encode(),
        invalid("state.chains"),
    );
    // The AD's identities in the other order are the responder's normal case; the
    // initiator's state has them in its own order.
    assert_ne!(base.ad[..64], base.local[..]);
    assert_eq!(a.ad[..64], a.local[..]);
    f.valid(
        "state-roundtrip",
        "an unconfirmed initiator's state with its 1322-byte initial header",
        json!({ "state": h(&alice) }),
    );
}

/// A peer holding every key sends what a conforming sender never does (§7.6).
fn forged_peer_transcript(f: &mut crate::util::FileBuilder, r: &mut ChaCha20Rng) {
    let mut t = Transcript::new(r);
    let w = t.send(r, "bob", b"reply");
    t.deliver("alice", &w, "DH ratchet step at Alice", None);
    for i in 0..3u8 {
        let w = t.send(r, "alice", &[b'm', i]);
        t.deliver("bob", &w, "in order", None);
    }
    let img = StateImage::parse(&t.bob.to_bytes());
    let (hkr, ckr, dhr) = (
        img.hkr.expect("HKr"),
        img.ckr.expect("CKr"),
        img.dhr.expect("DHr"),
    );
    assert_eq!(img.nr, 3);
    let foreign = MontgomeryPoint::mul_base_clamped(fill(r)).to_bytes();
    let w = forge(
        r,
        &img.ad,
        &hkr,
        foreign,
        0,
        img.nr,
        &message_key(&ckr, 0),
        b"forged",
    );
    t.deliver(
        "bob",
        &w,
        "rule 1: under HKr, next number, a correct body, but a ratchet key other than DHr: Decrypt",
        Some(Error::Decrypt),
    );
    let junk: [u8; 32] = fill(r);
    let w = forge(r, &img.ad, &hkr, dhr, 0, img.nr - 1, &junk, b"old");
    t.deliver(
        "bob",
        &w,
        "rule 1: under HKr with DHr and an old number (N < Nr): Duplicate, decided before the body is opened",
        Some(Error::Duplicate),
    );
    let oldest = img.groups.first().expect("a remembered chain").header_key;
    let w = forge(r, &img.ad, &oldest, dhr, 0, 7, &junk, b"never sent");
    t.deliver(
        "bob",
        &w,
        "rule 2: under a remembered chain's header key, a number it never stored: Duplicate",
        Some(Error::Duplicate),
    );
    let low_order = [0u8; 32];
    let w = forge(
        r,
        &img.ad,
        &img.nhkr,
        low_order,
        img.nr + MAX_SKIP + 1,
        0,
        &junk,
        b"x",
    );
    t.deliver(
        "bob",
        &w,
        "rule 3: PN - Nr = MAX_SKIP + 1 and a low-order ratchet key: the old chain's TooManySkipped comes first",
        Some(Error::TooManySkipped),
    );
    let w = forge(
        r,
        &img.ad,
        &img.nhkr,
        low_order,
        img.nr,
        MAX_SKIP + 1,
        &junk,
        b"x",
    );
    t.deliver(
        "bob",
        &w,
        "rule 3: a low-order ratchet key and N = MAX_SKIP + 1: NonContributory comes before the new chain's TooManySkipped",
        Some(Error::NonContributory),
    );
    let (public, _) = step_keys(&img, fill(r), 0);
    let w = forge(
        r,
        &img.ad,
        &img.nhkr,
        public,
        img.nr,
        MAX_SKIP + 1,
        &junk,
        b"x",
    );
    t.deliver(
        "bob",
        &w,
        "rule 3: N = MAX_SKIP + 1 in the new chain: TooManySkipped",
        Some(Error::TooManySkipped),
    );
    // Counters at their end: states only 2^32 messages reach.
    let mut hi = img.clone();
    hi.nr = u32::MAX - 2;
    t.restore(
        "bob",
        &hi.encode(),
        "Bob with Nr = 2^32 - 3 (same chain key)",
    );
    let w = forge(
        r,
        &hi.ad,
        &hkr,
        dhr,
        0,
        u32::MAX,
        &message_key(&ckr, 2),
        b"last",
    );
    t.deliver(
        "bob",
        &w,
        "rule 1: N = 2^32 - 1 under HKr with a correct body: CounterExhausted (Nr would overflow)",
        Some(Error::CounterExhausted),
    );
    let w = forge(
        r,
        &hi.ad,
        &hkr,
        dhr,
        0,
        u32::MAX - 1,
        &message_key(&ckr, 1),
        b"edge",
    );
    t.deliver(
        "bob",
        &w,
        "rule 1: N = 2^32 - 2 is accepted; the key of 2^32 - 3 is stored as skipped",
        None,
    );
    let mut ci = img.clone();
    ci.chain_index = u32::MAX;
    t.restore("bob", &ci.encode(), "Bob with chain_index = 2^32 - 1");
    let (public, mk) = step_keys(&ci, fill(r), 0);
    let w = forge(
        r,
        &ci.ad,
        &ci.nhkr,
        public,
        ci.nr,
        MAX_SKIP + 1,
        &junk,
        b"x",
    );
    t.deliver(
        "bob",
        &w,
        "rule 3 at chain_index = 2^32 - 1 with N = MAX_SKIP + 1: the new chain's TooManySkipped comes before the index's CounterExhausted",
        Some(Error::TooManySkipped),
    );
    let w = forge(r, &ci.ad, &ci.nhkr, public, ci.nr, 0, &mk, b"step");
    t.deliver(
        "bob",
        &w,
        "rule 3 at chain_index = 2^32 - 1, a correct step: CounterExhausted (the index would overflow)",
        Some(Error::CounterExhausted),
    );
    t.restore("bob", &img.encode(), "Bob as he was after message 2");
    let (public, mk) = step_keys(&img, fill(r), 1);
    let w = forge(
        r,
        &img.ad,
        &img.nhkr,
        public,
        img.nr + MAX_SKIP,
        1,
        &mk,
        b"far step",
    );
    t.deliver(
        "bob",
        &w,
        "rule 3: PN - Nr = MAX_SKIP exactly and N = 1: accepted, MAX_SKIP + 1 keys stored in two groups",
        None,
    );
    f.valid(
        "transcript",
        "a peer holding every key: foreign ratchet key, old numbers, colliding checks of a DH step, counters at 2^32 - 1",
        t.finish(),
    );
}

/// A sender restored from a backup re-uses a consumed position, then steps with `PN < Nr`
/// (§7.6 rule 3, §7.9).
fn restored_sender_transcript(f: &mut crate::util::FileBuilder, r: &mut ChaCha20Rng) {
    let mut t = Transcript::new(r);
    let w = t.send(r, "bob", b"reply");
    t.deliver("alice", &w, "DH ratchet step at Alice", None);
    let w = t.send(r, "alice", b"m0");
    t.deliver("bob", &w, "DH ratchet step at Bob", None);
    let backup = t.alice.to_bytes().to_vec();
    for i in 1..3u8 {
        let w = t.send(r, "alice", &[b'm', b'0' + i]);
        t.deliver("bob", &w, "same chain", None);
    }
    let answer = t.send(r, "bob", b"answer");
    t.restore(
        "alice",
        &backup,
        "Alice restored from a backup taken after message 0 of her chain (Ns = 1; Bob has Nr = 3)",
    );
    let w = t.send(r, "alice", b"m1 again");
    t.deliver(
        "bob",
        &w,
        "the restored sender re-uses position (chain, 1) with other bytes: Duplicate (§7.9 rule 4)",
        Some(Error::Duplicate),
    );
    t.deliver(
        "alice",
        &answer,
        "Bob's answer: DH ratchet step at Alice",
        None,
    );
    let w = t.send(r, "alice", b"after the rollback");
    t.deliver(
        "bob",
        &w,
        "a DH step with PN = 2 < Nr = 3: nothing is skipped, the message is accepted",
        None,
    );
    f.valid(
        "transcript",
        "a sender restored from a backup: a consumed position re-used, then PN < Nr",
        t.finish(),
    );
}

/// Chains that overflow MAX_SKIPPED_KEYS, then MAX_RECEIVING_CHAINS (§7.7).
fn eviction_transcript(f: &mut crate::util::FileBuilder, r: &mut ChaCha20Rng) {
    let mut t = Transcript::new(r);
    let w = t.send(r, "bob", b"reply");
    t.deliver("alice", &w, "DH ratchet step at Alice", None);
    let mut kept = Vec::new();
    for chain in 0..3u8 {
        // 999 keys skipped in each of three chains: 2997 > MAX_SKIPPED_KEYS.
        let recorded = [0u32, 996, 997, 998];
        let mut wires = Vec::new();
        let mut sent = 0u32;
        for &n in &recorded {
            if n > sent {
                t.silent_sends(r, "alice", b"skipped", n - sent);
            }
            wires.push(t.send(
                r,
                "alice",
                &[b'c', chain, u8::try_from(n % 256).expect("a byte")],
            ));
            sent = n + 1;
        }
        if sent < 999 {
            t.silent_sends(r, "alice", b"skipped", 999 - sent);
        }
        let last = t.send(r, "alice", b"last of the chain");
        t.deliver(
            "bob",
            &last,
            "message 999: the keys of messages 0..998 are stored as skipped",
            None,
        );
        kept.push(wires);
        let w = t.send(r, "bob", &[b'r', chain]);
        t.deliver("alice", &w, "DH ratchet step at Alice", None);
    }
    let group0 = kept[0].clone();
    t.deliver(
        "bob",
        &group0[0],
        "chain 0, message 0: its key was evicted (over MAX_SKIPPED_KEYS, oldest first), its chain is remembered: Duplicate",
        Some(Error::Duplicate),
    );
    t.deliver(
        "bob",
        &group0[1],
        "chain 0, message 996: the newest evicted key: Duplicate",
        Some(Error::Duplicate),
    );
    t.deliver(
        "bob",
        &group0[2],
        "chain 0, message 997: the oldest key kept: decrypts",
        None,
    );
    // More direction changes: each of Bob's DH steps remembers one more chain.
    for chain in 3..(MAX_RECEIVING_CHAINS as u8 + 2) {
        let a = t.send(r, "alice", &[b'c', chain, 0]);
        let b = t.send(r, "alice", &[b'c', chain, 1]);
        t.deliver("bob", &b, "one key skipped", None);
        if chain == 3 {
            kept.push(vec![a]);
        }
        let w = t.send(r, "bob", &[b'r', chain]);
        t.deliver("alice", &w, "DH ratchet step at Alice", None);
    }
    let w = t.send(r, "alice", b"the newest chain");
    t.deliver(
        "bob",
        &w,
        "DH ratchet step at Bob: more than MAX_RECEIVING_CHAINS groups, the oldest deleted",
        None,
    );
    t.deliver(
        "bob",
        &group0[3],
        "chain 0, message 998: its group was deleted (more than MAX_RECEIVING_CHAINS): no header key opens it, Decrypt",
        Some(Error::Decrypt),
    );
    t.deliver(
        "bob",
        &kept[3][0],
        "chain 3, message 0: its group is still remembered, its key still stored: decrypts",
        None,
    );
    f.valid(
        "transcript",
        "skipped keys over MAX_SKIPPED_KEYS and chains over MAX_RECEIVING_CHAINS: eviction order (§7.7)",
        t.finish(),
    );
}

/// The order of §7.6 for a `0x02` input (digest, then the inner message's decode) and a
/// plaintext of exactly `MAX_PLAINTEXT_LEN`.
fn bounds_transcript(f: &mut crate::util::FileBuilder, r: &mut ChaCha20Rng) {
    let mut t = Transcript::new(r);
    let mut other = Transcript::new(r);
    let w = t.send(r, "alice", b"a further initial message");
    let inner_at = |m: &[u8]| 2 + if m[235] == 1 { 1326 } else { 1322 } + 4;
    let mut bad = w.clone();
    let at = inner_at(&bad);
    assert_eq!(bad[at..at + 2], [0x01, 0x03]);
    bad[at] = 0x02;
    t.deliver(
        "bob",
        &bad,
        "this session's initial header with an inner message of version 0x02: the digest matches, then the inner decode fails",
        Some(Error::UnknownVersion(2)),
    );
    let theirs = other.send(r, "alice", b"another handshake");
    let mut bad = theirs.clone();
    let at = inner_at(&bad);
    bad[at] = 0x02;
    t.deliver(
        "bob",
        &bad,
        "another handshake's initial header with a malformed inner message: SessionMismatch comes first",
        Some(Error::SessionMismatch),
    );
    t.deliver("bob", &w, "the genuine further initial message", None);
    let w = t.send(r, "bob", b"reply");
    t.deliver("alice", &w, "DH ratchet step at Alice: confirmed", None);
    // §7.4: with a step pending and a low-order DHr (a state no conforming receive stores),
    // the send fails NonContributory after drawing the 32-byte ratchet secret, and the
    // state is unchanged.
    let alice = t.alice.to_bytes().to_vec();
    let mut low = StateImage::parse(&alice);
    assert!(low.step);
    low.dhr = Some([0u8; 32]);
    t.restore(
        "alice",
        &low.encode(),
        "Alice with a low-order DHr and a DH step pending",
    );
    t.send_fails(r, "alice", 1, Error::NonContributory);
    t.restore("alice", &alice, "Alice as she was");
    let w = t.send(r, "alice", b"");
    t.deliver(
        "bob",
        &w,
        "an empty plaintext: a body of exactly 16 bytes (the tag), the smallest allowed",
        None,
    );
    let big = vec![0x5a; blindrelay::limits::MAX_PLAINTEXT_LEN];
    let w = t.send(r, "alice", &big);
    t.deliver(
        "bob",
        &w,
        "a plaintext of exactly MAX_PLAINTEXT_LEN bytes (a body of MAX_BODY_LEN)",
        None,
    );
    f.valid(
        "transcript",
        "initial-message checks in order, and the largest plaintext",
        t.finish(),
    );
}

/// The sealed form's frame (§7.8): decode codes before `Decrypt`.
fn sealed_frame_cases(f: &mut crate::util::FileBuilder, r: &mut ChaCha20Rng) {
    f.note(
        "SealedFrame",
        "MODIFIED_PARAMETER",
        "A sealed state whose frame does not decode: the §2.3 code of the first broken field, before any decryption (§7.8).",
    );
    let mut t = Transcript::new(r);
    let w = t.send(r, "alice", b"x");
    t.deliver("bob", &w, "", None);
    let key = blindrelay::StorageKey::from_bytes(fill(r));
    let (local, remote) = (*t.bob.local_identity(), *t.bob.remote_identity());
    let slot = b"slot";
    let sealed = t.bob.seal(r, &key, slot, 9).expect("seal");
    let base = json!({
        "storageKey": h(*key.to_bytes()), "localIdentity": h(local.to_array()),
        "remoteIdentity": h(remote.to_array()), "slot": h(slot), "epoch": 9,
    });
    // The longest slot (MAX_SLOT_LEN = 255 bytes), sealed by the spec's formula.
    let long_slot = vec![0x73u8; blindrelay::session::MAX_SLOT_LEN];
    let nonce: [u8; 24] = fill(r);
    let state = t.bob.to_bytes().to_vec();
    let (l, rm) = (local.to_array(), remote.to_array());
    let long =
        crate::ratchet::seal_spec(&state, &key.to_bytes(), (&l, &rm), &long_slot, 10, &nonce);
    let (opened, epoch) =
        blindrelay::Session::open(&key, &local, &remote, &long_slot, &long).expect("opens");
    assert_eq!((opened.to_bytes().to_vec(), epoch), (state.clone(), 10));
    f.valid(
        "sealed-state",
        "a slot of exactly MAX_SLOT_LEN (255) bytes",
        json!({
            "storageKey": h(*key.to_bytes()), "localIdentity": h(l), "remoteIdentity": h(rm),
            "slot": h(&long_slot), "epoch": 10, "nonce": h(nonce), "state": h(&state), "sealed": h(&long),
        }),
    );
    let mut neg = |comment: &str, bytes: Vec<u8>, err: Error| {
        let got = blindrelay::Session::open(&key, &local, &remote, slot, &bytes).err();
        assert_eq!(got.as_ref().map(Error::code), Some(err.code()), "{comment}");
        let mut c = base.clone();
        c["sealed"] = h(&bytes);
        let flag = if err.code() == 200 {
            "SwappedSealedState"
        } else {
            "SealedFrame"
        };
        f.invalid("sealed-state-negative", comment, &[flag], c, err);
    };
    let mut c = sealed.clone();
    c[0] = 2;
    neg("version 0x02", c, Error::UnknownVersion(2));
    let mut c = sealed.clone();
    c[1] = 5;
    neg("type 0x05 (a plain state)", c, Error::UnknownMessageType(5));
    neg(
        "truncated by one byte",
        sealed[..sealed.len() - 1].to_vec(),
        Error::Truncated,
    );
    let mut c = sealed.clone();
    c.push(0);
    neg("one trailing byte", c, Error::TrailingBytes);
    let max = u32::try_from(MAX_SESSION_STATE_LEN + 16).expect("u32");
    let mut c = sealed[..34].to_vec();
    c.extend_from_slice(&(max + 1).to_be_bytes());
    neg(
        "ciphertext length MAX_SESSION_STATE_LEN + 17 and no ciphertext: LengthOverMax before Truncated",
        c,
        Error::LengthOverMax {
            field: "sealed_state.ciphertext",
        },
    );
    let mut c = sealed[..34].to_vec();
    c.extend_from_slice(&15u32.to_be_bytes());
    c.extend_from_slice(&[0u8; 15]);
    neg(
        "a 15-byte ciphertext (shorter than a tag): Decrypt",
        c,
        Error::Decrypt,
    );
    let mut c = sealed.clone();
    let last = c.len() - 1;
    c[last] ^= 1;
    neg("the tag's last bit flipped: Decrypt", c, Error::Decrypt);
    let mut c = sealed[..34].to_vec();
    c.extend_from_slice(&max.to_be_bytes());
    neg(
        "ciphertext length exactly MAX_SESSION_STATE_LEN + 16 (allowed) and no ciphertext: Truncated",
        c,
        Error::Truncated,
    );
    // A holder of the storage key seals Bob's state (Bob, Alice) under the associated data
    // of (Bob, Carol): the AD opens, but the state's own remote identity is not Carol.
    let carol = blindrelay::IdentityKeyPair::from_seed(&fill(r));
    let (l, c_id) = (local.to_array(), carol.public().to_array());
    let nonce2: [u8; 24] = fill(r);
    let state = t.bob.to_bytes().to_vec();
    let relabelled =
        crate::ratchet::seal_spec(&state, &key.to_bytes(), (&l, &c_id), slot, 9, &nonce2);
    assert_eq!(
        blindrelay::Session::open(&key, &local, carol.public(), slot, &relabelled).map(drop),
        Err(Error::Decrypt)
    );
    let mut c = base.clone();
    c["remoteIdentity"] = h(c_id);
    c["sealed"] = h(&relabelled);
    f.invalid(
        "sealed-state-negative",
        "Bob's state sealed by a holder of the key under the associated data of (Bob, Carol): the state's own remote identity differs, Decrypt",
        &["SwappedSealedState"],
        c,
        Error::Decrypt,
    );
}
