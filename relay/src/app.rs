//! The HTTP API (spec §12.1): one handler per endpoint. Handlers only translate: read the
//! body under its endpoint's limit, decode it with the core's codec, run the core's checks,
//! call one store operation, encode the answer. No validation is re-written here.

use crate::clock::Clock;
use crate::limits;
use crate::oprf::{DailyQuota, OprfRelayRequest, OracleLink};
use crate::push::Push;
use crate::rate::RateLimiter;
use crate::server::Discovery;
use crate::store::{BundleRecord, Entry, Store, StoreError};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use blindrelay::codec::{Decode, Encode};
use blindrelay::contact::{BucketEntry, DiscoveryParameters, LookupRequest};
use blindrelay::envelope::RelayEnvelope;
use blindrelay::group::CommitRequest;
use blindrelay::relay::{
    AckRequest, ClaimRequest, ClaimResponse, CountResponse, ErrorResponse, FetchRequest,
    FetchResponse, FetchedEnvelope, OwnerRequest, OwnerRequestKind, Publication, PublishRequest,
    RegisterRequest, UploadKeysRequest, MAX_DEPOSIT_LEN, MAX_REQUEST_LEN,
};
use blindrelay::Error;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Instant;

/// Everything a handler needs: the store, the clock, the discovery parameters, the push
/// registry and the rate limiters. One per relay process.
pub struct Relay<S> {
    /// The storage backend.
    pub store: S,
    /// The relay's clock (system, or fixed for conformance runs).
    pub clock: Clock,
    /// The signed discovery parameters this relay serves, re-signed as they age (spec §9.6).
    pub discovery: Discovery,
    /// Subscribers of live pushes (spec §12.6).
    pub push: Push,
    /// Open WebSocket connections.
    pub connections: AtomicUsize,
    pub(crate) deposits: RateLimiter,
    pub(crate) claims: RateLimiter,
    oprf_quota: DailyQuota,
    oracle: Option<OracleLink>,
    in_flight: tokio::sync::Semaphore,
}

/// The token buckets of spec §12.9: deposits per mailbox and claims per bundle owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Deposits one mailbox accepts in a burst.
    pub deposit_burst: u32,
    /// Deposit tokens added per second per mailbox.
    pub deposit_per_sec: u32,
    /// Claims one owner's bundle serves in a burst.
    pub claim_burst: u32,
    /// Claim tokens added per second per owner.
    pub claim_per_sec: u32,
    /// OPRF elements one account may have evaluated per UTC day (spec §14.5).
    pub oprf_elements_per_day: u64,
}

impl Default for RateLimits {
    /// The values of [`crate::limits`].
    fn default() -> Self {
        Self {
            deposit_burst: limits::DEPOSIT_BURST,
            deposit_per_sec: limits::DEPOSIT_PER_SEC,
            claim_burst: limits::CLAIM_BURST,
            claim_per_sec: limits::CLAIM_PER_SEC,
            oprf_elements_per_day: limits::OPRF_ELEMENTS_PER_DAY,
        }
    }
}

impl<S: Store> Relay<S> {
    /// A relay over `store` with the default rate limits.
    pub fn new(store: S, clock: Clock, discovery: Discovery) -> Self {
        Self::with_rate_limits(store, clock, discovery, RateLimits::default())
    }

    /// A relay over `store` with the given rate limits (tests use a zero refill rate to
    /// make the limit deterministic).
    pub fn with_rate_limits(
        store: S,
        clock: Clock,
        discovery: Discovery,
        rates: RateLimits,
    ) -> Self {
        Self {
            store,
            clock,
            discovery,
            push: Push::default(),
            connections: AtomicUsize::new(0),
            deposits: RateLimiter::new(rates.deposit_burst, rates.deposit_per_sec),
            claims: RateLimiter::new(rates.claim_burst, rates.claim_per_sec),
            oprf_quota: DailyQuota::new(rates.oprf_elements_per_day),
            oracle: None,
            in_flight: tokio::sync::Semaphore::new(limits::MAX_IN_FLIGHT),
        }
    }

