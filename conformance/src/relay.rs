//! `relay.json`: the relay API (spec §12).
//!
//! - `encoding`: every message type `0x20`–`0x2F`, its fields as JSON and its exact bytes.
//!   The bytes are built here from the fields by the layouts of §12 (`layout`, without the
//!   core's encoders); the core decodes them, gives back the same fields and re-encodes them
//!   byte for byte.
//! - `publish-check`, `claim-verify`, `upload-verify`: the core's checks
//!   (`PublishRequest::check`, `ClaimResponse::verify`, `UploadKeysRequest::verify_keys`).
//! - `mailbox-id`: a capability and its mailbox, from the spec's formula.
//! - `decode-negative`: bytes that must fail to decode as a given type.
//! - `relay-transcript`: a scripted run against a fresh relay with a fixed clock: every request
//!   and the exact expected status and response, computed here from the core's types.

use crate::party;
use crate::util::*;
use blindrelay::codec::{Decode, Encode};
use blindrelay::contact::{LookupRequest, Registration};
use blindrelay::envelope::RelayEnvelope;
use blindrelay::keys::{
    KemPrekeySecret, OneTimeKemPrekeySecret, OneTimePrekeySecret, SealingKeySecret,
    SignedPrekeySecret,
};
use blindrelay::relay::{
    AckRequest, ClaimRequest, ClaimResponse, CountResponse, Delivery, ErrorResponse, FetchRequest,
    FetchResponse, FetchedEnvelope, OwnerRequest, OwnerRequestKind, Publication, PublishRequest,
    RegisterRequest, SubscribeRequest, UploadKeysRequest, MAX_CLOCK_SKEW_SECS,
    MAX_PUBLICATION_LIFETIME_SECS, PUBLICATION_LABEL,
};
use blindrelay::route::ReadCapability;
use blindrelay::wire::{KemPrekeyPublic, X25519PrekeyPublic};
use blindrelay::{
    initiate, BundleKeys, Error, IdentityKeyPair, IdentityPublicKey, PrekeyBundle, Session,
};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The fixed clock of the transcript (`BLINDRELAY_CLOCK`) and of the checks: 2027-01-15.
pub const CLOCK: u64 = 1_800_000_000;
const DAY: u64 = 24 * 3600;

const MAILBOX_ID_LABEL: &[u8] = b"blindrelay v1 mailbox id";

fn mailbox_spec(capability: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(MAILBOX_ID_LABEL);
    h.update(capability);
    h.finalize().into()
}

/// A bundle owner: identity (from a seed, so publications with any window can be signed
/// here), the read capability of its public mailbox, and its bundle naming that mailbox.
struct Owner {
    seed: [u8; 32],
    identity: IdentityKeyPair,
    capability: [u8; 32],
    bundle: PrekeyBundle,
}

impl Owner {
    fn new(r: &mut ChaCha20Rng) -> Self {
        let seed = fill::<32>(r);
        let identity = IdentityKeyPair::from_seed(&seed);
        let capability = fill::<32>(r);
        let sealing = SealingKeySecret::from_bytes(fill::<32>(r));
        let spk = SignedPrekeySecret::from_bytes(fill::<32>(r));
        let kpk = KemPrekeySecret::from_bytes(fill::<64>(r));
        let bundle = PrekeyBundle::create(&BundleKeys {
            identity: &identity,
            mailbox: mailbox_spec(&capability),
            sealing: &sealing,
            signed_prekey: (1, &spk),
            kem_prekey: (2, &kpk),
            one_time_prekey: None,
            one_time_kem_prekey: None,
        });
        Self {
            seed,
            identity,
            capability,
            bundle,
        }
    }

    fn cap(&self) -> ReadCapability {
        ReadCapability::from_bytes(self.capability)
    }

    fn mailbox(&self) -> [u8; 32] {
        self.bundle.mailbox
    }

    fn publication(&self, issued_at: u64, expires_at: u64) -> Publication {
        Publication::create(&self.identity, &self.bundle, issued_at, expires_at)
            .expect("a valid window")
    }

    /// A publication signed here from the spec's formula, with any window (also the ones
    /// `Publication::create` refuses to make).
    fn publication_raw(&self, issued_at: u64, expires_at: u64) -> Publication {
        let bundle = self.bundle.to_bytes();
        let mut input = PUBLICATION_LABEL.to_vec();
        input.extend_from_slice(&issued_at.to_be_bytes());
        input.extend_from_slice(&expires_at.to_be_bytes());
        input.extend_from_slice(&bundle);
        let (ed, _) = blindrelay::hazmat::identity_secrets(&self.seed);
        let sig =
            blindrelay::crypto::sig::sign(&blindrelay::hazmat::ed25519_signing_key(&ed), &input);
        let bytes = publication_layout(issued_at, expires_at, &bundle, &sig);
        Publication::decode_exact(&bytes).expect("decodes")
    }

    fn one_time(&self, r: &mut ChaCha20Rng, id: u32) -> (X25519PrekeyPublic, KemPrekeyPublic) {
        let x = OneTimePrekeySecret::from_bytes(fill::<32>(r));
        let k = OneTimeKemPrekeySecret::from_bytes(fill::<64>(r));
        (
            X25519PrekeyPublic::sign_one_time(&self.identity, id, &x),
            KemPrekeyPublic::sign_one_time(&self.identity, id + 1000, &k),
        )
    }
}

// ---------------------------------------------------------------------------------------
// The layouts of §12, from JSON fields (independent of the core's encoders).

fn u8_of(v: &Value, key: &str) -> Result<u8, String> {
    u8::try_from(uint(v, key)?).map_err(|_| format!("`{key}` out of range"))
}
fn u16_of(v: &Value, key: &str) -> Result<u16, String> {
    u16::try_from(uint(v, key)?).map_err(|_| format!("`{key}` out of range"))
}
fn u32_of(v: &Value, key: &str) -> Result<u32, String> {
    u32::try_from(uint(v, key)?).map_err(|_| format!("`{key}` out of range"))
}
fn list<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("missing array `{key}`"))
}

fn publication_layout(issued_at: u64, expires_at: u64, bundle: &[u8], sig: &[u8]) -> Vec<u8> {
    let mut out = vec![0x01, 0x20];
    out.extend_from_slice(&issued_at.to_be_bytes());
    out.extend_from_slice(&expires_at.to_be_bytes());
    out.extend_from_slice(&u32::try_from(bundle.len()).expect("short").to_be_bytes());
    out.extend_from_slice(bundle);
    out.extend_from_slice(sig);
    out
}

/// `id (u32) || key || signature [64]`.
fn key_record(out: &mut Vec<u8>, v: &Value) -> Result<(), String> {
    out.extend_from_slice(&u32_of(v, "id")?.to_be_bytes());
    out.extend_from_slice(&bytes(v, "key")?);
    out.extend_from_slice(&arr::<64>(v, "signature")?);
    Ok(())
}

