//! Contact-discovery state in the client store (spec §9.6.1, §9.7, §9.7.1), played as the
//! attacks it must resist: a relay serving older parameters or rotating early after the
//! client restarted; lookups repeated after a restart; a thief restoring an older copy of
//! the database (the known limit); refusals that must write nothing. Fixed times, no
//! system clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use blindrelay::codec::Encode;
use blindrelay::contact::{
    bucket_prefix, BucketBits, Ch2Id, ContactId, DiscoveryParameters, GenerationMark, LookupLedger,
    LookupRequest, OprfResponse, OracleBinding, OracleKey, OracleParameters, SaltNonce,
    VerifiedDiscovery, VerifiedOracle, MIN_GENERATION_LIFETIME_SECS,
};
use blindrelay::IdentityKeyPair;
use blindrelay_client::store::DiscoveryRecord;
use blindrelay_client::{Ch2Ids, Client, Error, MemoryStore, SqliteStore, Store, StoreTx};
use common::TempDb;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// 2023-11-14, the first acceptance.
const T0: u64 = 1_700_000_000;
const DAY: u64 = 86_400;
/// Past the minimum lifetime of a generation (30 days).
const MONTH: u64 = MIN_GENERATION_LIFETIME_SECS + DAY;

fn relay() -> IdentityKeyPair {
    IdentityKeyPair::from_seed(&[0x52; 32])
}

fn relay_key() -> [u8; 32] {
    relay().public().signing
}

/// Parameters of generation `gen` (nonce `nonce`) signed by `relay` at `issued`, valid one
/// day.
fn signed_by(relay: &IdentityKeyPair, gen: u32, nonce: u8, issued: u64) -> DiscoveryParameters {
    DiscoveryParameters::sign(
        relay,
        gen,
        &SaltNonce([nonce; 32]),
        BucketBits::new(12).unwrap(),
        1024,
        issued,
        issued + DAY,
    )
    .unwrap()
}

fn params(gen: u32, issued: u64) -> DiscoveryParameters {
    signed_by(&relay(), gen, gen as u8, issued)
}

fn contacts(range: std::ops::Range<u8>) -> Vec<ContactId> {
    range
        .map(|i| {
            let mut b = [i; 32];
            b[0] = i.wrapping_mul(37);
            b[1] = 0xc0 ^ i;
            ContactId::from_bytes(b)
        })
        .collect()
}

fn bytes(requests: &[LookupRequest]) -> Vec<Vec<u8>> {
    requests.iter().map(Encode::to_bytes).collect()
}

fn record<S: Store>(client: &mut Client<S>) -> Option<DiscoveryRecord> {
    client
        .store_mut()
        .transaction(|tx| tx.discovery(&relay_key()))
        .unwrap()
}

fn mark<S: Store>(client: &mut Client<S>) -> Option<(u32, u64)> {
    GenerationMark::from_bytes(&record(client).unwrap().mark)
        .unwrap()
        .seen()
}

fn ledger<S: Store>(client: &mut Client<S>) -> Option<LookupLedger> {
    record(client)
        .unwrap()
        .ledger
        .map(|l| LookupLedger::from_bytes(&l).unwrap())
}

fn code(r: Result<impl std::fmt::Debug, Error>) -> Option<u16> {
    r.unwrap_err().protocol_code()
}

fn create(rng: &mut ChaCha20Rng, db: &TempDb) -> Client<SqliteStore> {
    Client::create(rng, SqliteStore::open(&db.0).unwrap(), 0).unwrap()
}

fn reopen(db: &TempDb) -> Client<SqliteStore> {
    Client::open(SqliteStore::open(&db.0).unwrap()).unwrap()
}

fn verify<S: Store>(
    client: &mut Client<S>,
    rng: &mut ChaCha20Rng,
    gen: u32,
    now: u64,
) -> Result<VerifiedDiscovery, Error> {
    client.verify_discovery(rng, params(gen, now), &relay_key(), now)
}

