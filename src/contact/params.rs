//! Signing and verifying discovery parameters, building padded lookup requests,
//! registering, and matching a response (spec §9.6 to §9.10). This is the layer that
//! joins the pure codec of [`super::wire`] with the crypto layer.

use super::bucket::{bucket_prefix, BucketBits, MatchTag};
use super::freshness::GenerationMark;
use super::hash::{ContactHasher, ContactId};
use super::lookup::LookupId;
use super::salt::{ContactSalt, RelayId, SaltNonce};
use super::wire::{
    check_max_size_class, BucketEntry, DiscoveryParameters, LookupRequest, LookupResponse,
    OracleBinding, Registration,
};
use crate::crypto::{random_array, sig, CryptoRng, RngCore};
use crate::keys::IdentityKeyPair;
use crate::relay::MAX_CLOCK_SKEW_SECS;
use crate::Error;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Signature context of discovery parameters (spec §9.6).
pub(crate) const DISCOVERY_PARAMETERS_CONTEXT: &[u8] = b"blindrelay v1 discovery parameters";
/// The longest validity window discovery parameters may claim (`expires_at - issued_at`),
/// in seconds (spec §9.6): 7 days, so a relay that stopped re-signing (or an attacker
/// replaying an old signature) is refused within a week.
pub const MAX_PARAMETERS_LIFETIME_SECS: u64 = 7 * 24 * 3600;

/// `Err(Expired)` if the window is empty or longer than [`MAX_PARAMETERS_LIFETIME_SECS`].
pub(super) fn window_error(issued_at: u64, expires_at: u64) -> Result<(), Error> {
    match expires_at.checked_sub(issued_at) {
        Some(len) if len > 0 && len <= MAX_PARAMETERS_LIFETIME_SECS => Ok(()),
        _ => Err(Error::Expired),
    }
}

/// The verifier's checks of a signed window at its clock `now` (spec §9.6 steps 3 and 4,
/// §13.9): the window itself, then `issued_at ≤ now + MAX_CLOCK_SKEW_SECS` and
/// `now < expires_at`; `Err(Expired)` otherwise.
pub(super) fn check_window(issued_at: u64, expires_at: u64, now: u64) -> Result<(), Error> {
    window_error(issued_at, expires_at)?;
    if issued_at > now.saturating_add(MAX_CLOCK_SKEW_SECS) || now >= expires_at {
        return Err(Error::Expired);
    }
    Ok(())
}

impl DiscoveryParameters {
    /// Builds and signs discovery parameters with the relay's long-term identity (spec
    /// §9.6). The relay's Ed25519 public key (`relay.public().signing`) is the key clients
    /// pin and derive the relay id from.
    ///
    /// The parameters are valid from `issued_at` until `expires_at` (Unix seconds): a relay
    /// re-signs them before they expire, and clients refuse them afterwards.
    ///
    /// # Errors
    /// [`Error::NotASizeClass`] if `max_size_class` is not one of [`SIZE_CLASSES`](super::wire::SIZE_CLASSES), is
    /// above `2^b` or below [`MIN_MAX_SIZE_CLASS`](super::MIN_MAX_SIZE_CLASS); [`Error::Expired`] if the window is
    /// empty or longer than [`MAX_PARAMETERS_LIFETIME_SECS`].
    pub fn sign(
        relay: &IdentityKeyPair,
        salt_generation: u32,
        salt_nonce: &SaltNonce,
        bucket_bits: BucketBits,
        max_size_class: u16,
        issued_at: u64,
        expires_at: u64,
    ) -> Result<Self, Error> {
        Self::sign_suite(
            relay,
            (salt_generation, salt_nonce, bucket_bits, max_size_class),
            None,
            (issued_at, expires_at),
        )
    }

