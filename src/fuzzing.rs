//! Fuzz oracles, shared by the cargo-fuzz targets in `fuzz/` and by the corpus replay test
//! (`tests/fuzz_corpus.rs`), so `cargo test` catches regressions without nightly.
//!
//! Each oracle takes arbitrary bytes and panics only when an invariant of the protocol is
//! broken: a non-canonical encoding accepted, state changed by a failed operation, and so
//! on. Not part of the stable API.

use crate::bundle::BundleKeys;
use crate::codec::{Decode, Encode};
use crate::keys::{
    IdentityKeyPair, KemPrekeySecret, MemoryPrekeyStore, OneTimeKemPrekeySecret,
    OneTimePrekeySecret, SealingKeySecret, SignedPrekeySecret,
};
use crate::session::{Session, StorageKey};
use crate::wire::{InitialMessage, PrekeyBundle, RatchetMessage, RatchetMessageRef};

/// A fuzz oracle: panics only on a broken invariant.
pub type Oracle = fn(&[u8]);

/// Every fuzz target, by name, with its oracle.
pub const TARGETS: &[(&str, Oracle)] = &[
    ("bundle_decode", bundle_decode),
    ("initial_decode", initial_decode),
    ("ratchet_decode", ratchet_decode),
    ("session_state", session_state),
    ("session_decrypt", session_decrypt),
    ("accept", accept),
    ("envelope_decode", envelope_decode),
    ("envelope_open", envelope_open),
    ("contact_parse", contact_parse),
    ("contact_normalize", contact_normalize),
    #[cfg(feature = "phonenumber")]
    ("contact_region", contact_region),
    ("lookup_request_decode", lookup_request_decode),
    ("lookup_response_decode", lookup_response_decode),
    ("discovery_state_decode", discovery_state_decode),
    ("pairwise_decode", pairwise_decode),
    ("pairwise_open", pairwise_open),
    ("relay_api_decode", relay_api_decode),
    ("oprf_finalize", oprf_finalize),
    ("oracle_decode", oracle_decode),
    ("group_envelope", group_envelope),
];

/// A fixed session state for [`session_decrypt`]: Bob's starting state in the second
/// transcript of `test-vectors/ratchet.json`, written by the conformance `corpus` command,
/// so the corpus (that transcript's messages) reaches the deep decryption paths.
pub const FUZZ_SESSION_STATE: &[u8] = include_bytes!("../fuzz/fixtures/session.state");

/// A fixed session state for [`pairwise_open`]: the responder of an established pair
/// (written by the conformance `corpus` command with genuine pairwise envelopes to it as
/// the seed corpus).
pub const FUZZ_PAIRWISE_STATE: &[u8] = include_bytes!("../fuzz/fixtures/pairwise.state");

/// A fixed identity record for `identity` (mailbox `[8; 32]`, sealing secret `[9; 32]`), for
/// initiators in the fuzz targets and the corpus generator.
#[must_use]
pub fn fuzz_record(identity: &IdentityKeyPair) -> crate::IdentityRecord {
    crate::IdentityRecord::create(identity, [8; 32], &SealingKeySecret::from_bytes([9; 32]))
}

/// The fixed responder of the [`accept`] target: every secret is a constant, so the
/// conformance `corpus` command can create genuine initial messages for it. Returns the
/// identity, a fresh store (both one-time prekeys present) and the bundle.
#[must_use]
pub fn fuzz_responder() -> (IdentityKeyPair, MemoryPrekeyStore, PrekeyBundle) {
    let identity = IdentityKeyPair::from_seed(&[1; 32]);
    let sealing = SealingKeySecret::from_bytes([2; 32]);
    let spk = SignedPrekeySecret::from_bytes([3; 32]);
    let kem = KemPrekeySecret::from_bytes([4; 64]);
    let opk = OneTimePrekeySecret::from_bytes([5; 32]);
    let otk = OneTimeKemPrekeySecret::from_bytes([6; 64]);
    let bundle = PrekeyBundle::create(&BundleKeys {
        identity: &identity,
        mailbox: [7; 32],
        sealing: &sealing,
        signed_prekey: (1, &spk),
        kem_prekey: (2, &kem),
        one_time_prekey: Some((3, &opk)),
        one_time_kem_prekey: Some((4, &otk)),
    });
    let mut store = MemoryPrekeyStore::new();
    store.insert_signed_prekey(1, spk);
    store.insert_kem_prekey(2, kem);
    store.insert_one_time_prekey(3, opk);
    store.insert_one_time_kem_prekey(4, otk);
    (identity, store, bundle)
}

