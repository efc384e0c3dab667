//! Replays the relay transcript of `test-vectors/relay.json` (spec §12.12) against a relay
//! over HTTP: every step's status and body must match byte for byte. The transcript's
//! expected answers were computed by the conformance generator from the core's types, not
//! recorded from this server, so a pass shows this relay (or any other one run with the
//! transcript's fixed clock) speaks §12 as written.
//!
//! ```text
//! BLINDRELAY_CLOCK=<clock> blindrelay-relay --data <empty dir> &
//! cargo run -p blindrelay-relay --bin relay-conformance -- http://127.0.0.1:8780 test-vectors/relay.json
//! ```

use crate::oprf::hex;
use serde_json::Value;

/// One step that did not answer as the transcript says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The step number.
    pub step: u64,
    /// What it was for.
    pub comment: String,
    /// What differed.
    pub detail: String,
}

/// The transcript in a relay.json document: its fixed clock and its steps.
///
/// # Errors
/// A message if the document has no `relay-transcript` case or it is malformed.
pub fn transcript(document: &str) -> Result<(u64, Vec<Value>), String> {
    let v: Value = serde_json::from_str(document).map_err(|e| e.to_string())?;
    let case = field(&v, "tests")
        .as_array()
        .and_then(|t| t.iter().find(|c| field(c, "kind") == "relay-transcript"))
        .ok_or("no relay-transcript case")?;
    let clock = field(case, "clock")
        .as_u64()
        .ok_or("transcript without clock")?;
    let steps = field(case, "steps")
        .as_array()
        .ok_or("transcript without steps")?;
    Ok((clock, steps.clone()))
}

/// A field of a JSON object, or `null`.
fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name).unwrap_or(&Value::Null)
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err(format!("odd hex length {}", s.len()));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| format!("bad hex at {i}"))
        })
        .collect()
}

/// Runs every step against the relay at `base` (which must be fresh and run with the
/// transcript's clock) and returns the steps that did not match.
///
/// # Errors
/// A message for a malformed step or a transport failure.
pub async fn replay(base: &str, steps: &[Value]) -> Result<Vec<Mismatch>, String> {
    let http = reqwest::Client::new();
    let mut mismatches = Vec::new();
    for step in steps {
        let n = field(step, "step").as_u64().unwrap_or(0);
        let comment = field(step, "comment").as_str().unwrap_or("").to_owned();
        let path = field(step, "path").as_str().ok_or("step without path")?;
        let body = unhex(
            field(step, "request")
                .as_str()
                .ok_or("step without request")?,
        )?;
        let want_status = field(step, "status")
            .as_u64()
            .ok_or("step without status")?;
        let want_body = unhex(
            field(step, "response")
                .as_str()
                .ok_or("step without response")?,
        )?;
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let request = match field(step, "method").as_str() {
            Some("GET") => http.get(url),
            Some("POST") => http
                .post(url)
                .header("content-type", "application/octet-stream")
                .body(body),
            other => return Err(format!("step {n}: unknown method {other:?}")),
        };
        let response = request.send().await.map_err(|e| format!("step {n}: {e}"))?;
        let status = u64::from(response.status().as_u16());
        let got = response
            .bytes()
            .await
            .map_err(|e| format!("step {n}: {e}"))?;
        if status != want_status || got.as_ref() != want_body.as_slice() {
            mismatches.push(Mismatch {
                step: n,
                comment,
                detail: format!(
                    "expected {want_status} {}, got {status} {}",
                    hex(&want_body),
                    hex(&got)
                ),
            });
        }
    }
    Ok(mismatches)
}
