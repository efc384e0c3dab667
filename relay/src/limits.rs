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