/// The encoding of message type `ty` with fields `f`, as spec §12 lays it out.
fn layout(ty: u8, f: &Value) -> Result<Vec<u8>, String> {
    let mut out = vec![0x01, ty];
    match ty {
        0x20 => {
            return Ok(publication_layout(
                uint(f, "issuedAt")?,
                uint(f, "expiresAt")?,
                &bytes(f, "bundle")?,
                &arr::<64>(f, "signature")?,
            ))
        }
        0x21 => {
            out.extend_from_slice(&arr::<32>(f, "capability")?);
            out.extend_from_slice(&bytes(f, "publication")?);
        }
        0x22 => {
            out.extend_from_slice(&arr::<32>(f, "capability")?);
            for kind in ["x25519", "kem"] {
                let keys = list(f, kind)?;
                out.extend_from_slice(
                    &u16::try_from(keys.len())
                        .map_err(|_| "count")?
                        .to_be_bytes(),
                );
                for k in keys {
                    key_record(&mut out, k)?;
                }
            }
        }
        0x23..=0x25 => out.extend_from_slice(&arr::<32>(f, "capability")?),
        0x26 => out.extend_from_slice(&arr::<32>(f, "mailbox")?),
        0x27 => {
            out.extend_from_slice(&bytes(f, "publication")?);
            let (x, k) = (&f["oneTimePrekey"], &f["oneTimeKemPrekey"]);
            out.push(u8::from(!x.is_null()) | (u8::from(!k.is_null()) << 1));
            for key in [x, k] {
                if !key.is_null() {
                    key_record(&mut out, key)?;
                }
            }
        }
        0x28 => {
            out.extend_from_slice(&u32_of(f, "x25519")?.to_be_bytes());
            out.extend_from_slice(&u32_of(f, "kem")?.to_be_bytes());
        }
        0x29 => {
            out.extend_from_slice(&arr::<32>(f, "capability")?);
            out.extend_from_slice(&uint(f, "after")?.to_be_bytes());
            out.extend_from_slice(&u16_of(f, "limit")?.to_be_bytes());
        }
        0x2A => {
            let envs = list(f, "envelopes")?;
            out.extend_from_slice(
                &u16::try_from(envs.len())
                    .map_err(|_| "count")?
                    .to_be_bytes(),
            );
            for e in envs {
                out.extend_from_slice(&uint(e, "seq")?.to_be_bytes());
                let env = bytes(e, "envelope")?;
                out.extend_from_slice(&u32::try_from(env.len()).map_err(|_| "len")?.to_be_bytes());
                out.extend_from_slice(&env);
            }
            let more = f["more"].as_bool().ok_or("missing bool `more`")?;
            out.push(u8::from(more));
        }
        0x2B => {
            out.extend_from_slice(&arr::<32>(f, "capability")?);
            out.extend_from_slice(&uint(f, "upTo")?.to_be_bytes());
        }
        0x2C => {
            let caps = list(f, "capabilities")?;
            out.push(u8::try_from(caps.len()).map_err(|_| "count")?);
            for c in caps {
                let c = hex::decode(c.as_str().ok_or("capability")?).map_err(|e| e.to_string())?;
                out.extend_from_slice(&c);
            }
        }
        0x2D => {
            out.extend_from_slice(&arr::<32>(f, "mailbox")?);
            out.extend_from_slice(&uint(f, "seq")?.to_be_bytes());
            let env = bytes(f, "envelope")?;
            out.extend_from_slice(&u32::try_from(env.len()).map_err(|_| "len")?.to_be_bytes());
            out.extend_from_slice(&env);
        }
        0x2E => {
            out.extend_from_slice(&arr::<32>(f, "capability")?);
            out.extend_from_slice(&bytes(f, "registration")?);
        }
        0x2F => out.extend_from_slice(&u16_of(f, "code")?.to_be_bytes()),
        other => return Err(format!("no layout for type {other:#04x}")),
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// The core's view: decode strictly as type `ty`, give the fields and the re-encoding.

fn x_json(k: &X25519PrekeyPublic) -> Value {
    json!({ "id": k.id, "key": h(k.key), "signature": h(k.signature) })
}
fn kem_json(k: &KemPrekeyPublic) -> Value {
    json!({ "id": k.id, "key": h(*k.key), "signature": h(k.signature) })
}

fn owner_kind(ty: u8) -> Option<OwnerRequestKind> {
    match ty {
        0x23 => Some(OwnerRequestKind::Count),
        0x24 => Some(OwnerRequestKind::Delete),
        0x25 => Some(OwnerRequestKind::Deregister),
        _ => None,
    }
}

/// Decodes `b` strictly as message type `ty` with the core; returns its fields (as in the
/// vectors) and its re-encoding.
/// Decodes `b` strictly as relay message type `ty` with the core and returns the fields
/// (in the vector files' JSON shape) and the core's re-encoding. The reference adapter's
/// `relay.decode` uses it.
///
/// # Errors
/// The core's decode error.
pub fn core_view(ty: u8, b: &[u8]) -> Result<(Value, Vec<u8>), Error> {
    Ok(match ty {
        0x20 => {
            let p = Publication::decode_exact(b)?;
            let enc = p.to_bytes();
            let f = json!({
                "issuedAt": p.issued_at(), "expiresAt": p.expires_at(),
                "bundle": h(p.bundle().to_bytes()), "signature": h(&enc[enc.len() - 64..]),
            });
            (f, enc)
        }
        0x21 => {
            let p = PublishRequest::decode_exact(b)?;
            let f = json!({ "capability": h(p.capability.to_bytes()), "publication": h(p.publication.to_bytes()) });
            (f, p.to_bytes())
        }
        0x22 => {
            let u = UploadKeysRequest::decode_exact(b)?;
            let f = json!({
                "capability": h(u.capability.to_bytes()),
                "x25519": u.x25519.iter().map(x_json).collect::<Vec<_>>(),
                "kem": u.kem.iter().map(kem_json).collect::<Vec<_>>(),
            });
            (f, u.to_bytes())
        }
        0x23..=0x25 => {
            let kind = owner_kind(ty).expect("owner type");
            let o = OwnerRequest::decode_as(kind, b)?;
            (
                json!({ "capability": h(o.capability.to_bytes()) }),
                o.to_bytes(),
            )
        }
        0x26 => {
            let c = ClaimRequest::decode_exact(b)?;
            (json!({ "mailbox": h(c.mailbox) }), c.to_bytes())
        }
        0x27 => {
            let c = ClaimResponse::decode_exact(b)?;
            let f = json!({
                "publication": h(c.publication.to_bytes()),
                "oneTimePrekey": c.one_time_prekey.as_ref().map_or(Value::Null, x_json),
                "oneTimeKemPrekey": c.one_time_kem_prekey.as_ref().map_or(Value::Null, kem_json),
            });
            (f, c.to_bytes())
        }
        0x28 => {
            let c = CountResponse::decode_exact(b)?;
            (json!({ "x25519": c.x25519, "kem": c.kem }), c.to_bytes())
        }
        0x29 => {
            let q = FetchRequest::decode_exact(b)?;
            let f = json!({ "capability": h(q.capability.to_bytes()), "after": q.after, "limit": q.limit });
            (f, q.to_bytes())
        }
        0x2A => {
            let r = FetchResponse::decode_exact(b)?;
            let envs: Vec<Value> = r
                .envelopes
                .iter()
                .map(|e| json!({ "seq": e.seq, "envelope": h(&e.envelope) }))
                .collect();
            (json!({ "envelopes": envs, "more": r.more }), r.to_bytes())
        }
        0x2B => {
            let a = AckRequest::decode_exact(b)?;
            let f = json!({ "capability": h(a.capability.to_bytes()), "upTo": a.up_to });
            (f, a.to_bytes())
        }
        0x2C => {
            let s = SubscribeRequest::decode_exact(b)?;
            let caps: Vec<Value> = s.capabilities.iter().map(|c| h(c.to_bytes())).collect();
            (json!({ "capabilities": caps }), s.to_bytes())
        }
        0x2D => {
            let d = Delivery::decode_exact(b)?;
            let f = json!({ "mailbox": h(d.mailbox), "seq": d.seq, "envelope": h(&d.envelope) });
            (f, d.to_bytes())
        }
        0x2E => {
            let r = RegisterRequest::decode_exact(b)?;
            let f = json!({ "capability": h(r.capability.to_bytes()), "registration": h(r.registration.to_bytes()) });
            (f, r.to_bytes())
        }
        0x2F => {
            let e = ErrorResponse::decode_exact(b)?;
            (json!({ "code": e.code, "name": e.name() }), e.to_bytes())
        }
        _ => {
            return Err(Error::ApiMisuse {
                reason: "not a relay API type",
            })
        }
    })
}

const NAMES: &[(u8, &str)] = &[
    (0x20, "publication"),
    (0x21, "publish request"),
    (0x22, "upload-keys request"),
    (0x23, "count request"),
    (0x24, "delete request"),
    (0x25, "deregister request"),
    (0x26, "claim request"),
    (0x27, "claim response"),
    (0x28, "count response"),
    (0x29, "fetch request"),
    (0x2A, "fetch response"),
    (0x2B, "acknowledge request"),
    (0x2C, "subscribe request"),
    (0x2D, "delivery"),
    (0x2E, "register request"),
    (0x2F, "error response"),
];

fn name_of(ty: u8) -> &'static str {
    NAMES.iter().find(|(t, _)| *t == ty).map_or("?", |(_, n)| n)
}

// ---------------------------------------------------------------------------------------
// The transcript.

/// One HTTP exchange.
struct Script {
    steps: Vec<Value>,
}

impl Script {
    fn ok(
        &mut self,
        comment: &str,
        method: &str,
        path: &str,
        request: &[u8],
        status: u16,
        response: &[u8],
    ) {
        self.steps.push(json!({
            "step": self.steps.len() + 1, "comment": comment, "method": method, "path": path,
            "request": h(request), "status": status, "response": h(response),
        }));
    }

    fn refuse(
        &mut self,
        comment: &str,
        method: &str,
        path: &str,
        request: &[u8],
        status: u16,
        err: &Error,
    ) {
        assert_eq!(status, status_of(err.code(), method, path), "{comment}");
        self.steps.push(json!({
            "step": self.steps.len() + 1, "comment": comment, "method": method, "path": path,
            "request": h(request), "status": status,
            "response": h(ErrorResponse::of(err).to_bytes()),
            "error": { "code": err.code(), "name": err.name() },
        }));
    }
}

/// The endpoints of §12.1: (method, path).
const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/v1/publish"),
    ("POST", "/v1/keys"),
    ("POST", "/v1/count"),
    ("POST", "/v1/delete"),
    ("POST", "/v1/claim"),
    ("POST", "/v1/deposit"),
    ("POST", "/v1/commit"),
    ("POST", "/v1/fetch"),
    ("POST", "/v1/ack"),
    ("GET", "/v1/stream"),
    ("GET", "/v1/discovery"),
    ("POST", "/v1/register"),
    ("POST", "/v1/deregister"),
    ("POST", "/v1/lookup"),
];

