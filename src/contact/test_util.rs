//! What the contact tests share: the tests' clock and random contact ids from a seed.

use super::ContactId;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// The tests' clock: 2026-12-03T00:00:00Z.
pub(super) const NOW: u64 = 1_796_256_000;
/// One day in seconds.
pub(super) const DAY: u64 = 86_400;

/// `n` random contact ids from `seed`.
pub(super) fn ids(seed: u64, n: usize) -> Vec<ContactId> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mut b = [0u8; 32];
            rng.fill_bytes(&mut b);
            ContactId::from_bytes(b)
        })
        .collect()
}
