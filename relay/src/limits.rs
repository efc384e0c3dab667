//! Every bound the relay enforces, one named constant each (spec §12.9).

/// Envelopes one mailbox may hold at once; a deposit beyond it is refused (`MailboxFull`).
pub const MAX_MAILBOX_ENVELOPES: u64 = 10_000;
/// Bytes of envelopes one mailbox may hold at once; a deposit beyond it is refused.
pub const MAX_MAILBOX_BYTES: u64 = 64 * 1024 * 1024;
/// One-time keys of each kind (X25519, ML-KEM) a bundle owner may keep on the relay.
pub const MAX_ONE_TIME_KEYS: u64 = 1_000;
/// How long an envelope is kept before it expires unread, in seconds (30 days).
pub const ENVELOPE_RETENTION_SECS: u64 = 30 * 24 * 3600;
/// Envelopes one fetch returns at most.
pub const MAX_FETCH_ENVELOPES: usize = 256;
/// Contact registrations one owner may hold at once.
pub const MAX_REGISTRATIONS_PER_OWNER: u64 = 4;

/// Most concurrent WebSocket connections; beyond it an upgrade is refused with 503 and
/// code 810 (spec §12.6).
pub const MAX_WS_CONNECTIONS: usize = 20_000;
/// Seconds a new WebSocket connection has to send its subscription before it is closed.
pub const SUBSCRIBE_TIMEOUT_SECS: u64 = 10;
/// Deliveries queued for one WebSocket connection; when full, further pushes are dropped
/// (the subscriber fetches them, spec §12.6).
pub const WS_QUEUE_LEN: usize = 64;
/// Token bucket of deposits per mailbox: burst size (spec §12.9).
pub const DEPOSIT_BURST: u32 = 500;
/// Token bucket of deposits per mailbox: tokens added per second.
pub const DEPOSIT_PER_SEC: u32 = 100;
/// Token bucket of claims per bundle owner: burst size (spec §12.9). Bounds how fast anyone
/// can drain an owner's one-time prekeys.
pub const CLAIM_BURST: u32 = 20;
/// Token bucket of claims per bundle owner: tokens added per second.
pub const CLAIM_PER_SEC: u32 = 1;
/// Rate-limit buckets kept in memory; beyond it the table is cleared (a reset only makes
/// limits more lenient for a moment, never stricter).
pub const RATE_TABLE_MAX: usize = 100_000;
/// Bodies of the small owner requests (count, delete, deregister) and claims: their
/// encodings are at most this long (spec §12.9).
pub const MAX_SMALL_REQUEST_LEN: usize = 64;
/// Bodies of publish requests: a capability and a publication (spec §12.3).
pub const MAX_PUBLISH_LEN: usize = 2048;
/// Bodies of commit requests (spec §12.5, §15.6): `0x01 || 0x31 || token [32]` and a group
/// envelope, bounded like a deposit: 2 + 32 + `MAX_DEPOSIT_LEN`.
pub const MAX_COMMIT_LEN: usize =
    2 + blindrelay::group::COMMIT_TOKEN_LEN + blindrelay::relay::MAX_DEPOSIT_LEN;
/// Bodies of registration requests (spec §12.7).
pub const MAX_REGISTER_LEN: usize = 1024;
/// Bodies of lookup requests (spec §9.7): 4096 prefixes at most.
pub const MAX_LOOKUP_LEN: usize = 2 + 1 + 4 + 1 + 2 + 4 * 4096;
/// Bytes of envelopes one fetch response carries at most (it then sets `more`).
pub const MAX_FETCH_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Seconds between retention sweeps.
pub const SWEEP_INTERVAL_SECS: u64 = 60;
/// Requests served at once (WebSocket connections count only while upgrading); beyond it a
/// request is refused at once with 503 and code 808 (spec §12.9).
pub const MAX_IN_FLIGHT: usize = 4096;
/// Seconds a client has to send a request body; then 808 and nothing is stored (spec §12.9).
pub const REQUEST_TIMEOUT_SECS: u64 = 30;

/// Elements of OPRF evaluation one account (mailbox id) may have forwarded to the oracle per
/// UTC day (spec §14.5); beyond it `RateLimited` (807) and nothing is forwarded.
pub const OPRF_ELEMENTS_PER_DAY: u64 = 5_000;
/// Bodies of `POST /v1/oprf` (spec §14.5): `0x01 || 0x30 || capability [32]` and an OPRF
/// request of at most 4096 elements: 2 + 32 + 9 + 32 · 4096.
pub const MAX_OPRF_LEN: usize = 2 + 32 + MAX_OPRF_REQUEST_LEN;
/// Bodies of the oracle's `POST /v1/evaluate` (spec §14.3): an OPRF request (`0x15`) of at
/// most 4096 elements, 9 + 32 · 4096.
pub const MAX_OPRF_REQUEST_LEN: usize = 9 + 32 * 4096;
/// The longest OPRF response (`0x16`) the relay accepts from the oracle: 9 + 32 · 4096 + 64.
pub const MAX_OPRF_RESPONSE_LEN: usize = MAX_OPRF_REQUEST_LEN + 64;
/// The longest oracle-parameters body (`0x14`, always exactly 119 bytes) the relay accepts
/// from the oracle, with room to spare.
pub const MAX_ORACLE_PARAMETERS_LEN: usize = 1024;
/// Seconds the relay serves the oracle's parameters from its cache before fetching them
/// again (spec §14.5).
pub const ORACLE_PARAMETERS_CACHE_SECS: u64 = 3600;
/// Seconds the relay waits for the oracle (connect, request and answer) before answering
/// `Unavailable` (808).
pub const ORACLE_TIMEOUT_SECS: u64 = 20;
/// Days of per-relay usage counters the oracle keeps (today and yesterday, for the
/// operator); older rows are deleted by its sweep (spec §14.6).
pub const ORACLE_USAGE_RETENTION_DAYS: u64 = 2;
/// Seconds in a UTC day: quotas and budgets are per `now / SECS_PER_DAY`.
pub const SECS_PER_DAY: u64 = 86_400;