    /// Builds and signs the parameters of a `ch2` relay (spec §9.6, §13.9): as
    /// [`DiscoveryParameters::sign`], naming the `oracle` whose key epoch the relay's
    /// registry is keyed under. Clients accept them only if the oracle key is one they
    /// pinned themselves.
    ///
    /// # Errors
    /// As [`DiscoveryParameters::sign`].
    pub fn sign_ch2(
        relay: &IdentityKeyPair,
        salt_generation: u32,
        salt_nonce: &SaltNonce,
        bucket_bits: BucketBits,
        max_size_class: u16,
        oracle: OracleBinding,
        (issued_at, expires_at): (u64, u64),
    ) -> Result<Self, Error> {
        Self::sign_suite(
            relay,
            (salt_generation, salt_nonce, bucket_bits, max_size_class),
            Some(oracle),
            (issued_at, expires_at),
        )
    }

    fn sign_suite(
        relay: &IdentityKeyPair,
        (salt_generation, salt_nonce, bucket_bits, max_size_class): (
            u32,
            &SaltNonce,
            BucketBits,
            u16,
        ),
        oracle: Option<OracleBinding>,
        (issued_at, expires_at): (u64, u64),
    ) -> Result<Self, Error> {
        check_max_size_class(max_size_class, bucket_bits)?;
        window_error(issued_at, expires_at)?;
        let mut params = Self {
            salt_generation,
            salt_nonce: salt_nonce.0,
            bucket_bits,
            max_size_class,
            oracle,
            issued_at,
            expires_at,
            signature: [0u8; 64],
        };
        params.signature = relay.sign(&params.signature_input());
        Ok(params)
    }

    /// `DISCOVERY_PARAMETERS_CONTEXT || unsigned encoding` (spec §9.6).
    #[must_use]
    pub fn signature_input(&self) -> Vec<u8> {
        let mut input = DISCOVERY_PARAMETERS_CONTEXT.to_vec();
        input.extend_from_slice(&self.unsigned_bytes());
        input
    }

    /// Verifies the parameters as a client must before using them (spec §9.6), in this
    /// order: the signature under the relay key the client pinned; the validity window
    /// against the caller's clock `now` (Unix seconds); the salt generation against the
    /// client's [`GenerationMark`] for this relay key. Then it records the generation in
    /// `mark` and derives the relay id and the salt locally. Only a [`VerifiedDiscovery`]
    /// can hash contacts or build requests. On any error `mark` is unchanged.
    ///
    /// # Errors
    /// [`Error::InvalidPublicKey`] if `relay_key` is not a usable Ed25519 key,
    /// [`Error::BadSignature`] if the signature does not verify; [`Error::Expired`] if the
    /// window is empty or longer than [`MAX_PARAMETERS_LIFETIME_SECS`], starts more than
    /// [`MAX_CLOCK_SKEW_SECS`] after `now`, or has ended; [`Error::GenerationRolledBack`]
    /// and [`Error::GenerationTooSoon`] from [`GenerationMark::admit`].
    pub fn verify(
        self,
        relay_key: &[u8; 32],
        now: u64,
        mark: &mut GenerationMark,
    ) -> Result<VerifiedDiscovery, Error> {
        sig::verify(relay_key, &self.signature_input(), &self.signature)?;
        check_window(self.issued_at, self.expires_at, now)?;
        *mark = mark.admit(self.salt_generation, now)?;
        let relay_id = RelayId::from_relay_key(relay_key);
        let salt =
            ContactSalt::derive(&relay_id, self.salt_generation, &SaltNonce(self.salt_nonce));
        Ok(VerifiedDiscovery {
            params: self,
            relay_id,
            salt,
        })
    }

    /// Relay side: checks that a request was made under these parameters and within the
    /// published size classes (spec §9.7).
    ///
    /// # Errors
    /// [`Error::LookupMismatch`] for another suite, salt generation or bucket bits,
    /// [`Error::NotASizeClass`] for more prefixes than `max_size_class`.
    pub fn check_request(&self, request: &LookupRequest) -> Result<(), Error> {
        if request.suite() != self.suite()
            || request.salt_generation() != self.salt_generation
            || request.bucket_bits() != self.bucket_bits
        {
            return Err(Error::LookupMismatch);
        }
        if request.prefixes().len() > usize::from(self.max_size_class) {
            return Err(Error::NotASizeClass);
        }
        Ok(())
    }