/// The HTTP status of a refusal with `code` (spec §12.10).
fn status_of(code: u16, method: &str, path: &str) -> u16 {
    match code {
        100..=299 | 500 | 600..=699 | 700 => 400,
        800 => 403,
        801 | 803 | 805 | 812 | 813 => 409,
        802 => 404,
        804 => 507,
        806 => 413,
        807 => 429,
        808 | 810 => 503,
        809 if ENDPOINTS.iter().any(|(m, p)| *p == path && *m != method) => 405,
        809 => 404,
        _ => 0,
    }
}

/// Decodes a request body as the path expects (spec §12.1); `Ok(None)` for a path without
/// a body or an unknown path.
fn decode_request(path: &str, b: &[u8]) -> Result<Option<u8>, Error> {
    let ty = match path {
        "/v1/publish" => 0x21,
        "/v1/keys" => 0x22,
        "/v1/count" => 0x23,
        "/v1/delete" => 0x24,
        "/v1/deregister" => 0x25,
        "/v1/claim" => 0x26,
        "/v1/fetch" => 0x29,
        "/v1/ack" => 0x2B,
        "/v1/register" => 0x2E,
        "/v1/deposit" => {
            RelayEnvelope::parse(b)?;
            return Ok(Some(b.get(1).copied().unwrap_or(0)));
        }
        "/v1/lookup" => {
            LookupRequest::decode_exact(b)?;
            return Ok(Some(0x11));
        }
        "/v1/commit" => {
            blindrelay::group::CommitRequest::parse(b)?;
            return Ok(Some(0x31));
        }
        _ => return Ok(None),
    };
    core_view(ty, b)?;
    Ok(Some(ty))
}

/// The success response type of a path: `None` for `204` paths.
fn response_type(path: &str) -> Option<u8> {
    match path {
        "/v1/keys" | "/v1/count" => Some(0x28),
        "/v1/claim" => Some(0x27),
        "/v1/fetch" => Some(0x2A),
        _ => None,
    }
}

fn fetch(cap: &[u8; 32], after: u64, limit: u16) -> Vec<u8> {
    FetchRequest {
        capability: ReadCapability::from_bytes(*cap),
        after,
        limit,
    }
    .to_bytes()
}

fn fetched(envs: &[(u64, &[u8])], more: bool) -> Vec<u8> {
    FetchResponse {
        envelopes: envs
            .iter()
            .map(|(seq, e)| FetchedEnvelope {
                seq: *seq,
                envelope: e.to_vec(),
            })
            .collect(),
        more,
    }
    .to_bytes()
}

fn owner_req(kind: OwnerRequestKind, cap: &[u8; 32]) -> Vec<u8> {
    OwnerRequest {
        kind,
        capability: ReadCapability::from_bytes(*cap),
    }
    .to_bytes()
}

/// An HPKE envelope to `owner`'s public mailbox carrying a real initial message of a fresh
/// sender, from a claimed bundle (spec §6, §8.7).
fn first_flight(
    r: &mut ChaCha20Rng,
    claimed: &ClaimResponse,
    owner: &Owner,
    text: &[u8],
) -> Vec<u8> {
    let verified = claimed
        .clone()
        .verify(&owner.mailbox(), CLOCK)
        .expect("the claimed bundle verifies");
    let sender = party::build(&party::generate(r, false, false)).expect("party");
    let mut session: Session = initiate(
        r,
        &sender.identity,
        &sender.bundle.identity_record(),
        &verified,
    )
    .expect("initiate");
    let initial = session.encrypt(r, text).expect("encrypt");
    blindrelay::envelope::seal(
        r,
        &owner.mailbox(),
        &verified.bundle().sealing_key,
        sender.identity.public(),
        &initial,
    )
    .expect("seal")
    .to_bytes()
}

/// A pairwise envelope (spec §8.15) of an established pair, and the read capability of the
/// mailbox it is addressed to (the recipient's).
fn pairwise(r: &mut ChaCha20Rng) -> (Vec<u8>, [u8; 32]) {
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
    let (mut bob, _) =
        blindrelay::accept(&bob_party.identity, &mut bob_party.store, &first).expect("accept");
    let envelope = bob
        .seal_pairwise(r, b"a reply on the pairwise route")
        .expect("seal");
    let mailbox = *RelayEnvelope::parse(&envelope).expect("parse").mailbox();
    let cap = alice
        .receiving_capabilities()
        .iter()
        .find(|c| c.mailbox() == mailbox)
        .expect("Alice watches the mailbox of Bob's reply")
        .to_bytes();
    (envelope, cap)
}