#[allow(
    clippy::panic,
    reason = "a fuzz oracle reports a broken invariant by panicking"
)]
fn broken(what: &str) -> ! {
    panic!("broken invariant: {what}")
}

/// Runs the oracle of the named target; returns `false` if there is no such target.
pub fn run(target: &str, data: &[u8]) -> bool {
    match TARGETS.iter().find(|(name, _)| *name == target) {
        Some((_, oracle)) => {
            oracle(data);
            true
        }
        None => false,
    }
}

/// Asserts that a decoded value re-encodes to exactly the input (spec §2.4).
fn assert_canonical<T: Encode>(value: &T, data: &[u8], what: &str) {
    #[allow(
        clippy::panic,
        reason = "a fuzz oracle reports a broken invariant by panicking"
    )]
    if value.to_bytes() != data {
        panic!("non-canonical {what} encoding accepted");
    }
}

/// Bundle decoding: canonical round trip; verification never panics.
pub fn bundle_decode(data: &[u8]) {
    if let Ok(bundle) = PrekeyBundle::decode_exact(data) {
        assert_canonical(&bundle, data, "bundle");
        let _ = bundle.verify();
    }
}

/// Initial-message decoding: canonical round trip.
pub fn initial_decode(data: &[u8]) {
    if let Ok(msg) = InitialMessage::decode_exact(data) {
        assert_canonical(&msg, data, "initial message");
    }
}

/// Ratchet-message decoding: canonical round trip; the borrowed parser agrees with the
/// owned decoder on every input.
pub fn ratchet_decode(data: &[u8]) {
    let owned = RatchetMessage::decode_exact(data);
    let borrowed = RatchetMessageRef::parse(data);
    match (&owned, &borrowed) {
        (Ok(m), Ok(r)) => {
            assert_canonical(m, data, "ratchet message");
            if m.body != r.body {
                broken("the two ratchet parsers disagree on the body");
            }
        }
        (Err(a), Err(b)) if a == b => {}
        _ => broken("the two ratchet parsers disagree"),
    }
}

/// Session-state decoding (spec §7.8): canonical round trip; opening a sealed state never
/// panics.
pub fn session_state(data: &[u8]) {
    if let Ok(s) = Session::from_bytes(data) {
        if s.to_bytes().as_slice() != data {
            broken("non-canonical session state accepted");
        }
    }
    let id = crate::IdentityPublicKey {
        signing: [1; 32],
        agreement: [2; 32],
    };
    let _ = Session::open(&StorageKey::from_bytes([9; 32]), &id, &id, b"slot", data);
    let _ = Session::sealed_epoch(data);
}

/// Decryption by a fixed session: never panics, and any failure leaves the state unchanged
/// byte for byte (spec §7.6).
pub fn session_decrypt(data: &[u8]) {
    let Ok(mut session) = Session::from_bytes(FUZZ_SESSION_STATE) else {
        broken("the fixture state does not decode");
    };
    let before = session.to_bytes();
    if session.decrypt(data).is_err() && session.to_bytes() != before {
        broken("a failed decrypt changed the session");
    }
}

/// `accept` by a fixed responder: never panics, and any failure leaves the prekey store
/// unchanged (spec §6.5).
pub fn accept(data: &[u8]) {
    let (identity, mut store, _) = fuzz_responder();
    let before = store.state_digest();
    if crate::handshake::accept(&identity, &mut store, data).is_err()
        && store.state_digest() != before
    {
        broken("a failed accept changed the store");
    }
}
/// The fixed recipient sealing secret of the `envelope_open` target; the conformance
/// vectors seal their envelope cases to it, so the seed corpus opens.
pub const ENVELOPE_FUZZ_RECIPIENT: [u8; 32] = [0x42; 32];

