//! One behaviour suite, run against every store backend.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use blindrelay::route::ReadCapability;
use blindrelay::IdentityPublicKey;
use blindrelay_client::store::{
    DiscoveryRecord, LocalRecord, PeerRecord, Route, SignedPrekeyRecord, KEM_SEED_LEN,
};
use blindrelay_client::{Error, MemoryStore, SqliteStore, Store, StoreTx};
use common::TempDb;
use zeroize::Zeroizing;

fn id(n: u8) -> IdentityPublicKey {
    IdentityPublicKey {
        signing: [n; 32],
        agreement: [n.wrapping_add(100); 32],
    }
}

fn peer(n: u8, address: Option<&str>) -> PeerRecord {
    PeerRecord {
        identity: id(n),
        address: address.map(str::to_string),
        route: Some(Route {
            mailbox: [n; 32],
            sealing_key: [n ^ 0xff; 32],
        }),
        high_water: u64::from(n),
        reset_pending: n % 2 == 0,
        reset_signed_prekey: (n % 2 == 0).then_some(u32::from(n)),
        acked_sealing_key: (n % 3 == 0).then_some([n; 32]),
    }
}

fn spk(id: u32, kem_id: u32) -> SignedPrekeyRecord {
    SignedPrekeyRecord {
        id,
        secret: Zeroizing::new([id as u8; 32]),
        kem_id,
        kem_secret: Zeroizing::new([kem_id as u8; KEM_SEED_LEN]),
        created_at: u64::from(id) * 10,
        superseded_at: None,
    }
}

