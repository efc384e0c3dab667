//! The crate's one public error type and its stable numeric codes (spec: `spec/errors.md`).
//!
//! Codes are grouped by hundreds: 1xx decoding, 2xx cryptographic checks, 3xx handshake,
//! 4xx ratchet, 5xx envelope, 6xx contact discovery, 7xx relay API
//! checks a client makes, 8xx relay refusals (spec §12.10), 9xx caller misuse. A code, once
//! published, never changes meaning; new variants take new codes.
//!
//! Every authentication failure (bad AEAD tag, wrong header key, unknown message key,
//! wrong storage key) is the single variant [`Error::Decrypt`], so the error reveals nothing
//! an attacker could use as an oracle. The one exception is [`Error::Duplicate`]: a message
//! whose header authenticates as the peer's but that was already received (at-least-once
//! delivery makes these normal, and a relay can already tell it re-sent a message). Decode errors are precise because
//! the attacker already knows the bytes it sent.

use core::fmt;

/// Every way a blindrelay operation can fail. See `spec/errors.md` for the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// 100: the input ended before a field was complete.
    Truncated,
    /// 101: bytes were left over after the message was complete.
    TrailingBytes,
    /// 102: a length or count prefix exceeds the field's fixed maximum (or the input).
    LengthOverMax {
        /// The field whose prefix was too large.
        field: &'static str,
    },
    /// 103: the protocol version byte is not one this implementation speaks.
    UnknownVersion(u8),
    /// 104: the message type byte is not the one expected here.
    UnknownMessageType(u8),
    /// 105: a field has a value the encoding forbids (reserved bits set, a flag byte
    /// other than 0 or 1, a non-canonical form).
    InvalidEncoding {
        /// The field that was malformed.
        field: &'static str,
    },
    /// 200: authentication failed. Deliberately coarse: wrong key, tampered bytes, an unknown
    /// message, or a wrong storage key all look the same (a re-delivered message of the
    /// session is [`Error::Duplicate`]).
    Decrypt,
    /// 201: a signature did not verify under the identity key that should have made it.
    BadSignature,
    /// 202: an X25519 exchange produced the all-zero output (a low-order peer key).
    NonContributory,
    /// 203: a public key is not a valid key of its type (an Ed25519 point that does not
    /// decompress, an ML-KEM encapsulation key that fails the FIPS 203 modulus check).
    InvalidPublicKey,
    /// 300: an initial message names a prekey id the responder's store does not hold.
    UnknownPrekey,
    /// 301: an initial message's ephemeral key was already accepted once.
    ReplayedInitialMessage,
    /// 302: an initial message's header does not belong to this session.
    SessionMismatch,
    /// 400: a message number is further ahead than `MAX_SKIP` allows.
    TooManySkipped,
    /// 401: a counter would overflow; the session must be replaced.
    CounterExhausted,
    /// 402: the message was already received: its header authenticates under one of the
    /// session's receiving header keys (so it is the peer's), but its message key was used
    /// (or, long skipped, evicted, §7.7). A re-delivery to drop, not a forgery; nothing
    /// changes.
    Duplicate,
    /// 500: an envelope is addressed to a different mailbox than the one opening it.
    WrongMailbox,
    /// 501: the padding inside a decrypted envelope is malformed.
    BadPadding,
    /// 502: a plaintext is larger than the protocol's maximum message size.
    MessageTooLarge,
    /// 503: the sender identity sealed in an envelope does not match the inner message.
    SenderMismatch,
    /// 600: a contact identifier is empty.
    IdentifierEmpty,
    /// 601: a contact identifier does not start with `+`.
    IdentifierMissingPlus,
    /// 602: a contact identifier's first digit is `0`.
    IdentifierLeadingZero,
    /// 603: a contact identifier has more than 15 digits.
    IdentifierTooLong,
    /// 604: a contact identifier contains an ASCII character that is not a digit.
    IdentifierNonDigit,
    /// 605: a contact identifier contains a non-ASCII character.
    IdentifierNonAscii,
    /// 606: a contact identifier carries an extension (`;ext=`, `x`, `#`, `,`).
    IdentifierExtension,
    /// 607: a contact identifier is `+` with no digits.
    IdentifierNoDigits,
    /// 608: the region-aware parser (feature `phonenumber`, spec §9.2.1) found no phone
    /// number in the input.
    IdentifierUnparsable,
    /// 610: a discovery suite identifier is unknown.
    UnknownSuite(u8),
    /// 611: bucket bits outside `8..=16`.
    BucketBitsOutOfRange(u8),
    /// 612: bucket prefixes are not strictly increasing (unsorted or duplicated).
    PrefixesNotSorted,
    /// 613: a bucket prefix is not below `2^b`.
    PrefixOutOfRange,
    /// 614: a lookup request's prefix count is not one of the published size classes.
    NotASizeClass,
    /// 615: a lookup request, lookup response or registration does not match what it
    /// answers: another salt generation or bucket bits than the current discovery
    /// parameters, or a response whose buckets are not the request's prefixes.
    LookupMismatch,
    /// 616: discovery parameters carry a salt generation below the highest this client has
    /// accepted from the same relay key (spec §9.6.1): old or compromised parameters.
    GenerationRolledBack,
    /// 617: discovery parameters carry a newer salt generation before the current one has
    /// been held for its minimum lifetime (spec §9.6.1).
    GenerationTooSoon,
    /// 620: an OPRF element (a blinded or evaluated element, or the oracle's public key) is
    /// not a canonical, non-identity ristretto255 encoding (suite `ch2`, spec §13).
    OprfInvalidElement,
    /// 621: the oracle's batch DLEQ proof does not verify under the pinned oracle public key
    /// (spec §13.4); no contact id is derived.
    OprfProofInvalid,
    /// 622: an OPRF batch is empty, larger than `MAX_OPRF_BATCH`, or answered with another
    /// number of evaluated elements than it sent (spec §13.4, §13.5).
    OprfBatchSize,
    /// 700: a signed publication (a bundle's issue and expiry times, spec §12.3) is outside its validity window, or its window is longer than allowed.
    Expired,
    /// 800: relay: the read capability in a request does not open the mailbox the request names (spec §12.2).
    Unauthorized,
    /// 801: relay: a publication is not newer than the one the relay holds (spec §12.3).
    StalePublication,
    /// 802: relay: no unexpired bundle is published for the mailbox (spec §12.4).
    NoBundle,
    /// 803: relay: the upload would exceed the one-time prekey pool's maximum; nothing was added (spec §12.4).
    PoolFull,
    /// 804: relay: the deposit would exceed the mailbox's quota; nothing was stored (spec §12.5).
    MailboxFull,
    /// 805: relay: the owner already holds the maximum number of discovery registrations (spec §12.7).
    TooManyRegistrations,
    /// 806: relay: a request body is over its endpoint's maximum; refused before it was read (spec §12.9).
    BodyTooLarge,
    /// 807: relay: too many requests for this mailbox or bundle; retry later (spec §12.9).
    RateLimited,
    /// 808: relay: the relay's storage failed; nothing changed, retry (spec §12.10).
    Unavailable,
    /// 809: relay: no such endpoint or method (spec §12.1).
    NotFound,
    /// 810: relay: the relay already holds its maximum of WebSocket connections; the upgrade
    /// is refused (spec §12.6). A subscription naming too many mailboxes is a decode error.
    TooManySubscriptions,
    /// 811: relay: the discovery bucket already holds as many entries as a lookup response
    /// can carry; the registration is refused and nothing is stored (spec §12.7).
    BucketFull,
    /// 812: relay: the epoch's commit slot is already taken; nothing was stored. The
    /// committer processes the commit that won and retries in the next epoch (spec §15.6).
    CommitSlotTaken,
    /// 813: relay: a deposit to a group mailbox whose epoch was closed by a commit; nothing
    /// was stored. The sender processes the commit and re-sends in the next epoch (§15.6).
    EpochClosed,
    /// 1000: the MLS layer refused a group message that opened under the epoch's wrap key
    /// (an invalid commit, a bad signature, a message from an unknown member); the group's
    /// state is unchanged (spec §15.7).
    GroupRejected,
    /// 1001: the operation needs membership, but this member was removed from the group
    /// (spec §15.7).
    GroupRemoved,
    /// 900: the caller passed an argument the API does not accept (never caused by
    /// attacker-controlled bytes).
    ApiMisuse {
        /// What was wrong.
        reason: &'static str,
    },
}