/// Envelope decoding (the relay's parse): canonical round trip, and the parsed length is
/// the input length.
pub fn envelope_decode(data: &[u8]) {
    if let Ok(env) = crate::envelope::Envelope::decode_exact(data) {
        assert_canonical(&env, data, "envelope");
        #[allow(
            clippy::panic,
            reason = "a fuzz oracle reports a broken invariant by panicking"
        )]
        if env.encoded_len() != data.len() {
            panic!("envelope length disagrees with its encoding");
        }
    }
}

/// Envelope opening for the fixed recipient [`ENVELOPE_FUZZ_RECIPIENT`], at the
/// envelope's own mailbox: never panics, and whatever opens is a well-formed inner
/// message that re-seals and opens to the same result.
pub fn envelope_open(data: &[u8]) {
    use crate::envelope::{open, Envelope};
    let Ok(env) = Envelope::decode_exact(data) else {
        return;
    };
    let key = SealingKeySecret::from_bytes(ENVELOPE_FUZZ_RECIPIENT);
    let mailbox = *env.mailbox();
    if let Ok(opened) = open(&key, &mailbox, &env) {
        // Re-seal with a fixed ephemeral input (no RNG needed: the oracle checks function).
        let again = crate::envelope::seal_traced(
            &[0x5a; 32],
            &mailbox,
            &key.public_key(),
            &opened.sender,
            &opened.inner,
        )
        .and_then(|(e, _)| open(&key, &mailbox, &e));
        #[allow(
            clippy::panic,
            reason = "a fuzz oracle reports a broken invariant by panicking"
        )]
        if again.as_ref() != Ok(&opened) {
            panic!("an opened envelope does not re-seal to the same content");
        }
    }
}

/// The strict E.164 parser (spec §9.2): accepts exactly `^\+[1-9][0-9]{0,14}$` and
/// returns the input unchanged; every rejection is one of the 60x identifier errors.
pub fn contact_parse(data: &[u8]) {
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    let canonical = data.len() >= 2
        && data.len() <= 16
        && data.first() == Some(&b'+')
        && data.get(1).is_some_and(|c| (b'1'..=b'9').contains(c))
        && data.iter().skip(2).all(u8::is_ascii_digit);
    match crate::contact::PhoneNumber::parse_canonical(s) {
        Ok(n) => {
            if !canonical || n.as_bytes() != data {
                broken("strict parser accepted a non-canonical identifier");
            }
        }
        Err(e) => {
            if canonical || !(600..=607).contains(&e.code()) {
                broken("strict parser rejected a canonical identifier or used a foreign error");
            }
        }
    }
}

/// The non-normative helper (spec §9.2.1): never panics, and anything it returns is
/// accepted unchanged by the strict parser.
pub fn contact_normalize(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(n) = crate::contact::normalize_lenient(&s) {
        if crate::contact::PhoneNumber::parse_canonical(n.as_str()) != Ok(n) {
            broken("helper returned a number the strict parser does not reproduce");
        }
    }
}

