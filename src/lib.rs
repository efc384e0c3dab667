#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod bundle;
pub mod codec;
pub mod contact;
pub mod crypto;
pub mod envelope;
mod error;
pub mod fingerprint;
pub mod group;
// The fuzz oracles hold fixed secrets: never part of a release build (issue 15, defect 8).
#[cfg(any(test, fuzzing, feature = "hazmat"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod handshake;
#[cfg(feature = "hazmat")]
pub mod hazmat;
pub mod keys;
pub mod limits;
pub mod ratchet;
pub mod relay;
pub mod route;
mod seed;
#[cfg(feature = "serde")]
mod serde_support;
pub mod session;
pub mod wire;

pub use bundle::{BundleKeys, VerifiedBundle};
pub use envelope::{Envelope, Opened};
pub use error::Error;
pub use handshake::{accept, accept_opened, initiate};
pub use keys::{IdentityKeyPair, IdentityPublicKey, MemoryPrekeyStore, PrekeyStore};
pub use session::{Decrypted, Position, Session, StorageKey};
pub use wire::{IdentityRecord, PrekeyBundle};

/// The `rand_core` the API's RNG bounds come from (0.6, as the dalek 2.x and RustCrypto
/// crates under blindrelay use). Name RNG types through this re-export, or depend on
/// `rand_core = "0.6"` yourself; see the README's "Randomness" section for rand 0.9/0.10.
pub use rand_core;

/// The crate's version of the protocol specification in `spec/`.
pub const SPEC_VERSION: &str = "1.0-draft";
