//! The storage contract (the `Store` trait's documentation) as behaviour, written once as
//! generic checks and run against every backend: SQLite on a file, SQLite in memory, and
//! Postgres when `BLINDRELAY_TEST_POSTGRES` holds a connection URL (each test in its own
//! schema; without the variable the Postgres tests say they were skipped and pass).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    missing_docs
)]

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use blindrelay_relay::limits;
use blindrelay_relay::store::postgres::PostgresStore;
use blindrelay_relay::store::sqlite::{Limits, SqliteStore};
use blindrelay_relay::store::{
    BundleRecord, Entry, Id, KeyKind, PoolCounts, Store, StoreError, Stored, Table, Value,
};

/// A time far from zero and from the limits of `i64`.
const T0: u64 = 1_700_000_000;
const R: u64 = limits::ENVELOPE_RETENTION_SECS;
/// Salt generations (spec §9.6): the reference relay's `ch1` one, and the next.
const G1: u32 = 1;
const G2: u32 = 2;

fn id(n: u8) -> Id {
    let mut id = [0xA0; 32];
    id[0] = n;
    id
}

fn bundle(issued_at: u64, expires_at: u64, label: &str) -> BundleRecord {
    BundleRecord {
        issued_at,
        expires_at,
        bytes: format!("publication {label}").into_bytes(),
    }
}

fn keys(ids: impl IntoIterator<Item = u32>, prefix: &str) -> Vec<(u32, Vec<u8>)> {
    ids.into_iter()
        .map(|i| (i, format!("{prefix}{i}").into_bytes()))
        .collect()
}

fn envelope(mailbox: u8, n: u64) -> Vec<u8> {
    format!("envelope {mailbox}/{n} ").repeat(3).into_bytes()
}

fn seqs(stored: &[Stored]) -> Vec<u64> {
    stored.iter().map(|s| s.seq).collect()
}

/// Adds keys of one kind, verified (as the relay does) against the current publication.
async fn add<S: Store>(
    s: &S,
    owner: Id,
    kind: KeyKind,
    keys: Vec<(u32, Vec<u8>)>,
) -> Result<PoolCounts, StoreError> {
    let issued_at = s
        .get_bundle(owner)
        .await
        .unwrap()
        .map_or(0, |b| b.issued_at);
    match kind {
        KeyKind::X25519 => s.add_one_time_keys(owner, issued_at, keys, vec![]).await,
        KeyKind::Kem => s.add_one_time_keys(owner, issued_at, vec![], keys).await,
    }
}

fn counts(x25519: u64, kem: u64) -> PoolCounts {
    PoolCounts { x25519, kem }
}

fn table<'a>(tables: &'a [Table], name: &str) -> &'a Table {
    tables
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("dump has no table {name}"))
}

fn column(table: &Table, name: &str) -> usize {
    table
        .columns
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("table {} has no column {name}", table.name))
}

/// Whether `bytes` appears as a byte value anywhere in the dump.
fn dump_holds(tables: &[Table], bytes: &[u8]) -> bool {
    tables
        .iter()
        .flat_map(|t| t.rows.iter().flatten())
        .any(|v| *v == Value::Bytes(bytes.to_vec()))
}

fn small_mailbox_count() -> Limits {
    Limits {
        mailbox_envelopes: 3,
        ..Limits::default()
    }
}

fn small_mailbox_bytes() -> Limits {
    Limits {
        mailbox_bytes: 1000,
        ..Limits::default()
    }
}

fn three_per_bucket() -> Limits {
    Limits {
        bucket_entries: 3,
        ..Limits::default()
    }
}

fn ten_envelopes() -> Limits {
    Limits {
        mailbox_envelopes: 10,
        ..Limits::default()
    }
}

// ---- Bundles and one-time keys ----

async fn check_bundle_publish_replace_stale<S: Store>(s: &Arc<S>) {
    let (a, b) = (id(1), id(2));
    assert_eq!(s.get_bundle(a).await.unwrap(), None);
    let v1 = bundle(T0, T0 + 1000, "v1");
    s.put_bundle(a, v1.clone(), false).await.unwrap();
    assert_eq!(s.get_bundle(a).await.unwrap(), Some(v1.clone()));

    // Not newer: refused, nothing changes.
    assert_eq!(
        s.put_bundle(a, bundle(T0, T0 + 5000, "same time"), false)
            .await,
        Err(StoreError::Stale)
    );
    assert_eq!(
        s.put_bundle(a, bundle(T0 - 1, T0 + 5000, "older"), true)
            .await,
        Err(StoreError::Stale)
    );
    assert_eq!(s.get_bundle(a).await.unwrap(), Some(v1));

    let v2 = bundle(T0 + 1, T0 + 2000, "v2");
    s.put_bundle(a, v2.clone(), false).await.unwrap();
    assert_eq!(s.get_bundle(a).await.unwrap(), Some(v2));
    assert_eq!(s.get_bundle(b).await.unwrap(), None);
}

async fn check_reset_pool<S: Store>(s: &Arc<S>) {
    let a = id(1);
    s.put_bundle(a, bundle(T0, T0 + 1000, "v1"), false)
        .await
        .unwrap();
    add(s.as_ref(), a, KeyKind::X25519, keys(1..=3, "x"))
        .await
        .unwrap();
    let after = add(s.as_ref(), a, KeyKind::Kem, keys(1..=2, "k"))
        .await
        .unwrap();
    assert_eq!(after, counts(3, 2));

    // Same identity: the pool stays.
    s.put_bundle(a, bundle(T0 + 1, T0 + 1000, "v2"), false)
        .await
        .unwrap();
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(3, 2));

    // A refused publication does not reset the pool either.
    assert_eq!(
        s.put_bundle(a, bundle(T0 + 1, T0 + 1000, "stale"), true)
            .await,
        Err(StoreError::Stale)
    );
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(3, 2));

    // New identity: the pool goes in the same operation.
    let v3 = bundle(T0 + 2, T0 + 1000, "v3");
    s.put_bundle(a, v3.clone(), true).await.unwrap();
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(0, 0));
    let claimed = s.claim(a, T0).await.unwrap().unwrap();
    assert_eq!(claimed.bundle, v3);
    assert_eq!((claimed.x25519, claimed.kem), (None, None));
}

async fn check_no_bundle<S: Store>(s: &Arc<S>) {
    let a = id(1);
    assert_eq!(
        add(s.as_ref(), a, KeyKind::X25519, keys(1..=2, "x")).await,
        Err(StoreError::NoBundle)
    );
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(0, 0));
    assert_eq!(s.claim(a, T0).await.unwrap(), None);
    assert!(!s.delete_owner(a).await.unwrap());
}

