//! The hybrid handshake: X25519 + ML-KEM-768, PQXDH-style (spec §6).
//!
//! The initiator computes, with a fresh ephemeral key `EK_A`:
//!
//! ```text
//! DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)   [DH4 = DH(EK_A, OPK_B)]
//! (CT, SS) = ML-KEM-768.Encaps(PQPK_B)      PQPK_B = one-time ML-KEM prekey if offered, else signed
//! TH  = SHA-256(HANDSHAKE_TRANSCRIPT_LABEL || IK_B || header || SPK_B || PQPK_B [|| OPK_B])
//! IKM = 0xFF×32 || DH1 || DH2 || DH3 [|| DH4] || SS
//! root_key || initiator_header_key || responder_next_header_key
//!     = HKDF-SHA256(salt = 0x00×32, IKM, info = HANDSHAKE_INFO || TH, L = 96)
//! AD  = IK_A || IK_B || TH
//! ```
//!
//! The transcript hash binds the suite (through the labels), both identities, every prekey
//! used with its id and kind, the ephemeral key, and the KEM encapsulation key and
//! ciphertext (against re-encapsulation attacks on PQXDH).
//!
//! Typestate: only a [`VerifiedBundle`](crate::VerifiedBundle) can start a handshake; the ephemeral secret is
//! created and consumed inside; the responder gets a session only after the first message
//! inside the initial message authenticates, and only then are one-time prekeys deleted and
//! the replay id recorded.

mod derive;
mod establish;

#[cfg(feature = "hazmat")]
pub use derive::HandshakeTrace;
#[allow(unused_imports)]
pub(crate) use derive::{initiator_secrets, responder_seed, ResponderUse, Trace};
#[cfg(feature = "hazmat")]
pub(crate) use establish::start;
pub use establish::{accept, accept_opened, initiate};

#[cfg(test)]
mod tests;
