//! Contact discovery with salted contact hashes, suite `ch1` (spec §9,
//! `spec/09-contact-discovery.md`).
//!
//! A client learns which of its contacts use a relay without uploading phone numbers:
//!
//! 1. The relay publishes [`DiscoveryParameters`] signed by its long-term Ed25519 key. The
//!    client verifies them under the key it pinned ([`DiscoveryParameters::verify`]) and
//!    derives the relay id and the 16-byte salt itself ([`RelayId`], [`ContactSalt`]).
//! 2. Each number is parsed strictly ([`PhoneNumber::parse_canonical`]; the informative
//!    helpers [`normalize_lenient`] and, with feature `phonenumber`,
//!    `PhoneNumber::parse_with_region` clean up what users type) and hashed with
//!    Argon2id (19 MiB, 2 passes) into a [`ContactId`] ([`ContactHasher`], one reused
//!    buffer for a whole address book).
//! 3. A [`LookupRequest`] carries only `b`-bit bucket prefixes, padded with deterministic
//!    dummies to a size class. The [`LookupResponse`] returns every entry of each bucket,
//!    and the client matches 16-byte tags locally in constant time
//!    ([`VerifiedDiscovery::match_response`]).
//! 4. Being discoverable is opt-in: [`VerifiedDiscovery::register_discoverable`].
//!
//! Contact ids are pseudonyms, not secrets: anyone with the salt tests a guessed number in
//! one Argon2id hash. Read the threat model (spec §9.11) before relying on them. A match is
//! an unverified claim until safety numbers are compared.

pub mod bucket;
pub mod freshness;
pub mod hash;
pub mod identifier;
pub mod lookup;
pub mod oprf;
pub mod oracle;
pub mod oracle_wire;
pub mod params;
#[cfg(feature = "phonenumber")]
pub mod region;
pub mod salt;
pub mod wire;

#[cfg(test)]
mod lookup_tests;
#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;

pub use bucket::{bucket_prefix, BucketBits, MatchTag};
pub use freshness::{GenerationMark, MIN_GENERATION_LIFETIME_SECS};
pub use hash::{contact_id, password, ContactHasher, ContactId};
pub use identifier::{normalize_lenient, PhoneNumber};
pub use lookup::{dummy_prefix, BatchKey, LookupId, LookupLedger};
pub use oprf::{
    BlindState, BlindedElement, Ch2Id, EvaluatedElement, Evaluation, OracleKey, OraclePublicKey,
    MAX_OPRF_BATCH,
};
pub use oracle::VerifiedOracle;
pub use oracle_wire::{OprfRequest, OprfResponse, OracleParameters};
pub use params::{ContactMatch, DiscoverySecret, VerifiedDiscovery, MAX_PARAMETERS_LIFETIME_SECS};
#[cfg(feature = "phonenumber")]
pub use region::METADATA_VERSION;
pub use salt::{ContactSalt, RelayId, SaltNonce};
pub use wire::{
    Bucket, BucketEntry, DiscoveryParameters, LookupRequest, LookupResponse, OracleBinding,
    Registration, Suite, MIN_MAX_SIZE_CLASS,
};
