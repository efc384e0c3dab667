//! Every endpoint under malformed and tampered bodies (spec §12.9, §12.10): the relay answers
//! each with success or a refusal carrying a registered code, never a server error or a
//! dropped connection, and a refused request stores nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blindrelay::bundle::BundleKeys;
use blindrelay::codec::Encode;
use blindrelay::envelope::{Envelope, ENC_LEN};
use blindrelay::keys::{
    IdentityKeyPair, KemPrekeySecret, OneTimePrekeySecret, SealingKeySecret, SignedPrekeySecret,
};
use blindrelay::relay::{
    AckRequest, ClaimRequest, FetchRequest, OwnerRequest, OwnerRequestKind, Publication,
    PublishRequest, UploadKeysRequest,
};
use blindrelay::route::ReadCapability;
use blindrelay::wire::{PrekeyBundle, X25519PrekeyPublic};
use blindrelay::Error;
use blindrelay_relay::store::sqlite::SqliteStore;
use blindrelay_relay::{relay_with, start, ClientError, Clock, RelayClient};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::Arc;

const NOW: u64 = 1_800_000_000;

const ENDPOINTS: [&str; 12] = [
    "/v1/publish",
    "/v1/keys",
    "/v1/count",
    "/v1/delete",
    "/v1/claim",
    "/v1/deposit",
    "/v1/fetch",
    "/v1/ack",
    "/v1/register",
    "/v1/deregister",
    "/v1/lookup",
    "/v1/nope",
];

/// Valid bodies for each endpoint, to tamper with.
fn valid_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let rng = &mut ChaCha20Rng::seed_from_u64(7);
    let identity = IdentityKeyPair::generate(rng);
    let cap = ReadCapability::generate(rng);
    let bundle = PrekeyBundle::create(&BundleKeys {
        identity: &identity,
        mailbox: cap.mailbox(),
        sealing: &SealingKeySecret::generate(rng),
        signed_prekey: (1, &SignedPrekeySecret::generate(rng)),
        kem_prekey: (2, &KemPrekeySecret::generate(rng)),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    });
    let c = || ReadCapability::from_bytes(cap.to_bytes());
    let publication = Publication::create(&identity, &bundle, NOW, NOW + 86_400).unwrap();
    let envelope = Envelope::from_parts(cap.mailbox(), [5; ENC_LEN], vec![6; 256 + 16])
        .unwrap()
        .to_bytes();
    vec![
        (
            "/v1/publish",
            PublishRequest {
                capability: c(),
                publication,
            }
            .to_bytes(),
        ),
        (
            "/v1/keys",
            UploadKeysRequest {
                capability: c(),
                x25519: vec![X25519PrekeyPublic::sign_one_time(
                    &identity,
                    9,
                    &OneTimePrekeySecret::generate(rng),
                )],
                kem: vec![],
            }
            .to_bytes(),
        ),
        (
            "/v1/count",
            OwnerRequest {
                kind: OwnerRequestKind::Count,
                capability: c(),
            }
            .to_bytes(),
        ),
        (
            "/v1/claim",
            ClaimRequest {
                mailbox: cap.mailbox(),
            }
            .to_bytes(),
        ),
        ("/v1/deposit", envelope),
        (
            "/v1/fetch",
            FetchRequest {
                capability: c(),
                after: 0,
                limit: 10,
            }
            .to_bytes(),
        ),
        (
            "/v1/ack",
            AckRequest {
                capability: c(),
                up_to: 0,
            }
            .to_bytes(),
        ),
    ]
}

/// Whether `result` is a success or a refusal with a registered code and a 4xx status (5xx
/// only for 808/810, which these requests cannot cause).
fn acceptable(result: &Result<(u16, Vec<u8>), ClientError>) -> bool {
    match result {
        Ok(_) => true,
        Err(ClientError::Refused { status, code }) => {
            (400..500).contains(status)
                && Error::REGISTRY.iter().any(|(c, _)| c == code)
                && *code != 900
        }
        Err(_) => false,
    }
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    client: RelayClient,
    // The server runs until the runtime is dropped with the fixture.
    _running: blindrelay_relay::Running,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = rt.block_on(async {
        blindrelay_relay::log::set_enabled(false);
        let store = SqliteStore::open(&dir.path().join("relay.db")).unwrap();
        let relay = relay_with(store, Clock::Fixed(NOW), dir.path()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = start(Arc::new(relay), listener).unwrap();
        let client = RelayClient::new(&format!("http://{}", running.addr));
        (client, running)
    });
    let (client, running) = client;
    Fixture {
        rt,
        client,
        _running: running,
        _dir: dir,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn random_bodies_get_a_coded_refusal(
        endpoint in 0usize..ENDPOINTS.len(),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        header in prop_oneof![Just(None), (0u8..=3, 0u8..=0x30).prop_map(Some)],
    ) {
        let f = fixture();
        let mut body = body;
        if let Some((v, t)) = header {
            // Often start with a plausible header so decoding goes deeper.
            body.splice(0..0, [v, t]);
        }
        let r = f.rt.block_on(f.client.post(ENDPOINTS[endpoint], body));
        prop_assert!(acceptable(&r), "{}: {r:?}", ENDPOINTS[endpoint]);
    }

    #[test]
    fn tampered_valid_bodies_get_success_or_a_coded_refusal(
        which in 0usize..7,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let f = fixture();
        let (path, mut body) = valid_bodies().swap_remove(which);
        for (at, x) in flips {
            let i = at.index(body.len());
            body[i] ^= x;
        }
        if let Some(c) = cut {
            body.truncate(c.index(body.len()));
        }
        let r = f.rt.block_on(f.client.post(path, body));
        prop_assert!(acceptable(&r), "{path}: {r:?}");
    }
}

#[test]
fn a_refused_deposit_or_upload_stores_nothing() {
    let f = fixture();
    let bodies = valid_bodies();
    let rng = &mut ChaCha20Rng::seed_from_u64(7);
    let _identity = IdentityKeyPair::generate(rng);
    let cap = ReadCapability::generate(rng);
    f.rt.block_on(async {
        // Every tampered deposit to `cap`'s mailbox that is refused leaves it empty.
        let (_, deposit) = &bodies[4];
        for i in 0..deposit.len() {
            let mut b = deposit.clone();
            b[i] ^= 0x80;
            let r = f.client.post("/v1/deposit", b).await;
            if r.is_err() {
                continue;
            }
            // Accepted tamperings change only bytes the relay does not check (contents);
            // ack them so the mailbox is empty again.
            f.client.ack(&cap, u64::MAX).await.unwrap();
        }
        let page = f.client.fetch(&cap, 0, 256).await.unwrap();
        assert!(page.envelopes.is_empty());
        // An upload before any publication is refused and adds nothing.
        let (_, keys) = &bodies[1];
        assert_eq!(
            f.client
                .post("/v1/keys", keys.clone())
                .await
                .unwrap_err()
                .code(),
            Some(802)
        );
        let c = f.client.count(&cap).await.unwrap();
        assert_eq!((c.x25519, c.kem), (0, 0));
    });
}