/// (a) After a restart from its SQLite file, the client still refuses an older generation
/// (616) and a newer one within 30 days of the current one (617); the mark survives both
/// refusals unchanged, and a rotation after 30 days is accepted.
#[test]
fn a_relay_cannot_roll_back_or_rotate_early_across_a_restart() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let db = TempDb::new("disc-a");
    let mut client = create(&mut rng, &db);
    verify(&mut client, &mut rng, 5, T0).unwrap();
    assert_eq!(mark(&mut client), Some((5, T0)));
    verify(&mut client, &mut rng, 6, T0 + MONTH).unwrap();
    let secret = record(&mut client).unwrap().secret;
    drop(client);

    let mut client = reopen(&db);
    let before = record(&mut client).unwrap();
    assert_eq!(mark(&mut client), Some((6, T0 + MONTH)));
    assert_eq!(before.secret, secret, "the secret survives the restart");
    // The older generation, freshly re-signed so that only the mark can refuse it.
    assert_eq!(
        code(verify(&mut client, &mut rng, 5, T0 + MONTH + DAY)),
        Some(616)
    );
    assert_eq!(
        code(verify(&mut client, &mut rng, 7, T0 + MONTH + DAY)),
        Some(617)
    );
    drop(client);

    let mut client = reopen(&db);
    assert!(record(&mut client).unwrap() == before);
    // Re-serving the current generation is fine and changes nothing.
    verify(&mut client, &mut rng, 6, T0 + MONTH + 2 * DAY).unwrap();
    assert!(record(&mut client).unwrap() == before);
    verify(&mut client, &mut rng, 7, T0 + 2 * MONTH).unwrap();
    assert_eq!(mark(&mut client), Some((7, T0 + 2 * MONTH)));
    assert_eq!(record(&mut client).unwrap().secret, secret);
}

/// (b) An unchanged address book sends nothing after a restart; a refresh re-sends the
/// same bytes; an edit sends only a new batch (the earlier batch unchanged, the new
/// contacts' prefixes in the new one); a new generation starts a new ledger.
#[test]
fn lookups_are_not_repeated_across_a_restart() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let db = TempDb::new("disc-b");
    let book = contacts(0..20);
    let mut client = create(&mut rng, &db);
    let d = verify(&mut client, &mut rng, 5, T0).unwrap();
    assert!(client.lookup_requests(&d, &relay_key()).unwrap().is_empty());
    let first = client.plan_lookup(&d, &relay_key(), &book).unwrap();
    assert!(!first.is_empty());
    // One size class for the whole batch, real prefixes hidden among dummies.
    assert!(first
        .iter()
        .all(|r| r.prefixes().len() == first[0].prefixes().len()));
    assert!(first[0].prefixes().len() > book.len());
    drop((client, d));

    let mut client = reopen(&db);
    let d = verify(&mut client, &mut rng, 5, T0 + DAY / 2).unwrap();
    let stored = record(&mut client).unwrap();
    assert!(client
        .plan_lookup(&d, &relay_key(), &book)
        .unwrap()
        .is_empty());
    assert!(record(&mut client).unwrap() == stored, "nothing to write");
    let refresh = client.lookup_requests(&d, &relay_key()).unwrap();
    assert_eq!(bytes(&refresh), bytes(&first));

    // An edit: three new contacts, one removed.
    let mut edited = contacts(1..20);
    edited.extend(contacts(100..103));
    let second = client.plan_lookup(&d, &relay_key(), &edited).unwrap();
    assert!(!second.is_empty());
    assert_ne!(bytes(&second), bytes(&first));
    let b = BucketBits::new(12).unwrap();
    for c in contacts(100..103) {
        let p = bucket_prefix(&c, b);
        assert!(second.iter().any(|r| r.prefixes().contains(&p)));
    }
    drop(client);

    let mut client = reopen(&db);
    let d = verify(&mut client, &mut rng, 5, T0 + DAY / 2).unwrap();
    assert!(client
        .plan_lookup(&d, &relay_key(), &edited)
        .unwrap()
        .is_empty());
    let all = client.lookup_requests(&d, &relay_key()).unwrap();
    assert_eq!(bytes(&all), [bytes(&first), bytes(&second)].concat());
    assert_eq!(ledger(&mut client).unwrap().batch_count(), 2);

    // A new generation: the old ledger is replaced, the address book looked up anew once.
    let d6 = verify(&mut client, &mut rng, 6, T0 + MONTH).unwrap();
    assert!(client
        .lookup_requests(&d6, &relay_key())
        .unwrap()
        .is_empty());
    let third = client.plan_lookup(&d6, &relay_key(), &edited).unwrap();
    assert!(third.iter().all(|r| r.salt_generation() == 6));
    let l = ledger(&mut client).unwrap();
    assert_eq!((l.salt_generation(), l.batch_count()), (6, 1));
    assert!(client
        .plan_lookup(&d6, &relay_key(), &edited)
        .unwrap()
        .is_empty());
}

