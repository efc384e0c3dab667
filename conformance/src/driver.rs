//! The runner side of the driver protocol ("Testing another implementation" in
//! `test-vectors/README.md`): it starts an implementation's adapter as a child process,
//! speaks JSON lines on its stdin/stdout, translates every vector case into requests,
//! and compares the responses with the case's expected values.
//!
//! The runner does no protocol work itself: every derivation, encoding and check is the
//! implementation's; the runner only compares bytes (and hashes a session state to compare
//! it with a transcript's `finalStateSha256`). Adding a vector kind is one arm in
//! [`drive_case`].

use crate::util::{bytes, expect_eq, expected_code, is_valid, kind, string};
use serde_json::{json, Map, Value};
use sha2::Digest;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

/// How long the runner waits for one response before declaring the adapter hung.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// One response of the adapter.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `{"ok": {...}}`: the outputs.
    Ok(Value),
    /// `{"error": {"code", "name"}}`: the operation failed with this error code.
    Error { code: u16, name: String },
    /// `{"unsupported": true}`: the implementation does not offer the operation.
    Unsupported,
}

/// Why a case stopped before passing.
#[derive(Debug)]
pub enum Stop {
    /// The implementation does not support an operation the case needs (or the runner has
    /// no translation for the case's kind): counted as skipped.
    Skip(String),
    /// A mismatch, an unexpected error or a transport failure.
    Fail(String),
}

impl From<String> for Stop {
    fn from(e: String) -> Self {
        Stop::Fail(e)
    }
}

/// A running adapter process.
pub struct Adapter {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<std::io::Result<String>>,
    next_id: u64,
    dead: Option<String>,
    /// The `implementation` string from `hello`.
    pub implementation: String,
    /// The `specVersion` from `hello`.
    pub spec_version: String,
}