async fn check_claim_oldest_first_then_last_resort<S: Store>(s: &Arc<S>) {
    let a = id(1);
    let pub_a = bundle(T0, T0 + 1000, "a");
    s.put_bundle(a, pub_a.clone(), false).await.unwrap();
    // Upload order, not id order, decides: ids 3, 1, 2 then 0 in a later upload.
    add(s.as_ref(), a, KeyKind::X25519, keys([3, 1, 2], "x"))
        .await
        .unwrap();
    add(s.as_ref(), a, KeyKind::X25519, keys([0], "x"))
        .await
        .unwrap();
    let after = add(s.as_ref(), a, KeyKind::Kem, keys([9, 8], "k"))
        .await
        .unwrap();
    assert_eq!(after, counts(4, 2));

    let mut got = Vec::new();
    for _ in 0..5 {
        let c = s.claim(a, T0).await.unwrap().unwrap();
        assert_eq!(c.bundle, pub_a);
        got.push((
            c.x25519.map(|k| String::from_utf8(k).unwrap()),
            c.kem.map(|k| String::from_utf8(k).unwrap()),
        ));
    }
    let expected = [
        (Some("x3"), Some("k9")),
        (Some("x1"), Some("k8")),
        (Some("x2"), None),
        (Some("x0"), None),
        (None, None),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(x, k)| (x.map(String::from), k.map(String::from)))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(0, 0));

    // Empty pools: the bundle alone, again and again (last resort).
    for _ in 0..3 {
        let c = s.claim(a, T0).await.unwrap().unwrap();
        assert_eq!((c.bundle, c.x25519, c.kem), (pub_a.clone(), None, None));
    }

    // A re-uploaded id replaces the key.
    add(s.as_ref(), a, KeyKind::X25519, vec![(7, b"old".to_vec())])
        .await
        .unwrap();
    let after = add(s.as_ref(), a, KeyKind::X25519, vec![(7, b"new".to_vec())])
        .await
        .unwrap();
    assert_eq!(after, counts(1, 0));
    let c = s.claim(a, T0).await.unwrap().unwrap();
    assert_eq!(c.x25519, Some(b"new".to_vec()));

    // The same id twice in one upload: the last one counts.
    let after = add(
        s.as_ref(),
        a,
        KeyKind::Kem,
        vec![(5, b"one".to_vec()), (5, b"two".to_vec())],
    )
    .await
    .unwrap();
    assert_eq!(after, counts(0, 1));
    assert_eq!(
        s.claim(a, T0).await.unwrap().unwrap().kem,
        Some(b"two".to_vec())
    );
}

async fn check_pool_full_all_or_nothing<S: Store>(s: &Arc<S>) {
    let a = id(1);
    let max = u32::try_from(limits::MAX_ONE_TIME_KEYS).unwrap();
    s.put_bundle(a, bundle(T0, T0 + 1000, "a"), false)
        .await
        .unwrap();
    assert_eq!(
        add(s.as_ref(), a, KeyKind::X25519, keys(0..=max, "x")).await,
        Err(StoreError::PoolFull),
        "one upload beyond the maximum"
    );
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(0, 0));

    add(s.as_ref(), a, KeyKind::X25519, keys(0..600, "x"))
        .await
        .unwrap();
    assert_eq!(
        add(s.as_ref(), a, KeyKind::X25519, keys(600..=max, "x")).await,
        Err(StoreError::PoolFull),
        "two uploads beyond the maximum"
    );
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(600, 0));
    let full = add(s.as_ref(), a, KeyKind::X25519, keys(600..max, "x"))
        .await
        .unwrap();
    assert_eq!(full, counts(u64::from(max), 0));
    assert_eq!(
        add(s.as_ref(), a, KeyKind::X25519, keys([max + 5], "x")).await,
        Err(StoreError::PoolFull)
    );
    // Replacing keys does not grow the pool; the other kind has its own maximum.
    assert_eq!(
        add(s.as_ref(), a, KeyKind::X25519, keys(0..10, "y"))
            .await
            .unwrap(),
        counts(u64::from(max), 0)
    );
    assert_eq!(
        add(s.as_ref(), a, KeyKind::Kem, keys(0..10, "k"))
            .await
            .unwrap(),
        counts(u64::from(max), 10)
    );
    // One claimed key frees one place.
    s.claim(a, T0).await.unwrap().unwrap();
    add(s.as_ref(), a, KeyKind::X25519, keys([max + 5], "x"))
        .await
        .unwrap();
}

async fn check_keys_only_for_the_publication_they_were_verified_against<S: Store>(s: &Arc<S>) {
    let a = id(1);
    s.put_bundle(a, bundle(T0, T0 + 1000, "v1"), false)
        .await
        .unwrap();
    // The relay verified these keys against v1; v2 (a new identity) replaced it meanwhile.
    s.put_bundle(a, bundle(T0 + 1, T0 + 1000, "v2"), true)
        .await
        .unwrap();
    assert_eq!(
        s.add_one_time_keys(a, T0, keys(1..=3, "x"), keys(1..=3, "k"))
            .await,
        Err(StoreError::NoBundle)
    );
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(0, 0));
    assert_eq!(
        s.add_one_time_keys(a, T0 + 1, keys(1..=3, "x"), keys(1..=2, "k"))
            .await
            .unwrap(),
        counts(3, 2)
    );
}

async fn check_upload_of_both_kinds_is_all_or_nothing<S: Store>(s: &Arc<S>) {
    let a = id(1);
    let max = u32::try_from(limits::MAX_ONE_TIME_KEYS).unwrap();
    s.put_bundle(a, bundle(T0, T0 + 1000, "v1"), false)
        .await
        .unwrap();
    add(s.as_ref(), a, KeyKind::Kem, keys(0..max, "k"))
        .await
        .unwrap();
    // The X25519 half fits, the ML-KEM half does not: neither is stored.
    assert_eq!(
        s.add_one_time_keys(a, T0, keys(0..5, "x"), keys([max], "k"))
            .await,
        Err(StoreError::PoolFull)
    );
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(0, u64::from(max)));
}

async fn check_expired_bundle_not_claimable<S: Store>(s: &Arc<S>) {
    let a = id(1);
    let rec = bundle(T0, T0 + 100, "a");
    s.put_bundle(a, rec.clone(), false).await.unwrap();
    add(s.as_ref(), a, KeyKind::X25519, keys(1..=2, "x"))
        .await
        .unwrap();
    // Valid until its expiry second (spec §12.4: `now >= expires_at` is NoBundle).
    let c = s.claim(a, T0 + 99).await.unwrap().unwrap();
    assert_eq!(c.x25519, Some(b"x1".to_vec()));
    assert_eq!(s.claim(a, T0 + 100).await.unwrap(), None);
    assert_eq!(s.claim(a, T0 + 101).await.unwrap(), None);
    // The refused claim took nothing; the expired bundle is still readable.
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(1, 0));
    assert_eq!(s.get_bundle(a).await.unwrap(), Some(rec));
}

async fn check_concurrent_claims_hand_out_each_key_once<S: Store>(s: &Arc<S>) {
    let a = id(1);
    s.put_bundle(a, bundle(T0, T0 + 1000, "a"), false)
        .await
        .unwrap();
    add(s.as_ref(), a, KeyKind::X25519, keys(0..20, "x"))
        .await
        .unwrap();
    add(s.as_ref(), a, KeyKind::Kem, keys(0..24, "k"))
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let s = Arc::clone(s);
        tasks.spawn(async move { s.claim(a, T0).await });
    }
    let mut claimed = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        claimed.push(joined.unwrap().unwrap().expect("bundle is published"));
    }
    // Drain what the concurrent round may have left (a backend may skip locked keys).
    loop {
        let c = s.claim(a, T0).await.unwrap().unwrap();
        if c.x25519.is_none() && c.kem.is_none() {
            break;
        }
        claimed.push(c);
    }
    let x: Vec<Vec<u8>> = claimed.iter().filter_map(|c| c.x25519.clone()).collect();
    let k: Vec<Vec<u8>> = claimed.iter().filter_map(|c| c.kem.clone()).collect();
    assert_eq!(x.len(), 20, "every x25519 key handed out");
    assert_eq!(k.len(), 24, "every kem key handed out");
    assert_eq!(
        x.iter().collect::<HashSet<_>>().len(),
        20,
        "no x25519 key twice"
    );
    assert_eq!(
        k.iter().collect::<HashSet<_>>().len(),
        24,
        "no kem key twice"
    );
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(0, 0));
}

