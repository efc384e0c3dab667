//! Building lookups that leak only what spec §9.11.3 states (spec §9.7): a batch of new
//! contacts becomes equal requests of one size class, each at least half dummies, with
//! dummies drawn from a key of that batch alone and never repeated inside the batch; and a
//! [`LookupLedger`] that remembers which contacts were looked up, so an unchanged address
//! book is never sent again in another composition and an edit sends only a new batch.
//!
//! Why: when one request had to be split, every part used to be padded from the same dummy
//! sequence, so a full part had no dummies and dummies repeated across parts; counting
//! repeats gave a relay the real prefixes. And re-sending an edited book moved exactly one
//! dummy out and one real prefix in. Both attacks are regression tests in
//! `contact::tests` (`a_relay_counting_repeats_*`, `an_edit_*`).

use super::bucket::{bucket_prefix, BucketBits};
use super::hash::ContactId;
use super::oprf::Ch2Id;
use super::params::{DiscoverySecret, VerifiedDiscovery};
use super::salt::RelayId;
use super::wire::{LookupRequest, Suite, SIZE_CLASSES};
use crate::codec::{Reader, Writer};
use crate::crypto::kdf;
use crate::Error;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

mod private {
    /// Seals [`super::LookupId`]: only the two suites' id types implement it.
    pub trait Sealed {}
    impl Sealed for super::ContactId {}
    impl Sealed for super::Ch2Id {}
}

/// An id a lookup or registration carries (spec §9.5): a `ch1` [`ContactId`] under `ch1`
/// parameters, a [`Ch2Id`] under `ch2` parameters. Sealed; the type is what keeps a `ch1`
/// id, which the relay can compute by enumeration, out of a `ch2` lookup.
pub trait LookupId: private::Sealed {
    /// The suite this id belongs to.
    const SUITE: Suite;
    /// The id's 32 bytes (its bucket prefix and match tag, spec §9.5).
    fn contact_id(&self) -> &ContactId;
}

impl LookupId for ContactId {
    const SUITE: Suite = Suite::Ch1;
    fn contact_id(&self) -> &ContactId {
        self
    }
}

impl LookupId for Ch2Id {
    const SUITE: Suite = Suite::Ch2;
    fn contact_id(&self) -> &ContactId {
        self.as_contact_id()
    }
}

/// HKDF info prefix of a batch key (spec §9.7).
pub(crate) const LOOKUP_BATCH_INFO: &[u8] = b"blindrelay v1 contact lookup batch";
/// HKDF info prefix of dummy prefixes (spec §9.7).
pub(crate) const DUMMY_PREFIX_INFO: &[u8] = b"blindrelay v1 contact dummy prefix";

/// Dummy-prefix draws allowed for one request of a batch (spec §9.7). A batch never fills
/// more than half of the `2^b` buckets with draws (larger batches ask for every bucket), so
/// a request needs at most about `0.7 · 2^b` ≈ 46 000 draws at b = 16; this bound only
/// makes the loop total.
pub const DUMMY_DRAW_LIMIT: u32 = 1 << 20;

/// Contacts a [`LookupLedger`] remembers (spec §9.7.1): far above any address book, and the
/// bound its decoder checks before allocating.
pub const MAX_LEDGER_CONTACTS: usize = 1 << 16;
/// Batches a [`LookupLedger`] remembers (spec §9.7.1).
pub const MAX_LEDGER_BATCHES: usize = 4096;
/// Real prefixes a [`LookupLedger`] remembers over all its batches (spec §9.7.1).
pub const MAX_LEDGER_PREFIXES: usize = 1 << 16;

/// The key one batch's dummies are drawn from (spec §9.7): `HKDF-SHA256(salt = "", ikm =
/// client_discovery_secret, info = LOOKUP_BATCH_INFO || 0x00 || relay_id ||
/// BE32(salt_generation) || b (u8) || BE32(m) || BE32(r_0) || … || BE32(r_{m-1}), L = 32)`
/// over the batch's `m` real prefixes in ascending order. The same real prefixes give the
/// same key (so a refresh repeats the batch byte for byte); any other set gives unrelated
/// dummies, never a shifted copy of an earlier batch's.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct BatchKey([u8; 32]);

