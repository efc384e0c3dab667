//! The relay's side of suite `ch2`'s OPRF (spec §14.5): the `POST /v1/oprf` request
//! (type `0x30`), the per-account daily quota, and the link to the oracle the relay
//! forwards evaluations to with its bearer credential.
//!
//! The relay never decodes an element: it checks the request's structure (the core's
//! strict codec), charges the account, and forwards the OPRF request's bytes unchanged.

use crate::app::Refusal;
use crate::limits;
use axum::body::Bytes;
use blindrelay::codec::{read_header, write_header, Decode, Encode, MessageType, Reader, Writer};
use blindrelay::contact::{OprfRequest, OracleBinding, OracleParameters, VerifiedOracle};
use blindrelay::relay::ErrorResponse;
use blindrelay::route::ReadCapability;
use blindrelay::Error;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Message type of an OPRF request sent to the relay (spec §14.5, §2.2).
pub const OPRF_RELAY_REQUEST: MessageType = MessageType(0x30);

/// An OPRF evaluation request sent to the relay (spec §14.5, type `0x30`): the account's
/// read capability and the OPRF request (`0x15`) to forward.
///
/// ```text
/// 0x01 || 0x30 || capability [32] || OPRF request (0x01 0x15 …, §13.6)
/// ```
///
/// Decoding is strict: the header, 32 capability bytes, one OPRF request decoded by the
/// core's codec (its version, type, suite, count and length checks), no trailing bytes.
pub struct OprfRelayRequest {
    /// The read capability of the account's public mailbox (spec §12.2): the account the
    /// relay charges.
    pub capability: ReadCapability,
    /// The OPRF request to forward to the oracle.
    pub request: OprfRequest,
}

impl OprfRelayRequest {
    /// Bytes before the OPRF request: the header and the capability.
    pub const PREFIX_LEN: usize = 2 + 32;
}

impl core::fmt::Debug for OprfRelayRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OprfRelayRequest")
            .field("capability", &"<redacted>")
            .field("key_epoch", &self.request.key_epoch())
            .field("elements", &self.request.blinded().len())
            .finish()
    }
}

impl Encode for OprfRelayRequest {
    fn encode(&self, w: &mut Writer) {
        write_header(w, OPRF_RELAY_REQUEST);
        w.bytes(&self.capability.to_bytes());
        self.request.encode(w);
    }
}

impl Decode for OprfRelayRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, OPRF_RELAY_REQUEST)?;
        let capability = ReadCapability::from_bytes(r.array::<32>()?);
        let request = OprfRequest::decode(r)?;
        Ok(Self {
            capability,
            request,
        })
    }
}

/// Per-account daily counters of OPRF elements (spec §14.5), in memory like the relay's
/// other rate limits (`rate.rs`): a restart forgets them, which only makes the quota more
/// lenient for the rest of that day. Keyed by mailbox id, never by capability or address.
pub(crate) struct DailyQuota {
    limit: u64,
    used: Mutex<HashMap<[u8; 32], (u64, u64)>>,
}

impl DailyQuota {
    pub(crate) fn new(limit: u64) -> Self {
        Self {
            limit,
            used: Mutex::new(HashMap::new()),
        }
    }

    /// Charges `n` elements to `account` for `day`, all or nothing: `false` (nothing
    /// charged) when the day's total would exceed the limit.
    pub(crate) fn charge(&self, account: &[u8; 32], day: u64, n: u64) -> bool {
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if used.len() >= limits::RATE_TABLE_MAX && !used.contains_key(account) {
            // Other days' counters are dead; if today's alone fill the table, forget them
            // all (more lenient for a moment, never stricter).
            used.retain(|_, (d, _)| *d == day);
            if used.len() >= limits::RATE_TABLE_MAX {
                used.clear();
            }
        }
        let entry = used.entry(*account).or_insert((day, 0));
        if entry.0 != day {
            *entry = (day, 0);
        }
        match entry.1.checked_add(n) {
            Some(total) if total <= self.limit => {
                entry.1 = total;
                true
            }
            _ => false,
        }
    }