/// (c) The known limit: a thief (or a careless restore) puts back an older copy of the
/// database file, from before the client accepted generation 6. The restored mark is the
/// old one, so the relay can serve generation 5 again, and at once a generation 6 with
/// another nonce: one more bucket sample of the address book (spec §9.11.3). The store
/// cannot detect its own rollback; an application that keeps the mark elsewhere can.
#[test]
fn restoring_an_older_database_file_reopens_the_rollback_window() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let db = TempDb::new("disc-c");
    let backup = TempDb::new("disc-c-backup");
    let book = contacts(0..10);
    let mut client = create(&mut rng, &db);
    let d5 = verify(&mut client, &mut rng, 5, T0).unwrap();
    let first = client.plan_lookup(&d5, &relay_key(), &book).unwrap();
    drop(client); // the last connection checkpoints the WAL into the file
    std::fs::copy(&db.0, &backup.0).unwrap();

    let mut client = reopen(&db);
    verify(&mut client, &mut rng, 6, T0 + MONTH).unwrap();
    assert_eq!(
        code(verify(&mut client, &mut rng, 5, T0 + MONTH + DAY)),
        Some(616)
    );
    let newer = record(&mut client).unwrap();
    drop(client);

    // The restore: the old file back, no WAL.
    let restored = TempDb::new("disc-c");
    std::fs::copy(&backup.0, &restored.0).unwrap();
    let mut client = reopen(&restored);
    assert_eq!(mark(&mut client), Some((5, T0)));
    assert!(record(&mut client).unwrap() != newer);
    // Pinned behaviour: the rolled-back generation is accepted again ...
    let d5 = verify(&mut client, &mut rng, 5, T0 + MONTH + DAY).unwrap();
    // ... with its ledger (the same contacts send nothing, a refresh the same bytes) ...
    assert!(client
        .plan_lookup(&d5, &relay_key(), &book)
        .unwrap()
        .is_empty());
    assert_eq!(
        bytes(&client.lookup_requests(&d5, &relay_key()).unwrap()),
        bytes(&first)
    );
    // ... and a generation 6 other than the one accepted before the restore.
    let forked = client
        .verify_discovery(
            &mut rng,
            signed_by(&relay(), 6, 0xee, T0 + MONTH + DAY),
            &relay_key(),
            T0 + MONTH + DAY,
        )
        .unwrap();
    assert_eq!(forked.params().salt_nonce(), &[0xee; 32]);
    assert_eq!(mark(&mut client), Some((6, T0 + MONTH + DAY)));
    // The application's defence: a copy of the mark kept outside the file.
    let kept = GenerationMark::from_bytes(&newer.mark).unwrap().seen();
    assert_eq!(kept, Some((6, T0 + MONTH)));
}

/// (d) Refused verifications and plans write nothing: the whole SQLite file is the same
/// row for row before and after each of them (a first refusal creates no record).
#[test]
fn refusals_write_nothing_sqlite() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let db = TempDb::new("disc-d");
    let mut client = create(&mut rng, &db);
    refusals(&mut client, &mut rng, |c| c.store().dump().unwrap());
}

/// (d) The same on the memory store, comparing whole-store snapshots.
#[test]
fn refusals_write_nothing_memory() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut client = Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    refusals(&mut client, &mut rng, |c| c.store().clone());
}