    /// Relay side: checks a registration's salt generation and returns the bucket it goes
    /// in and the entry to store there (spec §9.9). The relay stores only this pair.
    ///
    /// # Errors
    /// [`Error::LookupMismatch`] for another suite or salt generation.
    pub fn bucket_entry(&self, registration: &Registration) -> Result<(u32, BucketEntry), Error> {
        if registration.suite() != self.suite()
            || registration.salt_generation() != self.salt_generation
        {
            return Err(Error::LookupMismatch);
        }
        let id = ContactId::from_bytes(*registration.contact_id());
        Ok((
            bucket_prefix(&id, self.bucket_bits),
            BucketEntry {
                tag: MatchTag::of(&id).0,
                record: registration.record().to_vec(),
            },
        ))
    }

    /// Relay side: answers a checked request with every distinct entry of each requested
    /// bucket, as `entries_of(prefix)` returns them (spec §9.8): a bucket is a set, so an
    /// entry registered twice (or by two owners) is answered once instead of making the
    /// response undecodable.
    ///
    /// # Errors
    /// As [`DiscoveryParameters::check_request`] and [`LookupResponse::new`].
    pub fn answer(
        &self,
        request: &LookupRequest,
        mut entries_of: impl FnMut(u32) -> Vec<BucketEntry>,
    ) -> Result<LookupResponse, Error> {
        self.check_request(request)?;
        let buckets = request
            .prefixes()
            .iter()
            .map(|&p| {
                let mut entries = entries_of(p);
                entries.sort();
                entries.dedup();
                (p, entries)
            })
            .collect();
        LookupResponse::new_in(
            self.suite(),
            self.salt_generation,
            self.bucket_bits,
            buckets,
        )
    }
}

/// A client's discovery secret (spec §9.7): the key its dummy prefixes are derived from,
/// so that repeating a lookup repeats its dummies. Long-lived, stored by the client.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DiscoverySecret(Box<[u8; 32]>);

impl DiscoverySecret {
    /// A fresh secret from the caller's RNG.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        let mut bytes = random_array::<32>(rng);
        let secret = Self(Box::new(bytes));
        bytes.zeroize();
        secret
    }

    /// Restores a stored secret.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(Box::new(*bytes))
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Exports the secret for the caller's storage.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*self.0)
    }
}

impl fmt::Debug for DiscoverySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self(_) = self;
        f.debug_struct("DiscoverySecret").finish_non_exhaustive()
    }
}

/// Discovery parameters whose signature verified under the pinned relay key, with the
/// relay id and salt the client derived itself (spec §9.6).
#[derive(Debug)]
pub struct VerifiedDiscovery {
    params: DiscoveryParameters,
    relay_id: RelayId,
    salt: ContactSalt,
}

/// The records a lookup found for one contact (spec §9.10). A match is an unverified
/// claim that someone registered this number with this record: show it as unverified
/// until the safety numbers are compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactMatch<'a> {
    /// Index of the contact in the slice passed to [`VerifiedDiscovery::match_response`].
    pub contact: usize,
    /// Every record registered under the contact's id, in response order.
    pub records: Vec<&'a [u8]>,
}

impl VerifiedDiscovery {
    /// The verified parameters.
    #[must_use]
    pub fn params(&self) -> &DiscoveryParameters {
        &self.params
    }

    /// The relay id derived from the pinned key.
    #[must_use]
    pub fn relay_id(&self) -> &RelayId {
        &self.relay_id
    }

    /// The salt derived locally (never read from the wire).
    #[must_use]
    pub fn salt(&self) -> &ContactSalt {
        &self.salt
    }

    /// A hasher for this relay's salt (allocates the 19 MiB Argon2 buffer once).
    ///
    /// # Errors
    /// As [`ContactHasher::new`].
    pub fn hasher(&self) -> Result<ContactHasher, Error> {
        ContactHasher::new(self.salt)
    }