fn suite<S: Store>(mut store: S) {
    // Local record and id allocation.
    store
        .transaction(|tx| {
            assert!(tx.local()?.is_none());
            let rec = LocalRecord {
                identity_seed: Zeroizing::new([1; 32]),
                sealing_secret: Zeroizing::new([2; 32]),
                sealing_created_at: 0,
                previous_sealing: Some((Zeroizing::new([5; 32]), 77)),
                mailbox: [3; 32],
                public_capability: Some(Zeroizing::new([6; 32])),
                storage_key: Zeroizing::new([4; 32]),
            };
            tx.put_local(&rec)?;
            assert!(tx.local()? == Some(rec));
            assert_eq!(tx.allocate_prekey_id()?, 1);
            assert_eq!(tx.allocate_prekey_id()?, 2);
            Ok(())
        })
        .unwrap();

    // A failed transaction writes nothing, including id allocations.
    let err = store
        .transaction(|tx| {
            tx.allocate_prekey_id()?;
            tx.put_peer(&peer(9, Some("nine")))?;
            Err::<(), _>(Error::ApiMisuse("abort"))
        })
        .unwrap_err();
    assert_eq!(err, Error::ApiMisuse("abort"));
    store
        .transaction(|tx| {
            assert_eq!(tx.allocate_prekey_id()?, 3);
            assert!(tx.peer(&id(9))?.is_none());
            Ok(())
        })
        .unwrap();

    // Peers: lookup by identity and address; an address moves to the newest binding.
    store
        .transaction(|tx| {
            tx.put_peer(&peer(1, Some("bob")))?;
            assert_eq!(tx.peer(&id(1))?, Some(peer(1, Some("bob"))));
            assert_eq!(tx.peer_by_address("bob")?, Some(peer(1, Some("bob"))));
            tx.put_peer(&peer(2, Some("bob")))?;
            assert_eq!(tx.peer_by_address("bob")?.unwrap().identity, id(2));
            let all: Vec<IdentityPublicKey> = tx.peers()?.iter().map(|p| p.identity).collect();
            assert_eq!(all.len(), 2);
            assert!(all.contains(&id(1)) && all.contains(&id(2)));
            assert_eq!(tx.peer(&id(1))?.unwrap().address, None);
            let mut p = peer(3, None);
            p.route = None;
            tx.put_peer(&p)?;
            assert_eq!(tx.peer(&id(3))?, Some(p));
            Ok(())
        })
        .unwrap();

    // Sessions: replaced as a whole, in order, per peer.
    store
        .transaction(|tx| {
            assert!(tx.sessions(&id(1))?.is_empty());
            tx.put_sessions(&id(1), &[vec![1], vec![2], vec![3]])?;
            tx.put_sessions(&id(2), &[vec![9]])?;
            assert_eq!(tx.sessions(&id(1))?, vec![vec![1], vec![2], vec![3]]);
            tx.put_sessions(&id(1), &[vec![4]])?;
            assert_eq!(tx.sessions(&id(1))?, vec![vec![4]]);
            assert_eq!(tx.sessions(&id(2))?, vec![vec![9]]);
            Ok(())
        })
        .unwrap();

    // Signed prekeys and their replay records.
    store
        .transaction(|tx| {
            tx.put_signed_prekey(&spk(10, 11))?;
            tx.put_signed_prekey(&spk(20, 21))?;
            assert!(tx.signed_prekey(10)? == Some(spk(10, 11)));
            assert!(tx.signed_prekey_by_kem_id(21)? == Some(spk(20, 21)));
            assert!(tx.signed_prekey(11)?.is_none());
            let ids: Vec<u32> = tx.signed_prekeys()?.iter().map(|r| r.id).collect();
            assert_eq!(ids, vec![10, 20]);
            let mut s = spk(10, 11);
            s.superseded_at = Some(99);
            tx.put_signed_prekey(&s)?;
            assert_eq!(tx.signed_prekey(10)?.unwrap().superseded_at, Some(99));

            tx.put_replay(10, &[5; 32], &id(1))?;
            tx.put_replay(10, &[6; 32], &id(2))?;
            tx.put_replay(20, &[5; 32], &id(3))?;
            assert_eq!(tx.replay(10, &[5; 32])?, Some(id(1)));
            assert_eq!(tx.replay(20, &[5; 32])?, Some(id(3)));
            assert_eq!(tx.replay(20, &[6; 32])?, None);
            assert_eq!(tx.replay_count(10)?, 2);
            tx.delete_signed_prekey(10)?;
            assert!(tx.signed_prekey(10)?.is_none());
            assert_eq!(tx.replay_count(10)?, 0);
            assert_eq!(tx.replay(10, &[5; 32])?, None);
            assert_eq!(tx.replay_count(20)?, 1);
            Ok(())
        })
        .unwrap();

    // One-time pools.
    store
        .transaction(|tx| {
            for i in 0..5 {
                tx.put_one_time_prekey(i, &[i as u8; 32])?;
                tx.put_one_time_kem_prekey(100 + i, &[i as u8; KEM_SEED_LEN])?;
            }
            tx.delete_one_time_prekey(2)?;
            tx.delete_one_time_kem_prekey(100)?;
            tx.delete_one_time_kem_prekey(101)?;
            assert_eq!(tx.one_time_prekey_count()?, 4);
            assert_eq!(tx.one_time_kem_prekey_count()?, 3);
            assert!(tx.one_time_prekey(2)?.is_none());
            assert_eq!(*tx.one_time_prekey(3)?.unwrap(), [3; 32]);
            assert_eq!(*tx.one_time_kem_prekey(104)?.unwrap(), [4; KEM_SEED_LEN]);
            Ok(())
        })
        .unwrap();
    // A failed wipe of the pools and a skip of ids leave both as they were; a committed one
    // empties the pools and moves the counter.
    let _ = store.transaction(|tx| {
        tx.delete_all_one_time_prekeys()?;
        tx.skip_prekey_ids(1000)?;
        Err::<(), _>(Error::ApiMisuse("abort"))
    });
    store
        .transaction(|tx| {
            assert_eq!(tx.one_time_prekey_count()?, 4);
            tx.delete_all_one_time_prekeys()?;
            assert_eq!(tx.one_time_prekey_count()?, 0);
            assert_eq!(tx.one_time_kem_prekey_count()?, 0);
            tx.skip_prekey_ids(1000)?;
            assert_eq!(tx.allocate_prekey_id()?, 1004);
            tx.put_one_time_prekey(1, &[1; 32])?;
            tx.put_one_time_kem_prekey(2, &[2; KEM_SEED_LEN])?;
            Ok(())
        })
        .unwrap();

    // Delivered digests.
    store
        .transaction(|tx| {
            assert!(!tx.delivered(&[7; 32])?);
            tx.put_delivered(&[7; 32])?;
            tx.put_delivered(&[7; 32])?;
            assert!(tx.delivered(&[7; 32])?);
            Ok(())
        })
        .unwrap();

    // The mailbox index: keyed by mailbox id, a peer's entries replaced as a whole and
    // kept in order; a failed transaction leaves it as it was.
    let cap = |n: u8| ReadCapability::from_bytes([n; 32]);
    let mbs = |v: Vec<ReadCapability>| -> Vec<[u8; 32]> { v.iter().map(|c| c.mailbox()).collect() };
    store
        .transaction(|tx| {
            assert_eq!(tx.mailbox_peer(&cap(1).mailbox())?, None);
            tx.put_mailboxes(&id(1), &[cap(3), cap(1), cap(2)])?;
            tx.put_mailboxes(&id(2), &[cap(9)])?;
            assert_eq!(tx.mailbox_peer(&cap(1).mailbox())?, Some(id(1)));
            assert_eq!(tx.mailbox_peer(&cap(9).mailbox())?, Some(id(2)));
            assert_eq!(
                mbs(tx.peer_mailboxes(&id(1))?),
                mbs(vec![cap(3), cap(1), cap(2)])
            );
            assert_eq!(tx.mailbox_capabilities()?.len(), 4);
            tx.put_mailboxes(&id(1), &[cap(4), cap(3)])?;
            assert_eq!(tx.mailbox_peer(&cap(1).mailbox())?, None);
            assert_eq!(mbs(tx.peer_mailboxes(&id(1))?), mbs(vec![cap(4), cap(3)]));
            assert!(tx.peer_mailboxes(&id(7))?.is_empty());
            Ok(())
        })
        .unwrap();
    let _ = store.transaction(|tx| {
        tx.put_mailboxes(&id(1), &[])?;
        tx.put_mailboxes(&id(2), &[cap(5)])?;
        Err::<(), _>(Error::ApiMisuse("abort"))
    });
    store
        .transaction(|tx| {
            assert_eq!(mbs(tx.peer_mailboxes(&id(1))?), mbs(vec![cap(4), cap(3)]));
            assert_eq!(tx.mailbox_peer(&cap(9).mailbox())?, Some(id(2)));
            assert_eq!(tx.mailbox_peer(&cap(5).mailbox())?, None);
            let mut all = mbs(tx.mailbox_capabilities()?);
            let mut expected = mbs(vec![cap(4), cap(3), cap(9)]);
            all.sort_unstable();
            expected.sort_unstable();
            assert_eq!(all, expected);
            tx.put_mailboxes(&id(1), &[])?;
            assert!(tx.peer_mailboxes(&id(1))?.is_empty());
            assert_eq!(tx.mailbox_capabilities()?.len(), 1);
            Ok(())
        })
        .unwrap();

    // Contact-discovery state: keyed by relay key, replaced as a whole (a ledger can be
    // dropped); a failed transaction leaves it as it was.
    store
        .transaction(|tx| {
            assert!(tx.discovery(&[1; 32])?.is_none());
            tx.put_discovery(&[1; 32], &discovery(1, None))?;
            tx.put_discovery(&[2; 32], &discovery(2, Some(vec![2; 40])))?;
            assert!(tx.discovery(&[1; 32])? == Some(discovery(1, None)));
            assert!(tx.discovery(&[2; 32])? == Some(discovery(2, Some(vec![2; 40]))));
            tx.put_discovery(&[1; 32], &discovery(3, Some(vec![3; 7])))?;
            assert!(tx.discovery(&[1; 32])? == Some(discovery(3, Some(vec![3; 7]))));
            tx.put_discovery(&[2; 32], &discovery(2, None))?;
            assert!(tx.discovery(&[2; 32])? == Some(discovery(2, None)));
            assert!(tx.discovery(&[3; 32])?.is_none());
            Ok(())
        })
        .unwrap();
    let _ = store.transaction(|tx| {
        tx.put_discovery(&[1; 32], &discovery(4, None))?;
        tx.put_discovery(&[5; 32], &discovery(5, None))?;
        Err::<(), _>(Error::ApiMisuse("abort"))
    });
    store
        .transaction(|tx| {
            assert!(tx.discovery(&[1; 32])? == Some(discovery(3, Some(vec![3; 7]))));
            assert!(tx.discovery(&[5; 32])?.is_none());
            Ok(())
        })
        .unwrap();

    // ch2 ids: kept per oracle key and key epoch; a later epoch forgets the earlier ones
    // of the same oracle only; an earlier epoch than the newest kept is not stored; a
    // failed transaction leaves them as they were.
    let (o1, o2) = ([0x0a; 32], [0x0b; 32]);
    store
        .transaction(|tx| {
            assert_eq!(tx.ch2_ids(&o1, 3, &[[1; 32]])?, vec![None]);
            tx.put_ch2_ids(&o1, 3, &[([1; 32], [11; 32]), ([2; 32], [12; 32])])?;
            tx.put_ch2_ids(&o1, 3, &[([3; 32], [13; 32])])?;
            tx.put_ch2_ids(&o2, 3, &[([1; 32], [21; 32])])?;
            assert_eq!(
                tx.ch2_ids(&o1, 3, &[[3; 32], [4; 32], [1; 32]])?,
                vec![Some([13; 32]), None, Some([11; 32])]
            );
            assert_eq!(tx.ch2_ids(&o1, 4, &[[1; 32]])?, vec![None]);
            assert_eq!(tx.ch2_epoch(&o1)?, Some((3, 3)));
            assert_eq!(tx.ch2_epoch(&[0x0c; 32])?, None);
            tx.put_ch2_ids(&o1, 4, &[([1; 32], [41; 32])])?;
            assert_eq!(tx.ch2_epoch(&o1)?, Some((4, 1)));
            assert_eq!(tx.ch2_ids(&o1, 3, &[[1; 32]])?, vec![None]);
            assert_eq!(tx.ch2_ids(&o1, 4, &[[1; 32]])?, vec![Some([41; 32])]);
            assert_eq!(tx.ch2_ids(&o2, 3, &[[1; 32]])?, vec![Some([21; 32])]);
            tx.put_ch2_ids(&o1, 3, &[([5; 32], [15; 32])])?;
            assert_eq!(tx.ch2_ids(&o1, 3, &[[5; 32]])?, vec![None]);
            assert_eq!(tx.ch2_epoch(&o1)?, Some((4, 1)));
            assert_eq!(tx.ch2_epoch(&o2)?, Some((3, 1)));
            Ok(())
        })
        .unwrap();
    let _ = store.transaction(|tx| {
        tx.put_ch2_ids(&o1, 5, &[([1; 32], [51; 32])])?;
        Err::<(), _>(Error::ApiMisuse("abort"))
    });
    store
        .transaction(|tx| {
            assert_eq!(tx.ch2_ids(&o1, 4, &[[1; 32]])?, vec![Some([41; 32])]);
            assert_eq!(tx.ch2_epoch(&o1)?, Some((4, 1)));
            Ok(())
        })
        .unwrap();
}

