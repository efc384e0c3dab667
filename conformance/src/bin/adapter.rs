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
//! - `store`: a failed `handshake.accept` still deletes the one-time prekeys it named.
//!
//! `--unsupported PREFIX` answers `unsupported` for every operation whose name starts with
//! PREFIX (to exercise the runner's skip path).

use blindrelay::codec::{Decode, Encode, Reader};
use blindrelay::crypto::{aead, dh, kdf, kem, sig};
use blindrelay::fingerprint::{fingerprint_half, SafetyNumber};
use blindrelay::hazmat;
use blindrelay::wire::{InitialHeader, PrekeyKind};
use blindrelay::{
    IdentityKeyPair, IdentityPublicKey, MemoryPrekeyStore, PrekeyBundle, PrekeyStore, Session,
};
use blindrelay_conformance::party;
use blindrelay_conformance::util::{arr, bytes, h, string, uint};
use serde_json::{json, Value};
use sha2::Digest;
use std::collections::HashMap;
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

/// A responder's prekey store with the ids it was created with (to report which remain).
struct Store {
    identity: IdentityKeyPair,
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
                sig::verify(
                    &arr(r, "publicKey")?,
                    &bytes(r, "message")?,
                    &arr(r, "signature")?,
                )?;
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
                let (ct, ss) = kem::encapsulate(&arr(r, "encapsulationKey")?, &arr(r, "m")?)?;
                json!({ "ciphertext": h(ct), "sharedSecret": h(*ss) })
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
                let v = PrekeyBundle::decode_exact(&bytes(r, "bundle")?)?.verify()?;
                json!({ "identity": h(v.identity().to_array()) })
            }
            "handshake.initiator" => {
                let ours = IdentityKeyPair::from_seed(&arr(r, "identitySeed")?);
                let theirs = PrekeyBundle::decode_exact(&bytes(r, "bundle")?)?.verify()?;
                let (header, t) = hazmat::handshake_initiator(
                    &ours,
                    &theirs,
                    &arr(r, "ephemeralSecret")?,
                    &arr(r, "kemRandomness")?,
                )?;
                let okm = |from: usize| h(t.okm.get(from..from + 32).unwrap_or_default());
                json!({
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
            "handshake.accept" => {
                let msg = bytes(r, "initialMessage")?;
                let key = string(r, "store")?;
                let s = self
                    .stores
                    .get_mut(&key)
                    .ok_or_else(|| format!("no store {key}"))?;
                let (session, pt) = match blindrelay::accept(&s.identity, &mut s.store, &msg) {
                    Ok(v) => v,
                    Err(e) => {
                        if self.broken == Some(Broken::Store) {
                            s.one_time_ids
                                .iter()
                                .for_each(|i| s.store.remove_one_time_prekey(*i));
                            s.one_time_kem_ids
                                .iter()
                                .for_each(|i| s.store.remove_one_time_kem_prekey(*i));
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
                let s = Session::from_bytes(&bytes(r, "state")?)?;
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
                let mut wire = self.session(r)?.encrypt(&mut tape, &pt)?;
                if tape.overrun || tape.pos != tape.bytes.len() {
                    return Err(Fail::Bad(format!(
                        "encryption drew {} random bytes, the request gave {}",
                        tape.pos,
                        tape.bytes.len()
                    )));
                }
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
                match self.session(r)?.decrypt(&wire) {
                    Ok(pt) => json!({ "plaintext": h(pt) }),
                    Err(_) if broken == Some(Broken::ErrorCode) => {
                        return Err(blindrelay::Error::Decrypt.into())
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            "session.state" => json!({ "state": h(&*self.session(r)?.to_bytes()) }),
            _ => return Err(Fail::Unsupported),
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
                    eprintln!("usage: blindrelay-adapter [--broken[=encrypt|error-code|store]] [--unsupported OP-PREFIX]");
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