/// The region-aware parser (feature `phonenumber`, spec §9.2.1) on an arbitrary (region,
/// input) pair: never panics (the metadata parser is third-party code), returns only the
/// strict parser's output, refuses an unknown region with 900 and anything else with an
/// error from 600 to 608. The first two bytes are the region: if both are ASCII, letters
/// stay as they are and other bytes map to `A`..`Z` (so every two-letter region is
/// reachable from any input); otherwise the bytes are used as they are.
#[cfg(feature = "phonenumber")]
pub fn contact_region(data: &[u8]) {
    let (head, input) = data.split_at(data.len().min(2));
    let region: String = if head.len() == 2 && head.iter().all(u8::is_ascii) {
        head.iter()
            .map(|&b| {
                if b.is_ascii_alphabetic() {
                    char::from(b)
                } else {
                    char::from(b'A' + b % 26)
                }
            })
            .collect()
    } else {
        String::from_utf8_lossy(head).into_owned()
    };
    let input = String::from_utf8_lossy(input);
    match crate::contact::PhoneNumber::parse_with_region(&input, &region) {
        Ok(n) => {
            if crate::contact::PhoneNumber::parse_canonical(n.as_str()) != Ok(n) {
                broken(
                    "region-aware parser returned a number the strict parser does not reproduce",
                );
            }
            // The 64-byte cap counts mapped digits, each at least one byte.
            if input.chars().count() > 64 {
                broken("region-aware parser read an input over its length cap");
            }
        }
        Err(e) => {
            if !(600..=608).contains(&e.code()) && e.code() != 900 {
                broken("region-aware parser used a foreign error");
            }
        }
    }
}

/// Lookup-request decoding (spec §9.7): canonical round trip; prefixes strictly ascending.
pub fn lookup_request_decode(data: &[u8]) {
    if let Ok(req) = crate::contact::LookupRequest::decode_exact(data) {
        assert_canonical(&req, data, "lookup request");
        if req.prefixes().windows(2).any(|w| w.first() >= w.get(1)) {
            broken("unsorted lookup request accepted");
        }
    }
}

/// The client's stored discovery state (spec §9.6.1, §9.7.1): a lookup ledger and a
/// generation mark decode strictly and re-encode to the same bytes.
pub fn discovery_state_decode(data: &[u8]) {
    use crate::contact::{GenerationMark, LookupLedger};
    if let Ok(ledger) = LookupLedger::from_bytes(data) {
        if ledger.to_bytes() != data {
            broken("lookup ledger re-encodes differently");
        }
    }
    if let Ok(mark) = GenerationMark::from_bytes(data) {
        if mark.to_bytes().as_slice() != data {
            broken("generation mark re-encodes differently");
        }
    }
}

/// Lookup-response decoding (spec §9.8): canonical round trip; matching against it never
/// panics.
pub fn lookup_response_decode(data: &[u8]) {
    if let Ok(resp) = crate::contact::LookupResponse::decode_exact(data) {
        assert_canonical(&resp, data, "lookup response");
        let prefixes: Vec<u32> = resp.buckets().iter().map(|b| b.prefix()).collect();
        for p in prefixes {
            let _ = resp.bucket(p);
        }
    }
}

/// The relay's parse of any envelope (spec §8.5, §8.15): the parsed length is the input
/// length, the mailbox is bytes 2..34, and a pairwise envelope re-encodes to the input.
pub fn pairwise_decode(data: &[u8]) {
    use crate::envelope::{PairwiseEnvelope, RelayEnvelope};
    let Ok(env) = RelayEnvelope::parse(data) else {
        return;
    };
    if env.encoded_len() != data.len() || data.get(2..34) != Some(&env.mailbox()[..]) {
        broken("a parsed envelope disagrees with its bytes");
    }
    if let RelayEnvelope::Pairwise(p) = env {
        let mut again = PairwiseEnvelope::start_encoding(
            p.mailbox,
            p.encrypted_header,
            p.body_nonce,
            p.body.len(),
        );
        again.extend_from_slice(p.body);
        if again != data {
            broken("non-canonical pairwise envelope accepted");
        }
    }
}

/// Opening a pairwise envelope by a fixed session ([`FUZZ_PAIRWISE_STATE`]): never panics,
/// a failure leaves the state unchanged byte for byte, and whatever opens opens once
/// (the same bytes again are a `Duplicate`) with a plaintext within the limit.
pub fn pairwise_open(data: &[u8]) {
    let Ok(mut session) = Session::from_bytes(FUZZ_PAIRWISE_STATE) else {
        broken("the pairwise fixture state does not decode");
    };
    let before = session.to_bytes();
    match session.open_pairwise(data) {
        Err(_) => {
            if session.to_bytes() != before {
                broken("a failed pairwise open changed the session");
            }
        }
        Ok(d) => {
            if d.plaintext.len() > crate::envelope::MAX_PAIRWISE_PLAINTEXT_LEN {
                broken("a pairwise plaintext over the limit");
            }
            if session.open_pairwise(data) != Err(crate::Error::Duplicate) {
                broken("a pairwise envelope opened twice");
            }
        }
    }
}