impl Adapter {
    /// Starts `command[0]` with the remaining arguments and performs the `hello` exchange.
    pub fn spawn(command: &[String]) -> Result<Self, String> {
        let (prog, args) = command.split_first().ok_or("no adapter command given")?;
        let mut child = Command::new(prog)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {prog}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let end = line.is_err();
                if tx.send(line).is_err() || end {
                    break;
                }
            }
        });
        let mut a = Adapter {
            stdin: child.stdin.take(),
            child,
            lines,
            next_id: 0,
            dead: None,
            implementation: String::new(),
            spec_version: String::new(),
        };
        match a.call("hello", json!({}))? {
            Reply::Ok(v) => {
                a.implementation = string(&v, "implementation")?;
                a.spec_version = string(&v, "specVersion")?;
                Ok(a)
            }
            other => Err(format!("hello failed: {other:?}")),
        }
    }

    /// Sends one request (`op` plus the fields of `args`) and waits for its response.
    /// Transport failures (the adapter exited, wrote something that is not a response to
    /// this request, or hung) are errors, and make every later call fail at once.
    pub fn call(&mut self, op: &str, args: Value) -> Result<Reply, String> {
        if let Some(why) = &self.dead {
            return Err(format!("adapter unusable: {why}"));
        }
        let r = self.exchange(op, args);
        if let Err(e) = &r {
            self.dead = Some(e.clone());
        }
        r
    }

    fn exchange(&mut self, op: &str, args: Value) -> Result<Reply, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut req = Map::new();
        req.insert("id".into(), json!(id));
        req.insert("op".into(), json!(op));
        if let Value::Object(m) = args {
            req.extend(m);
        }
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "{}", Value::Object(req))
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("{op}: writing the request: {e}"))?;
        let line = match self.lines.recv_timeout(RESPONSE_TIMEOUT) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(format!("{op}: reading the response: {e}")),
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "{op}: no response within {}s",
                    RESPONSE_TIMEOUT.as_secs()
                ))
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(format!("{op}: the adapter closed its stdout (exited?)"))
            }
        };
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| format!("{op}: response is not JSON ({e}): {line}"))?;
        if v.get("id").and_then(Value::as_u64) != Some(id) {
            return Err(format!(
                "{op}: response id differs from request id {id}: {line}"
            ));
        }
        if let Some(ok) = v.get("ok") {
            return Ok(Reply::Ok(ok.clone()));
        }
        if v.get("unsupported") == Some(&Value::Bool(true)) {
            return Ok(Reply::Unsupported);
        }
        if let Some(e) = v.get("error") {
            let code = e
                .get("code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .ok_or_else(|| format!("{op}: error without a u16 code: {line}"))?;
            let name = e.get("name").and_then(Value::as_str).unwrap_or("").into();
            return Ok(Reply::Error { code, name });
        }
        Err(format!(
            "{op}: response has none of ok, error, unsupported: {line}"
        ))
    }

    /// Calls `op` and requires success: an error fails the case, `unsupported` skips it.
    pub fn ok(&mut self, op: &str, args: Value) -> Result<Value, Stop> {
        match self.call(op, args)? {
            Reply::Ok(v) => Ok(v),
            Reply::Unsupported => Err(Stop::Skip(format!("{op} unsupported"))),
            Reply::Error { code, name } => Err(Stop::Fail(format!(
                "{op}: expected success, got error {code} ({name})"
            ))),
        }
    }

    /// Restores the case's `state` (§7.8) and returns the session handle.
    fn restore_state(&mut self, case: &Value) -> Result<Value, Stop> {
        Ok(self.ok("session.restore", pick(case, &["state"]))?["session"].clone())
    }

    /// Requires that `session`'s state encoding is still the case's `state` (a refused
    /// operation changed nothing).
    fn state_unchanged(&mut self, session: &Value, case: &Value, what: &str) -> Result<(), Stop> {
        let after = self.ok("session.state", json!({ "session": session }))?;
        same(what, case, "state", &after, "state")
    }

    /// Calls `op` and requires the error the (invalid) `case` names.
    pub fn err(&mut self, case: &Value, op: &str, args: Value) -> Result<(), Stop> {
        let want = expected_code(case)?;
        match self.call(op, args)? {
            Reply::Error { code, .. } if code == want => Ok(()),
            Reply::Error { code, name } => Err(Stop::Fail(format!(
                "{op}: expected error {want} ({}), got error {code} ({name})",
                case["error"]["name"].as_str().unwrap_or("")
            ))),
            Reply::Unsupported => Err(Stop::Skip(format!("{op} unsupported"))),
            Reply::Ok(_) => Err(Stop::Fail(format!(
                "{op}: expected error {want}, but the operation succeeded"
            ))),
        }
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        // Closing stdin asks the adapter to exit; kill it if it does not.
        drop(self.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compares the hex field `key` of a response with the field `want_key` of `want`.
fn same(op: &str, want: &Value, want_key: &str, got: &Value, key: &str) -> Result<(), Stop> {
    let got = bytes(got, key).map_err(|e| Stop::Fail(format!("{op} response: {e}")))?;
    expect_eq(want, want_key, got).map_err(|e| Stop::Fail(format!("{op}: {e}")))
}

/// Compares a non-hex JSON field (a number, an object, an array) of a response with the
/// case's field of the same name.
fn same_json(op: &str, want: &Value, got: &Value, key: &str) -> Result<(), Stop> {
    if want[key] == got[key] {
        Ok(())
    } else {
        Err(Stop::Fail(format!(
            "{op}: `{key}` mismatch\n  expected: {}\n  got:      {}",
            want[key], got[key]
        )))
    }
}

/// Compares every listed hex field of a response with the case's field of the same name.
fn all_same(op: &str, case: &Value, got: &Value, keys: &[&str]) -> Result<(), Stop> {
    keys.iter().try_for_each(|k| same(op, case, k, got, k))
}

/// Picks fields of the case as request arguments (hex strings stay hex strings).
fn pick(case: &Value, keys: &[&str]) -> Value {
    let mut m = Map::new();
    for k in keys {
        if let Some(v) = case.get(*k) {
            m.insert((*k).to_string(), v.clone());
        }
    }
    Value::Object(m)
}

/// Compares JSON (non-hex) fields of a response with the case's fields of the same name:
/// numbers, strings, arrays.
fn all_equal(op: &str, case: &Value, got: &Value, keys: &[&str]) -> Result<(), Stop> {
    for k in keys {
        let Some(want) = case.get(*k) else {
            return Err(Stop::Fail(format!("{op}: the case has no field `{k}`")));
        };
        if got.get(*k) != Some(want) {
            return Err(Stop::Fail(format!(
                "{op}: `{k}` mismatch\n  expected: {want}\n  got:      {}",
                got.get(*k).unwrap_or(&Value::Null)
            )));
        }
    }
    Ok(())
}

/// The X25519 base point (u = 9): `x25519(secret, BASE)` is the public key of `secret`.
const X25519_BASE: &str = "0900000000000000000000000000000000000000000000000000000000000000";

fn hexjoin(case: &Value, a: &str, b: &str) -> Result<Value, Stop> {
    let mut v = bytes(case, a)?;
    v.extend(bytes(case, b)?);
    Ok(Value::String(hex::encode(v)))
}

/// The fields a client's verification of discovery parameters takes (spec §9.6): the
/// pinned relay key, the parameters, the clock and the stored generation mark.
const VERIFY: &[&str] = &["relayKey", "discoveryParameters", "now", "generationMark"];

/// `discovery.verify` of a case's parameters, which must succeed; checks the mark after
/// when the case gives it, and returns the verified fields.
fn verify_discovery(a: &mut Adapter, case: &Value) -> Result<Value, Stop> {
    let v = a.ok("discovery.verify", pick(case, VERIFY))?;
    if case.get("generationMarkAfter").is_some() {
        all_same("discovery.verify", case, &v, &["generationMarkAfter"])?;
    }
    Ok(v)
}

/// Translates one case into requests and checks the responses. Unknown kinds are skipped
/// (reported), so a new vector file never breaks an older runner silently.
pub fn drive_case(a: &mut Adapter, case: &Value) -> Result<(), Stop> {
    let k = kind(case)?;
    match k.as_str() {
        // primitives.json (§3)
        "x25519" => {
            let args = pick(case, &["scalar", "u"]);
            if is_valid(case) {
                let r = a.ok("x25519", args)?;
                all_same("x25519", case, &r, &["output"])
            } else {
                a.err(case, "x25519", args)
            }
        }
        "ed25519" => {
            let r = a.ok("ed25519.sign", pick(case, &["secretKey", "message"]))?;
            all_same("ed25519.sign", case, &r, &["publicKey", "signature"])?;
            a.ok(
                "ed25519.verify",
                pick(case, &["publicKey", "message", "signature"]),
            )
            .map(drop)
        }
        "chacha20poly1305" | "xchacha20poly1305" => {
            let sealed = hexjoin(case, "ciphertext", "tag")?;
            let mut open = pick(case, &["key", "nonce", "aad"]);
            open["alg"] = json!(k);
            open["ciphertext"] = sealed.clone();
            if !is_valid(case) {
                return a.err(case, "aead.open", open);
            }
            let mut seal = pick(case, &["key", "nonce", "aad", "plaintext"]);
            seal["alg"] = json!(k);
            let r = a.ok("aead.seal", seal)?;
            same(
                "aead.seal",
                &json!({ "ciphertext || tag": sealed }),
                "ciphertext || tag",
                &r,
                "ciphertext",
            )?;
            let r = a.ok("aead.open", open)?;
            all_same("aead.open", case, &r, &["plaintext"])
        }
        "hkdf-sha256" => {
            let mut args = pick(case, &["salt", "ikm", "info"]);
            args["length"] = json!(bytes(case, "okm")?.len());
            let r = a.ok("hkdf", args)?;
            all_same("hkdf", case, &r, &["okm"])
        }
        "hmac-sha256" => {
            let r = a.ok("hmac", pick(case, &["key", "data"]))?;
            all_same("hmac", case, &r, &["mac"])
        }
        "sha256" | "sha512" => {
            let mut args = pick(case, &["message"]);
            args["alg"] = json!(k);
            let r = a.ok("hash", args)?;
            all_same("hash", case, &r, &["digest"])
        }
        "ml-kem-768" => {
            let r = a.ok("mlkem.keygen", pick(case, &["seed"]))?;
            all_same("mlkem.keygen", case, &r, &["encapsulationKey"])?;
            let r = a.ok("mlkem.encaps", pick(case, &["encapsulationKey", "m"]))?;
            all_same("mlkem.encaps", case, &r, &["ciphertext", "sharedSecret"])?;
            let r = a.ok("mlkem.decaps", pick(case, &["seed", "ciphertext"]))?;
            all_same("mlkem.decaps", case, &r, &["sharedSecret"])
        }
        "ml-kem-768-ek" if is_valid(case) => {
            let r = a.ok("mlkem.encaps", pick(case, &["encapsulationKey", "m"]))?;
            all_same("mlkem.encaps", case, &r, &["ciphertext", "sharedSecret"])
        }
        "ml-kem-768-ek" => {
            let mut args = pick(case, &["encapsulationKey"]);
            args["m"] = json!("00".repeat(32));
            a.err(case, "mlkem.encaps", args)
        }
        "ed25519-verify" => {
            let args = pick(case, &["publicKey", "message", "signature"]);
            if is_valid(case) {
                a.ok("ed25519.verify", args).map(drop)
            } else {
                a.err(case, "ed25519.verify", args)
            }
        }
        // identities.json (§4)
        "identity" => {
            let r = a.ok("identity.derive", pick(case, &["seed"]))?;
            all_same(
                "identity.derive",
                case,
                &r,
                &[
                    "ed25519Seed",
                    "x25519Secret",
                    "signingPublic",
                    "agreementPublic",
                    "identityPublic",
                ],
            )
        }
        "safety-number" => {
            for (x, y) in [("A", "B"), ("B", "A")] {
                let args = json!({ "identityA": case[format!("identity{x}")], "identityB": case[format!("identity{y}")] });
                let r = a.ok("safety_number", args)?;
                same(
                    "safety_number",
                    case,
                    &format!("fingerprint{x}"),
                    &r,
                    "fingerprintA",
                )?;
                same(
                    "safety_number",
                    case,
                    &format!("fingerprint{y}"),
                    &r,
                    "fingerprintB",
                )?;
                all_same("safety_number", case, &r, &["scannable"])?;
                same_json("safety_number", case, &r, "displayable")?;
            }
            Ok(())
        }
        // bundles.json (§5)
        "bundle" => {
            let r = a.ok("bundle.create", json!({ "party": case["secrets"] }))?;
            all_same(
                "bundle.create",
                case,
                &r,
                &[
                    "bundle",
                    "signedPrekeySignatureInput",
                    "identityRecordSignatureInput",
                ],
            )?;
            let id = a.ok(
                "identity.derive",
                json!({ "seed": case["secrets"]["identitySeed"] }),
            )?;
            let r = a.ok("bundle.verify", pick(case, &["bundle"]))?;
            same("bundle.verify", &id, "identityPublic", &r, "identity")
        }
        "bundle-expected" => {
            let args = pick(case, &["bundle", "expectedIdentity"]);
            if is_valid(case) {
                a.ok("bundle.verify", args).map(drop)
            } else {
                a.err(case, "bundle.verify", args)
            }
        }
        "bundle-negative" | "bundle-refused" => {
            a.err(case, "bundle.verify", pick(case, &["bundle"]))
        }
        // handshake.json (§6)
        "handshake" => {
            let id = a.ok(
                "identity.derive",
                json!({ "seed": case["initiatorIdentitySeed"] }),
            )?;
            same(
                "identity.derive",
                case,
                "initiatorIdentity",
                &id,
                "identityPublic",
            )?;
            let b = a.ok("bundle.create", json!({ "party": case["responder"] }))?;
            all_same("bundle.create", case, &b, &["bundle"])?;
            let mut args = pick(case, &["bundle", "ephemeralSecret", "kemRandomness"]);
            args["identitySeed"] = case["initiatorIdentitySeed"].clone();
            args["mailbox"] = case["initiatorMailbox"].clone();
            args["sealingSecret"] = case["initiatorSealingSecret"].clone();
            let r = a.ok("handshake.initiator", args)?;
            all_same(
                "handshake.initiator",
                case,
                &r,
                &[
                    "initiatorRecord",
                    "header",
                    "kemCiphertext",
                    "kemSharedSecret",
                    "transcriptHash",
                    "ikm",
                    "info",
                    "okm",
                    "rootKey",
                    "initiatorHeaderKey",
                    "responderNextHeaderKey",
                    "associatedData",
                ],
            )?;
            same_json("handshake.initiator", case, &r, "dh")?;
            let mut args = pick(case, &["header"]);
            args["party"] = case["responder"].clone();
            let r = a.ok("handshake.responder", args)?;
            all_same(
                "handshake.responder",
                case,
                &r,
                &["okm", "associatedData", "transcriptHash"],
            )
        }
        "responder-negative" => {
            let mut args = pick(case, &["header", "replayCache"]);
            args["party"] = case["responder"].clone();
            a.err(case, "handshake.responder", args)
        }
        "accept" | "accept-negative" => {
            let st = a.ok("store.create", json!({ "party": case["responder"] }))?;
            let store = st["store"].clone();
            let before = a.ok("store.state", json!({ "store": store }))?;
            let args = json!({ "store": store, "initialMessage": case["initialMessage"] });
            if !is_valid(case) {
                a.err(case, "handshake.accept", args)?;
                let after = a.ok("store.state", json!({ "store": store }))?;
                if after != before {
                    return Err(Stop::Fail(format!(
                        "a failed handshake.accept changed the store\n  before: {before}\n  after:  {after}"
                    )));
                }
                return Ok(());
            }
            let r = a.ok("handshake.accept", args)?;
            all_same("handshake.accept", case, &r, &["plaintext"])?;
            same(
                "handshake.accept",
                case,
                "initiatorIdentity",
                &r,
                "remoteIdentity",
            )?;
            let after = a.ok("store.state", json!({ "store": store }))?;
            for (list, id_key) in [
                ("oneTimePrekeyIds", "oneTimePrekeyId"),
                ("oneTimeKemPrekeyIds", "oneTimeKemPrekeyId"),
            ] {
                let Some(used) = case["responder"].get(id_key) else {
                    continue;
                };
                let remaining = after[list].as_array().cloned().unwrap_or_default();
                if remaining.contains(used) {
                    return Err(Stop::Fail(format!(
                        "handshake.accept: one-time prekey {used} ({id_key}) was not consumed: store.state {after}"
                    )));
                }
            }
            Ok(())
        }
        "accept-envelope-negative" => {
            let st = a.ok("store.create", json!({ "party": case["responder"] }))?;
            let store = st["store"].clone();
            let before = a.ok("store.state", json!({ "store": store }))?;
            a.err(
                case,
                "envelope.accept",
                json!({ "store": store, "envelope": case["envelope"] }),
            )?;
            let after = a.ok("store.state", json!({ "store": store }))?;
            if after != before {
                return Err(Stop::Fail(format!(
                    "a failed envelope.accept changed the store\n  before: {before}\n  after:  {after}"
                )));
            }
            Ok(())
        }
        // envelope.json (§8)
        "hpke-base" => {
            for (ikm, sk, pk) in [("ikmE", "skEm", "pkEm"), ("ikmR", "skRm", "pkRm")] {
                let r = a.ok("hpke.derive_key_pair", json!({ "ikm": case[ikm] }))?;
                same("hpke.derive_key_pair", case, sk, &r, "secretKey")?;
                same("hpke.derive_key_pair", case, pk, &r, "publicKey")?;
            }
            let mut args = pick(case, &["ikmE", "info", "aad", "plaintext"]);
            args["recipientPublicKey"] = case["pkRm"].clone();
            let r = a.ok("hpke.seal", args)?;
            all_same(
                "hpke.seal",
                case,
                &r,
                &[
                    "enc",
                    "sharedSecret",
                    "key",
                    "baseNonce",
                    "exporterSecret",
                    "ciphertext",
                ],
            )?;
            let mut args = pick(case, &["enc", "info", "aad", "ciphertext"]);
            args["recipientSecretKey"] = case["skRm"].clone();
            let r = a.ok("hpke.open", args)?;
            all_same("hpke.open", case, &r, &["plaintext"])
        }
        "padded-length" if !is_valid(case) => {
            a.err(case, "padding.length", pick(case, &["contentLength"]))
        }
        "padded-length" => {
            let r = a.ok("padding.length", pick(case, &["contentLength"]))?;
            all_equal("padding.length", case, &r, &["paddedLength"])
        }
        "envelope-seal" => {
            let args = json!({ "scalar": case["recipientSealingSecret"], "u": X25519_BASE });
            let r = a.ok("x25519", args)?;
            same("x25519", case, "recipientSealingKey", &r, "output")?;
            let args = pick(
                case,
                &["ikmE", "mailbox", "recipientSealingKey", "sender", "inner"],
            );
            let r = a.ok("envelope.seal", args)?;
            all_same(
                "envelope.seal",
                case,
                &r,
                &[
                    "ephemeralSecret",
                    "enc",
                    "info",
                    "sharedSecret",
                    "key",
                    "baseNonce",
                    "content",
                    "paddedContent",
                    "ciphertext",
                    "envelope",
                ],
            )?;
            if Some(bytes(case, "envelope")?.len() as u64) != case["envelopeLength"].as_u64() {
                return Err(Stop::Fail(
                    "envelopeLength is not the envelope's length".into(),
                ));
            }
            let r = a.ok("envelope.parse", pick(case, &["envelope"]))?;
            all_same(
                "envelope.parse",
                case,
                &r,
                &["mailbox", "enc", "ciphertext"],
            )?;
            let r = a.ok(
                "envelope.open",
                pick(case, &["recipientSealingSecret", "mailbox", "envelope"]),
            )?;
            all_same("envelope.open", case, &r, &["sender", "inner"])?;
            all_equal("envelope.open", case, &r, &["innerType"])
        }
        "envelope-open" => {
            let mut args = pick(case, &["recipientSealingSecret", "envelope"]);
            args["mailbox"] = case["expectedMailbox"].clone();
            a.err(case, "envelope.open", args)
        }
        // contact.json (§9)
        "e164-canonical" | "e164-lenient" => {
            let op = if k == "e164-canonical" {
                "e164.parse"
            } else {
                "e164.normalize"
            };
            let args = pick(case, &["input"]);
            if !is_valid(case) {
                return a.err(case, op, args);
            }
            let r = a.ok(op, args)?;
            all_equal(op, case, &r, &["canonical"])
        }
        "relay-id" => {
            let r = a.ok("contact.relay_id", pick(case, &["relayKey"]))?;
            all_same("contact.relay_id", case, &r, &["relayId"])
        }
        "salt" => {
            let args = pick(case, &["relayId", "saltGeneration", "saltNonce"]);
            let r = a.ok("contact.salt", args)?;
            all_same("contact.salt", case, &r, &["salt"])
        }
        "argon2id-rfc9106" => {
            let mut args = pick(
                case,
                &[
                    "version",
                    "memoryKiB",
                    "passes",
                    "lanes",
                    "password",
                    "salt",
                    "secret",
                    "associatedData",
                ],
            );
            args["length"] = json!(bytes(case, "tag")?.len());
            let r = a.ok("argon2id", args)?;
            all_same("argon2id", case, &r, &["tag"])
        }
        "argon2id-ch1" => {
            let r = a.ok("contact.argon2id", pick(case, &["password", "salt"]))?;
            all_same("contact.argon2id", case, &r, &["tag"])
        }
        "contact-id" => {
            let r = a.ok("contact.relay_id", pick(case, &["relayKey"]))?;
            let mut args = pick(case, &["saltGeneration", "saltNonce"]);
            args["relayId"] = r["relayId"].clone();
            let r = a.ok("contact.salt", args)?;
            all_same("contact.salt", case, &r, &["salt"])?;
            let r = a.ok("contact.id", pick(case, &["salt", "e164"]))?;
            all_same("contact.id", case, &r, &["password", "contactId"])?;
            let prefixes = case["prefixes"]
                .as_object()
                .ok_or_else(|| Stop::Fail("contact-id case without prefixes".into()))?;
            for (name, prefix) in prefixes {
                let b: u64 = name
                    .strip_prefix('b')
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| Stop::Fail(format!("prefix key {name} is not bN")))?;
                let args = json!({ "contactId": case["contactId"], "bucketBits": b });
                let r = a.ok("contact.bucket", args)?;
                all_same("contact.bucket", case, &r, &["matchTag"])?;
                all_equal(
                    "contact.bucket",
                    &json!({ "prefix": prefix }),
                    &r,
                    &["prefix"],
                )?;
            }
            Ok(())
        }
        "bucket" => {
            let r = a.ok("contact.bucket", pick(case, &["contactId", "bucketBits"]))?;
            all_same("contact.bucket", case, &r, &["matchTag"])?;
            all_equal("contact.bucket", case, &r, &["prefix"])
        }
        "dummy-prefix" => {
            let args = pick(case, &["batchKey", "bucketBits", "request", "index"]);
            let r = a.ok("contact.dummy_prefix", args)?;
            all_equal("contact.dummy_prefix", case, &r, &["prefix"])
        }
        "lookup-batch-key" => {
            let args = pick(
                case,
                &[
                    "clientSecret",
                    "relayId",
                    "saltGeneration",
                    "bucketBits",
                    "realPrefixes",
                ],
            );
            let r = a.ok("lookup.batch_key", args)?;
            all_same("lookup.batch_key", case, &r, &["batchKey"])
        }
        "discovery-parameters" => {
            let verify = pick(case, VERIFY);
            if !is_valid(case) {
                return a.err(case, "discovery.verify", verify);
            }
            let id = a.ok(
                "identity.derive",
                json!({ "seed": case["relayIdentitySeed"] }),
            )?;
            same("identity.derive", case, "relayKey", &id, "signingPublic")?;
            let args = pick(
                case,
                &[
                    "relayIdentitySeed",
                    "saltGeneration",
                    "saltNonce",
                    "bucketBits",
                    "maxSizeClass",
                    "issuedAt",
                    "expiresAt",
                ],
            );
            let r = a.ok("discovery.sign", args)?;
            all_same(
                "discovery.sign",
                case,
                &r,
                &["discoveryParameters", "signatureInput"],
            )?;
            let r = a.ok("discovery.verify", verify)?;
            all_same(
                "discovery.verify",
                case,
                &r,
                &["relayId", "salt", "saltNonce", "generationMarkAfter"],
            )?;
            all_equal(
                "discovery.verify",
                case,
                &r,
                &[
                    "saltGeneration",
                    "bucketBits",
                    "maxSizeClass",
                    "issuedAt",
                    "expiresAt",
                ],
            )
        }
        "generation-mark" if is_valid(case) => {
            let r = a.ok("discovery.parse_mark", pick(case, &["generationMark"]))?;
            if r["seen"] != json!(true) && r["seen"] != json!(false) {
                return Err(Stop::Fail(format!(
                    "discovery.parse_mark: `seen` is not a boolean: {}",
                    r["seen"]
                )));
            }
            let args = pick(case, &["generationMark", "saltGeneration", "now"]);
            let r = a.ok("discovery.admit", args)?;
            all_same("discovery.admit", case, &r, &["generationMarkAfter"])?;
            // The mark after is what the client stores: it decodes, and records the
            // admitted generation.
            let r = a.ok(
                "discovery.parse_mark",
                json!({ "generationMark": case["generationMarkAfter"] }),
            )?;
            if r["seen"] != json!(true) {
                return Err(Stop::Fail(
                    "discovery.parse_mark: the mark after has seen nothing".into(),
                ));
            }
            all_equal("discovery.parse_mark", case, &r, &["saltGeneration"])
        }
        "generation-mark" if case.get("saltGeneration").is_some() => a.err(
            case,
            "discovery.admit",
            pick(case, &["generationMark", "saltGeneration", "now"]),
        ),
        "generation-mark" => a.err(
            case,
            "discovery.parse_mark",
            pick(case, &["generationMark"]),
        ),
        "lookup-batch" => {
            let v = verify_discovery(a, case)?;
            let mut args = pick(case, &[VERIFY, &["clientSecret", "contactIds"]].concat());
            let r = a.ok("lookup.batch", args.clone())?;
            same_json("lookup.batch", case, &r, "lookupRequests")?;
            // The requests do not depend on the order of the contacts.
            if let Some(ids) = args["contactIds"].as_array_mut() {
                ids.reverse();
            }
            let r = a.ok("lookup.batch", args)?;
            same_json(
                "lookup.batch (contacts reversed)",
                case,
                &r,
                "lookupRequests",
            )?;
            if case.get("batchKey").is_some() {
                let mut args = pick(case, &["clientSecret", "realPrefixes"]);
                for k in ["relayId", "saltGeneration", "bucketBits"] {
                    args[k] = v[k].clone();
                }
                let r = a.ok("lookup.batch_key", args)?;
                all_same("lookup.batch_key", case, &r, &["batchKey"])?;
            }
            // Each request parses under the parameters, passes the relay's check, and the
            // requests together hold every real prefix.
            let requests = case["lookupRequests"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let (k, q) = match &case["shape"] {
                Value::Object(m) => (m["requests"].as_u64(), m["sizeClass"].as_u64()),
                _ => (None, None),
            };
            if k.is_some_and(|k| k != requests.len() as u64) {
                return Err(Stop::Fail(format!(
                    "the case's shape asks for {k:?} requests, it has {}",
                    requests.len()
                )));
            }
            let mut got = Vec::new();
            for req in &requests {
                let r = a.ok("lookup.parse_request", json!({ "lookupRequest": req }))?;
                all_equal(
                    "lookup.parse_request",
                    &v,
                    &r,
                    &["saltGeneration", "bucketBits"],
                )?;
                let prefixes = r["prefixes"].as_array().cloned().unwrap_or_default();
                if q.is_some_and(|q| q != prefixes.len() as u64) {
                    return Err(Stop::Fail(format!(
                        "lookup.parse_request: {} prefixes, the shape's size class is {q:?}",
                        prefixes.len()
                    )));
                }
                got.extend(prefixes);
                let mut args = pick(case, &["discoveryParameters"]);
                args["lookupRequest"] = req.clone();
                a.ok("lookup.check", args)?;
            }
            let real = case["realPrefixes"].as_array().cloned().unwrap_or_default();
            if let Some(missing) = real.iter().find(|p| !got.contains(p)) {
                return Err(Stop::Fail(format!(
                    "lookup.parse_request: real prefix {missing} is in none of the batch's requests"
                )));
            }
            Ok(())
        }
        "lookup-ledger" if is_valid(case) => {
            verify_discovery(a, case)?;
            let base = pick(case, &[VERIFY, &["clientSecret"]].concat());
            let mut stored = json!("");
            let plans = case["plans"]
                .as_array()
                .ok_or_else(|| Stop::Fail("lookup-ledger case without plans".into()))?;
            for (i, plan) in plans.iter().enumerate() {
                let mut args = base.clone();
                args["lookupLedger"] = stored;
                args["contactIds"] = plan["contactIds"].clone();
                let op = format!("lookup.ledger_plan (plan {i})");
                let r = a.ok("lookup.ledger_plan", args)?;
                same_json(&op, plan, &r, "lookupRequests")?;
                same(&op, plan, "lookupLedger", &r, "lookupLedger")?;
                // The next plan starts from the stored form, as after a restart.
                stored = plan["lookupLedger"].clone();
            }
            if stored != case["lookupLedger"] {
                return Err(Stop::Fail(
                    "the case's lookupLedger is not the last plan's".into(),
                ));
            }
            let r = a.ok("lookup.ledger_parse", pick(case, &["lookupLedger"]))?;
            all_same("lookup.ledger_parse", case, &r, &["lookupLedger"])?;
            let v = a.ok("discovery.verify", pick(case, VERIFY))?;
            all_equal("lookup.ledger_parse", &v, &r, &["saltGeneration"])?;
            let mut args = base;
            args["lookupLedger"] = case["lookupLedger"].clone();
            let r = a.ok("lookup.ledger_requests", args)?;
            same_json("lookup.ledger_requests", case, &r, "lookupRequests")?;
            // A refresh re-sends exactly what the plans sent.
            let sent: Vec<Value> = plans
                .iter()
                .flat_map(|p| p["lookupRequests"].as_array().cloned().unwrap_or_default())
                .collect();
            if Value::Array(sent) != case["lookupRequests"] {
                return Err(Stop::Fail(
                    "the case's lookupRequests are not what its plans sent".into(),
                ));
            }
            Ok(())
        }
        "lookup-ledger" if case.get("contactIds").is_some() => a.err(
            case,
            "lookup.ledger_plan",
            pick(
                case,
                &[VERIFY, &["clientSecret", "lookupLedger", "contactIds"]].concat(),
            ),
        ),
        "lookup-ledger" => a.err(case, "lookup.ledger_parse", pick(case, &["lookupLedger"])),
        "lookup-request" if is_valid(case) => a
            .ok("lookup.parse_request", pick(case, &["lookupRequest"]))
            .map(drop),
        "lookup-request" => a.err(case, "lookup.parse_request", pick(case, &["lookupRequest"])),
        "lookup-match-negative" => a.err(
            case,
            "lookup.match",
            pick(
                case,
                &[VERIFY, &["lookupRequest", "lookupResponse", "contactIds"]].concat(),
            ),
        ),
        "lookup-request-check" if is_valid(case) => a
            .ok(
                "lookup.check",
                pick(case, &["discoveryParameters", "lookupRequest"]),
            )
            .map(drop),
        "lookup-request-check" => a.err(
            case,
            "lookup.check",
            pick(case, &["discoveryParameters", "lookupRequest"]),
        ),
        "lookup-response" => {
            if !is_valid(case) {
                return a.err(
                    case,
                    "lookup.parse_response",
                    pick(case, &["lookupResponse"]),
                );
            }
            let v = verify_discovery(a, case)?;
            let regs = case["registrations"]
                .as_array()
                .ok_or_else(|| Stop::Fail("lookup-response case without registrations".into()))?;
            for reg in regs {
                let mut args = pick(reg, &["contactId", "record"]);
                args["saltGeneration"] = v["saltGeneration"].clone();
                let r = a.ok("registration.create", args)?;
                all_same("registration.create", reg, &r, &["registration"])?;
            }
            let mut args = pick(case, &["discoveryParameters", "lookupRequest"]);
            args["registrations"] = regs.iter().map(|r| r["registration"].clone()).collect();
            let r = a.ok("lookup.answer", args)?;
            all_same("lookup.answer", case, &r, &["lookupResponse"])?;
            let r = a.ok("lookup.parse_response", pick(case, &["lookupResponse"]))?;
            all_equal(
                "lookup.parse_response",
                &v,
                &r,
                &["saltGeneration", "bucketBits"],
            )?;
            let args = pick(
                case,
                &[VERIFY, &["lookupRequest", "lookupResponse", "contactIds"]].concat(),
            );
            let r = a.ok("lookup.match", args)?;
            all_equal("lookup.match", case, &r, &["matches"])
        }
        "registration" => {
            if !is_valid(case) {
                return a.err(case, "registration.parse", pick(case, &["registration"]));
            }
            let args = pick(case, &["saltGeneration", "contactId", "record"]);
            let r = a.ok("registration.create", args)?;
            all_same("registration.create", case, &r, &["registration"])?;
            let r = a.ok("registration.parse", pick(case, &["registration"]))?;
            all_same("registration.parse", case, &r, &["contactId", "record"])?;
            all_equal("registration.parse", case, &r, &["saltGeneration"])
        }
        // ratchet.json (§7)
        "kdf-root" => {
            let r = a.ok("ratchet.root_step", pick(case, &["rootKey", "dhOutput"]))?;
            all_same(
                "ratchet.root_step",
                case,
                &r,
                &["nextRootKey", "chainKey", "nextHeaderKey"],
            )
        }
        "kdf-chain" => {
            let r = a.ok("ratchet.chain_step", pick(case, &["chainKey"]))?;
            all_same(
                "ratchet.chain_step",
                case,
                &r,
                &["messageKey", "nextChainKey"],
            )
        }
        "transcript" => drive_transcript(a, case),
        "sealed-state" => {
            let s = a.restore_state(case)?;
            let mut args = pick(case, &["storageKey", "slot", "epoch", "nonce"]);
            args["session"] = s;
            let r = a.ok("session.seal", args)?;
            all_same("session.seal", case, &r, &["sealed"])?;
            let args = pick(
                case,
                &[
                    "storageKey",
                    "localIdentity",
                    "remoteIdentity",
                    "slot",
                    "sealed",
                ],
            );
            let r = a.ok("session.open", args)?;
            all_same("session.open", case, &r, &["state"])?;
            same_json("session.open", case, &r, "epoch")
        }
        "envelope-open-any" => {
            let mut args = pick(case, &["recipientSealingSecrets", "envelope"]);
            args["mailbox"] = case["expectedMailbox"].clone();
            if !is_valid(case) {
                return a.err(case, "envelope.open_any", args);
            }
            let r = a.ok("envelope.open_any", args)?;
            all_same("envelope.open_any", case, &r, &["sender", "inner"])
        }
        "session-envelope" => {
            let s = a.restore_state(case)?;
            let mut args = pick(case, &["recipientSealingSecret", "mailbox", "envelope"]);
            args["session"] = s.clone();
            if is_valid(case) {
                let r = a.ok("session.decrypt_envelope", args)?;
                return all_same("session.decrypt_envelope", case, &r, &["plaintext"]);
            }
            a.err(case, "session.decrypt_envelope", args)?;
            a.state_unchanged(&s, case, "session.state after a refused envelope")
        }
        "route-state" => {
            let s = a.restore_state(case)?;
            let r = a.ok("session.route", json!({ "session": s }))?;
            same_json("session.route", case, &r, "sendingMailbox")?;
            same_json("session.route", case, &r, "probe")?;
            same_json("session.route", case, &r, "watches")
        }
        "state-negative" => a.err(case, "session.restore", pick(case, &["state"])),
        "state-roundtrip" => {
            let s = a.restore_state(case)?;
            let r = a.ok("session.state", json!({ "session": s }))?;
            all_same("session.state", case, &r, &["state"])
        }
        "sealed-state-negative" => a.err(
            case,
            "session.open",
            pick(
                case,
                &[
                    "storageKey",
                    "localIdentity",
                    "remoteIdentity",
                    "slot",
                    "sealed",
                ],
            ),
        ),
        // route.json (§8.13–§8.17)
        // relay.json (§12); `relay-transcript` needs a running relay: `relay-conformance URL`.
        "encoding" => {
            let r = a.ok("relay.decode", pick(case, &["messageType", "encoding"]))?;
            same_json("relay.decode", case, &r, "fields")?;
            all_same("relay.decode", case, &r, &["encoding"])?;
            if case.get("signatureInput").is_some() {
                all_same("relay.decode", case, &r, &["signatureInput"])?;
            }
            Ok(())
        }
        "decode-negative" => a.err(
            case,
            "relay.decode",
            pick(case, &["messageType", "encoding"]),
        ),
        "publish-check" => {
            let args = pick(case, &["publishRequest", "now"]);
            if is_valid(case) {
                a.ok("relay.publish_check", args).map(drop)
            } else {
                a.err(case, "relay.publish_check", args)
            }
        }
        "claim-verify" => {
            let args = pick(case, &["claimResponse", "mailbox", "now"]);
            if !is_valid(case) {
                return a.err(case, "relay.claim_verify", args);
            }
            let r = a.ok("relay.claim_verify", args)?;
            all_same("relay.claim_verify", case, &r, &["identity", "bundle"])
        }
        "upload-verify" => {
            let args = pick(case, &["uploadKeysRequest", "identity"]);
            if is_valid(case) {
                a.ok("relay.upload_verify", args).map(drop)
            } else {
                a.err(case, "relay.upload_verify", args)
            }
        }
        // group.json (§15)
        "epoch-keys" => {
            let r = a.ok("group.epoch_keys", pick(case, &["exporterSecret"]))?;
            all_same(
                "group.epoch_keys",
                case,
                &r,
                &["token", "capability", "mailbox"],
            )
        }
        "group-envelope" if is_valid(case) => {
            let r = a.ok(
                "group.seal",
                pick(case, &["exporterSecret", "nonce", "blindMessage"]),
            )?;
            all_same("group.seal", case, &r, &["envelope"])?;
            let r = a.ok("group.open", pick(case, &["exporterSecret", "envelope"]))?;
            all_same("group.open", case, &r, &["blindMessage"])
        }
        "group-envelope" => a.err(
            case,
            "group.open",
            pick(case, &["exporterSecret", "envelope"]),
        ),
        "group-envelope-parse" if is_valid(case) => {
            let r = a.ok("group.parse", pick(case, &["envelope"]))?;
            all_same("group.parse", case, &r, &["mailbox"])
        }
        "group-envelope-parse" => a.err(case, "group.parse", pick(case, &["envelope"])),
        "commit-request" if is_valid(case) => {
            let r = a.ok("group.commit_check", pick(case, &["request"]))?;
            all_same("group.commit_check", case, &r, &["mailbox"])
        }
        "commit-request" => a.err(case, "group.commit_check", pick(case, &["request"])),
        "blind-message" if is_valid(case) => {
            let r = a.ok(
                "group.blind",
                pick(case, &["privateMessage", "groupId", "epoch"]),
            )?;
            all_same("group.blind", case, &r, &["blindMessage"])?;
            let r = a.ok(
                "group.unblind",
                pick(case, &["blindMessage", "groupId", "epoch"]),
            )?;
            all_same("group.unblind", case, &r, &["privateMessage"])
        }
        "blind-message" => a.err(
            case,
            "group.unblind",
            json!({ "blindMessage": case["blindMessage"], "groupId": "", "epoch": 0 }),
        ),
        "group-credential" if is_valid(case) => {
            let r = a.ok(
                "group.certify",
                pick(case, &["identitySeed", "mlsSignatureKey"]),
            )?;
            all_same("group.certify", case, &r, &["credential"])?;
            let r = a.ok(
                "group.verify_credential",
                pick(case, &["credential", "mlsSignatureKey"]),
            )?;
            all_same("group.verify_credential", case, &r, &["identity"])
        }
        "group-credential" => a.err(
            case,
            "group.verify_credential",
            pick(case, &["credential", "mlsSignatureKey"]),
        ),
        "invite-parse" if is_valid(case) => {
            let r = a.ok("group.invite_parse", pick(case, &["invite"]))?;
            all_same("group.invite_parse", case, &r, &["welcome", "tree"])
        }
        "invite-parse" => a.err(case, "group.invite_parse", pick(case, &["invite"])),
        "passive-client" => {
            let r = a.ok(
                "group.passive_client",
                pick(
                    case,
                    &["now", "identitySeed", "rngSeed", "invite", "epochs"],
                ),
            )?;
            all_same("group.passive_client", case, &r, &["keyPackage"])?;
            same_json("group.passive_client", case, &r, "initial")?;
            same_json("group.passive_client", case, &r, "epochs")
        }
        "mailbox-id" => {
            let r = a.ok("mailbox.id", pick(case, &["capability"]))?;
            all_same("mailbox.id", case, &r, &["mailbox"])
        }
        "pairwise-capability" => {
            let r = a.ok("pairwise.capability", pick(case, &["headerKey"]))?;
            all_same("pairwise.capability", case, &r, &["capability"])?;
            let r = a.ok("mailbox.id", pick(case, &["capability"]))?;
            all_same("mailbox.id", case, &r, &["mailbox"])
        }
        "pairwise-transcript" => drive_pairwise_transcript(a, case),
        "pairwise-parse" if is_valid(case) => {
            let r = a.ok("relay.parse", pick(case, &["envelope"]))?;
            all_same("relay.parse", case, &r, &["mailbox"])?;
            same_json("relay.parse", case, &r, "length")
        }
        "pairwise-parse" => a.err(case, "relay.parse", pick(case, &["envelope"])),
        "pairwise-seal-negative" => {
            let s = a.restore_state(case)?;
            let len = case["plaintextLength"].as_u64().unwrap_or(0) as usize;
            let args = json!({ "session": s, "plaintext": "00".repeat(len), "random": "" });
            a.err(case, "pairwise.seal", args)?;
            a.state_unchanged(&s, case, "session.state after a refused send")
        }
        "pairwise-open" => {
            let s = a.restore_state(case)?;
            let before = a.ok("session.state", json!({ "session": s }))?;
            a.err(
                case,
                "pairwise.open",
                json!({ "session": s, "envelope": case["envelope"] }),
            )?;
            let after = a.ok("session.state", json!({ "session": s }))?;
            same(
                "session.state after a refused envelope",
                &before,
                "state",
                &after,
                "state",
            )
        }
        "relay-transcript" => Err(Stop::Skip(
            "an HTTP transcript: replay it against a running relay with `relay-conformance URL`"
                .into(),
        )),
        // ch2.json (§13, §14)
        k if drive_ch2(a, case, k)?.is_some() => Ok(()),
        other => Err(Stop::Skip(format!(
            "the runner has no translation for kind `{other}`"
        ))),
    }
}

/// The fields of a client's verification of oracle parameters (spec §13.9).
const ORACLE: &[&str] = &["oracleKey", "oracleParameters", "now"];

/// Calls `op` with `args` and requires the case's outcome: the error of an invalid case, or
/// success.
fn outcome(a: &mut Adapter, case: &Value, op: &str, args: Value) -> Result<Value, Stop> {
    if is_valid(case) {
        a.ok(op, args)
    } else {
        a.err(case, op, args).map(|()| Value::Null)
    }
}

/// The kinds of `ch2.json`: `Some(())` when `k` is one of them and passed, `None` for any
/// other kind.
fn drive_ch2(a: &mut Adapter, case: &Value, k: &str) -> Result<Option<()>, Stop> {
    match k {
        "rfc9497-voprf" => {
            let r = a.ok(
                "oprf.derive_key",
                json!({ "seed": case["seed"], "info": case["keyInfo"] }),
            )?;
            same("oprf.derive_key", case, "pkSm", &r, "publicKey")?;
            let r = a.ok("oprf.key_from_scalar", json!({ "secretKey": case["skSm"] }))?;
            same("oprf.key_from_scalar", case, "pkSm", &r, "publicKey")?;
            let r = a.ok("oprf.blind", pick(case, &["inputs", "blinds"]))?;
            same_json("oprf.blind", case, &r, "blindedElements")?;
            let mut args = pick(case, &["seed", "blindedElements", "proofRandomScalar"]);
            args["info"] = case["keyInfo"].clone();
            let r = a.ok("oprf.evaluate", args)?;
            same_json("oprf.evaluate", case, &r, "evaluationElements")?;
            all_same("oprf.evaluate", case, &r, &["proof"])?;
            let mut args = pick(case, &["inputs", "blinds", "evaluationElements", "proof"]);
            args["publicKey"] = case["pkSm"].clone();
            let r = a.ok("oprf.finalize", args)?;
            same_json("oprf.finalize", case, &r, "outputs")?;
        }
        "ch2-oracle-key" => {
            let r = a.ok("ch2.oracle_key", pick(case, &["oracleSeed", "keyEpoch"]))?;
            all_same("ch2.oracle_key", case, &r, &["info", "publicKey"])?;
            let r = a.ok(
                "oprf.derive_key",
                json!({ "seed": case["oracleSeed"], "info": case["info"] }),
            )?;
            all_same("oprf.derive_key", case, &r, &["publicKey"])?;
            let r = a.ok("oprf.key_from_scalar", pick(case, &["secretKey"]))?;
            all_same("oprf.key_from_scalar", case, &r, &["publicKey"])?;
        }
        "ch2-id" => {
            let r = a.ok("ch2.oracle_key", pick(case, &["oracleSeed", "keyEpoch"]))?;
            all_same("ch2.oracle_key", case, &r, &["publicKey"])?;
            let one = |key: &str| Ok::<Value, Stop>(json!([case[key].clone()]));
            let args = json!({ "inputs": one("contactId")?, "blinds": one("blind")? });
            let r = a.ok("oprf.blind", args)?;
            same_json(
                "oprf.blind",
                &json!({ "blindedElements": one("blindedElement")? }),
                &r,
                "blindedElements",
            )?;
            let args = json!({
                "seed": case["oracleSeed"], "info": r_info(a, case)?,
                "blindedElements": one("blindedElement")?, "proofRandomScalar": case["proofRandomScalar"],
            });
            let r = a.ok("oprf.evaluate", args)?;
            same_json(
                "oprf.evaluate",
                &json!({ "evaluationElements": one("evaluationElement")? }),
                &r,
                "evaluationElements",
            )?;
            all_same("oprf.evaluate", case, &r, &["proof"])?;
            let args = json!({
                "inputs": one("contactId")?, "blinds": one("blind")?, "publicKey": case["publicKey"],
                "evaluationElements": one("evaluationElement")?, "proof": case["proof"],
            });
            let r = a.ok("oprf.finalize", args)?;
            same_json(
                "oprf.finalize",
                &json!({ "outputs": one("output")? }),
                &r,
                "outputs",
            )?;
            let r = a.ok("ch2.id", pick(case, &["output", "keyEpoch"]))?;
            all_same("ch2.id", case, &r, &["ch2Id"])?;
            let r = a.ok(
                "ch2.evaluate_unblinded",
                pick(case, &["oracleSeed", "keyEpoch", "contactId"]),
            )?;
            all_same("ch2.evaluate_unblinded", case, &r, &["ch2Id"])?;
            drive_prefixes(a, case, "ch2Id")?;
        }
        "ch2-evaluation" => drive_ch2_evaluation(a, case)?,
        "ch2-discovery-parameters" => a.err(case, "discovery.verify", pick(case, VERIFY))?,
        "oracle-parameters" => {
            let r = outcome(a, case, "oracle.verify", pick(case, ORACLE))?;
            if is_valid(case) {
                all_same("oracle.verify", case, &r, &["publicKey"])?;
                all_equal(
                    "oracle.verify",
                    case,
                    &r,
                    &["keyEpoch", "issuedAt", "expiresAt"],
                )?;
                if case.get("oracleSeed").is_some() {
                    let mut args = pick(
                        case,
                        &[
                            "oracleIdentitySeed",
                            "oracleSeed",
                            "keyEpoch",
                            "issuedAt",
                            "expiresAt",
                        ],
                    );
                    args["keyEpoch"] = case["keyEpoch"].clone();
                    let r = a.ok("oracle.sign", args)?;
                    all_same(
                        "oracle.sign",
                        case,
                        &r,
                        &["oracleParameters", "signatureInput"],
                    )?;
                }
            }
        }
        "oprf-request" => {
            let r = outcome(a, case, "oprf.parse_request", pick(case, &["oprfRequest"]))?;
            if is_valid(case) {
                all_equal(
                    "oprf.parse_request",
                    case,
                    &r,
                    &["keyEpoch", "blindedElements"],
                )?;
            }
        }
        "oprf-response" => {
            let r = outcome(
                a,
                case,
                "oprf.parse_response",
                pick(case, &["oprfResponse"]),
            )?;
            if is_valid(case) {
                all_equal(
                    "oprf.parse_response",
                    case,
                    &r,
                    &["keyEpoch", "evaluationElements"],
                )?;
                all_same("oprf.parse_response", case, &r, &["proof"])?;
            }
        }
        "oprf-relay-request" => {
            let r = outcome(
                a,
                case,
                "oprf.parse_relay_request",
                pick(case, &["oprfRelayRequest"]),
            )?;
            if is_valid(case) {
                all_same(
                    "oprf.parse_relay_request",
                    case,
                    &r,
                    &["capability", "oprfRequest"],
                )?;
                let r = a.ok(
                    "oprf.relay_request",
                    pick(case, &["capability", "oprfRequest"]),
                )?;
                all_same("oprf.relay_request", case, &r, &["oprfRelayRequest"])?;
            }
        }
        "oprf-finalize" => a.err(
            case,
            "oprf.finalize_response",
            pick(
                case,
                &[ORACLE, &["contactIds", "blinds", "oprfResponse"]].concat(),
            ),
        )?,
        "oracle-answer" => a.err(
            case,
            "oracle.answer",
            pick(
                case,
                &["oracleSeed", "keyEpoch", "oprfRequest", "proofRandomScalar"],
            ),
        )?,
        "oprf-request-discovery" => a.err(
            case,
            "oprf.request",
            pick(case, &[VERIFY, ORACLE, &["contactIds", "blinds"]].concat()),
        )?,
        "ch2-suite-misuse" => {
            let op = string(case, "op")?;
            let mut args = pick(
                case,
                &[VERIFY, &["clientSecret", "record", "contactIds", "ch2Ids"]].concat(),
            );
            if op.ends_with("register") {
                let (list, one) = if op.starts_with("ch2.") {
                    ("ch2Ids", "ch2Id")
                } else {
                    ("contactIds", "contactId")
                };
                args[one] = case[list][0].clone();
            }
            a.err(case, &op, args)?
        }
        "ch2-lookup-check" => {
            outcome(
                a,
                case,
                "lookup.check",
                pick(case, &["discoveryParameters", "lookupRequest"]),
            )?;
        }
        "ch2-registration-check" => a.err(
            case,
            "registration.check",
            pick(case, &["discoveryParameters", "registration"]),
        )?,
        _ => return Ok(None),
    }
    Ok(Some(()))
}

/// The `DeriveKeyPair` info of a case's key epoch, from the implementation.
fn r_info(a: &mut Adapter, case: &Value) -> Result<Value, Stop> {
    Ok(a.ok("ch2.oracle_key", pick(case, &["oracleSeed", "keyEpoch"]))?["info"].clone())
}

/// The §9.5 prefixes (b = 12, 16) and match tag of the case's id field `key`.
fn drive_prefixes(a: &mut Adapter, case: &Value, key: &str) -> Result<(), Stop> {
    let prefixes = case["prefixes"]
        .as_object()
        .ok_or_else(|| Stop::Fail("case without prefixes".into()))?;
    for (name, prefix) in prefixes {
        let b: u64 = name
            .strip_prefix('b')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Stop::Fail(format!("prefix key {name} is not bN")))?;
        let r = a.ok(
            "contact.bucket",
            json!({ "contactId": case[key], "bucketBits": b }),
        )?;
        all_same("contact.bucket", case, &r, &["matchTag"])?;
        all_equal(
            "contact.bucket",
            &json!({ "prefix": prefix }),
            &r,
            &["prefix"],
        )?;
    }
    Ok(())
}

/// One `ch2` run end to end (spec §13, §14): both parameters, the ch1 ids, the request and
/// its relay wrapper, the oracle's answer, finalize, and discovery with the `ch2` ids.
fn drive_ch2_evaluation(a: &mut Adapter, case: &Value) -> Result<(), Stop> {
    let id = a.ok(
        "identity.derive",
        json!({ "seed": case["relayIdentitySeed"] }),
    )?;
    same("identity.derive", case, "relayKey", &id, "signingPublic")?;
    let id = a.ok(
        "identity.derive",
        json!({ "seed": case["oracleIdentitySeed"] }),
    )?;
    same("identity.derive", case, "oracleKey", &id, "signingPublic")?;
    let args = pick(
        case,
        &[
            "relayIdentitySeed",
            "saltGeneration",
            "saltNonce",
            "bucketBits",
            "maxSizeClass",
            "oracleKey",
            "keyEpoch",
            "issuedAt",
            "expiresAt",
        ],
    );
    let r = a.ok("discovery.sign_ch2", args)?;
    all_same(
        "discovery.sign_ch2",
        case,
        &r,
        &["discoveryParameters", "signatureInput"],
    )?;
    let v = verify_discovery(a, case)?;
    all_same("discovery.verify", case, &v, &["salt", "oracleKey"])?;
    all_equal(
        "discovery.verify",
        case,
        &v,
        &["saltGeneration", "keyEpoch"],
    )?;
    all_equal("discovery.verify", &json!({ "suite": 2 }), &v, &["suite"])?;
    let r = a.ok(
        "ch2.oracle_key",
        json!({ "oracleSeed": case["oracleSeed"], "keyEpoch": case["keyEpoch"] }),
    )?;
    same("ch2.oracle_key", case, "oraclePublicKey", &r, "publicKey")?;
    let args = json!({
        "oracleIdentitySeed": case["oracleIdentitySeed"], "oracleSeed": case["oracleSeed"],
        "keyEpoch": case["keyEpoch"], "issuedAt": case["oracleIssuedAt"], "expiresAt": case["oracleExpiresAt"],
    });
    let r = a.ok("oracle.sign", args)?;
    all_same("oracle.sign", case, &r, &["oracleParameters"])?;
    same(
        "oracle.sign",
        case,
        "oracleSignatureInput",
        &r,
        "signatureInput",
    )?;
    let r = a.ok("oracle.verify", pick(case, ORACLE))?;
    same("oracle.verify", case, "oraclePublicKey", &r, "publicKey")?;
    all_equal("oracle.verify", case, &r, &["keyEpoch"])?;
    // The ch1 ids of the numbers under the relay's salt.
    let numbers = case["e164"].as_array().cloned().unwrap_or_default();
    let ids = case["contactIds"].as_array().cloned().unwrap_or_default();
    if numbers.len() != ids.len() {
        return Err(Stop::Fail("e164 and contactIds differ in length".into()));
    }
    for (n, want) in numbers.iter().zip(&ids) {
        let r = a.ok("contact.id", json!({ "salt": case["salt"], "e164": n }))?;
        same(
            "contact.id",
            &json!({ "contactId": want }),
            "contactId",
            &r,
            "contactId",
        )?;
    }
    let args = pick(case, &[VERIFY, ORACLE, &["contactIds", "blinds"]].concat());
    let r = a.ok("oprf.request", args)?;
    all_same("oprf.request", case, &r, &["oprfRequest"])?;
    let r = a.ok("oprf.parse_request", pick(case, &["oprfRequest"]))?;
    all_equal(
        "oprf.parse_request",
        case,
        &r,
        &["keyEpoch", "blindedElements"],
    )?;
    let r = a.ok(
        "oprf.relay_request",
        pick(case, &["capability", "oprfRequest"]),
    )?;
    all_same("oprf.relay_request", case, &r, &["oprfRelayRequest"])?;
    let r = a.ok(
        "oprf.parse_relay_request",
        pick(case, &["oprfRelayRequest"]),
    )?;
    all_same(
        "oprf.parse_relay_request",
        case,
        &r,
        &["capability", "oprfRequest"],
    )?;
    let r = a.ok(
        "oracle.answer",
        pick(
            case,
            &["oracleSeed", "keyEpoch", "oprfRequest", "proofRandomScalar"],
        ),
    )?;
    all_same("oracle.answer", case, &r, &["oprfResponse"])?;
    let r = a.ok("oprf.parse_response", pick(case, &["oprfResponse"]))?;
    all_equal(
        "oprf.parse_response",
        case,
        &r,
        &["keyEpoch", "evaluationElements"],
    )?;
    all_same("oprf.parse_response", case, &r, &["proof"])?;
    let args = pick(
        case,
        &[ORACLE, &["contactIds", "blinds", "oprfResponse"]].concat(),
    );
    let r = a.ok("oprf.finalize_response", args)?;
    same_json("oprf.finalize_response", case, &r, "ch2Ids")?;
    let mut args = pick(case, &["blinds", "evaluationElements", "proof"]);
    args["inputs"] = case["contactIds"].clone();
    args["publicKey"] = case["oraclePublicKey"].clone();
    let r = a.ok("oprf.finalize", args)?;
    same_json("oprf.finalize", case, &r, "outputs")?;
    let outputs = case["outputs"].as_array().cloned().unwrap_or_default();
    let want_ids = case["ch2Ids"].as_array().cloned().unwrap_or_default();
    for (o, want) in outputs.iter().zip(&want_ids) {
        let r = a.ok(
            "ch2.id",
            json!({ "output": o, "keyEpoch": case["keyEpoch"] }),
        )?;
        same("ch2.id", &json!({ "ch2Id": want }), "ch2Id", &r, "ch2Id")?;
    }
    // Discovery with the ch2 ids.
    let args = pick(case, &[VERIFY, &["clientSecret", "ch2Ids"]].concat());
    let r = a.ok("ch2.lookup_batch", args)?;
    same_json("ch2.lookup_batch", case, &r, "lookupRequests")?;
    let regs = case["registrations"]
        .as_array()
        .ok_or_else(|| Stop::Fail("ch2-evaluation case without registrations".into()))?;
    for reg in regs {
        let mut args = pick(case, VERIFY);
        args["ch2Id"] = reg["ch2Id"].clone();
        args["record"] = reg["record"].clone();
        let r = a.ok("ch2.register", args)?;
        all_same("ch2.register", reg, &r, &["registration"])?;
    }
    let mut args = pick(case, &["discoveryParameters", "lookupRequest"]);
    args["registrations"] = regs.iter().map(|r| r["registration"].clone()).collect();
    let r = a.ok("lookup.answer", args)?;
    all_same("lookup.answer", case, &r, &["lookupResponse"])?;
    let args = pick(
        case,
        &[VERIFY, &["lookupRequest", "lookupResponse", "ch2Ids"]].concat(),
    );
    let r = a.ok("ch2.match", args)?;
    all_equal("ch2.match", case, &r, &["matches"])
}

/// Replays a §8.15 pairwise transcript: restore both states, check the watched mailboxes,
/// then every send (mailbox, probe flag, envelope) and delivery (result, watched mailboxes)
/// in order, and the final state digests.
fn drive_pairwise_transcript(a: &mut Adapter, case: &Value) -> Result<(), Stop> {
    let mut sessions = Vec::new();
    for who in ["alice", "bob"] {
        let s = a.ok("session.restore", json!({ "state": case["start"][who] }))?["session"].clone();
        let r = a.ok("session.route", json!({ "session": s }))?;
        same_json(
            "session.route",
            &json!({ "watches": case["start"][format!("{who}Watches")] }),
            &r,
            "watches",
        )?;
        sessions.push(s);
    }
    let events = case["events"]
        .as_array()
        .ok_or_else(|| Stop::Fail("transcript without events".into()))?;
    for (i, e) in events.iter().enumerate() {
        let ev = string(e, "event")?;
        let who = if ev == "send" {
            string(e, "from")?
        } else {
            string(e, "to")?
        };
        let s = match who.as_str() {
            "alice" => sessions[0].clone(),
            "bob" => sessions[1].clone(),
            other => return Err(Stop::Fail(format!("event {i}: unknown party {other}"))),
        };
        let at = |stop: Stop| match stop {
            Stop::Fail(m) => Stop::Fail(format!("event {i} ({ev} {who}): {m}")),
            skip => skip,
        };
        if ev == "send" {
            let r = a.ok("session.route", json!({ "session": s })).map_err(at)?;
            same("session.route", e, "mailbox", &r, "sendingMailbox").map_err(at)?;
            same_json("session.route", e, &r, "probe").map_err(at)?;
            let args = json!({ "session": s, "plaintext": e["plaintext"], "random": e["random"] });
            let r = a.ok("pairwise.seal", args).map_err(at)?;
            all_same("pairwise.seal", e, &r, &["envelope"]).map_err(at)?;
            continue;
        }
        let args = json!({ "session": s, "envelope": e["envelope"] });
        if e.get("error").is_some() {
            let before = a.ok("session.state", json!({ "session": s })).map_err(at)?;
            a.err(e, "pairwise.open", args).map_err(at)?;
            let after = a.ok("session.state", json!({ "session": s })).map_err(at)?;
            same(
                "session.state after a refused envelope",
                &before,
                "state",
                &after,
                "state",
            )
            .map_err(at)?;
        } else {
            let r = a.ok("pairwise.open", args).map_err(at)?;
            all_same("pairwise.open", e, &r, &["plaintext"]).map_err(at)?;
            same_json("pairwise.open", e, &r, "position").map_err(at)?;
        }
        let r = a.ok("session.route", json!({ "session": s })).map_err(at)?;
        same_json("session.route", e, &r, "watches").map_err(at)?;
    }
    for (who, s) in [("alice", &sessions[0]), ("bob", &sessions[1])] {
        let r = a.ok("session.state", json!({ "session": s }))?;
        let digest = sha2::Sha256::digest(bytes(&r, "state")?);
        expect_eq(&case["finalStateSha256"], who, digest)
            .map_err(|e| Stop::Fail(format!("final state of {who}: {e}")))?;
    }
    Ok(())
}

/// Replays a §7 transcript: restore both states, then every event in order.
fn drive_transcript(a: &mut Adapter, case: &Value) -> Result<(), Stop> {
    let restore = |a: &mut Adapter, state: &Value| -> Result<Value, Stop> {
        Ok(a.ok("session.restore", json!({ "state": state }))?["session"].clone())
    };
    let mut alice = restore(a, &case["start"]["alice"])?;
    let mut bob = restore(a, &case["start"]["bob"])?;
    let events = case["events"]
        .as_array()
        .ok_or_else(|| Stop::Fail("transcript without events".into()))?;
    for (i, e) in events.iter().enumerate() {
        let ev = string(e, "event")?;
        let who = match ev.as_str() {
            "send" => string(e, "from")?,
            "restore" => string(e, "party")?,
            _ => string(e, "to")?,
        };
        let s = match who.as_str() {
            "alice" => &mut alice,
            "bob" => &mut bob,
            other => return Err(Stop::Fail(format!("event {i}: unknown party {other}"))),
        };
        let at = |stop: Stop| match stop {
            Stop::Fail(m) => Stop::Fail(format!("event {i} ({ev} {who}): {m}")),
            skip => skip,
        };
        match ev.as_str() {
            "restore" => *s = restore(a, &e["state"]).map_err(at)?,
            "send" => {
                // `plaintextLength` stands for that many zero bytes (oversize cases).
                let plaintext = match e.get("plaintextLength").and_then(Value::as_u64) {
                    Some(n) => Value::String("00".repeat(usize::try_from(n).unwrap_or(0))),
                    None => e["plaintext"].clone(),
                };
                let args = json!({ "session": s, "plaintext": plaintext, "random": e["random"] });
                if e.get("error").is_some() {
                    let before = a.ok("session.state", json!({ "session": s })).map_err(at)?;
                    a.err(e, "session.encrypt", args).map_err(at)?;
                    let after = a.ok("session.state", json!({ "session": s })).map_err(at)?;
                    same(
                        "session.state after a failed encrypt",
                        &before,
                        "state",
                        &after,
                        "state",
                    )
                    .map_err(at)?;
                } else {
                    let r = a.ok("session.encrypt", args).map_err(at)?;
                    all_same("session.encrypt", e, &r, &["wire"]).map_err(at)?;
                }
            }
            "deliver" => {
                let args = json!({ "session": s, "wire": e["wire"] });
                if e.get("error").is_some() {
                    let before = a.ok("session.state", json!({ "session": s })).map_err(at)?;
                    a.err(e, "session.decrypt", args).map_err(at)?;
                    let after = a.ok("session.state", json!({ "session": s })).map_err(at)?;
                    same(
                        "session.state after a rejection",
                        &before,
                        "state",
                        &after,
                        "state",
                    )
                    .map_err(at)?;
                } else {
                    let r = a.ok("session.decrypt", args).map_err(at)?;
                    all_same("session.decrypt", e, &r, &["plaintext"]).map_err(at)?;
                    same_json("session.decrypt", e, &r, "position").map_err(at)?;
                }
            }
            other => return Err(Stop::Fail(format!("event {i}: unknown event {other}"))),
        }
    }
    for (who, s) in [("alice", &alice), ("bob", &bob)] {
        let r = a.ok("session.state", json!({ "session": s }))?;
        let digest = sha2::Sha256::digest(bytes(&r, "state")?);
        expect_eq(&case["finalStateSha256"], who, digest)
            .map_err(|e| Stop::Fail(format!("final state of {who}: {e}")))?;
    }
    Ok(())
}

/// One vector file's results.
#[derive(Debug, Default, Clone)]
pub struct FileReport {
    /// The file name.
    pub name: String,
    /// Cases that passed.
    pub pass: usize,
    /// Cases that failed (or file-level problems).
    pub fail: usize,
    /// Cases skipped (an operation unsupported by the implementation, or a kind unknown to
    /// the runner).
    pub skip: usize,
    /// One message per failed case: `tcId`, comment, what differed.
    pub failures: Vec<String>,
    /// One message per skipped case.
    pub skips: Vec<String>,
}

/// Drives every case of one vector file.
pub fn drive_file(a: &mut Adapter, name: &str, text: &str) -> FileReport {
    let mut rep = FileReport {
        name: name.to_string(),
        ..FileReport::default()
    };
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            rep.fail = 1;
            rep.failures.push(format!("not JSON: {e}"));
            return rep;
        }
    };
    let tests = v["tests"].as_array().cloned().unwrap_or_default();
    if v["numberOfTests"].as_u64() != Some(tests.len() as u64) {
        rep.fail = 1;
        rep.failures
            .push("numberOfTests does not match the tests array".into());
        return rep;
    }
    if v["specVersion"].as_str() != Some(&a.spec_version) {
        rep.fail = 1;
        rep.failures.push(format!(
            "the file is for spec version {}, the implementation speaks {}",
            v["specVersion"], a.spec_version
        ));
        return rep;
    }
    for case in &tests {
        let label = format!(
            "tcId {} [{}] ({})",
            case["tcId"],
            case["kind"].as_str().unwrap_or("?"),
            case["comment"].as_str().unwrap_or("")
        );
        match drive_case(a, case) {
            Ok(()) => rep.pass += 1,
            Err(Stop::Skip(why)) => {
                rep.skip += 1;
                rep.skips.push(format!("{label}: {why}"));
            }
            Err(Stop::Fail(why)) => {
                rep.fail += 1;
                rep.failures.push(format!("{label}: {why}"));
            }
        }
    }
    rep
}