async fn check_delete_owner<S: Store>(s: &Arc<S>) {
    let (a, b) = (id(1), id(2));
    for o in [a, b] {
        s.put_bundle(o, bundle(T0, T0 + 1000, "p"), false)
            .await
            .unwrap();
        add(s.as_ref(), o, KeyKind::Kem, keys(0..3, "k"))
            .await
            .unwrap();
        s.register(
            o,
            G1,
            5,
            Entry {
                tag: [o[0]; 16],
                record: b"r".to_vec(),
            },
        )
        .await
        .unwrap();
    }
    assert!(s.delete_owner(a).await.unwrap());
    assert_eq!(s.get_bundle(a).await.unwrap(), None);
    assert_eq!(s.pool_counts(a).await.unwrap(), counts(0, 0));
    assert_eq!(s.bucket(G1, 5).await.unwrap().len(), 1);
    assert!(!s.delete_owner(a).await.unwrap());
    // The other owner is untouched.
    assert_eq!(s.pool_counts(b).await.unwrap(), counts(0, 3));
    assert!(s.get_bundle(b).await.unwrap().is_some());
    // After deletion any issue time is accepted again.
    s.put_bundle(a, bundle(T0 - 100, T0 + 1000, "again"), false)
        .await
        .unwrap();
}

// ---- Mailboxes ----

async fn check_deposit_seq_per_mailbox<S: Store>(s: &Arc<S>) {
    let (m1, m2) = (id(1), id(2));
    assert_eq!(s.deposit(m1, envelope(1, 1), T0).await.unwrap(), 1);
    assert_eq!(s.deposit(m1, envelope(1, 2), T0).await.unwrap(), 2);
    assert_eq!(s.deposit(m2, envelope(2, 1), T0).await.unwrap(), 1);
    assert_eq!(s.deposit(m1, envelope(1, 3), T0).await.unwrap(), 3);
    assert_eq!(s.deposit(m2, envelope(2, 2), T0).await.unwrap(), 2);
    // Empty envelopes are the HTTP layer's business; the store keeps what it is given.
    assert_eq!(s.deposit(m1, Vec::new(), T0).await.unwrap(), 4);
    let got = s.fetch(m1, 0, 100, T0).await.unwrap();
    assert_eq!(seqs(&got), [1, 2, 3, 4]);
    assert_eq!(got[0].envelope, envelope(1, 1));
    assert_eq!(got[2].envelope, envelope(1, 3));
    assert!(got[3].envelope.is_empty());
    let got = s.fetch(m2, 0, 100, T0).await.unwrap();
    assert_eq!(seqs(&got), [1, 2]);
    assert_eq!(got[1].envelope, envelope(2, 2));
}

async fn check_fetch_after_limit_order<S: Store>(s: &Arc<S>) {
    let m = id(1);
    for n in 1..=10 {
        assert_eq!(s.deposit(m, envelope(1, n), T0 + n).await.unwrap(), n);
    }
    let got = s.fetch(m, 3, 4, T0).await.unwrap();
    assert_eq!(seqs(&got), [4, 5, 6, 7]);
    assert_eq!(got[0].envelope, envelope(1, 4));
    assert_eq!(seqs(&s.fetch(m, 7, 100, T0).await.unwrap()), [8, 9, 10]);
    assert!(s.fetch(m, 10, 100, T0).await.unwrap().is_empty());
    assert!(s.fetch(m, u64::MAX, 100, T0).await.unwrap().is_empty());
    assert!(s.fetch(m, 0, 0, T0).await.unwrap().is_empty());
    assert!(s.fetch(id(2), 0, 100, T0).await.unwrap().is_empty());
    assert_eq!(
        seqs(&s.fetch(m, 0, usize::MAX, T0).await.unwrap()),
        (1..=10).collect::<Vec<_>>()
    );
    // Fetching does not consume.
    assert_eq!(s.fetch(m, 0, 100, T0).await.unwrap().len(), 10);
    // Expired envelopes are not returned, even before a sweep: envelope n expires at
    // T0 + n + R (and is expired from that second on).
    assert_eq!(
        seqs(&s.fetch(m, 0, 100, T0 + 3 + R - 1).await.unwrap()),
        [3, 4, 5, 6, 7, 8, 9, 10]
    );
    assert_eq!(
        seqs(&s.fetch(m, 0, 100, T0 + 3 + R).await.unwrap()),
        [4, 5, 6, 7, 8, 9, 10]
    );
    assert_eq!(
        seqs(&s.fetch(m, 5, 2, T0 + 6 + R).await.unwrap()),
        [7, 8],
        "after, limit and expiry together"
    );
}

async fn check_ack_removes_up_to<S: Store>(s: &Arc<S>) {
    let (m, other) = (id(1), id(2));
    for n in 1..=5 {
        s.deposit(m, envelope(1, n), T0).await.unwrap();
    }
    s.deposit(other, envelope(2, 1), T0).await.unwrap();
    assert_eq!(s.ack(m, 3).await.unwrap(), 3);
    assert_eq!(seqs(&s.fetch(m, 0, 100, T0).await.unwrap()), [4, 5]);
    assert_eq!(s.ack(m, 3).await.unwrap(), 0, "acked envelopes are gone");
    assert_eq!(s.ack(m, 0).await.unwrap(), 0);
    // Seqs are never reused.
    assert_eq!(s.deposit(m, envelope(1, 6), T0).await.unwrap(), 6);
    assert_eq!(s.ack(m, u64::MAX).await.unwrap(), 3);
    assert!(s.fetch(m, 0, 100, T0).await.unwrap().is_empty());
    assert_eq!(s.deposit(m, envelope(1, 7), T0).await.unwrap(), 7);
    assert_eq!(seqs(&s.fetch(m, 0, 100, T0).await.unwrap()), [7]);
    // Other mailboxes are untouched; unknown ones ack nothing.
    assert_eq!(seqs(&s.fetch(other, 0, 100, T0).await.unwrap()), [1]);
    assert_eq!(s.ack(id(3), 100).await.unwrap(), 0);
    // The acked bytes are nowhere in the store.
    let dump = s.dump().await.unwrap();
    for n in 1..=6 {
        assert!(
            !dump_holds(&dump, &envelope(1, n)),
            "envelope {n} still stored"
        );
    }
    assert!(dump_holds(&dump, &envelope(1, 7)));
}

/// Runs with [`small_mailbox_count`]: 3 envelopes per mailbox.
async fn check_quota_envelope_count<S: Store>(s: &Arc<S>) {
    let (m, other) = (id(1), id(2));
    for n in 1..=3 {
        assert_eq!(s.deposit(m, envelope(1, n), T0).await.unwrap(), n);
    }
    assert_eq!(
        s.deposit(m, b"refused".to_vec(), T0).await,
        Err(StoreError::MailboxFull)
    );
    assert_eq!(seqs(&s.fetch(m, 0, 100, T0).await.unwrap()), [1, 2, 3]);
    assert!(!dump_holds(&s.dump().await.unwrap(), b"refused"));
    // Another mailbox has its own quota.
    assert_eq!(s.deposit(other, envelope(2, 1), T0).await.unwrap(), 1);
    // Space freed by an ack is usable again; the refusal did not consume a seq.
    assert_eq!(s.ack(m, 1).await.unwrap(), 1);
    assert_eq!(s.deposit(m, envelope(1, 4), T0).await.unwrap(), 4);
    assert_eq!(
        s.deposit(m, envelope(1, 5), T0).await,
        Err(StoreError::MailboxFull)
    );
    assert_eq!(s.ack(m, 100).await.unwrap(), 3);
    for n in 5..=7 {
        assert_eq!(s.deposit(m, envelope(1, n), T0).await.unwrap(), n);
    }
    assert_eq!(
        s.deposit(m, envelope(1, 8), T0).await,
        Err(StoreError::MailboxFull)
    );
}

