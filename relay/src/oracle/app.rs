//! The oracle's HTTP API (spec §14.3): `GET /v1/parameters` and `POST /v1/evaluate`.
//! Refusals use the relay's error response (`0x2F`, §12.10).

use super::store::OracleStore;
use super::Oracle;
use crate::app::{
    binary, declared_too_long, log_request, method_not_allowed, not_found, read_body, Answer, Raw,
    Refusal,
};
use crate::limits;
use crate::oprf::parse_hex32;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use blindrelay::codec::{Decode, Encode};
use blindrelay::contact::OprfRequest;
use blindrelay::Error;
use std::sync::Arc;

/// The oracle's router. Unknown paths answer 404 with code 809, a known path with the
/// wrong method 405 with code 809.
pub fn router<S: OracleStore>(oracle: Arc<Oracle<S>>) -> Router {
    Router::new()
        .route("/v1/parameters", get(parameters::<S>))
        .route("/v1/evaluate", post(evaluate::<S>))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&oracle),
            bound_request::<S>,
        ))
        .layer(axum::middleware::from_fn(log_request))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(oracle)
}

fn unavailable(e: &impl core::fmt::Display) -> Refusal {
    crate::log::line(&format!("oracle: internal error: {e}"));
    Refusal::of(&Error::Unavailable)
}

/// `Unauthorized` (800) with status 401: no relay credential, or an unknown one.
fn unauthorized() -> Refusal {
    Refusal::with_status(StatusCode::UNAUTHORIZED, Error::Unauthorized.code())
}

/// The relay credential of `Authorization: Bearer <64 hex digits>`, exactly.
fn bearer(headers: &HeaderMap) -> Option<[u8; 32]> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    parse_hex32(value.strip_prefix("Bearer ")?)
}

async fn parameters<S: OracleStore>(State(oracle): State<Arc<Oracle<S>>>) -> Answer {
    let (_, parameters) = oracle.current().await.map_err(|e| unavailable(&e))?;
    Ok(binary(parameters.to_bytes()))
}

/// Checks, in order (spec §14.3): the declared length (806), the credential (800), the
/// body's length while reading (806), the request's encoding (1xx, 610, 622), its key
/// epoch (615, before any charge), the relay's budget for today (807, nothing charged);
/// then evaluates (620 for an invalid element, after the charge).
async fn evaluate<S: OracleStore>(State(oracle): State<Arc<Oracle<S>>>, Raw(req): Raw) -> Answer {
    if declared_too_long(&req, limits::MAX_OPRF_REQUEST_LEN) {
        return Err(Refusal::of(&Error::BodyTooLarge));
    }
    let relay = bearer(req.headers())
        .and_then(|secret| oracle.relay_of(&secret))
        .cloned()
        .ok_or_else(unauthorized)?;
    let body = read_body(req, limits::MAX_OPRF_REQUEST_LEN).await?;
    let request = OprfRequest::decode_exact(&body)?;
    let (key, _) = oracle.current().await.map_err(|e| unavailable(&e))?;
    if request.key_epoch() != key.key_epoch() {
        return Err(Refusal::of(&Error::LookupMismatch));
    }
    let day = oracle.clock.now() / limits::SECS_PER_DAY;
    let elements = request.blinded().len() as u64;
    if !oracle
        .store
        .charge(relay.name, day, elements, relay.budget)
        .await?
    {
        return Err(Refusal::of(&Error::RateLimited));
    }
    // Up to 4096 scalar multiplications and a batch proof: off the async workers.
    let response = tokio::task::spawn_blocking(move || key.answer(&mut rand_core::OsRng, &request))
        .await
        .map_err(|e| unavailable(&e))??;
    Ok(binary(response.to_bytes()))
}

/// Bounds the requests served at once, as the relay does (spec §12.9).
async fn bound_request<S: OracleStore>(
    State(oracle): State<Arc<Oracle<S>>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let Ok(_permit) = oracle.in_flight.try_acquire() else {
        return Refusal::of(&Error::Unavailable).into_response();
    };
    next.run(request).await
}
