//! `ch2.json`: contact-discovery suite `ch2` (spec §13, §14, §9.1, §9.6): the RFC 9497
//! ristretto255-SHA512 VOPRF vectors of Appendix A.1.2 verbatim, blindrelay's own
//! derivations (the oracle key of a key epoch, the `ch2` contact id), one evaluation end to
//! end (relay and oracle parameters, OPRF request and response, the relay's `0x30` wrapper,
//! the `ch2` ids, a lookup batch, a registration, the lookup response and its matches), and
//! negative cases for every refusal of the oracle parameters, the OPRF codec, the client's
//! finalize, the oracle's answer and the suite checks of discovery.
//!
//! Deterministic: fixed seeds, blinds and proof scalars (through `blindrelay::hazmat`, or
//! through the normal API with an RNG that hands out exactly the chosen scalar).
//!
//! The verifier recomputes the RFC 9497 parts twice: through blindrelay, and with an
//! independent implementation of the RFC's formulas on `curve25519-dalek` and `sha2`
//! ([`rfc9497`]): `DeriveKeyPair`, `Blind`, `BlindEvaluate`, the batch DLEQ proof
//! (`GenerateProof` with `ComputeCompositesFast`) and `Finalize`. The `ch2` id is
//! recomputed with the `hkdf` crate from spec §13.2's formula.
//!
//! The relay's `0x30` wrapper (spec §14.5) is encoded and decoded here by hand
//! ([`relay_request_encode`], [`relay_request_decode`]) with the core's codec primitives,
//! as the relay crate does: this crate does not depend on the relay crate.

use crate::util::*;
use blindrelay::codec::{read_header, Decode, Encode, MessageType, Reader};
use blindrelay::contact::oprf::oracle_key_info;
use blindrelay::contact::{
    bucket_prefix, BucketBits, BucketEntry, Ch2Id, ContactHasher, ContactId, DiscoveryParameters,
    DiscoverySecret, EvaluatedElement, Evaluation, GenerationMark, LookupRequest, LookupResponse,
    MatchTag, OprfRequest, OprfResponse, OracleBinding, OracleKey, OracleParameters,
    OraclePublicKey, PhoneNumber, Registration, SaltNonce, VerifiedDiscovery, VerifiedOracle,
    MAX_PARAMETERS_LIFETIME_SECS,
};
use blindrelay::crypto::sig;
use blindrelay::{hazmat, Error, IdentityKeyPair};
use serde_json::{json, Value};

/// Message type of the relay's OPRF request (spec §14.5).
pub const OPRF_RELAY_REQUEST: MessageType = MessageType(0x30);

/// The vectors' clock, as in `contact.json`: parameters are issued at `T0`
/// (2026-12-01T00:00:00Z) and expire a week later; clients verify at `NOW`.
const T0: u64 = 1_796_256_000;
const WEEK: u64 = MAX_PARAMETERS_LIFETIME_SECS;
const NOW: u64 = T0 + 3600;
/// A generation mark that has seen nothing (a freshly pinned relay key).
const UNSEEN: [u8; 13] = [0; 13];

/// The relay's identity seed, the oracle's identity seed and OPRF seed, and the key epoch
/// (the relay's salt generation equals the oracle's key epoch, as the reference relay does).
const RELAY_SEED: [u8; 32] = [0x21; 32];
const ORACLE_IDENTITY_SEED: [u8; 32] = [0x31; 32];
const ORACLE_SEED: [u8; 32] = [0x32; 32];
const OTHER_ORACLE_SEED: [u8; 32] = [0x33; 32];
const KEY_EPOCH: u32 = 3;
const BITS: u8 = 12;
const MAX_CLASS: u16 = 256;
/// Fiction-range numbers (NANP 555-01xx, Ofcom drama range, ARCEP fiction range).
const NUMBERS: [&str; 3] = ["+12015550123", "+447700900123", "+33639980001"];
const RECORD: &[u8] = b"mailbox 0x5e: registered under ch2";

/// The RFC 9497 Appendix A.1.2 vectors, as `tests/data` holds them (copied from the RFC).
const RFC9497: &str = include_str!("../../tests/data/rfc9497_ristretto255_sha512.json");

/// RFC 9497 (ristretto255-SHA512, VOPRF mode) from its formulas, independently of
/// blindrelay and of the `voprf` crate: the verifier's second computation.
pub mod rfc9497 {
    use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT as G;
    use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};

    /// `contextString = "OPRFV1-" || I2OSP(modeVOPRF = 1, 1) || "-ristretto255-SHA512"`.
    pub const CONTEXT: &[u8] = b"OPRFV1-\x01-ristretto255-SHA512";

    fn cat(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
        [prefix, rest].concat()
    }

    fn len2(b: &[u8]) -> [u8; 2] {
        u16::try_from(b.len()).expect("short").to_be_bytes()
    }

    /// `expand_message_xmd` with SHA-512 (RFC 9380 §5.3.1).
    pub fn expand_xmd(msg: &[u8], dst: &[u8], len: usize) -> Vec<u8> {
        let dst_prime = cat(dst, &[u8::try_from(dst.len()).expect("short DST")]);
        let ell = len.div_ceil(64);
        let mut h = Sha512::new();
        h.update([0u8; 128]);
        h.update(msg);
        h.update(u16::try_from(len).expect("short").to_be_bytes());
        h.update([0u8]);
        h.update(&dst_prime);
        let b0 = h.finalize();
        let mut out = Vec::new();
        let mut prev = [0u8; 64];
        for i in 1..=ell {
            let mut h = Sha512::new();
            if i == 1 {
                h.update(b0);
            } else {
                let x: Vec<u8> = b0.iter().zip(prev).map(|(a, b)| a ^ b).collect();
                h.update(x);
            }
            h.update([u8::try_from(i).expect("short")]);
            h.update(&dst_prime);
            prev = h.finalize().into();
            out.extend_from_slice(&prev);
        }
        out.truncate(len);
        out
    }

    fn wide(b: &[u8]) -> [u8; 64] {
        b.try_into().expect("64 bytes")
    }

    /// `HashToScalar(msg, DST)`: 64 bytes of `expand_message_xmd` reduced modulo ℓ.
    pub fn hash_to_scalar(msg: &[u8], dst: &[u8]) -> Scalar {
        Scalar::from_bytes_mod_order_wide(&wide(&expand_xmd(msg, dst, 64)))
    }

    /// `HashToGroup(x)`: `hash_to_ristretto255` with DST `"HashToGroup-" || contextString`.
    pub fn hash_to_group(x: &[u8]) -> RistrettoPoint {
        let dst = cat(b"HashToGroup-", CONTEXT);
        RistrettoPoint::from_uniform_bytes(&wide(&expand_xmd(x, &dst, 64)))
    }

    /// `DeriveKeyPair(seed, info)` (RFC 9497 §3.2.1): the secret scalar.
    pub fn derive_key(seed: &[u8], info: &[u8]) -> Scalar {
        let mut input = seed.to_vec();
        input.extend_from_slice(&len2(info));
        input.extend_from_slice(info);
        let dst = cat(b"DeriveKeyPair", CONTEXT);
        for counter in 0..=255u8 {
            let sk = hash_to_scalar(&cat(&input, &[counter]), &dst);
            if sk != Scalar::ZERO {
                return sk;
            }
        }
        panic!("DeriveKeyPair: no key in 256 counters")
    }

    pub fn scalar(b: &[u8; 32]) -> Scalar {
        Option::from(Scalar::from_canonical_bytes(*b)).expect("a canonical scalar")
    }

    pub fn point(b: &[u8]) -> RistrettoPoint {
        CompressedRistretto::from_slice(b)
            .expect("32 bytes")
            .decompress()
            .expect("a canonical element")
    }

    pub fn public_key(sk: &Scalar) -> [u8; 32] {
        (G * sk).compress().to_bytes()
    }

    /// `Blind(x)` with the blind `r`: `r · HashToGroup(x)`.
    pub fn blind(x: &[u8], r: &Scalar) -> [u8; 32] {
        (hash_to_group(x) * r).compress().to_bytes()
    }

    /// `BlindEvaluate`: `skS · B`.
    pub fn evaluate(sk: &Scalar, blinded: &[u8]) -> [u8; 32] {
        (point(blinded) * sk).compress().to_bytes()
    }

    /// `Finalize(x, r, Z)`: `SHA-512(len(x) || x || 32 || (r⁻¹ · Z) || "Finalize")`.
    pub fn finalize(x: &[u8], r: &Scalar, evaluated: &[u8]) -> [u8; 64] {
        let n = (point(evaluated) * r.invert()).compress().to_bytes();
        let mut h = Sha512::new();
        h.update(len2(x));
        h.update(x);
        h.update(len2(&n));
        h.update(n);
        h.update(b"Finalize");
        h.finalize().into()
    }

    /// `GenerateProof(k, G, pkS, C, D)` with `ComputeCompositesFast` and the proof scalar
    /// `r` (RFC 9497 §2.2.1): `c || s`.
    pub fn proof(k: &Scalar, c: &[[u8; 32]], d: &[[u8; 32]], r: &Scalar) -> [u8; 64] {
        let bm = public_key(k);
        let seed_dst = cat(b"Seed-", CONTEXT);
        let mut h = Sha512::new();
        h.update(len2(&bm));
        h.update(bm);
        h.update(len2(&seed_dst));
        h.update(&seed_dst);
        let seed: [u8; 64] = h.finalize().into();
        let h2s = cat(b"HashToScalar-", CONTEXT);
        let mut m = RistrettoPoint::default();
        for (i, (ci, di)) in c.iter().zip(d).enumerate() {
            let mut t = len2(&seed).to_vec();
            t.extend_from_slice(&seed);
            t.extend_from_slice(&u16::try_from(i).expect("short").to_be_bytes());
            t.extend_from_slice(&len2(ci));
            t.extend_from_slice(ci);
            t.extend_from_slice(&len2(di));
            t.extend_from_slice(di);
            t.extend_from_slice(b"Composite");
            m += point(ci) * hash_to_scalar(&t, &h2s);
        }
        let z = m * k;
        let (t2, t3) = (G * r, m * r);
        let mut t = Vec::new();
        for e in [bm, m.compress().to_bytes(), z.compress().to_bytes()]
            .into_iter()
            .chain([t2.compress().to_bytes(), t3.compress().to_bytes()])
        {
            t.extend_from_slice(&len2(&e));
            t.extend_from_slice(&e);
        }
        t.extend_from_slice(b"Challenge");
        let ch = hash_to_scalar(&t, &h2s);
        let s = r - ch * k;
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(ch.as_bytes());
        out[32..].copy_from_slice(s.as_bytes());
        out
    }
}

