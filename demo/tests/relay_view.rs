//! The relay-view test: after the end-to-end demo, every byte the relay wrote (its raw
//! SQLite files, every row of `Store::dump`, its log) holds no plaintext, no phone number,
//! no contact id beyond its match tag, no identity key outside a published bundle, no
//! sender and no read capability. And the check can fail: a deliberately leaky store run
//! through the same demo is caught.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use blindrelay::IdentityKeyPair;
use blindrelay_demo::view::{check, Evidence, Leak, Secrets};
use blindrelay_demo::{run, run_with, Report};
use blindrelay_relay::store::sqlite::SqliteStore;
use blindrelay_relay::store::{
    BundleRecord, Claimed, Entry, Id, KeyRecords, PoolCounts, Store, StoreError, Stored, Table,
    Value,
};
use std::future::Future;
use std::path::Path;
use std::sync::Mutex;

/// The relay's log capture is process-wide: one demo at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every file the relay wrote in `dir`, read now.
fn relay_files(dir: &Path, when: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("relay.db") || name == "discovery.key" {
            files.push((
                format!("{name} ({when})"),
                std::fs::read(entry.path()).unwrap(),
            ));
        }
    }
    files
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The demo's evidence (files read while the stopped relay's store was still open, then
/// after it closed, every row, the log) plus the files as this test reads them now.
fn all_evidence(report: &Report, dir: &Path) -> Evidence {
    let mut evidence = report.evidence.clone();
    evidence.files.extend(relay_files(dir, "read by the test"));
    evidence
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_holds_nothing_it_must_not() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let report = run(dir.path(), &mut out).await.unwrap();
    let evidence = all_evidence(&report, dir.path());

    // The evidence is all there: the database with its WAL while open, the files left
    // after it closed, every table, a log line per request.
    let names: Vec<&str> = evidence.files.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "relay.db (store open)",
        "relay.db-wal (store open)",
        "relay.db (store closed)",
        "relay.db (read by the test)",
        "discovery.key (read by the test)",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let table = |name: &str| -> &Table {
        evidence
            .tables
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("table {name}"))
    };
    assert_eq!(table("bundles").rows.len(), 3);
    assert_eq!(table("envelopes").rows.len(), 2, "the unread messages");
    assert_eq!(table("registrations").rows.len(), 3);
    assert!(!table("one_time_keys").rows.is_empty());
    let log = String::from_utf8(evidence.log.clone()).unwrap();
    for route in [
        "/v1/publish",
        "/v1/keys",
        "/v1/count",
        "/v1/claim",
        "/v1/deposit",
        "/v1/fetch",
        "/v1/ack",
        "/v1/stream",
        "/v1/discovery",
        "/v1/register",
        "/v1/lookup",
    ] {
        assert!(log.contains(route), "a log line for {route}");
    }

    // The secrets are all there too: every message, every number with its contact id,
    // every identity, every capability a client fetched with.
    let s = &report.secrets;
    assert_eq!(s.plaintexts.len(), report.sent.len());
    assert_eq!(s.numbers.len(), 6);
    assert_eq!(s.contact_ids.len(), 6);
    assert_eq!(s.identities.len(), 3);
    assert!(s.capabilities.len() > 3, "public and pairwise");

    // Identity keys are in the raw database (inside the published bundles): the check
    // passes because it tells those copies apart, not because it cannot see keys. (The
    // database file with its WAL, if one is left: closing the store does not always
    // checkpoint, depending on which of its connections closes last.)
    let db: Vec<u8> = evidence
        .files
        .iter()
        .filter(|(n, _)| n.starts_with("relay.db") && n.ends_with("(read by the test)"))
        .flat_map(|(_, b)| b.iter().copied())
        .collect();
    assert!(s
        .identities
        .iter()
        .all(|(_, id)| contains(&db, &id.signing) && contains(&db, &id.agreement)));

    let findings = check(&evidence, s);
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(report.findings.is_empty());
}

/// A store that leaks: it keeps every operation of `SqliteStore`, and on each deposit it
/// also writes Bob's phone number into a table of its own (with a second connection to
/// the same file) and logs a message's plaintext, as a relay that learnt them from
/// elsewhere might.
struct Leaky {
    inner: SqliteStore,
    audit: Mutex<rusqlite::Connection>,
}

const LEAKED_NUMBER: &str = "+12025550102";
const LEAKED_TEXT: &str = "Lunch on Friday?";