    /// The explicit, opt-in registration of the caller's own id with an opaque `record`
    /// (spec §9.9): its `ch1` [`ContactId`] under `ch1` parameters, its `ch2` id
    /// ([`super::Ch2Id`]) under `ch2` parameters (spec §13). Nothing registers a client
    /// implicitly.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] for an id of the other suite; [`Error::LengthOverMax`] if
    /// `record` is too long.
    pub fn register_discoverable<I: LookupId>(
        &self,
        own_id: &I,
        record: &[u8],
    ) -> Result<Registration, Error> {
        self.check_suite::<I>()?;
        Registration::new_in(
            self.params.suite(),
            self.params.salt_generation,
            *own_id.contact_id().as_bytes(),
            record,
        )
    }

    /// `ApiMisuse` unless ids of type `I` belong to these parameters' suite.
    pub(crate) fn check_suite<I: LookupId>(&self) -> Result<(), Error> {
        if I::SUITE == self.params.suite() {
            Ok(())
        } else {
            Err(Error::ApiMisuse {
                reason: "ids of another discovery suite than the relay's parameters",
            })
        }
    }

    /// Matches `contacts` locally against a response to `request` (spec §9.10): for each
    /// contact, every entry of its bucket is compared with its match tag in constant time.
    /// Returns the contacts with at least one record, in `contacts` order.
    ///
    /// # Errors
    /// As [`VerifiedDiscovery::match_responses`].
    pub fn match_response<'r, I: LookupId>(
        &self,
        request: &LookupRequest,
        response: &'r LookupResponse,
        contacts: &[I],
    ) -> Result<Vec<ContactMatch<'r>>, Error> {
        self.match_responses(&[(request, response)], contacts)
    }

    /// Matches `contacts` against the responses to several requests, such as the requests
    /// of a batch or of a whole [`super::LookupLedger`] (spec §9.10): each pair is checked
    /// as in [`VerifiedDiscovery::match_response`], and each contact is matched in the
    /// first request that holds its prefix.
    ///
    /// # Errors
    /// [`Error::LookupMismatch`] if a request or response was made under other parameters
    /// or a response's buckets are not exactly its request's prefixes;
    /// [`Error::ApiMisuse`] if no request holds a contact's prefix.
    pub fn match_responses<'r, I: LookupId>(
        &self,
        exchanges: &[(&LookupRequest, &'r LookupResponse)],
        contacts: &[I],
    ) -> Result<Vec<ContactMatch<'r>>, Error> {
        self.check_suite::<I>()?;
        let b = self.params.bucket_bits;
        let gen = self.params.salt_generation;
        let suite = self.params.suite();
        for (request, response) in exchanges {
            if request.suite() != suite
                || response.suite() != suite
                || request.salt_generation() != gen
                || response.salt_generation() != gen
                || request.bucket_bits() != b
                || response.bucket_bits() != b
                || !response
                    .buckets()
                    .iter()
                    .map(|bucket| bucket.prefix())
                    .eq(request.prefixes().iter().copied())
            {
                return Err(Error::LookupMismatch);
            }
        }
        let mut matches = Vec::new();
        for (index, id) in contacts.iter().enumerate() {
            let id = id.contact_id();
            let prefix = bucket_prefix(id, b);
            let bucket = exchanges
                .iter()
                .find_map(|(_, response)| response.bucket(prefix))
                .ok_or(Error::ApiMisuse {
                    reason: "a contact's prefix is not in the request",
                })?;
            let tag = MatchTag::of(id);
            let records: Vec<&[u8]> = bucket
                .entries()
                .iter()
                .map(|e| (tag.ct_eq(&MatchTag(e.tag)), e.record.as_slice()))
                .collect::<Vec<_>>()
                .into_iter()
                .filter(|(hit, _)| bool::from(*hit))
                .map(|(_, r)| r)
                .collect();
            if !records.is_empty() {
                matches.push(ContactMatch {
                    contact: index,
                    records,
                });
            }
        }
        Ok(matches)
    }
}