/// Runs with [`small_mailbox_bytes`]: 1000 bytes per mailbox.
async fn check_quota_bytes<S: Store>(s: &Arc<S>) {
    let (m, other) = (id(1), id(2));
    assert_eq!(
        s.deposit(other, vec![7; 1001], T0).await,
        Err(StoreError::MailboxFull),
        "one envelope over the quota"
    );
    assert!(s.fetch(other, 0, 10, T0).await.unwrap().is_empty());
    assert_eq!(s.deposit(other, vec![7; 10], T0).await.unwrap(), 1);

    assert_eq!(s.deposit(m, vec![1; 600], T0).await.unwrap(), 1);
    assert_eq!(
        s.deposit(m, vec![2; 401], T0).await,
        Err(StoreError::MailboxFull)
    );
    assert_eq!(
        s.deposit(m, vec![3; 400], T0).await.unwrap(),
        2,
        "exactly full"
    );
    assert_eq!(
        s.deposit(m, vec![4; 1], T0).await,
        Err(StoreError::MailboxFull)
    );
    let got = s.fetch(m, 0, 10, T0).await.unwrap();
    assert_eq!(seqs(&got), [1, 2]);
    assert_eq!(got[1].envelope, vec![3; 400]);
    assert_eq!(s.ack(m, 1).await.unwrap(), 1);
    assert_eq!(s.deposit(m, vec![5; 600], T0).await.unwrap(), 3);
    assert_eq!(
        s.deposit(m, vec![6; 1], T0).await,
        Err(StoreError::MailboxFull)
    );
}

/// Runs with [`ten_envelopes`]: concurrent deposits never exceed the quota, refusals in
/// the same batch as accepted deposits change nothing, seqs stay dense.
async fn check_concurrent_deposits<S: Store>(s: &Arc<S>) {
    let (m, other) = (id(1), id(2));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..40_u64 {
        let s = Arc::clone(s);
        let target = if n % 4 == 0 { other } else { m };
        tasks.spawn(async move { (target, s.deposit(target, envelope(target[0], n), T0).await) });
    }
    let (mut ok_m, mut ok_other, mut full) = (Vec::new(), Vec::new(), 0);
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (t, Ok(seq)) if t == m => ok_m.push(seq),
            (_, Ok(seq)) => ok_other.push(seq),
            (_, Err(StoreError::MailboxFull)) => full += 1,
            (_, Err(e)) => panic!("unexpected {e}"),
        }
    }
    ok_m.sort_unstable();
    ok_other.sort_unstable();
    assert_eq!(ok_m, (1..=10).collect::<Vec<_>>());
    assert_eq!(ok_other, (1..=10).collect::<Vec<_>>());
    assert_eq!(full, 20);
    assert_eq!(s.fetch(m, 0, 100, T0).await.unwrap().len(), 10);
    assert_eq!(s.fetch(other, 0, 100, T0).await.unwrap().len(), 10);
}

// ---- Retention ----

async fn check_sweep<S: Store>(s: &Arc<S>) {
    let (old_owner, fresh_owner) = (id(1), id(2));
    let (m, n) = (id(3), id(4));
    s.put_bundle(old_owner, bundle(T0, T0 + 100, "old"), false)
        .await
        .unwrap();
    add(s.as_ref(), old_owner, KeyKind::X25519, keys(0..2, "x"))
        .await
        .unwrap();
    s.put_bundle(fresh_owner, bundle(T0, T0 + 10 * R, "fresh"), false)
        .await
        .unwrap();
    add(s.as_ref(), fresh_owner, KeyKind::Kem, keys(0..2, "k"))
        .await
        .unwrap();
    let e1 = envelope(3, 1);
    let e2 = envelope(3, 2);
    s.deposit(m, e1.clone(), T0).await.unwrap(); // expires T0 + R
    s.deposit(m, e2.clone(), T0 + 50).await.unwrap(); // expires T0 + 50 + R
    s.deposit(n, envelope(4, 1), T0 + 50).await.unwrap();

    // No envelope is expired yet one second before T0 + R: only the old bundle and its
    // keys go.
    assert_eq!(s.sweep(T0 + R - 1).await.unwrap(), 3);
    assert_eq!(s.get_bundle(old_owner).await.unwrap(), None);
    assert_eq!(s.pool_counts(old_owner).await.unwrap(), counts(0, 0));
    assert_eq!(s.pool_counts(fresh_owner).await.unwrap(), counts(0, 2));
    assert_eq!(seqs(&s.fetch(m, 0, 10, T0 + R - 1).await.unwrap()), [1, 2]);

    // At T0 + R e1 is expired: swept, and the mailbox's counters follow.
    assert_eq!(s.sweep(T0 + R).await.unwrap(), 1);
    assert_eq!(seqs(&s.fetch(m, 0, 10, T0).await.unwrap()), [2]);
    let dump = s.dump().await.unwrap();
    assert!(!dump_holds(&dump, &e1));
    let mailboxes = table(&dump, "mailboxes");
    let (key, count, bytes) = (
        column(mailboxes, "mailbox"),
        column(mailboxes, "envelopes"),
        column(mailboxes, "bytes"),
    );
    let row = mailboxes
        .rows
        .iter()
        .find(|r| r[key] == Value::Bytes(m.to_vec()))
        .expect("mailbox row");
    assert_eq!(row[count], Value::Int(1));
    assert_eq!(row[bytes], Value::Int(i64::try_from(e2.len()).unwrap()));

    // At T0 + 50 + R the rest expires, and both mailboxes are empty and idle for R:
    // forgotten.
    assert_eq!(s.sweep(T0 + 50 + R - 1).await.unwrap(), 0);
    assert_eq!(s.sweep(T0 + 50 + R).await.unwrap(), 4);
    assert!(s.fetch(m, 0, 10, T0).await.unwrap().is_empty());
    assert!(s.fetch(n, 0, 10, T0).await.unwrap().is_empty());
    assert!(table(&s.dump().await.unwrap(), "mailboxes").rows.is_empty());
    assert!(s.get_bundle(fresh_owner).await.unwrap().is_some());
    assert_eq!(s.sweep(T0 + 50 + R + 1).await.unwrap(), 0);
    // A forgotten mailbox starts again.
    assert_eq!(s.deposit(m, envelope(3, 3), T0 + 2 * R).await.unwrap(), 1);
}

async fn check_sweep_keeps_busy_mailboxes<S: Store>(s: &Arc<S>) {
    let m = id(1);
    s.deposit(m, envelope(1, 1), T0).await.unwrap();
    s.ack(m, 1).await.unwrap();
    // Empty but its last deposit is younger than R: kept (and its seq continues).
    assert_eq!(s.sweep(T0 + R - 1).await.unwrap(), 0);
    assert_eq!(s.deposit(m, envelope(1, 2), T0 + R - 1).await.unwrap(), 2);
    // Not empty: kept while its envelope is unexpired.
    assert_eq!(s.sweep(T0 + 2 * R - 2).await.unwrap(), 0);
    assert_eq!(seqs(&s.fetch(m, 0, 10, T0 + 2 * R - 2).await.unwrap()), [2]);
    // Then the envelope and the idle mailbox go together.
    assert_eq!(s.sweep(T0 + 2 * R - 1).await.unwrap(), 2);
}

// ---- Contact discovery ----

fn entry(tag: u8, record: &str) -> Entry {
    Entry {
        tag: [tag; 16],
        record: record.as_bytes().to_vec(),
    }
}

