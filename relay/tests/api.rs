//! End-to-end tests of the relay API (spec §12) over HTTP and WebSocket on 127.0.0.1,
//! against the real server with SQLite in a temporary directory. Each refusal is checked by
//! its stable code, and every attack a client or a stranger could try on another owner's
//! mailbox or bundle is shown to fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blindrelay::bundle::BundleKeys;
use blindrelay::codec::{Decode, Encode};
use blindrelay::contact::{ContactId, DiscoverySecret, GenerationMark, LookupRequest};
use blindrelay::envelope::{Envelope, ENC_LEN};
use blindrelay::keys::{
    IdentityKeyPair, KemPrekeySecret, OneTimeKemPrekeySecret, OneTimePrekeySecret,
    SealingKeySecret, SignedPrekeySecret,
};
use blindrelay::relay::{
    ErrorResponse, Publication, PublishRequest, RegisterRequest, UploadKeysRequest, MAX_DEPOSIT_LEN,
};
use blindrelay::route::ReadCapability;
use blindrelay::wire::{KemPrekeyPublic, PrekeyBundle, X25519PrekeyPublic};
use blindrelay_relay::store::sqlite::SqliteStore;
use blindrelay_relay::{relay_with, start, Clock, RateLimits, Relay, RelayClient, Running};
use rand_core::{OsRng, RngCore};
use std::sync::Arc;

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

struct Harness {
    running: Running,
    client: RelayClient,
    _dir: tempfile::TempDir,
}

async fn relay_at(clock: Clock) -> Harness {
    blindrelay_relay::log::set_enabled(false);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("relay.db")).unwrap();
    let relay = relay_with(store, clock, dir.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = start(Arc::new(relay), listener).unwrap();
    let client = RelayClient::new(&format!("http://{}", running.addr));
    Harness {
        running,
        client,
        _dir: dir,
    }
}

struct Owner {
    identity: IdentityKeyPair,
    capability: ReadCapability,
    bundle: PrekeyBundle,
}

fn owner() -> Owner {
    let rng = &mut OsRng;
    let identity = IdentityKeyPair::generate(rng);
    let capability = ReadCapability::generate(rng);
    let bundle = PrekeyBundle::create(&BundleKeys {
        identity: &identity,
        mailbox: capability.mailbox(),
        sealing: &SealingKeySecret::generate(rng),
        signed_prekey: (1, &SignedPrekeySecret::generate(rng)),
        kem_prekey: (2, &KemPrekeySecret::generate(rng)),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    });
    Owner {
        identity,
        capability,
        bundle,
    }
}

impl Owner {
    fn cap(&self) -> ReadCapability {
        ReadCapability::from_bytes(self.capability.to_bytes())
    }

    fn publish(&self, issued_at: u64) -> PublishRequest {
        PublishRequest {
            capability: self.cap(),
            publication: Publication::create(
                &self.identity,
                &self.bundle,
                issued_at,
                issued_at + 7 * DAY,
            )
            .unwrap(),
        }
    }

    fn keys(&self, ids: core::ops::Range<u32>) -> UploadKeysRequest {
        let rng = &mut OsRng;
        UploadKeysRequest {
            capability: self.cap(),
            x25519: ids
                .clone()
                .map(|i| {
                    X25519PrekeyPublic::sign_one_time(
                        &self.identity,
                        i,
                        &OneTimePrekeySecret::generate(rng),
                    )
                })
                .collect(),
            kem: ids
                .map(|i| {
                    KemPrekeyPublic::sign_one_time(
                        &self.identity,
                        1000 + i,
                        &OneTimeKemPrekeySecret::generate(rng),
                    )
                })
                .collect(),
        }
    }
}

/// A structurally valid HPKE envelope (spec §8.5) to `mailbox` with random contents: the
/// relay checks structure and length class, never contents.
fn envelope_to(mailbox: [u8; 32], padded: usize) -> Vec<u8> {
    let mut enc = [0u8; ENC_LEN];
    OsRng.fill_bytes(&mut enc);
    let mut ct = vec![0u8; padded + 16];
    OsRng.fill_bytes(&mut ct);
    Envelope::from_parts(mailbox, enc, ct).unwrap().to_bytes()
}