fn transcript(r: &mut ChaCha20Rng) -> Value {
    let a = Owner::new(r);
    let b = Owner::new(r);
    let mut s = Script { steps: Vec::new() };
    let (post, get) = ("POST", "GET");

    // Publication: the checks in order (§12.3).
    let p1 = a.publication(CLOCK - 3600, CLOCK + 7 * DAY);
    let publish = PublishRequest {
        capability: a.cap(),
        publication: p1.clone(),
    };
    publish.check(CLOCK).expect("valid");
    s.ok(
        "publish owner A's bundle",
        post,
        "/v1/publish",
        &publish.to_bytes(),
        204,
        &[],
    );
    s.refuse(
        "the same publication again: issued_at not greater than the stored one",
        post,
        "/v1/publish",
        &publish.to_bytes(),
        409,
        &Error::StalePublication,
    );
    let foreign = PublishRequest {
        capability: b.cap(),
        publication: p1.clone(),
    };
    assert_eq!(foreign.check(CLOCK), Err(Error::Unauthorized));
    s.refuse(
        "owner A's publication with owner B's capability",
        post,
        "/v1/publish",
        &foreign.to_bytes(),
        403,
        &Error::Unauthorized,
    );
    let expired = PublishRequest {
        capability: a.cap(),
        publication: a.publication(CLOCK - 8 * DAY, CLOCK - DAY),
    };
    assert_eq!(expired.check(CLOCK), Err(Error::Expired));
    s.refuse(
        "an expired publication (checked before freshness)",
        post,
        "/v1/publish",
        &expired.to_bytes(),
        400,
        &Error::Expired,
    );

    // One-time keys (§12.4).
    let (bx, bk) = b.one_time(r, 1);
    let upload_b = UploadKeysRequest {
        capability: b.cap(),
        x25519: vec![bx.clone()],
        kem: vec![bk],
    };
    s.refuse(
        "an upload for owner B, who has published nothing",
        post,
        "/v1/keys",
        &upload_b.to_bytes(),
        404,
        &Error::NoBundle,
    );
    let (x1, k1) = a.one_time(r, 11);
    let (x2, k2) = a.one_time(r, 12);
    let upload = UploadKeysRequest {
        capability: a.cap(),
        x25519: vec![x1.clone(), x2.clone()],
        kem: vec![k1.clone(), k2.clone()],
    };
    upload.verify_keys(&a.bundle.identity).expect("valid keys");
    let count = |x, kem| CountResponse { x25519: x, kem }.to_bytes();
    s.ok(
        "upload 2 + 2 one-time keys",
        post,
        "/v1/keys",
        &upload.to_bytes(),
        200,
        &count(2, 2),
    );
    let bad_upload = UploadKeysRequest {
        capability: a.cap(),
        x25519: vec![bx],
        kem: vec![],
    };
    assert_eq!(
        bad_upload.verify_keys(&a.bundle.identity),
        Err(Error::BadSignature)
    );
    s.refuse(
        "an upload with a key signed by another identity: refused whole, nothing stored",
        post,
        "/v1/keys",
        &bad_upload.to_bytes(),
        400,
        &Error::BadSignature,
    );
    let count_a = owner_req(OwnerRequestKind::Count, &a.capability);
    s.ok(
        "count: unchanged by the refused upload",
        post,
        "/v1/count",
        &count_a,
        200,
        &count(2, 2),
    );

    // Claims: oldest first, each key once, then the last-resort form.
    let claim = ClaimRequest {
        mailbox: a.mailbox(),
    }
    .to_bytes();
    let c1 = ClaimResponse {
        publication: p1.clone(),
        one_time_prekey: Some(x1),
        one_time_kem_prekey: Some(k1),
    };
    let c2 = ClaimResponse {
        publication: p1.clone(),
        one_time_prekey: Some(x2),
        one_time_kem_prekey: Some(k2),
    };
    let c3 = ClaimResponse {
        publication: p1.clone(),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    };
    for c in [&c1, &c2, &c3] {
        c.clone().verify(&a.mailbox(), CLOCK).expect("verifies");
    }
    s.ok(
        "claim: the first-uploaded key of each kind",
        post,
        "/v1/claim",
        &claim,
        200,
        &c1.to_bytes(),
    );
    s.ok(
        "claim: the second-uploaded keys",
        post,
        "/v1/claim",
        &claim,
        200,
        &c2.to_bytes(),
    );
    s.ok(
        "claim: the pool is empty, the bundle goes out without one-time keys (last resort)",
        post,
        "/v1/claim",
        &claim,
        200,
        &c3.to_bytes(),
    );
    s.ok(
        "count: every key handed out",
        post,
        "/v1/count",
        &count_a,
        200,
        &count(0, 0),
    );
    let unknown = ClaimRequest {
        mailbox: fill::<32>(r),
    }
    .to_bytes();
    s.refuse(
        "claim of a mailbox without a bundle",
        post,
        "/v1/claim",
        &unknown,
        404,
        &Error::NoBundle,
    );

    // Mailboxes (§12.5).
    let e1 = first_flight(r, &c1, &a, b"hello from the first claimer");
    let e2 = first_flight(r, &c2, &a, b"hello from the second claimer");
    let (pw, pw_cap) = pairwise(r);
    s.ok(
        "deposit an HPKE envelope (an initial message) to A's public mailbox: seq 1",
        post,
        "/v1/deposit",
        &e1,
        204,
        &[],
    );
    s.ok(
        "deposit a second HPKE envelope: seq 2",
        post,
        "/v1/deposit",
        &e2,
        204,
        &[],
    );
    s.ok(
        "deposit a pairwise envelope: its own mailbox, seq 1 there",
        post,
        "/v1/deposit",
        &pw,
        204,
        &[],
    );
    s.ok(
        "fetch A's mailbox from the start",
        post,
        "/v1/fetch",
        &fetch(&a.capability, 0, 256),
        200,
        &fetched(&[(1, &e1), (2, &e2)], false),
    );
    s.ok(
        "fetch with limit 1: more follows",
        post,
        "/v1/fetch",
        &fetch(&a.capability, 0, 1),
        200,
        &fetched(&[(1, &e1)], true),
    );
    s.ok(
        "fetch after seq 1",
        post,
        "/v1/fetch",
        &fetch(&a.capability, 1, 256),
        200,
        &fetched(&[(2, &e2)], false),
    );
    let ack = AckRequest {
        capability: a.cap(),
        up_to: 1,
    };
    s.ok(
        "acknowledge up to seq 1",
        post,
        "/v1/ack",
        &ack.to_bytes(),
        204,
        &[],
    );
    s.ok(
        "fetch from the start: only seq 2 is left",
        post,
        "/v1/fetch",
        &fetch(&a.capability, 0, 256),
        200,
        &fetched(&[(2, &e2)], false),
    );
    s.ok(
        "fetch the pairwise mailbox with its capability",
        post,
        "/v1/fetch",
        &fetch(&pw_cap, 0, 256),
        200,
        &fetched(&[(1, &pw)], false),
    );
    s.ok(
        "fetch with owner B's capability: an empty mailbox",
        post,
        "/v1/fetch",
        &fetch(&b.capability, 0, 256),
        200,
        &fetched(&[], false),
    );
    let malformed = &e1[..e1.len() - 1];
    let err = RelayEnvelope::parse(malformed).expect_err("truncated");
    s.refuse(
        "a truncated envelope",
        post,
        "/v1/deposit",
        malformed,
        400,
        &err,
    );

    // Blind-group commit slots (§12.5 Commit, §15.6): an epoch mailbox, one message, a
    // commit with a foreign token, the commit, a second commit, a late deposit.
    {
        use blindrelay::group::{CommitRequest, EpochKeys};
        let epoch = EpochKeys::from_exporter_secret(&fill::<32>(r));
        let other = EpochKeys::from_exporter_secret(&fill::<32>(r));
        let msg = epoch.seal(&fill::<120>(r), r).expect("seal").to_bytes();
        let commit_env = epoch.seal(&fill::<900>(r), r).expect("seal");
        let commit = CommitRequest::new(epoch.token().clone(), commit_env.clone())
            .expect("the epoch's token")
            .to_bytes();
        let second = CommitRequest::new(
            epoch.token().clone(),
            epoch.seal(&fill::<900>(r), r).expect("seal"),
        )
        .expect("the epoch's token")
        .to_bytes();
        let mut foreign = commit.clone();
        foreign[2..34].copy_from_slice(&other.token().to_bytes());
        let late = epoch.seal(&fill::<40>(r), r).expect("seal").to_bytes();
        s.ok(
            "deposit a group envelope to an epoch mailbox: seq 1",
            post,
            "/v1/deposit",
            &msg,
            204,
            &[],
        );
        s.refuse(
            "a commit whose token opens another mailbox: nothing stored, the slot stays open",
            post,
            "/v1/commit",
            &foreign,
            400,
            &Error::WrongMailbox,
        );
        s.ok(
            "the epoch's commit: closes the slot, seq 2",
            post,
            "/v1/commit",
            &commit,
            204,
            &[],
        );
        s.refuse(
            "a second commit for the same epoch",
            post,
            "/v1/commit",
            &second,
            409,
            &Error::CommitSlotTaken,
        );
        s.refuse(
            "a deposit to the closed epoch",
            post,
            "/v1/deposit",
            &late,
            409,
            &Error::EpochClosed,
        );
        s.ok(
            "fetch the epoch mailbox: the message, then the commit, nothing after",
            post,
            "/v1/fetch",
            &fetch(&epoch.capability().to_bytes(), 0, 256),
            200,
            &fetched(&[(1, &msg), (2, &commit_env.to_bytes())], false),
        );
    }

    // Endpoints and bodies (§12.1).
    let delete_a = owner_req(OwnerRequestKind::Delete, &a.capability);
    let err = OwnerRequest::decode_as(OwnerRequestKind::Count, &delete_a).expect_err("bound");
    s.refuse(
        "a delete body sent to /v1/count",
        post,
        "/v1/count",
        &delete_a,
        400,
        &err,
    );
    s.refuse(
        "an unknown path",
        post,
        "/v1/unknown",
        &[],
        404,
        &Error::NotFound,
    );
    s.refuse(
        "a served path with another method",
        get,
        "/v1/fetch",
        &[],
        405,
        &Error::NotFound,
    );

    // Delete (§12.4): the bundle goes, the envelopes stay.
    s.ok(
        "delete owner A's bundle, pool and registrations",
        post,
        "/v1/delete",
        &delete_a,
        204,
        &[],
    );
    s.refuse(
        "claim after the delete",
        post,
        "/v1/claim",
        &claim,
        404,
        &Error::NoBundle,
    );
    s.ok(
        "the count of a deleted owner",
        post,
        "/v1/count",
        &count_a,
        200,
        &count(0, 0),
    );
    s.ok(
        "envelopes are left to be fetched",
        post,
        "/v1/fetch",
        &fetch(&a.capability, 0, 256),
        200,
        &fetched(&[(2, &e2)], false),
    );
    s.ok(
        "the first publication again: the delete forgot its issue time, so it is fresh",
        post,
        "/v1/publish",
        &publish.to_bytes(),
        204,
        &[],
    );
    s.ok(
        "its pool starts empty",
        post,
        "/v1/count",
        &count_a,
        200,
        &count(0, 0),
    );

    json!({ "clock": CLOCK, "steps": s.steps })
}