    /// The same relay forwarding OPRF evaluations to `oracle` (spec §14.5). Without one,
    /// `GET /v1/oracle` and `POST /v1/oprf` answer `Unavailable` (808).
    #[must_use]
    pub fn with_oracle(mut self, oracle: OracleLink) -> Self {
        self.oracle = Some(oracle);
        self
    }
}

/// The router of every endpoint of spec §12.1. Unknown paths answer 404 with code 809, a
/// known path with the wrong method 405 with code 809.
pub fn router<S: Store>(relay: Arc<Relay<S>>) -> Router {
    Router::new()
        .route("/v1/publish", post(publish::<S>))
        .route("/v1/keys", post(upload_keys::<S>))
        .route("/v1/count", post(count::<S>))
        .route("/v1/delete", post(delete::<S>))
        .route("/v1/claim", post(claim::<S>))
        .route("/v1/deposit", post(deposit::<S>))
        .route("/v1/commit", post(commit::<S>))
        .route("/v1/fetch", post(fetch::<S>))
        .route("/v1/ack", post(ack::<S>))
        .route("/v1/stream", get(crate::ws::stream::<S>))
        .route("/v1/discovery", get(discovery::<S>))
        .route("/v1/register", post(register::<S>))
        .route("/v1/deregister", post(deregister::<S>))
        .route("/v1/lookup", post(lookup::<S>))
        .route("/v1/oracle", get(oracle_parameters::<S>))
        .route("/v1/oprf", post(oprf::<S>))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&relay),
            bound_request::<S>,
        ))
        .layer(axum::middleware::from_fn(log_request))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(relay)
}

/// A refusal: an HTTP status and the stable code (spec §12.10).
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    code: u16,
}

impl Refusal {
    /// A refusal with an explicit status: the oracle's `401` for a missing or unknown
    /// relay credential (spec §14.3), and `405` for a wrong method.
    pub(crate) fn with_status(status: StatusCode, code: u16) -> Self {
        Self { status, code }
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The refusal of a core or relay error, with the status of spec §12.10.
    #[must_use]
    pub fn of(error: &Error) -> Self {
        // A caller-misuse error can only be the relay's own fault: an internal failure,
        // which §12.10 reports as Unavailable.
        let code = match error.code() {
            900 => Error::Unavailable.code(),
            code => code,
        };
        Self::of_code(code)
    }

    /// The refusal with `code` and the status §12.10 gives it.
    pub(crate) fn of_code(code: u16) -> Self {
        let status = match code {
            800 => StatusCode::FORBIDDEN,
            801 | 803 | 805 | 811..=813 => StatusCode::CONFLICT,
            802 | 809 => StatusCode::NOT_FOUND,
            804 => StatusCode::INSUFFICIENT_STORAGE,
            806 => StatusCode::PAYLOAD_TOO_LARGE,
            807 => StatusCode::TOO_MANY_REQUESTS,
            808 | 810 => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self { status, code }
    }
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Self::of(&e)
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        let error = match e {
            StoreError::Stale => Error::StalePublication,
            StoreError::NoBundle => Error::NoBundle,
            StoreError::PoolFull => Error::PoolFull,
            StoreError::MailboxFull => Error::MailboxFull,
            StoreError::TooManyRegistrations => Error::TooManyRegistrations,
            StoreError::BucketFull => Error::BucketFull,
            StoreError::CommitSlotTaken => Error::CommitSlotTaken,
            StoreError::EpochClosed => Error::EpochClosed,
            StoreError::Backend(message) => {
                // The operator's log gets the backend's message (never stored bytes); the
                // client gets only the code.
                crate::log::line(&format!("relay: storage error: {message}"));
                Error::Unavailable
            }
        };
        Self::of(&error)
    }
}

/// The code a response carried, for the request log.
#[derive(Clone, Copy)]
struct LoggedCode(u16);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )],
            ErrorResponse { code: self.code }.to_bytes(),
        )
            .into_response();
        response.extensions_mut().insert(LoggedCode(self.code));
        response
    }
}

