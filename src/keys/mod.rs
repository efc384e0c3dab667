//! Typed key material (spec §4, §5). Each secret role has its own type, so a signed prekey
//! can never be passed where a one-time prekey is expected. Every secret type zeroizes on
//! drop, has no `Clone`, prints a redacted `Debug`, and compares in constant time.

mod identity;
mod prekey;
mod store;

pub use identity::{IdentityKeyPair, IdentityPublicKey};
pub use prekey::{
    KemPrekeySecret, OneTimeKemPrekeySecret, OneTimePrekeySecret, SealingKeySecret,
    SignedPrekeySecret,
};
pub use store::{
    MemoryPrekeyStore, PrekeyStore, MAX_REPLAY_RECORDS_PER_SIGNED_PREKEY, SIGNED_PREKEY_GRACE,
    SIGNED_PREKEY_MAX_AGE,
};
