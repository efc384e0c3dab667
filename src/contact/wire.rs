//! Wire formats of contact discovery (spec §9.6 to §9.9): signed discovery parameters,
//! lookup requests, lookup responses and registrations. Pure codec: this file imports
//! neither `crate::crypto` nor `crate::keys`; signing and verification live in
//! [`super::params`].

use super::bucket::{BucketBits, MATCH_TAG_LEN};
use super::salt::SALT_NONCE_LEN;
use crate::codec::{read_header, write_header, Decode, Encode, MessageType, Reader, Writer};
use crate::Error;
use alloc::vec::Vec;

/// Suite id of `ch1`, Argon2id contact ids under a per-relay salt (spec §9.1).
pub const SUITE_CH1: u8 = 0x01;
pub use super::oracle_wire::SUITE_CH2;

/// A discovery suite (spec §9.1): the byte every discovery message carries after its
/// header. A relay serves one suite per salt generation; every message of a lookup and a
/// registration must carry the suite of the parameters it was made under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suite {
    /// `ch1` (`0x01`): Argon2id contact ids, bucketed lookups (spec §9).
    Ch1,
    /// `ch2` (`0x02`): an OPRF over the `ch1` id with an oracle-held key (spec §13).
    Ch2,
}

impl Suite {
    /// The suite's byte.
    #[must_use]
    pub fn id(self) -> u8 {
        match self {
            Self::Ch1 => SUITE_CH1,
            Self::Ch2 => SUITE_CH2,
        }
    }

    /// The suite of a byte.
    ///
    /// # Errors
    /// [`Error::UnknownSuite`] (610) for any byte but `0x01` and `0x02`.
    pub fn from_id(id: u8) -> Result<Self, Error> {
        match id {
            SUITE_CH1 => Ok(Self::Ch1),
            SUITE_CH2 => Ok(Self::Ch2),
            other => Err(Error::UnknownSuite(other)),
        }
    }
}

/// The oracle a `ch2` relay's parameters name (spec §13.9): the oracle's Ed25519 key, which
/// the client must have pinned too, and the key epoch whose OPRF key the relay's registry
/// is keyed under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OracleBinding {
    /// The oracle's long-term Ed25519 public key (it signs the oracle's parameters).
    pub oracle_key: [u8; 32],
    /// The oracle key epoch of this salt generation.
    pub key_epoch: u32,
}

/// The lookup size classes (spec §9.7): a request carries exactly one of these many
/// prefixes. Fixed by the protocol; a relay publishes the largest it accepts.
pub const SIZE_CLASSES: [u16; 5] = [16, 64, 256, 1024, 4096];
/// The most prefixes in one lookup request or buckets in one response (spec §9.7): the
/// largest size class, enough for a 4 096-contact address book in one request.
pub const MAX_LOOKUP_PREFIXES: usize = 4096;
/// The most entries in one bucket of a lookup response (spec §9.8): 64 times the target
/// occupancy of 64, so a relay that chose `b` for its registry size never reaches it.
pub const MAX_BUCKET_ENTRIES: usize = 4096;
/// The longest opaque registration record (spec §9.9): room for a mailbox id and a bundle
/// locator (URL or relay-internal handle) with margin.
pub const MAX_RECORD_LEN: usize = 512;
/// Length of an Ed25519 signature.
const SIGNATURE_LEN: usize = 64;

fn read_suite(r: &mut Reader<'_>) -> Result<Suite, Error> {
    Suite::from_id(r.u8()?)
}

fn read_bits(r: &mut Reader<'_>) -> Result<BucketBits, Error> {
    BucketBits::new(r.u8()?)
}

/// The smallest `max_size_class` a relay may publish and a client accepts (spec §9.6): a
/// relay that accepted only 16 or 64 prefixes per request would force an address book into
/// many small requests, and the number of requests would tell the relay the book's size to
/// within a few contacts.
pub const MIN_MAX_SIZE_CLASS: u16 = 256;

/// Checks that `class` is a usable `max_size_class` for `b` buckets (spec §9.6): a size
/// class, at most `2^b`, and at least [`MIN_MAX_SIZE_CLASS`].
pub(super) fn check_max_size_class(class: u16, b: BucketBits) -> Result<(), Error> {
    check_size_class(class, b)?;
    if class < MIN_MAX_SIZE_CLASS {
        return Err(Error::NotASizeClass);
    }
    Ok(())
}