impl fmt::Debug for BatchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self(_) = self;
        f.debug_struct("BatchKey").finish_non_exhaustive()
    }
}

impl BatchKey {
    /// The key's bytes, for test vectors and audits. Whoever holds them can tell a batch's
    /// dummies from its real prefixes: never send or log them.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    /// Derives the key of the batch whose real prefixes are `reals` (ascending, distinct).
    #[must_use]
    pub fn derive(
        secret: &DiscoverySecret,
        relay_id: &RelayId,
        salt_generation: u32,
        bucket_bits: BucketBits,
        reals: &[u32],
    ) -> Self {
        let mut info = Vec::with_capacity(LOOKUP_BATCH_INFO.len() + 42 + 4 * reals.len());
        info.extend_from_slice(LOOKUP_BATCH_INFO);
        info.push(0x00);
        info.extend_from_slice(&relay_id.0);
        info.extend_from_slice(&salt_generation.to_be_bytes());
        info.push(bucket_bits.get());
        // A batch holds at most 2^b ≤ 65 536 reals, so its count fits a u32.
        info.extend_from_slice(&u32::try_from(reals.len()).unwrap_or(u32::MAX).to_be_bytes());
        for r in reals {
            info.extend_from_slice(&r.to_be_bytes());
        }
        let okm: Zeroizing<[u8; 32]> = kdf::hkdf(&[], secret.as_bytes(), &info);
        Self(*okm)
    }
}

/// The `i`-th dummy draw of request `chunk` of a batch (spec §9.7): the top `b` bits of
/// `HKDF-SHA256(salt = "", ikm = batch_key, info = DUMMY_PREFIX_INFO || 0x00 ||
/// BE32(chunk) || BE32(i), L = 4)`.
#[must_use]
pub fn dummy_prefix(key: &BatchKey, bucket_bits: BucketBits, chunk: u32, i: u32) -> u32 {
    let mut info = Vec::with_capacity(DUMMY_PREFIX_INFO.len() + 9);
    info.extend_from_slice(DUMMY_PREFIX_INFO);
    info.push(0x00);
    info.extend_from_slice(&chunk.to_be_bytes());
    info.extend_from_slice(&i.to_be_bytes());
    let okm: Zeroizing<[u8; 4]> = kdf::hkdf(&[], &key.0, &info);
    bucket_bits.prefix_of(*okm)
}

/// The shape of a batch of `m` real prefixes (spec §9.7, step 2): `(k, Q)`, `k` requests
/// of size class `Q` each, or `None` when the batch asks for every bucket instead.
///
/// `k = ⌈m / (max_size_class / 2)⌉`, `Q` = the smallest size class ≥ `2 · ⌈m / k⌉`, so every
/// request is at least half dummies; if `k · Q > 2^(b-1)` the batch would fill more than
/// half the buckets with distinct prefixes and asks for all of them.
#[must_use]
pub fn batch_shape(m: usize, bucket_bits: BucketBits, max_size_class: u16) -> Option<(usize, u16)> {
    let per_request = usize::from(max_size_class / 2).max(1);
    let k = m.div_ceil(per_request).max(1);
    let reals_each = m.div_ceil(k);
    let q = SIZE_CLASSES
        .iter()
        .copied()
        .find(|&c| usize::from(c) >= 2 * reals_each)?;
    let half_space = usize::try_from(bucket_bits.bucket_count() / 2).unwrap_or(usize::MAX);
    if k.saturating_mul(usize::from(q)) > half_space {
        None
    } else {
        Some((k, q))
    }
}