async fn check_registrations<S: Store>(s: &Arc<S>) {
    let (a, b) = (id(1), id(2));
    for t in [0x40, 0x10, 0x30, 0x20] {
        s.register(a, G1, 7, entry(t, "a")).await.unwrap();
    }
    assert_eq!(
        s.register(a, G1, 7, entry(0x50, "a")).await,
        Err(StoreError::TooManyRegistrations)
    );
    assert_eq!(
        s.register(a, G1, 9, entry(0x50, "a")).await,
        Err(StoreError::TooManyRegistrations),
        "the maximum is per owner, not per bucket"
    );
    // Same tag again: replaced in place (new bucket, new record), not counted twice.
    s.register(a, G1, 8, entry(0x20, "a2")).await.unwrap();
    s.register(b, G1, 7, entry(0x30, "0-b sorts before a"))
        .await
        .unwrap();
    s.register(b, G1, 7, entry(0x05, "b")).await.unwrap();

    let bucket7 = s.bucket(G1, 7).await.unwrap();
    assert_eq!(
        bucket7,
        vec![
            entry(0x05, "b"),
            entry(0x10, "a"),
            entry(0x30, "0-b sorts before a"),
            entry(0x30, "a"),
            entry(0x40, "a"),
        ]
    );
    assert_eq!(s.bucket(G1, 8).await.unwrap(), vec![entry(0x20, "a2")]);
    assert!(s.bucket(G1, 9).await.unwrap().is_empty());

    assert_eq!(s.deregister(a).await.unwrap(), 4);
    assert_eq!(s.deregister(a).await.unwrap(), 0);
    assert_eq!(
        s.bucket(G1, 7).await.unwrap(),
        vec![entry(0x05, "b"), entry(0x30, "0-b sorts before a")]
    );
    assert!(s.bucket(G1, 8).await.unwrap().is_empty());
    // Room again after deregistering.
    for t in 1..=4 {
        s.register(a, G1, u32::MAX, entry(t, "again"))
            .await
            .unwrap();
    }
    assert_eq!(s.bucket(G1, u32::MAX).await.unwrap().len(), 4);
}

// ---- Dump ----

async fn check_a_full_bucket_refuses_registrations_not_lookups<S: Store>(s: &Arc<S>) {
    // Limit 3 entries per bucket (see `three_per_bucket`).
    for owner in 1..=3u8 {
        s.register(id(owner), G1, 7, entry(owner, "r"))
            .await
            .unwrap();
    }
    assert_eq!(
        s.register(id(4), G1, 7, entry(4, "r")).await,
        Err(StoreError::BucketFull)
    );
    // Nothing stored; the bucket still answers, and other buckets are open.
    assert_eq!(s.bucket(G1, 7).await.unwrap().len(), 3);
    s.register(id(4), G1, 8, entry(4, "r")).await.unwrap();
    // An owner already in the bucket may replace its own entry.
    s.register(id(1), G1, 7, entry(1, "new")).await.unwrap();
    assert_eq!(s.bucket(G1, 7).await.unwrap().len(), 3);
    // Space freed by a deregistration admits a new entry.
    s.deregister(id(2)).await.unwrap();
    s.register(id(4), G1, 7, entry(9, "r")).await.unwrap();
}

// ---- Salt generations (spec §9.9: a new generation means registering again) ----