/// Checks that `class` is a size class usable with `b` buckets (spec §9.6).
pub(super) fn check_size_class(class: u16, b: BucketBits) -> Result<(), Error> {
    if SIZE_CLASSES.contains(&class) && u32::from(class) <= b.bucket_count() {
        Ok(())
    } else {
        Err(Error::NotASizeClass)
    }
}

/// Reads `count` prefixes: each below `2^b` and strictly above the previous (spec §9.7).
fn check_prefix_order(prev: Option<u32>, prefix: u32, b: BucketBits) -> Result<(), Error> {
    b.check_prefix(prefix)?;
    match prev {
        Some(p) if prefix <= p => Err(Error::PrefixesNotSorted),
        _ => Ok(()),
    }
}

/// Discovery parameters a relay publishes and signs (spec §9.6, message type 0x10).
///
/// ```text
/// 0x01 || 0x10 || suite (u8 = 0x01) || salt_generation (u32) || salt_nonce [32]
///      || bucket_bits (u8) || max_size_class (u16) || issued_at (u64) || expires_at (u64)
///      || signature [64]
/// ```
///
/// The signature is over `DISCOVERY_PARAMETERS_CONTEXT || (all bytes before the
/// signature)`, by the relay's long-term Ed25519 key. Decoding checks structure only;
/// [`DiscoveryParameters::verify`] checks the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryParameters {
    pub(super) salt_generation: u32,
    pub(super) salt_nonce: [u8; SALT_NONCE_LEN],
    pub(super) bucket_bits: BucketBits,
    pub(super) max_size_class: u16,
    pub(super) oracle: Option<OracleBinding>,
    pub(super) issued_at: u64,
    pub(super) expires_at: u64,
    pub(super) signature: [u8; SIGNATURE_LEN],
}

impl DiscoveryParameters {
    /// The salt generation, changed only on relay re-key or compromise (spec §9.3).
    #[must_use]
    pub fn salt_generation(&self) -> u32 {
        self.salt_generation
    }

    /// The relay's published nonce for this generation.
    #[must_use]
    pub fn salt_nonce(&self) -> &[u8; SALT_NONCE_LEN] {
        &self.salt_nonce
    }

    /// The bucket bits `b`.
    #[must_use]
    pub fn bucket_bits(&self) -> BucketBits {
        self.bucket_bits
    }

    /// The largest size class the relay accepts: one of [`SIZE_CLASSES`], at most `2^b`.
    #[must_use]
    pub fn max_size_class(&self) -> u16 {
        self.max_size_class
    }

    /// The suite: `ch2` exactly when the parameters name an oracle.
    #[must_use]
    pub fn suite(&self) -> Suite {
        if self.oracle.is_some() {
            Suite::Ch2
        } else {
            Suite::Ch1
        }
    }

    /// The oracle of a `ch2` relay (spec §13.9); `None` for `ch1`.
    #[must_use]
    pub fn oracle(&self) -> Option<OracleBinding> {
        self.oracle
    }

    /// When the relay signed these parameters (Unix seconds, spec §9.6).
    #[must_use]
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// When these parameters stop being accepted (Unix seconds, spec §9.6).
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// The relay's Ed25519 signature.
    #[must_use]
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// The signed part: the encoding up to, not including, the signature.
    #[must_use]
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_unsigned(&mut w);
        w.into_inner()
    }

    fn encode_unsigned(&self, w: &mut Writer) {
        write_header(w, MessageType::DISCOVERY_PARAMETERS);
        w.u8(self.suite().id());
        w.u32(self.salt_generation);
        w.bytes(&self.salt_nonce);
        w.u8(self.bucket_bits.get());
        w.u16(self.max_size_class);
        if let Some(o) = &self.oracle {
            w.bytes(&o.oracle_key);
            w.u32(o.key_epoch);
        }
        w.u64(self.issued_at);
        w.u64(self.expires_at);
    }
}

impl Encode for DiscoveryParameters {
    fn encode(&self, w: &mut Writer) {
        self.encode_unsigned(w);
        w.bytes(&self.signature);
    }
}

