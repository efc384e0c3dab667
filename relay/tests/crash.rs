//! Crash test: the real relay binary is driven by concurrent clients (deposits, fetches,
//! acks, one-time key claims) and killed with SIGKILL at seeded random moments, then
//! restarted on the same data. Whatever the relay acknowledged must survive, and nothing it
//! acknowledged as gone may come back:
//!
//! - every deposit answered 204 is fetchable afterwards, exactly once, bytes intact, unless
//!   an ack covered it (a deposit whose answer was lost in the kill may be there or not, but
//!   never twice; a refused one is never there);
//! - no fetch started after an ack answered 204 returns an envelope that ack covered;
//! - no one-time prekey id is handed out twice, and once the pool is empty a claim returns
//!   the bundle without one-time keys.
//!
//! Runs on SQLite always, and on Postgres when `BLINDRELAY_TEST_POSTGRES` holds a URL (in a
//! schema of its own, dropped at the end); otherwise the Postgres run says it was skipped.
//! Bounded by fixed counts (kills, operations per task); talks only to 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blindrelay::bundle::BundleKeys;
use blindrelay::codec::{Decode, Encode};
use blindrelay::envelope::Envelope;
use blindrelay::keys::{
    IdentityKeyPair, KemPrekeySecret, OneTimeKemPrekeySecret, OneTimePrekeySecret,
    SealingKeySecret, SignedPrekeySecret,
};
use blindrelay::relay::{Publication, PublishRequest, UploadKeysRequest};
use blindrelay::route::ReadCapability;
use blindrelay::wire::{KemPrekeyPublic, PrekeyBundle, X25519PrekeyPublic};
use blindrelay_relay::{ClientError, RelayClient};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SEED: u64 = 0x00b1_1dc7_a5b0_0001;
/// Mailboxes deposited to (enough that the per-mailbox deposit limit is rarely hit).
const MAILBOXES: usize = 32;
/// Bundle owners whose one-time keys are claimed.
const OWNERS: usize = 4;
/// One-time keys of each kind uploaded per owner (one upload request holds at most 100).
const POOL: u32 = 60;
const DEPOSITORS: usize = 6;
/// Upper bound of deposits per depositor (the run normally ends earlier, after the kills).
const DEPOSITS_PER_TASK: u64 = 3_000;
const READERS: usize = 4;
const SPIES: usize = 2;
const CLAIMERS: usize = 2;
/// Upper bound of operations per reader, spy or claimer.
const OPS_PER_TASK: u64 = 3_000;
/// The first bytes of every ciphertext: this run's envelope id, so a fetched envelope names
/// the deposit it came from.
const ID_LEN: usize = 8;
/// A valid ciphertext length: a padded length (256) plus the 16-byte tag.
const CIPHERTEXT_LEN: usize = 256 + 16;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---------------------------------------------------------------------------------------
// The relay process.

/// The relay binary on a data directory; killed (SIGKILL) and reaped when dropped, so no
/// exit path of the test leaves it running.
struct RelayProcess {
    child: Option<Child>,
    data: PathBuf,
    logs: PathBuf,
    postgres: Option<String>,
    starts: u32,
    base: String,
}

impl RelayProcess {
    fn new(data: &Path, logs: &Path, postgres: Option<String>) -> Self {
        Self {
            child: None,
            data: data.to_owned(),
            logs: logs.to_owned(),
            postgres,
            starts: 0,
            base: String::new(),
        }
    }

