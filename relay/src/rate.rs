//! Abuse limits that need no sender identity (spec §12.9): token buckets keyed by the
//! mailbox a deposit targets or the owner a claim drains, never by who sent it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Token buckets of `burst` tokens refilled at `per_sec`, one per 32-byte id.
pub(crate) struct RateLimiter {
    burst: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<[u8; 32], (f64, Instant)>>,
}

impl RateLimiter {
    pub(crate) fn new(burst: u32, per_sec: u32) -> Self {
        Self {
            burst: f64::from(burst),
            per_sec: f64::from(per_sec),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `id`; `false` when none is left.
    pub(crate) fn allow(&self, id: &[u8; 32]) -> bool {
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        if buckets.len() >= crate::limits::RATE_TABLE_MAX && !buckets.contains_key(id) {
            buckets.clear();
        }
        let (tokens, last) = buckets.entry(*id).or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.per_sec;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_per_id() {
        let r = RateLimiter::new(3, 0);
        assert!(r.allow(&[1; 32]));
        assert!(r.allow(&[1; 32]));
        assert!(r.allow(&[1; 32]));
        assert!(!r.allow(&[1; 32]));
        // Another mailbox has its own bucket.
        assert!(r.allow(&[2; 32]));
    }
}