/// The relay API's decoders (spec §12): whatever decodes as any request or response type
/// re-encodes to exactly the input, an owner request decodes as its own kind only, and the
/// key-dependent checks (publication, claimed bundle, uploaded keys) never panic.
pub fn relay_api_decode(data: &[u8]) {
    use crate::relay::{
        AckRequest, ClaimRequest, ClaimResponse, CountResponse, Delivery, ErrorResponse,
        FetchRequest, FetchResponse, OwnerRequest, OwnerRequestKind, Publication, PublishRequest,
        RegisterRequest, SubscribeRequest, UploadKeysRequest,
    };
    const NOW: u64 = 1_800_000_000;
    if let Ok(p) = Publication::decode_exact(data) {
        assert_canonical(&p, data, "publication");
        let _ = p.verify(NOW);
    }
    if let Ok(r) = PublishRequest::decode_exact(data) {
        assert_canonical(&r, data, "publish request");
        let _ = r.check(NOW);
    }
    if let Ok(r) = UploadKeysRequest::decode_exact(data) {
        assert_canonical(&r, data, "upload request");
        let _ = r.verify_keys(IdentityKeyPair::from_seed(&[1; 32]).public());
    }
    let kinds = [
        OwnerRequestKind::Count,
        OwnerRequestKind::Delete,
        OwnerRequestKind::Deregister,
    ];
    let decoded = kinds
        .iter()
        .filter_map(|k| OwnerRequest::decode_as(*k, data).ok())
        .collect::<Vec<_>>();
    if decoded.len() > 1 {
        broken("one owner request decoded as two kinds");
    }
    for r in &decoded {
        assert_canonical(r, data, "owner request");
    }
    if let Ok(r) = ClaimRequest::decode_exact(data) {
        assert_canonical(&r, data, "claim request");
    }
    if let Ok(r) = ClaimResponse::decode_exact(data) {
        assert_canonical(&r, data, "claim response");
        let mailbox = r.publication.bundle().mailbox;
        let _ = r.verify(&mailbox, NOW);
    }
    if let Ok(r) = CountResponse::decode_exact(data) {
        assert_canonical(&r, data, "count response");
    }
    if let Ok(r) = FetchRequest::decode_exact(data) {
        assert_canonical(&r, data, "fetch request");
    }
    if let Ok(r) = FetchResponse::decode_exact(data) {
        assert_canonical(&r, data, "fetch response");
    }
    if let Ok(r) = AckRequest::decode_exact(data) {
        assert_canonical(&r, data, "ack request");
    }
    if let Ok(r) = SubscribeRequest::decode_exact(data) {
        assert_canonical(&r, data, "subscribe request");
    }
    if let Ok(r) = Delivery::decode_exact(data) {
        assert_canonical(&r, data, "delivery");
    }
    if let Ok(r) = RegisterRequest::decode_exact(data) {
        assert_canonical(&r, data, "register request");
    }
    if let Ok(r) = ErrorResponse::decode_exact(data) {
        assert_canonical(&r, data, "error response");
    }
}