    /// Gives back `n` elements charged for `day` that the oracle did not evaluate.
    pub(crate) fn refund(&self, account: &[u8; 32], day: u64, n: u64) {
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = used.get_mut(account) {
            if entry.0 == day {
                entry.1 = entry.1.saturating_sub(n);
            }
        }
    }
}

/// Why a call to the oracle did not give an answer to pass on.
#[derive(Debug)]
pub(crate) enum OracleError {
    /// The oracle could not be reached, timed out, or answered bytes that are not what it
    /// must send (an over-long body, parameters that do not decode, a refusal without an
    /// error body).
    Unreachable(String),
    /// The oracle refused with this code.
    Refused(u16),
}

impl OracleError {
    /// Whether the oracle charged the relay's budget for the request: only when it refused
    /// an element after charging (`OprfInvalidElement`, 620). Every other refusal comes
    /// before its charge, so the relay gives the account its quota back.
    pub(crate) fn evaluated(&self) -> bool {
        matches!(self, Self::Refused(620))
    }

    /// The refusal the relay answers with (spec §14.5): the oracle's code when it concerns
    /// the client's request (1xx, 6xx) or the budget (807); `Unavailable` (808) for
    /// anything that is the relay's or the oracle's own failure (an unreachable oracle, a
    /// refused credential, an unexpected answer), which the relay logs.
    pub(crate) fn refusal(&self) -> Refusal {
        match self {
            Self::Unreachable(message) => {
                crate::log::line(&format!("relay: oracle unavailable: {message}"));
                Refusal::of(&Error::Unavailable)
            }
            Self::Refused(code @ (100..=199 | 600..=699 | 807)) => Refusal::of_code(*code),
            Self::Refused(code) => {
                crate::log::line(&format!("relay: the oracle refused the relay: code {code}"));
                Refusal::of(&Error::Unavailable)
            }
        }
    }
}

impl From<OracleError> for Refusal {
    fn from(e: OracleError) -> Self {
        e.refusal()
    }
}

/// The relay's link to its oracle (spec §14.5): the oracle's base URL, the relay's bearer
/// credential, and the oracle's parameters cached for
/// [`limits::ORACLE_PARAMETERS_CACHE_SECS`].
pub struct OracleLink {
    base: String,
    credential: [u8; 32],
    key: [u8; 32],
    http: reqwest::Client,
    cached: Mutex<Option<Cached>>,
}

/// The oracle's parameters as last fetched, and once verified under the pinned key, the
/// verification (so the hot path checks only the time, not the signature, per request).
struct Cached {
    at: Instant,
    bytes: Vec<u8>,
    verified: Option<VerifiedOracle>,
}