impl Decode for DiscoveryParameters {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::DISCOVERY_PARAMETERS)?;
        let suite = read_suite(r)?;
        let salt_generation = r.u32()?;
        let salt_nonce = r.array()?;
        let bucket_bits = read_bits(r)?;
        let max_size_class = r.u16()?;
        check_max_size_class(max_size_class, bucket_bits)?;
        let oracle = match suite {
            Suite::Ch1 => None,
            Suite::Ch2 => Some(OracleBinding {
                oracle_key: r.array()?,
                key_epoch: r.u32()?,
            }),
        };
        let issued_at = r.u64()?;
        let expires_at = r.u64()?;
        let signature = r.array()?;
        Ok(Self {
            salt_generation,
            salt_nonce,
            bucket_bits,
            max_size_class,
            oracle,
            issued_at,
            expires_at,
            signature,
        })
    }
}

/// A bucketed lookup request (spec §9.7, message type 0x11).
///
/// ```text
/// 0x01 || 0x11 || suite (u8) || salt_generation (u32) || bucket_bits (u8)
///      || count (u16, a size class) || prefix (u32) × count, strictly ascending, < 2^b
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupRequest {
    suite: Suite,
    salt_generation: u32,
    bucket_bits: BucketBits,
    prefixes: Vec<u32>,
}

impl LookupRequest {
    /// A request for exactly `prefixes`, which must already be padded to a size class,
    /// sorted and distinct (the client builds requests with
    /// [`super::params::VerifiedDiscovery::lookup_batch`]).
    ///
    /// # Errors
    /// [`Error::NotASizeClass`], [`Error::PrefixOutOfRange`], [`Error::PrefixesNotSorted`].
    pub fn new(
        salt_generation: u32,
        bucket_bits: BucketBits,
        prefixes: Vec<u32>,
    ) -> Result<Self, Error> {
        Self::new_in(Suite::Ch1, salt_generation, bucket_bits, prefixes)
    }

    /// As [`LookupRequest::new`], for `suite`.
    ///
    /// # Errors
    /// As [`LookupRequest::new`].
    pub fn new_in(
        suite: Suite,
        salt_generation: u32,
        bucket_bits: BucketBits,
        prefixes: Vec<u32>,
    ) -> Result<Self, Error> {
        let count = u16::try_from(prefixes.len()).map_err(|_| Error::NotASizeClass)?;
        check_size_class(count, bucket_bits)?;
        let mut prev = None;
        for &p in &prefixes {
            check_prefix_order(prev, p, bucket_bits)?;
            prev = Some(p);
        }
        Ok(Self {
            suite,
            salt_generation,
            bucket_bits,
            prefixes,
        })
    }

    /// The suite the prefixes were computed under.
    #[must_use]
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The salt generation the prefixes were computed under.
    #[must_use]
    pub fn salt_generation(&self) -> u32 {
        self.salt_generation
    }

    /// The bucket bits the prefixes were computed with.
    #[must_use]
    pub fn bucket_bits(&self) -> BucketBits {
        self.bucket_bits
    }

    /// The prefixes, strictly ascending (real and dummy ones are indistinguishable).
    #[must_use]
    pub fn prefixes(&self) -> &[u32] {
        &self.prefixes
    }
}

impl Encode for LookupRequest {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::LOOKUP_REQUEST);
        w.u8(self.suite.id());
        w.u32(self.salt_generation);
        w.u8(self.bucket_bits.get());
        // Construction guarantees a size class, so the count fits a u16.
        w.u16(u16::try_from(self.prefixes.len()).unwrap_or(u16::MAX));
        for p in &self.prefixes {
            w.u32(*p);
        }
    }
}

impl Decode for LookupRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::LOOKUP_REQUEST)?;
        let suite = read_suite(r)?;
        let salt_generation = r.u32()?;
        let bucket_bits = read_bits(r)?;
        let count = r.count_u16(MAX_LOOKUP_PREFIXES, 4, "lookup.prefixes")?;
        check_size_class(
            u16::try_from(count).map_err(|_| Error::NotASizeClass)?,
            bucket_bits,
        )?;
        let mut prefixes = Vec::with_capacity(count);
        let mut prev = None;
        for _ in 0..count {
            let p = r.u32()?;
            check_prefix_order(prev, p, bucket_bits)?;
            prev = Some(p);
            prefixes.push(p);
        }
        Ok(Self {
            suite,
            salt_generation,
            bucket_bits,
            prefixes,
        })
    }
}

/// One registered entry of a bucket (spec §9.8): a match tag and its opaque record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BucketEntry {
    /// The registrant's match tag (`contact_id[16..32]`).
    pub tag: [u8; MATCH_TAG_LEN],
    /// The registrant's opaque record (mailbox, bundle locator), at most
    /// [`MAX_RECORD_LEN`] bytes.
    pub record: Vec<u8>,
}