fn open_leaky(path: &Path) -> Result<Leaky, StoreError> {
    let inner = SqliteStore::open(path)?;
    let backend = |e: rusqlite::Error| StoreError::Backend(e.to_string());
    let audit = rusqlite::Connection::open(path).map_err(backend)?;
    audit
        .busy_timeout(std::time::Duration::from_secs(5))
        .map_err(backend)?;
    audit
        .execute("CREATE TABLE IF NOT EXISTS audit (note TEXT)", [])
        .map_err(backend)?;
    Ok(Leaky {
        inner,
        audit: Mutex::new(audit),
    })
}

impl Store for Leaky {
    fn put_bundle(
        &self,
        owner: Id,
        record: BundleRecord,
        reset_pool: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.put_bundle(owner, record, reset_pool)
    }

    fn get_bundle(
        &self,
        owner: Id,
    ) -> impl Future<Output = Result<Option<BundleRecord>, StoreError>> + Send {
        self.inner.get_bundle(owner)
    }

    fn add_one_time_keys(
        &self,
        owner: Id,
        issued_at: u64,
        x25519: KeyRecords,
        kem: KeyRecords,
    ) -> impl Future<Output = Result<PoolCounts, StoreError>> + Send {
        self.inner.add_one_time_keys(owner, issued_at, x25519, kem)
    }

    fn claim(
        &self,
        owner: Id,
        now: u64,
    ) -> impl Future<Output = Result<Option<Claimed>, StoreError>> + Send {
        self.inner.claim(owner, now)
    }

    fn pool_counts(
        &self,
        owner: Id,
    ) -> impl Future<Output = Result<PoolCounts, StoreError>> + Send {
        self.inner.pool_counts(owner)
    }