fn discovery(n: u8, ledger: Option<Vec<u8>>) -> DiscoveryRecord {
    DiscoveryRecord {
        secret: Zeroizing::new([n; 32]),
        mark: [n; 13],
        ledger,
    }
}

#[test]
fn memory_store_suite() {
    suite(MemoryStore::new());
}

#[test]
fn sqlite_store_suite() {
    let db = TempDb::new("suite");
    suite(SqliteStore::open(&db.0).unwrap());
}

#[test]
fn sqlite_store_suite_in_memory() {
    suite(SqliteStore::open_in_memory().unwrap());
}

#[test]
fn sqlite_refuses_a_newer_schema_and_reopens_its_own() {
    let db = TempDb::new("schema");
    drop(SqliteStore::open(&db.0).unwrap());
    drop(SqliteStore::open(&db.0).unwrap());
    let conn = rusqlite::Connection::open(&db.0).unwrap();
    let (mode, version): (String, u32) = (
        conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap(),
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap(),
    );
    assert_eq!(
        (mode.as_str(), version),
        ("wal", blindrelay_client::store::SCHEMA_VERSION)
    );
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    assert!(matches!(SqliteStore::open(&db.0), Err(Error::Storage(_))));
}

/// Every kind of write, then an error or a panic: the memory store's undo log puts back
/// exactly what was there.
#[test]
fn memory_store_undoes_every_write_on_error_and_on_panic() {
    let mut store = MemoryStore::new();
    let writes = |tx: &mut blindrelay_client::store::MemoryTx<'_>| -> Result<(), Error> {
        tx.put_local(&LocalRecord {
            identity_seed: Zeroizing::new([8; 32]),
            sealing_secret: Zeroizing::new([8; 32]),
            sealing_created_at: 0,
            previous_sealing: None,
            mailbox: [8; 32],
            public_capability: None,
            storage_key: Zeroizing::new([8; 32]),
        })?;
        tx.allocate_prekey_id()?;
        tx.put_peer(&peer(1, Some("moved")))?;
        tx.put_peer(&peer(5, Some("new")))?;
        tx.put_sessions(&id(1), &[vec![7]])?;
        tx.put_sessions(&id(6), &[vec![7]])?;
        tx.put_signed_prekey(&spk(10, 11))?;
        tx.put_signed_prekey(&spk(30, 31))?;
        tx.delete_signed_prekey(20)?;
        tx.put_one_time_prekey(1, &[0; 32])?;
        tx.delete_one_time_prekey(3)?;
        tx.put_one_time_kem_prekey(101, &[0; KEM_SEED_LEN])?;
        tx.delete_one_time_kem_prekey(104)?;
        tx.put_replay(30, &[1; 32], &id(1))?;
        tx.put_delivered(&[7; 32])?;
        tx.put_delivered(&[8; 32])?;
        tx.skip_prekey_ids(50)?;
        tx.delete_all_one_time_prekeys()?;
        tx.put_mailboxes(&id(1), &[ReadCapability::from_bytes([3; 32])])?;
        tx.put_mailboxes(&id(2), &[])?;
        tx.put_mailboxes(&id(6), &[ReadCapability::from_bytes([1; 32])])?;
        tx.put_discovery(&[1; 32], &discovery(9, None))?;
        tx.put_discovery(&[7; 32], &discovery(7, Some(vec![7])))?;
        tx.put_ch2_ids(&[1; 32], 2, &[([2; 32], [3; 32])])?;
        tx.put_ch2_ids(&[8; 32], 1, &[([2; 32], [3; 32])])?;
        Ok(())
    };
    suite_state(&mut store);
    let before = store.clone();
    let err = store
        .transaction(|tx| {
            writes(tx)?;
            Err::<(), _>(Error::ApiMisuse("abort"))
        })
        .unwrap_err();
    assert_eq!(err, Error::ApiMisuse("abort"));
    assert!(store == before);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.transaction(|tx| {
            writes(tx)?;
            panic!("the application panicked mid-step");
            #[allow(unreachable_code)]
            Ok(())
        });
    }));
    assert!(panicked.is_err());
    assert!(store == before);
    store.transaction(writes).unwrap();
    assert!(store != before);
}

