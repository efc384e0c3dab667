//! `blindrelay-adapter`: the reference implementation of the conformance driver protocol
//! ("Testing another implementation" in `test-vectors/README.md`), built on the blindrelay
//! crate. It reads one JSON request per line on stdin and writes one JSON response per line
//! on stdout. Another implementation's adapter does the same with its own code; the runner
//! (`blindrelay-conformance drive -- <command>`) is shared.
//!
//! `--broken[=MODE]` (or the environment variable `BLINDRELAY_ADAPTER_BROKEN=MODE`) makes it
//! subtly wrong on purpose, so the runner's own tests can check that a wrong implementation
//! is caught:
//! - `encrypt` (the default): flips the lowest bit of the last byte of every
//!   `session.encrypt` output;
//! - `error-code`: reports every `session.decrypt` failure as `Decrypt` (200), as a lazy
//!   implementation that collapses its errors would;
//! - `store`: a failed `handshake.accept` or `envelope.accept` still deletes the party's
//!   one-time prekeys and records a replay-cache entry (commits before authenticating);
//! - `mailbox`: `envelope.open` ignores the expected mailbox (opens for whichever mailbox
//!   the envelope names);
//! - `e164`: `e164.parse` strips whitespace before parsing (lenient where §9.2 is strict).
//! - `ed25519`: `ed25519.verify` checks only the bare equation, with no order or
//!   canonicity checks (§3.1);
//! - `state`: `session.restore` accepts a state that breaks a §7.8 rule (`InvalidEncoding`);
//! - `mlkem`: the ML-KEM modulus check is off by one (a coefficient equal to q passes);
//! - `check-order`: the envelope decoder checks the ciphertext length's value before the
//!   remaining input (§2.3's order reversed).
//! - `ch2-id`: a `ch2` contact id is the first 32 bytes of the RFC 9497 output instead of
//!   its HKDF with the key epoch (§13.2), in `ch2.id`, `ch2.evaluate_unblinded` and
//!   `oprf.finalize_response`.
//!
//! `--unsupported PREFIX` answers `unsupported` for every operation whose name starts with
//! PREFIX (to exercise the runner's skip path).

use blindrelay::codec::{Decode, Encode, Reader};
use blindrelay::contact::{
    self, BatchKey, BucketBits, BucketEntry, ContactId, ContactSalt, DiscoveryParameters,
    DiscoverySecret, GenerationMark, LookupLedger, LookupRequest, LookupResponse, MatchTag,
    PhoneNumber, Registration, RelayId, SaltNonce,
};
use blindrelay::crypto::{aead, dh, kdf, kem, sig};
use blindrelay::envelope::{self, Envelope};
use blindrelay::fingerprint::{fingerprint_half, SafetyNumber};
use blindrelay::hazmat;
use blindrelay::keys::SealingKeySecret;
use blindrelay::wire::{InitialHeader, PrekeyKind};
use blindrelay::Error;
use blindrelay::{
    IdentityKeyPair, IdentityPublicKey, MemoryPrekeyStore, PrekeyBundle, PrekeyStore, Session,
};
use blindrelay_conformance::party;
use blindrelay_conformance::util::{arr, bytes, h, string, uint};
use serde_json::{json, Value};
use sha2::Digest;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};

/// Why a request produced no `ok` response.
enum Fail {
    /// The library refused: reported with its registry code and name.
    Lib(blindrelay::Error),
    /// The request itself is malformed (code 0, `BadRequest`).
    Bad(String),
    /// The operation is not implemented here.
    Unsupported,
}

impl From<blindrelay::Error> for Fail {
    fn from(e: blindrelay::Error) -> Self {
        Fail::Lib(e)
    }
}

impl From<String> for Fail {
    fn from(e: String) -> Self {
        Fail::Bad(e)
    }
}

/// A responder's prekey store with the ids it was created with (to report which remain),
/// and its envelope keys (sealing secret, mailbox) for `envelope.accept`.
struct Store {
    identity: IdentityKeyPair,
    sealing: SealingKeySecret,
    mailbox: [u8; 32],
    store: MemoryPrekeyStore,
    one_time_ids: Vec<u32>,
    one_time_kem_ids: Vec<u32>,
}

/// The deliberate faults of `--broken`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Broken {
    Encrypt,
    ErrorCode,
    Store,
    Mailbox,
    E164,
    /// `ed25519.verify` checks only the bare equation `R = [S]B - [k]A` (bytes of R), with no
    /// check of A's or R's order and no canonicity checks: what many libraries did.
    Ed25519,
    /// `session.restore` accepts a state that fails a §7.8 rule with `InvalidEncoding`.
    State,
    /// The ML-KEM modulus check is off by one (`coefficient > q` instead of `>= q`).
    MlKem,
    /// The envelope decoder checks a ciphertext length's value (a padded length) before
    /// the remaining input, so a cut envelope reports `InvalidEncoding`.
    CheckOrder,
    /// A `ch2` id is `output[0..32]`, not `HKDF(output, key epoch)` (spec §13.2).
    Ch2Id,
}

