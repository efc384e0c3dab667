//! Per-message cost of the client's committed steps on a file-backed SQLite store (WAL,
//! `synchronous = FULL`) against the bare session, 1 KiB messages. After the first exchange
//! every message is a pairwise envelope (type 0x08), so `send`/`receive` time the pairwise path.
//!
//! `cargo bench -p blindrelay-client --bench store`
//!
//! Criterion reports each step's mean and median. A second pass then times 2000 single
//! messages of each kind and prints their p50 and p99.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs
)]

use blindrelay::{initiate, PrekeyBundle, Session};
use blindrelay_client::{BundleSource, Client, Error, MemoryStore, SqliteStore, Store};
use criterion::{black_box, BatchSize, Criterion};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const LEN: usize = 1024;

#[derive(Clone)]
struct Dir(HashMap<String, PrekeyBundle>);
impl BundleSource for Dir {
    fn bundle(&mut self, address: &str) -> Result<Option<PrekeyBundle>, Error> {
        Ok(self.0.get(address).cloned())
    }
}

struct Db(PathBuf);
impl Db {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "blindrelay-client-bench-{}-{name}.db",
            std::process::id()
        ));
        let db = Self(p);
        db.remove();
        db
    }
    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut s = self.0.clone().into_os_string();
            s.push(suffix);
            let _ = std::fs::remove_file(s);
        }
    }
}
impl Drop for Db {
    fn drop(&mut self) {
        self.remove();
    }
}

struct Pair<S: Store> {
    rng: ChaCha20Rng,
    dir: Dir,
    alice: Client<S>,
    bob: Client<S>,
}

/// Two clients, with one exchange done (so both sides hold ratchet sessions).
fn pair<S: Store>(a: S, b: S) -> Pair<S> {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut alice = Client::create(&mut rng, a, 0).unwrap();
    let mut bob = Client::create(&mut rng, b, 0).unwrap();
    let mut dir = Dir(HashMap::new());
    dir.0.insert("alice".into(), alice.bundle().unwrap());
    dir.0.insert("bob".into(), bob.bundle().unwrap());
    let e = alice.send(&mut rng, &mut dir, "bob", b"hi").unwrap();
    bob.receive(&mut rng, &mut dir, &e).unwrap();
    let e = bob.send(&mut rng, &mut dir, "alice", b"hi").unwrap();
    alice.receive(&mut rng, &mut dir, &e).unwrap();
    Pair {
        rng,
        dir,
        alice,
        bob,
    }
}

fn sqlite_pair(name: &str) -> (Pair<SqliteStore>, (Db, Db)) {
    let dbs = (Db::new(&format!("{name}-a")), Db::new(&format!("{name}-b")));
    let p = pair(
        SqliteStore::open(&dbs.0 .0).unwrap(),
        SqliteStore::open(&dbs.1 .0).unwrap(),
    );
    (p, dbs)
}

fn memory_pair() -> Pair<MemoryStore> {
    pair(MemoryStore::new(), MemoryStore::new())
}

fn bench_client<S: Store>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    label: &str,
    mut p: Pair<S>,
    mut q: Pair<S>,
) {
    let msg = vec![0x42u8; LEN];
    g.bench_function(
        format!("{label}/Client::send (pairwise envelope, commit)"),
        |x| {
            x.iter(|| black_box(p.alice.send(&mut p.rng, &mut p.dir, "bob", &msg).unwrap()));
        },
    );
    let Pair {
        rng,
        dir,
        alice,
        bob,
    } = &mut q;
    let mut rng_b = ChaCha20Rng::seed_from_u64(9);
    let mut dir_b = dir.clone();
    g.bench_function(
        format!("{label}/Client::receive (index, open_pairwise, commit)"),
        |x| {
            x.iter_batched(
                || alice.send(rng, dir, "bob", &msg).unwrap(),
                |e| black_box(bob.receive(&mut rng_b, &mut dir_b, &e).unwrap()),
                BatchSize::SmallInput,
            );
        },
    );
}

