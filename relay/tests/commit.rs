//! Blind commit ordering over HTTP (spec §12.5 "Commit", §15.6), against the real server on
//! 127.0.0.1: `POST /v1/commit` accepts one commit per epoch mailbox, refuses a second
//! (`CommitSlotTaken`, 812) and every later deposit (`EpochClosed`, 813), stores nothing it
//! refuses, and never stores the token. Like the store suite, every test runs on SQLite and,
//! when `BLINDRELAY_TEST_POSTGRES` holds a connection URL, on Postgres (its own schema; without
//! the variable the Postgres tests say they were skipped and pass).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;

use blindrelay::codec::Decode;
use blindrelay::group::{CommitRequest, EpochKeys, GroupEnvelope};
use blindrelay::relay::ErrorResponse;
use blindrelay_relay::store::postgres::PostgresStore;
use blindrelay_relay::store::sqlite::SqliteStore;
use blindrelay_relay::store::{Store, Value};
use blindrelay_relay::{
    limits, relay_with, start, ClientError, Clock, RateLimits, Relay, RelayClient, Running,
};
use rand_core::OsRng;

const NOW: u64 = 1_800_000_000;

struct Harness<S: Store> {
    relay: Arc<Relay<S>>,
    running: Running,
    client: RelayClient,
    _dir: tempfile::TempDir,
}