// ---------------------------------------------------------------------------------------

pub fn generate() -> (String, Value) {
    let mut f = FileBuilder::new(
        "relay.json",
        "The relay API: the encoding of every message type 0x20-0x2F; the publish, claim and upload checks; decode failures; and a transcript of HTTP requests against a fresh relay with a fixed clock, every expected response computed from the core's types.",
        &["§12.1", "§12.2", "§12.3", "§12.4", "§12.5", "§12.6", "§12.7", "§12.10"],
    );
    for (flag, bug, text) in [
        ("Expired", "EDGE_CASE", "A publication outside its window at `now`, or with an empty or over-long window (§12.3)."),
        ("MovedTime", "MODIFIED_PARAMETER", "A relay moved a publication's expiry: the times are signed (§12.3)."),
        ("ForeignCapability", "AUTH_BYPASS", "A publish request whose capability does not open the bundle's mailbox (§12.2)."),
        ("WrongMailbox", "AUTH_BYPASS", "A relay answered a claim with another owner's bundle (§12.4)."),
        ("ForeignKey", "AUTH_BYPASS", "A one-time key signed by another identity, or as another kind (§12.4)."),
        ("Truncated", "BASIC", "The input ends inside a field."),
        ("Trailing", "BASIC", "Bytes after a complete message."),
        ("OverMax", "EDGE_CASE", "A count or length prefix above its maximum, refused before allocation."),
        ("OutOfRange", "EDGE_CASE", "A value outside its allowed range (fetch limit, bool, seq order)."),
        ("ReservedBits", "MALLEABILITY", "Reserved flag bits set."),
        ("WrongType", "BASIC", "A message of another type or version."),
        ("NotBase", "MALLEABILITY", "A publication whose bundle carries one-time keys (§12.3)."),
    ] {
        f.note(flag, bug, text);
    }
    let mut r = rng("relay");
    let a = Owner::new(&mut r);
    let b = Owner::new(&mut r);
    let pubn = a.publication(CLOCK - 3600, CLOCK + 7 * DAY);
    let (x1, k1) = a.one_time(&mut r, 7);
    let (x2, k2) = a.one_time(&mut r, 8);
    let envelope_bytes = {
        let c = ClaimResponse {
            publication: pubn.clone(),
            one_time_prekey: Some(x1.clone()),
            one_time_kem_prekey: Some(k1.clone()),
        };
        first_flight(&mut r, &c, &a, b"an envelope")
    };
    let (pairwise_env, _) = pairwise(&mut r);
    let registration =
        Registration::new(3, fill::<32>(&mut r), &a.mailbox()).expect("short record");

    // encoding
    let mut samples: Vec<(u8, &str, Vec<u8>)> = vec![
        (0x20, "a publication valid for 7 days", pubn.to_bytes()),
        (
            0x21,
            "a publish request",
            PublishRequest {
                capability: a.cap(),
                publication: pubn.clone(),
            }
            .to_bytes(),
        ),
        (
            0x22,
            "an upload of 2 + 1 one-time keys",
            UploadKeysRequest {
                capability: a.cap(),
                x25519: vec![x1.clone(), x2.clone()],
                kem: vec![k2.clone()],
            }
            .to_bytes(),
        ),
        (
            0x22,
            "an empty upload",
            UploadKeysRequest {
                capability: a.cap(),
                x25519: vec![],
                kem: vec![],
            }
            .to_bytes(),
        ),
        (
            0x23,
            "a count request",
            owner_req(OwnerRequestKind::Count, &a.capability),
        ),
        (
            0x24,
            "a delete request",
            owner_req(OwnerRequestKind::Delete, &a.capability),
        ),
        (
            0x25,
            "a deregister request",
            owner_req(OwnerRequestKind::Deregister, &a.capability),
        ),
        (
            0x26,
            "a claim request",
            ClaimRequest {
                mailbox: a.mailbox(),
            }
            .to_bytes(),
        ),
        (
            0x27,
            "a claim response with both one-time keys",
            ClaimResponse {
                publication: pubn.clone(),
                one_time_prekey: Some(x1.clone()),
                one_time_kem_prekey: Some(k1.clone()),
            }
            .to_bytes(),
        ),
        (
            0x27,
            "a claim response with only an ML-KEM one-time key",
            ClaimResponse {
                publication: pubn.clone(),
                one_time_prekey: None,
                one_time_kem_prekey: Some(k2.clone()),
            }
            .to_bytes(),
        ),
        (
            0x27,
            "a claim response without one-time keys (last resort)",
            ClaimResponse {
                publication: pubn.clone(),
                one_time_prekey: None,
                one_time_kem_prekey: None,
            }
            .to_bytes(),
        ),
        (
            0x28,
            "a count response",
            CountResponse {
                x25519: 1000,
                kem: 3,
            }
            .to_bytes(),
        ),
        (0x29, "a fetch request", fetch(&a.capability, 41, 256)),
        (
            0x2A,
            "a fetch response with an HPKE and a pairwise envelope",
            fetched(&[(42, &envelope_bytes), (57, &pairwise_env)], true),
        ),
        (0x2A, "an empty fetch response", fetched(&[], false)),
        (
            0x2B,
            "an acknowledge request",
            AckRequest {
                capability: a.cap(),
                up_to: 57,
            }
            .to_bytes(),
        ),
        (
            0x2C,
            "a subscribe request for two mailboxes",
            SubscribeRequest {
                capabilities: vec![a.cap(), b.cap()],
            }
            .to_bytes(),
        ),
        (
            0x2C,
            "a subscribe request for exactly MAX_SUBSCRIPTIONS (32) mailboxes",
            SubscribeRequest {
                capabilities: (0..blindrelay::relay::MAX_SUBSCRIPTIONS)
                    .map(|i| ReadCapability::from_bytes([u8::try_from(i).expect("small"); 32]))
                    .collect(),
            }
            .to_bytes(),
        ),
        (
            0x2D,
            "a delivery",
            Delivery {
                mailbox: a.mailbox(),
                seq: 58,
                envelope: envelope_bytes.clone(),
            }
            .to_bytes(),
        ),
        (
            0x2E,
            "a register request",
            RegisterRequest {
                capability: a.cap(),
                registration: registration.clone(),
            }
            .to_bytes(),
        ),
    ];
    for e in [
        Error::Truncated,
        Error::Expired,
        Error::Unauthorized,
        Error::StalePublication,
        Error::NoBundle,
        Error::PoolFull,
        Error::MailboxFull,
        Error::TooManyRegistrations,
        Error::BodyTooLarge,
        Error::RateLimited,
        Error::Unavailable,
        Error::NotFound,
        Error::TooManySubscriptions,
    ] {
        samples.push((0x2F, e.name(), ErrorResponse::of(&e).to_bytes()));
    }
    for (ty, comment, enc) in samples {
        let (fields, again) = core_view(ty, &enc).expect("decodes");
        assert_eq!(again, enc, "{comment}");
        assert_eq!(
            layout(ty, &fields).expect("layout"),
            enc,
            "{comment}: the spec layout"
        );
        let mut case = json!({ "messageType": ty, "name": name_of(ty), "fields": fields, "encoding": h(&enc) });
        if ty == 0x20 {
            case["signatureInput"] = h(pubn.signature_input());
        }
        f.valid("encoding", comment, case);
    }

    // publish-check
    let issued = CLOCK - 3600;
    let expires = CLOCK + 7 * DAY;
    let req = |o: &Owner, p: Publication| {
        PublishRequest {
            capability: o.cap(),
            publication: p,
        }
        .to_bytes()
    };
    let good = req(&a, pubn.clone());
    for (comment, now) in [
        ("valid at the relay's clock", CLOCK),
        (
            "valid when issued exactly MAX_CLOCK_SKEW_SECS in the relay's future",
            issued - MAX_CLOCK_SKEW_SECS,
        ),
        ("valid one second before expiry", expires - 1),
    ] {
        f.valid(
            "publish-check",
            comment,
            json!({ "publishRequest": h(&good), "now": now }),
        );
    }
    let full = req(
        &a,
        a.publication(CLOCK, CLOCK + MAX_PUBLICATION_LIFETIME_SECS),
    );
    f.valid(
        "publish-check",
        "a window of exactly MAX_PUBLICATION_LIFETIME_SECS",
        json!({ "publishRequest": h(&full), "now": CLOCK }),
    );
    let mut moved = good.clone();
    let at = 34 + 10;
    moved[at..at + 8].copy_from_slice(&(expires + DAY).to_be_bytes());
    let mut invalid: Vec<(&str, &str, Vec<u8>, u64, Error)> = vec![
        (
            "issued more than MAX_CLOCK_SKEW_SECS in the relay's future",
            "Expired",
            good.clone(),
            issued - MAX_CLOCK_SKEW_SECS - 1,
            Error::Expired,
        ),
        (
            "at expires_at",
            "Expired",
            good.clone(),
            expires,
            Error::Expired,
        ),
        (
            "an empty window (expires_at = issued_at), signed",
            "Expired",
            req(&a, a.publication_raw(CLOCK, CLOCK)),
            CLOCK,
            Error::Expired,
        ),
        (
            "an empty window issued 10 s in the verifier's future (within the skew, so before expires_at): only the window rule fails",
            "Expired",
            req(&a, a.publication_raw(CLOCK + 10, CLOCK + 10)),
            CLOCK,
            Error::Expired,
        ),
        (
            "a window one second over MAX_PUBLICATION_LIFETIME_SECS, signed",
            "Expired",
            req(
                &a,
                a.publication_raw(CLOCK - 60, CLOCK - 60 + MAX_PUBLICATION_LIFETIME_SECS + 1),
            ),
            CLOCK,
            Error::Expired,
        ),
        (
            "expires_at before issued_at, signed",
            "Expired",
            req(&a, a.publication_raw(CLOCK + 10, CLOCK - 10)),
            CLOCK,
            Error::Expired,
        ),
        (
            "the relay moved expires_at by a day",
            "MovedTime",
            moved,
            CLOCK,
            Error::BadSignature,
        ),
        (
            "owner A's publication with owner B's capability",
            "ForeignCapability",
            req(&b, pubn.clone()),
            CLOCK,
            Error::Unauthorized,
        ),
    ];
    // B's own bundle naming A's mailbox, with B's capability: a hijack attempt.
    let hijacker = Owner {
        seed: b.seed,
        identity: IdentityKeyPair::from_seed(&b.seed),
        capability: b.capability,
        bundle: resign(&b, a.mailbox(), &mut r),
    };
    invalid.push((
        "owner B's bundle naming A's mailbox, with B's capability",
        "ForeignCapability",
        req(&hijacker, hijacker.publication(issued, expires)),
        CLOCK,
        Error::Unauthorized,
    ));
    for (comment, flag, bytes_, now, err) in invalid {
        let got = PublishRequest::decode_exact(&bytes_).and_then(|p| p.check(now));
        assert_eq!(got.map_err(|e| e.code()), Err(err.code()), "{comment}");
        f.invalid(
            "publish-check",
            comment,
            &[flag],
            json!({ "publishRequest": h(&bytes_), "now": now }),
            err,
        );
    }

    // claim-verify
    let claim = |x: Option<X25519PrekeyPublic>, k: Option<KemPrekeyPublic>| ClaimResponse {
        publication: pubn.clone(),
        one_time_prekey: x,
        one_time_kem_prekey: k,
    };
    for (comment, c) in [
        (
            "both one-time keys",
            claim(Some(x1.clone()), Some(k1.clone())),
        ),
        ("only a one-time X25519 key", claim(Some(x2.clone()), None)),
        ("no one-time keys (last resort)", claim(None, None)),
    ] {
        let v = c.clone().verify(&a.mailbox(), CLOCK).expect("verifies");
        f.valid(
            "claim-verify",
            comment,
            json!({
                "claimResponse": h(c.to_bytes()), "mailbox": h(a.mailbox()), "now": CLOCK,
                "identity": h(v.identity().to_array()), "bundle": h(v.bundle().to_bytes()),
            }),
        );
    }
    let (bx, bk) = b.one_time(&mut r, 7);
    let mut as_one_time = a.bundle.signed_prekey.clone();
    as_one_time.id = 9;
    for (comment, flag, c, mailbox, now, err) in [
        (
            "the bundle of another mailbox than the one claimed",
            "WrongMailbox",
            claim(None, None),
            b.mailbox(),
            CLOCK,
            Error::WrongMailbox,
        ),
        (
            "a one-time key signed by another identity",
            "ForeignKey",
            claim(Some(bx.clone()), None),
            a.mailbox(),
            CLOCK,
            Error::BadSignature,
        ),
        (
            "the signed prekey presented as a one-time key (the kind is signed)",
            "ForeignKey",
            claim(Some(as_one_time), None),
            a.mailbox(),
            CLOCK,
            Error::BadSignature,
        ),
        (
            "a stale publication at the claimer's later clock",
            "Expired",
            claim(None, None),
            a.mailbox(),
            expires,
            Error::Expired,
        ),
    ] {
        assert_eq!(
            c.clone().verify(&mailbox, now).map(drop),
            Err(err),
            "{comment}"
        );
        f.invalid(
            "claim-verify",
            comment,
            &[flag],
            json!({ "claimResponse": h(c.to_bytes()), "mailbox": h(mailbox), "now": now }),
            err,
        );
    }

    // upload-verify
    let up = UploadKeysRequest {
        capability: a.cap(),
        x25519: vec![x1.clone(), x2.clone()],
        kem: vec![k1.clone(), k2.clone()],
    };
    up.verify_keys(&a.bundle.identity).expect("valid");
    f.valid("upload-verify", "keys signed by the published identity", json!({ "uploadKeysRequest": h(up.to_bytes()), "identity": h(a.bundle.identity.to_array()) }));
    assert_eq!(up.verify_keys(&b.bundle.identity), Err(Error::BadSignature));
    f.invalid("upload-verify", "verified against another identity", &["ForeignKey"], json!({ "uploadKeysRequest": h(up.to_bytes()), "identity": h(b.bundle.identity.to_array()) }), Error::BadSignature);
    let mixed = UploadKeysRequest {
        capability: a.cap(),
        x25519: vec![x1.clone(), bx],
        kem: vec![k1.clone()],
    };
    assert_eq!(
        mixed.verify_keys(&a.bundle.identity),
        Err(Error::BadSignature)
    );
    f.invalid("upload-verify", "one foreign key among valid ones refuses the whole upload", &["ForeignKey"], json!({ "uploadKeysRequest": h(mixed.to_bytes()), "identity": h(a.bundle.identity.to_array()) }), Error::BadSignature);
    let mixed_kem = UploadKeysRequest {
        capability: a.cap(),
        x25519: vec![x1.clone()],
        kem: vec![k1.clone(), bk],
    };
    assert_eq!(
        mixed_kem.verify_keys(&a.bundle.identity),
        Err(Error::BadSignature)
    );
    f.invalid("upload-verify", "valid X25519 keys and one foreign ML-KEM key: the ML-KEM keys' signatures are checked too", &["ForeignKey"], json!({ "uploadKeysRequest": h(mixed_kem.to_bytes()), "identity": h(a.bundle.identity.to_array()) }), Error::BadSignature);

    // mailbox-id
    for (comment, cap) in [
        ("owner A's capability", a.capability),
        ("owner B's capability", b.capability),
    ] {
        assert_eq!(
            ReadCapability::from_bytes(cap).mailbox(),
            mailbox_spec(&cap)
        );
        f.valid(
            "mailbox-id",
            comment,
            json!({ "capability": h(cap), "mailbox": h(mailbox_spec(&cap)) }),
        );
    }

    // decode-negative
    for (ty, comment, flag, b_, code) in
        negatives(&a, &pubn, &x1, &k1, &registration, &envelope_bytes)
    {
        let err = core_view(ty, &b_).map(drop).expect_err(comment);
        assert_eq!(err.code(), code, "{comment}: {err}");
        f.invalid(
            "decode-negative",
            comment,
            &[flag],
            json!({ "messageType": ty, "name": name_of(ty), "encoding": h(&b_) }),
            err,
        );
    }

    // transcript
    let mut tr = rng("relay transcript");
    f.valid(
        "relay-transcript",
        "A fresh relay with BLINDRELAY_CLOCK = clock: publication checks, one-time keys handed out oldest first and once, deposits, fetches, an acknowledgement, refusals, a delete.",
        transcript(&mut tr),
    );
    f.build()
}