impl VerifiedDiscovery {
    /// The requests of one lookup batch for `contacts` (spec §9.7): their distinct prefixes
    /// split evenly over `k` requests of one size class, each at least half dummies, with
    /// dummies drawn from this batch's [`BatchKey`] and distinct from every other prefix of
    /// the batch; or, for a batch that would fill more than half the buckets, every bucket
    /// in `2^b / max_size_class` requests. No contacts, no requests.
    ///
    /// The requests depend only on the set of prefixes, the secret and the parameters.
    /// Send a batch once and keep its contacts in a [`LookupLedger`]: looking the same
    /// contacts up again in another composition lets the relay intersect the two.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] for ids of the other suite (a `ch1` id under `ch2` parameters);
    /// [`Error::CounterExhausted`] if a request would need more than [`DUMMY_DRAW_LIMIT`]
    /// draws (unreachable: see the constant).
    pub fn lookup_batch<I: LookupId>(
        &self,
        secret: &DiscoverySecret,
        contacts: &[I],
    ) -> Result<Vec<LookupRequest>, Error> {
        self.check_suite::<I>()?;
        let b = self.params().bucket_bits();
        let reals: BTreeSet<u32> = contacts
            .iter()
            .map(|id| bucket_prefix(id.contact_id(), b))
            .collect();
        let reals: Vec<u32> = reals.into_iter().collect();
        self.batch_requests(secret, &reals, self.params().max_size_class())
    }

    /// The requests of the batch whose real prefixes are `reals` (ascending, distinct).
    fn batch_requests(
        &self,
        secret: &DiscoverySecret,
        reals: &[u32],
        max_size_class: u16,
    ) -> Result<Vec<LookupRequest>, Error> {
        let b = self.params().bucket_bits();
        let gen = self.params().salt_generation();
        let suite = self.params().suite();
        if reals.is_empty() {
            return Ok(Vec::new());
        }
        let Some((k, q)) = batch_shape(reals.len(), b, max_size_class) else {
            // Every bucket, in requests of the largest class (2^b and the classes are
            // powers of two, so they divide evenly).
            let all: Vec<u32> = (0..b.bucket_count()).collect();
            return all
                .chunks(usize::from(max_size_class))
                .map(|chunk| LookupRequest::new_in(suite, gen, b, chunk.to_vec()))
                .collect();
        };
        let key = BatchKey::derive(secret, self.relay_id(), gen, b, reals);
        let mut used: BTreeSet<u32> = reals.iter().copied().collect();
        let mut requests = Vec::with_capacity(k);
        for j in 0..k {
            let mut chunk: BTreeSet<u32> = reals.iter().skip(j).step_by(k).copied().collect();
            let chunk_index = u32::try_from(j).map_err(|_| Error::CounterExhausted)?;
            let mut i: u32 = 0;
            while chunk.len() < usize::from(q) {
                if i >= DUMMY_DRAW_LIMIT {
                    return Err(Error::CounterExhausted);
                }
                let d = dummy_prefix(&key, b, chunk_index, i);
                if used.insert(d) {
                    chunk.insert(d);
                }
                i = i.checked_add(1).ok_or(Error::CounterExhausted)?;
            }
            requests.push(LookupRequest::new_in(
                suite,
                gen,
                b,
                chunk.into_iter().collect(),
            )?);
        }
        Ok(requests)
    }
}

/// What a client has looked up under one salt generation (spec §9.7.1): the contacts
/// already covered and the real prefixes of each batch it sent, so that
///
/// - an unchanged address book sends nothing new ([`LookupLedger::plan`] returns no
///   requests), and a refresh re-sends the same bytes ([`LookupLedger::requests`]);
/// - an edit sends only a new batch of the new contacts, with its own dummies, and no
///   earlier request changes by a single prefix.
///
/// The client stores the ledger with its discovery state ([`LookupLedger::to_bytes`]). A
/// ledger restored from an older backup forgets the batches sent since; see spec §9.11.3
/// for what re-sending them in another composition reveals.
#[derive(Clone, PartialEq, Eq)]
pub struct LookupLedger {
    salt_generation: u32,
    bucket_bits: BucketBits,
    max_size_class: u16,
    covered: BTreeSet<[u8; 32]>,
    batches: Vec<Vec<u32>>,
}

impl fmt::Debug for LookupLedger {
    /// Counts only: the covered contact ids are pseudonyms of the user's contacts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LookupLedger")
            .field("salt_generation", &self.salt_generation)
            .field("contacts", &self.covered.len())
            .field("batches", &self.batches.len())
            .finish_non_exhaustive()
    }
}