fn code_of(e: &blindrelay_relay::ClientError) -> u16 {
    e.code().unwrap_or_else(|| panic!("not a refusal: {e}"))
}

#[tokio::test]
async fn bundles_publish_claim_and_one_time_keys_go_out_once() {
    let h = relay_at(Clock::Fixed(NOW)).await;
    let alice = owner();
    h.client.publish(&alice.publish(NOW)).await.unwrap();

    // Republishing the same (or an older) publication is refused: no rollback.
    let e = h.client.publish(&alice.publish(NOW)).await.unwrap_err();
    assert_eq!(code_of(&e), 801);
    assert_eq!(
        code_of(&h.client.publish(&alice.publish(NOW - 1)).await.unwrap_err()),
        801
    );
    // A stranger cannot publish over Alice's mailbox with its own capability.
    let mallory = owner();
    let mut forged = alice.publish(NOW + 1);
    forged.capability = mallory.cap();
    assert_eq!(code_of(&h.client.publish(&forged).await.unwrap_err()), 800);
    // An expired publication is refused by the relay's clock.
    assert_eq!(
        code_of(
            &h.client
                .publish(&alice.publish(NOW - 8 * DAY))
                .await
                .unwrap_err()
        ),
        700
    );

    // Upload 3 + 3 keys; the stranger cannot count or add to Alice's pool (its capability
    // opens its own, empty, unpublished mailbox).
    let counts = h.client.upload_keys(&alice.keys(1..4)).await.unwrap();
    assert_eq!((counts.x25519, counts.kem), (3, 3));
    let c = h.client.count(&mallory.cap()).await.unwrap();
    assert_eq!((c.x25519, c.kem), (0, 0));
    let mut foreign = alice.keys(10..11);
    foreign.capability = mallory.cap();
    assert_eq!(
        code_of(&h.client.upload_keys(&foreign).await.unwrap_err()),
        802
    );
    // Keys signed by another identity are refused whole.
    let mut wrong = mallory.keys(20..22);
    wrong.capability = alice.cap();
    assert_eq!(
        code_of(&h.client.upload_keys(&wrong).await.unwrap_err()),
        201
    );
    let c = h.client.count(&alice.cap()).await.unwrap();
    assert_eq!((c.x25519, c.kem), (3, 3));

    // Four claims: three with keys, oldest first, each once; then the last resort.
    let mut seen = Vec::new();
    for i in 0..4u32 {
        let claim = h.client.claim(alice.capability.mailbox()).await.unwrap();
        let verified = claim.verify(&alice.capability.mailbox(), NOW).unwrap();
        let b = verified.bundle();
        if i < 3 {
            assert_eq!(b.one_time_prekey.as_ref().unwrap().id, i + 1);
            assert_eq!(b.one_time_kem_prekey.as_ref().unwrap().id, 1001 + i);
            seen.push(b.one_time_prekey.as_ref().unwrap().id);
        } else {
            assert!(b.one_time_prekey.is_none() && b.one_time_kem_prekey.is_none());
        }
    }
    assert_eq!(seen, vec![1, 2, 3]);
    let c = h.client.count(&alice.cap()).await.unwrap();
    assert_eq!((c.x25519, c.kem), (0, 0));
    // Unknown mailbox.
    assert_eq!(code_of(&h.client.claim([9; 32]).await.unwrap_err()), 802);
    // Delete: only the owner's capability deletes, and then nothing is claimable.
    h.client.delete(&mallory.cap()).await.unwrap();
    h.client.claim(alice.capability.mailbox()).await.unwrap();
    h.client.delete(&alice.cap()).await.unwrap();
    assert_eq!(
        code_of(
            &h.client
                .claim(alice.capability.mailbox())
                .await
                .unwrap_err()
        ),
        802
    );
    h.running.stop().await;
}