/// Every entry of one requested bucket (spec §9.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    prefix: u32,
    entries: Vec<BucketEntry>,
}

impl Bucket {
    /// The bucket's prefix.
    #[must_use]
    pub fn prefix(&self) -> u32 {
        self.prefix
    }

    /// The entries, strictly ascending by `(tag, record)`.
    #[must_use]
    pub fn entries(&self) -> &[BucketEntry] {
        &self.entries
    }
}

/// A lookup response (spec §9.8, message type 0x12).
///
/// ```text
/// 0x01 || 0x12 || suite (u8) || salt_generation (u32) || bucket_bits (u8)
///      || bucket_count (u16) || bucket × bucket_count
/// bucket = prefix (u32) || entry_count (u16) || entry × entry_count
/// entry  = match_tag [16] || record_len (u16) || record
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupResponse {
    suite: Suite,
    salt_generation: u32,
    bucket_bits: BucketBits,
    buckets: Vec<Bucket>,
}

impl LookupResponse {
    /// Builds a response from `(prefix, entries)` pairs in any order. Buckets are sorted by
    /// prefix and entries by `(tag, record)`, giving the one canonical encoding.
    ///
    /// # Errors
    /// [`Error::LengthOverMax`] over [`MAX_LOOKUP_PREFIXES`] buckets, [`MAX_BUCKET_ENTRIES`]
    /// entries or a record over [`MAX_RECORD_LEN`]; [`Error::PrefixOutOfRange`];
    /// [`Error::PrefixesNotSorted`] for a repeated prefix; [`Error::InvalidEncoding`] for
    /// a repeated entry.
    pub fn new(
        salt_generation: u32,
        bucket_bits: BucketBits,
        buckets: Vec<(u32, Vec<BucketEntry>)>,
    ) -> Result<Self, Error> {
        Self::new_in(Suite::Ch1, salt_generation, bucket_bits, buckets)
    }

    /// As [`LookupResponse::new`], for `suite`.
    ///
    /// # Errors
    /// As [`LookupResponse::new`].
    pub fn new_in(
        suite: Suite,
        salt_generation: u32,
        bucket_bits: BucketBits,
        mut buckets: Vec<(u32, Vec<BucketEntry>)>,
    ) -> Result<Self, Error> {
        if buckets.len() > MAX_LOOKUP_PREFIXES {
            return Err(Error::LengthOverMax {
                field: "lookup.buckets",
            });
        }
        buckets.sort_by_key(|(p, _)| *p);
        let mut out = Vec::with_capacity(buckets.len());
        let mut prev = None;
        for (prefix, mut entries) in buckets {
            check_prefix_order(prev, prefix, bucket_bits)?;
            prev = Some(prefix);
            if entries.len() > MAX_BUCKET_ENTRIES {
                return Err(Error::LengthOverMax {
                    field: "lookup.entries",
                });
            }
            if entries.iter().any(|e| e.record.len() > MAX_RECORD_LEN) {
                return Err(Error::LengthOverMax {
                    field: "lookup.record",
                });
            }
            entries.sort();
            if entries.windows(2).any(|w| w.first() == w.get(1)) {
                return Err(Error::InvalidEncoding {
                    field: "lookup.entries",
                });
            }
            out.push(Bucket { prefix, entries });
        }
        Ok(Self {
            suite,
            salt_generation,
            bucket_bits,
            buckets: out,
        })
    }

    /// The suite the relay answered under.
    #[must_use]
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The salt generation the relay answered under.
    #[must_use]
    pub fn salt_generation(&self) -> u32 {
        self.salt_generation
    }

    /// The bucket bits the relay answered with.
    #[must_use]
    pub fn bucket_bits(&self) -> BucketBits {
        self.bucket_bits
    }

    /// The buckets, strictly ascending by prefix.
    #[must_use]
    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// The bucket with `prefix`, if the response has it.
    #[must_use]
    pub fn bucket(&self, prefix: u32) -> Option<&Bucket> {
        self.buckets
            .binary_search_by_key(&prefix, Bucket::prefix)
            .ok()
            .and_then(|i| self.buckets.get(i))
    }
}