pub(crate) type Answer = Result<Response, Refusal>;

pub(crate) fn binary(bytes: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        bytes,
    )
        .into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Reads a request body of at most `max` bytes (spec §12.9): a `Content-Length` over the
/// limit is refused before a byte is read, and a body without one is read only up to the
/// limit. Either way the refusal is 413 with code 806 and nothing is stored.
pub(crate) async fn read_body(request: Request, max: usize) -> Result<Bytes, Refusal> {
    if declared_too_long(&request, max) {
        return Err(Refusal::of(&Error::BodyTooLarge));
    }
    // A body sent too slowly is cut off (808) before anything is stored: the timeout covers
    // the read only, never a store operation whose outcome the client would then not know.
    match tokio::time::timeout(
        std::time::Duration::from_secs(limits::REQUEST_TIMEOUT_SECS),
        axum::body::to_bytes(request.into_body(), max),
    )
    .await
    {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(Refusal::of(&Error::BodyTooLarge)),
        Err(_) => Err(Refusal::of(&Error::Unavailable)),
    }
}

/// Whether the request's `Content-Length` declares more than `max` bytes.
pub(crate) fn declared_too_long(request: &Request, max: usize) -> bool {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > max as u64)
}

/// The raw request, taken whole so the body limit is ours to apply.
pub(crate) struct Raw(pub(crate) Request);

impl<S: Send + Sync> FromRequest<S> for Raw {
    type Rejection = Refusal;
    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(req))
    }
}

async fn publish<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let body = read_body(req, limits::MAX_PUBLISH_LEN).await?;
    let request = PublishRequest::decode_exact(&body)?;
    let now = relay.clock.now();
    request.check(now)?;
    let publication = &request.publication;
    let owner = publication.bundle().mailbox;
    // A new identity for this mailbox invalidates the one-time keys signed by the old one.
    let reset_pool = match relay.store.get_bundle(owner).await? {
        Some(stored) => Publication::decode_exact(&stored.bytes)
            .map(|old| old.bundle().identity != publication.bundle().identity)
            .unwrap_or(true),
        None => false,
    };
    let record = BundleRecord {
        issued_at: publication.issued_at(),
        expires_at: publication.expires_at(),
        bytes: publication.to_bytes(),
    };
    relay.store.put_bundle(owner, record, reset_pool).await?;
    Ok(no_content())
}

/// The owner's current publication, decoded; [`Error::NoBundle`] if none or expired.
async fn current_publication<S: Store>(
    relay: &Relay<S>,
    owner: [u8; 32],
) -> Result<Publication, Refusal> {
    let stored = relay
        .store
        .get_bundle(owner)
        .await?
        .filter(|b| b.expires_at > relay.clock.now())
        .ok_or_else(|| Refusal::of(&Error::NoBundle))?;
    Publication::decode_exact(&stored.bytes).map_err(|_| Refusal::of(&Error::Unavailable))
}

fn count_response(x25519: u64, kem: u64) -> Response {
    let c = CountResponse {
        x25519: u32::try_from(x25519).unwrap_or(u32::MAX),
        kem: u32::try_from(kem).unwrap_or(u32::MAX),
    };
    binary(c.to_bytes())
}

async fn upload_keys<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let body = read_body(req, MAX_REQUEST_LEN).await?;
    let request = UploadKeysRequest::decode_exact(&body)?;
    let owner = request.capability.mailbox();
    let publication = current_publication(&relay, owner).await?;
    request.verify_keys(&publication.bundle().identity)?;
    let x: Vec<(u32, Vec<u8>)> = request
        .x25519
        .iter()
        .map(|k| (k.id, k.to_bytes()))
        .collect();
    let k: Vec<(u32, Vec<u8>)> = request.kem.iter().map(|k| (k.id, k.to_bytes())).collect();
    // Added only if the publication the keys were verified against is still the stored one.
    let counts = relay
        .store
        .add_one_time_keys(owner, publication.issued_at(), x, k)
        .await?;
    Ok(count_response(counts.x25519, counts.kem))
}