#[tokio::test]
async fn a_new_identity_for_a_mailbox_drops_the_old_pool() {
    let h = relay_at(Clock::Fixed(NOW)).await;
    let alice = owner();
    h.client.publish(&alice.publish(NOW)).await.unwrap();
    h.client.upload_keys(&alice.keys(1..3)).await.unwrap();
    // Same mailbox (same capability), new identity: the old one-time keys cannot verify
    // under it, so they must not be handed out with the new bundle.
    let mut reborn = owner();
    reborn.capability = alice.cap();
    reborn.bundle = PrekeyBundle::create(&BundleKeys {
        identity: &reborn.identity,
        mailbox: alice.capability.mailbox(),
        sealing: &SealingKeySecret::generate(&mut OsRng),
        signed_prekey: (1, &SignedPrekeySecret::generate(&mut OsRng)),
        kem_prekey: (2, &KemPrekeySecret::generate(&mut OsRng)),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    });
    h.client.publish(&reborn.publish(NOW + 1)).await.unwrap();
    let c = h.client.count(&alice.cap()).await.unwrap();
    assert_eq!((c.x25519, c.kem), (0, 0));
    let claim = h.client.claim(alice.capability.mailbox()).await.unwrap();
    let v = claim.verify(&alice.capability.mailbox(), NOW + 1).unwrap();
    assert_eq!(v.identity(), reborn.identity.public());
    h.running.stop().await;
}

#[tokio::test]
async fn mailboxes_deposit_fetch_ack_and_only_the_capability_reads() {
    let h = relay_at(Clock::System).await;
    let bob = owner();
    let mailbox = bob.capability.mailbox();
    let sent: Vec<Vec<u8>> = (0..5).map(|_| envelope_to(mailbox, 256)).collect();
    for e in &sent {
        h.client.deposit(e.clone()).await.unwrap();
    }
    // A stranger's capability opens only its own mailbox: empty.
    let mallory = owner();
    let page = h.client.fetch(&mallory.cap(), 0, 256).await.unwrap();
    assert!(page.envelopes.is_empty() && !page.more);
    // Bob pages through.
    let page = h.client.fetch(&bob.cap(), 0, 2).await.unwrap();
    assert_eq!(page.envelopes.len(), 2);
    assert!(page.more);
    assert_eq!(page.envelopes[0].envelope, sent[0]);
    assert_eq!(page.envelopes[0].seq, 1);
    let rest = h.client.fetch(&bob.cap(), 2, 256).await.unwrap();
    assert_eq!(
        rest.envelopes.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert!(!rest.more);
    // A stranger's ack cannot delete Bob's envelopes.
    h.client.ack(&mallory.cap(), u64::MAX).await.unwrap();
    assert_eq!(
        h.client
            .fetch(&bob.cap(), 0, 256)
            .await
            .unwrap()
            .envelopes
            .len(),
        5
    );
    // Bob acks up to 3: those never come back.
    h.client.ack(&bob.cap(), 3).await.unwrap();
    let left = h.client.fetch(&bob.cap(), 0, 256).await.unwrap();
    assert_eq!(
        left.envelopes.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![4, 5]
    );
    assert_eq!(left.envelopes[1].envelope, sent[4]);
    h.running.stop().await;
}

#[tokio::test]
async fn bad_bodies_are_refused_with_their_codes_and_store_nothing() {
    let h = relay_at(Clock::System).await;
    let bob = owner();
    let mailbox = bob.capability.mailbox();
    // Garbage, a wrong version, a wrong type, a truncated and an over-long envelope.
    let good = envelope_to(mailbox, 256);
    let mut wrong_version = good.clone();
    wrong_version[0] = 2;
    let mut wrong_type = good.clone();
    wrong_type[1] = 0x03;
    let mut trailing = good.clone();
    trailing.push(0);
    let mut not_padded = envelope_to(mailbox, 256);
    not_padded.truncate(not_padded.len() - 1);
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (vec![], 100),
        (vec![1], 100),
        (wrong_version, 103),
        (wrong_type, 104),
        (trailing, 101),
        (good[..good.len() - 1].to_vec(), 100),
        (not_padded, 100),
    ];
    for (body, code) in cases {
        let e = h.client.deposit(body).await.unwrap_err();
        assert_eq!(e.code(), Some(code), "{e}");
    }
    // Every endpoint refuses a body of another type with 104 or a decode code.
    for path in [
        "/v1/publish",
        "/v1/keys",
        "/v1/count",
        "/v1/delete",
        "/v1/claim",
        "/v1/fetch",
        "/v1/ack",
        "/v1/register",
        "/v1/deregister",
        "/v1/lookup",
    ] {
        let e = h.client.post(path, good[..40].to_vec()).await.unwrap_err();
        let code = e.code().unwrap();
        assert!((100..200).contains(&code), "{path}: {e}");
    }
    // Unknown path and wrong method.
    let e = h.client.post("/v1/nope", vec![]).await.unwrap_err();
    assert_eq!(
        e,
        blindrelay_relay::ClientError::Refused {
            status: 404,
            code: 809
        }
    );
    let e = h.client.get("/v1/deposit").await.unwrap_err();
    assert_eq!(
        e,
        blindrelay_relay::ClientError::Refused {
            status: 405,
            code: 809
        }
    );
    // Nothing was stored by any refusal.
    assert!(h
        .client
        .fetch(&bob.cap(), 0, 256)
        .await
        .unwrap()
        .envelopes
        .is_empty());
    h.running.stop().await;
}

