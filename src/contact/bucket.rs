//! Bucket prefixes and match tags (spec §9.5): a contact id splits into a `b`-bit bucket
//! prefix, which is all a lookup reveals, and a disjoint 16-byte match tag, which the
//! client compares locally in constant time.

use super::hash::ContactId;
use crate::Error;
use subtle::{Choice, ConstantTimeEq};

/// The fewest bucket bits a client accepts (spec §9.5).
pub const MIN_BUCKET_BITS: u8 = 8;
/// The most bucket bits a client accepts (spec §9.5): above 16, a bucket of a 10^10-number
/// space holds fewer than 153 000 numbers, and the next step is suite `ch2`, not a larger
/// `b`.
pub const MAX_BUCKET_BITS: u8 = 16;
/// Length of a match tag (spec §9.5).
pub const MATCH_TAG_LEN: usize = 16;

/// A number of bucket bits `b` in `MIN_BUCKET_BITS..=MAX_BUCKET_BITS` (spec §9.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "u8", into = "u8")
)]
pub struct BucketBits(u8);

impl TryFrom<u8> for BucketBits {
    type Error = Error;
    fn try_from(b: u8) -> Result<Self, Error> {
        Self::new(b)
    }
}

impl From<BucketBits> for u8 {
    fn from(b: BucketBits) -> u8 {
        b.get()
    }
}

impl BucketBits {
    /// Checks `b`.
    ///
    /// # Errors
    /// [`Error::BucketBitsOutOfRange`] (611) outside `8..=16`.
    pub fn new(b: u8) -> Result<Self, Error> {
        if (MIN_BUCKET_BITS..=MAX_BUCKET_BITS).contains(&b) {
            Ok(Self(b))
        } else {
            Err(Error::BucketBitsOutOfRange(b))
        }
    }

    /// The value of `b`.
    #[must_use]
    pub fn get(self) -> u8 {
        self.0
    }

    /// The number of buckets, `2^b`.
    #[must_use]
    pub fn bucket_count(self) -> u32 {
        1u32 << self.0
    }

    /// The bucket of the 4 big-endian bytes `word`: its top `b` bits (spec §9.5).
    #[must_use]
    pub fn prefix_of(self, word: [u8; 4]) -> u32 {
        u32::from_be_bytes(word) >> (32 - u32::from(self.0))
    }

    /// Checks that `prefix < 2^b`.
    ///
    /// # Errors
    /// [`Error::PrefixOutOfRange`] (613).
    pub fn check_prefix(self, prefix: u32) -> Result<(), Error> {
        if prefix < self.bucket_count() {
            Ok(())
        } else {
            Err(Error::PrefixOutOfRange)
        }
    }
}

/// The bucket prefix of `id`: `BE32(id[0..4]) >> (32 - b)` (spec §9.5).
#[must_use]
pub fn bucket_prefix(id: &ContactId, b: BucketBits) -> u32 {
    let [w0, w1, w2, w3, ..] = *id.as_bytes();
    b.prefix_of([w0, w1, w2, w3])
}

/// The 16-byte match tag: `id[16..32]`, disjoint from every prefix bit (spec §9.5).
/// Equality is constant-time.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MatchTag(pub [u8; MATCH_TAG_LEN]);

impl MatchTag {
    /// The match tag of `id`.
    #[must_use]
    pub fn of(id: &ContactId) -> Self {
        let mut tag = [0u8; MATCH_TAG_LEN];
        for (t, b) in tag.iter_mut().zip(id.as_bytes().iter().skip(16)) {
            *t = *b;
        }
        Self(tag)
    }
}

impl ConstantTimeEq for MatchTag {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for MatchTag {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for MatchTag {}

impl core::fmt::Debug for MatchTag {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Self(_) = self;
        f.debug_struct("MatchTag").finish_non_exhaustive()
    }
}
