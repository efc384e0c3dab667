//! End-to-end tests of suite `ch2`'s oracle and the relay's OPRF endpoints (spec §14), on
//! 127.0.0.1 with SQLite in temporary directories: client → relay → oracle → relay →
//! client, the oracle's credential and budget, the relay's per-account quota, body bounds,
//! key rotation, and a relay without an oracle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blindrelay::codec::{Decode, Encode};
use blindrelay::contact::{
    BucketBits, Ch2Id, ContactId, DiscoveryParameters, DiscoverySecret, GenerationMark,
    OprfRequest, OracleBinding, OracleParameters, SaltNonce, Suite, VerifiedDiscovery,
    VerifiedOracle,
};
use blindrelay::relay::{ErrorResponse, RegisterRequest};
use blindrelay::route::ReadCapability;
use blindrelay::IdentityKeyPair;
use blindrelay_relay::limits::{self, MAX_OPRF_LEN, MAX_OPRF_REQUEST_LEN};
use blindrelay_relay::oracle::store::{OracleStore, SqliteOracleStore};
use blindrelay_relay::oracle::{self, oracle_with, Oracle, OracleKeyFile, RelayCredential};
use blindrelay_relay::server::DiscoveryKey;
use blindrelay_relay::store::sqlite::SqliteStore;
use blindrelay_relay::store::{Store, Value};
use blindrelay_relay::{
    relay_with, start, ClientError, Clock, OracleClient, OracleLink, RateLimits, Relay,
    RelayClient, Running,
};
use rand_core::{OsRng, RngCore};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NOW: u64 = 1_800_000_000;
const TODAY: u64 = NOW / 86_400;
const CREDENTIAL: [u8; 32] = [0x11; 32];
const RELAY: &str = "relay-a";

struct TestOracle {
    oracle: Arc<Oracle<SqliteOracleStore>>,
    running: Running,
    url: String,
    client: OracleClient,
}