impl core::fmt::Debug for OracleLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OracleLink")
            .field("base", &self.base)
            .field("credential", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl OracleLink {
    /// A link to the oracle at `base` (e.g. `http://127.0.0.1:8790`) with the relay's
    /// 32-byte bearer credential and the oracle's Ed25519 key `key`, which the relay's
    /// `ch2` discovery parameters name (spec §13.9) and its parameters must verify under.
    ///
    /// # Errors
    /// A message if the HTTP client cannot be built.
    pub fn new(base: &str, credential: [u8; 32], key: [u8; 32]) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(limits::ORACLE_TIMEOUT_SECS))
            .timeout(Duration::from_secs(limits::ORACLE_TIMEOUT_SECS))
            .build()
            .map_err(|e| format!("oracle client: {e}"))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            credential,
            key,
            http,
            cached: Mutex::new(None),
        })
    }

    /// The oracle's current parameters (`0x14`), from the cache if fetched less than
    /// [`limits::ORACLE_PARAMETERS_CACHE_SECS`] ago.
    pub(crate) async fn parameters(&self) -> Result<Vec<u8>, OracleError> {
        if let Some(bytes) = self.fresh(|c| c.bytes.clone()) {
            return Ok(bytes);
        }
        let response = self
            .http
            .get(format!("{}/v1/parameters", self.base))
            .send()
            .await
            .map_err(|e| OracleError::Unreachable(e.to_string()))?;
        let bytes = answer(response, limits::MAX_ORACLE_PARAMETERS_LEN).await?;
        // Structure only: the client verifies the signature under the key it pinned.
        OracleParameters::decode_exact(&bytes)
            .map_err(|e| OracleError::Unreachable(format!("oracle parameters: {e}")))?;
        *self.lock() = Some(Cached {
            at: Instant::now(),
            bytes: bytes.clone(),
            verified: None,
        });
        Ok(bytes)
    }

    /// `read` of the cached entry, if it is younger than
    /// [`limits::ORACLE_PARAMETERS_CACHE_SECS`] (under the lock: nothing is copied that
    /// `read` does not take).
    fn fresh<T>(&self, read: impl FnOnce(&Cached) -> T) -> Option<T> {
        self.lock()
            .as_ref()
            .filter(|c| c.at.elapsed() < Duration::from_secs(limits::ORACLE_PARAMETERS_CACHE_SECS))
            .map(read)
    }

    /// The oracle binding the relay's `ch2` parameters carry at `now` (spec §13.9): the
    /// oracle's key and the key epoch of its current parameters, which must verify under
    /// that key (the relay names only an oracle whose parameters it checked).
    ///
    /// The signature is verified once per fetched copy (the cache keeps the verification);
    /// every call checks the parameters' time window at `now`.
    pub(crate) async fn binding(&self, now: u64) -> Result<OracleBinding, OracleError> {
        let unusable = |e: Error| OracleError::Unreachable(format!("oracle parameters: {e}"));
        let verified = match self.fresh(|c| c.verified).flatten() {
            Some(v) => {
                v.check_time(now).map_err(unusable)?;
                v
            }
            None => {
                let bytes = self.parameters().await?;
                let v = OracleParameters::decode_exact(&bytes)
                    .and_then(|p| p.verify(&self.key, now))
                    .map_err(unusable)?;
                if let Some(c) = self.lock().as_mut().filter(|c| c.bytes == bytes) {
                    c.verified = Some(v);
                }
                v
            }
        };
        Ok(OracleBinding {
            oracle_key: self.key,
            key_epoch: verified.key_epoch(),
        })
    }

    /// Forwards OPRF request bytes to `POST /v1/evaluate` with the credential; the
    /// oracle's response bytes (`0x16`), unchecked (the client verifies the proof).
    pub(crate) async fn evaluate(&self, request: Bytes) -> Result<Vec<u8>, OracleError> {
        let response = self
            .http
            .post(format!("{}/v1/evaluate", self.base))
            .header("content-type", "application/octet-stream")
            .header("authorization", format!("Bearer {}", hex(&self.credential)))
            .body(request)
            .send()
            .await
            .map_err(|e| OracleError::Unreachable(e.to_string()))?;
        let result = answer(response, limits::MAX_OPRF_RESPONSE_LEN).await;
        if matches!(result, Err(OracleError::Refused(615))) {
            // The oracle rotated its key since the cached parameters were fetched: serve
            // the new ones at the client's next `GET /v1/oracle`.
            *self.lock() = None;
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        self.cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The body of a 200 answer, read up to `max` bytes; a refusal's code otherwise.
async fn answer(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, OracleError> {
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| OracleError::Unreachable(e.to_string()))?
    {
        if body.len() + chunk.len() > max {
            return Err(OracleError::Unreachable(format!(
                "answer longer than {max} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    if status == 200 {
        return Ok(body);
    }
    match ErrorResponse::decode_exact(&body) {
        Ok(e) => Err(OracleError::Refused(e.code)),
        Err(_) => Err(OracleError::Unreachable(format!(
            "HTTP {status} without an error response"
        ))),
    }
}

/// Lowercase hex (keys and credentials in logs, arguments and the oracle's `Authorization`
/// header; [`parse_hex32`] reads it back).
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses exactly 64 hex digits (either case) into 32 bytes.
#[must_use]
pub fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let digit = |c: u8| char::from(c).to_digit(16);
        let (hi, lo) = match pair {
            [h, l] => (digit(*h)?, digit(*l)?),
            _ => return None,
        };
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_is_exact_per_account_and_day_and_refunds() {
        let q = DailyQuota::new(10);
        assert!(q.charge(&[1; 32], 5, 6));
        assert!(!q.charge(&[1; 32], 5, 6));
        assert!(q.charge(&[1; 32], 5, 4));
        assert!(!q.charge(&[1; 32], 5, 1));
        assert!(q.charge(&[2; 32], 5, 10));
        q.refund(&[1; 32], 5, 3);
        assert!(q.charge(&[1; 32], 5, 3));
        // A new day starts from zero.
        assert!(q.charge(&[1; 32], 6, 10));
        assert!(!q.charge(&[1; 32], 6, u64::MAX));
    }

    /// The relay verifies the oracle's signature once per fetched copy and checks only the
    /// time per request: with the oracle gone, the cached verification still answers; past
    /// the parameters' expiry it refuses without fetching; a link pinning another key never
    /// gets a binding.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_binding_is_verified_once_and_its_window_checked_per_request() {
        use crate::oracle::store::SqliteOracleStore;
        use crate::oracle::{oracle_with, start, RelayCredential};
        use crate::Clock;
        use blindrelay::contact::MAX_PARAMETERS_LIFETIME_SECS;
        const NOW: u64 = 1_800_000_000;
        crate::log::set_enabled(false);
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteOracleStore::open(&dir.path().join("oracle.db")).unwrap();
        let relays = vec![RelayCredential {
            name: "r".into(),
            secret: [1; 32],
            budget: 10,
        }];
        let oracle =
            std::sync::Arc::new(oracle_with(store, Clock::Fixed(NOW), dir.path(), relays).unwrap());
        let key = oracle.oracle_key();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = start(oracle, listener).unwrap();
        let url = format!("http://{}", running.addr);
        let link = OracleLink::new(&url, [1; 32], key).unwrap();
        let wrong = OracleLink::new(&url, [1; 32], [9; 32]).unwrap();
        let first = link.binding(NOW).await.map_err(|e| format!("{e:?}"));
        assert!(first.is_ok(), "{first:?}");
        assert!(wrong.binding(NOW).await.is_err());
        assert!(
            wrong.binding(NOW).await.is_err(),
            "a cached copy is not trusted"
        );
        running.stop().await;
        let cached = link.binding(NOW + 60).await.map_err(|e| format!("{e:?}"));
        assert_eq!(cached, first, "answered from the cached verification");
        let late = link
            .binding(NOW + MAX_PARAMETERS_LIFETIME_SECS + 1)
            .await
            .map_err(|e| format!("{e:?}"));
        assert!(
            late.as_ref()
                .is_err_and(|e| e.contains("oracle parameters")),
            "expired parameters refused from the cache: {late:?}"
        );
    }

    #[test]
    fn hex_credentials_are_exactly_64_digits() {
        let h = "00ff".repeat(16);
        assert_eq!(parse_hex32(&h).map(|b| b[1]), Some(0xff));
        assert_eq!(parse_hex32(&h.to_uppercase()), parse_hex32(&h));
        assert!(parse_hex32(&h[1..]).is_none());
        assert!(parse_hex32(&format!("{h}0")).is_none());
        assert!(parse_hex32(&"zz".repeat(32)).is_none());
        assert!(parse_hex32(&"+1".repeat(32)).is_none());
        assert_eq!(hex(&parse_hex32(&h).unwrap_or_default()), h);
    }
}
