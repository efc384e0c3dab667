//! What a `ch2` key rotation costs the oracle (spec §13.8, "Re-keying"): every registrant
//! evaluated once under the new key epoch, measured in-process (the oracle's cryptography,
//! without HTTP or its budget store) over a whole registry
//! rather than extrapolated from one element.
//!
//! ```sh
//! cargo run --release --example oracle_rekey -- [registrants] [batch]
//! ```
//!
//! `registrants` defaults to 1 000 000. `batch` is the number of blinded elements per
//! oracle request (default 1: each registrant re-registers alone, with its own proof);
//! `batch` = 0 measures unblinded evaluation (RFC 9497 `Evaluate` plus the §13.2 HKDF, what
//! an oracle that knew every input would pay). One thread, so the wall time is the
//! oracle's core time. It prints the throughput and the p50/p99 latency of one request.
//! The oracle's cost does not depend on the elements' values, so a pool of 4 096 blinded
//! contacts is blinded once (not counted) and reused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use blindrelay::contact::oprf;
use blindrelay::contact::{ContactId, OracleKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::time::{Duration, Instant};

const POOL: usize = 4096;

fn main() {
    let mut args = std::env::args().skip(1);
    let registrants: usize = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("registrants"));
    let batch: usize = args.next().map_or(1, |a| a.parse().expect("batch"));
    assert!(batch <= oprf::MAX_OPRF_BATCH, "batch over MAX_OPRF_BATCH");

    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let key = OracleKey::derive(&[0x5a; 32], 2).unwrap();
    let pool: Vec<ContactId> = (0..POOL)
        .map(|_| {
            let mut id = [0u8; 32];
            rng.fill_bytes(&mut id);
            ContactId::from_bytes(id)
        })
        .collect();
    let (_, blinded) = oprf::blind(&mut rng, &pool).unwrap();

    let mut latencies = Vec::with_capacity(registrants / batch.max(1) + 1);
    let start = Instant::now();
    let mut done = 0usize;
    while done < registrants {
        let at = done % POOL;
        let n = if batch == 0 {
            1
        } else {
            batch.min(registrants - done).min(POOL - at)
        };
        let t = Instant::now();
        if batch == 0 {
            std::hint::black_box(key.evaluate_unblinded(&pool[at]).unwrap());
        } else {
            std::hint::black_box(key.evaluate(&mut rng, &blinded[at..at + n]).unwrap());
        }
        latencies.push(t.elapsed());
        done += n;
    }
    let total = start.elapsed();
    latencies.sort_unstable();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    let per = total.as_secs_f64() / registrants as f64;
    println!(
        "re-key {registrants} registrants, {} per request: {:.1} s on one core, {:.0} evaluations/s, {:.1} µs each; request latency p50 {:?}, p99 {:?}; extrapolated to 10^9: {:.1} core-hours",
        if batch == 0 { "unblinded".to_string() } else { batch.to_string() },
        total.as_secs_f64(),
        registrants as f64 / total.as_secs_f64(),
        per * 1e6,
        round(pct(50)),
        round(pct(99)),
        per * 1e9 / 3600.0,
    );
}

fn round(d: Duration) -> Duration {
    Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
