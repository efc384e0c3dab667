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
    ("envelope_decode", envelope_decode),
    ("envelope_open", envelope_open),
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

/// The fixed recipient sealing secret of the `envelope_open` target; the conformance
/// vectors seal their envelope cases to it, so the seed corpus opens.
pub const ENVELOPE_FUZZ_RECIPIENT: [u8; 32] = [0x42; 32];

/// Envelope decoding (the relay's parse): canonical round trip, and the parsed length is
/// the input length.
pub fn envelope_decode(data: &[u8]) {
    if let Ok(env) = crate::envelope::Envelope::decode_exact(data) {
        assert_canonical(&env, data, "envelope");
        #[allow(
            clippy::panic,
            reason = "a fuzz oracle reports a broken invariant by panicking"
        )]
        if env.encoded_len() != data.len() {
            panic!("envelope length disagrees with its encoding");
        }
    }
}

/// Envelope opening for the fixed recipient [`ENVELOPE_FUZZ_RECIPIENT`], at the
/// envelope's own mailbox: never panics, and whatever opens is a well-formed inner
/// message that re-seals and opens to the same result.
pub fn envelope_open(data: &[u8]) {
    use crate::envelope::{open, Envelope};
    let Ok(env) = Envelope::decode_exact(data) else {
        return;
    };
    let key = crate::keys::SealingKeySecret::from_bytes(ENVELOPE_FUZZ_RECIPIENT);
    let mailbox = *env.mailbox();
    if let Ok(opened) = open(&key, &mailbox, &env) {
        let mut rng = FuzzRng(0);
        let again = crate::envelope::seal(
            &mut rng,
            &mailbox,
            &key.public_key(),
            &opened.sender,
            &opened.inner,
        )
        .and_then(|e| open(&key, &mailbox, &e));
        #[allow(
            clippy::panic,
            reason = "a fuzz oracle reports a broken invariant by panicking"
        )]
        if again.as_ref() != Ok(&opened) {
            panic!("an opened envelope does not re-seal to the same content");
        }
    }
}

/// A deterministic counter RNG for oracles that must re-seal (not cryptographic: the
/// oracle only checks functional properties).
struct FuzzRng(u64);

impl rand_core::RngCore for FuzzRng {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(1);
        self.0
            .to_le_bytes()
            .iter()
            .fold(0u32, |a, &b| a.rotate_left(5) ^ u32::from(b))
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32()) << 32 | u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest.iter_mut() {
            *b = self.next_u32().to_le_bytes()[0];
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for FuzzRng {}
