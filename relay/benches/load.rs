//! Load benchmark of the relay (SQLite backend).
//!
//! Part 1, HTTP: the relay runs in this process (`start` over `SqliteStore::open`, request
//! log off) on 127.0.0.1; `TASKS` concurrent client tasks (`RelayClient`, reqwest, keep-alive)
//! deposit valid 342-byte relay envelopes to random mailboxes out of `MAILBOXES` and fetch
//! the mailboxes they own from their cursor, for `SECS` seconds (after a short warm-up) or
//! `MAX_OPS` operations. Prints operations, operations/s and p50 / p99 / max latency per
//! operation type. Client and server share this process and its cores: the figures are the
//! whole loop's, the client's cost included.
//!
//! Part 2, WebSocket: the relay binary runs as a child process (so its RSS is the server's
//! alone, and each process needs only one descriptor per connection); `SUBSCRIBERS`
//! connections each subscribe to one mailbox; prints the child's RSS before and after (goal
//! ≤ 1 GiB for 10,000), then deposits to a sample of the subscribed mailboxes one at a time
//! and measures the time from sending the deposit to receiving the push.
//!
//! ```text
//! ulimit -n 20000 && cargo bench -p blindrelay-relay --bench load
//! BLINDRELAY_LOAD_QUICK=1 cargo bench -p blindrelay-relay --bench load   # a few seconds
//! ```
//!
//! Knobs (environment): `BLINDRELAY_LOAD_SECS` (default 20, quick 3), `BLINDRELAY_LOAD_TASKS`
//! (64), `BLINDRELAY_LOAD_MAILBOXES` (1000), `BLINDRELAY_LOAD_MAX_OPS` (2,000,000),
//! `BLINDRELAY_LOAD_MIX` (`mixed`, `deposit` or `fetch`), `BLINDRELAY_LOAD_SUBSCRIBERS`
//! (10,000, quick 1,000), `BLINDRELAY_LOAD_PUSH_SAMPLES` (200, quick 20),
//! `BLINDRELAY_LOAD_PART` (`all`, `http` or `ws`), `BLINDRELAY_LOAD_SERVER` (`in-process`, or
//! `binary`: part 1 against the relay binary as a child, printing the relay's own CPU per
//! operation), `BLINDRELAY_LOAD_RELAY_BIN` (the relay binary to run; default the one Cargo
//! built with the bench).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blindrelay::codec::Encode;
use blindrelay::envelope::Envelope;
use blindrelay::route::ReadCapability;
use blindrelay_relay::store::sqlite::SqliteStore;
use blindrelay_relay::{relay_with, start, Clock, RelayClient};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes in front of an envelope's ciphertext; the bench writes a counter there.
const CIPHERTEXT_AT: usize = 70;
const WARMUP: Duration = Duration::from_millis(1000);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_str(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

struct Settings {
    quick: bool,
    secs: u64,
    tasks: usize,
    mailboxes: usize,
    max_ops: u64,
    mix: String,
    subscribers: usize,
    push_samples: usize,
    part: String,
    server: String,
    relay_bin: String,
}

impl Settings {
    fn from_env() -> Self {
        let quick = std::env::var("BLINDRELAY_LOAD_QUICK").is_ok_and(|v| v != "0");
        Self {
            quick,
            secs: env_u64("BLINDRELAY_LOAD_SECS", if quick { 3 } else { 20 }),
            tasks: usize::try_from(env_u64("BLINDRELAY_LOAD_TASKS", 64)).unwrap(),
            mailboxes: usize::try_from(env_u64("BLINDRELAY_LOAD_MAILBOXES", 1000)).unwrap(),
            max_ops: env_u64("BLINDRELAY_LOAD_MAX_OPS", 2_000_000),
            mix: env_str("BLINDRELAY_LOAD_MIX", "mixed"),
            subscribers: usize::try_from(env_u64(
                "BLINDRELAY_LOAD_SUBSCRIBERS",
                if quick { 1000 } else { 10_000 },
            ))
            .unwrap(),
            push_samples: usize::try_from(env_u64(
                "BLINDRELAY_LOAD_PUSH_SAMPLES",
                if quick { 20 } else { 200 },
            ))
            .unwrap(),
            part: env_str("BLINDRELAY_LOAD_PART", "all"),
            server: env_str("BLINDRELAY_LOAD_SERVER", "in-process"),
            relay_bin: env_str(
                "BLINDRELAY_LOAD_RELAY_BIN",
                env!("CARGO_BIN_EXE_blindrelay-relay"),
            ),
        }
    }

    fn command(&self) -> String {
        let mut vars = Vec::new();
        if self.quick {
            vars.push("BLINDRELAY_LOAD_QUICK=1".to_owned());
        }
        for (name, value) in [
            ("BLINDRELAY_LOAD_SECS", self.secs.to_string()),
            ("BLINDRELAY_LOAD_TASKS", self.tasks.to_string()),
            ("BLINDRELAY_LOAD_MAILBOXES", self.mailboxes.to_string()),
            ("BLINDRELAY_LOAD_MAX_OPS", self.max_ops.to_string()),
            ("BLINDRELAY_LOAD_MIX", self.mix.clone()),
            ("BLINDRELAY_LOAD_SUBSCRIBERS", self.subscribers.to_string()),
            (
                "BLINDRELAY_LOAD_PUSH_SAMPLES",
                self.push_samples.to_string(),
            ),
            ("BLINDRELAY_LOAD_PART", self.part.clone()),
            ("BLINDRELAY_LOAD_SERVER", self.server.clone()),
        ] {
            vars.push(format!("{name}={value}"));
        }
        format!(
            "ulimit -n 20000 && {} cargo bench -p blindrelay-relay --bench load",
            vars.join(" ")
        )
    }
}

/// Latencies of one operation type, in microseconds.
#[derive(Default)]
struct Latencies {
    micros: Vec<u32>,
    errors: u64,
}

impl Latencies {
    fn record(&mut self, elapsed: Duration) {
        self.micros
            .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
    }

    fn merge(&mut self, other: Self) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
    }

    fn report(&mut self, name: &str, window: Option<Duration>) {
        self.micros.sort_unstable();
        let n = self.micros.len();
        if n == 0 {
            println!("  {name:<8} no operations ({} errors)", self.errors);
            return;
        }
        let at = |percent: usize| f64::from(self.micros[((n - 1) * percent + 50) / 100]) / 1000.0;
        let rate = window.map_or_else(
            || "-".to_owned(),
            |w| format!("{:.0}", n as f64 / w.as_secs_f64()),
        );
        println!(
            "  {name:<8} {n:>9} ops {rate:>9} ops/s   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>8.2} ms   errors {}",
            at(50),
            at(99),
            f64::from(self.micros[n - 1]) / 1000.0,
            self.errors
        );
    }
}