async fn serve<S: Store>(store: S, rates: RateLimits) -> Harness<S> {
    blindrelay_relay::log::set_enabled(false);
    let dir = tempfile::tempdir().unwrap();
    let discovery = relay_with(
        SqliteStore::open_in_memory().unwrap(),
        Clock::Fixed(NOW),
        dir.path(),
    )
    .unwrap()
    .discovery;
    let relay = Arc::new(Relay::with_rate_limits(
        store,
        Clock::Fixed(NOW),
        discovery,
        rates,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = start(Arc::clone(&relay), listener).unwrap();
    let client = RelayClient::new(&format!("http://{}", running.addr));
    Harness {
        relay,
        running,
        client,
        _dir: dir,
    }
}

fn epoch(n: u8) -> EpochKeys {
    EpochKeys::from_exporter_secret(&[n; 32])
}

fn seal(keys: &EpochKeys, text: &str) -> GroupEnvelope {
    keys.seal(text.as_bytes(), &mut OsRng).unwrap()
}

fn commit_of(keys: &EpochKeys, text: &str) -> Vec<u8> {
    CommitRequest::new(keys.token().clone(), seal(keys, text))
        .unwrap()
        .to_bytes()
}

fn refused(status: u16, code: u16) -> ClientError {
    ClientError::Refused { status, code }
}

/// The envelopes of `keys`' mailbox, in seq order.
async fn mailbox<S: Store>(h: &Harness<S>, keys: &EpochKeys) -> Vec<Vec<u8>> {
    let page = h.client.fetch(&keys.capability(), 0, 256).await.unwrap();
    assert!(!page.more);
    page.envelopes.into_iter().map(|e| e.envelope).collect()
}

/// The mailbox ids of the closed commit slots.
async fn closed_slots<S: Store>(h: &Harness<S>) -> Vec<Value> {
    let dump = h.relay.store.dump().await.unwrap();
    let slots = dump.iter().find(|t| t.name == "commit_slots").unwrap();
    assert_eq!(slots.columns, vec!["mailbox", "closed_at"]);
    slots.rows.iter().map(|r| r[0].clone()).collect()
}

/// Whether `bytes` appears inside any stored value.
async fn stored_anywhere<S: Store>(h: &Harness<S>, bytes: &[u8]) -> bool {
    h.relay.store.dump().await.unwrap().iter().any(|t| {
        t.rows.iter().flatten().any(|v| match v {
            Value::Bytes(b) => b.windows(bytes.len()).any(|w| w == bytes),
            _ => false,
        })
    })
}

async fn first_commit_wins_then_the_epoch_is_closed<S: Store>(h: Harness<S>) {
    let keys = epoch(1);
    let capability = keys.capability();
    let messages: Vec<Vec<u8>> = (0..3)
        .map(|i| seal(&keys, &format!("application message {i}")).to_bytes())
        .collect();
    for m in &messages {
        h.client.deposit(m.clone()).await.unwrap();
    }
    let mut sub = h.client.subscribe(&[&capability]).await.unwrap();
    for seq in 1..=3 {
        assert_eq!(sub.next().await.unwrap().unwrap().seq, seq);
    }
    // The first commit is accepted and pushed like a deposit.
    let winner = commit_of(&keys, "commit A");
    h.client.commit(&winner).await.unwrap();
    let winner_envelope = CommitRequest::parse(&winner).unwrap().envelope().to_bytes();
    let pushed = sub.next().await.unwrap().unwrap();
    assert_eq!((pushed.seq, &pushed.envelope), (4, &winner_envelope));
    sub.close().await;
    // A second commit for the epoch (another member's, same token) is refused.
    let loser = commit_of(&keys, "commit B");
    let loser_envelope = CommitRequest::parse(&loser).unwrap().envelope().to_bytes();
    assert_eq!(
        h.client.commit(&loser).await.unwrap_err(),
        refused(409, 812)
    );
    // So is any deposit after the commit.
    let late = seal(&keys, "too late").to_bytes();
    assert_eq!(
        h.client.deposit(late.clone()).await.unwrap_err(),
        refused(409, 813)
    );
    // The epoch's messages, then the commit, as the last envelope; nothing refused stored.
    let mut expected = messages.clone();
    expected.push(winner_envelope);
    assert_eq!(mailbox(&h, &keys).await, expected);
    assert!(!stored_anywhere(&h, &loser_envelope).await);
    assert!(!stored_anywhere(&h, &late).await);
    // The relay keeps the mailbox id of the closed slot, never the token.
    assert_eq!(
        closed_slots(&h).await,
        vec![Value::Bytes(keys.mailbox().to_vec())]
    );
    assert!(!stored_anywhere(&h, &keys.token().to_bytes()).await);
    assert!(!stored_anywhere(&h, &capability.to_bytes()).await);
    // The next epoch is another mailbox with its own slot.
    let next = epoch(2);
    h.client
        .deposit(seal(&next, "next epoch").to_bytes())
        .await
        .unwrap();
    h.client
        .commit(&commit_of(&next, "commit C"))
        .await
        .unwrap();
    assert_eq!(mailbox(&h, &next).await.len(), 2);
    h.running.stop().await;
}

async fn a_token_that_does_not_open_the_mailbox_is_refused<S: Store>(h: Harness<S>) {
    let (keys, stranger) = (epoch(1), epoch(2));
    let message = seal(&keys, "application message").to_bytes();
    h.client.deposit(message.clone()).await.unwrap();
    // The stranger's token with an envelope to the epoch's mailbox (and the other way
    // round): neither token opens the envelope's mailbox.
    for (token_of, envelope_to) in [(&stranger, &keys), (&keys, &stranger)] {
        let mut body = vec![0x01, 0x31];
        body.extend_from_slice(&token_of.token().to_bytes());
        body.extend_from_slice(&seal(envelope_to, "forged commit").to_bytes());
        assert_eq!(h.client.commit(&body).await.unwrap_err(), refused(400, 500));
    }
    // Nothing was stored and no slot closed: the epoch's own commit still goes through.
    assert_eq!(mailbox(&h, &keys).await, vec![message]);
    assert!(mailbox(&h, &stranger).await.is_empty());
    assert!(closed_slots(&h).await.is_empty());
    h.client.commit(&commit_of(&keys, "commit")).await.unwrap();
    assert_eq!(mailbox(&h, &keys).await.len(), 2);
    h.running.stop().await;
}

async fn bad_commit_bodies_are_refused_with_their_codes<S: Store>(h: Harness<S>) {
    let keys = epoch(1);
    let good = commit_of(&keys, "commit");
    let envelope = seal(&keys, "message").to_bytes();
    let mut trailing = good.clone();
    trailing.push(0);
    let mut wrong_version = good.clone();
    wrong_version[0] = 2;
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (vec![], 100),
        (good[..good.len() - 1].to_vec(), 100),
        (trailing, 101),
        (wrong_version, 103),
        // A group envelope alone is a deposit, not a commit.
        (envelope.clone(), 104),
    ];
    for (body, code) in cases {
        let e = h.client.commit(&body).await.unwrap_err();
        assert_eq!(e, refused(400, code), "{code}");
    }
    // A commit request is not a deposit.
    assert_eq!(
        h.client.deposit(good.clone()).await.unwrap_err(),
        refused(400, 104)
    );
    // Over the bound: refused from the Content-Length, before the body is read.
    let url = format!("http://{}/v1/commit", h.running.addr);
    let r = reqwest::Client::new()
        .post(&url)
        .body(vec![1u8; limits::MAX_COMMIT_LEN + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let code = ErrorResponse::decode_exact(&r.bytes().await.unwrap())
        .unwrap()
        .code;
    assert_eq!(code, 806);
    // A GET is the wrong method.
    assert_eq!(
        h.client.get("/v1/commit").await.unwrap_err(),
        refused(405, 809)
    );
    // Nothing stored, no slot closed; the good commit still goes through.
    assert!(mailbox(&h, &keys).await.is_empty());
    assert!(closed_slots(&h).await.is_empty());
    h.client.commit(&good).await.unwrap();
    assert_eq!(mailbox(&h, &keys).await.len(), 1);
    h.running.stop().await;
}

async fn commits_share_the_deposit_rate_limit<S: Store>(h: Harness<S>) {
    let keys = epoch(1);
    for i in 0..3 {
        h.client
            .deposit(seal(&keys, &format!("message {i}")).to_bytes())
            .await
            .unwrap();
    }
    assert_eq!(
        h.client
            .commit(&commit_of(&keys, "commit"))
            .await
            .unwrap_err(),
        refused(429, 807)
    );
    assert_eq!(mailbox(&h, &keys).await.len(), 3);
    assert!(closed_slots(&h).await.is_empty());
    // Another epoch's mailbox has its own bucket.
    h.client
        .commit(&commit_of(&epoch(2), "commit"))
        .await
        .unwrap();
    h.running.stop().await;
}

/// No refill: the deposit limit is exact.
fn three_deposits() -> RateLimits {
    RateLimits {
        deposit_burst: 3,
        deposit_per_sec: 0,
        ..RateLimits::default()
    }
}

/// One schema per Postgres test, named after the test and this process.
async fn postgres_store(test: &str) -> Option<PostgresStore> {
    let url = match std::env::var("BLINDRELAY_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            eprintln!("skipped {test}: BLINDRELAY_TEST_POSTGRES is not set");
            return None;
        }
    };
    let mut schema = format!("c{}_{test}", std::process::id());
    schema.truncate(63);
    let store = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .expect("connect to BLINDRELAY_TEST_POSTGRES");
    store.drop_schema().await.unwrap();
    store.create_schema().await.unwrap();
    Some(store)
}

macro_rules! suite {
    ($($check:ident => $rates:expr;)*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = SqliteStore::open(&dir.path().join("relay.db")).unwrap();
                    super::$check(serve(store, $rates).await).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    if let Some(store) = postgres_store(stringify!($check)).await {
                        let h = serve(store, $rates).await;
                        let relay = Arc::clone(&h.relay);
                        super::$check(h).await;
                        relay.store.drop_schema().await.unwrap();
                    }
                }
            )*
        }
    };
}

suite! {
    first_commit_wins_then_the_epoch_is_closed => RateLimits::default();
    a_token_that_does_not_open_the_mailbox_is_refused => RateLimits::default();
    bad_commit_bodies_are_refused_with_their_codes => RateLimits::default();
    commits_share_the_deposit_rate_limit => three_deposits();
}