/// The `ch2` wire (spec §13.9): oracle parameters, OPRF requests and OPRF responses decode
/// strictly and re-encode to the same bytes; verifying any decoded parameters, and a fixed
/// oracle key answering any decoded request (spec §14.3), never panic, and an answer is
/// always one evaluated element per blinded element under the request's epoch.
pub fn oracle_decode(data: &[u8]) {
    use crate::contact::{OprfRequest, OprfResponse, OracleKey, OracleParameters};
    if let Ok(p) = OracleParameters::decode_exact(data) {
        assert_canonical(&p, data, "oracle parameters");
        let _ = p.verify(&[0x42; 32], 1_800_000_000);
    }
    if let Ok(r) = OprfRequest::decode_exact(data) {
        assert_canonical(&r, data, "OPRF request");
        let mut rng = FixedRng {
            seed: [0x07; 32],
            block: 0,
        };
        if let Ok(key) = OracleKey::derive(&[0x42; 32], r.key_epoch()) {
            if let Ok(answer) = key.answer(&mut rng, &r) {
                if answer.evaluated().len() != r.blinded().len()
                    || answer.key_epoch() != r.key_epoch()
                {
                    broken("an oracle answer does not match its request");
                }
            }
        }
    }
    if let Ok(r) = OprfResponse::decode_exact(data) {
        assert_canonical(&r, data, "OPRF response");
    }
}

/// A deterministic RNG for the fixed OPRF state: SHA-256 of a seed and a block counter.
/// Not random; fuzzing only.
struct FixedRng {
    seed: [u8; 32],
    block: u64,
}

