//! Contact-discovery state per pinned relay key (spec §9.6.1, §9.7, §9.7.1): the client
//! keeps the generation mark, the discovery secret and the lookup ledger in its store and
//! reads and writes them in the same transaction as each step that uses them, so an
//! application cannot forget to persist them.

use super::Client;
use crate::store::{DiscoveryRecord, Store, StoreTx};
use crate::Error;
use blindrelay::contact::lookup::MAX_LEDGER_CONTACTS;
use blindrelay::contact::{
    BlindState, Ch2Id, ContactId, DiscoveryParameters, DiscoverySecret, GenerationMark, LookupId,
    LookupLedger, LookupRequest, OprfRequest, OprfResponse, RelayId, VerifiedDiscovery,
    VerifiedOracle, MAX_OPRF_BATCH,
};
use rand_core::{CryptoRng, RngCore};
use std::collections::BTreeSet;
use zeroize::Zeroizing;

/// The `ch2` ids of an address book, or the next oracle request they need (spec §13.4):
/// what [`Client::ch2_ids`] returns.
#[derive(Debug)]
pub enum Ch2Ids {
    /// Every contact's `ch2` id under the oracle's key epoch, in the order of the
    /// contacts: nothing to send to the oracle.
    Known(Vec<Ch2Id>),
    /// Send `request` through the relay (`POST /v1/oprf`, spec §13.9), pass its response
    /// to [`Client::finish_ch2_ids`] with `pending`, then call [`Client::ch2_ids`] again.
    Evaluate {
        /// The OPRF request (`0x15`) for contacts whose `ch2` id is not kept yet.
        request: OprfRequest,
        /// The secret blinding state of `request`.
        pending: Ch2Pending,
    },
}

/// The secret state of one OPRF request of [`Client::ch2_ids`]: the blinds and the `ch1`
/// ids they blind, for one oracle key epoch. Not `Clone` (a blind is used once); zeroized
/// when dropped (by the core's [`BlindState`]); `Debug` shows only sizes.
pub struct Ch2Pending {
    oracle: VerifiedOracle,
    contacts: Zeroizing<Vec<[u8; 32]>>,
    state: BlindState,
}

impl core::fmt::Debug for Ch2Pending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ch2Pending")
            .field("key_epoch", &self.oracle.key_epoch())
            .field("contacts", &self.contacts.len())
            .finish_non_exhaustive()
    }
}

/// Refuses `oracle` if ids of a later key epoch of the same oracle are kept (616).
fn not_rolled_back(tx: &mut impl StoreTx, oracle: &VerifiedOracle) -> Result<(), Error> {
    match tx.ch2_epoch(oracle.oracle_key())? {
        Some((epoch, _)) if epoch > oracle.key_epoch() => {
            Err(blindrelay::Error::GenerationRolledBack.into())
        }
        _ => Ok(()),
    }
}

/// A stored mark or ledger that does not decode: the row is corrupt (this layer wrote it).
fn corrupt(what: &'static str) -> impl FnOnce(blindrelay::Error) -> Error {
    move |e| Error::Storage(format!("corrupt {what}: {e}"))
}

/// The stored state of `relay_key`, checked against `discovery`: the record must exist
/// (the parameters were verified through [`Client::verify_discovery`]), `discovery` must
/// be of this relay key, and of the salt generation the mark holds.
fn checked_record(
    tx: &mut impl StoreTx,
    discovery: &VerifiedDiscovery,
    relay_key: &[u8; 32],
) -> Result<DiscoveryRecord, Error> {
    if *discovery.relay_id() != RelayId::from_relay_key(relay_key) {
        return Err(Error::ApiMisuse(
            "the discovery parameters were verified under another relay key",
        ));
    }
    let not_verified = Error::ApiMisuse(
        "verify the discovery parameters with Client::verify_discovery under this relay key",
    );
    let record = tx.discovery(relay_key)?.ok_or(not_verified.clone())?;
    let mark = GenerationMark::from_bytes(&record.mark).map_err(corrupt("generation mark"))?;
    let generation = discovery.params().salt_generation();
    match mark.seen() {
        Some((g, _)) if g == generation => Ok(record),
        // A VerifiedDiscovery kept across a rotation the client has since accepted.
        Some((g, _)) if generation < g => Err(blindrelay::Error::GenerationRolledBack.into()),
        _ => Err(not_verified),
    }
}

/// The stored ledger if it belongs to `generation`; `None` if there is none or it is of
/// another (older) generation.
fn current_ledger(
    record: &DiscoveryRecord,
    generation: u32,
) -> Result<Option<LookupLedger>, Error> {
    let Some(bytes) = &record.ledger else {
        return Ok(None);
    };
    let ledger = LookupLedger::from_bytes(bytes).map_err(corrupt("lookup ledger"))?;
    Ok((ledger.salt_generation() == generation).then_some(ledger))
}