/// Owner `o`'s keys re-signed into a bundle naming `mailbox`.
fn resign(o: &Owner, mailbox: [u8; 32], r: &mut ChaCha20Rng) -> PrekeyBundle {
    PrekeyBundle::create(&BundleKeys {
        identity: &o.identity,
        mailbox,
        sealing: &SealingKeySecret::from_bytes(fill::<32>(r)),
        signed_prekey: (1, &SignedPrekeySecret::from_bytes(fill::<32>(r))),
        kem_prekey: (2, &KemPrekeySecret::from_bytes(fill::<64>(r))),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    })
}

type Negative = (u8, &'static str, &'static str, Vec<u8>, u16);

fn negatives(
    a: &Owner,
    pubn: &Publication,
    x: &X25519PrekeyPublic,
    k: &KemPrekeyPublic,
    registration: &Registration,
    envelope: &[u8],
) -> Vec<Negative> {
    let mut v: Vec<Negative> = Vec::new();
    let with = |b: &[u8], at: usize, new: &[u8]| {
        let mut b = b.to_vec();
        b[at..at + new.len()].copy_from_slice(new);
        b
    };
    let cut = |b: &[u8], n: usize| b[..b.len() - n].to_vec();
    let plus = |b: &[u8], extra: &[u8]| [b, extra].concat();
    let p = pubn.to_bytes();
    v.push((
        0x20,
        "a publication cut inside its signature",
        "Truncated",
        cut(&p, 1),
        100,
    ));
    v.push((
        0x20,
        "a publication with a trailing byte",
        "Trailing",
        plus(&p, &[0]),
        101,
    ));
    v.push((
        0x20,
        "a publication with version 2",
        "WrongType",
        with(&p, 0, &[2]),
        103,
    ));
    v.push((
        0x20,
        "a bundle (type 0x01) where a publication is expected",
        "WrongType",
        a.bundle.to_bytes(),
        104,
    ));
    v.push((
        0x20,
        "bundle_len 1548, one over the base bundle's length",
        "OverMax",
        with(&p, 18, &1548u32.to_be_bytes()),
        102,
    ));
    let mut with_keys = a.bundle.clone();
    with_keys.one_time_prekey = Some(x.clone());
    let wk = with_keys.to_bytes();
    let mut carrying = p[..18].to_vec();
    carrying.extend_from_slice(&u32::try_from(wk.len()).expect("short").to_be_bytes());
    carrying.extend_from_slice(&wk);
    carrying.extend_from_slice(&p[p.len() - 64..]);
    v.push((
        0x20,
        "a publication carrying a one-time key: its bundle is longer than a base bundle",
        "NotBase",
        carrying,
        102,
    ));
    let flag_at = 22 + 1546;
    v.push((
        0x20,
        "a publication whose bundle sets the one-time flag without the key",
        "NotBase",
        with(&p, flag_at, &[0x01]),
        100,
    ));
    let pr = PublishRequest {
        capability: a.cap(),
        publication: pubn.clone(),
    }
    .to_bytes();
    v.push((
        0x21,
        "a publish request cut inside the capability",
        "Truncated",
        pr[..20].to_vec(),
        100,
    ));
    v.push((
        0x21,
        "a publish request with a trailing byte",
        "Trailing",
        plus(&pr, &[0]),
        101,
    ));
    v.push((
        0x21,
        "a publication (0x20) sent as a publish request",
        "WrongType",
        p.clone(),
        104,
    ));
    let up = UploadKeysRequest {
        capability: a.cap(),
        x25519: vec![x.clone()],
        kem: vec![k.clone()],
    }
    .to_bytes();
    let up_x = UploadKeysRequest {
        capability: a.cap(),
        x25519: vec![x.clone()],
        kem: vec![],
    }
    .to_bytes();
    v.push((
        0x22,
        "101 one-time X25519 keys",
        "OverMax",
        with(&up, 34, &101u16.to_be_bytes()),
        102,
    ));
    let kem_count_at = 34 + 2 + 100;
    v.push((
        0x22,
        "101 one-time ML-KEM keys",
        "OverMax",
        with(&up, kem_count_at, &101u16.to_be_bytes()),
        102,
    ));
    v.push((
        0x22,
        "an upload cut inside an ML-KEM key",
        "Truncated",
        cut(&up, 100),
        100,
    ));
    v.push((
        0x22,
        "an upload announcing 2 X25519 keys but carrying 1 (and no ML-KEM key): refused before allocation",
        "Truncated",
        with(&up_x, 34, &2u16.to_be_bytes()),
        100,
    ));
    v.push((
        0x22,
        "an upload with a trailing byte",
        "Trailing",
        plus(&up, &[0]),
        101,
    ));
    let count = owner_req(OwnerRequestKind::Count, &a.capability);
    let delete = owner_req(OwnerRequestKind::Delete, &a.capability);
    let dereg = owner_req(OwnerRequestKind::Deregister, &a.capability);
    v.push((
        0x23,
        "a delete request where a count request is expected",
        "WrongType",
        delete.clone(),
        104,
    ));
    v.push((
        0x24,
        "a count request where a delete request is expected",
        "WrongType",
        count.clone(),
        104,
    ));
    v.push((
        0x25,
        "a delete request where a deregister request is expected",
        "WrongType",
        delete.clone(),
        104,
    ));
    v.push((
        0x23,
        "a count request with a trailing byte",
        "Trailing",
        plus(&count, &[0]),
        101,
    ));
    v.push((
        0x24,
        "a delete request cut by one byte",
        "Truncated",
        cut(&delete, 1),
        100,
    ));
    v.push((
        0x25,
        "a deregister request with a trailing byte",
        "Trailing",
        plus(&dereg, &[0]),
        101,
    ));
    v.push((0x23, "an empty body", "Truncated", vec![], 100));
    let cl = ClaimRequest {
        mailbox: a.mailbox(),
    }
    .to_bytes();
    v.push((
        0x26,
        "a claim request cut by one byte",
        "Truncated",
        cut(&cl, 1),
        100,
    ));
    v.push((
        0x26,
        "a claim request with a trailing byte",
        "Trailing",
        plus(&cl, &[0]),
        101,
    ));
    let cr = ClaimResponse {
        publication: pubn.clone(),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    }
    .to_bytes();
    v.push((
        0x27,
        "claim flags with reserved bit 2 set",
        "ReservedBits",
        with(&cr, 1635, &[0x04]),
        105,
    ));
    v.push((
        0x27,
        "claim flags announcing an X25519 key that is absent",
        "Truncated",
        with(&cr, 1635, &[0x01]),
        100,
    ));
    v.push((
        0x27,
        "a claim response with a trailing byte",
        "Trailing",
        plus(&cr, &[0]),
        101,
    ));
    let cnt = CountResponse { x25519: 1, kem: 2 }.to_bytes();
    v.push((
        0x28,
        "a count response cut by one byte",
        "Truncated",
        cut(&cnt, 1),
        100,
    ));
    let fr = fetch(&a.capability, 0, 10);
    v.push((
        0x29,
        "fetch limit 0",
        "OutOfRange",
        with(&fr, 42, &0u16.to_be_bytes()),
        105,
    ));
    v.push((
        0x29,
        "fetch limit 257",
        "OutOfRange",
        with(&fr, 42, &257u16.to_be_bytes()),
        105,
    ));
    v.push((
        0x29,
        "a fetch request with a trailing byte",
        "Trailing",
        plus(&fr, &[0]),
        101,
    ));
    let fp = fetched(&[(3, &[1, 2, 3]), (9, &[4])], false);
    v.push((
        0x2A,
        "a fetch response of 257 envelopes",
        "OverMax",
        with(&fp, 2, &257u16.to_be_bytes()),
        102,
    ));
    v.push((
        0x2A,
        "seqs not increasing",
        "OutOfRange",
        with(&fp, 4 + 8 + 4 + 3, &3u64.to_be_bytes()),
        105,
    ));
    v.push((
        0x2A,
        "a first seq of 0",
        "OutOfRange",
        with(&fp, 4, &0u64.to_be_bytes()),
        105,
    ));
    v.push((
        0x2A,
        "more = 2",
        "OutOfRange",
        with(&fp, fp.len() - 1, &[2]),
        105,
    ));
    v.push((
        0x2A,
        "an envelope length one over MAX_DEPOSIT_LEN",
        "OverMax",
        with(&fp, 4 + 8, &69_719u32.to_be_bytes()),
        102,
    ));
    let ack = AckRequest {
        capability: a.cap(),
        up_to: 5,
    }
    .to_bytes();
    v.push((
        0x2B,
        "an acknowledge request cut by one byte",
        "Truncated",
        cut(&ack, 1),
        100,
    ));
    v.push((
        0x2B,
        "an acknowledge request with a trailing byte",
        "Trailing",
        plus(&ack, &[0]),
        101,
    ));
    v.push((
        0x2C,
        "a subscription of 0 capabilities",
        "OverMax",
        vec![0x01, 0x2C, 0],
        102,
    ));
    let mut s33 = vec![0x01, 0x2C, 33];
    s33.extend_from_slice(&[7u8; 33 * 32]);
    v.push((
        0x2C,
        "a subscription of 33 capabilities",
        "OverMax",
        s33,
        102,
    ));
    let sub = SubscribeRequest {
        capabilities: vec![a.cap()],
    }
    .to_bytes();
    v.push((
        0x2C,
        "a subscription announcing 2 capabilities, carrying 1",
        "Truncated",
        with(&sub, 2, &[2]),
        100,
    ));
    let d = Delivery {
        mailbox: a.mailbox(),
        seq: 1,
        envelope: envelope.to_vec(),
    }
    .to_bytes();
    v.push((
        0x2D,
        "a delivery whose envelope length is one over MAX_DEPOSIT_LEN",
        "OverMax",
        with(&d, 42, &69_719u32.to_be_bytes()),
        102,
    ));
    v.push((
        0x2D,
        "a delivery cut inside its envelope",
        "Truncated",
        cut(&d, 1),
        100,
    ));
    let reg = RegisterRequest {
        capability: a.cap(),
        registration: registration.clone(),
    }
    .to_bytes();
    v.push((
        0x2E,
        "a registration with an unknown suite",
        "WrongType",
        with(&reg, 36, &[3]),
        610,
    ));
    v.push((
        0x2E,
        "a register request with a trailing byte",
        "Trailing",
        plus(&reg, &[0]),
        101,
    ));
    let e = ErrorResponse { code: 804 }.to_bytes();
    v.push((
        0x2F,
        "an error response cut by one byte",
        "Truncated",
        cut(&e, 1),
        100,
    ));
    v.push((
        0x2F,
        "an error response with a trailing byte",
        "Trailing",
        plus(&e, &[0]),
        101,
    ));
    v
}