impl Error {
    /// The stable numeric code of this error, as listed in `spec/errors.md`.
    #[must_use]
    pub const fn code(&self) -> u16 {
        match self {
            Self::Truncated => 100,
            Self::TrailingBytes => 101,
            Self::LengthOverMax { .. } => 102,
            Self::UnknownVersion(_) => 103,
            Self::UnknownMessageType(_) => 104,
            Self::InvalidEncoding { .. } => 105,
            Self::Decrypt => 200,
            Self::BadSignature => 201,
            Self::NonContributory => 202,
            Self::InvalidPublicKey => 203,
            Self::UnknownPrekey => 300,
            Self::ReplayedInitialMessage => 301,
            Self::SessionMismatch => 302,
            Self::TooManySkipped => 400,
            Self::CounterExhausted => 401,
            Self::Duplicate => 402,
            Self::WrongMailbox => 500,
            Self::BadPadding => 501,
            Self::MessageTooLarge => 502,
            Self::SenderMismatch => 503,
            Self::IdentifierEmpty => 600,
            Self::IdentifierMissingPlus => 601,
            Self::IdentifierLeadingZero => 602,
            Self::IdentifierTooLong => 603,
            Self::IdentifierNonDigit => 604,
            Self::IdentifierNonAscii => 605,
            Self::IdentifierExtension => 606,
            Self::IdentifierNoDigits => 607,
            Self::IdentifierUnparsable => 608,
            Self::UnknownSuite(_) => 610,
            Self::BucketBitsOutOfRange(_) => 611,
            Self::PrefixesNotSorted => 612,
            Self::PrefixOutOfRange => 613,
            Self::NotASizeClass => 614,
            Self::LookupMismatch => 615,
            Self::GenerationRolledBack => 616,
            Self::GenerationTooSoon => 617,
            Self::OprfInvalidElement => 620,
            Self::OprfProofInvalid => 621,
            Self::OprfBatchSize => 622,
            Self::Expired => 700,
            Self::Unauthorized => 800,
            Self::StalePublication => 801,
            Self::NoBundle => 802,
            Self::PoolFull => 803,
            Self::MailboxFull => 804,
            Self::TooManyRegistrations => 805,
            Self::BodyTooLarge => 806,
            Self::RateLimited => 807,
            Self::Unavailable => 808,
            Self::NotFound => 809,
            Self::TooManySubscriptions => 810,
            Self::BucketFull => 811,
            Self::CommitSlotTaken => 812,
            Self::EpochClosed => 813,
            Self::GroupRejected => 1000,
            Self::GroupRemoved => 1001,
            Self::ApiMisuse { .. } => 900,
        }
    }

