//! Fuzz oracles, shared by the cargo-fuzz targets in `fuzz/` and by the corpus replay test
//! (`tests/fuzz_corpus.rs`), so `cargo test` catches regressions without nightly.
//!
//! Each oracle takes arbitrary bytes and panics only when an invariant of the protocol is
//! broken: a non-canonical encoding accepted, state changed by a failed operation, and so
//! on. Not part of the stable API.

use crate::codec::{Decode, Encode};
use crate::wire::{InitialMessage, PrekeyBundle};

/// A fuzz oracle: panics only on a broken invariant.
pub type Oracle = fn(&[u8]);

/// Every fuzz target, by name, with its oracle.
pub const TARGETS: &[(&str, Oracle)] = &[
    ("bundle_decode", bundle_decode),
    ("initial_decode", initial_decode),
];

/// Runs the oracle of the named target; returns `false` if there is no such target.
pub fn run(target: &str, data: &[u8]) -> bool {
    match TARGETS.iter().find(|(name, _)| *name == target) {
        Some((_, oracle)) => {
            oracle(data);
            true
        }
        None => false,
    }
}

/// Asserts that a decoded value re-encodes to exactly the input (spec §2.4).
fn assert_canonical<T: Encode>(value: &T, data: &[u8], what: &str) {
    #[allow(
        clippy::panic,
        reason = "a fuzz oracle reports a broken invariant by panicking"
    )]
    if value.to_bytes() != data {
        panic!("non-canonical {what} encoding accepted");
    }
}

/// Bundle decoding: canonical round trip; verification never panics.
pub fn bundle_decode(data: &[u8]) {
    if let Ok(bundle) = PrekeyBundle::decode_exact(data) {
        assert_canonical(&bundle, data, "bundle");
        let _ = bundle.verify();
    }
}

/// Initial-message decoding: canonical round trip.
pub fn initial_decode(data: &[u8]) {
    if let Ok(msg) = InitialMessage::decode_exact(data) {
        assert_canonical(&msg, data, "initial message");
    }
}
