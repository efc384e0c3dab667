//! Safety numbers (spec §4.3): a fingerprint two people compare out of band, as 60 digits
//! or as 61 bytes for a QR code. Symmetric in the two identities, and deliberately slow to
//! brute-force: each half costs `FINGERPRINT_ITERATIONS` + 1 SHA-512 calls.
//!
//! ```text
//! h_0     = SHA-512(FINGERPRINT_LABEL || 0x0001 || identity(64))
//! h_{i+1} = SHA-512(h_i || identity(64))            for i in 0 .. FINGERPRINT_ITERATIONS
//! half    = h_N[0..30]
//! digits  = for each 5-byte chunk c of half: format("{:05}", be_u40(c) mod 100000)
//! number  = digits(min(halfA, halfB)) || digits(max(halfA, halfB))        (60 digits)
//! bytes   = 0x01 || min(halfA, halfB) || max(halfA, halfB)                (61 bytes)
//! ```

use crate::crypto::labels::FINGERPRINT_LABEL;
use crate::keys::IdentityPublicKey;
use alloc::string::String;
use sha2::{Digest, Sha512};

/// SHA-512 iterations per fingerprint half (as Signal's safety numbers).
pub const FINGERPRINT_ITERATIONS: u32 = 5200;
/// Fingerprint format version, first byte of [`SafetyNumber::scannable`].
pub const FINGERPRINT_VERSION: u8 = 0x01;
/// Bytes of hash output kept per identity.
pub const FINGERPRINT_HALF_LEN: usize = 30;

/// The fingerprint half of one identity.
#[must_use]
pub fn fingerprint_half(identity: &IdentityPublicKey) -> [u8; FINGERPRINT_HALF_LEN] {
    let id = identity.to_array();
    let mut h = Sha512::new();
    h.update(FINGERPRINT_LABEL);
    h.update(u16::from(FINGERPRINT_VERSION).to_be_bytes());
    h.update(id);
    let mut state = h.finalize();
    for _ in 0..FINGERPRINT_ITERATIONS {
        let mut h = Sha512::new();
        h.update(state);
        h.update(id);
        state = h.finalize();
    }
    let mut out = [0u8; FINGERPRINT_HALF_LEN];
    for (o, s) in out.iter_mut().zip(state.iter()) {
        *o = *s;
    }
    out
}

/// Thirty decimal digits from a fingerprint half.
#[must_use]
pub fn digits(half: &[u8; FINGERPRINT_HALF_LEN]) -> String {
    let mut s = String::with_capacity(30);
    for chunk in half.chunks_exact(5) {
        let v = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        s.push_str(&alloc::format!("{:05}", v % 100_000));
    }
    s
}

/// The safety number of a pair of identities; the same whichever side computes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SafetyNumber {
    low: [u8; FINGERPRINT_HALF_LEN],
    high: [u8; FINGERPRINT_HALF_LEN],
}

impl SafetyNumber {
    /// Computes the safety number of `a` and `b` (order does not matter).
    #[must_use]
    pub fn new(a: &IdentityPublicKey, b: &IdentityPublicKey) -> Self {
        let (ha, hb) = (fingerprint_half(a), fingerprint_half(b));
        if ha <= hb {
            Self { low: ha, high: hb }
        } else {
            Self { low: hb, high: ha }
        }
    }

    /// The 60 digits to read aloud, usually shown as twelve groups of five.
    #[must_use]
    pub fn displayable(&self) -> String {
        let mut s = digits(&self.low);
        s.push_str(&digits(&self.high));
        s
    }

    /// The 61 bytes to put in a QR code.
    #[must_use]
    pub fn scannable(&self) -> [u8; 1 + 2 * FINGERPRINT_HALF_LEN] {
        let mut out = [0u8; 1 + 2 * FINGERPRINT_HALF_LEN];
        let mut it = out.iter_mut();
        if let Some(v) = it.next() {
            *v = FINGERPRINT_VERSION;
        }
        for (o, b) in it.zip(self.low.iter().chain(self.high.iter())) {
            *o = *b;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdentityKeyPair;

    #[test]
    fn symmetric_distinct_and_independently_computed() {
        let a = IdentityKeyPair::from_seed(&[1; 32]);
        let b = IdentityKeyPair::from_seed(&[2; 32]);
        let c = IdentityKeyPair::from_seed(&[3; 32]);
        let ab = SafetyNumber::new(a.public(), b.public());
        assert_eq!(ab, SafetyNumber::new(b.public(), a.public()));
        assert_ne!(ab, SafetyNumber::new(a.public(), c.public()));
        let d = ab.displayable();
        assert_eq!(d.len(), 60);
        assert!(d.bytes().all(|c| c.is_ascii_digit()));
        assert_eq!(ab.scannable()[0], FINGERPRINT_VERSION);

        // Recompute one half from the formula with a plain loop, independently.
        let id = a.public().to_array();
        let mut h: Vec<u8> = Sha512::digest([FINGERPRINT_LABEL, &[0, 1], &id].concat()).to_vec();
        for _ in 0..5200 {
            h = Sha512::digest([&h[..], &id].concat()).to_vec();
        }
        assert_eq!(&fingerprint_half(a.public())[..], &h[..30]);
        let v = u64::from_be_bytes([0, 0, 0, h[0], h[1], h[2], h[3], h[4]]) % 100_000;
        assert_eq!(
            &digits(&fingerprint_half(a.public()))[..5],
            format!("{v:05}")
        );
    }
}