#[tokio::test]
async fn oversize_bodies_are_refused_before_they_are_read() {
    let h = relay_at(Clock::System).await;
    let url = format!("http://{}/v1/deposit", h.running.addr);
    let http = reqwest::Client::new();
    // Declared too long: refused from the Content-Length.
    let big = vec![1u8; MAX_DEPOSIT_LEN + 1];
    let r = http.post(&url).body(big.clone()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let code = ErrorResponse::decode_exact(&r.bytes().await.unwrap())
        .unwrap()
        .code;
    assert_eq!(code, 806);
    // No Content-Length (chunked): read only up to the limit, then refused.
    let stream = futures_util::stream::iter(
        big.chunks(8192)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let r = http
        .post(&url)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    // The small endpoints have small limits: a 1 MiB fetch body is refused the same way.
    let r = http
        .post(format!("http://{}/v1/fetch", h.running.addr))
        .body(vec![0u8; 1 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    h.running.stop().await;
}

#[tokio::test]
async fn websocket_pushes_backlog_then_live_deposits() {
    let h = relay_at(Clock::System).await;
    let bob = owner();
    let mailbox = bob.capability.mailbox();
    let early = envelope_to(mailbox, 256);
    h.client.deposit(early.clone()).await.unwrap();
    let cap = bob.cap();
    let mut sub = h.client.subscribe(&[&cap]).await.unwrap();
    let first = sub.next().await.unwrap().unwrap();
    assert_eq!((first.mailbox, first.seq), (mailbox, 1));
    assert_eq!(first.envelope, early);
    // A live deposit is pushed.
    let live = envelope_to(mailbox, 512);
    h.client.deposit(live.clone()).await.unwrap();
    let pushed = sub.next().await.unwrap().unwrap();
    assert_eq!(pushed.seq, 2);
    assert_eq!(pushed.envelope, live);
    // Another mailbox's deposit is not pushed to Bob: the next frame is Bob's third.
    h.client.deposit(envelope_to([7; 32], 256)).await.unwrap();
    let third = envelope_to(mailbox, 256);
    h.client.deposit(third.clone()).await.unwrap();
    let next = sub.next().await.unwrap().unwrap();
    assert_eq!((next.mailbox, next.seq), (mailbox, 3));
    sub.close().await;
    // A data frame after the subscription closes the connection (§12.6).
    {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let url = format!("ws://{}/v1/stream", h.running.addr);
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let subscribe = blindrelay::relay::SubscribeRequest {
            capabilities: vec![bob.cap()],
        };
        ws.send(Message::Binary(subscribe.to_bytes().into()))
            .await
            .unwrap();
        // The backlog (three envelopes) first.
        for _ in 0..3 {
            assert!(matches!(ws.next().await, Some(Ok(Message::Binary(_)))));
        }
        ws.send(Message::Binary(vec![1, 2, 3].into()))
            .await
            .unwrap();
        let end = ws.next().await;
        assert!(
            matches!(end, None | Some(Ok(Message::Close(_))) | Some(Err(_))),
            "{end:?}"
        );
    }
    // A malformed subscription gets an ErrorResponse frame.
    let mut bad = h.client.subscribe(&[]).await.unwrap();
    let e = bad.next().await.unwrap_err();
    assert_eq!(e.code(), Some(102));
    h.running.stop().await;
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Spec §9.6: the relay signs parameters with issue and expiry times from its clock, and
/// signs them afresh once they are a day old; a client refuses them once expired.
#[tokio::test]
async fn discovery_parameters_carry_fresh_times_and_are_re_signed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay_with(
        SqliteStore::open(&dir.path().join("relay.db")).unwrap(),
        Clock::Fixed(NOW),
        dir.path(),
    )
    .unwrap();
    let key = relay.discovery.relay_key();
    let first = relay.discovery.at(NOW, None);
    assert_eq!(first.issued_at(), NOW);
    assert_eq!(
        first.expires_at(),
        NOW + blindrelay::contact::MAX_PARAMETERS_LIFETIME_SECS
    );
    assert_eq!(
        relay.discovery.at(NOW + 3600, None),
        first,
        "kept within a day"
    );
    let later = NOW + blindrelay_relay::server::RESIGN_AFTER_SECS;
    let second = relay.discovery.at(later, None);
    assert_eq!(second.issued_at(), later);
    assert_eq!(second.salt_generation(), first.salt_generation());
    assert_eq!(second.salt_nonce(), first.salt_nonce());
    // A client with the first ones a week later refuses them; the fresh ones verify.
    let week = NOW + blindrelay::contact::MAX_PARAMETERS_LIFETIME_SECS;
    assert_eq!(
        first
            .verify(&key, week, &mut GenerationMark::new())
            .unwrap_err(),
        blindrelay::Error::Expired
    );
    second
        .verify(&key, week, &mut GenerationMark::new())
        .unwrap();
}

#[tokio::test]
async fn discovery_register_lookup_deregister() {
    let h = relay_at(Clock::System).await;
    let relay_key = {
        // The relay's key is in its data dir; clients pin it out of band.
        let key = blindrelay_relay::server::DiscoveryKey::load_or_create(
            &h._dir.path().join("discovery.key"),
        )
        .unwrap();
        key.identity.public().signing
    };
    let params = h.client.discovery().await.unwrap();
    let discovery = params
        .verify(&relay_key, unix_now(), &mut GenerationMark::new())
        .unwrap();
    let carol = owner();
    let id = ContactId::from_bytes([0x42; 32]);
    let ids = [ContactId::from_bytes([0x42; 32])];
    let reg = discovery
        .register_discoverable(&id, &carol.capability.mailbox())
        .unwrap();
    h.client
        .register(&RegisterRequest {
            capability: carol.cap(),
            registration: reg,
        })
        .await
        .unwrap();
    let secret = DiscoverySecret::generate(&mut OsRng);
    let request: LookupRequest = discovery.lookup_batch(&secret, &ids).unwrap().remove(0);
    let response = h.client.lookup(&request).await.unwrap();
    let matches = discovery.match_response(&request, &response, &ids).unwrap();
    assert_eq!(matches.len(), 1);
    let mailbox = carol.capability.mailbox();
    assert_eq!(matches[0].records, vec![&mailbox[..]]);
    // A stranger's deregistration removes nothing; Carol's removes hers.
    h.client.deregister(&owner().cap()).await.unwrap();
    let response = h.client.lookup(&request).await.unwrap();
    assert_eq!(
        discovery
            .match_response(&request, &response, &ids)
            .unwrap()
            .len(),
        1
    );
    h.client.deregister(&carol.cap()).await.unwrap();
    let response = h.client.lookup(&request).await.unwrap();
    assert!(discovery
        .match_response(&request, &response, &ids)
        .unwrap()
        .is_empty());
    h.running.stop().await;
}

/// Spec §9.8: a bucket is a set. Mallory registers, from her own account, exactly Carol's
/// entry (same contact id, same record): before the fix the relay answered the bucket with
/// a repeated entry, which no client can decode, so one registration broke every lookup of
/// that bucket. Now the lookup answers the entry once and still matches Carol.
#[tokio::test]
async fn an_entry_registered_twice_does_not_break_its_bucket() {
    let h = relay_at(Clock::System).await;
    let relay_key = blindrelay_relay::server::DiscoveryKey::load_or_create(
        &h._dir.path().join("discovery.key"),
    )
    .unwrap()
    .identity
    .public()
    .signing;
    let discovery = h
        .client
        .discovery()
        .await
        .unwrap()
        .verify(&relay_key, unix_now(), &mut GenerationMark::new())
        .unwrap();
    let (carol, mallory) = (owner(), owner());
    let id = ContactId::from_bytes([0x43; 32]);
    let record = carol.capability.mailbox();
    for who in [&carol, &mallory] {
        let registration = discovery.register_discoverable(&id, &record).unwrap();
        h.client
            .register(&RegisterRequest {
                capability: who.cap(),
                registration,
            })
            .await
            .unwrap();
    }
    let ids = [ContactId::from_bytes([0x43; 32])];
    let request = discovery
        .lookup_batch(&DiscoverySecret::generate(&mut OsRng), &ids)
        .unwrap()
        .remove(0);
    let response = h.client.lookup(&request).await.unwrap();
    let matches = discovery.match_response(&request, &response, &ids).unwrap();
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0].records, vec![&record[..]], "one entry, not two");
    h.running.stop().await;
}

#[tokio::test]
async fn deposits_and_claims_are_rate_limited_per_mailbox_not_per_sender() {
    // No refill: the limit is exact, whatever the machine's speed.
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("relay.db")).unwrap();
    let params = relay_with(
        SqliteStore::open(&dir.path().join("other.db")).unwrap(),
        Clock::Fixed(NOW),
        dir.path(),
    )
    .unwrap()
    .discovery;
    let rates = RateLimits {
        deposit_burst: 5,
        deposit_per_sec: 0,
        claim_burst: 3,
        claim_per_sec: 0,
        ..RateLimits::default()
    };
    let relay = Relay::with_rate_limits(store, Clock::Fixed(NOW), params, rates);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = start(Arc::new(relay), listener).unwrap();
    let client = RelayClient::new(&format!("http://{}", running.addr));
    let target = owner().capability.mailbox();
    for _ in 0..5 {
        client.deposit(envelope_to(target, 256)).await.unwrap();
    }
    let e = client.deposit(envelope_to(target, 256)).await.unwrap_err();
    assert_eq!(
        e,
        blindrelay_relay::ClientError::Refused {
            status: 429,
            code: 807
        }
    );
    // Another mailbox has its own bucket.
    client
        .deposit(envelope_to(owner().capability.mailbox(), 256))
        .await
        .unwrap();
    // Claims: anyone can claim, but an owner's pool drains at most at the claim rate.
    let alice = owner();
    client.publish(&alice.publish(NOW)).await.unwrap();
    for _ in 0..3 {
        client.claim(alice.capability.mailbox()).await.unwrap();
    }
    assert_eq!(
        code_of(&client.claim(alice.capability.mailbox()).await.unwrap_err()),
        807
    );
    running.stop().await;
}

#[tokio::test]
async fn the_relay_speaks_http2_as_well_as_http1() {
    let h = relay_at(Clock::System).await;
    let url = format!("http://{}/v1/discovery", h.running.addr);
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = h2.get(&url).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status().as_u16(), 200);
    let r = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    h.running.stop().await;
}