impl crate::crypto::RngCore for FixedRng {
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
        for chunk in dest.chunks_mut(32) {
            let block = crate::crypto::kdf::sha256(&[&self.seed, &self.block.to_be_bytes()]);
            self.block = self.block.wrapping_add(1);
            for (d, b) in chunk.iter_mut().zip(block) {
                *d = b;
            }
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl crate::crypto::CryptoRng for FixedRng {}

/// The fixed oracle key, contacts and client blind state of [`oprf_finalize`] (spec §13):
/// `(key, contacts, state)`, rebuilt identically on every call.
fn oprf_fixture() -> Option<(
    crate::contact::OracleKey,
    [crate::contact::ContactId; 2],
    crate::contact::BlindState,
)> {
    use crate::contact::{oprf, ContactId, OracleKey};
    let key = OracleKey::derive(&[0x42; 32], 1).ok()?;
    let contacts = [
        ContactId::from_bytes([0x01; 32]),
        ContactId::from_bytes([0x02; 32]),
    ];
    let mut rng = FixedRng {
        seed: [0x5a; 32],
        block: 0,
    };
    let (state, _) = oprf::blind(&mut rng, &contacts).ok()?;
    Some((key, contacts, state))
}

/// The honest answer to [`oprf_finalize`]'s fixed batch, in its input layout
/// (`proof || element || element`): the seed corpus entry that finalizes.
#[must_use]
pub fn oprf_finalize_honest_input() -> Vec<u8> {
    let mut out = Vec::new();
    let Some((key, contacts, _)) = oprf_fixture() else {
        return out;
    };
    let mut rng = FixedRng {
        seed: [0x5a; 32],
        block: 0,
    };
    let Ok((_, blinded)) = crate::contact::oprf::blind(&mut rng, &contacts) else {
        return out;
    };
    if let Ok(eval) = key.evaluate(&mut rng, &blinded) {
        out.extend_from_slice(&eval.proof);
        for e in &eval.elements {
            out.extend_from_slice(&e.to_bytes());
        }
    }
    out
}

/// OPRF finalize (spec §13.4) of arbitrary bytes as an evaluation of a fixed two-contact
/// batch: `proof [64] || evaluated element [32] × k` (a short proof is zero-padded, a
/// trailing partial element ignored). Never panics; an element that does not decode is
/// `OprfInvalidElement`, `k ≠ 2` is `OprfBatchSize`, and an accepted evaluation yields
/// exactly the ids of the direct evaluation (a forged answer never produces other ids).
pub fn oprf_finalize(data: &[u8]) {
    use crate::contact::{EvaluatedElement, Evaluation};
    use crate::Error;
    let Some((key, contacts, state)) = oprf_fixture() else {
        broken("the fixed OPRF fixture failed");
    };
    let mut proof = [0u8; 64];
    let (head, rest) = data.split_at(data.len().min(64));
    for (p, b) in proof.iter_mut().zip(head) {
        *p = *b;
    }
    let mut elements = Vec::new();
    for chunk in rest.chunks_exact(32) {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(chunk);
        match EvaluatedElement::from_bytes(&bytes) {
            Ok(e) => elements.push(e),
            Err(Error::OprfInvalidElement) => return,
            Err(_) => broken("an element decode error other than OprfInvalidElement"),
        }
    }
    let count = elements.len();
    let evaluation = Evaluation { elements, proof };
    match state.finalize(&key.public_key(), key.key_epoch(), &evaluation) {
        Ok(ids) => {
            let expected: Vec<_> = contacts
                .iter()
                .filter_map(|c| key.evaluate_unblinded(c).ok())
                .collect();
            if count != 2 || ids != expected {
                broken("an OPRF evaluation was accepted with other ids");
            }
        }
        Err(Error::OprfBatchSize) if count != 2 => {}
        Err(Error::OprfProofInvalid) if count == 2 => {}
        Err(_) => broken("an unexpected OPRF finalize error"),
    }
}

/// The fixed epoch secret of [`group_envelope`]'s member.
pub const FUZZ_GROUP_EPOCH_SECRET: [u8; 32] = [0x15; 32];

/// The relay's and a member's handling of group envelopes and commit requests (spec §15.4,
/// §15.6): a parsed envelope re-encodes to the input and names bytes 2..34 as its mailbox;
/// a member of the fixed epoch either opens it or refuses it without panicking, and what
/// opens re-seals to an envelope that opens to the same content; a commit request parses
/// only whole and its token check agrees with the token's mailbox.
pub fn group_envelope(data: &[u8]) {
    use crate::group::{CommitRequest, EpochKeys, GroupEnvelope};
    let keys = EpochKeys::from_exporter_secret(&FUZZ_GROUP_EPOCH_SECRET);
    if let Ok(env) = GroupEnvelope::parse(data) {
        if env.to_bytes() != data || data.get(2..34) != Some(&env.mailbox()[..]) {
            broken("a parsed group envelope disagrees with its bytes");
        }
        if let Ok(inner) = keys.open(&env) {
            let mut rng = FixedRng {
                seed: [1; 32],
                block: 0,
            };
            let again = keys
                .seal(&inner, &mut rng)
                .unwrap_or_else(|_| broken("re-seal"));
            if again.encoded_len() != env.encoded_len() || keys.open(&again).ok() != Some(inner) {
                broken("an opened group envelope does not re-seal to its class");
            }
        }
    }
    if let Ok(req) = CommitRequest::parse(data) {
        if req.to_bytes() != data {
            broken("a parsed commit request disagrees with its bytes");
        }
        let ok = req.check().is_ok();
        if ok != (req.token().mailbox() == *req.envelope().mailbox()) {
            broken("the commit token check disagrees with the token's mailbox");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod oprf_tests {
    use crate::contact::{EvaluatedElement, Evaluation};

    /// The honest answer finalizes; one flipped bit anywhere does not.
    #[test]
    fn oprf_finalize_accepts_the_honest_answer_only() {
        let honest = super::oprf_finalize_honest_input();
        assert_eq!(honest.len(), 128);
        let (key, contacts, state) = super::oprf_fixture().unwrap();
        let evaluation = Evaluation {
            proof: honest[..64].try_into().unwrap(),
            elements: honest[64..]
                .chunks_exact(32)
                .map(|c| EvaluatedElement::from_bytes(&c.try_into().unwrap()).unwrap())
                .collect(),
        };
        let ids = state
            .finalize(&key.public_key(), key.key_epoch(), &evaluation)
            .unwrap();
        assert_eq!(ids[1], key.evaluate_unblinded(&contacts[1]).unwrap());
        super::oprf_finalize(&honest);
        for i in 0..honest.len() {
            let mut t = honest.clone();
            t[i] ^= 0x04;
            super::oprf_finalize(&t);
        }
        super::oprf_finalize(&honest[..96]);
        super::oprf_finalize(&[]);
    }
}