/// The spec §13.2 `ch2` id from its formula with the `hkdf` crate: `HKDF-SHA256(salt = "",
/// ikm = output, info = "blindrelay v1 ch2 contact id" || 0x00 || BE32(key_epoch), L = 32)`.
pub fn ch2_id_info(key_epoch: u32) -> Vec<u8> {
    let mut info = b"blindrelay v1 ch2 contact id\x00".to_vec();
    info.extend_from_slice(&key_epoch.to_be_bytes());
    info
}

pub fn independent_ch2_id(output: &[u8], key_epoch: u32) -> [u8; 32] {
    let mut okm = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&[]), output)
        .expand(&ch2_id_info(key_epoch), &mut okm)
        .expect("32 bytes");
    okm
}

/// The relay's OPRF request (spec §14.5): `0x01 || 0x30 || capability [32] || OPRF request`.
pub fn relay_request_encode(capability: &[u8; 32], request: &OprfRequest) -> Vec<u8> {
    let mut out = vec![0x01, OPRF_RELAY_REQUEST.0];
    out.extend_from_slice(capability);
    out.extend_from_slice(&request.to_bytes());
    out
}

/// Strict decoding of the relay's OPRF request (spec §14.5, step 2): version (103), type
/// (104), the capability (100), the OPRF request with every check of the core's codec,
/// then `TrailingBytes` (101). What the relay crate's `OprfRelayRequest::decode_exact` does.
pub fn relay_request_decode(bytes: &[u8]) -> Result<([u8; 32], OprfRequest), Error> {
    let mut r = Reader::new(bytes);
    read_header(&mut r, OPRF_RELAY_REQUEST)?;
    let capability = r.array::<32>()?;
    let request = OprfRequest::decode(&mut r)?;
    r.finish()?;
    Ok((capability, request))
}

/// An RNG that hands out, for each 64-byte draw, one chosen scalar followed by 32 zero
/// bytes: ristretto255's `Scalar::random` reduces the 64 bytes, so each draw is exactly the
/// next scalar. Lets the vectors pin the blinds of `VerifiedOracle::request` and the proof
/// scalar of `OracleKey::answer` through the normal API.
pub struct ScalarTape {
    bytes: Vec<u8>,
    pos: usize,
}

impl ScalarTape {
    pub fn new(scalars: &[[u8; 32]]) -> Self {
        let mut bytes = Vec::new();
        for s in scalars {
            bytes.extend_from_slice(s);
            bytes.extend_from_slice(&[0u8; 32]);
        }
        Self { bytes, pos: 0 }
    }