impl<S: Store> Client<S> {
    /// Verifies a relay's discovery parameters under its pinned key `relay_key` (its
    /// Ed25519 public key) at the caller's clock `now` (spec §9.6), against the
    /// [`GenerationMark`] this client keeps for that key (spec §9.6.1), in one transaction:
    /// it loads the key's discovery state (creating it on first use, with a fresh
    /// [`DiscoverySecret`] from `rng`, spec §9.7), verifies, and stores the updated mark.
    /// A relay therefore cannot serve an older salt generation, nor rotate to a newer one
    /// within 30 days of the current one, across restarts of the client.
    ///
    /// A refusal writes nothing (not even a first-use record). The mark is only as good as
    /// the store: restoring an older copy of it re-opens the rollback window (see the
    /// crate's README, "Contact discovery").
    ///
    /// # Errors
    /// [`Error::Protocol`] with the core's refusal of [`DiscoveryParameters::verify`]:
    /// `InvalidPublicKey`, `BadSignature`, `Expired`, `GenerationRolledBack` (616),
    /// `GenerationTooSoon` (617); [`Error::Storage`] if the backend fails or the stored
    /// mark is corrupt.
    pub fn verify_discovery(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        params: DiscoveryParameters,
        relay_key: &[u8; 32],
        now: u64,
    ) -> Result<VerifiedDiscovery, Error> {
        self.store.transaction(|tx| {
            let stored = tx.discovery(relay_key)?;
            let mut record = match stored.clone() {
                Some(r) => r,
                None => DiscoveryRecord {
                    secret: DiscoverySecret::generate(rng).to_bytes(),
                    mark: GenerationMark::new().to_bytes(),
                    ledger: None,
                },
            };
            let mut mark =
                GenerationMark::from_bytes(&record.mark).map_err(corrupt("generation mark"))?;
            let verified = params.verify(relay_key, now, &mut mark)?;
            record.mark = mark.to_bytes();
            if stored.as_ref() != Some(&record) {
                tx.put_discovery(relay_key, &record)?;
            }
            Ok(verified)
        })
    }

    /// The lookup requests to send for the address book `contacts` (spec §9.7.1), from the
    /// [`LookupLedger`] this client keeps for `relay_key`, in one transaction: it loads the
    /// ledger (a new one if there is none or it is of an older salt generation, which it
    /// replaces), plans one new batch of the contacts no earlier batch of this generation
    /// covered, and stores the ledger. An unchanged address book sends nothing, also after
    /// a restart; an edit sends only the new contacts' batch, with its own dummies (spec
    /// §9.7). [`Client::lookup_requests`] re-sends every batch for a refresh.
    ///
    /// `discovery` must come from [`Client::verify_discovery`] under `relay_key`, of the
    /// salt generation it last accepted. For suite `ch2`, `contacts` are [`Ch2Id`]s (spec
    /// §13): keep them per oracle key epoch, so only new contacts cost oracle quota.
    ///
    /// [`Ch2Id`]: blindrelay::contact::Ch2Id
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if `discovery` was verified under another relay key, or not
    /// through this client; [`Error::Protocol`]: `GenerationRolledBack` (616) for a
    /// `discovery` older than the generation since accepted, `LookupMismatch` (615) if the
    /// relay changed its bucket bits within a salt generation (the ledger is kept: looking
    /// the same contacts up in another composition would let the relay intersect them),
    /// the refusals of [`LookupLedger::plan`]; [`Error::Storage`]. On any error nothing is
    /// written.
    pub fn plan_lookup<I: LookupId>(
        &mut self,
        discovery: &VerifiedDiscovery,
        relay_key: &[u8; 32],
        contacts: &[I],
    ) -> Result<Vec<LookupRequest>, Error> {
        self.store.transaction(|tx| {
            let mut record = checked_record(tx, discovery, relay_key)?;
            let generation = discovery.params().salt_generation();
            let mut ledger = current_ledger(&record, generation)?
                .unwrap_or_else(|| LookupLedger::new(discovery));
            let secret = DiscoverySecret::from_bytes(&record.secret);
            let requests = ledger.plan(discovery, &secret, contacts)?;
            let bytes = ledger.to_bytes();
            if record.ledger.as_ref() != Some(&bytes) {
                record.ledger = Some(bytes);
                tx.put_discovery(relay_key, &record)?;
            }
            Ok(requests)
        })
    }

    /// Every request of every batch planned under `discovery`'s salt generation,
    /// byte-identical to when [`Client::plan_lookup`] returned it (spec §9.7.1): what to
    /// re-send to learn of registrations made since. Empty if nothing was planned under
    /// this generation. Writes nothing.
    ///
    /// # Errors
    /// As [`Client::plan_lookup`].
    pub fn lookup_requests(
        &mut self,
        discovery: &VerifiedDiscovery,
        relay_key: &[u8; 32],
    ) -> Result<Vec<LookupRequest>, Error> {
        self.store.transaction(|tx| {
            let record = checked_record(tx, discovery, relay_key)?;
            let generation = discovery.params().salt_generation();
            let Some(ledger) = current_ledger(&record, generation)? else {
                return Ok(Vec::new());
            };
            let secret = DiscoverySecret::from_bytes(&record.secret);
            Ok(ledger.requests(discovery, &secret)?)
        })
    }