fn refusals<S: Store, T: PartialEq + std::fmt::Debug>(
    client: &mut Client<S>,
    rng: &mut ChaCha20Rng,
    snapshot: impl Fn(&Client<S>) -> T,
) {
    let key = relay_key();
    let book = contacts(0..8);
    let empty = snapshot(client);
    // First use, refused: no record is created (bad signature, expired, far future).
    let forged = signed_by(&IdentityKeyPair::from_seed(&[1; 32]), 5, 5, T0);
    let r = client.verify_discovery(rng, forged, &key, T0);
    assert!(matches!(
        r,
        Err(Error::Protocol(blindrelay::Error::BadSignature))
    ));
    assert_eq!(
        code(client.verify_discovery(rng, params(5, T0 - 2 * DAY), &key, T0)),
        Some(blindrelay::Error::Expired.code())
    );
    assert_eq!(snapshot(client), empty);
    assert!(record(client).is_none());

    // A plan before any verification under this key.
    let d_other = client
        .verify_discovery(
            rng,
            signed_by(&IdentityKeyPair::from_seed(&[2; 32]), 5, 5, T0),
            &IdentityKeyPair::from_seed(&[2; 32]).public().signing,
            T0,
        )
        .unwrap();
    let after_other = snapshot(client);
    assert!(matches!(
        client.plan_lookup(&d_other, &key, &book),
        Err(Error::ApiMisuse(_))
    ));
    assert_eq!(snapshot(client), after_other);

    let d5 = verify(client, rng, 5, T0).unwrap();
    client.plan_lookup(&d5, &key, &book).unwrap();
    let d6 = verify(client, rng, 6, T0 + MONTH).unwrap();
    client.plan_lookup(&d6, &key, &book).unwrap();
    let before = snapshot(client);
    let record_before = record(client).unwrap();

    // Refused verifications: rollback, early rotation, another key's signature, expired.
    assert_eq!(code(verify(client, rng, 5, T0 + MONTH + 1)), Some(616));
    assert_eq!(code(verify(client, rng, 7, T0 + MONTH + 1)), Some(617));
    let forged = signed_by(&IdentityKeyPair::from_seed(&[1; 32]), 7, 7, T0 + 3 * MONTH);
    assert_eq!(
        code(client.verify_discovery(rng, forged, &key, T0 + 3 * MONTH)),
        Some(blindrelay::Error::BadSignature.code())
    );
    assert_eq!(
        code(client.verify_discovery(rng, params(7, T0), &key, T0 + 3 * MONTH)),
        Some(blindrelay::Error::Expired.code())
    );
    assert_eq!(snapshot(client), before);

    // Refused plans: a discovery kept from before the rotation (616), one of another relay
    // key, ids of the other suite, new bucket bits within the generation (615).
    let more = contacts(0..12);
    assert_eq!(code(client.plan_lookup(&d5, &key, &more)), Some(616));
    assert_eq!(code(client.lookup_requests(&d5, &key)), Some(616));
    assert!(matches!(
        client.plan_lookup(&d_other, &key, &more),
        Err(Error::ApiMisuse(_))
    ));
    let ch2: Vec<Ch2Id> = more
        .iter()
        .map(|c| Ch2Id::from_bytes(*c.as_bytes()))
        .collect();
    assert!(client.plan_lookup(&d6, &key, &ch2).is_err());
    let rebucketed = DiscoveryParameters::sign(
        &relay(),
        6,
        &SaltNonce([6; 32]),
        BucketBits::new(10).unwrap(),
        1024,
        T0 + MONTH + 1,
        T0 + MONTH + DAY,
    )
    .unwrap();
    let d6b = client
        .verify_discovery(rng, rebucketed, &key, T0 + MONTH + 1)
        .unwrap();
    assert_eq!(code(client.plan_lookup(&d6b, &key, &more)), Some(615));
    assert_eq!(snapshot(client), before);
    assert!(record(client).unwrap() == record_before);
    // The genuine discovery still plans only the new contacts.
    assert!(!client.plan_lookup(&d6, &key, &more).unwrap().is_empty());
    assert!(client.plan_lookup(&d6, &key, &more).unwrap().is_empty());
}

