//! The relay API (spec §12, `spec/12-relay-api.md`): the byte encodings of every request and
//! response a relay serves, and the checks a relay and a client make on them.
//!
//! This module is pure, like the rest of the crate: it encodes, decodes and verifies; the
//! HTTP and WebSocket server that carries these bodies is the `blindrelay-relay` crate.
//! Keeping the encodings and checks here means a server only translates (decode a body, call
//! one store operation, encode the answer) and another relay implementation can be checked
//! against `test-vectors/relay.json`.
//!
//! - [`Publication`]: a bundle signed with an issue time and an expiry (§12.3), so a relay
//!   and a claimer can refuse a stale one.
//! - Requests that act on a mailbox the caller owns carry its [`ReadCapability`] (§12.2): the
//!   relay checks that it hashes to the mailbox ([`crate::route::verify_read_capability`]).
//!   No request names a sender.
//! - [`ClaimResponse::verify`]: the claimer's checks on a claimed bundle (§12.4).
//!
//! [`ReadCapability`]: crate::route::ReadCapability

mod publication;
mod wire;

#[cfg(test)]
mod tests;

pub use publication::{Publication, PUBLICATION_LABEL};
pub use wire::{
    AckRequest, ClaimRequest, ClaimResponse, CountResponse, Delivery, ErrorResponse, FetchRequest,
    FetchResponse, FetchedEnvelope, OwnerRequest, OwnerRequestKind, PublishRequest,
    RegisterRequest, SubscribeRequest, UploadKeysRequest,
};

/// How far in the future a publication's issue time may be, in seconds, before a relay
/// refuses it as [`Error::Expired`](crate::Error::Expired) (clock skew between client and
/// relay, spec §12.3).
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// The longest validity window a publication may claim (`expires_at - issued_at`), in
/// seconds: 30 days, so a relay can serve a stale bundle for at most that long (§12.3).
pub const MAX_PUBLICATION_LIFETIME_SECS: u64 = 30 * 24 * 3600;

/// One-time prekeys of each kind one upload may carry (§12.4).
pub const MAX_UPLOAD_KEYS: usize = 100;

/// Envelopes one fetch may ask for and one fetch response may carry (§12.5).
pub const MAX_FETCH_LIMIT: u16 = 256;

/// Capabilities one WebSocket subscription may name (§12.6).
pub const MAX_SUBSCRIPTIONS: usize = 32;

/// The largest relay envelope (either type, spec §8) a deposit may carry: the HPKE
/// envelope's maximum, which is larger than the pairwise envelope's.
pub const MAX_DEPOSIT_LEN: usize =
    crate::envelope::ENVELOPE_OVERHEAD + crate::envelope::MAX_ENVELOPE_CIPHERTEXT_LEN;

/// The largest request body any endpoint accepts (an upload of [`MAX_UPLOAD_KEYS`] keys of
/// each kind); a relay refuses a longer body before reading it (§12.9).
pub const MAX_REQUEST_LEN: usize =
    2 + 32 + 2 + MAX_UPLOAD_KEYS * (4 + 32 + 64) + 2 + MAX_UPLOAD_KEYS * (4 + 1184 + 64);
