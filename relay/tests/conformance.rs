//! The reference relay passes the relay transcript of `test-vectors/relay.json` (spec
//! §12.12), on SQLite always and on Postgres when `BLINDRELAY_TEST_POSTGRES` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use blindrelay_relay::store::Store;
use blindrelay_relay::{relay_with, start, Clock};
use std::sync::Arc;

async fn replay_against<S: Store>(store: S) {
    blindrelay_relay::log::set_enabled(false);
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/relay.json"),
    )
    .unwrap();
    let (clock, steps) = blindrelay_relay::conformance::transcript(&doc).unwrap();
    assert!(steps.len() >= 20, "the transcript lost its steps");
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(store, Clock::Fixed(clock), dir.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = start(Arc::new(relay), listener).unwrap();
    let mismatches =
        blindrelay_relay::conformance::replay(&format!("http://{}", running.addr), &steps)
            .await
            .unwrap();
    running.stop().await;
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[tokio::test]
async fn sqlite_relay_passes_the_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        blindrelay_relay::store::sqlite::SqliteStore::open(&dir.path().join("relay.db")).unwrap();
    replay_against(store).await;
}

#[tokio::test]
async fn postgres_relay_passes_the_transcript() {
    let Ok(url) = std::env::var("BLINDRELAY_TEST_POSTGRES") else {
        eprintln!("postgres_relay_passes_the_transcript: skipped (BLINDRELAY_TEST_POSTGRES unset)");
        return;
    };
    let schema = format!("conf{}", std::process::id());
    let store =
        blindrelay_relay::store::postgres::PostgresStore::connect_with_schema(&url, &schema)
            .await
            .unwrap();
    replay_against(store).await;
    blindrelay_relay::store::postgres::PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap()
        .drop_schema()
        .await
        .unwrap();
}