    /// Starts the binary on a free loopback port and waits until it answers.
    async fn start(&mut self) -> RelayClient {
        assert!(self.child.is_none());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        self.starts += 1;
        let log = self.logs.join(format!("relay-{}.log", self.starts));
        let mut command = Command::new(env!("CARGO_BIN_EXE_blindrelay-relay"));
        command
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(&self.data)
            .arg("--quiet")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(url) = &self.postgres {
            command.arg("--postgres").arg(url);
        }
        self.child = Some(command.spawn().expect("spawn the relay binary"));
        self.base = format!("http://127.0.0.1:{port}");
        let client = RelayClient::new(&self.base);
        // Bounded wait for readiness (not a timing assertion: a relay that never answers
        // fails the test instead of hanging it).
        for _ in 0..400 {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "relay exited at start ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if client.discovery().await.is_ok() {
                return client;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "relay did not answer within 10 s: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// SIGKILL (`Child::kill` on Unix), then reap.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------
// What the relay acknowledged.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Sent, answer not (yet) known: in flight, or lost in a kill.
    Unknown,
    /// 204: the relay stored it.
    Stored,
    /// Refused with a 4xx: the relay did not store it.
    Refused,
}

struct Deposit {
    mailbox: usize,
    bytes: Vec<u8>,
    outcome: Outcome,
}

#[derive(Default)]
struct MailboxState {
    /// Highest `up_to` of an ack answered 204.
    confirmed_ack: u64,
    /// Highest `up_to` of any ack sent (answered or not).
    attempted_ack: u64,
    /// seq → envelope id, as fetches showed them.
    seen: BTreeMap<u64, u64>,
}

#[derive(Default)]
struct Counters {
    fetches: AtomicU64,
    fetched_envelopes: AtomicU64,
    acks_sent: AtomicU64,
    acks_confirmed: AtomicU64,
    claims_ok: AtomicU64,
    claims_with_keys: AtomicU64,
    claims_refused: AtomicU64,
    transport_errors: AtomicU64,
}

struct Ledger {
    capabilities: Vec<ReadCapability>,
    mailbox_ids: Vec<[u8; 32]>,
    next_id: AtomicU64,
    deposits: Mutex<HashMap<u64, Deposit>>,
    /// envelope id → (mailbox, seq) as first seen.
    seq_of: Mutex<HashMap<u64, (usize, u64)>>,
    mailboxes: Vec<Mutex<MailboxState>>,
    /// (owner, kind 0 = X25519 / 1 = KEM, key id) of every claimed one-time key.
    claimed: Mutex<Vec<(usize, u8, u32)>>,
    violations: Mutex<Vec<String>>,
    counters: Counters,
}

impl Ledger {
    fn violation(&self, message: String) {
        let mut v = self.violations.lock().unwrap();
        if v.len() < 50 {
            v.push(message);
        }
    }

    fn mailbox_index(&self, id: &[u8; 32]) -> Option<usize> {
        self.mailbox_ids.iter().position(|m| m == id)
    }

    /// Checks one envelope a fetch of mailbox `m` returned; `confirmed_before` is the
    /// mailbox's confirmed ack when the fetch was sent.
    fn observe(&self, m: usize, seq: u64, bytes: &[u8], confirmed_before: u64) {
        self.counters
            .fetched_envelopes
            .fetch_add(1, Ordering::Relaxed);
        if seq <= confirmed_before {
            self.violation(format!(
                "mailbox {m}: seq {seq} returned after an ack up to {confirmed_before} was answered 204"
            ));
        }
        let Ok(envelope) = Envelope::decode_exact(bytes) else {
            self.violation(format!("mailbox {m}: seq {seq} is not a valid envelope"));
            return;
        };
        if self.mailbox_index(envelope.mailbox()) != Some(m) {
            self.violation(format!("mailbox {m}: seq {seq} belongs to another mailbox"));
        }
        let id = u64::from_be_bytes(envelope.ciphertext()[..ID_LEN].try_into().unwrap());
        {
            let deposits = self.deposits.lock().unwrap();
            match deposits.get(&id) {
                None => self.violation(format!("mailbox {m}: seq {seq} carries unknown id {id}")),
                Some(d) => {
                    if d.mailbox != m || d.bytes != bytes {
                        self.violation(format!("mailbox {m}: seq {seq} (id {id}) altered"));
                    }
                    if d.outcome == Outcome::Refused {
                        self.violation(format!("mailbox {m}: refused deposit {id} was stored"));
                    }
                }
            }
        }
        match self.seq_of.lock().unwrap().entry(id) {
            std::collections::hash_map::Entry::Occupied(e) => {
                if *e.get() != (m, seq) {
                    self.violation(format!(
                        "deposit {id} stored twice: mailbox {} seq {} and mailbox {m} seq {seq}",
                        e.get().0,
                        e.get().1
                    ));
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((m, seq));
            }
        }
        let mut state = self.mailboxes[m].lock().unwrap();
        let previous = *state.seen.entry(seq).or_insert(id);
        if previous != id {
            self.violation(format!(
                "mailbox {m}: seq {seq} held id {previous}, now id {id}"
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Bundle owners.

struct Owner {
    capability: ReadCapability,
    identity: IdentityKeyPair,
    bundle: PrekeyBundle,
}

fn owner(rng: &mut ChaCha20Rng) -> Owner {
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
        capability,
        identity,
        bundle,
    }
}

/// Publishes the owner's bundle and uploads [`POOL`] one-time keys of each kind (ids
/// `1..=POOL` and `1001..=1000 + POOL`).
async fn publish_with_pool(client: &RelayClient, o: &Owner, rng: &mut ChaCha20Rng) {
    let t = now();
    let publication = Publication::create(&o.identity, &o.bundle, t - 60, t + 24 * 3600).unwrap();
    client
        .publish(&PublishRequest {
            capability: ReadCapability::from_bytes(o.capability.to_bytes()),
            publication,
        })
        .await
        .unwrap();
    let x25519 = (1..=POOL)
        .map(|id| {
            X25519PrekeyPublic::sign_one_time(&o.identity, id, &OneTimePrekeySecret::generate(rng))
        })
        .collect();
    let kem = (1..=POOL)
        .map(|id| {
            KemPrekeyPublic::sign_one_time(
                &o.identity,
                1000 + id,
                &OneTimeKemPrekeySecret::generate(rng),
            )
        })
        .collect();
    let counts = client
        .upload_keys(&UploadKeysRequest {
            capability: ReadCapability::from_bytes(o.capability.to_bytes()),
            x25519,
            kem,
        })
        .await
        .unwrap();
    assert_eq!((counts.x25519, counts.kem), (POOL, POOL));
}

// ---------------------------------------------------------------------------------------
// The client tasks.

/// The current relay's client; replaced at each restart (the port changes).
type Current = Arc<RwLock<RelayClient>>;

fn client_of(current: &Current) -> RelayClient {
    current.read().unwrap().clone()
}

async fn pause_after_error(ledger: &Ledger) {
    ledger
        .counters
        .transport_errors
        .fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

async fn depositor(ledger: Arc<Ledger>, current: Current, stop: Arc<AtomicBool>, seed: u64) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    for _ in 0..DEPOSITS_PER_TASK {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let id = ledger.next_id.fetch_add(1, Ordering::Relaxed);
        let m = (rng.next_u32() as usize) % MAILBOXES;
        let mut ciphertext = vec![0u8; CIPHERTEXT_LEN];
        rng.fill_bytes(&mut ciphertext);
        ciphertext[..ID_LEN].copy_from_slice(&id.to_be_bytes());
        let mut enc = [0u8; 32];
        rng.fill_bytes(&mut enc);
        let bytes = Envelope::from_parts(ledger.mailbox_ids[m], enc, ciphertext)
            .unwrap()
            .to_bytes();
        ledger.deposits.lock().unwrap().insert(
            id,
            Deposit {
                mailbox: m,
                bytes: bytes.clone(),
                outcome: Outcome::Unknown,
            },
        );
        let result = client_of(&current).deposit(bytes).await;
        let outcome = match &result {
            Ok(()) => Outcome::Stored,
            // A 5xx may come from a store error after a commit: unknown.
            Err(ClientError::Refused { status, .. }) if *status < 500 => Outcome::Refused,
            Err(_) => Outcome::Unknown,
        };
        ledger
            .deposits
            .lock()
            .unwrap()
            .get_mut(&id)
            .unwrap()
            .outcome = outcome;
        if matches!(result, Err(ClientError::Transport(_))) {
            pause_after_error(&ledger).await;
        }
    }
}

/// Owns the mailboxes `m % READERS == index`: fetches from the start (after = 0), so acked
/// envelopes would show, and acks a random prefix of what it saw.
async fn reader(
    ledger: Arc<Ledger>,
    current: Current,
    stop: Arc<AtomicBool>,
    index: usize,
    seed: u64,
) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mine: Vec<usize> = (0..MAILBOXES).filter(|m| m % READERS == index).collect();
    for _ in 0..OPS_PER_TASK {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let m = mine[(rng.next_u32() as usize) % mine.len()];
        let confirmed = ledger.mailboxes[m].lock().unwrap().confirmed_ack;
        let client = client_of(&current);
        ledger.counters.fetches.fetch_add(1, Ordering::Relaxed);
        let page = match client.fetch(&ledger.capabilities[m], 0, 64).await {
            Ok(page) => page,
            Err(_) => {
                pause_after_error(&ledger).await;
                continue;
            }
        };
        for e in &page.envelopes {
            ledger.observe(m, e.seq, &e.envelope, confirmed);
        }
        if page.envelopes.is_empty() || rng.next_u32() % 2 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        let up_to = page.envelopes[(rng.next_u32() as usize) % page.envelopes.len()].seq;
        {
            let mut state = ledger.mailboxes[m].lock().unwrap();
            state.attempted_ack = state.attempted_ack.max(up_to);
        }
        ledger.counters.acks_sent.fetch_add(1, Ordering::Relaxed);
        match client.ack(&ledger.capabilities[m], up_to).await {
            Ok(()) => {
                ledger
                    .counters
                    .acks_confirmed
                    .fetch_add(1, Ordering::Relaxed);
                let mut state = ledger.mailboxes[m].lock().unwrap();
                state.confirmed_ack = state.confirmed_ack.max(up_to);
            }
            Err(_) => pause_after_error(&ledger).await,
        }
    }
}

/// Fetches random mailboxes concurrently with their reader's acks.
async fn spy(ledger: Arc<Ledger>, current: Current, stop: Arc<AtomicBool>, seed: u64) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    for _ in 0..OPS_PER_TASK {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let m = (rng.next_u32() as usize) % MAILBOXES;
        let confirmed = ledger.mailboxes[m].lock().unwrap().confirmed_ack;
        ledger.counters.fetches.fetch_add(1, Ordering::Relaxed);
        match client_of(&current)
            .fetch(&ledger.capabilities[m], 0, 256)
            .await
        {
            Ok(page) => {
                for e in &page.envelopes {
                    ledger.observe(m, e.seq, &e.envelope, confirmed);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(_) => pause_after_error(&ledger).await,
        }
    }
}

/// Claims a bundle; records its one-time key ids. `None` for a refusal or a lost answer.
async fn claim_once(
    ledger: &Ledger,
    client: &RelayClient,
    owners: &[Owner],
    o: usize,
) -> Option<(Option<u32>, Option<u32>)> {
    let mailbox = owners[o].capability.mailbox();
    match client.claim(mailbox).await {
        Ok(response) => {
            ledger.counters.claims_ok.fetch_add(1, Ordering::Relaxed);
            let x = response.one_time_prekey.as_ref().map(|k| k.id);
            let k = response.one_time_kem_prekey.as_ref().map(|k| k.id);
            {
                let mut claimed = ledger.claimed.lock().unwrap();
                if let Some(id) = x {
                    claimed.push((o, 0, id));
                }
                if let Some(id) = k {
                    claimed.push((o, 1, id));
                }
            }
            if x.is_some() || k.is_some() {
                ledger
                    .counters
                    .claims_with_keys
                    .fetch_add(1, Ordering::Relaxed);
            }
            if let Err(e) = response.verify(&mailbox, now()) {
                ledger.violation(format!("owner {o}: claimed bundle does not verify: {e}"));
            }
            Some((x, k))
        }
        Err(ClientError::Refused { .. }) => {
            ledger
                .counters
                .claims_refused
                .fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(_) => {
            pause_after_error(ledger).await;
            None
        }
    }
}

async fn claimer(
    ledger: Arc<Ledger>,
    owners: Arc<Vec<Owner>>,
    current: Current,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    for _ in 0..OPS_PER_TASK {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let o = (rng.next_u32() as usize) % OWNERS;
        let client = client_of(&current);
        claim_once(&ledger, &client, &owners, o).await;
        tokio::time::sleep(Duration::from_millis(8)).await;
    }
}

// ---------------------------------------------------------------------------------------
// The run.

struct Summary {
    kills: u32,
    deposits: [u64; 3],
    fetches: u64,
    fetched_envelopes: u64,
    acks_sent: u64,
    acks_confirmed: u64,
    claims_ok: u64,
    claims_with_keys: u64,
    claims_refused: u64,
    transport_errors: u64,
    remaining: usize,
}

async fn run(label: &str, postgres: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut relay = RelayProcess::new(&data, dir.path(), postgres);
    let mut rng = ChaCha20Rng::seed_from_u64(SEED);

    let capabilities: Vec<ReadCapability> = (0..MAILBOXES)
        .map(|_| ReadCapability::generate(&mut rng))
        .collect();
    let ledger = Arc::new(Ledger {
        mailbox_ids: capabilities.iter().map(ReadCapability::mailbox).collect(),
        capabilities,
        next_id: AtomicU64::new(1),
        deposits: Mutex::new(HashMap::new()),
        seq_of: Mutex::new(HashMap::new()),
        mailboxes: (0..MAILBOXES).map(|_| Mutex::default()).collect(),
        claimed: Mutex::new(Vec::new()),
        violations: Mutex::new(Vec::new()),
        counters: Counters::default(),
    });
    let owners: Arc<Vec<Owner>> = Arc::new((0..OWNERS).map(|_| owner(&mut rng)).collect());

    let client = relay.start().await;
    for o in owners.iter() {
        publish_with_pool(&client, o, &mut rng).await;
    }
    let current: Current = Arc::new(RwLock::new(client));
    let stop = Arc::new(AtomicBool::new(false));

    let mut tasks = Vec::new();
    for i in 0..DEPOSITORS {
        tasks.push(tokio::spawn(depositor(
            Arc::clone(&ledger),
            Arc::clone(&current),
            Arc::clone(&stop),
            SEED + 100 + i as u64,
        )));
    }
    for i in 0..READERS {
        tasks.push(tokio::spawn(reader(
            Arc::clone(&ledger),
            Arc::clone(&current),
            Arc::clone(&stop),
            i,
            SEED + 200 + i as u64,
        )));
    }
    for i in 0..SPIES {
        tasks.push(tokio::spawn(spy(
            Arc::clone(&ledger),
            Arc::clone(&current),
            Arc::clone(&stop),
            SEED + 300 + i as u64,
        )));
    }
    for i in 0..CLAIMERS {
        tasks.push(tokio::spawn(claimer(
            Arc::clone(&ledger),
            Arc::clone(&owners),
            Arc::clone(&current),
            Arc::clone(&stop),
            SEED + 400 + i as u64,
        )));
    }

    // The kills: 5 to 8, each after 150-450 ms of uptime, restarting at once on the same
    // data (a new port each time).
    let kills_planned = 5 + rng.next_u32() % 4;
    let mut kills = 0;
    for _ in 0..kills_planned {
        let uptime = 150 + u64::from(rng.next_u32() % 300);
        tokio::time::sleep(Duration::from_millis(uptime)).await;
        relay.kill();
        kills += 1;
        let client = relay.start().await;
        *current.write().unwrap() = client;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    // Quiescent now: every answer is in. One more kill (nothing in flight), then check
    // everything against the restarted relay.
    relay.kill();
    kills += 1;
    let mut client = relay.start().await;

    // Drain every mailbox: each envelope once, in seq order.
    let mut present: HashSet<u64> = HashSet::new();
    for m in 0..MAILBOXES {
        let confirmed = ledger.mailboxes[m].lock().unwrap().confirmed_ack;
        let mut after = 0;
        loop {
            let page = client
                .fetch(&ledger.capabilities[m], after, 256)
                .await
                .unwrap();
            for e in &page.envelopes {
                assert!(
                    e.seq > after,
                    "mailbox {m}: seq {} not after {after}",
                    e.seq
                );
                after = e.seq;
                ledger.observe(m, e.seq, &e.envelope, confirmed);
                let id = u64::from_be_bytes(e.envelope[70..70 + ID_LEN].try_into().unwrap());
                assert!(
                    present.insert(id),
                    "deposit {id} returned twice by the drain"
                );
            }
            if !page.more {
                break;
            }
        }
    }
    let mut deposits_by_outcome = [0u64; 3];
    {
        let deposits = ledger.deposits.lock().unwrap();
        let seq_of = ledger.seq_of.lock().unwrap();
        for (id, d) in deposits.iter() {
            let slot = match d.outcome {
                Outcome::Stored => 0,
                Outcome::Refused => 1,
                Outcome::Unknown => 2,
            };
            deposits_by_outcome[slot] += 1;
            if d.outcome != Outcome::Stored {
                continue;
            }
            let state = ledger.mailboxes[d.mailbox].lock().unwrap();
            match seq_of.get(id) {
                None => ledger.violation(format!(
                    "deposit {id} (mailbox {}) answered 204 but never fetched: lost",
                    d.mailbox
                )),
                Some(&(_, seq)) => {
                    let is_present = present.contains(id);
                    if seq <= state.confirmed_ack {
                        if is_present {
                            ledger.violation(format!("deposit {id} acked but still present"));
                        }
                    } else if seq > state.attempted_ack && !is_present {
                        ledger.violation(format!(
                            "deposit {id} (mailbox {} seq {seq}) answered 204, never acked, gone",
                            d.mailbox
                        ));
                    }
                }
            }
        }
    }

    // Claims: no key id twice, every id from the uploaded pool.
    {
        let claimed = ledger.claimed.lock().unwrap();
        let mut unique = HashSet::new();
        for &(o, kind, id) in claimed.iter() {
            let range = if kind == 0 {
                1..=POOL
            } else {
                1001..=1000 + POOL
            };
            assert!(range.contains(&id), "owner {o}: key id {id} never uploaded");
            assert!(
                unique.insert((o, kind, id)),
                "owner {o}: one-time key {id} (kind {kind}) handed out twice"
            );
        }
    }
    // Empty every pool (a claim refused by the in-memory rate limiter is retried on a
    // restarted relay, which starts with fresh buckets), then check that claims of an empty
    // pool still return the bundle, without one-time keys.
    for o in 0..OWNERS {
        let mut empty_in_a_row = 0;
        for _ in 0..(2 * POOL + 40) {
            match claim_once(&ledger, &client, &owners, o).await {
                Some((None, None)) => {
                    empty_in_a_row += 1;
                    if empty_in_a_row == 3 {
                        break;
                    }
                }
                Some(_) => {
                    assert_eq!(empty_in_a_row, 0, "owner {o}: a key after an empty claim");
                }
                None => {
                    relay.kill();
                    kills += 1;
                    client = relay.start().await;
                }
            }
        }
        assert_eq!(empty_in_a_row, 3, "owner {o}: the pool never ran empty");
        let counts = client.count(&owners[o].capability).await.unwrap();
        assert_eq!(
            (counts.x25519, counts.kem),
            (0, 0),
            "owner {o}: pool not empty"
        );
    }
    {
        let claimed = ledger.claimed.lock().unwrap();
        let mut unique = HashSet::new();
        for &(o, kind, id) in claimed.iter() {
            assert!(
                unique.insert((o, kind, id)),
                "owner {o}: one-time key {id} (kind {kind}) handed out twice"
            );
        }
    }
    relay.kill();

    let violations = ledger.violations.lock().unwrap().clone();
    let c = &ledger.counters;
    let summary = Summary {
        kills,
        deposits: deposits_by_outcome,
        fetches: c.fetches.load(Ordering::Relaxed),
        fetched_envelopes: c.fetched_envelopes.load(Ordering::Relaxed),
        acks_sent: c.acks_sent.load(Ordering::Relaxed),
        acks_confirmed: c.acks_confirmed.load(Ordering::Relaxed),
        claims_ok: c.claims_ok.load(Ordering::Relaxed),
        claims_with_keys: c.claims_with_keys.load(Ordering::Relaxed),
        claims_refused: c.claims_refused.load(Ordering::Relaxed),
        transport_errors: c.transport_errors.load(Ordering::Relaxed),
        remaining: present.len(),
    };
    println!(
        "crash test ({label}): {} SIGKILLs; deposits: {} stored (204), {} refused, {} unknown \
         (lost in a kill); {} envelopes left at the end; {} fetches returning {} envelopes; \
         acks: {} sent, {} answered 204; claims: {} answered ({} with one-time keys), {} \
         refused; {} transport errors",
        summary.kills,
        summary.deposits[0],
        summary.deposits[1],
        summary.deposits[2],
        summary.remaining,
        summary.fetches,
        summary.fetched_envelopes,
        summary.acks_sent,
        summary.acks_confirmed,
        summary.claims_ok,
        summary.claims_with_keys,
        summary.claims_refused,
        summary.transport_errors,
    );
    assert!(
        violations.is_empty(),
        "{label}: {} violations:\n{}",
        violations.len(),
        violations.join("\n")
    );
    assert!(summary.kills >= 6);
    assert!(summary.deposits[0] > 0 && summary.acks_confirmed > 0 && summary.claims_with_keys > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_relay_survives_sigkill() {
    run("sqlite", None).await;
}

/// Adds `options=-c search_path=SCHEMA` to a connection URL.
fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_relay_survives_sigkill() {
    let Ok(url) = std::env::var("BLINDRELAY_TEST_POSTGRES") else {
        println!("skipped: set BLINDRELAY_TEST_POSTGRES to a Postgres URL to run the crash test on Postgres");
        return;
    };
    // A schema of our own (the relay binary takes only a URL: the schema reaches it as the
    // connection's search_path), created empty and dropped at the end, even on failure.
    let schema = format!(
        "crash_{}_{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to BLINDRELAY_TEST_POSTGRES");
    let connection = tokio::spawn(connection);
    admin
        .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
        .await
        .unwrap();
    let result = tokio::spawn(run("postgres", Some(with_search_path(&url, &schema)))).await;
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
    drop(admin);
    let _ = connection.await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