/// Suite ch2: the client plans with its cached `Ch2Id`s; after a restart an unchanged
/// address book costs nothing, and ids of the other suite are refused.
#[test]
fn ch2_ids_are_planned_once() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let db = TempDb::new("disc-ch2");
    let oracle = OracleBinding {
        oracle_key: [9; 32],
        key_epoch: 3,
    };
    let p = |issued: u64| {
        DiscoveryParameters::sign_ch2(
            &relay(),
            1,
            &SaltNonce([1; 32]),
            BucketBits::new(12).unwrap(),
            1024,
            oracle,
            (issued, issued + DAY),
        )
        .unwrap()
    };
    let ids: Vec<Ch2Id> = contacts(0..16)
        .iter()
        .map(|c| Ch2Id::from_bytes(*c.as_bytes()))
        .collect();
    let mut client = create(&mut rng, &db);
    let d = client
        .verify_discovery(&mut rng, p(T0), &relay_key(), T0)
        .unwrap();
    let first = client.plan_lookup(&d, &relay_key(), &ids).unwrap();
    assert!(!first.is_empty());
    drop((client, d));
    let mut client = reopen(&db);
    let d = client
        .verify_discovery(&mut rng, p(T0 + 60), &relay_key(), T0 + 60)
        .unwrap();
    assert!(client
        .plan_lookup(&d, &relay_key(), &ids)
        .unwrap()
        .is_empty());
    assert_eq!(
        bytes(&client.lookup_requests(&d, &relay_key()).unwrap()),
        bytes(&first)
    );
    let before = record(&mut client).unwrap();
    assert!(client
        .plan_lookup(&d, &relay_key(), &contacts(50..60))
        .is_err());
    assert!(record(&mut client).unwrap() == before);
}

/// A schema-2 file (before discovery state and ch2 ids) migrates to schema 4: the client keeps its
/// identity and starts discovery state afresh.
#[test]
fn a_schema_2_file_migrates() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let db = TempDb::new("disc-mig");
    let client = create(&mut rng, &db);
    let identity = *client.identity();
    drop(client);
    {
        let conn = rusqlite::Connection::open(&db.0).unwrap();
        conn.execute_batch("DROP TABLE discovery; DROP TABLE ch2_ids; PRAGMA user_version = 2;")
            .unwrap();
    }
    let mut client = reopen(&db);
    assert_eq!(*client.identity(), identity);
    {
        let conn = rusqlite::Connection::open(&db.0).unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 4);
        assert_eq!(v, blindrelay_client::store::SCHEMA_VERSION);
    }
    assert!(record(&mut client).is_none());
    let d = verify(&mut client, &mut rng, 5, T0).unwrap();
    assert!(!client
        .plan_lookup(&d, &relay_key(), &contacts(0..4))
        .unwrap()
        .is_empty());
    drop(client);
    let mut client = reopen(&db);
    assert_eq!(mark(&mut client), Some((5, T0)));
}

/// The oracle of the ch2 tests at `key_epoch`: its OPRF key, and its parameters as a
/// client verifies them under the oracle's pinned Ed25519 key.
fn oracle_at(key_epoch: u32) -> (OracleKey, VerifiedOracle) {
    let signer = IdentityKeyPair::from_seed(&[0x0c; 32]);
    let key = OracleKey::derive(&[0x4b; 32], key_epoch).unwrap();
    let verified = OracleParameters::sign(&signer, &key, T0, T0 + DAY)
        .unwrap()
        .verify(&signer.public().signing, T0)
        .unwrap();
    (key, verified)
}

/// ch2 discovery parameters naming `oracle` (generation = its key epoch, as a ch2 relay's).
fn ch2_params(oracle: &VerifiedOracle, issued: u64) -> DiscoveryParameters {
    DiscoveryParameters::sign_ch2(
        &relay(),
        oracle.key_epoch(),
        &SaltNonce([1; 32]),
        BucketBits::new(12).unwrap(),
        1024,
        OracleBinding {
            oracle_key: *oracle.oracle_key(),
            key_epoch: oracle.key_epoch(),
        },
        (issued, issued + DAY),
    )
    .unwrap()
}