/// Decodes a record the relay stored itself; one that does not decode is an internal
/// failure (808), not the client's.
fn decode_stored<T: Decode>(bytes: &[u8]) -> Result<T, Refusal> {
    T::decode_exact(bytes).map_err(|_| Refusal::of(&Error::Unavailable))
}

async fn owner_request(req: Request, kind: OwnerRequestKind) -> Result<[u8; 32], Refusal> {
    let body = read_body(req, limits::MAX_SMALL_REQUEST_LEN).await?;
    Ok(OwnerRequest::decode_as(kind, &body)?.capability.mailbox())
}

async fn count<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let owner = owner_request(req, OwnerRequestKind::Count).await?;
    let counts = relay.store.pool_counts(owner).await?;
    Ok(count_response(counts.x25519, counts.kem))
}

async fn delete<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let owner = owner_request(req, OwnerRequestKind::Delete).await?;
    relay.store.delete_owner(owner).await?;
    Ok(no_content())
}

async fn claim<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let body = read_body(req, limits::MAX_SMALL_REQUEST_LEN).await?;
    let request = ClaimRequest::decode_exact(&body)?;
    if !relay.claims.allow(&request.mailbox) {
        return Err(Refusal::of(&Error::RateLimited));
    }
    let claimed = relay
        .store
        .claim(request.mailbox, relay.clock.now())
        .await?
        .ok_or_else(|| Refusal::of(&Error::NoBundle))?;
    let response = ClaimResponse {
        publication: decode_stored(&claimed.bundle.bytes)?,
        one_time_prekey: claimed.x25519.as_deref().map(decode_stored).transpose()?,
        one_time_kem_prekey: claimed.kem.as_deref().map(decode_stored).transpose()?,
    };
    Ok(binary(response.to_bytes()))
}

async fn deposit<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let body = read_body(req, MAX_DEPOSIT_LEN).await?;
    let mailbox = *RelayEnvelope::parse(&body)?.mailbox();
    if !relay.deposits.allow(&mailbox) {
        return Err(Refusal::of(&Error::RateLimited));
    }
    let envelope = body.to_vec();
    let seq = relay
        .store
        .deposit(mailbox, envelope, relay.clock.now())
        .await?;
    relay.push.notify(&mailbox, seq, &body);
    Ok(no_content())
}

/// `POST /v1/commit` (spec §12.5, §15.6): a blind commit. Parses the request, checks that
/// the token opens the envelope's mailbox (`WrongMailbox`, 500, status 400), charges the
/// mailbox's deposit rate limit, then closes the mailbox's commit slot and deposits the
/// envelope in one store operation (`CommitSlotTaken`, 812, if another commit closed it
/// first). The token is not stored.
async fn commit<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let body = read_body(req, limits::MAX_COMMIT_LEN).await?;
    let request = CommitRequest::parse(&body)?;
    request.check()?;
    let mailbox = *request.envelope().mailbox();
    if !relay.deposits.allow(&mailbox) {
        return Err(Refusal::of(&Error::RateLimited));
    }
    let envelope = request.envelope().to_bytes();
    let seq = relay
        .store
        .commit(mailbox, envelope.clone(), relay.clock.now())
        .await?;
    relay.push.notify(&mailbox, seq, &envelope);
    Ok(no_content())
}

async fn fetch<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let body = read_body(req, limits::MAX_SMALL_REQUEST_LEN).await?;
    let request = FetchRequest::decode_exact(&body)?;
    let mailbox = request.capability.mailbox();
    let stored = relay
        .store
        .fetch(
            mailbox,
            request.after,
            usize::from(request.limit) + 1,
            relay.clock.now(),
        )
        .await?;
    Ok(binary(page(stored, usize::from(request.limit)).to_bytes()))
}