// ---------------------------------------------------------------------------------------

fn ty_of(case: &Value) -> Result<u8, String> {
    u8_of(case, "messageType")
}

pub fn verify(case: &Value) -> Result<(), String> {
    match kind(case)?.as_str() {
        "encoding" => {
            let ty = ty_of(case)?;
            let enc = bytes(case, "encoding")?;
            expect_eq(case, "encoding", layout(ty, &case["fields"])?)?;
            let (fields, again) = core_view(ty, &enc).map_err(|e| e.to_string())?;
            if fields != case["fields"] {
                return Err(format!("decoded fields differ: {fields}"));
            }
            expect_eq(case, "encoding", again)?;
            if ty == 0x20 {
                let p = Publication::decode_exact(&enc).map_err(|e| e.to_string())?;
                let mut input = PUBLICATION_LABEL.to_vec();
                input.extend_from_slice(&enc[2..18]);
                input.extend_from_slice(&enc[22..enc.len() - 64]);
                expect_eq(case, "signatureInput", &input)?;
                expect_eq(case, "signatureInput", p.signature_input())?;
            }
            Ok(())
        }
        "publish-check" => {
            let now = uint(case, "now")?;
            let result = PublishRequest::decode_exact(&bytes(case, "publishRequest")?)
                .and_then(|p| p.check(now));
            if is_valid(case) {
                result.map_err(|e| e.to_string())
            } else {
                expect_error(case, result)
            }
        }
        "claim-verify" => {
            let now = uint(case, "now")?;
            let mailbox: [u8; 32] = arr(case, "mailbox")?;
            let result = ClaimResponse::decode_exact(&bytes(case, "claimResponse")?)
                .and_then(|c| c.verify(&mailbox, now));
            if !is_valid(case) {
                return expect_error(case, result);
            }
            let v = result.map_err(|e| e.to_string())?;
            expect_eq(case, "identity", v.identity().to_array())?;
            expect_eq(case, "bundle", v.bundle().to_bytes())
        }
        "upload-verify" => {
            let id: [u8; 64] = arr(case, "identity")?;
            let identity = IdentityPublicKey::decode_exact(&id).map_err(|e| e.to_string())?;
            let result = UploadKeysRequest::decode_exact(&bytes(case, "uploadKeysRequest")?)
                .and_then(|u| u.verify_keys(&identity));
            if is_valid(case) {
                result.map_err(|e| e.to_string())
            } else {
                expect_error(case, result)
            }
        }
        "mailbox-id" => {
            let cap = arr::<32>(case, "capability")?;
            expect_eq(case, "mailbox", mailbox_spec(&cap))?;
            expect_eq(case, "mailbox", ReadCapability::from_bytes(cap).mailbox())
        }
        "decode-negative" => expect_error(case, core_view(ty_of(case)?, &bytes(case, "encoding")?)),
        "relay-transcript" => verify_transcript(case),
        other => Err(format!("unknown kind {other}")),
    }
}