/// One round of [`Client::ch2_ids`] against `key` playing the oracle (through an honest
/// relay): the number of elements the client sent (0 if it sent nothing), and the ids.
fn evaluate<S: Store>(
    client: &mut Client<S>,
    rng: &mut ChaCha20Rng,
    d: &VerifiedDiscovery,
    (key, oracle): &(OracleKey, VerifiedOracle),
    book: &[ContactId],
) -> (usize, Vec<Ch2Id>) {
    let mut sent = 0;
    loop {
        match client.ch2_ids(rng, d, oracle, book).unwrap() {
            Ch2Ids::Known(ids) => return (sent, ids),
            Ch2Ids::Evaluate { request, pending } => {
                sent += request.blinded().len();
                let response = key.answer(rng, &request).unwrap();
                client.finish_ch2_ids(pending, &response).unwrap();
            }
        }
    }
}

/// The ch2 ids a client keeps (spec §13.4): a book is sent to the oracle once per key
/// epoch, also across a restart; an edit sends only the new contacts, each once; the ids
/// are the oracle's (checked against its unblinded evaluation); a key rotation forgets
/// the earlier epoch's ids. Played as the relay: a response to another request, a
/// tampered proof and a response under another key are refused and write nothing.
#[test]
fn ch2_ids_are_evaluated_once_per_key_epoch_across_restarts() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let db = TempDb::new("disc-ch2-cache");
    let epoch3 = oracle_at(3);
    let mut client = create(&mut rng, &db);
    let d = client
        .verify_discovery(&mut rng, ch2_params(&epoch3.1, T0), &relay_key(), T0)
        .unwrap();
    let mut book = contacts(0..20);
    book.push(ContactId::from_bytes(*book[3].as_bytes()));
    let expected: Vec<Ch2Id> = book
        .iter()
        .map(|c| epoch3.0.evaluate_unblinded(c).unwrap())
        .collect();

    let (sent, ids) = evaluate(&mut client, &mut rng, &d, &epoch3, &book);
    assert_eq!(sent, 20, "each contact once, the duplicate not again");
    assert!(ids == expected);
    let (sent, ids) = evaluate(&mut client, &mut rng, &d, &epoch3, &book);
    assert_eq!((sent, ids == expected), (0, true));

    // Restart: nothing is sent again.
    drop(client);
    let mut client = reopen(&db);
    let (sent, ids) = evaluate(&mut client, &mut rng, &d, &epoch3, &book);
    assert_eq!((sent, ids == expected), (0, true));

    // An edit: only the two new contacts are sent.
    book.extend(contacts(40..42));
    let (sent, ids) = evaluate(&mut client, &mut rng, &d, &epoch3, &book);
    assert_eq!(sent, 2);
    assert!(ids[..21] == expected[..]);

    // The relay's tricks on the next request: each is refused and writes nothing.
    let more = contacts(50..53);
    let dump = client.store().dump().unwrap();
    let stale = {
        let Ch2Ids::Evaluate { request, .. } =
            client.ch2_ids(&mut rng, &d, &epoch3.1, &more).unwrap()
        else {
            panic!("new contacts must be evaluated")
        };
        epoch3.0.answer(&mut rng, &request).unwrap()
    };
    let other_key = OracleKey::derive(&[0x77; 32], 3).unwrap();
    for (attack, expected_code) in [
        ("another request's response", 621),
        ("a tampered proof", 621),
        ("another key", 621),
    ] {
        let Ch2Ids::Evaluate { request, pending } =
            client.ch2_ids(&mut rng, &d, &epoch3.1, &more).unwrap()
        else {
            panic!("new contacts must be evaluated")
        };
        let response = match attack {
            "another request's response" => stale.clone(),
            "a tampered proof" => {
                let good = epoch3.0.answer(&mut rng, &request).unwrap();
                let mut proof = *good.proof();
                proof[5] ^= 1;
                OprfResponse::new(3, good.evaluated().to_vec(), proof).unwrap()
            }
            _ => other_key.answer(&mut rng, &request).unwrap(),
        };
        assert_eq!(
            code(client.finish_ch2_ids(pending, &response)),
            Some(expected_code),
            "{attack}"
        );
        assert_eq!(
            client.store().dump().unwrap(),
            dump,
            "{attack} wrote something"
        );
    }

    // A rotation to key epoch 4: every contact is evaluated again, and the epoch-3 ids
    // are forgotten.
    let epoch4 = oracle_at(4);
    let later = T0 + MONTH;
    let d4 = client
        .verify_discovery(&mut rng, ch2_params(&epoch4.1, later), &relay_key(), later)
        .unwrap();
    let (sent, ids) = evaluate(&mut client, &mut rng, &d4, &epoch4, &book);
    assert_eq!(sent, 22);
    assert!(ids[0] == epoch4.0.evaluate_unblinded(&book[0]).unwrap());
    assert!(ids[0] != expected[0]);
    let kept = client
        .store_mut()
        .transaction(|tx| tx.ch2_epoch(epoch3.1.oracle_key()))
        .unwrap();
    assert_eq!(kept, Some((4, 22)), "the epoch-3 ids are forgotten");
    // The relay's old parameters no longer name the client's oracle epoch.
    assert_eq!(
        code(client.ch2_ids(&mut rng, &d, &epoch4.1, &book)),
        Some(blindrelay::Error::LookupMismatch.code())
    );

    // An oracle that went back to epoch 3 (a restored oracle, or a second relay still on
    // the old epoch) is refused before anything is blinded, and a response finished after
    // the client moved on writes nothing: no evaluation loop that never ends.
    let Ch2Ids::Evaluate { request, pending } =
        client.ch2_ids(&mut rng, &d4, &epoch4.1, &more).unwrap()
    else {
        panic!("new contacts must be evaluated")
    };
    let late = epoch4.0.answer(&mut rng, &request).unwrap();
    let dump = client.store().dump().unwrap();
    assert_eq!(
        code(client.ch2_ids(&mut rng, &d, &epoch3.1, &book)),
        Some(blindrelay::Error::GenerationRolledBack.code())
    );
    let epoch5 = oracle_at(5);
    let d5 = client
        .verify_discovery(
            &mut rng,
            ch2_params(&epoch5.1, later + MONTH),
            &relay_key(),
            later + MONTH,
        )
        .unwrap();
    let (sent, _) = evaluate(&mut client, &mut rng, &d5, &epoch5, &book[..1]);
    assert_eq!(sent, 1);
    let dump5 = client.store().dump().unwrap();
    assert_ne!(dump5, dump);
    assert_eq!(
        code(client.finish_ch2_ids(pending, &late)),
        Some(blindrelay::Error::GenerationRolledBack.code())
    );
    assert_eq!(client.store().dump().unwrap(), dump5);
}