/// Some state for the undo test to overwrite.
fn suite_state(store: &mut MemoryStore) {
    store
        .transaction(|tx| {
            tx.put_local(&LocalRecord {
                identity_seed: Zeroizing::new([1; 32]),
                sealing_secret: Zeroizing::new([2; 32]),
                sealing_created_at: 0,
                previous_sealing: None,
                mailbox: [3; 32],
                public_capability: None,
                storage_key: Zeroizing::new([4; 32]),
            })?;
            tx.allocate_prekey_id()?;
            tx.put_peer(&peer(1, Some("bob")))?;
            tx.put_peer(&peer(2, Some("moved")))?;
            tx.put_sessions(&id(1), &[vec![1], vec![2]])?;
            tx.put_signed_prekey(&spk(10, 12))?;
            tx.put_signed_prekey(&spk(20, 21))?;
            tx.put_replay(20, &[5; 32], &id(2))?;
            tx.put_replay(20, &[6; 32], &id(2))?;
            for i in 0..5 {
                tx.put_one_time_prekey(i, &[i as u8; 32])?;
                tx.put_one_time_kem_prekey(100 + i, &[i as u8; KEM_SEED_LEN])?;
            }
            tx.put_delivered(&[7; 32])?;
            tx.put_mailboxes(
                &id(1),
                &[
                    ReadCapability::from_bytes([1; 32]),
                    ReadCapability::from_bytes([2; 32]),
                ],
            )?;
            tx.put_mailboxes(&id(2), &[ReadCapability::from_bytes([4; 32])])?;
            tx.put_discovery(&[1; 32], &discovery(1, Some(vec![1; 10])))?;
            tx.put_ch2_ids(&[1; 32], 1, &[([1; 32], [2; 32])])?;
            Ok(())
        })
        .unwrap();
}