fn envelope_for(mailbox: [u8; 32], rng: &mut ChaCha20Rng) -> Vec<u8> {
    let mut ciphertext = vec![0u8; 256 + 16];
    rng.fill_bytes(&mut ciphertext);
    let mut enc = [0u8; 32];
    rng.fill_bytes(&mut enc);
    Envelope::from_parts(mailbox, enc, ciphertext)
        .unwrap()
        .to_bytes()
}

/// `VmRSS` of `/proc/PID/status` (`self` for this process), in bytes.
fn rss(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let settings = Settings::from_env();
    println!(
        "relay load bench (SQLite); reproduce with:\n  {}",
        settings.command()
    );
    println!(
        "machine: {} cores; load average before: {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if settings.part != "ws" {
        runtime.block_on(http_load(&settings));
    }
    if settings.part != "http" {
        runtime.block_on(subscribers(&settings));
    }
}

// ---------------------------------------------------------------------------------------
// Part 1: deposits and fetches.

struct Shared {
    client: RelayClient,
    capabilities: Vec<ReadCapability>,
    templates: Vec<Vec<u8>>,
    measure_from: Instant,
    deadline: Instant,
    budget: AtomicU64,
    counter: AtomicU64,
}

async fn client_task(
    shared: Arc<Shared>,
    index: usize,
    tasks: usize,
    mix: String,
) -> [Latencies; 2] {
    let mut rng = ChaCha20Rng::seed_from_u64(1000 + index as u64);
    let mailboxes = shared.capabilities.len();
    let mine: Vec<usize> = (0..mailboxes).filter(|m| m % tasks == index).collect();
    let mut cursors = vec![0u64; mine.len()];
    let mut deposits = Latencies::default();
    let mut fetches = Latencies::default();
    loop {
        let t0 = Instant::now();
        if t0 >= shared.deadline {
            break;
        }
        let deposit = match mix.as_str() {
            "deposit" => true,
            "fetch" => false,
            _ => rng.next_u32() % 2 == 0,
        };
        let measured = t0 >= shared.measure_from;
        if measured
            && shared
                .budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
                .is_err()
        {
            break;
        }
        if deposit || mine.is_empty() {
            let m = (rng.next_u32() as usize) % mailboxes;
            let mut bytes = shared.templates[m].clone();
            let n = shared.counter.fetch_add(1, Ordering::Relaxed);
            bytes[CIPHERTEXT_AT..CIPHERTEXT_AT + 8].copy_from_slice(&n.to_be_bytes());
            let result = shared.client.deposit(bytes).await;
            if measured {
                match result {
                    Ok(()) => deposits.record(t0.elapsed()),
                    Err(_) => deposits.errors += 1,
                }
            }
        } else {
            let k = (rng.next_u32() as usize) % mine.len();
            let result = shared
                .client
                .fetch(&shared.capabilities[mine[k]], cursors[k], 32)
                .await;
            if measured {
                match &result {
                    Ok(_) => fetches.record(t0.elapsed()),
                    Err(_) => fetches.errors += 1,
                }
            }
            if let Ok(page) = result {
                if let Some(last) = page.envelopes.last() {
                    cursors[k] = last.seq;
                }
            }
        }
    }
    [deposits, fetches]
}