impl LookupLedger {
    /// An empty ledger for `discovery`'s salt generation, bucket bits and largest size
    /// class (all batches of the ledger use that class bound).
    #[must_use]
    pub fn new(discovery: &VerifiedDiscovery) -> Self {
        let p = discovery.params();
        Self {
            salt_generation: p.salt_generation(),
            bucket_bits: p.bucket_bits(),
            max_size_class: p.max_size_class(),
            covered: BTreeSet::new(),
            batches: Vec::new(),
        }
    }

    /// The salt generation this ledger belongs to.
    #[must_use]
    pub fn salt_generation(&self) -> u32 {
        self.salt_generation
    }

    /// How many batches were planned.
    #[must_use]
    pub fn batch_count(&self) -> usize {
        self.batches.len()
    }

    /// Whether `contact` was part of a planned batch.
    #[must_use]
    pub fn covers<I: LookupId>(&self, contact: &I) -> bool {
        self.covered.contains(contact.contact_id().as_bytes())
    }

    fn check(&self, discovery: &VerifiedDiscovery) -> Result<(), Error> {
        let p = discovery.params();
        if p.salt_generation() != self.salt_generation || p.bucket_bits() != self.bucket_bits {
            return Err(Error::LookupMismatch);
        }
        Ok(())
    }

    /// The requests to send for the address book `contacts` (spec §9.7.1): one new batch
    /// ([`VerifiedDiscovery::lookup_batch`]) of the contacts no earlier batch covered, or
    /// nothing if there are none. A new contact is looked up even if its prefix was in an
    /// earlier batch, so a batch's real prefixes are as uniform as its dummies. The ledger
    /// changes only if the batch was built.
    ///
    /// # Errors
    /// [`Error::LookupMismatch`] for parameters of another salt generation or bucket bits
    /// (start a new ledger); [`Error::LengthOverMax`] (field `ledger.contacts`,
    /// `ledger.batches` or `ledger.prefixes`) past the ledger's bounds; as
    /// [`VerifiedDiscovery::lookup_batch`].
    pub fn plan<I: LookupId>(
        &mut self,
        discovery: &VerifiedDiscovery,
        secret: &DiscoverySecret,
        contacts: &[I],
    ) -> Result<Vec<LookupRequest>, Error> {
        self.check(discovery)?;
        discovery.check_suite::<I>()?;
        let new: BTreeSet<[u8; 32]> = contacts
            .iter()
            .map(|c| *c.contact_id().as_bytes())
            .filter(|c| !self.covered.contains(c))
            .collect();
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let reals: BTreeSet<u32> = new
            .iter()
            .map(|c| bucket_prefix(&ContactId::from_bytes(*c), self.bucket_bits))
            .collect();
        let reals: Vec<u32> = reals.into_iter().collect();
        if self.covered.len().saturating_add(new.len()) > MAX_LEDGER_CONTACTS {
            return Err(Error::LengthOverMax {
                field: "ledger.contacts",
            });
        }
        if self.batches.len() >= MAX_LEDGER_BATCHES {
            return Err(Error::LengthOverMax {
                field: "ledger.batches",
            });
        }
        let prefixes: usize = self.batches.iter().map(Vec::len).sum();
        if prefixes.saturating_add(reals.len()) > MAX_LEDGER_PREFIXES {
            return Err(Error::LengthOverMax {
                field: "ledger.prefixes",
            });
        }
        let requests = discovery.batch_requests(secret, &reals, self.max_size_class)?;
        self.covered.extend(new);
        self.batches.push(reals);
        Ok(requests)
    }

    /// Every request of every batch, byte-identical to when it was planned: what a client
    /// re-sends to learn of registrations made since (a refresh reveals only its timing).
    ///
    /// # Errors
    /// As [`LookupLedger::plan`].
    pub fn requests(
        &self,
        discovery: &VerifiedDiscovery,
        secret: &DiscoverySecret,
    ) -> Result<Vec<LookupRequest>, Error> {
        self.check(discovery)?;
        let mut out = Vec::new();
        for reals in &self.batches {
            out.extend(discovery.batch_requests(secret, reals, self.max_size_class)?);
        }
        Ok(out)
    }