async fn check_generations_are_separate<S: Store>(s: &Arc<S>) {
    let (a, b) = (id(1), id(2));
    for t in 1..=4 {
        s.register(a, G1, 7, entry(t, "a, generation 1"))
            .await
            .unwrap();
    }
    s.register(b, G1, 7, entry(0x30, "b")).await.unwrap();
    assert_eq!(s.bucket(G1, 7).await.unwrap().len(), 5);
    // Generation 1's entries are not generation 2's: a lookup under the new parameters gets
    // none of them.
    assert!(s.bucket(G2, 7).await.unwrap().is_empty());
    assert_eq!(
        s.register(a, G1, 7, entry(5, "a")).await,
        Err(StoreError::TooManyRegistrations)
    );
    // The owner's four registrations of generation 1 do not count in generation 2.
    for t in 1..=4 {
        s.register(a, G2, 7, entry(t, "a, generation 2"))
            .await
            .unwrap();
    }
    assert_eq!(
        s.register(a, G2, 8, entry(5, "a")).await,
        Err(StoreError::TooManyRegistrations),
        "the maximum still holds within a generation"
    );
    // The same tag in two generations is two entries: neither replaces the other.
    assert_eq!(
        s.bucket(G2, 7).await.unwrap(),
        (1..=4)
            .map(|t| entry(t, "a, generation 2"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        s.bucket(G1, 7).await.unwrap(),
        (1..=4)
            .map(|t| entry(t, "a, generation 1"))
            .chain([entry(0x30, "b")])
            .collect::<Vec<_>>()
    );
    // Replacing within a generation stays within it.
    s.register(a, G2, 9, entry(1, "moved")).await.unwrap();
    assert_eq!(s.bucket(G2, 9).await.unwrap(), vec![entry(1, "moved")]);
    assert_eq!(s.bucket(G1, 7).await.unwrap().len(), 5);
    // Deregistering deletes the owner's registrations of every generation.
    assert_eq!(s.deregister(a).await.unwrap(), 8);
    assert_eq!(s.bucket(G1, 7).await.unwrap(), vec![entry(0x30, "b")]);
    assert!(s.bucket(G2, 7).await.unwrap().is_empty());
    assert!(s.bucket(G2, 9).await.unwrap().is_empty());
}

async fn check_a_bucket_full_in_one_generation_accepts_the_next<S: Store>(s: &Arc<S>) {
    // Limit 3 entries per bucket (see `three_per_bucket`).
    for owner in 1..=3u8 {
        s.register(id(owner), G1, 7, entry(owner, "r"))
            .await
            .unwrap();
    }
    assert_eq!(
        s.register(id(4), G1, 7, entry(4, "r")).await,
        Err(StoreError::BucketFull)
    );
    for owner in 1..=3u8 {
        s.register(id(owner), G2, 7, entry(owner + 0x10, "g2"))
            .await
            .unwrap();
    }
    assert_eq!(
        s.register(id(4), G2, 7, entry(4, "g2")).await,
        Err(StoreError::BucketFull),
        "the bound holds within the new generation"
    );
    assert_eq!(s.bucket(G1, 7).await.unwrap().len(), 3);
    assert_eq!(s.bucket(G2, 7).await.unwrap().len(), 3);
    // Once generation 1 is dropped, generation 2 keeps its own entries, no more room.
    assert_eq!(s.drop_generations_before(G2).await.unwrap(), 3);
    assert_eq!(
        s.register(id(4), G2, 7, entry(4, "g2")).await,
        Err(StoreError::BucketFull)
    );
}

async fn check_drop_generations_before<S: Store>(s: &Arc<S>) {
    const G3: u32 = 3;
    let (a, b, c) = (id(1), id(2), id(3));
    s.register(a, G1, 7, entry(1, "a1")).await.unwrap();
    s.register(b, G1, 8, entry(2, "b1")).await.unwrap();
    s.register(a, G2, 7, entry(3, "a2")).await.unwrap();
    s.register(c, G3, 7, entry(4, "c3")).await.unwrap();
    assert_eq!(s.drop_generations_before(G1).await.unwrap(), 0);
    assert_eq!(s.drop_generations_before(G2).await.unwrap(), 2);
    assert_eq!(s.drop_generations_before(G2).await.unwrap(), 0);
    assert!(s.bucket(G1, 7).await.unwrap().is_empty());
    assert!(s.bucket(G1, 8).await.unwrap().is_empty());
    // Newer generations than the one named are kept (a node still serving generation 2
    // while another already serves 3 must not delete generation 3's registrations).
    assert_eq!(s.bucket(G2, 7).await.unwrap(), vec![entry(3, "a2")]);
    assert_eq!(s.bucket(G3, 7).await.unwrap(), vec![entry(4, "c3")]);
    // Nothing of generation 1 is left for an operator to hand over; the others are listed
    // with their generation.
    let dump = s.dump().await.unwrap();
    assert!(!dump_holds(&dump, b"a1") && !dump_holds(&dump, b"b1"));
    let registrations = table(&dump, "registrations");
    let g = column(registrations, "generation");
    let mut generations: Vec<&Value> = registrations.rows.iter().map(|r| &r[g]).collect();
    generations.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(generations, [&Value::Int(2), &Value::Int(3)]);
    assert_eq!(s.drop_generations_before(u32::MAX).await.unwrap(), 2);
    assert!(s
        .dump()
        .await
        .unwrap()
        .iter()
        .all(|t| t.name != "registrations" || t.rows.is_empty()));
}

async fn check_dump_shows_every_table<S: Store>(s: &Arc<S>) {
    let (owner, m) = (id(1), id(2));
    let publication = bundle(T0, T0 + 1000, "dumped");
    s.put_bundle(owner, publication.clone(), false)
        .await
        .unwrap();
    add(
        s.as_ref(),
        owner,
        KeyKind::Kem,
        vec![(42, b"kem key 42".to_vec())],
    )
    .await
    .unwrap();
    // A commit: one envelope and one closed slot.
    s.commit(m, b"sealed envelope".to_vec(), T0).await.unwrap();
    s.register(owner, G1, 3, entry(0x77, "discoverable"))
        .await
        .unwrap();

    let dump = s.dump().await.unwrap();
    let names: HashSet<&str> = dump.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        HashSet::from([
            "bundles",
            "one_time_keys",
            "mailboxes",
            "envelopes",
            "registrations",
            "commit_slots"
        ])
    );
    for t in &dump {
        assert_eq!(t.rows.len(), 1, "table {}", t.name);
        for row in &t.rows {
            assert_eq!(row.len(), t.columns.len(), "table {}", t.name);
        }
    }
    let bundles = table(&dump, "bundles");
    let row = &bundles.rows[0];
    assert_eq!(row[column(bundles, "owner")], Value::Bytes(owner.to_vec()));
    assert_eq!(
        row[column(bundles, "issued_at")],
        Value::Int(i64::try_from(T0).unwrap())
    );
    assert_eq!(
        row[column(bundles, "publication")],
        Value::Bytes(publication.bytes)
    );
    let keys = table(&dump, "one_time_keys");
    assert_eq!(keys.rows[0][column(keys, "key_id")], Value::Int(42));
    assert!(dump_holds(&dump, b"kem key 42"));
    let envelopes = table(&dump, "envelopes");
    assert_eq!(envelopes.rows[0][column(envelopes, "seq")], Value::Int(1));
    assert_eq!(
        envelopes.rows[0][column(envelopes, "mailbox")],
        Value::Bytes(m.to_vec())
    );
    assert!(dump_holds(&dump, b"sealed envelope"));
    assert!(dump_holds(&dump, &[0x77; 16]));
    assert!(dump_holds(&dump, b"discoverable"));
    let registrations = table(&dump, "registrations");
    assert_eq!(
        registrations.rows[0][column(registrations, "generation")],
        Value::Int(i64::from(G1))
    );
    assert_eq!(
        registrations.rows[0][column(registrations, "bucket")],
        Value::Int(3)
    );
}

// ---- Blind commits (spec §15.6): one commit per epoch mailbox, then no deposits ----

/// The rows of `commit_slots` as `(mailbox, closed_at)`.
async fn slots<S: Store>(s: &S) -> Vec<(Value, Value)> {
    let dump = s.dump().await.unwrap();
    let slots = table(&dump, "commit_slots");
    let (m, t) = (column(slots, "mailbox"), column(slots, "closed_at"));
    assert_eq!(slots.columns.len(), 2, "{:?}", slots.columns);
    slots
        .rows
        .iter()
        .map(|r| (r[m].clone(), r[t].clone()))
        .collect()
}

async fn check_first_commit_wins_then_the_epoch_is_closed<S: Store>(s: &Arc<S>) {
    let (m, other) = (id(1), id(2));
    for n in 0..3 {
        assert_eq!(s.deposit(m, envelope(1, n), T0).await.unwrap(), n + 1);
    }
    let commit = b"the winning commit".to_vec();
    assert_eq!(s.commit(m, commit.clone(), T0 + 5).await.unwrap(), 4);
    assert_eq!(
        slots(s.as_ref()).await,
        vec![(
            Value::Bytes(m.to_vec()),
            Value::Int(i64::try_from(T0 + 5).unwrap())
        )]
    );
    // A second commit and a later deposit are refused and store nothing.
    assert_eq!(
        s.commit(m, b"a losing commit".to_vec(), T0 + 6).await,
        Err(StoreError::CommitSlotTaken)
    );
    assert_eq!(
        s.deposit(m, envelope(1, 9), T0 + 7).await,
        Err(StoreError::EpochClosed)
    );
    let stored = s.fetch(m, 0, 100, T0 + 8).await.unwrap();
    assert_eq!(seqs(&stored), vec![1, 2, 3, 4]);
    assert_eq!(stored.last().unwrap().envelope, commit);
    let dump = s.dump().await.unwrap();
    assert!(!dump_holds(&dump, b"a losing commit"));
    assert!(!dump_holds(&dump, &envelope(1, 9)));
    assert_eq!(slots(s.as_ref()).await.len(), 1);
    // The mailbox's counters (dumped above) count the commit, not the refusals.
    assert_eq!(s.ack(m, u64::MAX).await.unwrap(), 4);
    let mailboxes = table(&dump, "mailboxes");
    let row = mailboxes
        .rows
        .iter()
        .find(|r| r[column(mailboxes, "mailbox")] == Value::Bytes(m.to_vec()))
        .unwrap();
    assert_eq!(row[column(mailboxes, "envelopes")], Value::Int(4));
    // An acked epoch stays closed: the slot is not the envelopes.
    assert_eq!(
        s.deposit(m, envelope(1, 10), T0 + 9).await,
        Err(StoreError::EpochClosed)
    );
    // Other mailboxes are untouched, and have their own slot.
    assert_eq!(s.deposit(other, envelope(2, 0), T0).await.unwrap(), 1);
    assert_eq!(s.commit(other, envelope(2, 1), T0).await.unwrap(), 2);
    assert_eq!(slots(s.as_ref()).await.len(), 2);
}

async fn check_a_commit_to_a_full_mailbox_leaves_the_slot_open<S: Store>(s: &Arc<S>) {
    let m = id(1);
    for n in 0..3 {
        s.deposit(m, envelope(1, n), T0).await.unwrap();
    }
    assert_eq!(
        s.commit(m, b"commit".to_vec(), T0).await,
        Err(StoreError::MailboxFull)
    );
    assert!(slots(s.as_ref()).await.is_empty());
    assert_eq!(seqs(&s.fetch(m, 0, 100, T0).await.unwrap()), vec![1, 2, 3]);
    // Once there is room the commit goes through, after the epoch's messages.
    s.ack(m, 1).await.unwrap();
    assert_eq!(s.commit(m, b"commit".to_vec(), T0).await.unwrap(), 4);
    assert_eq!(seqs(&s.fetch(m, 0, 100, T0).await.unwrap()), vec![2, 3, 4]);
}

async fn check_commit_slots_expire_with_their_commit<S: Store>(s: &Arc<S>) {
    let (m, late) = (id(1), id(2));
    s.deposit(m, envelope(1, 0), T0).await.unwrap();
    s.commit(m, b"commit".to_vec(), T0 + 10).await.unwrap();
    s.commit(late, b"later commit".to_vec(), T0 + 20)
        .await
        .unwrap();
    // Until the commit's envelope expires, the slot stays (and outlives the epoch's
    // earlier envelopes).
    s.sweep(T0 + R).await.unwrap();
    assert_eq!(seqs(&s.fetch(m, 0, 100, T0 + R).await.unwrap()), vec![2]);
    assert_eq!(slots(s.as_ref()).await.len(), 2);
    s.sweep(T0 + 10 + R - 1).await.unwrap();
    assert_eq!(slots(s.as_ref()).await.len(), 2);
    assert_eq!(
        s.deposit(m, envelope(1, 1), T0 + 10 + R - 1).await,
        Err(StoreError::EpochClosed)
    );
    // With the commit's envelope, the slot goes; the later one stays.
    s.sweep(T0 + 10 + R).await.unwrap();
    assert!(s.fetch(m, 0, 100, T0 + 10 + R).await.unwrap().is_empty());
    assert_eq!(
        slots(s.as_ref()).await,
        vec![(
            Value::Bytes(late.to_vec()),
            Value::Int(i64::try_from(T0 + 20).unwrap())
        )]
    );
}

async fn check_concurrent_commits_and_deposits<S: Store>(s: &Arc<S>) {
    let m = id(1);
    let mut tasks = Vec::new();
    for n in 0..8u64 {
        let c = Arc::clone(s);
        tasks.push(tokio::spawn(async move {
            (true, n, c.commit(m, envelope(9, n), T0).await)
        }));
        let d = Arc::clone(s);
        tasks.push(tokio::spawn(async move {
            (false, n, d.deposit(m, envelope(1, n), T0).await)
        }));
    }
    let (mut won, mut deposited) = (Vec::new(), Vec::new());
    for t in tasks {
        match t.await.unwrap() {
            (true, n, Ok(seq)) => won.push((n, seq)),
            (true, _, Err(e)) => assert_eq!(e, StoreError::CommitSlotTaken),
            (false, n, Ok(seq)) => deposited.push((n, seq)),
            (false, _, Err(e)) => assert_eq!(e, StoreError::EpochClosed),
        }
    }
    assert_eq!(won.len(), 1, "exactly one commit wins: {won:?}");
    let (winner, commit_seq) = won[0];
    // Every deposit that was stored came before the commit; the commit is the last
    // envelope of the mailbox.
    assert!(deposited.iter().all(|&(_, seq)| seq < commit_seq));
    let stored = s.fetch(m, 0, 100, T0).await.unwrap();
    assert_eq!(stored.len(), deposited.len() + 1);
    let last = stored.last().unwrap();
    assert_eq!(
        (last.seq, &last.envelope),
        (commit_seq, &envelope(9, winner))
    );
    assert_eq!(slots(s.as_ref()).await.len(), 1);
}

// ---- Running the checks on every backend ----

/// One schema per Postgres test, named after the test and this process.
async fn postgres_store(test: &str, limits: Limits) -> Option<Arc<PostgresStore>> {
    let url = match std::env::var("BLINDRELAY_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            eprintln!("skipped {test}: BLINDRELAY_TEST_POSTGRES is not set");
            return None;
        }
    };
    let mut schema = format!("t{}_{test}", std::process::id());
    schema.truncate(63);
    let store = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .expect("connect to BLINDRELAY_TEST_POSTGRES");
    // Leftovers of an earlier run with the same process id: start empty.
    store.drop_schema().await.unwrap();
    store.create_schema().await.unwrap();
    Some(Arc::new(store.with_limits(limits)))
}

