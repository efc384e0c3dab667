//! The Double Ratchet with encrypted headers (spec §7): the symmetric and DH ratchets that
//! every session message goes through. [`Session`](crate::session::Session) is the public
//! face; this module holds the state machine and its bounds.
//!
//! Design choices, each specified in spec §7:
//! - Signal's header-encryption variant: the relay sees neither ratchet keys nor counters.
//! - A random 24-byte XChaCha20-Poly1305 nonce for every header and every body: a sender
//!   restored from an old copy of its state re-derives old message keys, but never reuses a
//!   (key, nonce) pair, so no keystream is ever reused (rollback safety, §7.9).
//! - The sending half of a DH ratchet step happens lazily at the next encryption, so
//!   decryption needs no randomness and a direction change costs one key generation and one
//!   DH per side.
//! - Receiving computes a plan, authenticates under it, then commits: a failed decryption
//!   changes nothing.

mod kdf;
mod skipped;
mod state;

#[allow(unused_imports)]
pub(crate) use kdf::{chain_step, root_step, RootStep};
pub(crate) use skipped::{SkippedChain, SkippedKey, SkippedKeys};
pub use skipped::{MAX_RECEIVING_CHAINS, MAX_SKIP, MAX_SKIPPED_KEYS};
pub use state::Position;
pub(crate) use state::{RatchetState, AD_LEN};