/// A book with more missing contacts than one OPRF batch takes several rounds, each at
/// most `MAX_OPRF_BATCH` elements, and ends with every id (memory store).
#[test]
fn a_large_book_takes_several_rounds() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let mut client = Client::create(&mut rng, MemoryStore::new(), 0).unwrap();
    let epoch = oracle_at(3);
    let d = client
        .verify_discovery(&mut rng, ch2_params(&epoch.1, T0), &relay_key(), T0)
        .unwrap();
    let n = blindrelay::contact::MAX_OPRF_BATCH + 5;
    let book: Vec<ContactId> = (0..n)
        .map(|i| {
            let mut b = [0x3c; 32];
            b[..8].copy_from_slice(&(i as u64).to_be_bytes());
            ContactId::from_bytes(b)
        })
        .collect();
    let mut rounds = Vec::new();
    let ids = loop {
        match client.ch2_ids(&mut rng, &d, &epoch.1, &book).unwrap() {
            Ch2Ids::Known(ids) => break ids,
            Ch2Ids::Evaluate { request, pending } => {
                rounds.push(request.blinded().len());
                let response = epoch.0.answer(&mut rng, &request).unwrap();
                client.finish_ch2_ids(pending, &response).unwrap();
            }
        }
    };
    assert_eq!(rounds, vec![blindrelay::contact::MAX_OPRF_BATCH, 5]);
    assert_eq!(ids.len(), n);
    assert!(ids[n - 1] == epoch.0.evaluate_unblinded(&book[n - 1]).unwrap());
}