/// Two bare sessions, with one exchange done.
fn sessions() -> (ChaCha20Rng, Session, Session) {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let bob_id = blindrelay::IdentityKeyPair::generate(&mut rng);
    let sealing = blindrelay::keys::SealingKeySecret::generate(&mut rng);
    let spk = blindrelay::keys::SignedPrekeySecret::generate(&mut rng);
    let kem = blindrelay::keys::KemPrekeySecret::generate(&mut rng);
    let bundle = PrekeyBundle::create(&blindrelay::BundleKeys {
        identity: &bob_id,
        mailbox: [1; 32],
        sealing: &sealing,
        signed_prekey: (1, &spk),
        kem_prekey: (2, &kem),
        one_time_prekey: None,
        one_time_kem_prekey: None,
    });
    let mut store = blindrelay::MemoryPrekeyStore::new();
    store.insert_signed_prekey(1, spk);
    store.insert_kem_prekey(2, kem);
    let alice_id = blindrelay::IdentityKeyPair::generate(&mut rng);
    let alice_sealing = blindrelay::keys::SealingKeySecret::generate(&mut rng);
    let record = blindrelay::IdentityRecord::create(&alice_id, [2; 32], &alice_sealing);
    let mut a = initiate(&mut rng, &alice_id, &record, &bundle.verify().unwrap()).unwrap();
    let m = a.encrypt(&mut rng, b"hi").unwrap();
    let (mut b, _) = blindrelay::accept(&bob_id, &mut store, &m).unwrap();
    let r = b.encrypt(&mut rng, b"hi").unwrap();
    a.decrypt(&r).unwrap();
    (rng, a, b)
}

fn bench(c: &mut Criterion) {
    let msg = vec![0x42u8; LEN];
    let mut g = c.benchmark_group("per_message_1KiB");
    g.sample_size(50).measurement_time(Duration::from_secs(5));

    let (mut rng, mut a, _) = sessions();
    g.bench_function("bare/Session::encrypt", |x| {
        x.iter(|| black_box(a.encrypt(&mut rng, &msg).unwrap()));
    });
    let (mut rng2, mut a2, mut b3) = sessions();
    g.bench_function("bare/Session::decrypt", |x| {
        x.iter_batched(
            || a2.encrypt(&mut rng2, &msg).unwrap(),
            |m| black_box(b3.decrypt(&m).unwrap()),
            BatchSize::SmallInput,
        );
    });

    bench_client(&mut g, "memory", memory_pair(), memory_pair());
    let (p, _d1) = sqlite_pair("send");
    let (q, _d2) = sqlite_pair("recv");
    bench_client(&mut g, "sqlite", p, q);
    g.finish();
}

fn percentiles(name: &str, mut t: Vec<Duration>) {
    t.sort();
    let at = |q: f64| {
        let i = ((t.len() as f64 - 1.0) * q).round() as usize;
        t[i].as_secs_f64() * 1e6
    };
    println!(
        "{name:<52} p50 {:>9.1} µs   p99 {:>9.1} µs   (n = {})",
        at(0.50),
        at(0.99),
        t.len()
    );
}

fn client_latencies<S: Store>(mut p: Pair<S>, n: usize) -> (Vec<Duration>, Vec<Duration>) {
    let msg = vec![0x42u8; LEN];
    let mut send = Vec::with_capacity(n);
    let mut recv = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let e = p.alice.send(&mut p.rng, &mut p.dir, "bob", &msg).unwrap();
        send.push(t.elapsed());
        let t = Instant::now();
        black_box(p.bob.receive(&mut p.rng, &mut p.dir, &e).unwrap());
        recv.push(t.elapsed());
    }
    (send, recv)
}

/// Times single messages (2000 of each kind) and prints p50 and p99.
fn latencies() {
    const N: usize = 2000;
    let msg = vec![0x42u8; LEN];
    let (mut rng, mut a, mut b) = sessions();
    let mut enc = Vec::with_capacity(N);
    let mut dec = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        let m = a.encrypt(&mut rng, &msg).unwrap();
        enc.push(t.elapsed());
        let t = Instant::now();
        black_box(b.decrypt(&m).unwrap());
        dec.push(t.elapsed());
    }
    let (p, _dbs) = sqlite_pair("lat");
    let (sqlite_send, sqlite_recv) = client_latencies(p, N);
    let (memory_send, memory_recv) = client_latencies(memory_pair(), N);
    println!("\nper-message latency, 1 KiB, one direction:");
    percentiles("bare Session::encrypt", enc);
    percentiles("bare Session::decrypt", dec);
    percentiles("MemoryStore Client::send (pairwise+commit)", memory_send);
    percentiles(
        "MemoryStore Client::receive (index+open+commit)",
        memory_recv,
    );
    percentiles("SqliteStore Client::send (pairwise+commit)", sqlite_send);
    percentiles(
        "SqliteStore Client::receive (index+open+commit)",
        sqlite_recv,
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        latencies();
    }
}