/// A fetch page: at most `limit` envelopes and about [`limits::MAX_FETCH_RESPONSE_BYTES`]
/// bytes (always at least one), `more` when anything was left out. `stored` holds up to
/// `limit + 1` envelopes, so a left-out one shows that more exist.
pub(crate) fn page(stored: Vec<crate::store::Stored>, limit: usize) -> FetchResponse {
    let total = stored.len();
    let mut envelopes = Vec::new();
    let mut bytes = 0usize;
    for s in stored {
        if envelopes.len() == limit
            || (!envelopes.is_empty()
                && bytes + s.envelope.len() > limits::MAX_FETCH_RESPONSE_BYTES)
        {
            break;
        }
        bytes += s.envelope.len();
        envelopes.push(FetchedEnvelope {
            seq: s.seq,
            envelope: s.envelope,
        });
    }
    let more = envelopes.len() < total;
    FetchResponse { envelopes, more }
}

async fn ack<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let body = read_body(req, limits::MAX_SMALL_REQUEST_LEN).await?;
    let request = AckRequest::decode_exact(&body)?;
    relay
        .store
        .ack(request.capability.mailbox(), request.up_to)
        .await?;
    Ok(no_content())
}

impl<S: Store> Relay<S> {
    /// The discovery parameters at this moment (spec §9.6): `ch1`, or for a relay with an
    /// oracle `ch2` naming it at its current key epoch (spec §13.9), which needs the
    /// oracle's parameters (cached, `Unavailable` if they cannot be fetched or verified).
    async fn discovery_now(&self) -> Result<DiscoveryParameters, Refusal> {
        let now = self.clock.now();
        let binding = match &self.oracle {
            None => None,
            Some(link) => Some(link.binding(now).await?),
        };
        Ok(self.discovery.at(now, binding))
    }

    /// One retention pass (spec §12.9, §12.8), what the relay's sweeper runs every
    /// [`limits::SWEEP_INTERVAL_SECS`]: [`Store::sweep`] at the clock's `now`, then
    /// [`Store::drop_generations_before`] the current salt generation, which deletes the
    /// registrations made under earlier discovery parameters (for a `ch2` relay: before
    /// the oracle's last key rotation). The second is skipped when the current parameters
    /// cannot be had (an unreachable oracle): lookups never return another generation's
    /// entries anyway, the deletion only frees their rows. Failures are logged, not
    /// returned (the next pass tries again); returns how many rows were deleted.
    pub async fn sweep(&self) -> u64 {
        let mut deleted = 0;
        match self.store.sweep(self.clock.now()).await {
            Ok(n) => deleted += n,
            Err(e) => crate::log::line(&format!("relay: sweep failed: {e}")),
        }
        if let Ok(params) = self.discovery_now().await {
            match self
                .store
                .drop_generations_before(params.salt_generation())
                .await
            {
                Ok(n) => deleted += n,
                Err(e) => crate::log::line(&format!(
                    "relay: deleting earlier generations' registrations failed: {e}"
                )),
            }
        }
        deleted
    }
}

async fn discovery<S: Store>(State(relay): State<Arc<Relay<S>>>) -> Answer {
    Ok(binary(relay.discovery_now().await?.to_bytes()))
}

async fn register<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let body = read_body(req, limits::MAX_REGISTER_LEN).await?;
    let request = RegisterRequest::decode_exact(&body)?;
    // `bucket_entry` refuses a registration of another salt generation than the current
    // parameters' (615), so the generation stored with the entry is the current one.
    let (bucket, entry) = relay
        .discovery_now()
        .await?
        .bucket_entry(&request.registration)?;
    let entry = Entry {
        tag: entry.tag,
        record: entry.record,
    };
    relay
        .store
        .register(
            request.capability.mailbox(),
            request.registration.salt_generation(),
            bucket,
            entry,
        )
        .await?;
    Ok(no_content())
}

async fn deregister<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let owner = owner_request(req, OwnerRequestKind::Deregister).await?;
    relay.store.deregister(owner).await?;
    Ok(no_content())
}