impl Encode for LookupResponse {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::LOOKUP_RESPONSE);
        w.u8(self.suite.id());
        w.u32(self.salt_generation);
        w.u8(self.bucket_bits.get());
        // Construction bounds both counts by 4 096, so they fit a u16.
        w.u16(u16::try_from(self.buckets.len()).unwrap_or(u16::MAX));
        for b in &self.buckets {
            w.u32(b.prefix);
            w.u16(u16::try_from(b.entries.len()).unwrap_or(u16::MAX));
            for e in &b.entries {
                w.bytes(&e.tag);
                w.opaque_u16(&e.record);
            }
        }
    }
}

impl Decode for LookupResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::LOOKUP_RESPONSE)?;
        let suite = read_suite(r)?;
        let salt_generation = r.u32()?;
        let bucket_bits = read_bits(r)?;
        let count = r.count_u16(MAX_LOOKUP_PREFIXES, 6, "lookup.buckets")?;
        let mut buckets = Vec::with_capacity(count);
        let mut prev = None;
        for _ in 0..count {
            let prefix = r.u32()?;
            check_prefix_order(prev, prefix, bucket_bits)?;
            prev = Some(prefix);
            let n = r.count_u16(MAX_BUCKET_ENTRIES, MATCH_TAG_LEN + 2, "lookup.entries")?;
            let mut entries: Vec<BucketEntry> = Vec::with_capacity(n);
            for _ in 0..n {
                let tag = r.array()?;
                let record = r.vec_u16(MAX_RECORD_LEN, "lookup.record")?;
                let entry = BucketEntry { tag, record };
                if entries.last().is_some_and(|last| *last >= entry) {
                    return Err(Error::InvalidEncoding {
                        field: "lookup.entries",
                    });
                }
                entries.push(entry);
            }
            buckets.push(Bucket { prefix, entries });
        }
        Ok(Self {
            suite,
            salt_generation,
            bucket_bits,
            buckets,
        })
    }
}

/// An opt-in discovery registration (spec §9.9, message type 0x13), sent by a client over
/// its authenticated channel to the relay.
///
/// ```text
/// 0x01 || 0x13 || suite (u8) || salt_generation (u32) || contact_id [32]
///      || record_len (u16) || record
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    suite: Suite,
    salt_generation: u32,
    contact_id: [u8; 32],
    record: Vec<u8>,
}

impl Registration {
    /// A registration of `contact_id` (computed under `salt_generation`) with `record`.
    ///
    /// # Errors
    /// [`Error::LengthOverMax`] if `record` is over [`MAX_RECORD_LEN`] bytes.
    pub fn new(salt_generation: u32, contact_id: [u8; 32], record: &[u8]) -> Result<Self, Error> {
        Self::new_in(Suite::Ch1, salt_generation, contact_id, record)
    }

    /// As [`Registration::new`], for `suite` (a `ch2` registration carries a `ch2` id).
    ///
    /// # Errors
    /// As [`Registration::new`].
    pub fn new_in(
        suite: Suite,
        salt_generation: u32,
        contact_id: [u8; 32],
        record: &[u8],
    ) -> Result<Self, Error> {
        if record.len() > MAX_RECORD_LEN {
            return Err(Error::LengthOverMax {
                field: "registration.record",
            });
        }
        Ok(Self {
            suite,
            salt_generation,
            contact_id,
            record: record.to_vec(),
        })
    }

    /// The suite the id was computed under.
    #[must_use]
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The salt generation the id was computed under.
    #[must_use]
    pub fn salt_generation(&self) -> u32 {
        self.salt_generation
    }

    /// The registrant's own contact id.
    #[must_use]
    pub fn contact_id(&self) -> &[u8; 32] {
        &self.contact_id
    }

    /// The opaque record returned to clients whose lookup matches.
    #[must_use]
    pub fn record(&self) -> &[u8] {
        &self.record
    }
}

impl Encode for Registration {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::REGISTRATION);
        w.u8(self.suite.id());
        w.u32(self.salt_generation);
        w.bytes(&self.contact_id);
        w.opaque_u16(&self.record);
    }
}

impl Decode for Registration {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::REGISTRATION)?;
        let suite = read_suite(r)?;
        let salt_generation = r.u32()?;
        let contact_id = r.array()?;
        let record = r.vec_u16(MAX_RECORD_LEN, "registration.record")?;
        Ok(Self {
            suite,
            salt_generation,
            contact_id,
            record,
        })
    }
}
