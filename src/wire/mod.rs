//! Message structures as plain data with their canonical encodings (spec §2, §5–§9).
//! Ciphertexts are opaque byte fields; this layer never imports `crate::crypto`.

mod bundle;
pub(crate) use bundle::{read_one_time_keys, write_one_time_keys};
mod identity;
mod initial;
mod ratchet;

pub use bundle::{KemPrekeyPublic, PrekeyBundle, PrekeyKind, X25519PrekeyPublic};
#[allow(unused_imports)]
pub(crate) use identity::HexBytes;
pub use identity::{
    IdentityPublicKey, IdentityRecord, IDENTITY_PUBLIC_KEY_LEN, IDENTITY_RECORD_LEN,
};
pub use initial::{InitialHeader, InitialMessage};
pub use ratchet::{
    RatchetHeader, RatchetMessage, RatchetMessageRef, BODY_NONCE_LEN, ENCRYPTED_HEADER_LEN,
    MAX_BODY_LEN, RATCHET_HEADER_LEN, RATCHET_PREFIX_LEN,
};

#[cfg(test)]
mod tests;
