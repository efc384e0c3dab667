//! The oracle's storage contract (`OracleStore`, spec §14.6) as behaviour, run against
//! every backend: SQLite on a file, SQLite in memory, and Postgres when
//! `BLINDRELAY_TEST_POSTGRES` holds a connection URL (each test in its own schema; without
//! the variable the Postgres tests say they were skipped and pass).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use blindrelay_relay::oracle::store::{
    OracleStore, PostgresOracleStore, SqliteOracleStore, FIRST_KEY_EPOCH,
};
use std::sync::Arc;

const DAY: u64 = 20_000;

async fn check_key_epoch_starts_at_one_and_rotation_increments<S: OracleStore>(s: &Arc<S>) {
    assert_eq!(s.key_epoch().await.unwrap(), FIRST_KEY_EPOCH);
    assert_eq!(s.rotate().await.unwrap(), 2);
    assert_eq!(s.rotate().await.unwrap(), 3);
    assert_eq!(s.key_epoch().await.unwrap(), 3);
}

async fn check_charges_are_exact_per_relay_and_day<S: OracleStore>(s: &Arc<S>) {
    let a = || "relay-a".to_owned();
    assert_eq!(s.usage(a(), DAY).await.unwrap(), 0);
    assert!(s.charge(a(), DAY, 6, 10).await.unwrap());
    assert!(!s.charge(a(), DAY, 6, 10).await.unwrap(), "6 + 6 > 10");
    assert_eq!(
        s.usage(a(), DAY).await.unwrap(),
        6,
        "a refused charge changes nothing"
    );
    assert!(s.charge(a(), DAY, 4, 10).await.unwrap(), "6 + 4 = 10 fits");
    assert!(!s.charge(a(), DAY, 1, 10).await.unwrap());
    assert_eq!(s.usage(a(), DAY).await.unwrap(), 10);
    // Another relay and another day have their own counters.
    assert!(s.charge("relay-b".into(), DAY, 10, 10).await.unwrap());
    assert!(s.charge(a(), DAY + 1, 10, 10).await.unwrap());
    // A first charge over the budget stores no row at all.
    assert!(!s.charge("relay-c".into(), DAY, 11, 10).await.unwrap());
    assert_eq!(s.usage("relay-c".into(), DAY).await.unwrap(), 0);
    // A larger budget (reconfigured) lets the same day continue.
    assert!(s.charge(a(), DAY, 5, 15).await.unwrap());
    assert_eq!(s.usage(a(), DAY).await.unwrap(), 15);
}

async fn check_concurrent_charges_never_overshoot<S: OracleStore>(s: &Arc<S>) {
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let s = Arc::clone(s);
        tasks.push(tokio::spawn(async move {
            s.charge("relay-a".into(), DAY, 1, 10).await.unwrap()
        }));
    }
    let mut granted = 0;
    for t in tasks {
        granted += u64::from(t.await.unwrap());
    }
    assert_eq!(granted, 10);
    assert_eq!(s.usage("relay-a".into(), DAY).await.unwrap(), 10);
}

async fn check_sweep_deletes_old_days_only<S: OracleStore>(s: &Arc<S>) {
    for d in [DAY - 2, DAY - 1, DAY] {
        assert!(s.charge("relay-a".into(), d, 1, 10).await.unwrap());
    }
    assert_eq!(s.sweep(DAY - 1).await.unwrap(), 1);
    assert_eq!(s.usage("relay-a".into(), DAY - 2).await.unwrap(), 0);
    assert_eq!(s.usage("relay-a".into(), DAY - 1).await.unwrap(), 1);
    assert_eq!(s.usage("relay-a".into(), DAY).await.unwrap(), 1);
}

async fn postgres_store(test: &str) -> Option<Arc<PostgresOracleStore>> {
    let url = match std::env::var("BLINDRELAY_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            eprintln!("skipped {test}: BLINDRELAY_TEST_POSTGRES is not set");
            return None;
        }
    };
    let mut schema = format!("o{}_{test}", std::process::id());
    schema.truncate(63);
    // Leftovers of an earlier run with the same process id: start empty.
    let old = PostgresOracleStore::connect_with_schema(&url, &schema)
        .await
        .expect("connect to BLINDRELAY_TEST_POSTGRES");
    old.drop_schema().await.unwrap();
    let store = PostgresOracleStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    Some(Arc::new(store))
}

macro_rules! suite {
    ($($check:ident,)*) => {
        mod sqlite_file {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = SqliteOracleStore::open(&dir.path().join("oracle.db")).unwrap();
                    super::$check(&Arc::new(store)).await;
                }
            )*
        }
        mod sqlite_memory {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(&Arc::new(SqliteOracleStore::open_in_memory().unwrap())).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    if let Some(store) = postgres_store(stringify!($check)).await {
                        super::$check(&store).await;
                        store.drop_schema().await.unwrap();
                    }
                }
            )*
        }
    };
}

suite! {
    check_key_epoch_starts_at_one_and_rotation_increments,
    check_charges_are_exact_per_relay_and_day,
    check_concurrent_charges_never_overshoot,
    check_sweep_deletes_old_days_only,
}

#[tokio::test]
async fn sqlite_epoch_and_usage_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oracle.db");
    {
        let s = SqliteOracleStore::open(&path).unwrap();
        assert_eq!(s.rotate().await.unwrap(), 2);
        assert!(s.charge("relay-a".into(), DAY, 7, 10).await.unwrap());
    }
    let s = SqliteOracleStore::open(&path).unwrap();
    assert_eq!(s.key_epoch().await.unwrap(), 2);
    assert_eq!(s.usage("relay-a".into(), DAY).await.unwrap(), 7);
    assert!(!s.charge("relay-a".into(), DAY, 4, 10).await.unwrap());
}