/// Starts `command` and drives every `*.json` vector file in `dir` (sorted by name),
/// printing per-file counts, every failure and every skip to stdout.
pub fn drive_dir(dir: &Path, command: &[String]) -> Result<Vec<FileReport>, String> {
    let mut a = Adapter::spawn(command)?;
    println!(
        "driving {} (spec {}) with the vectors in {}",
        a.implementation,
        a.spec_version,
        dir.display()
    );
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut reports = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let rep = match std::fs::read_to_string(&path) {
            Ok(text) => drive_file(&mut a, &name, &text),
            Err(e) => FileReport {
                name: name.clone(),
                fail: 1,
                failures: vec![format!("cannot read: {e}")],
                ..FileReport::default()
            },
        };
        for f in &rep.failures {
            println!("  FAIL {name} {f}");
        }
        for s in &rep.skips {
            println!("  SKIP {name} {s}");
        }
        println!(
            "{name}: {} passed, {} failed, {} skipped",
            rep.pass, rep.fail, rep.skip
        );
        reports.push(rep);
    }
    let (p, f, s) = reports.iter().fold((0, 0, 0), |(p, f, s), r| {
        (p + r.pass, f + r.fail, s + r.skip)
    });
    println!("drive: {p} passed, {f} failed, {s} skipped");
    Ok(reports)
}