    /// The `ch2` ids of `contacts` (their `ch1` ids under `discovery`'s salt, spec §13.4)
    /// under `oracle`'s key epoch, from the ids this client kept in its store. Contacts
    /// evaluated before under this key epoch are never sent to the oracle again, also after
    /// a restart: an unchanged address book costs no oracle quota and shows the oracle no
    /// request. Writes nothing.
    ///
    /// [`Ch2Ids::Known`] when every id is kept; otherwise [`Ch2Ids::Evaluate`] with one
    /// request for at most [`MAX_OPRF_BATCH`] of the missing contacts (each once, in the
    /// order of `contacts`), blinded with fresh blinds from `rng`. A book with more missing
    /// contacts takes several rounds.
    ///
    /// `discovery` must name `oracle` and its key epoch ([`VerifiedOracle::named_by`]),
    /// also when every id is kept.
    ///
    /// # Errors
    /// [`Error::Protocol`]: `LookupMismatch` (615) if `discovery` does not name this oracle
    /// and key epoch; `GenerationRolledBack` (616) if ids of a later key epoch of this
    /// oracle are kept (an oracle that went back, or a relay still on an older epoch:
    /// evaluating would never end, since a later epoch's ids are never replaced by an
    /// earlier one's); `LengthOverMax` for a book of more than [`MAX_LEDGER_CONTACTS`]
    /// contacts (the ledger's bound); [`Error::Storage`].
    pub fn ch2_ids(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        discovery: &VerifiedDiscovery,
        oracle: &VerifiedOracle,
        contacts: &[ContactId],
    ) -> Result<Ch2Ids, Error> {
        oracle.named_by(discovery)?;
        if contacts.len() > MAX_LEDGER_CONTACTS {
            return Err(blindrelay::Error::LengthOverMax {
                field: "ch2 contacts",
            }
            .into());
        }
        let ch1: Zeroizing<Vec<[u8; 32]>> =
            Zeroizing::new(contacts.iter().map(|c| *c.as_bytes()).collect());
        let kept = self.store.transaction(|tx| {
            not_rolled_back(tx, oracle)?;
            tx.ch2_ids(oracle.oracle_key(), oracle.key_epoch(), &ch1)
        })?;
        let mut seen = BTreeSet::new();
        let missing: Zeroizing<Vec<[u8; 32]>> = ch1
            .iter()
            .zip(&kept)
            .filter(|(c, k)| k.is_none() && seen.insert(**c))
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .into();
        if missing.is_empty() {
            return Ok(Ch2Ids::Known(
                kept.into_iter().flatten().map(Ch2Id::from_bytes).collect(),
            ));
        }
        let batch: Zeroizing<Vec<[u8; 32]>> =
            Zeroizing::new(missing.iter().take(MAX_OPRF_BATCH).copied().collect());
        let ids: Vec<ContactId> = batch.iter().map(|c| ContactId::from_bytes(*c)).collect();
        let (state, request) = oracle.request(rng, discovery, &ids)?;
        Ok(Ch2Ids::Evaluate {
            request,
            pending: Ch2Pending {
                oracle: *oracle,
                contacts: batch,
                state,
            },
        })
    }

    /// Verifies the oracle's `response` to the request of `pending`
    /// ([`VerifiedOracle::finalize`]: the key epoch, the count, every element, and the
    /// batch proof under the pinned key, spec §13.4) and keeps the `ch2` ids it derives, in
    /// one transaction that also forgets ids of the oracle's earlier key epochs. Returns
    /// the new ids, in the order of the request. A refused response writes nothing.
    ///
    /// # Errors
    /// [`Error::Protocol`] with the core's refusal: `LookupMismatch` (615),
    /// `OprfBatchSize` (622), `OprfInvalidElement` (620), `OprfProofInvalid` (621); and
    /// `GenerationRolledBack` (616) if ids of a later key epoch were kept meanwhile;
    /// [`Error::Storage`].
    pub fn finish_ch2_ids(
        &mut self,
        pending: Ch2Pending,
        response: &OprfResponse,
    ) -> Result<Vec<Ch2Id>, Error> {
        let Ch2Pending {
            oracle,
            contacts,
            state,
        } = pending;
        let ids = oracle.finalize(state, response)?;
        let pairs: Zeroizing<Vec<([u8; 32], [u8; 32])>> = Zeroizing::new(
            contacts
                .iter()
                .zip(&ids)
                .map(|(c, id)| (*c, *id.as_contact_id().as_bytes()))
                .collect(),
        );
        self.store.transaction(|tx| {
            not_rolled_back(tx, &oracle)?;
            tx.put_ch2_ids(oracle.oracle_key(), oracle.key_epoch(), &pairs)
        })?;
        Ok(ids)
    }
}