    /// The stored form (spec §9.7.1):
    ///
    /// ```text
    /// salt_generation (u32) || bucket_bits (u8) || max_size_class (u16)
    ///   || contact_count (u32) || contact_id [32] × contact_count   (ascending)
    ///   || batch_count (u16) || batch × batch_count
    /// batch = real_count (u32) || prefix (u32) × real_count          (ascending)
    /// ```
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.salt_generation);
        w.u8(self.bucket_bits.get());
        w.u16(self.max_size_class);
        // Bounded by MAX_LEDGER_CONTACTS and MAX_LEDGER_BATCHES on every path in.
        w.u32(u32::try_from(self.covered.len()).unwrap_or(u32::MAX));
        for c in &self.covered {
            w.bytes(c);
        }
        w.u16(u16::try_from(self.batches.len()).unwrap_or(u16::MAX));
        for batch in &self.batches {
            w.u32(u32::try_from(batch.len()).unwrap_or(u32::MAX));
            for p in batch {
                w.u32(*p);
            }
        }
        w.into_inner()
    }

    /// Decodes [`LookupLedger::to_bytes`], checking every count against its bound and the
    /// remaining input before allocating, the order of contacts and prefixes, and each
    /// prefix against `b`.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::TrailingBytes`], [`Error::LengthOverMax`] (fields
    /// `ledger.contacts`, `ledger.batches`, `ledger.prefixes`), [`Error::BucketBitsOutOfRange`],
    /// [`Error::NotASizeClass`], [`Error::PrefixOutOfRange`], [`Error::PrefixesNotSorted`],
    /// [`Error::InvalidEncoding`] (field `ledger.contacts`) for contacts out of order, (field
    /// `ledger.batches`) for an empty batch. Checks run in the order of spec §9.7.1.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let salt_generation = r.u32()?;
        let bucket_bits = BucketBits::new(r.u8()?)?;
        let max_size_class = r.u16()?;
        super::wire::check_max_size_class(max_size_class, bucket_bits)?;
        let contacts = read_count(&mut r, MAX_LEDGER_CONTACTS, 32, "ledger.contacts")?;
        let mut covered = BTreeSet::new();
        let mut prev: Option<[u8; 32]> = None;
        for _ in 0..contacts {
            let c: [u8; 32] = r.array()?;
            if prev.is_some_and(|p| c <= p) {
                return Err(Error::InvalidEncoding {
                    field: "ledger.contacts",
                });
            }
            prev = Some(c);
            covered.insert(c);
        }
        let batch_count = r.count_u16(MAX_LEDGER_BATCHES, 4, "ledger.batches")?;
        let mut batches = Vec::with_capacity(batch_count);
        let mut total: usize = 0;
        for _ in 0..batch_count {
            let n = usize::try_from(r.u32()?).map_err(|_| Error::LengthOverMax {
                field: "ledger.prefixes",
            })?;
            total = total.saturating_add(n);
            if n > MAX_LEDGER_PREFIXES || total > MAX_LEDGER_PREFIXES {
                return Err(Error::LengthOverMax {
                    field: "ledger.prefixes",
                });
            }
            if n.saturating_mul(4) > r.remaining() {
                return Err(Error::Truncated);
            }
            if n == 0 {
                return Err(Error::InvalidEncoding {
                    field: "ledger.batches",
                });
            }
            let mut batch = Vec::with_capacity(n);
            let mut prev: Option<u32> = None;
            for _ in 0..n {
                let p = r.u32()?;
                bucket_bits.check_prefix(p)?;
                if prev.is_some_and(|q| p <= q) {
                    return Err(Error::PrefixesNotSorted);
                }
                prev = Some(p);
                batch.push(p);
            }
            batches.push(batch);
        }
        r.finish()?;
        Ok(Self {
            salt_generation,
            bucket_bits,
            max_size_class,
            covered,
            batches,
        })
    }
}

/// A u32 count checked against `max` and against the remaining input (`size` bytes per
/// item) before anything is allocated (spec §2.3).
fn read_count(
    r: &mut Reader<'_>,
    max: usize,
    size: usize,
    field: &'static str,
) -> Result<usize, Error> {
    let n = usize::try_from(r.u32()?).map_err(|_| Error::LengthOverMax { field })?;
    if n > max {
        return Err(Error::LengthOverMax { field });
    }
    if n.saturating_mul(size) > r.remaining() {
        return Err(Error::Truncated);
    }
    Ok(n)
}