fn verify_transcript(case: &Value) -> Result<(), String> {
    let clock = uint(case, "clock")?;
    let steps = list(case, "steps")?;
    if steps.is_empty() {
        return Err("no steps".into());
    }
    for (i, s) in steps.iter().enumerate() {
        let at = |e: String| format!("step {}: {e}", i + 1);
        if uint(s, "step")? != (i + 1) as u64 {
            return Err(at("steps are not numbered in order".into()));
        }
        let (method, path) = (string(s, "method")?, string(s, "path")?);
        let status = uint(s, "status")?;
        let request = bytes(s, "request")?;
        let response = bytes(s, "response")?;
        let decoded = decode_request(&path, &request);
        if status >= 400 {
            let e = ErrorResponse::decode_exact(&response)
                .map_err(|e| at(format!("error response: {e}")))?;
            if s["error"]["code"].as_u64() != Some(u64::from(e.code)) {
                return Err(at("`error.code` differs from the response's code".into()));
            }
            if u64::from(status_of(e.code, &method, &path)) != status {
                return Err(at(format!(
                    "status {status} is not the status of code {}",
                    e.code
                )));
            }
            match (e.code, decoded) {
                (809, _) => {}
                (100..=199, Err(d)) if d.code() == e.code => {}
                (100..=199, other) => {
                    return Err(at(format!(
                        "the request should fail to decode with {}, got {other:?}",
                        e.code
                    )))
                }
                (_, Err(d)) => return Err(at(format!("the request does not decode: {d}"))),
                (_, Ok(_)) => {}
            }
            continue;
        }
        let Some(_) = decoded.map_err(|e| at(format!("request: {e}")))? else {
            return Err(at(format!(
                "{method} {path} is not a body endpoint of §12.1"
            )));
        };
        if s.get("error").is_some() {
            return Err(at("a success with an error".into()));
        }
        match (status, response_type(&path)) {
            (204, None) if response.is_empty() => {}
            (200, Some(ty)) => {
                core_view(ty, &response).map_err(|e| at(format!("response: {e}")))?;
            }
            _ => {
                return Err(at(format!(
                    "status {status} with this body is not {path}'s success"
                )))
            }
        }
        // What a client checks on the answers.
        match path.as_str() {
            "/v1/claim" => {
                let mailbox = ClaimRequest::decode_exact(&request)
                    .map_err(|e| at(e.to_string()))?
                    .mailbox;
                ClaimResponse::decode_exact(&response)
                    .and_then(|c| c.verify(&mailbox, clock))
                    .map_err(|e| at(format!("the claimed bundle does not verify: {e}")))?;
            }
            "/v1/fetch" => {
                let q = FetchRequest::decode_exact(&request).map_err(|e| at(e.to_string()))?;
                let r = FetchResponse::decode_exact(&response).map_err(|e| at(e.to_string()))?;
                if r.envelopes.len() > usize::from(q.limit) {
                    return Err(at("more envelopes than the limit".into()));
                }
                for e in &r.envelopes {
                    let env = RelayEnvelope::parse(&e.envelope).map_err(|e| at(e.to_string()))?;
                    if *env.mailbox() != q.capability.mailbox() || e.seq <= q.after {
                        return Err(at(
                            "an envelope of another mailbox, or not after `after`".into()
                        ));
                    }
                }
            }
            "/v1/publish" => {
                PublishRequest::decode_exact(&request)
                    .and_then(|p| p.check(clock))
                    .map_err(|e| at(format!("an accepted publication fails the checks: {e}")))?;
            }
            _ => {}
        }
    }
    Ok(())
}