    fn delete_owner(&self, owner: Id) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.delete_owner(owner)
    }

    async fn commit(&self, mailbox: Id, envelope: Vec<u8>, now: u64) -> Result<u64, StoreError> {
        self.inner.commit(mailbox, envelope, now).await
    }

    async fn deposit(&self, mailbox: Id, envelope: Vec<u8>, now: u64) -> Result<u64, StoreError> {
        let seq = self.inner.deposit(mailbox, envelope, now).await?;
        self.audit
            .lock()
            .unwrap()
            .execute("INSERT INTO audit (note) VALUES (?1)", [LEAKED_NUMBER])
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        blindrelay_relay::log::line(&format!("deposit: {LEAKED_TEXT}"));
        Ok(seq)
    }

    fn fetch(
        &self,
        mailbox: Id,
        after: u64,
        limit: usize,
        now: u64,
    ) -> impl Future<Output = Result<Vec<Stored>, StoreError>> + Send {
        self.inner.fetch(mailbox, after, limit, now)
    }

    fn ack(&self, mailbox: Id, up_to: u64) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.inner.ack(mailbox, up_to)
    }

    fn sweep(&self, now: u64) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.inner.sweep(now)
    }

    fn register(
        &self,
        owner: Id,
        generation: u32,
        bucket: u32,
        entry: Entry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.register(owner, generation, bucket, entry)
    }

    fn deregister(&self, owner: Id) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.inner.deregister(owner)
    }

    fn bucket(
        &self,
        generation: u32,
        bucket: u32,
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send {
        self.inner.bucket(generation, bucket)
    }

    fn drop_generations_before(
        &self,
        generation: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.inner.drop_generations_before(generation)
    }

    fn dump(&self) -> impl Future<Output = Result<Vec<Table>, StoreError>> + Send {
        self.inner.dump()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaky_store_is_caught() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let report = run_with(dir.path(), &mut out, open_leaky).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    let evidence = all_evidence(&report, dir.path());
    let findings = check(&evidence, &report.secrets);
    let found = |leak: Leak, secret: &str, place: &str| {
        findings
            .iter()
            .any(|f| f.leak == leak && f.secret.contains(secret) && f.place.contains(place))
    };
    // The number, in the extra table's rows and in the raw files; the plaintext, in the log.
    assert!(
        found(
            Leak::PhoneNumber,
            "+12025550102 (E.164)",
            "table audit, column note"
        ),
        "{findings:#?}"
    );
    assert!(
        found(
            Leak::PhoneNumber,
            "+12025550102",
            "file relay.db (read by the test)"
        ),
        "{findings:#?}"
    );
    assert!(
        found(Leak::Plaintext, LEAKED_TEXT, "relay log (first at line"),
        "{findings:#?}"
    );
    assert!(findings
        .iter()
        .all(|f| matches!(f.leak, Leak::PhoneNumber | Leak::Plaintext)));
    // The demo itself reports it.
    assert!(!report.findings.is_empty());
    assert!(
        out.contains("relay-view check: FAILED: phone number"),
        "{out}"
    );
}

/// The check on hand-made evidence: each kind of leak is found, and what is allowed (an
/// identity key inside a published bundle, a match tag, an envelope's own mailbox) is not.
#[test]
fn the_check_flags_each_kind_of_leak() {
    use rand_core::OsRng;
    let alice = *IdentityKeyPair::generate(&mut OsRng).public();
    let bob = *IdentityKeyPair::generate(&mut OsRng).public();
    let (alice_mailbox, bob_mailbox) = ([0xa1; 32], [0xb0; 32]);
    let mut contact_id = [0u8; 32];
    for (i, b) in contact_id.iter_mut().enumerate() {
        *b = u8::try_from(i).unwrap().wrapping_mul(37).wrapping_add(11);
    }
    let capability = [0xcc; 32];
    let secrets = Secrets {
        plaintexts: vec!["meet me at noon".into()],
        numbers: vec!["+1 (202) 555-0101".into()],
        contact_ids: vec![("+1 (202) 555-0101".into(), contact_id)],
        identities: vec![("Alice".into(), alice), ("Bob".into(), bob)],
        public_mailboxes: vec![("Alice".into(), alice_mailbox), ("Bob".into(), bob_mailbox)],
        capabilities: vec![capability],
    };
    // A published bundle: Alice's identity keys with their surroundings.
    let bundle = [&[1u8; 20][..], &alice.signing, &alice.agreement, &[2u8; 20]].concat();
    let table = |name: &str, columns: &[&str], rows: Vec<Vec<Value>>| Table {
        name: name.into(),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        rows,
    };
    let clean = Evidence {
        files: vec![(
            "relay.db".into(),
            [
                &[0u8; 100][..],
                &bundle,
                &[0u8; 7],
                &contact_id[16..],
                &bob_mailbox,
            ]
            .concat(),
        )],
        tables: vec![
            table(
                "bundles",
                &["owner", "publication"],
                vec![vec![
                    Value::Bytes(alice_mailbox.to_vec()),
                    Value::Bytes(bundle.clone()),
                ]],
            ),
            table(
                "envelopes",
                &["mailbox", "envelope"],
                vec![vec![
                    Value::Bytes(bob_mailbox.to_vec()),
                    Value::Bytes([&[1u8, 4][..], &bob_mailbox, &[9u8; 300]].concat()),
                ]],
            ),
            table(
                "registrations",
                &["tag", "bucket"],
                vec![vec![
                    Value::Bytes(contact_id[16..].to_vec()),
                    Value::Int(1234),
                ]],
            ),
        ],
        log: b"POST /v1/deposit 204 code=0 812us\n".to_vec(),
    };
    assert_eq!(check(&clean, &secrets), []);

    type Mutation = Box<dyn Fn(&mut Evidence)>;
    let leaks: Vec<(Leak, Mutation)> = vec![
        (
            Leak::Plaintext,
            Box::new(|e| e.log.extend_from_slice(b"deposit meet me at noon\n")),
        ),
        (
            Leak::PhoneNumber,
            Box::new(|e| e.files[0].1.extend_from_slice(b"call 12025550101")),
        ),
        (
            Leak::PhoneNumber,
            Box::new(|e| e.tables[2].rows[0][1] = Value::Int(12_025_550_101)),
        ),
        (
            Leak::ContactId,
            Box::new(move |e| e.files[0].1.extend_from_slice(&contact_id[..16])),
        ),
        (
            // A bare identity key in the file, outside any bundle's bytes.
            Leak::IdentityKey,
            Box::new(move |e| {
                e.files[0].1.extend_from_slice(&[3u8; 20]);
                e.files[0].1.extend_from_slice(&alice.agreement);
            }),
        ),
        (
            Leak::IdentityKey,
            Box::new(move |e| e.tables[2].rows[0][0] = Value::Bytes(bob.signing.to_vec())),
        ),
        (
            // An envelope to Bob carrying Alice's public mailbox: it names its sender.
            Leak::Sender,
            Box::new(move |e| {
                e.tables[1].rows[0][1] = Value::Bytes(
                    [&[1u8, 4][..], &bob_mailbox, &[9u8; 10], &alice_mailbox].concat(),
                );
            }),
        ),
        (
            Leak::ReadCapability,
            Box::new(|e| {
                e.log
                    .extend_from_slice(format!("fetch {}\n", "cc".repeat(32)).as_bytes());
            }),
        ),
    ];
    for (leak, make) in leaks {
        let mut evidence = clean.clone();
        make(&mut evidence);
        let findings = check(&evidence, &secrets);
        assert!(
            findings.iter().any(|f| f.leak == leak),
            "{leak}: {findings:#?}"
        );
    }
}