macro_rules! suite {
    ($($check:ident => $limits:expr;)*) => {
        mod sqlite_file {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = SqliteStore::open(&dir.path().join("relay.db"))
                        .unwrap()
                        .with_limits($limits);
                    super::$check(&Arc::new(store)).await;
                }
            )*
        }
        mod sqlite_memory {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let store = SqliteStore::open_in_memory().unwrap().with_limits($limits);
                    super::$check(&Arc::new(store)).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    if let Some(store) = postgres_store(stringify!($check), $limits).await {
                        super::$check(&store).await;
                        store.drop_schema().await.unwrap();
                    }
                }
            )*
        }
    };
}

suite! {
    check_bundle_publish_replace_stale => Limits::default();
    check_reset_pool => Limits::default();
    check_no_bundle => Limits::default();
    check_claim_oldest_first_then_last_resort => Limits::default();
    check_pool_full_all_or_nothing => Limits::default();
    check_keys_only_for_the_publication_they_were_verified_against => Limits::default();
    check_upload_of_both_kinds_is_all_or_nothing => Limits::default();
    check_expired_bundle_not_claimable => Limits::default();
    check_concurrent_claims_hand_out_each_key_once => Limits::default();
    check_delete_owner => Limits::default();
    check_deposit_seq_per_mailbox => Limits::default();
    check_fetch_after_limit_order => Limits::default();
    check_ack_removes_up_to => Limits::default();
    check_quota_envelope_count => small_mailbox_count();
    check_quota_bytes => small_mailbox_bytes();
    check_concurrent_deposits => ten_envelopes();
    check_sweep => Limits::default();
    check_sweep_keeps_busy_mailboxes => Limits::default();
    check_registrations => Limits::default();
    check_a_full_bucket_refuses_registrations_not_lookups => three_per_bucket();
    check_generations_are_separate => Limits::default();
    check_a_bucket_full_in_one_generation_accepts_the_next => three_per_bucket();
    check_drop_generations_before => Limits::default();
    check_dump_shows_every_table => Limits::default();
    check_first_commit_wins_then_the_epoch_is_closed => Limits::default();
    check_a_commit_to_a_full_mailbox_leaves_the_slot_open => small_mailbox_count();
    check_commit_slots_expire_with_their_commit => Limits::default();
    check_concurrent_commits_and_deposits => Limits::default();
}

// ---- Migrations: registrations written before they carried their generation ----

/// `registrations` as schema 1 had it (no generation; primary key `(owner, tag)`).
const REGISTRATIONS_V1: &str = "
CREATE TABLE registrations (
    owner BLOB NOT NULL,
    tag BLOB NOT NULL,
    bucket INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (owner, tag)
);
CREATE INDEX registrations_by_bucket ON registrations (bucket, tag);
";

/// What a migrated store must show: the old rows in generation 1, nothing in generation
/// 2, the owner free to register again in generation 2, and the old rows droppable.
async fn check_migrated<S: Store>(s: &S) {
    assert_eq!(
        s.bucket(G1, 7).await.unwrap(),
        vec![entry(1, "old a"), entry(2, "old b")]
    );
    assert!(s.bucket(G2, 7).await.unwrap().is_empty());
    let registrations = s
        .dump()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "registrations")
        .unwrap();
    let g = column(&registrations, "generation");
    assert!(registrations.rows.iter().all(|r| r[g] == Value::Int(1)));
    for t in 1..=4 {
        s.register(id(1), G2, 7, entry(t, "new")).await.unwrap();
    }
    assert_eq!(s.bucket(G2, 7).await.unwrap().len(), 4);
    assert_eq!(s.drop_generations_before(G2).await.unwrap(), 2);
    assert_eq!(s.bucket(G2, 7).await.unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migrates_registrations_to_generation_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(REGISTRATIONS_V1).unwrap();
        for (owner, tag, record) in [(1u8, 1u8, "old a"), (2, 2, "old b")] {
            conn.execute(
                "INSERT INTO registrations (owner, tag, bucket, record) VALUES (?1, ?2, 7, ?3)",
                rusqlite::params![id(owner), [tag; 16], record.as_bytes()],
            )
            .unwrap();
        }
    }
    check_migrated(&SqliteStore::open(&path).unwrap()).await;
    // Reopening a migrated database changes nothing.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.bucket(G2, 7).await.unwrap().len(), 4);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, blindrelay_relay::store::sqlite::SCHEMA_VERSION);
    // A database of a newer schema than this relay knows is refused, not written.
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let refused = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(&refused, StoreError::Backend(m) if m.contains("schema version 99")),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrates_registrations_to_generation_1() {
    let Ok(url) = std::env::var("BLINDRELAY_TEST_POSTGRES") else {
        eprintln!("skipped postgres_migrates_registrations_to_generation_1: no database");
        return;
    };
    let schema = format!("t{}_migrate_generation", std::process::id());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
             SET search_path = {schema};
             {}",
            REGISTRATIONS_V1
                .replace("BLOB", "BYTEA")
                .replace("INTEGER", "BIGINT")
        ))
        .await
        .unwrap();
    for (owner, tag, record) in [(1u8, 1u8, "old a"), (2, 2, "old b")] {
        client
            .execute(
                "INSERT INTO registrations (owner, tag, bucket, record) VALUES ($1, $2, 7, $3)",
                &[
                    &id(owner).as_slice(),
                    &[tag; 16].as_slice(),
                    &record.as_bytes(),
                ],
            )
            .await
            .unwrap();
    }
    drop(client);
    connection.await.unwrap().unwrap();
    let store = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    check_migrated(&store).await;
    // Creating the schema again (another relay process starting) changes nothing.
    store.create_schema().await.unwrap();
    assert_eq!(store.bucket(G2, 7).await.unwrap().len(), 4);
    store.drop_schema().await.unwrap();
}