async fn start_oracle(dir: &Path, budget: u64) -> TestOracle {
    blindrelay_relay::log::set_enabled(false);
    let store = SqliteOracleStore::open(&dir.join("oracle.db")).unwrap();
    let relays = vec![RelayCredential {
        name: RELAY.into(),
        secret: CREDENTIAL,
        budget,
    }];
    let oracle = Arc::new(oracle_with(store, Clock::Fixed(NOW), dir, relays).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = oracle::start(Arc::clone(&oracle), listener).unwrap();
    let url = format!("http://{}", running.addr);
    TestOracle {
        oracle,
        client: OracleClient::new(&url),
        running,
        url,
    }
}

impl TestOracle {
    async fn used(&self) -> u64 {
        self.oracle.store.usage(RELAY.into(), TODAY).await.unwrap()
    }

    /// The verified parameters, as a client that pinned the oracle key gets them.
    async fn verified(&self) -> VerifiedOracle {
        self.client
            .parameters()
            .await
            .unwrap()
            .verify(&self.oracle.oracle_key(), NOW)
            .unwrap()
    }
}

/// A relay at the fixed clock, forwarding to `oracle_url` (if any) with `CREDENTIAL`,
/// with a per-account quota of `quota` elements per day.
async fn start_relay(
    dir: &Path,
    oracle: Option<(&str, [u8; 32])>,
    quota: u64,
) -> (Running, RelayClient) {
    blindrelay_relay::log::set_enabled(false);
    let discovery = relay_with(
        SqliteStore::open(&dir.join("scratch.db")).unwrap(),
        Clock::Fixed(NOW),
        dir,
    )
    .unwrap()
    .discovery;
    let rates = RateLimits {
        oprf_elements_per_day: quota,
        ..RateLimits::default()
    };
    let store = SqliteStore::open(&dir.join("relay.db")).unwrap();
    let mut relay = Relay::with_rate_limits(store, Clock::Fixed(NOW), discovery, rates);
    if let Some((url, key)) = oracle {
        relay = relay.with_oracle(OracleLink::new(url, CREDENTIAL, key).unwrap());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = start(Arc::new(relay), listener).unwrap();
    let client = RelayClient::new(&format!("http://{}", running.addr));
    (running, client)
}

fn ids(n: usize) -> Vec<ContactId> {
    (0..n)
        .map(|_| {
            let mut b = [0u8; 32];
            OsRng.fill_bytes(&mut b);
            ContactId::from_bytes(b)
        })
        .collect()
}

/// `ch2` discovery parameters of some relay naming `v`'s oracle and epoch, verified: what
/// a client needs before it blinds (tests of the forwarding path do not need the serving
/// relay's own, which `a_client_evaluates_through_its_relay_…` checks).
fn naming(v: &VerifiedOracle) -> VerifiedDiscovery {
    let relay = IdentityKeyPair::from_seed(&[3; 32]);
    DiscoveryParameters::sign_ch2(
        &relay,
        v.key_epoch(),
        &SaltNonce([4; 32]),
        BucketBits::new(12).unwrap(),
        1024,
        OracleBinding {
            oracle_key: *v.oracle_key(),
            key_epoch: v.key_epoch(),
        },
        (NOW, NOW + 3600),
    )
    .unwrap()
    .verify(&relay.public().signing, NOW, &mut GenerationMark::new())
    .unwrap()
}

fn request(v: &VerifiedOracle, n: usize) -> OprfRequest {
    v.request(&mut OsRng, &naming(v), &ids(n)).unwrap().1
}

fn refused(e: &ClientError) -> (u16, u16) {
    match e {
        ClientError::Refused { status, code } => (*status, *code),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn wrapped(capability: &ReadCapability, request: &OprfRequest) -> Vec<u8> {
    let mut body = vec![0x01, 0x30];
    body.extend_from_slice(&capability.to_bytes());
    body.extend_from_slice(&request.to_bytes());
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_evaluates_through_its_relay_and_gets_the_oracles_prf() {
    let odir = tempfile::tempdir().unwrap();
    let rdir = tempfile::tempdir().unwrap();
    let o = start_oracle(odir.path(), 1_000_000).await;
    let (relay, client) =
        start_relay(rdir.path(), Some((&o.url, o.oracle.oracle_key())), 5_000).await;
    // The client pins the oracle's key and verifies what its relay serves.
    let served = client.oracle_parameters().await.unwrap();
    assert_eq!(
        served.to_bytes(),
        o.client.parameters().await.unwrap().to_bytes()
    );
    let pinned = o.oracle.oracle_key();
    let v = served.verify(&pinned, NOW).unwrap();
    assert_eq!(v.key_epoch(), 1);
    // Another pinned key refuses them.
    let other = OracleKeyFile::from_seeds(&[9; 32], &[9; 32]).oracle_key();
    assert!(client
        .oracle_parameters()
        .await
        .unwrap()
        .verify(&other, NOW)
        .is_err());

    // The relay's discovery parameters are ch2 and name this oracle at its key epoch, with
    // the salt generation = the key epoch (spec §13.9).
    let params = client.discovery().await.unwrap();
    assert_eq!(params.suite(), Suite::Ch2);
    assert_eq!(
        params.oracle(),
        Some(OracleBinding {
            oracle_key: pinned,
            key_epoch: 1
        })
    );
    assert_eq!(params.salt_generation(), 1);
    let stranger = OracleKeyFile::from_seeds(&[9; 32], &[9; 32]).oracle_key();
    assert!(params
        .clone()
        .verify(&stranger, NOW, &mut GenerationMark::new())
        .is_err());
    let discovery = DiscoveryKey::load_or_create(&rdir.path().join("discovery.key"))
        .map(|k| k.identity.public().signing)
        .map(|key| {
            params
                .verify(&key, NOW, &mut GenerationMark::new())
                .unwrap()
        })
        .unwrap();
    let contacts = ids(25);
    let (state, req) = v.request(&mut OsRng, &discovery, &contacts).unwrap();
    let account = ReadCapability::generate(&mut OsRng);
    let response = client.oprf(&account, &req).await.unwrap();
    let ch2 = v.finalize(state, &response).unwrap();
    // Ground truth: the oracle's key of epoch 1, from its key file, unblinded.
    let key = OracleKeyFile::load_or_create(&odir.path().join("oracle.key"))
        .unwrap()
        .oprf_key(1)
        .unwrap();
    assert_eq!(ch2.len(), contacts.len());
    for (id, c) in contacts.iter().zip(&ch2) {
        assert_eq!(
            c.as_contact_id(),
            key.evaluate_unblinded(id).unwrap().as_contact_id()
        );
    }
    assert_eq!(
        o.used().await,
        25,
        "the oracle charged the relay per element"
    );
    // The largest request passes the relay's and the oracle's bounds.
    let big = request(&v, 4096);
    let quota = start_relay(
        tempfile::tempdir().unwrap().path(),
        Some((&o.url, o.oracle.oracle_key())),
        5_000,
    )
    .await;
    quota.1.oprf(&account, &big).await.unwrap();
    quota.0.stop().await;
    relay.stop().await;
    o.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oracle_refuses_a_missing_or_unknown_credential_and_charges_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let o = start_oracle(dir.path(), 100).await;
    let body = request(&o.verified().await, 3).to_bytes();
    let e = o.client.evaluate_raw(None, body.clone()).await.unwrap_err();
    assert_eq!(refused(&e), (401, 800));
    let e = o
        .client
        .evaluate_raw(Some(&[0x12; 32]), body.clone())
        .await
        .unwrap_err();
    assert_eq!(refused(&e), (401, 800));
    // Malformed headers: not Bearer, short, two spaces, lowercase scheme, non-hex.
    let http = reqwest::Client::new();
    let hex: String = CREDENTIAL.iter().map(|b| format!("{b:02x}")).collect();
    for value in [
        format!("Basic {hex}"),
        format!("Bearer {}", &hex[2..]),
        format!("Bearer  {hex}"),
        format!("bearer {hex}"),
        "Bearer ".to_owned() + &"zz".repeat(32),
    ] {
        let r = http
            .post(format!("{}/v1/evaluate", o.url))
            .header("authorization", value.clone())
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{value}");
        let code = ErrorResponse::decode_exact(&r.bytes().await.unwrap())
            .unwrap()
            .code;
        assert_eq!(code, 800);
    }
    assert_eq!(o.used().await, 0);
    // The right credential works.
    o.client
        .evaluate_raw(Some(&CREDENTIAL), body)
        .await
        .unwrap();
    assert_eq!(o.used().await, 3);
    o.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relays_budget_is_exact_and_survives_an_oracle_restart() {
    let dir = tempfile::tempdir().unwrap();
    let o = start_oracle(dir.path(), 10).await;
    let v = o.verified().await;
    o.client
        .evaluate(&CREDENTIAL, &request(&v, 6))
        .await
        .unwrap();
    let e = o
        .client
        .evaluate(&CREDENTIAL, &request(&v, 6))
        .await
        .unwrap_err();
    assert_eq!(refused(&e), (429, 807));
    assert_eq!(o.used().await, 6, "a refused request charges nothing");
    o.client
        .evaluate(&CREDENTIAL, &request(&v, 4))
        .await
        .unwrap();
    assert_eq!(o.used().await, 10);
    o.running.stop().await;
    // Same data directory, same SQLite file: the day's usage is still there.
    let o = start_oracle(dir.path(), 10).await;
    assert_eq!(o.used().await, 10);
    let e = o
        .client
        .evaluate(&CREDENTIAL, &request(&v, 1))
        .await
        .unwrap_err();
    assert_eq!(refused(&e), (429, 807));
    // The same key file: the same oracle key and OPRF key.
    assert_eq!(o.verified().await, v);
    o.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_refuses_past_an_accounts_quota_without_contacting_the_oracle() {
    let odir = tempfile::tempdir().unwrap();
    let rdir = tempfile::tempdir().unwrap();
    let o = start_oracle(odir.path(), 1_000).await;
    let (relay, client) = start_relay(rdir.path(), Some((&o.url, o.oracle.oracle_key())), 5).await;
    let v = o.verified().await;
    let alice = ReadCapability::generate(&mut OsRng);
    client.oprf(&alice, &request(&v, 3)).await.unwrap();
    assert_eq!(o.used().await, 3);
    let e = client.oprf(&alice, &request(&v, 3)).await.unwrap_err();
    assert_eq!(refused(&e), (429, 807));
    assert_eq!(o.used().await, 3, "nothing was forwarded");
    client.oprf(&alice, &request(&v, 2)).await.unwrap();
    assert_eq!(o.used().await, 5);
    let e = client.oprf(&alice, &request(&v, 1)).await.unwrap_err();
    assert_eq!(refused(&e), (429, 807));
    assert_eq!(o.used().await, 5);
    // Another account has its own quota.
    let bob = ReadCapability::generate(&mut OsRng);
    client.oprf(&bob, &request(&v, 5)).await.unwrap();
    assert_eq!(o.used().await, 10);
    // The default quota is OPRF_ELEMENTS_PER_DAY.
    assert_eq!(
        RateLimits::default().oprf_elements_per_day,
        limits::OPRF_ELEMENTS_PER_DAY
    );
    relay.stop().await;
    o.running.stop().await;
}

/// Sends only the head of a POST declaring `length` bytes and returns the status line the
/// server answers with, without ever sending the body.
async fn declare_only(addr: std::net::SocketAddr, path: &str, length: usize, auth: bool) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let hex: String = CREDENTIAL.iter().map(|b| format!("{b:02x}")).collect();
    let auth = if auth {
        format!("Authorization: Bearer {hex}\r\n")
    } else {
        String::new()
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n{auth}Content-Length: {length}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("answered before the body was sent")
        .unwrap();
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_bodies_are_refused_before_they_are_read() {
    let odir = tempfile::tempdir().unwrap();
    let rdir = tempfile::tempdir().unwrap();
    let o = start_oracle(odir.path(), 1_000_000).await;
    let (relay, _client) =
        start_relay(rdir.path(), Some((&o.url, o.oracle.oracle_key())), 5_000).await;
    // Declared too long: refused from the head alone, the body never sent.
    let line = declare_only(
        o.running.addr,
        "/v1/evaluate",
        MAX_OPRF_REQUEST_LEN + 1,
        true,
    )
    .await;
    assert!(line.starts_with("HTTP/1.1 413"), "{line}");
    let line = declare_only(o.running.addr, "/v1/evaluate", 1 << 30, false).await;
    assert!(line.starts_with("HTTP/1.1 413"), "{line}");
    let line = declare_only(relay.addr, "/v1/oprf", MAX_OPRF_LEN + 1, false).await;
    assert!(line.starts_with("HTTP/1.1 413"), "{line}");
    // No Content-Length (chunked): read only up to the bound, then 413 with 806.
    let big = vec![1u8; MAX_OPRF_LEN + 1];
    let http = reqwest::Client::new();
    for (url, auth) in [
        (format!("{}/v1/evaluate", o.url), true),
        (format!("http://{}/v1/oprf", relay.addr), false),
    ] {
        let stream = futures_util::stream::iter(
            big.chunks(8192)
                .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                .collect::<Vec<_>>(),
        );
        let mut r = http.post(&url).body(reqwest::Body::wrap_stream(stream));
        if auth {
            let hex: String = CREDENTIAL.iter().map(|b| format!("{b:02x}")).collect();
            r = r.header("authorization", format!("Bearer {hex}"));
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 413, "{url}");
        let code = ErrorResponse::decode_exact(&r.bytes().await.unwrap())
            .unwrap()
            .code;
        assert_eq!(code, 806);
    }
    assert_eq!(o.used().await, 0);
    relay.stop().await;
    o.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_changes_the_epoch_and_key_and_retires_old_requests() {
    let odir = tempfile::tempdir().unwrap();
    let rdir = tempfile::tempdir().unwrap();
    let o = start_oracle(odir.path(), 1_000).await;
    let (relay, client) =
        start_relay(rdir.path(), Some((&o.url, o.oracle.oracle_key())), 5_000).await;
    let pinned = o.oracle.oracle_key();
    let old = client
        .oracle_parameters()
        .await
        .unwrap()
        .verify(&pinned, NOW)
        .unwrap();
    assert_eq!(old.key_epoch(), 1);
    assert_eq!(o.oracle.store.rotate().await.unwrap(), 2);
    let new = o.verified().await;
    assert_eq!(new.key_epoch(), 2);
    assert_ne!(new.public_key(), old.public_key());
    // A request under the old epoch: LookupMismatch (615, 400), directly and through the
    // relay, and the oracle charges nothing for it.
    let stale = request(&old, 3);
    let e = o.client.evaluate(&CREDENTIAL, &stale).await.unwrap_err();
    assert_eq!(refused(&e), (400, 615));
    let account = ReadCapability::generate(&mut OsRng);
    let e = client.oprf(&account, &stale).await.unwrap_err();
    assert_eq!(refused(&e), (400, 615));
    assert_eq!(o.used().await, 0);
    // The 615 made the relay drop its cached parameters: it now serves epoch 2.
    let served = client
        .oracle_parameters()
        .await
        .unwrap()
        .verify(&pinned, NOW)
        .unwrap();
    assert_eq!(served, new);
    let contacts = ids(4);
    let (state, req) = served
        .request(&mut OsRng, &naming(&served), &contacts)
        .unwrap();
    let ch2 = served
        .finalize(state, &client.oprf(&account, &req).await.unwrap())
        .unwrap();
    let key = OracleKeyFile::load_or_create(&odir.path().join("oracle.key"))
        .unwrap()
        .oprf_key(2)
        .unwrap();
    for (id, c) in contacts.iter().zip(&ch2) {
        assert_eq!(
            c.as_contact_id(),
            key.evaluate_unblinded(id).unwrap().as_contact_id()
        );
    }
    // The quota was given back for the refused request: 3 + 4 charged would still fit,
    // but only the 4 evaluated elements count at the oracle.
    assert_eq!(o.used().await, 4);
    relay.stop().await;
    o.running.stop().await;
}

/// The `ch2` ids of `contacts` under `v` (the oracle's key at one epoch), evaluated through
/// the relay for `account`, as a client derives them for `discovery`.
async fn ch2_ids(
    client: &RelayClient,
    account: &ReadCapability,
    v: &VerifiedOracle,
    discovery: &VerifiedDiscovery,
    contacts: &[ContactId],
) -> Vec<Ch2Id> {
    let (state, req) = v.request(&mut OsRng, discovery, contacts).unwrap();
    v.finalize(state, &client.oprf(account, &req).await.unwrap())
        .unwrap()
}

/// Every entry the relay answers for a lookup of `ids` under `discovery`, and how many of
/// `ids` it matches.
async fn look_up(
    client: &RelayClient,
    discovery: &VerifiedDiscovery,
    ids: &[Ch2Id],
) -> (usize, usize) {
    let (mut entries, mut matched) = (0, 0);
    let secret = DiscoverySecret::generate(&mut OsRng);
    for request in discovery.lookup_batch(&secret, ids).unwrap() {
        let response = client.lookup(&request).await.unwrap();
        entries += response
            .buckets()
            .iter()
            .map(|b| b.entries().len())
            .sum::<usize>();
        matched += discovery
            .match_response(&request, &response, ids)
            .unwrap()
            .len();
    }
    (entries, matched)
}

/// Spec §9.9, §12.7, §12.8: the oracle's key rotation is a new salt generation for a `ch2`
/// relay. The registrations of the old one are dead: a lookup right after the rotation does
/// not return them (before the fix it did, and they kept counting toward the owner's
/// maximum, so the owner's re-registration was `TooManyRegistrations`), the owner registers
/// again, and the relay's sweep deletes the old rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_key_rotation_old_registrations_are_gone_and_owners_register_again() {
    let odir = tempfile::tempdir().unwrap();
    let rdir = tempfile::tempdir().unwrap();
    let o = start_oracle(odir.path(), 1_000).await;
    let relay = Arc::new(
        relay_with(
            SqliteStore::open(&rdir.path().join("relay.db")).unwrap(),
            Clock::Fixed(NOW),
            rdir.path(),
        )
        .unwrap()
        .with_oracle(OracleLink::new(&o.url, CREDENTIAL, o.oracle.oracle_key()).unwrap()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = start(Arc::clone(&relay), listener).unwrap();
    let client = RelayClient::new(&format!("http://{}", running.addr));
    let relay_key = relay.discovery.relay_key();
    // Each verification with a fresh mark: a client's 30-day minimum per generation
    // (§9.6.1) is not what this test is about, and the relay's clock is fixed.
    let discovery = || async {
        client
            .discovery()
            .await
            .unwrap()
            .verify(&relay_key, NOW, &mut GenerationMark::new())
            .unwrap()
    };
    let carol = ReadCapability::generate(&mut OsRng);
    let record = carol.mailbox();
    let contacts = ids(usize::try_from(limits::MAX_REGISTRATIONS_PER_OWNER).unwrap());
    let register = |discovery: &VerifiedDiscovery, id: &Ch2Id| RegisterRequest {
        capability: ReadCapability::from_bytes(carol.to_bytes()),
        registration: discovery.register_discoverable(id, &record).unwrap(),
    };

    // Generation 1 (key epoch 1): Carol registers as many ids as an owner may.
    let old_oracle = o.verified().await;
    let first = discovery().await;
    assert_eq!(first.params().salt_generation(), 1);
    let old_ids = ch2_ids(&client, &carol, &old_oracle, &first, &contacts).await;
    for id in &old_ids {
        client.register(&register(&first, id)).await.unwrap();
    }
    assert_eq!(look_up(&client, &first, &old_ids).await.1, old_ids.len());

    // The oracle rotates; the relay learns it (the 615 of a request under the old epoch
    // drops its cached oracle parameters) and serves generation 2.
    assert_eq!(o.oracle.store.rotate().await.unwrap(), 2);
    let e = client
        .oprf(&carol, &request(&old_oracle, 1))
        .await
        .unwrap_err();
    assert_eq!(refused(&e), (400, 615));
    let second = discovery().await;
    assert_eq!(second.params().salt_generation(), 2);

    // Right after the rotation, before any sweep: a lookup of the old ids' buckets under
    // generation 2 gets none of generation 1's entries.
    assert_eq!(look_up(&client, &second, &old_ids).await, (0, 0));
    // A registration made under generation 1's parameters is refused (615).
    let e = client
        .register(&register(&first, &old_ids[0]))
        .await
        .unwrap_err();
    assert_eq!(refused(&e), (400, 615));

    // Carol registers again under generation 2, all four: the old four do not count.
    let new_oracle = client
        .oracle_parameters()
        .await
        .unwrap()
        .verify(&o.oracle.oracle_key(), NOW)
        .unwrap();
    assert_eq!(new_oracle.key_epoch(), 2);
    let new_ids = ch2_ids(&client, &carol, &new_oracle, &second, &contacts).await;
    for id in &new_ids {
        client.register(&register(&second, id)).await.unwrap();
    }
    assert_eq!(look_up(&client, &second, &new_ids).await.1, new_ids.len());

    // The sweep deletes generation 1's rows, and only them.
    let rows = |generation: i64| {
        let relay = Arc::clone(&relay);
        async move {
            let dump = relay.store.dump().await.unwrap();
            let t = dump.iter().find(|t| t.name == "registrations").unwrap();
            let g = t.columns.iter().position(|c| c == "generation").unwrap();
            t.rows
                .iter()
                .filter(|r| r[g] == Value::Int(generation))
                .count()
        }
    };
    assert_eq!(rows(1).await, contacts.len());
    assert_eq!(relay.sweep().await, contacts.len() as u64);
    assert_eq!(rows(1).await, 0);
    assert_eq!(rows(2).await, contacts.len());
    assert_eq!(look_up(&client, &second, &new_ids).await.1, new_ids.len());
    running.stop().await;
    o.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_without_a_reachable_oracle_answers_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, client) = start_relay(dir.path(), None, 5).await;
    let account = ReadCapability::generate(&mut OsRng);
    let params = OracleParameters::decode_exact(&{
        let key = OracleKeyFile::from_seeds(&[1; 32], &[2; 32]);
        OracleParameters::sign(&key.identity, &key.oprf_key(1).unwrap(), NOW, NOW + 60)
            .unwrap()
            .to_bytes()
    })
    .unwrap();
    let v = params
        .verify(
            &OracleKeyFile::from_seeds(&[1; 32], &[2; 32]).oracle_key(),
            NOW,
        )
        .unwrap();
    let e = client.oracle_parameters().await.unwrap_err();
    assert_eq!(refused(&e), (503, 808));
    let e = client.oprf(&account, &request(&v, 2)).await.unwrap_err();
    assert_eq!(refused(&e), (503, 808));
    relay.stop().await;
    // Configured, but nothing listens there.
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", gone.local_addr().unwrap());
    drop(gone);
    let dir = tempfile::tempdir().unwrap();
    let (relay, client) = start_relay(dir.path(), Some((&url, [9; 32])), 5).await;
    let e = client.oracle_parameters().await.unwrap_err();
    assert_eq!(refused(&e), (503, 808));
    // Twice the whole quota: refused as unavailable both times, never as rate limited
    // (an evaluation that did not happen is not charged).
    for _ in 0..2 {
        let e = client.oprf(&account, &request(&v, 5)).await.unwrap_err();
        assert_eq!(refused(&e), (503, 808));
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oprf_request_is_decoded_strictly_and_elements_are_the_oracles_business() {
    let odir = tempfile::tempdir().unwrap();
    let rdir = tempfile::tempdir().unwrap();
    let o = start_oracle(odir.path(), 1_000).await;
    let (relay, client) =
        start_relay(rdir.path(), Some((&o.url, o.oracle.oracle_key())), 5_000).await;
    let v = o.verified().await;
    let cap = ReadCapability::generate(&mut OsRng);
    let good = wrapped(&cap, &request(&v, 2));
    client.post("/v1/oprf", good.clone()).await.unwrap();
    let code = |r: Result<(u16, Vec<u8>), ClientError>| refused(&r.unwrap_err());
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(code(client.post("/v1/oprf", trailing).await), (400, 101));
    let mut wrong_type = good.clone();
    wrong_type[1] = 0x23;
    assert_eq!(code(client.post("/v1/oprf", wrong_type).await), (400, 104));
    assert_eq!(
        code(client.post("/v1/oprf", good[..40].to_vec()).await),
        (400, 100)
    );
    let mut wrong_suite = good.clone();
    wrong_suite[34 + 2] = 0x01;
    assert_eq!(code(client.post("/v1/oprf", wrong_suite).await), (400, 610));
    let mut empty = good[..34 + 7].to_vec();
    empty.extend_from_slice(&[0, 0]);
    assert_eq!(code(client.post("/v1/oprf", empty).await), (400, 622));
    assert_eq!(o.used().await, 2, "nothing malformed reached the oracle");
    // The relay does not decode elements: an identity element reaches the oracle, which
    // charges and then refuses it (OprfInvalidElement, 620).
    let bad = OprfRequest::new(v.key_epoch(), vec![[0u8; 32]; 3]).unwrap();
    let e = client.oprf(&cap, &bad).await.unwrap_err();
    assert_eq!(refused(&e), (400, 620));
    assert_eq!(o.used().await, 5);
    // Wrong method, unknown path.
    let e = client.get("/v1/oprf").await.unwrap_err();
    assert_eq!(refused(&e), (405, 809));
    let e = o
        .client
        .evaluate_raw(Some(&CREDENTIAL), vec![])
        .await
        .unwrap_err();
    assert_eq!(refused(&e), (400, 100));
    relay.stop().await;
    o.running.stop().await;
}

/// Malformed and tampered bodies at both ends of the OPRF path (spec §13.9, §14): the
/// relay's `POST /v1/oprf` and the oracle's `POST /v1/evaluate` answer each with success or
/// a refusal carrying a registered code and a 4xx status, never a server error or a
/// dropped connection, and a well-formed request still succeeds afterwards. One oracle
/// and one relay serve every case (proptest runs 96 of them).
#[test]
fn random_and_tampered_oprf_bodies_get_success_or_a_coded_refusal() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let odir = tempfile::tempdir().unwrap();
    let rdir = tempfile::tempdir().unwrap();
    let (o, relay, client, v) = rt.block_on(async {
        let o = start_oracle(odir.path(), 1_000_000).await;
        let (relay, client) = start_relay(
            rdir.path(),
            Some((&o.url, o.oracle.oracle_key())),
            1_000_000,
        )
        .await;
        let v = o.verified().await;
        (o, relay, client, v)
    });
    let cap = ReadCapability::generate(&mut OsRng);
    let good_request = request(&v, 3);
    let valid = [wrapped(&cap, &good_request), good_request.to_bytes()];
    let acceptable = |r: &Result<(u16, Vec<u8>), ClientError>| match r {
        Ok(_) => true,
        Err(ClientError::Refused { status, code }) => {
            (400..500).contains(status)
                && blindrelay::Error::REGISTRY.iter().any(|(c, _)| c == code)
        }
        Err(_) => false,
    };
    let strategy = (
        0usize..2,
        prop_oneof![
            // Random bytes, often behind a plausible header so decoding goes deeper.
            (
                proptest::collection::vec(any::<u8>(), 0..600),
                proptest::option::of((
                    0u8..=2,
                    prop_oneof![Just(0x30u8), Just(0x15u8), any::<u8>()]
                )),
            )
                .prop_map(|(mut body, header)| {
                    if let Some((v, t)) = header {
                        body.splice(0..0, [v, t]);
                    }
                    (None, body)
                }),
            // A valid body with bytes flipped and perhaps cut.
            (
                proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
                proptest::option::of(any::<prop::sample::Index>()),
            )
                .prop_map(|(flips, cut)| (Some((flips, cut)), Vec::new())),
        ],
    );
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(end, (tamper, random))| {
            let body = match tamper {
                None => random,
                Some((flips, cut)) => {
                    let mut body = valid[end].clone();
                    for (at, x) in flips {
                        let i = at.index(body.len());
                        body[i] ^= x;
                    }
                    if let Some(c) = cut {
                        body.truncate(c.index(body.len()));
                    }
                    body
                }
            };
            let r = rt.block_on(async {
                if end == 0 {
                    client.post("/v1/oprf", body).await
                } else {
                    o.client.evaluate_raw(Some(&CREDENTIAL), body).await
                }
            });
            prop_assert!(acceptable(&r), "end {end}: {r:?}");
            Ok(())
        })
        .unwrap();
    rt.block_on(async {
        let response = client.oprf(&cap, &request(&v, 2)).await.unwrap();
        assert_eq!(response.evaluated().len(), 2);
        relay.stop().await;
        o.running.stop().await;
    });
}