    /// The registry name of this error (`spec/errors.md`), stable like [`Error::code`].
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Truncated => "Truncated",
            Self::TrailingBytes => "TrailingBytes",
            Self::LengthOverMax { .. } => "LengthOverMax",
            Self::UnknownVersion(_) => "UnknownVersion",
            Self::UnknownMessageType(_) => "UnknownMessageType",
            Self::InvalidEncoding { .. } => "InvalidEncoding",
            Self::Decrypt => "Decrypt",
            Self::BadSignature => "BadSignature",
            Self::NonContributory => "NonContributory",
            Self::InvalidPublicKey => "InvalidPublicKey",
            Self::UnknownPrekey => "UnknownPrekey",
            Self::ReplayedInitialMessage => "ReplayedInitialMessage",
            Self::SessionMismatch => "SessionMismatch",
            Self::TooManySkipped => "TooManySkipped",
            Self::CounterExhausted => "CounterExhausted",
            Self::Duplicate => "Duplicate",
            Self::WrongMailbox => "WrongMailbox",
            Self::BadPadding => "BadPadding",
            Self::MessageTooLarge => "MessageTooLarge",
            Self::SenderMismatch => "SenderMismatch",
            Self::IdentifierEmpty => "IdentifierEmpty",
            Self::IdentifierMissingPlus => "IdentifierMissingPlus",
            Self::IdentifierLeadingZero => "IdentifierLeadingZero",
            Self::IdentifierTooLong => "IdentifierTooLong",
            Self::IdentifierNonDigit => "IdentifierNonDigit",
            Self::IdentifierNonAscii => "IdentifierNonAscii",
            Self::IdentifierExtension => "IdentifierExtension",
            Self::IdentifierNoDigits => "IdentifierNoDigits",
            Self::IdentifierUnparsable => "IdentifierUnparsable",
            Self::UnknownSuite(_) => "UnknownSuite",
            Self::BucketBitsOutOfRange(_) => "BucketBitsOutOfRange",
            Self::PrefixesNotSorted => "PrefixesNotSorted",
            Self::PrefixOutOfRange => "PrefixOutOfRange",
            Self::NotASizeClass => "NotASizeClass",
            Self::LookupMismatch => "LookupMismatch",
            Self::GenerationRolledBack => "GenerationRolledBack",
            Self::GenerationTooSoon => "GenerationTooSoon",
            Self::OprfInvalidElement => "OprfInvalidElement",
            Self::OprfProofInvalid => "OprfProofInvalid",
            Self::OprfBatchSize => "OprfBatchSize",
            Self::Expired => "Expired",
            Self::Unauthorized => "Unauthorized",
            Self::StalePublication => "StalePublication",
            Self::NoBundle => "NoBundle",
            Self::PoolFull => "PoolFull",
            Self::MailboxFull => "MailboxFull",
            Self::TooManyRegistrations => "TooManyRegistrations",
            Self::BodyTooLarge => "BodyTooLarge",
            Self::RateLimited => "RateLimited",
            Self::Unavailable => "Unavailable",
            Self::NotFound => "NotFound",
            Self::TooManySubscriptions => "TooManySubscriptions",
            Self::BucketFull => "BucketFull",
            Self::CommitSlotTaken => "CommitSlotTaken",
            Self::EpochClosed => "EpochClosed",
            Self::GroupRejected => "GroupRejected",
            Self::GroupRemoved => "GroupRemoved",
            Self::ApiMisuse { .. } => "ApiMisuse",
        }
    }

    /// Every registered `(code, name)` pair, in code order. The spec-consistency test
    /// checks this list against `spec/errors.md`.
    pub const REGISTRY: &'static [(u16, &'static str)] = &[
        (100, "Truncated"),
        (101, "TrailingBytes"),
        (102, "LengthOverMax"),
        (103, "UnknownVersion"),
        (104, "UnknownMessageType"),
        (105, "InvalidEncoding"),
        (200, "Decrypt"),
        (201, "BadSignature"),
        (202, "NonContributory"),
        (203, "InvalidPublicKey"),
        (300, "UnknownPrekey"),
        (301, "ReplayedInitialMessage"),
        (302, "SessionMismatch"),
        (400, "TooManySkipped"),
        (401, "CounterExhausted"),
        (402, "Duplicate"),
        (500, "WrongMailbox"),
        (501, "BadPadding"),
        (502, "MessageTooLarge"),
        (503, "SenderMismatch"),
        (600, "IdentifierEmpty"),
        (601, "IdentifierMissingPlus"),
        (602, "IdentifierLeadingZero"),
        (603, "IdentifierTooLong"),
        (604, "IdentifierNonDigit"),
        (605, "IdentifierNonAscii"),
        (606, "IdentifierExtension"),
        (607, "IdentifierNoDigits"),
        (608, "IdentifierUnparsable"),
        (610, "UnknownSuite"),
        (611, "BucketBitsOutOfRange"),
        (612, "PrefixesNotSorted"),
        (613, "PrefixOutOfRange"),
        (614, "NotASizeClass"),
        (615, "LookupMismatch"),
        (616, "GenerationRolledBack"),
        (617, "GenerationTooSoon"),
        (620, "OprfInvalidElement"),
        (621, "OprfProofInvalid"),
        (622, "OprfBatchSize"),
        (700, "Expired"),
        (800, "Unauthorized"),
        (801, "StalePublication"),
        (802, "NoBundle"),
        (803, "PoolFull"),
        (804, "MailboxFull"),
        (805, "TooManyRegistrations"),
        (806, "BodyTooLarge"),
        (807, "RateLimited"),
        (808, "Unavailable"),
        (809, "NotFound"),
        (810, "TooManySubscriptions"),
        (811, "BucketFull"),
        (812, "CommitSlotTaken"),
        (813, "EpochClosed"),
        (900, "ApiMisuse"),
        (1000, "GroupRejected"),
        (1001, "GroupRemoved"),
    ];
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blindrelay error {} ({})", self.code(), self.name())?;
        match self {
            Self::LengthOverMax { field } | Self::InvalidEncoding { field } => {
                write!(f, ": field `{field}`")
            }
            Self::UnknownVersion(v) | Self::UnknownMessageType(v) | Self::UnknownSuite(v) => {
                write!(f, ": value {v:#04x}")
            }
            Self::BucketBitsOutOfRange(b) => write!(f, ": b = {b}"),
            Self::ApiMisuse { reason } => write!(f, ": {reason}"),
            _ => Ok(()),
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_unique_and_matches_variants() {
        let mut last = 0;
        for &(code, _) in Error::REGISTRY {
            assert!(code > last, "registry not strictly increasing at {code}");
            last = code;
        }
        let samples = [
            Error::Truncated,
            Error::TrailingBytes,
            Error::LengthOverMax { field: "x" },
            Error::UnknownVersion(9),
            Error::UnknownMessageType(9),
            Error::InvalidEncoding { field: "x" },
            Error::Decrypt,
            Error::BadSignature,
            Error::NonContributory,
            Error::InvalidPublicKey,
            Error::UnknownPrekey,
            Error::ReplayedInitialMessage,
            Error::SessionMismatch,
            Error::TooManySkipped,
            Error::CounterExhausted,
            Error::Duplicate,
            Error::WrongMailbox,
            Error::BadPadding,
            Error::MessageTooLarge,
            Error::SenderMismatch,
            Error::IdentifierEmpty,
            Error::IdentifierMissingPlus,
            Error::IdentifierLeadingZero,
            Error::IdentifierTooLong,
            Error::IdentifierNonDigit,
            Error::IdentifierNonAscii,
            Error::IdentifierExtension,
            Error::IdentifierNoDigits,
            Error::IdentifierUnparsable,
            Error::UnknownSuite(9),
            Error::BucketBitsOutOfRange(9),
            Error::PrefixesNotSorted,
            Error::PrefixOutOfRange,
            Error::NotASizeClass,
            Error::LookupMismatch,
            Error::GenerationRolledBack,
            Error::GenerationTooSoon,
            Error::OprfInvalidElement,
            Error::OprfProofInvalid,
            Error::OprfBatchSize,
            Error::Expired,
            Error::Unauthorized,
            Error::StalePublication,
            Error::NoBundle,
            Error::PoolFull,
            Error::MailboxFull,
            Error::TooManyRegistrations,
            Error::BodyTooLarge,
            Error::RateLimited,
            Error::Unavailable,
            Error::NotFound,
            Error::TooManySubscriptions,
            Error::BucketFull,
            Error::CommitSlotTaken,
            Error::EpochClosed,
            Error::ApiMisuse { reason: "x" },
            Error::GroupRejected,
            Error::GroupRemoved,
        ];
        assert_eq!(samples.len(), Error::REGISTRY.len());
        for (e, &(code, name)) in samples.iter().zip(Error::REGISTRY) {
            assert_eq!((e.code(), e.name()), (code, name));
            assert!(e.to_string().contains(name));
        }
    }
}