    /// Whether every scalar was drawn, and nothing more.
    pub fn used_up(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

impl rand_core::RngCore for ScalarTape {
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
        for d in dest.iter_mut() {
            *d = self.bytes.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for ScalarTape {}

/// A uniformly drawn canonical non-zero scalar (a blind or a proof scalar).
fn draw_scalar(rng: &mut rand_chacha::ChaCha20Rng) -> [u8; 32] {
    let wide: [u8; 64] = fill(rng);
    curve25519_dalek::scalar::Scalar::from_bytes_mod_order_wide(&wide).to_bytes()
}

fn relay() -> IdentityKeyPair {
    IdentityKeyPair::from_seed(&RELAY_SEED)
}

fn oracle_identity() -> IdentityKeyPair {
    IdentityKeyPair::from_seed(&ORACLE_IDENTITY_SEED)
}

fn relay_key() -> [u8; 32] {
    relay().public().signing
}

fn oracle_key() -> [u8; 32] {
    oracle_identity().public().signing
}

fn salt_nonce() -> [u8; 32] {
    fill(&mut rng("ch2 salt nonce"))
}

fn ch2_params(binding: OracleBinding) -> DiscoveryParameters {
    DiscoveryParameters::sign_ch2(
        &relay(),
        KEY_EPOCH,
        &SaltNonce(salt_nonce()),
        BucketBits::new(BITS).expect("b"),
        MAX_CLASS,
        binding,
        (T0, T0 + WEEK),
    )
    .expect("ch2 parameters")
}

fn binding() -> OracleBinding {
    OracleBinding {
        oracle_key: oracle_key(),
        key_epoch: KEY_EPOCH,
    }
}

fn ch1_params() -> DiscoveryParameters {
    DiscoveryParameters::sign(
        &relay(),
        KEY_EPOCH,
        &SaltNonce(salt_nonce()),
        BucketBits::new(BITS).expect("b"),
        MAX_CLASS,
        T0,
        T0 + WEEK,
    )
    .expect("ch1 parameters")
}

fn verify_discovery(params: &[u8], key: &[u8; 32], now: u64) -> Result<VerifiedDiscovery, Error> {
    let mut mark = GenerationMark::from_bytes(&UNSEEN)?;
    DiscoveryParameters::decode_exact(params)?.verify(key, now, &mut mark)
}

fn oracle_params(seed: &[u8; 32], epoch: u32) -> OracleParameters {
    let key = OracleKey::derive(seed, epoch).expect("oracle key");
    OracleParameters::sign(&oracle_identity(), &key, T0, T0 + WEEK).expect("oracle parameters")
}

/// Oracle parameters encoded field by field (spec §13.9) and signed with `identity`: for
/// windows and keys `OracleParameters::sign` cannot produce, so that a case breaks exactly
/// one rule under a valid signature.
fn oracle_by_hand(
    identity_seed: &[u8; 32],
    epoch: u32,
    public: &[u8; 32],
    issued_at: u64,
    expires_at: u64,
) -> Vec<u8> {
    let mut body = vec![0x01, 0x14, 0x02];
    body.extend_from_slice(&epoch.to_be_bytes());
    body.extend_from_slice(public);
    body.extend_from_slice(&issued_at.to_be_bytes());
    body.extend_from_slice(&expires_at.to_be_bytes());
    let mut input = b"blindrelay v1 oracle parameters".to_vec();
    input.extend_from_slice(&body);
    let (ed_seed, _) = hazmat::identity_secrets(identity_seed);
    body.extend_from_slice(&sig::sign(&hazmat::ed25519_signing_key(&ed_seed), &input));
    body
}

fn verify_oracle(params: &[u8], key: &[u8; 32], now: u64) -> Result<VerifiedOracle, Error> {
    OracleParameters::decode_exact(params)?.verify(key, now)
}

/// The `ch1` ids of [`NUMBERS`] under the relay's salt (Argon2id, spec §9.4).
fn ch1_ids(v: &VerifiedDiscovery, numbers: &[String]) -> Result<Vec<ContactId>, Error> {
    let mut hasher = ContactHasher::new(*v.salt())?;
    numbers
        .iter()
        .map(|n| hasher.contact_id(&PhoneNumber::parse_canonical(n)?))
        .collect()
}

fn hexes<T: AsRef<[u8]>>(items: &[T]) -> Value {
    Value::Array(items.iter().map(h).collect())
}

fn prefixes(id: &ContactId) -> Value {
    json!({
        "b12": bucket_prefix(id, BucketBits::new(12).expect("b")),
        "b16": bucket_prefix(id, BucketBits::new(16).expect("b")),
    })
}

/// The finalize of `response` for `contacts` blinded with `blinds`, as the client does it
/// (spec §13.4): verified oracle parameters, the blind state, `VerifiedOracle::finalize`.
fn finalize_response(
    oracle: &[u8],
    key: &[u8; 32],
    now: u64,
    contacts: &[[u8; 32]],
    blinds: &[[u8; 32]],
    response: &[u8],
) -> Result<Vec<Ch2Id>, Error> {
    let v = verify_oracle(oracle, key, now)?;
    let inputs: Vec<&[u8]> = contacts.iter().map(|c| c.as_slice()).collect();
    let (state, _) = hazmat::oprf_blind_with(&inputs, blinds)?;
    v.finalize(state, &OprfResponse::decode_exact(response)?)
}

/// Everything of the end-to-end evaluation, for the generator and the negative cases.
struct Run {
    discovery: DiscoveryParameters,
    oracle: OracleParameters,
    contacts: Vec<[u8; 32]>,
    blinds: Vec<[u8; 32]>,
    request: OprfRequest,
    proof_scalar: [u8; 32],
    response: OprfResponse,
    capability: [u8; 32],
}

fn run() -> Run {
    let discovery = ch2_params(binding());
    let oracle = oracle_params(&ORACLE_SEED, KEY_EPOCH);
    let v = verify_discovery(&discovery.to_bytes(), &relay_key(), NOW).expect("verify");
    let numbers: Vec<String> = NUMBERS.iter().map(|s| s.to_string()).collect();
    let ids = ch1_ids(&v, &numbers).expect("ch1 ids");
    let mut r = rng("ch2 evaluation");
    let blinds: Vec<[u8; 32]> = (0..ids.len()).map(|_| draw_scalar(&mut r)).collect();
    let proof_scalar = draw_scalar(&mut r);
    let capability = fill(&mut r);
    let vo = oracle.clone().verify(&oracle_key(), NOW).expect("oracle");
    let mut tape = ScalarTape::new(&blinds);
    let (_, request) = vo.request(&mut tape, &v, &ids).expect("request");
    assert!(tape.used_up(), "one 64-byte draw per blind");
    let key = OracleKey::derive(&ORACLE_SEED, KEY_EPOCH).expect("key");
    let mut tape = ScalarTape::new(&[proof_scalar]);
    let response = key.answer(&mut tape, &request).expect("answer");
    assert!(tape.used_up(), "one 64-byte draw for the proof");
    Run {
        discovery,
        oracle,
        contacts: ids.iter().map(|c| *c.as_bytes()).collect(),
        blinds,
        request,
        proof_scalar,
        response,
        capability,
    }
}

fn list32(case: &Value, key: &str) -> Result<Vec<[u8; 32]>, String> {
    case[key]
        .as_array()
        .ok_or_else(|| format!("missing array `{key}`"))?
        .iter()
        .map(|x| {
            hex::decode(x.as_str().ok_or("not a hex string")?)
                .map_err(|e| e.to_string())?
                .try_into()
                .map_err(|_| format!("`{key}`: an item is not 32 bytes"))
        })
        .collect()
}

fn list_bytes(case: &Value, key: &str) -> Result<Vec<Vec<u8>>, String> {
    case[key]
        .as_array()
        .ok_or_else(|| format!("missing array `{key}`"))?
        .iter()
        .map(|x| hex::decode(x.as_str().ok_or("not a hex string")?).map_err(|e| e.to_string()))
        .collect()
}

fn u32_of(case: &Value, key: &str) -> Result<u32, String> {
    u32::try_from(uint(case, key)?).map_err(|e| format!("`{key}`: {e}"))
}

fn e(err: Error) -> String {
    format!("{} ({})", err.name(), err.code())
}

pub fn generate() -> (String, Value) {
    let mut f = FileBuilder::new(
        "ch2.json",
        "Contact discovery, suite ch2: the RFC 9497 ristretto255-SHA512 VOPRF vectors of Appendix A.1.2, the oracle key of a key epoch, the ch2 contact id, one evaluation end to end (ch2 discovery parameters, oracle parameters, OPRF request and response, the relay's 0x30 wrapper, ch2 ids, lookup, registration, matches), and the refusals of oracle parameters, the OPRF codec, finalize, the oracle's answer and the discovery suite checks; negative cases name their error code.",
        &["§9.1", "§9.6", "§13", "§14"],
    );
    f.note("Truncated", "BASIC", "The encoding is cut short.");
    f.note(
        "TrailingBytes",
        "BASIC",
        "One extra byte follows a complete message.",
    );
    f.note(
        "UnknownSuite",
        "MODIFIED_PARAMETER",
        "An oracle or OPRF message whose suite byte is not 0x02 (ch2).",
    );
    f.note(
        "BadSignature",
        "AUTH_BYPASS",
        "Parameters verified under another pinned key than the one that signed them.",
    );
    f.note(
        "Window",
        "MISSING_STEP",
        "Validly signed oracle parameters outside their validity window: expired, issued more than 300 s ahead, or a window longer than 7 days.",
    );
    f.note(
        "InvalidElement",
        "MODIFIED_PARAMETER",
        "A public key, blinded or evaluated element that is not a canonical, non-identity ristretto255 encoding (620).",
    );
    f.note(
        "BatchSize",
        "EDGE_CASE",
        "An empty batch, or an answer with another number of elements than the request (622).",
    );
    f.note(
        "OverMax",
        "EDGE_CASE",
        "A count above MAX_OPRF_BATCH = 4096.",
    );
    f.note(
        "ProofInvalid",
        "AUTH_BYPASS",
        "An evaluation whose batch DLEQ proof does not verify under the pinned OPRF key: another key, a tampered, reordered or substituted element, a tampered or non-canonical proof (621).",
    );
    f.note(
        "KeyEpoch",
        "MISSING_STEP",
        "A request, response or binding under another key epoch or oracle than the pinned one (615).",
    );
    f.note(
        "SuiteMismatch",
        "MISSING_STEP",
        "Ids, requests or parameters of one discovery suite used with the other's.",
    );
    f.note(
        "CheckOrder",
        "EDGE_CASE",
        "The input breaks two rules; the error is the one of the earlier check.",
    );
    f.note(
        "BadHeader",
        "BASIC",
        "Another protocol version or message type.",
    );

    rfc_cases(&mut f);
    derivation_cases(&mut f);
    let run = run();
    evaluation_case(&mut f, &run);
    discovery_parameter_cases(&mut f);
    oracle_parameter_cases(&mut f);
    codec_cases(&mut f, &run);
    finalize_cases(&mut f, &run);
    answer_cases(&mut f, &run);
    suite_cases(&mut f, &run);
    f.build()
}

fn rfc_cases(f: &mut FileBuilder) {
    let d: Value = serde_json::from_str(RFC9497).expect("RFC 9497 vectors");
    let k = &d["key"];
    for v in d["vectors"].as_array().expect("vectors") {
        let case = json!({
            "seed": k["Seed"], "keyInfo": k["KeyInfo"], "skSm": k["skSm"], "pkSm": k["pkSm"],
            "inputs": v["Input"], "blinds": v["Blind"], "blindedElements": v["BlindedElement"],
            "evaluationElements": v["EvaluationElement"], "proof": v["Proof"],
            "proofRandomScalar": v["ProofRandomScalar"], "outputs": v["Output"],
        });
        verify_rfc(&case).expect("the RFC vector reproduces");
        f.valid(
            "rfc9497-voprf",
            &format!(
                "RFC 9497 Appendix {} ({}), ristretto255-SHA512, VOPRF mode; key of Appendix A.1.2 (Seed a3…a3, KeyInfo \"test key\")",
                v["section"].as_str().expect("section"),
                v["title"].as_str().expect("title")
            ),
            case,
        );
    }
}

fn derivation_cases(f: &mut FileBuilder) {
    for (seed, epoch, why) in [
        (ORACLE_SEED, 0, "key epoch 0"),
        (ORACLE_SEED, 1, "key epoch 1"),
        (
            ORACLE_SEED,
            KEY_EPOCH,
            "key epoch 3, the end-to-end case's key",
        ),
        (ORACLE_SEED, u32::MAX, "key epoch 2^32 - 1"),
        (OTHER_ORACLE_SEED, KEY_EPOCH, "another seed, key epoch 3"),
    ] {
        let key = OracleKey::derive(&seed, epoch).expect("key");
        let sk = rfc9497::derive_key(&seed, &oracle_key_info(epoch));
        assert_eq!(rfc9497::public_key(&sk), key.public_key().to_bytes());
        f.valid(
            "ch2-oracle-key",
            &format!("§13.3 DeriveKeyPair(seed, \"blindrelay v1 ch2 oracle key\" || 0x00 || BE32(epoch)): {why}"),
            json!({
                "oracleSeed": h(seed), "keyEpoch": epoch, "info": h(oracle_key_info(epoch)),
                "secretKey": h(sk.to_bytes()), "publicKey": h(key.public_key().to_bytes()),
            }),
        );
    }
    let mut r = rng("ch2 ids");
    let a: [u8; 32] = fill(&mut r);
    let b: [u8; 32] = fill(&mut r);
    for (contact, epoch, why) in [
        (a, 1, "contact A, key epoch 1"),
        (b, 1, "contact B, key epoch 1"),
        (
            a,
            2,
            "contact A, key epoch 2: another key and another HKDF info, an unrelated id",
        ),
    ] {
        let blind = draw_scalar(&mut r);
        let proof_scalar = draw_scalar(&mut r);
        let key = OracleKey::derive(&ORACLE_SEED, epoch).expect("key");
        let (state, blinded) =
            hazmat::oprf_blind_with(&[contact.as_slice()], &[blind]).expect("blind");
        let eval =
            hazmat::oprf_evaluate_with_proof_scalar(&key, &blinded, &proof_scalar).expect("eval");
        let outputs =
            hazmat::oprf_finalize_outputs(state, &key.public_key(), &eval).expect("finalize");
        let output = *outputs[0];
        let id = key
            .evaluate_unblinded(&ContactId::from_bytes(contact))
            .expect("unblinded");
        assert_eq!(id.as_bytes(), &independent_ch2_id(&output, epoch));
        f.valid(
            "ch2-id",
            &format!("§13.2 ch2 id = HKDF-SHA256(\"\", RFC 9497 output, \"blindrelay v1 ch2 contact id\" || 0x00 || BE32(epoch)), with its §9.5 prefixes and match tag: {why} (the ch1 id is a fixed 32-byte string)"),
            json!({
                "oracleSeed": h(ORACLE_SEED), "keyEpoch": epoch,
                "publicKey": h(key.public_key().to_bytes()),
                "contactId": h(contact), "blind": h(blind),
                "blindedElement": h(blinded[0].to_bytes()),
                "evaluationElement": h(eval.elements[0].to_bytes()),
                "proofRandomScalar": h(proof_scalar), "proof": h(eval.proof),
                "output": h(output), "info": h(ch2_id_info(epoch)), "ch2Id": h(id.as_bytes()),
                "prefixes": prefixes(&id), "matchTag": h(MatchTag::of(&id).0),
            }),
        );
    }
}

fn evaluation_case(f: &mut FileBuilder, run: &Run) {
    let v = verify_discovery(&run.discovery.to_bytes(), &relay_key(), NOW).expect("verify");
    let vo = run
        .oracle
        .clone()
        .verify(&oracle_key(), NOW)
        .expect("oracle");
    let inputs: Vec<&[u8]> = run.contacts.iter().map(|c| c.as_slice()).collect();
    let (state, _) = hazmat::oprf_blind_with(&inputs, &run.blinds).expect("blind");
    let eval = Evaluation {
        elements: run
            .response
            .evaluated()
            .iter()
            .map(|e| EvaluatedElement::from_bytes(e).expect("element"))
            .collect(),
        proof: *run.response.proof(),
    };
    let outputs: Vec<[u8; 64]> = hazmat::oprf_finalize_outputs(state, vo.public_key(), &eval)
        .expect("outputs")
        .iter()
        .map(|o| **o)
        .collect();
    let (state, _) = hazmat::oprf_blind_with(&inputs, &run.blinds).expect("blind");
    let ids = vo.finalize(state, &run.response).expect("finalize");
    let secret = DiscoverySecret::from_bytes(&fill(&mut rng("ch2 client secret")));
    let requests = v.lookup_batch(&secret, &ids).expect("batch");
    let reg = v
        .register_discoverable(&ids[1], RECORD)
        .expect("registration");
    let (prefix, entry) = v.params().bucket_entry(&reg).expect("entry");
    let req = &requests[0];
    let resp = v
        .params()
        .answer(req, |p| {
            if p == prefix {
                vec![entry.clone()]
            } else {
                Vec::new()
            }
        })
        .expect("answer");
    let matches: Vec<Value> = v
        .match_response(req, &resp, &ids)
        .expect("match")
        .iter()
        .map(|m| json!({ "contact": m.contact, "records": m.records.iter().map(h).collect::<Vec<_>>() }))
        .collect();
    assert_eq!(matches.len(), 1);
    let case = json!({
        "relayIdentitySeed": h(RELAY_SEED), "relayKey": h(relay_key()),
        "saltGeneration": KEY_EPOCH, "saltNonce": h(salt_nonce()), "bucketBits": BITS,
        "maxSizeClass": MAX_CLASS, "issuedAt": T0, "expiresAt": T0 + WEEK,
        "oracleKey": h(oracle_key()), "keyEpoch": KEY_EPOCH,
        "discoveryParameters": h(run.discovery.to_bytes()),
        "signatureInput": h(run.discovery.signature_input()),
        "now": NOW, "generationMark": h(UNSEEN), "salt": h(v.salt().0),
        "oracleIdentitySeed": h(ORACLE_IDENTITY_SEED), "oracleSeed": h(ORACLE_SEED),
        "oracleIssuedAt": T0, "oracleExpiresAt": T0 + WEEK,
        "oraclePublicKey": h(vo.public_key().to_bytes()),
        "oracleParameters": h(run.oracle.to_bytes()),
        "oracleSignatureInput": h(run.oracle.signature_input()),
    });
    let more = json!({
        "e164": NUMBERS, "contactIds": hexes(&run.contacts), "blinds": hexes(&run.blinds),
        "blindedElements": hexes(run.request.blinded()),
        "oprfRequest": h(run.request.to_bytes()),
        "capability": h(run.capability),
        "oprfRelayRequest": h(relay_request_encode(&run.capability, &run.request)),
        "proofRandomScalar": h(run.proof_scalar),
        "evaluationElements": hexes(run.response.evaluated()), "proof": h(run.response.proof()),
        "oprfResponse": h(run.response.to_bytes()),
        "outputs": hexes(&outputs),
        "ch2Ids": Value::Array(ids.iter().map(|i| h(i.as_bytes())).collect()),
        "clientSecret": h(*secret.to_bytes()),
        "lookupRequests": Value::Array(requests.iter().map(|r| h(r.to_bytes())).collect()),
        "lookupRequest": h(req.to_bytes()),
        "registrations": [{ "ch2Id": h(ids[1].as_bytes()), "record": h(RECORD), "registration": h(reg.to_bytes()) }],
        "lookupResponse": h(resp.to_bytes()),
        "matches": matches,
    });
    let mut case = case;
    for (k, x) in more.as_object().expect("object") {
        case[k] = x.clone();
    }
    let mut check = case.clone();
    check["kind"] = json!("ch2-evaluation");
    check["result"] = json!("valid");
    verify(&check).expect("the evaluation verifies");
    f.valid(
        "ch2-evaluation",
        "§13, §14 end to end: ch2 discovery parameters (158 bytes, naming the oracle at key epoch 3; salt generation 3), oracle parameters (0x14), the ch1 ids of three fiction numbers (Argon2id under the relay's salt), explicit blinds -> OPRF request (0x15) and the relay's 0x30 wrapper, explicit proof scalar -> OPRF response (0x16), finalize -> ch2 ids; a lookup batch (suite 0x02), a registration (0x13, suite 0x02) of the second contact, the lookup response and its one match",
        case,
    );
}

fn discovery_parameter_cases(f: &mut FileBuilder) {
    let p = ch2_params(binding()).to_bytes();
    assert_eq!(p.len(), 158);
    let base = json!({ "relayKey": h(relay_key()), "now": NOW, "generationMark": h(UNSEEN) });
    let with = |bytes: &[u8], key: [u8; 32]| {
        let mut c = base.clone();
        c["discoveryParameters"] = h(bytes);
        c["relayKey"] = h(key);
        c
    };
    // Offsets: header 2, suite 1, generation 4, nonce 32, b 1, max 2 = 42; oracle key 32;
    // key epoch 4.
    f.invalid(
        "ch2-discovery-parameters",
        "§9.6 ch2 parameters cut inside oracle_key (52 of 158 bytes)",
        &["Truncated"],
        with(&p[..52], relay_key()),
        Error::Truncated,
    );
    f.invalid(
        "ch2-discovery-parameters",
        "§9.6 ch2 parameters cut inside key_epoch (76 of 158 bytes)",
        &["Truncated"],
        with(&p[..76], relay_key()),
        Error::Truncated,
    );
    let mut t = p.clone();
    t.push(0);
    f.invalid(
        "ch2-discovery-parameters",
        "§9.6 ch2 parameters with one trailing byte",
        &["TrailingBytes"],
        with(&t, relay_key()),
        Error::TrailingBytes,
    );
    f.invalid(
        "ch2-discovery-parameters",
        "§9.6 ch2 parameters verified under the oracle's key instead of the relay's",
        &["BadSignature"],
        with(&p, oracle_key()),
        Error::BadSignature,
    );
    let mut t = p.clone();
    t[2] = 0x01;
    f.invalid(
        "ch2-discovery-parameters",
        "§9.6 ch2 parameters relabelled as suite 0x01: they decode as ch1 (the oracle fields read as times) and the signature fails",
        &["BadSignature", "SuiteMismatch"],
        with(&t[..t.len() - 36], relay_key()),
        Error::BadSignature,
    );
}

fn oracle_parameter_cases(f: &mut FileBuilder) {
    let key = OracleKey::derive(&ORACLE_SEED, KEY_EPOCH).expect("key");
    let pk = key.public_key().to_bytes();
    let good = oracle_params(&ORACLE_SEED, KEY_EPOCH).to_bytes();
    assert_eq!(good.len(), 119);
    let case = |bytes: &[u8], pinned: [u8; 32], now: u64| json!({ "oracleKey": h(pinned), "oracleParameters": h(bytes), "now": now });
    f.valid(
        "oracle-parameters",
        "§13.9 oracle parameters (0x14, 119 bytes) verified under the pinned oracle key",
        {
            let mut c = case(&good, oracle_key(), NOW);
            c["keyEpoch"] = json!(KEY_EPOCH);
            c["publicKey"] = h(pk);
            c["issuedAt"] = json!(T0);
            c["expiresAt"] = json!(T0 + WEEK);
            c["oracleIdentitySeed"] = h(ORACLE_IDENTITY_SEED);
            c["oracleSeed"] = h(ORACLE_SEED);
            c["signatureInput"] = h(oracle_params(&ORACLE_SEED, KEY_EPOCH).signature_input());
            c
        },
    );
    for suite in [0x01u8, 0x03] {
        let mut t = good.clone();
        t[2] = suite;
        f.invalid(
            "oracle-parameters",
            &format!("suite byte 0x{suite:02x} instead of 0x02"),
            &["UnknownSuite"],
            case(&t, oracle_key(), NOW),
            Error::UnknownSuite(suite),
        );
    }
    f.invalid(
        "oracle-parameters",
        "cut inside the signature (118 of 119 bytes)",
        &["Truncated"],
        case(&good[..118], oracle_key(), NOW),
        Error::Truncated,
    );
    let mut t = good.clone();
    t.push(0);
    f.invalid(
        "oracle-parameters",
        "one trailing byte",
        &["TrailingBytes"],
        case(&t, oracle_key(), NOW),
        Error::TrailingBytes,
    );
    f.invalid(
        "oracle-parameters",
        "verified under another pinned key (the relay's)",
        &["BadSignature"],
        case(&good, relay_key(), NOW),
        Error::BadSignature,
    );
    let mut t = good.clone();
    t[3..7].copy_from_slice(&(KEY_EPOCH + 1).to_be_bytes());
    f.invalid(
        "oracle-parameters",
        "the key epoch changed after signing",
        &["BadSignature"],
        case(&t, oracle_key(), NOW),
        Error::BadSignature,
    );
    f.invalid(
        "oracle-parameters",
        "expired: verified at expires_at",
        &["Window"],
        case(&good, oracle_key(), T0 + WEEK),
        Error::Expired,
    );
    f.invalid(
        "oracle-parameters",
        "issued 301 s after the client's clock (MAX_CLOCK_SKEW_SECS = 300)",
        &["Window"],
        case(&good, oracle_key(), T0 - 301),
        Error::Expired,
    );
    f.valid(
        "oracle-parameters",
        "issued exactly 300 s after the client's clock: accepted",
        {
            let mut c = case(&good, oracle_key(), T0 - 300);
            c["keyEpoch"] = json!(KEY_EPOCH);
            c["publicKey"] = h(pk);
            c["issuedAt"] = json!(T0);
            c["expiresAt"] = json!(T0 + WEEK);
            c
        },
    );
    let by_hand = |public: &[u8; 32], issued: u64, expires: u64| {
        oracle_by_hand(&ORACLE_IDENTITY_SEED, KEY_EPOCH, public, issued, expires)
    };
    assert_eq!(by_hand(&pk, T0, T0 + WEEK), good, "the hand encoding");
    f.invalid(
        "oracle-parameters",
        "validly signed window of 7 days + 1 s",
        &["Window"],
        case(&by_hand(&pk, T0, T0 + WEEK + 1), oracle_key(), NOW),
        Error::Expired,
    );
    f.invalid(
        "oracle-parameters",
        "validly signed empty window (expires_at = issued_at)",
        &["Window"],
        case(&by_hand(&pk, T0, T0), oracle_key(), T0 - 1),
        Error::Expired,
    );
    let identity = [0u8; 32];
    let non_canonical = [0xffu8; 32];
    let mut negative = pk;
    negative[0] |= 1;
    for (public, why) in [
        (identity, "the identity element (32 zero bytes)"),
        (
            non_canonical,
            "a non-canonical encoding (0xff × 32, not below p)",
        ),
        (
            negative,
            "a negative field element (the key with its lowest bit set)",
        ),
    ] {
        f.invalid(
            "oracle-parameters",
            &format!("validly signed OPRF public key that is {why}"),
            &["InvalidElement"],
            case(&by_hand(&public, T0, T0 + WEEK), oracle_key(), NOW),
            Error::OprfInvalidElement,
        );
    }
    f.invalid(
        "oracle-parameters",
        "an identity OPRF key under another pinned key: the signature is checked first",
        &["InvalidElement", "BadSignature", "CheckOrder"],
        case(&by_hand(&identity, T0, T0 + WEEK), relay_key(), NOW),
        Error::BadSignature,
    );
    f.invalid(
        "oracle-parameters",
        "an identity OPRF key in expired parameters: the window is checked before the key",
        &["InvalidElement", "Window", "CheckOrder"],
        case(&by_hand(&identity, T0, T0 + WEEK), oracle_key(), T0 + WEEK),
        Error::Expired,
    );
}

fn codec_cases(f: &mut FileBuilder, run: &Run) {
    let req = run.request.to_bytes();
    let resp = run.response.to_bytes();
    f.valid(
        "oprf-request",
        "§13.9 OPRF request (0x15) of three blinded elements",
        json!({ "oprfRequest": h(&req), "keyEpoch": KEY_EPOCH, "blindedElements": hexes(run.request.blinded()) }),
    );
    f.valid(
        "oprf-response",
        "§13.9 OPRF response (0x16) of three evaluated elements and one proof",
        json!({
            "oprfResponse": h(&resp), "keyEpoch": KEY_EPOCH,
            "evaluationElements": hexes(run.response.evaluated()), "proof": h(run.response.proof()),
        }),
    );
    // Layout: header 2, suite 1, key epoch 4, count 2 = 9 bytes before the elements.
    for (kind, field, bytes, tail) in [
        ("oprf-request", "oprfRequest", &req, 0usize),
        ("oprf-response", "oprfResponse", &resp, 64),
    ] {
        let elements = if kind == "oprf-request" {
            "oprf.blinded"
        } else {
            "oprf.evaluated"
        };
        let mut neg = |comment: &str, flags: &[&str], b: Vec<u8>, err: Error| {
            f.invalid(kind, comment, flags, json!({ field: h(b) }), err);
        };
        let mut t = bytes[..9].to_vec();
        t[7..9].copy_from_slice(&0u16.to_be_bytes());
        t.extend_from_slice(&bytes[bytes.len() - tail..]);
        neg("count 0", &["BatchSize"], t, Error::OprfBatchSize);
        let mut t = bytes.clone();
        t[7..9].copy_from_slice(&4097u16.to_be_bytes());
        neg(
            "count 4097 (over MAX_OPRF_BATCH = 4096), checked before the input's length",
            &["OverMax"],
            t,
            Error::LengthOverMax { field: elements },
        );
        let mut t = bytes.clone();
        t[7..9].copy_from_slice(&4u16.to_be_bytes());
        neg(
            "count 4 with three elements",
            &["Truncated"],
            t,
            Error::Truncated,
        );
        neg(
            "cut by one byte",
            &["Truncated"],
            bytes[..bytes.len() - 1].to_vec(),
            Error::Truncated,
        );
        let mut t = bytes.clone();
        t.push(0);
        neg(
            "one trailing byte",
            &["TrailingBytes"],
            t,
            Error::TrailingBytes,
        );
        for suite in [0x01u8, 0x03] {
            let mut t = bytes.clone();
            t[2] = suite;
            neg(
                &format!("suite byte 0x{suite:02x} instead of 0x02"),
                &["UnknownSuite"],
                t,
                Error::UnknownSuite(suite),
            );
        }
        let mut t = bytes.clone();
        t[2] = 0x01;
        t[7..9].copy_from_slice(&0u16.to_be_bytes());
        neg(
            "suite 0x01 and count 0: the suite is checked first",
            &["UnknownSuite", "BatchSize", "CheckOrder"],
            t,
            Error::UnknownSuite(0x01),
        );
    }
    // The relay's wrapper (spec §14.5).
    let wrapped = relay_request_encode(&run.capability, &run.request);
    f.valid(
        "oprf-relay-request",
        "§14.5 OPRF relay request (0x30): capability || OPRF request (encoded by hand from §14.5; the conformance crate does not depend on the relay crate)",
        json!({ "capability": h(run.capability), "oprfRequest": h(&req), "oprfRelayRequest": h(&wrapped) }),
    );
    let mut neg = |comment: &str, flags: &[&str], b: Vec<u8>, err: Error| {
        let want = relay_request_decode(&b).map(drop);
        assert_eq!(want, Err(err), "{comment}");
        f.invalid(
            "oprf-relay-request",
            comment,
            flags,
            json!({ "oprfRelayRequest": h(b) }),
            err,
        );
    };
    let mut t = wrapped.clone();
    t[0] = 0x02;
    neg("version 0x02", &["BadHeader"], t, Error::UnknownVersion(2));
    let mut t = wrapped.clone();
    t[1] = 0x15;
    neg(
        "type 0x15 (a bare OPRF request) instead of 0x30",
        &["BadHeader"],
        t,
        Error::UnknownMessageType(0x15),
    );
    neg(
        "cut inside the capability (20 bytes)",
        &["Truncated"],
        wrapped[..20].to_vec(),
        Error::Truncated,
    );
    neg(
        "the capability alone, no OPRF request",
        &["Truncated"],
        wrapped[..34].to_vec(),
        Error::Truncated,
    );
    let mut t = wrapped.clone();
    t[36] = 0x03;
    neg(
        "the OPRF request's suite is 0x03",
        &["UnknownSuite"],
        t,
        Error::UnknownSuite(3),
    );
    let mut t = wrapped[..43].to_vec();
    t[41..43].copy_from_slice(&0u16.to_be_bytes());
    neg(
        "the OPRF request's count is 0",
        &["BatchSize"],
        t,
        Error::OprfBatchSize,
    );
    let mut t = wrapped.clone();
    t[41..43].copy_from_slice(&4097u16.to_be_bytes());
    neg(
        "the OPRF request's count is 4097",
        &["OverMax"],
        t,
        Error::LengthOverMax {
            field: "oprf.blinded",
        },
    );
    let mut t = wrapped.clone();
    t.push(0);
    neg(
        "one trailing byte after the OPRF request",
        &["TrailingBytes"],
        t,
        Error::TrailingBytes,
    );
}

/// A finalize case's fields: the pinned oracle, the contacts, the blinds and a response.
fn finalize_fields(run: &Run, response: &[u8]) -> Value {
    json!({
        "oracleKey": h(oracle_key()), "oracleParameters": h(run.oracle.to_bytes()), "now": NOW,
        "contactIds": hexes(&run.contacts), "blinds": hexes(&run.blinds),
        "oprfResponse": h(response),
    })
}

fn finalize_cases(f: &mut FileBuilder, run: &Run) {
    let els = run.response.evaluated().to_vec();
    let proof = *run.response.proof();
    let resp = |epoch: u32, els: Vec<[u8; 32]>, proof: [u8; 64]| {
        OprfResponse::new(epoch, els, proof)
            .expect("response")
            .to_bytes()
    };
    let mut neg = |comment: &str, flags: &[&str], bytes: Vec<u8>, err: Error| {
        let fields = finalize_fields(run, &bytes);
        let got = finalize_response(
            &run.oracle.to_bytes(),
            &oracle_key(),
            NOW,
            &run.contacts,
            &run.blinds,
            &bytes,
        )
        .map(drop);
        assert_eq!(got, Err(err), "{comment}");
        f.invalid("oprf-finalize", comment, flags, fields, err);
    };
    // Another key epoch: the answer of the seed's epoch-4 key, labelled epoch 4.
    let key4 = OracleKey::derive(&ORACLE_SEED, KEY_EPOCH + 1).expect("key");
    let blinded: Vec<_> = run
        .request
        .blinded()
        .iter()
        .map(|b| blindrelay::contact::BlindedElement::from_bytes(b).expect("blinded"))
        .collect();
    let e4 =
        hazmat::oprf_evaluate_with_proof_scalar(&key4, &blinded, &run.proof_scalar).expect("e4");
    let e4_els: Vec<[u8; 32]> = e4.elements.iter().map(|e| e.to_bytes()).collect();
    neg(
        "a response under key epoch 4 (the same seed's next key) to a client pinned at epoch 3",
        &["KeyEpoch"],
        resp(KEY_EPOCH + 1, e4_els.clone(), e4.proof),
        Error::LookupMismatch,
    );
    neg(
        "the epoch-4 key's evaluation labelled epoch 3: the proof fails under the pinned key",
        &["ProofInvalid"],
        resp(KEY_EPOCH, e4_els, e4.proof),
        Error::OprfProofInvalid,
    );
    let other = OracleKey::derive(&OTHER_ORACLE_SEED, KEY_EPOCH).expect("other");
    let mut tape = ScalarTape::new(&[run.proof_scalar]);
    let o = other.answer(&mut tape, &run.request).expect("other answer");
    neg(
        "the honest answer of another oracle key with the same key epoch",
        &["ProofInvalid"],
        o.to_bytes(),
        Error::OprfProofInvalid,
    );
    // A bit flip in an element: the first flip (from the last byte down) that still decodes,
    // and the first that does not.
    let mut decodes = None;
    let mut undecodable = None;
    'search: for byte in (0..32).rev() {
        for bit in 0..8 {
            let mut t = els[1];
            t[byte] ^= 1 << bit;
            let ok = EvaluatedElement::from_bytes(&t).is_ok();
            if ok && decodes.is_none() {
                decodes = Some((byte, bit, t));
            }
            if !ok && undecodable.is_none() {
                undecodable = Some((byte, bit, t));
            }
            if decodes.is_some() && undecodable.is_some() {
                break 'search;
            }
        }
    }
    let (byte, bit, t) = undecodable.expect("an undecodable flip");
    let mut x = els.clone();
    x[1] = t;
    neg(
        &format!("the second element with bit {bit} of byte {byte} flipped: no longer a canonical encoding"),
        &["InvalidElement"],
        resp(KEY_EPOCH, x, proof),
        Error::OprfInvalidElement,
    );
    let (byte, bit, t) = decodes.expect("a decodable flip");
    let mut x = els.clone();
    x[1] = t;
    neg(
        &format!("the second element with bit {bit} of byte {byte} flipped: still an element, the proof fails"),
        &["ProofInvalid"],
        resp(KEY_EPOCH, x, proof),
        Error::OprfProofInvalid,
    );
    let mut x = els.clone();
    x[1] = o.evaluated()[1];
    neg(
        "the second element substituted by another key's evaluation of the same blinded element",
        &["ProofInvalid"],
        resp(KEY_EPOCH, x, proof),
        Error::OprfProofInvalid,
    );
    let mut p = proof;
    p[0] ^= 1;
    neg(
        "the proof's c with its lowest bit flipped",
        &["ProofInvalid"],
        resp(KEY_EPOCH, els.clone(), p),
        Error::OprfProofInvalid,
    );
    let mut p = proof;
    p[32] ^= 1;
    neg(
        "the proof's s with its lowest bit flipped",
        &["ProofInvalid"],
        resp(KEY_EPOCH, els.clone(), p),
        Error::OprfProofInvalid,
    );
    let mut p = proof;
    p[32..].copy_from_slice(&[0xff; 32]);
    neg(
        "the proof's s not canonical (0xff × 32, not below ℓ)",
        &["ProofInvalid"],
        resp(KEY_EPOCH, els.clone(), p),
        Error::OprfProofInvalid,
    );
    let mut x = els.clone();
    x.swap(0, 1);
    neg(
        "the first two elements swapped",
        &["ProofInvalid"],
        resp(KEY_EPOCH, x, proof),
        Error::OprfProofInvalid,
    );
    neg(
        "two elements for three blinded elements",
        &["BatchSize"],
        resp(KEY_EPOCH, els[..2].to_vec(), proof),
        Error::OprfBatchSize,
    );
    let mut x = els.clone();
    x.push(els[0]);
    neg(
        "four elements for three blinded elements",
        &["BatchSize"],
        resp(KEY_EPOCH, x, proof),
        Error::OprfBatchSize,
    );
    let mut x = els.clone();
    x[0] = [0; 32];
    neg(
        "the first element is the identity (32 zero bytes)",
        &["InvalidElement"],
        resp(KEY_EPOCH, x, proof),
        Error::OprfInvalidElement,
    );
    let mut x = els;
    x[2] = [0xff; 32];
    neg(
        "the third element is not canonical (0xff × 32)",
        &["InvalidElement"],
        resp(KEY_EPOCH, x, proof),
        Error::OprfInvalidElement,
    );
}

fn answer_cases(f: &mut FileBuilder, run: &Run) {
    let fields = |request: &OprfRequest| {
        json!({
            "oracleSeed": h(ORACLE_SEED), "keyEpoch": KEY_EPOCH,
            "oprfRequest": h(request.to_bytes()), "proofRandomScalar": h(run.proof_scalar),
        })
    };
    let key = OracleKey::derive(&ORACLE_SEED, KEY_EPOCH).expect("key");
    let mut neg = |comment: &str, flags: &[&str], request: OprfRequest, err: Error| {
        let mut tape = ScalarTape::new(&[run.proof_scalar]);
        assert_eq!(
            key.answer(&mut tape, &request).map(drop),
            Err(err),
            "{comment}"
        );
        f.invalid("oracle-answer", comment, flags, fields(&request), err);
    };
    let blinded = run.request.blinded().to_vec();
    neg(
        "a request for key epoch 4 to the oracle's epoch-3 key",
        &["KeyEpoch"],
        OprfRequest::new(KEY_EPOCH + 1, blinded.clone()).expect("request"),
        Error::LookupMismatch,
    );
    let mut x = blinded.clone();
    x[1] = [0; 32];
    neg(
        "the second blinded element is the identity",
        &["InvalidElement"],
        OprfRequest::new(KEY_EPOCH, x).expect("request"),
        Error::OprfInvalidElement,
    );
    let mut x = blinded.clone();
    x[2] = [0xff; 32];
    neg(
        "the third blinded element is not canonical (0xff × 32)",
        &["InvalidElement"],
        OprfRequest::new(KEY_EPOCH, x).expect("request"),
        Error::OprfInvalidElement,
    );
    let mut x = blinded;
    x[0] = [0; 32];
    neg(
        "an identity element under key epoch 4: the epoch is checked first",
        &["KeyEpoch", "InvalidElement", "CheckOrder"],
        OprfRequest::new(KEY_EPOCH + 1, x).expect("request"),
        Error::LookupMismatch,
    );
}

fn suite_cases(f: &mut FileBuilder, run: &Run) {
    let discovery = |p: &DiscoveryParameters| json!({ "relayKey": h(relay_key()), "discoveryParameters": h(p.to_bytes()), "now": NOW, "generationMark": h(UNSEEN) });
    // VerifiedOracle::request against parameters naming another oracle or epoch.
    let other_oracle = IdentityKeyPair::from_seed(&[0x34; 32]).public().signing;
    for (p, comment, flags, err) in [
        (
            ch2_params(OracleBinding {
                oracle_key: other_oracle,
                key_epoch: KEY_EPOCH,
            }),
            "relay parameters naming another oracle key (same key epoch)",
            &["KeyEpoch"][..],
            Error::LookupMismatch,
        ),
        (
            ch2_params(OracleBinding {
                oracle_key: oracle_key(),
                key_epoch: KEY_EPOCH + 1,
            }),
            "relay parameters naming the pinned oracle at key epoch 4",
            &["KeyEpoch"][..],
            Error::LookupMismatch,
        ),
        (
            ch1_params(),
            "ch1 relay parameters (no oracle)",
            &["SuiteMismatch"][..],
            Error::LookupMismatch,
        ),
    ] {
        let mut c = discovery(&p);
        c["oracleKey"] = h(oracle_key());
        c["oracleParameters"] = h(run.oracle.to_bytes());
        c["contactIds"] = hexes(&run.contacts);
        c["blinds"] = hexes(&run.blinds);
        let got = oprf_request_of(&c).expect("case");
        assert_eq!(got.map(drop), Err(err), "{comment}");
        f.invalid("oprf-request-discovery", comment, flags, c, err);
    }
    // Lookups and registrations of the other suite's ids.
    let ch2 = ch2_params(binding());
    let ch1 = ch1_params();
    let v2 = verify_discovery(&ch2.to_bytes(), &relay_key(), NOW).expect("v2");
    let v1 = verify_discovery(&ch1.to_bytes(), &relay_key(), NOW).expect("v1");
    let secret: [u8; 32] = fill(&mut rng("ch2 client secret"));
    let ch1_ids: Vec<ContactId> = run
        .contacts
        .iter()
        .map(|c| ContactId::from_bytes(*c))
        .collect();
    let ch2_ids: Vec<Ch2Id> = run
        .contacts
        .iter()
        .map(|c| {
            OracleKey::derive(&ORACLE_SEED, KEY_EPOCH)
                .expect("key")
                .evaluate_unblinded(&ContactId::from_bytes(*c))
                .expect("id")
        })
        .collect();
    let misuse = Error::ApiMisuse {
        reason: "ids of another discovery suite than the relay's parameters",
    };
    let s = DiscoverySecret::from_bytes(&secret);
    for (op, params, comment) in [
        (
            "lookup.batch",
            &ch2,
            "lookup_batch of ch1 ids under ch2 parameters",
        ),
        (
            "ch2.lookup_batch",
            &ch1,
            "lookup_batch of ch2 ids under ch1 parameters",
        ),
        (
            "discovery.register",
            &ch2,
            "register_discoverable of a ch1 id under ch2 parameters",
        ),
        (
            "ch2.register",
            &ch1,
            "register_discoverable of a ch2 id under ch1 parameters",
        ),
    ] {
        let v = if params.oracle().is_some() { &v2 } else { &v1 };
        let got = match op {
            "lookup.batch" => v.lookup_batch(&s, &ch1_ids).map(drop),
            "ch2.lookup_batch" => v.lookup_batch(&s, &ch2_ids).map(drop),
            "discovery.register" => v.register_discoverable(&ch1_ids[0], RECORD).map(drop),
            _ => v.register_discoverable(&ch2_ids[0], RECORD).map(drop),
        };
        assert_eq!(got, Err(misuse), "{comment}");
        let mut c = discovery(params);
        c["op"] = json!(op);
        c["clientSecret"] = h(secret);
        c["record"] = h(RECORD);
        if op.starts_with("ch2.") {
            c["ch2Ids"] = Value::Array(ch2_ids.iter().map(|i| h(i.as_bytes())).collect());
        } else {
            c["contactIds"] = hexes(&run.contacts);
        }
        f.invalid("ch2-suite-misuse", comment, &["SuiteMismatch"], c, misuse);
    }
    // The relay's check of a request against its parameters.
    let b = BucketBits::new(BITS).expect("b");
    let prefixes: Vec<u32> = (0..16).map(|i| i * 7).collect();
    let req2 = LookupRequest::new_in(
        blindrelay::contact::Suite::Ch2,
        KEY_EPOCH,
        b,
        prefixes.clone(),
    )
    .expect("ch2 request");
    let req1 = LookupRequest::new(KEY_EPOCH, b, prefixes).expect("ch1 request");
    assert_eq!(ch2.check_request(&req2), Ok(()));
    f.valid(
        "ch2-lookup-check",
        "a suite 0x02 lookup request checked against the ch2 parameters it was made under",
        json!({ "discoveryParameters": h(ch2.to_bytes()), "lookupRequest": h(req2.to_bytes()) }),
    );
    for (p, r, comment) in [
        (&ch2, &req1, "a ch1 (suite 0x01) lookup request checked against ch2 parameters of the same salt generation and bucket bits"),
        (&ch1, &req2, "a ch2 (suite 0x02) lookup request checked against ch1 parameters of the same salt generation and bucket bits"),
    ] {
        assert_eq!(p.check_request(r), Err(Error::LookupMismatch));
        f.invalid(
            "ch2-lookup-check",
            comment,
            &["SuiteMismatch"],
            json!({ "discoveryParameters": h(p.to_bytes()), "lookupRequest": h(r.to_bytes()) }),
            Error::LookupMismatch,
        );
    }
    // A ch2 registration filed by ch1 parameters, and the converse.
    let reg2 = Registration::new_in(
        blindrelay::contact::Suite::Ch2,
        KEY_EPOCH,
        *ch2_ids[0].as_bytes(),
        RECORD,
    )
    .expect("reg");
    let reg1 = Registration::new(KEY_EPOCH, run.contacts[0], RECORD).expect("reg");
    for (p, r, comment) in [
        (
            &ch2,
            &reg1,
            "a ch1 registration (suite 0x01) filed under ch2 parameters",
        ),
        (
            &ch1,
            &reg2,
            "a ch2 registration (suite 0x02) filed under ch1 parameters",
        ),
    ] {
        assert_eq!(p.bucket_entry(r).map(drop), Err(Error::LookupMismatch));
        f.invalid(
            "ch2-registration-check",
            comment,
            &["SuiteMismatch"],
            json!({ "discoveryParameters": h(p.to_bytes()), "registration": h(r.to_bytes()) }),
            Error::LookupMismatch,
        );
    }
}

/// `VerifiedOracle::request` of a case (spec §13.4 steps 1 to 3) with its explicit blinds:
/// the outer error is a malformed case, the inner one the library's refusal.
fn oprf_request_of(case: &Value) -> Result<Result<OprfRequest, Error>, String> {
    let contacts: Vec<ContactId> = list32(case, "contactIds")?
        .into_iter()
        .map(ContactId::from_bytes)
        .collect();
    let blinds = list32(case, "blinds")?;
    let now = uint(case, "now")?;
    let (discovery, relay_key) = (bytes(case, "discoveryParameters")?, arr(case, "relayKey")?);
    let (oracle, oracle_key) = (bytes(case, "oracleParameters")?, arr(case, "oracleKey")?);
    Ok((|| {
        let v = verify_discovery(&discovery, &relay_key, now)?;
        let vo = verify_oracle(&oracle, &oracle_key, now)?;
        let mut tape = ScalarTape::new(&blinds);
        let (_, req) = vo.request(&mut tape, &v, &contacts)?;
        Ok(req)
    })())
}

fn verify_rfc(case: &Value) -> Result<(), String> {
    let seed = bytes(case, "seed")?;
    let info = bytes(case, "keyInfo")?;
    // Independently: skS, pkS, blinds, evaluations, proof, outputs.
    let sk = rfc9497::derive_key(&seed, &info);
    expect_eq(case, "skSm", sk.to_bytes())?;
    expect_eq(case, "pkSm", rfc9497::public_key(&sk))?;
    let inputs = list_bytes(case, "inputs")?;
    let blinds = list32(case, "blinds")?;
    let blinded: Vec<[u8; 32]> = inputs
        .iter()
        .zip(&blinds)
        .map(|(x, r)| rfc9497::blind(x, &rfc9497::scalar(r)))
        .collect();
    if list32(case, "blindedElements")? != blinded {
        return Err("independent Blind differs".into());
    }
    let evaluated: Vec<[u8; 32]> = blinded.iter().map(|b| rfc9497::evaluate(&sk, b)).collect();
    if list32(case, "evaluationElements")? != evaluated {
        return Err("independent BlindEvaluate differs".into());
    }
    let r = rfc9497::scalar(&arr(case, "proofRandomScalar")?);
    expect_eq(case, "proof", rfc9497::proof(&sk, &blinded, &evaluated, &r))?;
    let outputs: Vec<Vec<u8>> = inputs
        .iter()
        .zip(&blinds)
        .zip(&evaluated)
        .map(|((x, b), z)| rfc9497::finalize(x, &rfc9497::scalar(b), z).to_vec())
        .collect();
    if list_bytes(case, "outputs")? != outputs {
        return Err("independent Finalize differs".into());
    }
    // Through blindrelay.
    let key = hazmat::oprf_oracle_key_with_info(&seed, &info, 0).map_err(e)?;
    expect_eq(case, "pkSm", key.public_key().to_bytes())?;
    let from_sk = hazmat::oprf_oracle_key_from_scalar(&arr(case, "skSm")?, 0).map_err(e)?;
    expect_eq(case, "pkSm", from_sk.public_key().to_bytes())?;
    let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let (state, b) = hazmat::oprf_blind_with(&refs, &blinds).map_err(e)?;
    if b.iter().map(|x| x.to_bytes()).collect::<Vec<_>>() != blinded {
        return Err("blindrelay's Blind differs".into());
    }
    let ev = hazmat::oprf_evaluate_with_proof_scalar(&key, &b, &arr(case, "proofRandomScalar")?)
        .map_err(e)?;
    if ev.elements.iter().map(|x| x.to_bytes()).collect::<Vec<_>>() != evaluated {
        return Err("blindrelay's BlindEvaluate differs".into());
    }
    expect_eq(case, "proof", ev.proof)?;
    let wire = Evaluation {
        elements: list32(case, "evaluationElements")?
            .iter()
            .map(EvaluatedElement::from_bytes)
            .collect::<Result<_, _>>()
            .map_err(e)?,
        proof: arr(case, "proof")?,
    };
    let pk = OraclePublicKey::from_bytes(arr(case, "pkSm")?).map_err(e)?;
    let outs = hazmat::oprf_finalize_outputs(state, &pk, &wire).map_err(e)?;
    if outs.iter().map(|o| o.to_vec()).collect::<Vec<_>>() != outputs {
        return Err("blindrelay's Finalize differs".into());
    }
    Ok(())
}

fn discovery_fields_match(case: &Value, v: &VerifiedDiscovery) -> Result<(), String> {
    let p = v.params();
    let o = p.oracle().ok_or("ch2 parameters without an oracle")?;
    expect_eq(case, "oracleKey", o.oracle_key)?;
    for (key, got) in [
        ("keyEpoch", u64::from(o.key_epoch)),
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
    expect_eq(case, "saltNonce", p.salt_nonce())?;
    expect_eq(case, "signatureInput", p.signature_input())?;
    expect_eq(case, "salt", v.salt().0)?;
    let again = DiscoveryParameters::sign_ch2(
        &IdentityKeyPair::from_seed(&arr(case, "relayIdentitySeed")?),
        p.salt_generation(),
        &SaltNonce(*p.salt_nonce()),
        p.bucket_bits(),
        p.max_size_class(),
        o,
        (p.issued_at(), p.expires_at()),
    )
    .map_err(e)?;
    expect_eq(case, "discoveryParameters", again.to_bytes())
}

fn verify_evaluation(case: &Value) -> Result<(), String> {
    let now = uint(case, "now")?;
    let params = bytes(case, "discoveryParameters")?;
    if params.len() != 158 {
        return Err("ch2 discovery parameters are not 158 bytes".into());
    }
    let v = verify_discovery(&params, &arr(case, "relayKey")?, now).map_err(e)?;
    discovery_fields_match(case, &v)?;
    // The oracle.
    let oracle_seed: [u8; 32] = arr(case, "oracleSeed")?;
    let epoch = u32_of(case, "keyEpoch")?;
    let key = OracleKey::derive(&oracle_seed, epoch).map_err(e)?;
    let identity = IdentityKeyPair::from_seed(&arr(case, "oracleIdentitySeed")?);
    expect_eq(case, "oracleKey", identity.public().signing)?;
    let op = OracleParameters::sign(
        &identity,
        &key,
        uint(case, "oracleIssuedAt")?,
        uint(case, "oracleExpiresAt")?,
    )
    .map_err(e)?;
    expect_eq(case, "oracleParameters", op.to_bytes())?;
    expect_eq(case, "oracleSignatureInput", op.signature_input())?;
    let vo = verify_oracle(
        &bytes(case, "oracleParameters")?,
        &arr(case, "oracleKey")?,
        now,
    )
    .map_err(e)?;
    expect_eq(case, "oraclePublicKey", vo.public_key().to_bytes())?;
    // The ch1 ids, from the numbers under the relay's salt.
    let numbers: Vec<String> = case["e164"]
        .as_array()
        .ok_or("missing e164")?
        .iter()
        .map(|n| n.as_str().map(str::to_string).ok_or("e164 not a string"))
        .collect::<Result<_, _>>()?;
    let ids = ch1_ids(&v, &numbers).map_err(e)?;
    let contacts = list32(case, "contactIds")?;
    if ids.iter().map(|c| *c.as_bytes()).collect::<Vec<_>>() != contacts {
        return Err("the ch1 ids differ".into());
    }
    // The request, through the normal API with the explicit blinds, and its wrapper.
    let request = oprf_request_of(case)?.map_err(e)?;
    expect_eq(case, "oprfRequest", request.to_bytes())?;
    let decoded = OprfRequest::decode_exact(&bytes(case, "oprfRequest")?).map_err(e)?;
    if decoded.blinded() != list32(case, "blindedElements")?.as_slice() {
        return Err("blindedElements differ".into());
    }
    let blinds = list32(case, "blinds")?;
    let refs: Vec<&[u8]> = contacts.iter().map(|c| c.as_slice()).collect();
    let (_, b) = hazmat::oprf_blind_with(&refs, &blinds).map_err(e)?;
    if b.iter().map(|x| x.to_bytes()).collect::<Vec<_>>() != decoded.blinded() {
        return Err("the request's elements are not Blind(contact, blind)".into());
    }
    let capability: [u8; 32] = arr(case, "capability")?;
    expect_eq(
        case,
        "oprfRelayRequest",
        relay_request_encode(&capability, &decoded),
    )?;
    let (cap, inner) = relay_request_decode(&bytes(case, "oprfRelayRequest")?).map_err(e)?;
    if cap != capability || inner != decoded {
        return Err("the 0x30 wrapper decodes to something else".into());
    }
    // The oracle's answer with the explicit proof scalar.
    let r: [u8; 32] = arr(case, "proofRandomScalar")?;
    let mut tape = ScalarTape::new(&[r]);
    let response = key.answer(&mut tape, &decoded).map_err(e)?;
    expect_eq(case, "oprfResponse", response.to_bytes())?;
    let decoded_resp = OprfResponse::decode_exact(&bytes(case, "oprfResponse")?).map_err(e)?;
    if decoded_resp.evaluated() != list32(case, "evaluationElements")?.as_slice() {
        return Err("evaluationElements differ".into());
    }
    expect_eq(case, "proof", decoded_resp.proof())?;
    // Independently: the evaluation and the proof.
    let sk = rfc9497::derive_key(&oracle_seed, &oracle_key_info(epoch));
    let indep: Vec<[u8; 32]> = decoded
        .blinded()
        .iter()
        .map(|b| rfc9497::evaluate(&sk, b))
        .collect();
    if indep != decoded_resp.evaluated() {
        return Err("independent BlindEvaluate differs".into());
    }
    expect_eq(
        case,
        "proof",
        rfc9497::proof(&sk, decoded.blinded(), &indep, &rfc9497::scalar(&r)),
    )?;
    // Finalize: outputs and ch2 ids.
    let ch2 = finalize_response(
        &bytes(case, "oracleParameters")?,
        &arr(case, "oracleKey")?,
        now,
        &contacts,
        &blinds,
        &bytes(case, "oprfResponse")?,
    )
    .map_err(e)?;
    let want_ids = list32(case, "ch2Ids")?;
    if ch2.iter().map(|i| *i.as_bytes()).collect::<Vec<_>>() != want_ids {
        return Err("ch2Ids differ".into());
    }
    let outputs = list_bytes(case, "outputs")?;
    for (((x, b), z), (out, id)) in contacts
        .iter()
        .zip(&blinds)
        .zip(decoded_resp.evaluated())
        .zip(outputs.iter().zip(&want_ids))
    {
        if rfc9497::finalize(x, &rfc9497::scalar(b), z).as_slice() != out.as_slice() {
            return Err("independent Finalize differs".into());
        }
        if &independent_ch2_id(out, epoch) != id {
            return Err("a ch2 id is not HKDF(output, epoch)".into());
        }
        if key
            .evaluate_unblinded(&ContactId::from_bytes(*x))
            .map_err(e)?
            .as_bytes()
            != id
        {
            return Err("a ch2 id differs from the unblinded evaluation".into());
        }
    }
    // Discovery with the ch2 ids.
    let secret = DiscoverySecret::from_bytes(&arr(case, "clientSecret")?);
    let requests = v.lookup_batch(&secret, &ch2).map_err(e)?;
    let want: Vec<Vec<u8>> = list_bytes(case, "lookupRequests")?;
    if requests.iter().map(Encode::to_bytes).collect::<Vec<_>>() != want {
        return Err("lookupRequests differ".into());
    }
    let req = LookupRequest::decode_exact(&bytes(case, "lookupRequest")?).map_err(e)?;
    if !requests.contains(&req) || req.suite() != blindrelay::contact::Suite::Ch2 {
        return Err("lookupRequest is not a ch2 request of the batch".into());
    }
    let mut store: std::collections::BTreeMap<u32, Vec<BucketEntry>> = Default::default();
    for reg in case["registrations"]
        .as_array()
        .ok_or("missing registrations")?
    {
        let id = Ch2Id::from_bytes(arr(reg, "ch2Id")?);
        let built = v
            .register_discoverable(&id, &bytes(reg, "record")?)
            .map_err(e)?;
        expect_eq(reg, "registration", built.to_bytes())?;
        let decoded = Registration::decode_exact(&bytes(reg, "registration")?).map_err(e)?;
        let (prefix, entry) = v.params().bucket_entry(&decoded).map_err(e)?;
        store.entry(prefix).or_default().push(entry);
    }
    let resp = v
        .params()
        .answer(&req, |p| store.get(&p).cloned().unwrap_or_default())
        .map_err(e)?;
    expect_eq(case, "lookupResponse", resp.to_bytes())?;
    let decoded = LookupResponse::decode_exact(&bytes(case, "lookupResponse")?).map_err(e)?;
    let matches: Vec<Value> = v
        .match_response(&req, &decoded, &ch2)
        .map_err(e)?
        .iter()
        .map(|m| json!({ "contact": m.contact, "records": m.records.iter().map(h).collect::<Vec<_>>() }))
        .collect();
    if Value::Array(matches) != case["matches"] {
        return Err("matches differ".into());
    }
    Ok(())
}

pub fn verify(case: &Value) -> Result<(), String> {
    let valid = is_valid(case);
    match kind(case)?.as_str() {
        "rfc9497-voprf" => verify_rfc(case),
        "ch2-oracle-key" => {
            let seed: [u8; 32] = arr(case, "oracleSeed")?;
            let epoch = u32_of(case, "keyEpoch")?;
            let info = oracle_key_info(epoch);
            expect_eq(case, "info", &info)?;
            let mut literal = b"blindrelay v1 ch2 oracle key\x00".to_vec();
            literal.extend_from_slice(&epoch.to_be_bytes());
            expect_eq(case, "info", literal)?;
            let sk = rfc9497::derive_key(&seed, &info);
            expect_eq(case, "secretKey", sk.to_bytes())?;
            expect_eq(case, "publicKey", rfc9497::public_key(&sk))?;
            let key = OracleKey::derive(&seed, epoch).map_err(e)?;
            expect_eq(case, "publicKey", key.public_key().to_bytes())?;
            let from_sk =
                hazmat::oprf_oracle_key_from_scalar(&arr(case, "secretKey")?, epoch).map_err(e)?;
            expect_eq(case, "publicKey", from_sk.public_key().to_bytes())
        }
        "ch2-id" => {
            let seed: [u8; 32] = arr(case, "oracleSeed")?;
            let epoch = u32_of(case, "keyEpoch")?;
            let key = OracleKey::derive(&seed, epoch).map_err(e)?;
            expect_eq(case, "publicKey", key.public_key().to_bytes())?;
            let contact: [u8; 32] = arr(case, "contactId")?;
            let blind: [u8; 32] = arr(case, "blind")?;
            let r: [u8; 32] = arr(case, "proofRandomScalar")?;
            let (state, blinded) =
                hazmat::oprf_blind_with(&[contact.as_slice()], &[blind]).map_err(e)?;
            expect_eq(case, "blindedElement", blinded[0].to_bytes())?;
            let ev = hazmat::oprf_evaluate_with_proof_scalar(&key, &blinded, &r).map_err(e)?;
            expect_eq(case, "evaluationElement", ev.elements[0].to_bytes())?;
            expect_eq(case, "proof", ev.proof)?;
            let ids = state.finalize(&key.public_key(), epoch, &ev).map_err(e)?;
            expect_eq(case, "ch2Id", ids[0].as_bytes())?;
            let (state, _) = hazmat::oprf_blind_with(&[contact.as_slice()], &[blind]).map_err(e)?;
            let outs = hazmat::oprf_finalize_outputs(state, &key.public_key(), &ev).map_err(e)?;
            expect_eq(case, "output", *outs[0])?;
            // Independently.
            let sk = rfc9497::derive_key(&seed, &oracle_key_info(epoch));
            let rs = rfc9497::scalar(&blind);
            let b = rfc9497::blind(&contact, &rs);
            let z = rfc9497::evaluate(&sk, &b);
            expect_eq(case, "evaluationElement", z)?;
            expect_eq(
                case,
                "proof",
                rfc9497::proof(&sk, &[b], &[z], &rfc9497::scalar(&r)),
            )?;
            let out = rfc9497::finalize(&contact, &rs, &z);
            expect_eq(case, "output", out)?;
            expect_eq(case, "info", ch2_id_info(epoch))?;
            expect_eq(case, "ch2Id", independent_ch2_id(&out, epoch))?;
            let unblinded = key
                .evaluate_unblinded(&ContactId::from_bytes(contact))
                .map_err(e)?;
            expect_eq(case, "ch2Id", unblinded.as_bytes())?;
            expect_eq(case, "matchTag", MatchTag::of(&unblinded).0)?;
            if case["prefixes"] != prefixes(&unblinded) {
                return Err("bucket prefixes differ".into());
            }
            Ok(())
        }
        "ch2-evaluation" => verify_evaluation(case),
        "ch2-discovery-parameters" => expect_error(
            case,
            verify_discovery(
                &bytes(case, "discoveryParameters")?,
                &arr(case, "relayKey")?,
                uint(case, "now")?,
            ),
        ),
        "oracle-parameters" => {
            let r = verify_oracle(
                &bytes(case, "oracleParameters")?,
                &arr(case, "oracleKey")?,
                uint(case, "now")?,
            );
            if !valid {
                return expect_error(case, r);
            }
            let vo = r.map_err(e)?;
            expect_eq(case, "publicKey", vo.public_key().to_bytes())?;
            if uint(case, "keyEpoch")? != u64::from(vo.key_epoch()) {
                return Err("keyEpoch differs".into());
            }
            let p = OracleParameters::decode_exact(&bytes(case, "oracleParameters")?).map_err(e)?;
            if uint(case, "issuedAt")? != p.issued_at()
                || uint(case, "expiresAt")? != p.expires_at()
            {
                return Err("the window differs".into());
            }
            if case.get("oracleSeed").is_some() {
                let key =
                    OracleKey::derive(&arr(case, "oracleSeed")?, vo.key_epoch()).map_err(e)?;
                let again = OracleParameters::sign(
                    &IdentityKeyPair::from_seed(&arr(case, "oracleIdentitySeed")?),
                    &key,
                    p.issued_at(),
                    p.expires_at(),
                )
                .map_err(e)?;
                expect_eq(case, "oracleParameters", again.to_bytes())?;
                expect_eq(case, "signatureInput", again.signature_input())?;
            }
            Ok(())
        }
        "oprf-request" => {
            let r = OprfRequest::decode_exact(&bytes(case, "oprfRequest")?);
            if !valid {
                return expect_error(case, r);
            }
            let r = r.map_err(e)?;
            expect_eq(case, "oprfRequest", r.to_bytes())?;
            if r.blinded() != list32(case, "blindedElements")?.as_slice()
                || uint(case, "keyEpoch")? != u64::from(r.key_epoch())
            {
                return Err("decoded fields differ".into());
            }
            Ok(())
        }
        "oprf-response" => {
            let r = OprfResponse::decode_exact(&bytes(case, "oprfResponse")?);
            if !valid {
                return expect_error(case, r);
            }
            let r = r.map_err(e)?;
            expect_eq(case, "oprfResponse", r.to_bytes())?;
            expect_eq(case, "proof", r.proof())?;
            if r.evaluated() != list32(case, "evaluationElements")?.as_slice()
                || uint(case, "keyEpoch")? != u64::from(r.key_epoch())
            {
                return Err("decoded fields differ".into());
            }
            Ok(())
        }
        "oprf-relay-request" => {
            let r = relay_request_decode(&bytes(case, "oprfRelayRequest")?);
            if !valid {
                return expect_error(case, r);
            }
            let (cap, req) = r.map_err(e)?;
            expect_eq(case, "capability", cap)?;
            expect_eq(case, "oprfRequest", req.to_bytes())?;
            expect_eq(case, "oprfRelayRequest", relay_request_encode(&cap, &req))
        }
        "oprf-finalize" => expect_error(
            case,
            finalize_response(
                &bytes(case, "oracleParameters")?,
                &arr(case, "oracleKey")?,
                uint(case, "now")?,
                &list32(case, "contactIds")?,
                &list32(case, "blinds")?,
                &bytes(case, "oprfResponse")?,
            ),
        ),
        "oracle-answer" => {
            let key = OracleKey::derive(&arr(case, "oracleSeed")?, u32_of(case, "keyEpoch")?)
                .map_err(e)?;
            let mut tape = ScalarTape::new(&[arr(case, "proofRandomScalar")?]);
            let request = OprfRequest::decode_exact(&bytes(case, "oprfRequest")?).map_err(e)?;
            expect_error(case, key.answer(&mut tape, &request))
        }
        "oprf-request-discovery" => expect_error(case, oprf_request_of(case)?),
        "ch2-suite-misuse" => {
            let v = verify_discovery(
                &bytes(case, "discoveryParameters")?,
                &arr(case, "relayKey")?,
                uint(case, "now")?,
            )
            .map_err(e)?;
            let secret = DiscoverySecret::from_bytes(&arr(case, "clientSecret")?);
            let record = bytes(case, "record")?;
            let ch1 = || -> Result<Vec<ContactId>, String> {
                Ok(list32(case, "contactIds")?
                    .into_iter()
                    .map(ContactId::from_bytes)
                    .collect())
            };
            let ch2 = || -> Result<Vec<Ch2Id>, String> {
                Ok(list32(case, "ch2Ids")?
                    .into_iter()
                    .map(Ch2Id::from_bytes)
                    .collect())
            };
            let first = |n: usize| {
                if n == 0 {
                    Err("no ids".to_string())
                } else {
                    Ok(())
                }
            };
            let r = match string(case, "op")?.as_str() {
                "lookup.batch" => v.lookup_batch(&secret, &ch1()?).map(drop),
                "ch2.lookup_batch" => v.lookup_batch(&secret, &ch2()?).map(drop),
                "discovery.register" => {
                    let ids = ch1()?;
                    first(ids.len())?;
                    v.register_discoverable(&ids[0], &record).map(drop)
                }
                "ch2.register" => {
                    let ids = ch2()?;
                    first(ids.len())?;
                    v.register_discoverable(&ids[0], &record).map(drop)
                }
                other => return Err(format!("unknown op {other}")),
            };
            expect_error(case, r)
        }
        "ch2-lookup-check" => {
            let p = DiscoveryParameters::decode_exact(&bytes(case, "discoveryParameters")?)
                .map_err(e)?;
            let req = LookupRequest::decode_exact(&bytes(case, "lookupRequest")?).map_err(e)?;
            if valid {
                return p.check_request(&req).map_err(e);
            }
            expect_error(case, p.check_request(&req))
        }
        "ch2-registration-check" => {
            let p = DiscoveryParameters::decode_exact(&bytes(case, "discoveryParameters")?)
                .map_err(e)?;
            let reg = Registration::decode_exact(&bytes(case, "registration")?).map_err(e)?;
            expect_error(case, p.bucket_entry(&reg))
        }
        other => Err(format!("unknown kind {other}")),
    }
}