async fn http_load(settings: &Settings) {
    blindrelay_relay::log::set_enabled(false);
    let dir = tempfile::tempdir().unwrap();
    let (running, child, client) = if settings.server == "binary" {
        let (child, client) = spawn_relay(&settings.relay_bin, dir.path()).await;
        (None, Some(child), client)
    } else {
        let store = SqliteStore::open(&dir.path().join("relay.db")).unwrap();
        let relay = Arc::new(relay_with(store, Clock::System, dir.path()).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = start(relay, listener).unwrap();
        let client = RelayClient::new(&format!("http://{}", running.addr));
        (Some(running), None, client)
    };
    let cpu_pid = child
        .as_ref()
        .map_or("self".to_owned(), |c| c.0.id().to_string());

    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let capabilities: Vec<ReadCapability> = (0..settings.mailboxes)
        .map(|_| ReadCapability::generate(&mut rng))
        .collect();
    let templates = capabilities
        .iter()
        .map(|c| envelope_for(c.mailbox(), &mut rng))
        .collect();
    let begin = Instant::now();
    let shared = Arc::new(Shared {
        client,
        capabilities,
        templates,
        measure_from: begin + WARMUP,
        deadline: begin + WARMUP + Duration::from_secs(settings.secs),
        budget: AtomicU64::new(settings.max_ops),
        counter: AtomicU64::new(0),
    });
    println!(
        "\npart 1, HTTP: relay {}, {} client tasks, {} mailboxes, mix {}, {} s after {} ms warm-up (or {} ops)",
        settings.server,
        settings.tasks,
        settings.mailboxes,
        settings.mix,
        settings.secs,
        WARMUP.as_millis(),
        settings.max_ops
    );
    let handles: Vec<_> = (0..settings.tasks)
        .map(|i| {
            tokio::spawn(client_task(
                Arc::clone(&shared),
                i,
                settings.tasks,
                settings.mix.clone(),
            ))
        })
        .collect();
    tokio::time::sleep_until(shared.measure_from.into()).await;
    let cpu_start = cpu_seconds(&cpu_pid);
    let mut deposits = Latencies::default();
    let mut fetches = Latencies::default();
    for h in handles {
        let [d, f] = h.await.unwrap();
        deposits.merge(d);
        fetches.merge(f);
    }
    let window = Instant::now()
        .min(shared.deadline)
        .duration_since(shared.measure_from);
    let total = deposits.micros.len() + fetches.micros.len();
    println!(
        "  total    {total:>9} ops {:>9.0} ops/s over {:.2} s (deposits + fetches)",
        total as f64 / window.as_secs_f64(),
        window.as_secs_f64()
    );
    let cpu = cpu_seconds(&cpu_pid) - cpu_start;
    deposits.report("deposit", Some(window));
    fetches.report("fetch", Some(window));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if child.is_some() {
        println!(
            "  relay process CPU: {cpu:.2} s over the window = {:.0} us per operation; at 100% of {cores} cores that is {:.0} ops/s for the relay alone",
            cpu * 1e6 / total.max(1) as f64,
            total as f64 / cpu * cores as f64
        );
    } else {
        println!(
            "  process CPU (client and server): {cpu:.2} s over the window = {:.0} us per operation",
            cpu * 1e6 / total.max(1) as f64
        );
    }
    println!("  process RSS: {:.0} MiB", mib(rss(&cpu_pid)));
    if let Some(running) = running {
        running.stop().await;
    }
}

/// User + system CPU seconds of `/proc/PID/stat` (`self` for this process).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces): utime is the 12th of
    // them, stime the 13th, in ticks of USER_HZ (100 on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

// ---------------------------------------------------------------------------------------
// Part 2: WebSocket subscribers.

/// The relay binary as a child; killed and reaped when dropped.
struct RelayChild(Child);

impl Drop for RelayChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the relay binary `path` on a free loopback port over `data`; waits until it
/// answers.
async fn spawn_relay(path: &str, data: &std::path::Path) -> (RelayChild, RelayClient) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = RelayChild(
        Command::new(path)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(data)
            .arg("--quiet")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the relay binary"),
    );
    let client = RelayClient::new(&format!("http://127.0.0.1:{port}"));
    for _ in 0..400 {
        if client.discovery().await.is_ok() {
            return (child, client);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the relay binary did not start");
}

async fn subscribers(settings: &Settings) {
    let dir = tempfile::tempdir().unwrap();
    let (child, client) = spawn_relay(&settings.relay_bin, dir.path()).await;
    let pid = child.0.id().to_string();
    let n = settings.subscribers;
    println!(
        "\npart 2, WebSocket: {n} subscribers (one connection, one mailbox each) to the relay binary (pid {pid})"
    );
    let rss_idle = rss(&pid);
    let self_before = rss("self");

    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let capabilities: Arc<Vec<ReadCapability>> =
        Arc::new((0..n).map(|_| ReadCapability::generate(&mut rng)).collect());
    let started = Instant::now();
    let mut subscriptions = Vec::with_capacity(n);
    let mut failures = 0usize;
    // Open them 200 at a time.
    for chunk_start in (0..n).step_by(200) {
        let mut set = tokio::task::JoinSet::new();
        for i in chunk_start..(chunk_start + 200).min(n) {
            let client = client.clone();
            let capabilities = Arc::clone(&capabilities);
            set.spawn(async move { (i, client.subscribe(&[&capabilities[i]]).await) });
        }
        while let Some(joined) = set.join_next().await {
            match joined.unwrap() {
                (i, Ok(s)) => subscriptions.push((i, s)),
                (_, Err(e)) => {
                    if failures < 3 {
                        eprintln!("subscribe failed: {e}");
                    }
                    failures += 1;
                }
            }
        }
    }
    let opened = started.elapsed();
    subscriptions.sort_by_key(|(i, _)| *i);
    // Let the relay finish registering and sending the (empty) backlogs.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_open = rss(&pid);
    let self_open = rss("self");
    println!(
        "  opened {} subscriptions in {:.2} s ({failures} failed)",
        subscriptions.len(),
        opened.as_secs_f64()
    );
    println!(
        "  relay RSS: {:.1} MiB idle, {:.1} MiB with the subscribers ({:.1} KiB per connection); goal <= 1024 MiB: {}",
        mib(rss_idle),
        mib(rss_open),
        (rss_open.saturating_sub(rss_idle)) as f64 / 1024.0 / subscriptions.len().max(1) as f64,
        if rss_open <= 1 << 30 { "met" } else { "NOT met" }
    );
    println!(
        "  bench (client) process RSS: {:.1} MiB before, {:.1} MiB with the connections open",
        mib(self_before),
        mib(self_open)
    );

    // Push latency: deposit to a sample of subscribed mailboxes, one at a time, and time
    // from sending the deposit to receiving its Delivery on the subscriber's connection.
    let samples = settings.push_samples.min(subscriptions.len());
    let mut push = Latencies::default();
    let mut missed = 0;
    for s in 0..samples {
        let k = s * subscriptions.len() / samples.max(1);
        let (i, subscription) = &mut subscriptions[k];
        let bytes = envelope_for(capabilities[*i].mailbox(), &mut rng);
        let t0 = Instant::now();
        let deposit = client.deposit(bytes.clone());
        let receive = tokio::time::timeout(Duration::from_secs(5), subscription.next());
        let (deposited, received) = tokio::join!(deposit, receive);
        let elapsed = t0.elapsed();
        match (deposited, received) {
            (Ok(()), Ok(Ok(Some(delivery)))) if delivery.envelope == bytes => push.record(elapsed),
            _ => missed += 1,
        }
    }
    push.errors = missed;
    println!("  push latency (deposit sent -> Delivery received), {samples} samples:");
    push.report("push", None);
    println!("  relay RSS after the pushes: {:.1} MiB", mib(rss(&pid)));
    let closing = Instant::now();
    for (_, s) in subscriptions {
        drop(s);
    }
    drop(child);
    println!("  closed in {:.2} s", closing.elapsed().as_secs_f64());
}