/// The bare Ed25519 equation of [`Broken::Ed25519`]: decompress A (reducing y, any order),
/// reduce S modulo l, and compare the encoding of `[S]B - [k]A` with R.
fn lax_ed25519(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Result<(), Error> {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::scalar::Scalar;
    use sha2::Digest;
    let a = CompressedEdwardsY(*public)
        .decompress()
        .ok_or(Error::InvalidPublicKey)?;
    let (r, s) = signature.split_at(32);
    let mut hs = sha2::Sha512::new();
    hs.update(r);
    hs.update(public);
    hs.update(message);
    let k = Scalar::from_hash(hs);
    let s = Scalar::from_bytes_mod_order(s.try_into().map_err(|_| Error::BadSignature)?);
    if (B * s - a * k).compress().as_bytes() == r {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

/// The off-by-one modulus check of [`Broken::MlKem`]: every 12-bit coefficient at most q.
fn lax_mlkem_check(ek: &[u8; 1184]) -> bool {
    ek[..1152].chunks_exact(3).all(|c| {
        let (a, b) = (
            u16::from(c[0]) | (u16::from(c[1] & 0x0f) << 8),
            u16::from(c[1] >> 4) | (u16::from(c[2]) << 4),
        );
        a <= 3329 && b <= 3329
    })
}

#[derive(Default)]
struct Adapter {
    broken: Option<Broken>,
    unsupported: Vec<String>,
    next: u64,
    sessions: HashMap<String, Session>,
    stores: HashMap<String, Store>,
}

/// An RNG that hands out exactly the bytes of the request's `random` field.
struct Replay {
    bytes: Vec<u8>,
    pos: usize,
    overrun: bool,
}

impl rand_core::RngCore for Replay {
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
            match self.bytes.get(self.pos) {
                Some(b) => *d = *b,
                None => self.overrun = true,
            }
            self.pos += 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for Replay {}

fn identity_public(b: &[u8; 64]) -> IdentityPublicKey {
    let (s, a) = b.split_at(32);
    let mut signing = [0u8; 32];
    let mut agreement = [0u8; 32];
    signing.copy_from_slice(s);
    agreement.copy_from_slice(a);
    IdentityPublicKey { signing, agreement }
}

fn id(v: &Value, key: &str) -> Result<u32, String> {
    u32::try_from(uint(v, key)?).map_err(|_| format!("`{key}` out of range"))
}

fn hkdf_len(salt: &[u8], ikm: &[u8], info: &[u8], len: u64) -> Result<Vec<u8>, Fail> {
    Ok(match len {
        32 => kdf::hkdf::<32>(salt, ikm, info).to_vec(),
        42 => kdf::hkdf::<42>(salt, ikm, info).to_vec(),
        64 => kdf::hkdf::<64>(salt, ikm, info).to_vec(),
        96 => kdf::hkdf::<96>(salt, ikm, info).to_vec(),
        _ => return Err(Fail::Unsupported),
    })
}

impl Adapter {
    fn handle(&mut self, op: &str, r: &Value) -> Result<Value, Fail> {
        if self.unsupported.iter().any(|p| op.starts_with(p.as_str())) {
            return Err(Fail::Unsupported);
        }
        Ok(match op {
            "hello" => json!({
                "implementation": format!(
                    "blindrelay-rust {}{}",
                    env!("CARGO_PKG_VERSION"),
                    if self.broken.is_some() { " (broken on purpose)" } else { "" }
                ),
                "specVersion": blindrelay::SPEC_VERSION,
            }),
            "x25519" => json!({ "output": h(*dh::x25519(&arr(r, "scalar")?, &arr(r, "u")?)?) }),
            "ed25519.sign" => {
                let key = hazmat::ed25519_signing_key(&arr(r, "secretKey")?);
                json!({
                    "publicKey": h(key.verifying_key().to_bytes()),
                    "signature": h(sig::sign(&key, &bytes(r, "message")?)),
                })
            }
            "ed25519.verify" => {
                let (public, message, signature) = (
                    arr(r, "publicKey")?,
                    bytes(r, "message")?,
                    arr(r, "signature")?,
                );
                if self.broken == Some(Broken::Ed25519) {
                    lax_ed25519(&public, &message, &signature)?;
                } else {
                    sig::verify(&public, &message, &signature)?;
                }
                json!({})
            }
            "aead.seal" | "aead.open" => {
                let key = arr::<32>(r, "key")?;
                let aad = bytes(r, "aad")?;
                let x = match string(r, "alg")?.as_str() {
                    "chacha20poly1305" => false,
                    "xchacha20poly1305" => true,
                    _ => return Err(Fail::Unsupported),
                };
                if op == "aead.seal" {
                    let pt = bytes(r, "plaintext")?;
                    let ct = if x {
                        aead::xseal(&key, &arr(r, "nonce")?, &aad, &pt)
                    } else {
                        aead::seal(&key, &arr(r, "nonce")?, &aad, &pt)
                    };
                    json!({ "ciphertext": h(ct) })
                } else {
                    let ct = bytes(r, "ciphertext")?;
                    let pt = if x {
                        aead::xopen(&key, &arr(r, "nonce")?, &aad, &ct)?
                    } else {
                        aead::open(&key, &arr(r, "nonce")?, &aad, &ct)?
                    };
                    json!({ "plaintext": h(pt) })
                }
            }
            "hkdf" => json!({ "okm": h(hkdf_len(
                &bytes(r, "salt")?,
                &bytes(r, "ikm")?,
                &bytes(r, "info")?,
                uint(r, "length")?,
            )?) }),
            "hmac" => json!({ "mac": h(*kdf::hmac_sha256(&bytes(r, "key")?, &bytes(r, "data")?)) }),
            "hash" => {
                let m = bytes(r, "message")?;
                match string(r, "alg")?.as_str() {
                    "sha256" => json!({ "digest": h(sha2::Sha256::digest(&m)) }),
                    "sha512" => json!({ "digest": h(sha2::Sha512::digest(&m)) }),
                    _ => return Err(Fail::Unsupported),
                }
            }
            "mlkem.keygen" => {
                json!({ "encapsulationKey": h(kem::encapsulation_key(&arr(r, "seed")?)) })
            }
            "mlkem.encaps" => {
                let ek = arr(r, "encapsulationKey")?;
                match kem::encapsulate(&ek, &arr(r, "m")?) {
                    Ok((ct, ss)) => json!({ "ciphertext": h(ct), "sharedSecret": h(*ss) }),
                    // The off-by-one check lets a key with a coefficient equal to q through;
                    // what it would then compute is beside the point.
                    Err(Error::InvalidPublicKey)
                        if self.broken == Some(Broken::MlKem) && lax_mlkem_check(&ek) =>
                    {
                        json!({ "ciphertext": h([0u8; 1088]), "sharedSecret": h([0u8; 32]) })
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            "mlkem.decaps" => json!({
                "sharedSecret": h(*kem::decapsulate(&arr(r, "seed")?, &arr(r, "ciphertext")?)),
            }),
            "identity.derive" => {
                let seed = arr::<32>(r, "seed")?;
                let (ed, x) = hazmat::identity_secrets(&seed);
                let id = IdentityKeyPair::from_seed(&seed);
                json!({
                    "ed25519Seed": h(*ed), "x25519Secret": h(*x),
                    "signingPublic": h(id.public().signing),
                    "agreementPublic": h(id.public().agreement),
                    "identityPublic": h(id.public().to_array()),
                })
            }
            "safety_number" => {
                let a = identity_public(&arr(r, "identityA")?);
                let b = identity_public(&arr(r, "identityB")?);
                let sn = SafetyNumber::new(&a, &b);
                json!({
                    "fingerprintA": h(fingerprint_half(&a)),
                    "fingerprintB": h(fingerprint_half(&b)),
                    "displayable": sn.displayable(),
                    "scannable": h(sn.scannable()),
                })
            }
            "bundle.create" => {
                let p = party::build(&r["party"])?;
                let b = &p.bundle;
                let spk = PrekeyBundle::signature_input(
                    blindrelay_conformance::bundles::CONTEXT,
                    PrekeyKind::SignedX25519,
                    &[&b.signed_prekey.id.to_be_bytes(), &b.signed_prekey.key],
                );
                let rec = PrekeyBundle::signature_input(
                    blindrelay_conformance::bundles::CONTEXT,
                    PrekeyKind::Sealing,
                    &[&b.identity.agreement, &b.mailbox, &b.sealing_key],
                );
                json!({
                    "bundle": h(b.to_bytes()),
                    "signedPrekeySignatureInput": h(spk),
                    "identityRecordSignatureInput": h(rec),
                })
            }
            "bundle.verify" => {
                let b = PrekeyBundle::decode_exact(&bytes(r, "bundle")?)?;
                let v = match r.get("expectedIdentity") {
                    Some(_) => b.verify_for(&IdentityPublicKey::decode_exact(&bytes(
                        r,
                        "expectedIdentity",
                    )?)?)?,
                    None => b.verify()?,
                };
                json!({ "identity": h(v.identity().to_array()) })
            }
            "handshake.initiator" => {
                let ours = IdentityKeyPair::from_seed(&arr(r, "identitySeed")?);
                let record = blindrelay::IdentityRecord::create(
                    &ours,
                    arr(r, "mailbox")?,
                    &blindrelay::keys::SealingKeySecret::from_bytes(arr(r, "sealingSecret")?),
                );
                let theirs = PrekeyBundle::decode_exact(&bytes(r, "bundle")?)?.verify()?;
                let (header, t) = hazmat::handshake_initiator(
                    &ours,
                    &record,
                    &theirs,
                    &arr(r, "ephemeralSecret")?,
                    &arr(r, "kemRandomness")?,
                )?;
                let okm = |from: usize| h(t.okm.get(from..from + 32).unwrap_or_default());
                json!({
                    "initiatorRecord": h(header.initiator.to_bytes()),
                    "header": h(header.to_bytes()),
                    "kemCiphertext": h(*header.kem_ciphertext),
                    "dh": t.dh.iter().map(h).collect::<Vec<_>>(),
                    "kemSharedSecret": h(t.kem_shared_secret),
                    "transcriptHash": h(t.transcript_hash),
                    "ikm": h(&t.ikm),
                    "info": h(&t.info),
                    "okm": h(&t.okm),
                    "rootKey": okm(0),
                    "initiatorHeaderKey": okm(32),
                    "responderNextHeaderKey": okm(64),
                    "associatedData": h(&t.associated_data),
                })
            }
            "handshake.responder" => {
                let mut p = party::build(&r["party"])?;
                for e in r
                    .get("replayCache")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    p.store
                        .record_replay(id(e, "signedPrekeyId")?, arr(e, "ephemeral")?);
                }
                let hb = bytes(r, "header")?;
                let mut rd = Reader::new(&hb);
                let header = InitialHeader::decode(&mut rd)?;
                rd.finish()?;
                let t = hazmat::handshake_responder(&p.identity, &p.store, &header)?;
                json!({
                    "okm": h(&t.okm),
                    "associatedData": h(&t.associated_data),
                    "transcriptHash": h(t.transcript_hash),
                })
            }
            "store.create" => {
                let party = &r["party"];
                let p = party::build(party)?;
                let ids = |key: &str| -> Result<Vec<u32>, String> {
                    Ok(match party.get(key) {
                        Some(_) => vec![id(party, key)?],
                        None => Vec::new(),
                    })
                };
                let store = Store {
                    identity: p.identity,
                    sealing: p.sealing,
                    mailbox: p.mailbox,
                    store: p.store,
                    one_time_ids: ids("oneTimePrekeyId")?,
                    one_time_kem_ids: ids("oneTimeKemPrekeyId")?,
                };
                let handle = self.handle_name("store");
                self.stores.insert(handle.clone(), store);
                json!({ "store": handle })
            }
            "store.state" => {
                let s = self.store(r)?;
                let present = |ids: &[u32], f: &dyn Fn(u32) -> bool| -> Vec<u32> {
                    ids.iter().copied().filter(|i| f(*i)).collect()
                };
                json!({
                    "oneTimePrekeyIds": present(&s.one_time_ids, &|i| s.store.one_time_prekey(i).is_some()),
                    "oneTimeKemPrekeyIds": present(&s.one_time_kem_ids, &|i| s.store.one_time_kem_prekey(i).is_some()),
                    "digest": h(s.store.state_digest()),
                })
            }
            "handshake.accept" | "envelope.accept" => {
                let key = string(r, "store")?;
                let broken = self.broken;
                let s = self
                    .stores
                    .get_mut(&key)
                    .ok_or_else(|| format!("no store {key}"))?;
                let result = if op == "handshake.accept" {
                    blindrelay::accept(&s.identity, &mut s.store, &bytes(r, "initialMessage")?)
                } else {
                    Envelope::decode_exact(&bytes(r, "envelope")?)
                        .and_then(|env| envelope::open(&s.sealing, &s.mailbox, &env))
                        .and_then(|opened| {
                            blindrelay::accept_opened(&s.identity, &mut s.store, &opened)
                        })
                };
                let (session, pt) = match result {
                    Ok(v) => v,
                    Err(e) => {
                        if broken == Some(Broken::Store) {
                            s.one_time_ids
                                .iter()
                                .for_each(|i| s.store.remove_one_time_prekey(*i));
                            s.one_time_kem_ids
                                .iter()
                                .for_each(|i| s.store.remove_one_time_kem_prekey(*i));
                            // And a replay-cache entry, so that a store without one-time
                            // prekeys changes too.
                            s.store.record_replay(0, [0xff; 32]);
                        }
                        return Err(e.into());
                    }
                };
                let remote = session.remote_identity().to_array();
                let handle = self.handle_name("session");
                self.sessions.insert(handle.clone(), session);
                json!({ "session": handle, "plaintext": h(pt), "remoteIdentity": h(remote) })
            }
            "ratchet.root_step" => {
                let [rk, ck, nhk] =
                    hazmat::ratchet_root_step(&arr(r, "rootKey")?, &arr(r, "dhOutput")?);
                json!({ "nextRootKey": h(*rk), "chainKey": h(*ck), "nextHeaderKey": h(*nhk) })
            }
            "ratchet.chain_step" => {
                let (mk, ck) = hazmat::ratchet_chain_step(&arr(r, "chainKey")?);
                json!({ "messageKey": h(*mk), "nextChainKey": h(*ck) })
            }
            "session.restore" => {
                let state = bytes(r, "state")?;
                let s = match Session::from_bytes(&state) {
                    Ok(s) => s,
                    // A lenient decoder: the rule is skipped, and the handle is a session
                    // that would go on with whatever the state says.
                    Err(Error::InvalidEncoding { .. }) if self.broken == Some(Broken::State) => {
                        let handle = self.handle_name("session");
                        return Ok(json!({ "session": handle }));
                    }
                    Err(e) => return Err(e.into()),
                };
                let handle = self.handle_name("session");
                self.sessions.insert(handle.clone(), s);
                json!({ "session": handle })
            }
            "session.encrypt" => {
                let pt = bytes(r, "plaintext")?;
                let mut tape = Replay {
                    bytes: bytes(r, "random")?,
                    pos: 0,
                    overrun: false,
                };
                let broken = self.broken;
                let result = self.session(r)?.encrypt(&mut tape, &pt);
                // A failed encryption must also have drawn exactly the given bytes (§7.4:
                // none before MessageTooLarge, ApiMisuse or CounterExhausted).
                if tape.overrun || tape.pos != tape.bytes.len() {
                    return Err(Fail::Bad(format!(
                        "encryption drew {} random bytes, the request gave {}",
                        tape.pos,
                        tape.bytes.len()
                    )));
                }
                let mut wire = result?;
                if broken == Some(Broken::Encrypt) {
                    if let Some(b) = wire.last_mut() {
                        *b ^= 0x01;
                    }
                }
                json!({ "wire": h(wire) })
            }
            "session.decrypt" => {
                let wire = bytes(r, "wire")?;
                let broken = self.broken;
                match self.session(r)?.decrypt_message(&wire) {
                    Ok(d) => json!({
                        "plaintext": h(d.plaintext),
                        "position": { "chain": d.position.chain, "number": d.position.number },
                    }),
                    Err(_) if broken == Some(Broken::ErrorCode) => {
                        return Err(blindrelay::Error::Decrypt.into())
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            "session.state" => json!({ "state": h(&*self.session(r)?.to_bytes()) }),
            "session.decrypt_envelope" => {
                let sealing = SealingKeySecret::from_bytes(arr(r, "recipientSealingSecret")?);
                let env = Envelope::decode_exact(&bytes(r, "envelope")?)?;
                let opened = envelope::open(&sealing, &arr(r, "mailbox")?, &env)?;
                let plaintext = self.session(r)?.decrypt_opened(&opened)?;
                json!({ "plaintext": h(plaintext) })
            }
            "session.route" => {
                let s = self.session(r)?;
                let watches: Vec<Value> = s
                    .receiving_capabilities()
                    .iter()
                    .map(|c| h(c.mailbox()))
                    .collect();
                json!({
                    "sendingMailbox": s.sending_mailbox().map(h).unwrap_or(Value::Null),
                    "probe": s.next_send_is_probe(),
                    "watches": watches,
                })
            }
            "pairwise.seal" => {
                let pt = bytes(r, "plaintext")?;
                let mut tape = Replay {
                    bytes: bytes(r, "random")?,
                    pos: 0,
                    overrun: false,
                };
                let result = self.session(r)?.seal_pairwise(&mut tape, &pt);
                // Refused sends too must draw exactly the given bytes (none).
                if tape.overrun || tape.pos != tape.bytes.len() {
                    return Err(Fail::Bad(format!(
                        "sealing drew {} random bytes, the request gave {}",
                        tape.pos,
                        tape.bytes.len()
                    )));
                }
                json!({ "envelope": h(result?) })
            }
            "pairwise.open" => {
                let envelope = bytes(r, "envelope")?;
                let d = self.session(r)?.open_pairwise(&envelope)?;
                json!({
                    "plaintext": h(d.plaintext),
                    "position": { "chain": d.position.chain, "number": d.position.number },
                })
            }
            "session.seal" => {
                let key = blindrelay::StorageKey::from_bytes(arr(r, "storageKey")?);
                let epoch = r["epoch"].as_u64().ok_or_else(|| "epoch".to_string())?;
                let (slot, nonce) = (bytes(r, "slot")?, arr(r, "nonce")?);
                let sealed =
                    hazmat::seal_session_with_nonce(self.session(r)?, &key, &slot, epoch, &nonce)?;
                json!({ "sealed": h(sealed) })
            }
            "session.open" => {
                let key = blindrelay::StorageKey::from_bytes(arr(r, "storageKey")?);
                let local = IdentityPublicKey::decode_exact(&bytes(r, "localIdentity")?)?;
                let remote = IdentityPublicKey::decode_exact(&bytes(r, "remoteIdentity")?)?;
                let (s, epoch) = Session::open(
                    &key,
                    &local,
                    &remote,
                    &bytes(r, "slot")?,
                    &bytes(r, "sealed")?,
                )?;
                json!({ "state": h(&*s.to_bytes()), "epoch": epoch })
            }
            _ => {
                return envelope_op(op, r, self.broken).or_else(|f| match f {
                    Fail::Unsupported => contact_op(op, r, self.broken).or_else(|f| match f {
                        Fail::Unsupported => ch2_op(op, r, self.broken).or_else(|f| match f {
                            Fail::Unsupported => relay_op(op, r).or_else(|f| match f {
                                Fail::Unsupported => group_op(op, r),
                                other => Err(other),
                            }),
                            other => Err(other),
                        }),
                        other => Err(other),
                    }),
                    other => Err(other),
                })
            }
        })
    }

    fn handle_name(&mut self, what: &str) -> String {
        self.next += 1;
        format!("{what}-{}", self.next)
    }

    fn session(&mut self, r: &Value) -> Result<&mut Session, String> {
        let key = string(r, "session")?;
        self.sessions
            .get_mut(&key)
            .ok_or_else(|| format!("no session {key}"))
    }

    fn store(&self, r: &Value) -> Result<&Store, String> {
        let key = string(r, "store")?;
        self.stores
            .get(&key)
            .ok_or_else(|| format!("no store {key}"))
    }
}

fn main() -> std::process::ExitCode {
    let mut adapter = Adapter::default();
    let mut modes: Vec<String> = std::env::var("BLINDRELAY_ADAPTER_BROKEN")
        .into_iter()
        .collect();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--broken" => modes.push("encrypt".into()),
            "--unsupported" => adapter.unsupported.extend(args.next()),
            _ => match a.strip_prefix("--broken=") {
                Some(m) => modes.push(m.into()),
                None => {
                    eprintln!("usage: blindrelay-adapter [--broken[=encrypt|error-code|store|mailbox|e164|ed25519|state|mlkem|check-order|ch2-id]] [--unsupported OP-PREFIX]");
                    return std::process::ExitCode::from(2);
                }
            },
        }
    }
    for m in modes {
        adapter.broken = Some(match m.as_str() {
            "encrypt" | "1" => Broken::Encrypt,
            "error-code" => Broken::ErrorCode,
            "store" => Broken::Store,
            "mailbox" => Broken::Mailbox,
            "e164" => Broken::E164,
            "ed25519" => Broken::Ed25519,
            "state" => Broken::State,
            "mlkem" => Broken::MlKem,
            "check-order" => Broken::CheckOrder,
            "ch2-id" => Broken::Ch2Id,
            other => {
                eprintln!("blindrelay-adapter: unknown --broken mode {other}");
                return std::process::ExitCode::from(2);
            }
        });
    }
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let response = match serde_json::from_str::<Value>(&line) {
            Err(e) => {
                json!({ "id": null, "error": { "code": 0, "name": "BadRequest", "message": e.to_string() } })
            }
            Ok(req) => {
                let id = req.get("id").cloned().unwrap_or(Value::Null);
                let op = req.get("op").and_then(Value::as_str).unwrap_or("");
                match adapter.handle(op, &req) {
                    Ok(v) => json!({ "id": id, "ok": v }),
                    Err(Fail::Lib(e)) => {
                        json!({ "id": id, "error": { "code": e.code(), "name": e.name() } })
                    }
                    Err(Fail::Bad(m)) => {
                        json!({ "id": id, "error": { "code": 0, "name": "BadRequest", "message": m } })
                    }
                    Err(Fail::Unsupported) => json!({ "id": id, "unsupported": true }),
                }
            }
        };
        if writeln!(out, "{response}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return std::process::ExitCode::FAILURE;
        }
    }
    std::process::ExitCode::SUCCESS
}

fn u32_field(v: &Value, key: &str) -> Result<u32, String> {
    u32::try_from(uint(v, key)?).map_err(|_| format!("`{key}` out of range"))
}

fn u8_field(v: &Value, key: &str) -> Result<u8, String> {
    u8::try_from(uint(v, key)?).map_err(|_| format!("`{key}` out of range"))
}

fn usize_field(v: &Value, key: &str) -> Result<usize, String> {
    usize::try_from(uint(v, key)?).map_err(|_| format!("`{key}` out of range"))
}

/// The operations of spec §8: HPKE, padding, envelopes.
/// `Envelope::decode_exact`, or with [`Broken::CheckOrder`] the value check of the
/// ciphertext length before the input length.
fn decode_envelope(data: &[u8], broken: Option<Broken>) -> Result<Envelope, Error> {
    let result = Envelope::decode_exact(data);
    if broken == Some(Broken::CheckOrder) && result == Err(Error::Truncated) {
        if let Some(len) = data.get(66..70) {
            let c = u32::from_be_bytes(len.try_into().map_err(|_| Error::Truncated)?);
            let padded = (c as usize)
                .checked_sub(16)
                .is_some_and(blindrelay::envelope::is_padded_len);
            if !padded {
                return Err(Error::InvalidEncoding {
                    field: "envelope.ciphertext",
                });
            }
        }
    }
    result
}

fn envelope_op(op: &str, r: &Value, broken: Option<Broken>) -> Result<Value, Fail> {
    Ok(match op {
        "hpke.derive_key_pair" => {
            let sk = hazmat::hpke_derive_key_pair(&bytes(r, "ikm")?);
            json!({
                "secretKey": h(*sk),
                "publicKey": h(SealingKeySecret::from_bytes(*sk).public_key()),
            })
        }
        "hpke.seal" => {
            let (enc, ct, t) = hazmat::hpke_seal_base(
                &arr(r, "ikmE")?,
                &arr(r, "recipientPublicKey")?,
                &bytes(r, "info")?,
                &bytes(r, "aad")?,
                &bytes(r, "plaintext")?,
            )?;
            json!({
                "enc": h(enc),
                "sharedSecret": h(*t.shared_secret),
                "key": h(*t.key),
                "baseNonce": h(t.base_nonce),
                "exporterSecret": h(*t.exporter_secret),
                "ciphertext": h(ct),
            })
        }
        "hpke.open" => json!({ "plaintext": h(hazmat::hpke_open_base(
            &arr(r, "recipientSecretKey")?,
            &arr(r, "enc")?,
            &bytes(r, "info")?,
            &bytes(r, "aad")?,
            &bytes(r, "ciphertext")?,
        )?) }),
        "padding.length" => {
            let n = usize_field(r, "contentLength")?;
            let p = envelope::padded_len(n).ok_or(blindrelay::Error::MessageTooLarge)?;
            json!({ "paddedLength": p })
        }
        "envelope.seal" => {
            let sender = IdentityPublicKey::decode_exact(&bytes(r, "sender")?)?;
            let (env, t) = hazmat::envelope_seal(
                &arr(r, "ikmE")?,
                &arr(r, "mailbox")?,
                &arr(r, "recipientSealingKey")?,
                &sender,
                &bytes(r, "inner")?,
            )?;
            json!({
                "ephemeralSecret": h(*t.ephemeral_secret),
                "enc": h(t.enc),
                "info": h(&t.info),
                "sharedSecret": h(*t.shared_secret),
                "key": h(*t.key),
                "baseNonce": h(*t.base_nonce),
                "content": h(&t.content),
                "paddedContent": h(&*t.padded),
                "ciphertext": h(&t.ciphertext),
                "envelope": h(env.to_bytes()),
            })
        }
        "mailbox.id" => {
            let cap = blindrelay::route::ReadCapability::from_bytes(arr(r, "capability")?);
            json!({ "mailbox": h(cap.mailbox()) })
        }
        "pairwise.capability" => {
            let cap = hazmat::pairwise_capability(&arr(r, "headerKey")?);
            json!({ "capability": h(cap.to_bytes()) })
        }
        "relay.parse" => {
            let data = bytes(r, "envelope")?;
            let env = blindrelay::envelope::RelayEnvelope::parse(&data)?;
            json!({ "mailbox": h(env.mailbox()), "length": env.encoded_len() })
        }
        "envelope.parse" => {
            let env = decode_envelope(&bytes(r, "envelope")?, broken)?;
            json!({
                "mailbox": h(env.mailbox()),
                "enc": h(env.enc()),
                "ciphertext": h(env.ciphertext()),
            })
        }
        "envelope.open_any" => {
            let secrets = r["recipientSealingSecrets"]
                .as_array()
                .ok_or_else(|| Fail::Bad("recipientSealingSecrets".into()))?
                .iter()
                .map(|v| {
                    let b: [u8; 32] = hex::decode(v.as_str().unwrap_or(""))
                        .map_err(|e| Fail::Bad(e.to_string()))?
                        .try_into()
                        .map_err(|_| Fail::Bad("a sealing secret is 32 bytes".into()))?;
                    Ok(SealingKeySecret::from_bytes(b))
                })
                .collect::<Result<Vec<_>, Fail>>()?;
            let live: Vec<&SealingKeySecret> = secrets.iter().collect();
            let env = decode_envelope(&bytes(r, "envelope")?, broken)?;
            let opened = envelope::open_any(&live, &arr(r, "mailbox")?, &env)?;
            json!({
                "sender": h(opened.sender.to_array()),
                "innerType": opened.inner_type.0,
                "inner": h(&opened.inner),
            })
        }
        "envelope.open" => {
            let secret = SealingKeySecret::from_bytes(arr(r, "recipientSealingSecret")?);
            let env = decode_envelope(&bytes(r, "envelope")?, broken)?;
            let mut expected = arr(r, "mailbox")?;
            if broken == Some(Broken::Mailbox) {
                expected = *env.mailbox();
            }
            let opened = envelope::open(&secret, &expected, &env)?;
            json!({
                "sender": h(opened.sender.to_array()),
                "innerType": opened.inner_type.0,
                "inner": h(&opened.inner),
            })
        }
        _ => return Err(Fail::Unsupported),
    })
}

fn contact_ids(r: &Value) -> Result<Vec<ContactId>, String> {
    r["contactIds"]
        .as_array()
        .ok_or("missing array `contactIds`")?
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

/// Verifies `discoveryParameters` under `relayKey` as a client at `now` whose stored
/// generation mark for that key is `generationMark` (spec §9.6): the verified parameters
/// and the mark after.
fn verified_params(r: &Value) -> Result<(contact::VerifiedDiscovery, GenerationMark), Fail> {
    let mut mark = GenerationMark::from_bytes(&bytes(r, "generationMark")?)?;
    let now = uint(r, "now")?;
    let v = DiscoveryParameters::decode_exact(&bytes(r, "discoveryParameters")?)?.verify(
        &arr(r, "relayKey")?,
        now,
        &mut mark,
    )?;
    Ok((v, mark))
}

fn hex_requests(requests: &[LookupRequest]) -> Value {
    requests.iter().map(|q| h(q.to_bytes())).collect()
}

/// The stored ledger of a request: `lookupLedger`, or a new one for `""`.
fn ledger_of(r: &Value, v: &contact::VerifiedDiscovery) -> Result<LookupLedger, Fail> {
    let stored = bytes(r, "lookupLedger")?;
    Ok(if stored.is_empty() {
        LookupLedger::new(v)
    } else {
        LookupLedger::from_bytes(&stored)?
    })
}

/// The §9.7 dummy draw from a batch key's bytes. The core has no constructor of a
/// `BatchKey` from bytes (only `BatchKey::derive`), so this applies the formula of
/// `contact::dummy_prefix` with the core's HKDF and `BucketBits::prefix_of`.
fn dummy_from_key(key: &[u8; 32], b: BucketBits, request: u32, index: u32) -> u32 {
    let mut info = b"blindrelay v1 contact dummy prefix\x00".to_vec();
    info.extend_from_slice(&request.to_be_bytes());
    info.extend_from_slice(&index.to_be_bytes());
    let okm: zeroize::Zeroizing<[u8; 4]> = kdf::hkdf(&[], key, &info);
    b.prefix_of(*okm)
}

fn argon2_failed(e: argon2::Error) -> Fail {
    Fail::Bad(format!("argon2: {e}"))
}

/// The operations of spec §9: contact discovery, suite ch1.
/// The relay API's messages and checks (§12).
fn relay_op(op: &str, r: &Value) -> Result<Value, Fail> {
    use blindrelay::relay::{ClaimResponse, PublishRequest, UploadKeysRequest};
    let now = |r: &Value| -> Result<u64, Fail> {
        r["now"]
            .as_u64()
            .ok_or_else(|| Fail::Bad("now is not an integer".into()))
    };
    Ok(match op {
        "relay.decode" => {
            let ty = u8::try_from(r["messageType"].as_u64().unwrap_or(u64::MAX))
                .map_err(|_| Fail::Bad("messageType is not a byte".into()))?;
            let encoding = bytes(r, "encoding")?;
            let (fields, again) = blindrelay_conformance::relay::core_view(ty, &encoding)?;
            let mut out = json!({ "fields": fields, "encoding": h(again) });
            if ty == 0x20 {
                let p = blindrelay::relay::Publication::decode_exact(&encoding)?;
                out["signatureInput"] = h(p.signature_input());
            }
            out
        }
        "relay.publish_check" => {
            PublishRequest::decode_exact(&bytes(r, "publishRequest")?)?.check(now(r)?)?;
            json!({})
        }
        "relay.claim_verify" => {
            let v = ClaimResponse::decode_exact(&bytes(r, "claimResponse")?)?
                .verify(&arr(r, "mailbox")?, now(r)?)?;
            json!({ "identity": h(v.identity().to_array()), "bundle": h(v.bundle().to_bytes()) })
        }
        "relay.upload_verify" => {
            let identity = IdentityPublicKey::decode_exact(&bytes(r, "identity")?)?;
            UploadKeysRequest::decode_exact(&bytes(r, "uploadKeysRequest")?)?
                .verify_keys(&identity)?;
            json!({})
        }
        _ => return Err(Fail::Unsupported),
    })
}

fn contact_op(op: &str, r: &Value, broken: Option<Broken>) -> Result<Value, Fail> {
    Ok(match op {
        "e164.parse" => {
            let mut input = string(r, "input")?;
            if broken == Some(Broken::E164) {
                input.retain(|c| !c.is_whitespace());
            }
            json!({ "canonical": PhoneNumber::parse_canonical(&input)?.as_str() })
        }
        "e164.normalize" => {
            json!({ "canonical": contact::normalize_lenient(&string(r, "input")?)?.as_str() })
        }
        "contact.relay_id" => {
            json!({ "relayId": h(RelayId::from_relay_key(&arr(r, "relayKey")?).0) })
        }
        "contact.salt" => json!({ "salt": h(ContactSalt::derive(
            &RelayId(arr(r, "relayId")?),
            u32_field(r, "saltGeneration")?,
            &SaltNonce(arr(r, "saltNonce")?),
        ).0) }),
        "argon2id" => {
            use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};
            if uint(r, "version")? != 0x13 {
                return Err(Fail::Unsupported);
            }
            let ad = bytes(r, "associatedData")?;
            let params = ParamsBuilder::new()
                .m_cost(u32_field(r, "memoryKiB")?)
                .t_cost(u32_field(r, "passes")?)
                .p_cost(u32_field(r, "lanes")?)
                .output_len(usize_field(r, "length")?)
                .data(AssociatedData::new(&ad).map_err(argon2_failed)?)
                .build()
                .map_err(argon2_failed)?;
            let secret = bytes(r, "secret")?;
            let a = Argon2::new_with_secret(&secret, Algorithm::Argon2id, Version::V0x13, params)
                .map_err(argon2_failed)?;
            let mut tag = vec![0u8; usize_field(r, "length")?];
            a.hash_password_into(&bytes(r, "password")?, &bytes(r, "salt")?, &mut tag)
                .map_err(argon2_failed)?;
            json!({ "tag": h(tag) })
        }
        "contact.argon2id" => {
            use argon2::{Algorithm, Argon2, Params, Version};
            let params = Params::new(
                contact::hash::ARGON2_M_COST_KIB,
                contact::hash::ARGON2_T_COST,
                contact::hash::ARGON2_P_COST,
                Some(contact::hash::CONTACT_ID_LEN),
            )
            .map_err(argon2_failed)?;
            let mut tag = [0u8; contact::hash::CONTACT_ID_LEN];
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(&bytes(r, "password")?, &bytes(r, "salt")?, &mut tag)
                .map_err(argon2_failed)?;
            json!({ "tag": h(tag) })
        }
        "contact.id" => {
            let number = PhoneNumber::parse_canonical(&string(r, "e164")?)?;
            let id = contact::contact_id(ContactSalt(arr(r, "salt")?), &number)?;
            json!({ "password": h(&*contact::password(&number)), "contactId": h(id.as_bytes()) })
        }
        "contact.bucket" => {
            let id = ContactId::from_bytes(arr(r, "contactId")?);
            let b = BucketBits::new(u8_field(r, "bucketBits")?)?;
            json!({ "prefix": contact::bucket_prefix(&id, b), "matchTag": h(MatchTag::of(&id).0) })
        }
        "contact.dummy_prefix" => json!({ "prefix": dummy_from_key(
            &arr(r, "batchKey")?,
            BucketBits::new(u8_field(r, "bucketBits")?)?,
            u32_field(r, "request")?,
            u32_field(r, "index")?,
        ) }),
        "lookup.batch_key" => {
            let reals = r["realPrefixes"]
                .as_array()
                .ok_or_else(|| "missing array `realPrefixes`".to_string())?
                .iter()
                .map(|p| {
                    p.as_u64()
                        .and_then(|p| u32::try_from(p).ok())
                        .ok_or_else(|| "a real prefix is not a u32".to_string())
                })
                .collect::<Result<Vec<u32>, String>>()?;
            let key = BatchKey::derive(
                &DiscoverySecret::from_bytes(&arr(r, "clientSecret")?),
                &RelayId(arr(r, "relayId")?),
                u32_field(r, "saltGeneration")?,
                BucketBits::new(u8_field(r, "bucketBits")?)?,
                &reals,
            );
            json!({ "batchKey": h(*key.to_bytes()) })
        }
        "discovery.sign" => {
            let relay = IdentityKeyPair::from_seed(&arr(r, "relayIdentitySeed")?);
            let max = u16::try_from(uint(r, "maxSizeClass")?)
                .map_err(|_| "`maxSizeClass` out of range".to_string())?;
            let p = DiscoveryParameters::sign(
                &relay,
                u32_field(r, "saltGeneration")?,
                &SaltNonce(arr(r, "saltNonce")?),
                BucketBits::new(u8_field(r, "bucketBits")?)?,
                max,
                uint(r, "issuedAt")?,
                uint(r, "expiresAt")?,
            )?;
            json!({ "discoveryParameters": h(p.to_bytes()), "signatureInput": h(p.signature_input()) })
        }
        "discovery.verify" => {
            let (v, mark) = verified_params(r)?;
            let p = v.params();
            json!({
                "relayId": h(v.relay_id().0),
                "salt": h(v.salt().0),
                "saltGeneration": p.salt_generation(),
                "saltNonce": h(p.salt_nonce()),
                "bucketBits": p.bucket_bits().get(),
                "maxSizeClass": p.max_size_class(),
                "issuedAt": p.issued_at(),
                "expiresAt": p.expires_at(),
                "generationMarkAfter": h(mark.to_bytes()),
                "suite": p.suite().id(),
                "oracleKey": p.oracle().map(|o| h(o.oracle_key)).unwrap_or(Value::Null),
                "keyEpoch": p.oracle().map(|o| json!(o.key_epoch)).unwrap_or(Value::Null),
            })
        }
        "discovery.admit" => {
            let mark = GenerationMark::from_bytes(&bytes(r, "generationMark")?)?
                .admit(u32_field(r, "saltGeneration")?, uint(r, "now")?)?;
            json!({ "generationMarkAfter": h(mark.to_bytes()) })
        }
        "discovery.parse_mark" => {
            let mark = GenerationMark::from_bytes(&bytes(r, "generationMark")?)?;
            match mark.seen() {
                Some((generation, since)) => {
                    json!({ "seen": true, "saltGeneration": generation, "since": since })
                }
                None => json!({ "seen": false }),
            }
        }
        "lookup.batch" => {
            let (v, _) = verified_params(r)?;
            let secret = DiscoverySecret::from_bytes(&arr(r, "clientSecret")?);
            json!({ "lookupRequests": hex_requests(&v.lookup_batch(&secret, &contact_ids(r)?)?) })
        }
        "lookup.ledger_plan" => {
            let (v, _) = verified_params(r)?;
            let secret = DiscoverySecret::from_bytes(&arr(r, "clientSecret")?);
            let mut ledger = ledger_of(r, &v)?;
            let requests = ledger.plan(&v, &secret, &contact_ids(r)?)?;
            json!({ "lookupRequests": hex_requests(&requests), "lookupLedger": h(ledger.to_bytes()) })
        }
        "lookup.ledger_requests" => {
            let (v, _) = verified_params(r)?;
            let secret = DiscoverySecret::from_bytes(&arr(r, "clientSecret")?);
            json!({ "lookupRequests": hex_requests(&ledger_of(r, &v)?.requests(&v, &secret)?) })
        }
        "lookup.ledger_parse" => {
            let ledger = LookupLedger::from_bytes(&bytes(r, "lookupLedger")?)?;
            json!({
                "saltGeneration": ledger.salt_generation(),
                "batchCount": ledger.batch_count(),
                "lookupLedger": h(ledger.to_bytes()),
            })
        }
        "lookup.parse_request" => {
            let req = LookupRequest::decode_exact(&bytes(r, "lookupRequest")?)?;
            json!({
                "saltGeneration": req.salt_generation(),
                "bucketBits": req.bucket_bits().get(),
                "prefixes": req.prefixes(),
            })
        }
        "lookup.check" => {
            let p = DiscoveryParameters::decode_exact(&bytes(r, "discoveryParameters")?)?;
            p.check_request(&LookupRequest::decode_exact(&bytes(r, "lookupRequest")?)?)?;
            json!({})
        }
        "registration.create" => {
            let reg = Registration::new(
                u32_field(r, "saltGeneration")?,
                arr(r, "contactId")?,
                &bytes(r, "record")?,
            )?;
            json!({ "registration": h(reg.to_bytes()) })
        }
        "registration.parse" => {
            let reg = Registration::decode_exact(&bytes(r, "registration")?)?;
            json!({
                "saltGeneration": reg.salt_generation(),
                "contactId": h(reg.contact_id()),
                "record": h(reg.record()),
            })
        }
        "lookup.answer" => {
            let p = DiscoveryParameters::decode_exact(&bytes(r, "discoveryParameters")?)?;
            let req = LookupRequest::decode_exact(&bytes(r, "lookupRequest")?)?;
            let mut buckets: BTreeMap<u32, Vec<BucketEntry>> = BTreeMap::new();
            for reg in r["registrations"]
                .as_array()
                .ok_or_else(|| "missing array `registrations`".to_string())?
            {
                let b = hex::decode(
                    reg.as_str()
                        .ok_or_else(|| "registration not a string".to_string())?,
                )
                .map_err(|e| e.to_string())?;
                let (prefix, entry) = p.bucket_entry(&Registration::decode_exact(&b)?)?;
                buckets.entry(prefix).or_default().push(entry);
            }
            let resp = p.answer(&req, |prefix| {
                buckets.get(&prefix).cloned().unwrap_or_default()
            })?;
            json!({ "lookupResponse": h(resp.to_bytes()) })
        }
        "lookup.parse_response" => {
            let resp = LookupResponse::decode_exact(&bytes(r, "lookupResponse")?)?;
            json!({
                "saltGeneration": resp.salt_generation(),
                "bucketBits": resp.bucket_bits().get(),
                "prefixes": resp.buckets().iter().map(|b| b.prefix()).collect::<Vec<_>>(),
            })
        }
        "lookup.match" => {
            let (v, _) = verified_params(r)?;
            let req = LookupRequest::decode_exact(&bytes(r, "lookupRequest")?)?;
            let resp = LookupResponse::decode_exact(&bytes(r, "lookupResponse")?)?;
            let matches: Vec<Value> = v
                .match_response(&req, &resp, &contact_ids(r)?)?
                .iter()
                .map(|m| json!({ "contact": m.contact, "records": m.records.iter().map(h).collect::<Vec<_>>() }))
                .collect();
            json!({ "matches": matches })
        }
        _ => return Err(Fail::Unsupported),
    })
}

fn list32(r: &Value, key: &str) -> Result<Vec<[u8; 32]>, String> {
    r[key]
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

fn list_bytes(r: &Value, key: &str) -> Result<Vec<Vec<u8>>, String> {
    r[key]
        .as_array()
        .ok_or_else(|| format!("missing array `{key}`"))?
        .iter()
        .map(|x| hex::decode(x.as_str().ok_or("not a hex string")?).map_err(|e| e.to_string()))
        .collect()
}

fn ch2_ids(r: &Value) -> Result<Vec<contact::Ch2Id>, String> {
    Ok(list32(r, "ch2Ids")?
        .into_iter()
        .map(contact::Ch2Id::from_bytes)
        .collect())
}

fn verified_oracle(r: &Value) -> Result<contact::VerifiedOracle, Fail> {
    Ok(
        contact::OracleParameters::decode_exact(&bytes(r, "oracleParameters")?)?
            .verify(&arr(r, "oracleKey")?, uint(r, "now")?)?,
    )
}

/// The `ch2` id of an RFC 9497 output (spec §13.2). The core exposes no entry point from
/// an output to a `Ch2Id` (only `BlindState::finalize` and `OracleKey::evaluate_unblinded`),
/// so the reference adapter applies the formula with the core's HKDF.
fn ch2_id_of(output: &[u8], key_epoch: u32, broken: Option<Broken>) -> [u8; 32] {
    if broken == Some(Broken::Ch2Id) {
        let mut id = [0u8; 32];
        id.copy_from_slice(output.get(..32).unwrap_or(&[0u8; 32]));
        return id;
    }
    let mut info = b"blindrelay v1 ch2 contact id\x00".to_vec();
    info.extend_from_slice(&key_epoch.to_be_bytes());
    *kdf::hkdf::<32>(&[], output, &info)
}

/// The operations of suite `ch2` (spec §13, §14): RFC 9497, the oracle, the OPRF messages
/// and discovery with `ch2` ids.
fn ch2_op(op: &str, r: &Value, broken: Option<Broken>) -> Result<Value, Fail> {
    use blindrelay_conformance::ch2::{relay_request_decode, relay_request_encode, ScalarTape};
    use contact::{
        BlindedElement, Ch2Id, EvaluatedElement, Evaluation, OprfRequest, OprfResponse, OracleKey,
        OracleParameters, OraclePublicKey,
    };
    Ok(match op {
        "oprf.derive_key" => {
            let key = hazmat::oprf_oracle_key_with_info(&bytes(r, "seed")?, &bytes(r, "info")?, 0)?;
            json!({ "publicKey": h(key.public_key().to_bytes()) })
        }
        "oprf.key_from_scalar" => {
            let key = hazmat::oprf_oracle_key_from_scalar(&arr(r, "secretKey")?, 0)?;
            json!({ "publicKey": h(key.public_key().to_bytes()) })
        }
        "oprf.blind" => {
            let inputs = list_bytes(r, "inputs")?;
            let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
            let (_, blinded) = hazmat::oprf_blind_with(&refs, &list32(r, "blinds")?)?;
            json!({ "blindedElements": blinded.iter().map(|b| h(b.to_bytes())).collect::<Vec<_>>() })
        }
        "oprf.evaluate" => {
            let key = hazmat::oprf_oracle_key_with_info(&bytes(r, "seed")?, &bytes(r, "info")?, 0)?;
            let blinded = list32(r, "blindedElements")?
                .iter()
                .map(BlindedElement::from_bytes)
                .collect::<Result<Vec<_>, _>>()?;
            let ev = hazmat::oprf_evaluate_with_proof_scalar(
                &key,
                &blinded,
                &arr(r, "proofRandomScalar")?,
            )?;
            json!({
                "evaluationElements": ev.elements.iter().map(|e| h(e.to_bytes())).collect::<Vec<_>>(),
                "proof": h(ev.proof),
            })
        }
        "oprf.finalize" => {
            let inputs = list_bytes(r, "inputs")?;
            let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
            let (state, _) = hazmat::oprf_blind_with(&refs, &list32(r, "blinds")?)?;
            let ev = Evaluation {
                elements: list32(r, "evaluationElements")?
                    .iter()
                    .map(EvaluatedElement::from_bytes)
                    .collect::<Result<_, _>>()?,
                proof: arr(r, "proof")?,
            };
            let pk = OraclePublicKey::from_bytes(arr(r, "publicKey")?)?;
            let outs = hazmat::oprf_finalize_outputs(state, &pk, &ev)?;
            json!({ "outputs": outs.iter().map(|o| h(o.as_slice())).collect::<Vec<_>>() })
        }
        "ch2.oracle_key" => {
            let epoch = u32_field(r, "keyEpoch")?;
            let key = OracleKey::derive(&arr(r, "oracleSeed")?, epoch)?;
            json!({
                "info": h(contact::oprf::oracle_key_info(epoch)),
                "publicKey": h(key.public_key().to_bytes()),
            })
        }
        "ch2.id" => {
            json!({ "ch2Id": h(ch2_id_of(&bytes(r, "output")?, u32_field(r, "keyEpoch")?, broken)) })
        }
        "ch2.evaluate_unblinded" => {
            let epoch = u32_field(r, "keyEpoch")?;
            let key = OracleKey::derive(&arr(r, "oracleSeed")?, epoch)?;
            let contact: [u8; 32] = arr(r, "contactId")?;
            let id = if broken == Some(Broken::Ch2Id) {
                // Through the output: any blind gives the same one.
                let mut one = [0u8; 32];
                one[0] = 1;
                let (state, blinded) = hazmat::oprf_blind_with(&[contact.as_slice()], &[one])?;
                let ev = hazmat::oprf_evaluate_with_proof_scalar(&key, &blinded, &one)?;
                let outs = hazmat::oprf_finalize_outputs(state, &key.public_key(), &ev)?;
                ch2_id_of(
                    outs.first().map(|o| o.as_slice()).unwrap_or(&[]),
                    epoch,
                    broken,
                )
            } else {
                *key.evaluate_unblinded(&ContactId::from_bytes(contact))?
                    .as_bytes()
            };
            json!({ "ch2Id": h(id) })
        }
        "discovery.sign_ch2" => {
            let relay = IdentityKeyPair::from_seed(&arr(r, "relayIdentitySeed")?);
            let max = u16::try_from(uint(r, "maxSizeClass")?)
                .map_err(|_| "`maxSizeClass` out of range".to_string())?;
            let p = DiscoveryParameters::sign_ch2(
                &relay,
                u32_field(r, "saltGeneration")?,
                &SaltNonce(arr(r, "saltNonce")?),
                BucketBits::new(u8_field(r, "bucketBits")?)?,
                max,
                contact::OracleBinding {
                    oracle_key: arr(r, "oracleKey")?,
                    key_epoch: u32_field(r, "keyEpoch")?,
                },
                (uint(r, "issuedAt")?, uint(r, "expiresAt")?),
            )?;
            json!({ "discoveryParameters": h(p.to_bytes()), "signatureInput": h(p.signature_input()) })
        }
        "oracle.sign" => {
            let key = OracleKey::derive(&arr(r, "oracleSeed")?, u32_field(r, "keyEpoch")?)?;
            let p = OracleParameters::sign(
                &IdentityKeyPair::from_seed(&arr(r, "oracleIdentitySeed")?),
                &key,
                uint(r, "issuedAt")?,
                uint(r, "expiresAt")?,
            )?;
            json!({ "oracleParameters": h(p.to_bytes()), "signatureInput": h(p.signature_input()) })
        }
        "oracle.verify" => {
            let p = OracleParameters::decode_exact(&bytes(r, "oracleParameters")?)?;
            let (issued_at, expires_at) = (p.issued_at(), p.expires_at());
            let v = p.verify(&arr(r, "oracleKey")?, uint(r, "now")?)?;
            json!({
                "keyEpoch": v.key_epoch(),
                "publicKey": h(v.public_key().to_bytes()),
                "issuedAt": issued_at,
                "expiresAt": expires_at,
            })
        }
        "oprf.request" => {
            let (v, _) = verified_params(r)?;
            let vo = verified_oracle(r)?;
            let mut tape = ScalarTape::new(&list32(r, "blinds")?);
            let (_, req) = vo.request(&mut tape, &v, &contact_ids(r)?)?;
            json!({ "oprfRequest": h(req.to_bytes()) })
        }
        "oprf.parse_request" => {
            let req = OprfRequest::decode_exact(&bytes(r, "oprfRequest")?)?;
            json!({ "keyEpoch": req.key_epoch(), "blindedElements": req.blinded().iter().map(h).collect::<Vec<_>>() })
        }
        "oprf.parse_response" => {
            let resp = OprfResponse::decode_exact(&bytes(r, "oprfResponse")?)?;
            json!({
                "keyEpoch": resp.key_epoch(),
                "evaluationElements": resp.evaluated().iter().map(h).collect::<Vec<_>>(),
                "proof": h(resp.proof()),
            })
        }
        "oprf.relay_request" => {
            let req = OprfRequest::decode_exact(&bytes(r, "oprfRequest")?)?;
            json!({ "oprfRelayRequest": h(relay_request_encode(&arr(r, "capability")?, &req)) })
        }
        "oprf.parse_relay_request" => {
            let (capability, req) = relay_request_decode(&bytes(r, "oprfRelayRequest")?)?;
            json!({ "capability": h(capability), "oprfRequest": h(req.to_bytes()) })
        }
        "oracle.answer" => {
            let key = OracleKey::derive(&arr(r, "oracleSeed")?, u32_field(r, "keyEpoch")?)?;
            let req = OprfRequest::decode_exact(&bytes(r, "oprfRequest")?)?;
            let mut tape = ScalarTape::new(&[arr(r, "proofRandomScalar")?]);
            json!({ "oprfResponse": h(key.answer(&mut tape, &req)?.to_bytes()) })
        }
        "oprf.finalize_response" => {
            let vo = verified_oracle(r)?;
            let contacts = list32(r, "contactIds")?;
            let refs: Vec<&[u8]> = contacts.iter().map(|c| c.as_slice()).collect();
            let (state, _) = hazmat::oprf_blind_with(&refs, &list32(r, "blinds")?)?;
            let resp = OprfResponse::decode_exact(&bytes(r, "oprfResponse")?)?;
            let ids: Vec<[u8; 32]> = if broken == Some(Broken::Ch2Id) {
                if resp.key_epoch() != vo.key_epoch() {
                    return Err(Error::LookupMismatch.into());
                }
                let ev = Evaluation {
                    elements: resp
                        .evaluated()
                        .iter()
                        .map(EvaluatedElement::from_bytes)
                        .collect::<Result<_, _>>()?,
                    proof: *resp.proof(),
                };
                hazmat::oprf_finalize_outputs(state, vo.public_key(), &ev)?
                    .iter()
                    .map(|o| ch2_id_of(o.as_slice(), vo.key_epoch(), broken))
                    .collect()
            } else {
                vo.finalize(state, &resp)?
                    .iter()
                    .map(|i| *i.as_bytes())
                    .collect()
            };
            json!({ "ch2Ids": ids.iter().map(h).collect::<Vec<_>>() })
        }
        "ch2.lookup_batch" => {
            let (v, _) = verified_params(r)?;
            let secret = DiscoverySecret::from_bytes(&arr(r, "clientSecret")?);
            json!({ "lookupRequests": hex_requests(&v.lookup_batch(&secret, &ch2_ids(r)?)?) })
        }
        "ch2.register" => {
            let (v, _) = verified_params(r)?;
            let reg = v.register_discoverable(
                &Ch2Id::from_bytes(arr(r, "ch2Id")?),
                &bytes(r, "record")?,
            )?;
            json!({ "registration": h(reg.to_bytes()) })
        }
        "discovery.register" => {
            let (v, _) = verified_params(r)?;
            let reg = v.register_discoverable(
                &ContactId::from_bytes(arr(r, "contactId")?),
                &bytes(r, "record")?,
            )?;
            json!({ "registration": h(reg.to_bytes()) })
        }
        "registration.check" => {
            let p = DiscoveryParameters::decode_exact(&bytes(r, "discoveryParameters")?)?;
            let (prefix, entry) =
                p.bucket_entry(&Registration::decode_exact(&bytes(r, "registration")?)?)?;
            json!({ "prefix": prefix, "matchTag": h(entry.tag), "record": h(entry.record) })
        }
        "ch2.match" => {
            let (v, _) = verified_params(r)?;
            let req = LookupRequest::decode_exact(&bytes(r, "lookupRequest")?)?;
            let resp = LookupResponse::decode_exact(&bytes(r, "lookupResponse")?)?;
            let matches: Vec<Value> = v
                .match_response(&req, &resp, &ch2_ids(r)?)?
                .iter()
                .map(|m| json!({ "contact": m.contact, "records": m.records.iter().map(h).collect::<Vec<_>>() }))
                .collect();
            json!({ "matches": matches })
        }
        _ => return Err(Fail::Unsupported),
    })
}

/// Blind groups (§15): the core's `group` module and the `blindrelay-groups` crate.
fn group_op(op: &str, r: &Value) -> Result<Value, Fail> {
    use blindrelay::group::{CommitRequest, EpochKeys, GroupEnvelope};
    use blindrelay_groups::message::{blind, BlindMessage};
    let keys = |r: &Value| -> Result<EpochKeys, Fail> {
        Ok(EpochKeys::from_exporter_secret(&arr(r, "exporterSecret")?))
    };
    Ok(match op {
        "group.epoch_keys" => {
            let k = keys(r)?;
            json!({ "token": h(k.token().to_bytes()), "capability": h(k.capability().to_bytes()), "mailbox": h(k.mailbox()) })
        }
        "group.seal" => {
            // The nonce is the sender's only random input: replay it as the RNG's output.
            let mut rng = Replay {
                bytes: bytes(r, "nonce")?,
                pos: 0,
                overrun: false,
            };
            let env = keys(r)?.seal(&bytes(r, "blindMessage")?, &mut rng)?;
            json!({ "envelope": h(env.to_bytes()) })
        }
        "group.open" => {
            let env = GroupEnvelope::parse(&bytes(r, "envelope")?)?;
            json!({ "blindMessage": h(&*keys(r)?.open(&env)?) })
        }
        "group.parse" => {
            let env = GroupEnvelope::parse(&bytes(r, "envelope")?)?;
            json!({ "mailbox": h(env.mailbox()) })
        }
        "group.commit_check" => {
            let req = CommitRequest::parse(&bytes(r, "request")?)?;
            req.check()?;
            json!({ "mailbox": h(req.envelope().mailbox()) })
        }
        "group.blind" => {
            json!({ "blindMessage": h(blind(&bytes(r, "privateMessage")?, &bytes(r, "groupId")?, uint(r, "epoch")?)?) })
        }
        "group.unblind" => {
            let b = bytes(r, "blindMessage")?;
            let m = BlindMessage::parse(&b)?;
            json!({ "privateMessage": h(m.to_mls(&bytes(r, "groupId")?, uint(r, "epoch")?)?) })
        }
        "group.certify" => {
            let identity = IdentityKeyPair::from_seed(&arr(r, "identitySeed")?);
            let c = blindrelay::group::certify_group_key(&identity, &arr(r, "mlsSignatureKey")?);
            json!({ "credential": h(c.to_bytes()) })
        }
        "group.verify_credential" => {
            let id = blindrelay::group::verify_group_key(
                &bytes(r, "credential")?,
                &bytes(r, "mlsSignatureKey")?,
            )?;
            json!({ "identity": h(id.to_array()) })
        }
        "group.invite_parse" => {
            let inv = blindrelay_groups::message::Invite::parse(&bytes(r, "invite")?)?;
            json!({ "welcome": h(&inv.welcome), "tree": h(&inv.tree) })
        }
        "group.passive_client" => {
            blindrelay_conformance::group::passive_client_run(r).map_err(Fail::Bad)?
        }
        _ => return Err(Fail::Unsupported),
    })
}