// ---- SQLite only: durability and a model-based property ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_deposits_survive_reopen_and_acks_stay_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.db");
    let (m, owner) = (id(1), id(2));
    let publication = bundle(T0, T0 + 1000, "durable");
    {
        let store = SqliteStore::open(&path).unwrap();
        for n in 1..=4 {
            assert_eq!(store.deposit(m, envelope(1, n), T0).await.unwrap(), n);
        }
        assert_eq!(store.ack(m, 2).await.unwrap(), 2);
        store
            .put_bundle(owner, publication.clone(), false)
            .await
            .unwrap();
        add(&store, owner, KeyKind::X25519, keys(0..3, "x"))
            .await
            .unwrap();
        store.claim(owner, T0).await.unwrap().unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let got = store.fetch(m, 0, 100, T0).await.unwrap();
    assert_eq!(seqs(&got), [3, 4]);
    assert_eq!(got[0].envelope, envelope(1, 3));
    assert_eq!(
        store.ack(m, 2).await.unwrap(),
        0,
        "acked envelopes stay gone"
    );
    assert_eq!(store.deposit(m, envelope(1, 5), T0).await.unwrap(), 5);
    assert_eq!(store.get_bundle(owner).await.unwrap(), Some(publication));
    // The claimed key stays claimed.
    assert_eq!(store.pool_counts(owner).await.unwrap(), counts(2, 0));
    assert_eq!(
        store.claim(owner, T0).await.unwrap().unwrap().x25519,
        Some(b"x1".to_vec())
    );
}

#[test]
fn sqlite_open_refuses_a_file_that_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-db");
    std::fs::write(&path, vec![0x5A; 4096]).unwrap();
    match SqliteStore::open(&path) {
        Err(StoreError::Backend(message)) => assert!(!message.contains("ZZZZ")),
        other => panic!("expected a backend error, got {other:?}"),
    }
}

#[test]
fn sqlite_dropping_the_store_stops_its_threads_after_pending_writes() {
    // Dropping inside a runtime must not hang (the writer finishes and exits).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = SqliteStore::open_in_memory().unwrap();
        store.deposit(id(1), b"x".to_vec(), T0).await.unwrap();
        drop(store);
    });
}

#[derive(Clone, Debug)]
enum Op {
    Deposit {
        mailbox: u8,
        len: usize,
    },
    Fetch {
        mailbox: u8,
        after: u64,
        limit: usize,
    },
    Ack {
        mailbox: u8,
        up_to: u64,
    },
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (0..3_u8, 0..40_usize).prop_map(|(mailbox, len)| Op::Deposit { mailbox, len }),
        2 => (0..3_u8, 0..12_u64, 0..6_usize)
            .prop_map(|(mailbox, after, limit)| Op::Fetch { mailbox, after, limit }),
        1 => (0..3_u8, 0..12_u64).prop_map(|(mailbox, up_to)| Op::Ack { mailbox, up_to }),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

    /// Deposit, fetch and ack behave like a map of seq to envelope per mailbox.
    #[test]
    fn sqlite_mailboxes_match_a_model(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(async {
            let store = SqliteStore::open(&dir.path().join("relay.db")).unwrap();
            let mut next = BTreeMap::<u8, u64>::new();
            let mut model = BTreeMap::<u8, BTreeMap<u64, Vec<u8>>>::new();
            for (i, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Deposit { mailbox, len } => {
                        let bytes: Vec<u8> = (0..len).map(|j| (i + j) as u8).collect();
                        let seq = store.deposit(id(mailbox), bytes.clone(), T0).await.unwrap();
                        let expected = next.entry(mailbox).or_insert(1);
                        assert_eq!(seq, *expected);
                        *expected += 1;
                        model.entry(mailbox).or_default().insert(seq, bytes);
                    }
                    Op::Fetch { mailbox, after, limit } => {
                        let got = store.fetch(id(mailbox), after, limit, T0).await.unwrap();
                        let expected: Vec<Stored> = model
                            .get(&mailbox)
                            .into_iter()
                            .flat_map(|m| m.range(after + 1..))
                            .take(limit)
                            .map(|(seq, envelope)| Stored { seq: *seq, envelope: envelope.clone() })
                            .collect();
                        assert_eq!(got, expected);
                    }
                    Op::Ack { mailbox, up_to } => {
                        let got = store.ack(id(mailbox), up_to).await.unwrap();
                        let m = model.entry(mailbox).or_default();
                        let keep = m.split_off(&(up_to + 1));
                        let removed = m.len() as u64;
                        *m = keep;
                        assert_eq!(got, removed);
                    }
                }
            }
        });
    }
}

/// A throughput smoke (not a benchmark; run with `--ignored --nocapture`): 64 concurrent
/// clients, each depositing to and fetching from its own mailbox, on a file store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing smoke, prints numbers"]
async fn sqlite_throughput_smoke() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("relay.db")).unwrap());
    let (clients, rounds) = (64_u8, 100_usize);
    let start = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let s = Arc::clone(&store);
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(2 * rounds);
            for _ in 0..rounds {
                let t = std::time::Instant::now();
                let seq = s.deposit(id(c), vec![c; 1024], T0).await.unwrap();
                latencies.push(t.elapsed());
                let t = std::time::Instant::now();
                let got = s.fetch(id(c), seq - 1, 10, T0).await.unwrap();
                latencies.push(t.elapsed());
                assert_eq!(seqs(&got), [seq]);
            }
            latencies
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined.unwrap());
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let p99 = latencies[latencies.len() * 99 / 100];
    let ops = latencies.len();
    eprintln!(
        "{ops} operations (deposits + fetches) in {elapsed:?}: {:.0} ops/s, p99 {p99:?}",
        ops as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_clean_shutdown_leaves_everything_in_the_database_file() {
    // An operator backing up or handing over `relay.db` alone after a clean shutdown must
    // get every stored row: the WAL is folded back when the store drops.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        for n in 0..50 {
            store.deposit(id(3), envelope(3, n), T0).await.unwrap();
            // Reads on the reader connections, as a live relay does.
            store.fetch(id(3), 0, 256, T0).await.unwrap();
        }
    }
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(&path, copy.path().join("relay.db")).unwrap();
    let store = SqliteStore::open(&copy.path().join("relay.db")).unwrap();
    let stored = store.fetch(id(3), 0, 256, T0).await.unwrap();
    assert_eq!(stored.len(), 50);
    assert_eq!(stored[49].envelope, envelope(3, 49));
}