async fn lookup<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let body = read_body(req, limits::MAX_LOOKUP_LEN).await?;
    let request = LookupRequest::decode_exact(&body)?;
    let params = relay.discovery_now().await?;
    params.check_request(&request)?;
    let mut buckets = BTreeMap::new();
    for &prefix in request.prefixes() {
        // Only the current generation's entries: earlier ones (not yet dropped by the
        // sweeper) were derived under another salt and are useless to this lookup.
        let entries = relay.store.bucket(params.salt_generation(), prefix).await?;
        buckets.insert(
            prefix,
            entries
                .into_iter()
                .map(|e| BucketEntry {
                    tag: e.tag,
                    record: e.record,
                })
                .collect::<Vec<_>>(),
        );
    }
    let response = params.answer(&request, |p| buckets.remove(&p).unwrap_or_default())?;
    Ok(binary(response.to_bytes()))
}

/// `GET /v1/oracle` (spec §14.5): the oracle's current parameters, from the relay's cache
/// or fetched afresh; `Unavailable` (808) without an oracle or when it cannot be reached.
async fn oracle_parameters<S: Store>(State(relay): State<Arc<Relay<S>>>) -> Answer {
    let link = relay
        .oracle
        .as_ref()
        .ok_or_else(|| Refusal::of(&Error::Unavailable))?;
    Ok(binary(link.parameters().await?))
}

/// `POST /v1/oprf` (spec §14.5): decodes the wrapper (never the elements), charges the
/// account's daily quota, forwards the OPRF request bytes unchanged to the oracle and
/// answers with the oracle's bytes or its refusal.
async fn oprf<S: Store>(State(relay): State<Arc<Relay<S>>>, Raw(req): Raw) -> Answer {
    let link = relay
        .oracle
        .as_ref()
        .ok_or_else(|| Refusal::of(&Error::Unavailable))?;
    let body = read_body(req, limits::MAX_OPRF_LEN).await?;
    let request = OprfRelayRequest::decode_exact(&body)?;
    let account = request.capability.mailbox();
    let elements = request.request.blinded().len() as u64;
    let day = relay.clock.now() / limits::SECS_PER_DAY;
    if !relay.oprf_quota.charge(&account, day, elements) {
        return Err(Refusal::of(&Error::RateLimited));
    }
    // The bytes after the capability are the OPRF request exactly as the client encoded
    // it (the decoding above is strict, so they are its only encoding).
    let forwarded = body.slice(OprfRelayRequest::PREFIX_LEN..);
    match link.evaluate(forwarded).await {
        Ok(bytes) => Ok(binary(bytes)),
        Err(e) => {
            if !e.evaluated() {
                relay.oprf_quota.refund(&account, day, elements);
            }
            Err(e.refusal())
        }
    }
}

pub(crate) async fn not_found() -> Refusal {
    Refusal::of(&Error::NotFound)
}

pub(crate) async fn method_not_allowed() -> Refusal {
    Refusal {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: Error::NotFound.code(),
    }
}

/// Bounds the requests served at once (spec §12.9): at most [`limits::MAX_IN_FLIGHT`];
/// beyond it 503 with code 808 at once, nothing read.
async fn bound_request<S: Store>(
    State(relay): State<Arc<Relay<S>>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let Ok(_permit) = relay.in_flight.try_acquire() else {
        return Refusal::of(&Error::Unavailable).into_response();
    };
    next.run(request).await
}

/// The request log (spec §12.11): method, path, status, code and duration. Never a body,
/// a capability, a mailbox id or an address.
pub(crate) async fn log_request(request: Request, next: axum::middleware::Next) -> Response {
    let method: Method = request.method().clone();
    // The route's template, never the raw path: a path is attacker-chosen text.
    let path = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "-".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    if crate::log::enabled() {
        let code = response.extensions().get::<LoggedCode>().map_or(0, |c| c.0);
        crate::log::line(&format!(
            "{method} {path} {} code={code} {}us",
            response.status().as_u16(),
            started.elapsed().as_micros()
        ));
    }
    response
}
