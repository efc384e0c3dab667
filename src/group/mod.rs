//! Blind groups, the half that needs no MLS (spec §15): what a group epoch's exporter
//! secret becomes (wrap key, commit-slot token, read capability, mailbox), the group
//! envelope that carries every group message, the commit request that orders commits
//! blindly, and the certificate that makes a blindrelay identity an MLS credential.
//!
//! The MLS group itself (RFC 9420, TreeKEM, the key schedule) lives in the workspace crate
//! `blindrelay-groups`, on mls-rs; the relay needs only this module, so it never links an
//! MLS implementation and never sees anything an MLS parser could read.
//!
//! ```text
//! E     = MLS-Exporter("blindrelay v1 group epoch", "", 32)             per epoch, §15.3
//! wrap  = HKDF-Expand(E, "blindrelay v1 group wrap", 32)
//! token = HKDF-Expand(E, "blindrelay v1 group commit token", 32)
//! cap   = SHA-256("blindrelay v1 group capability" || token)
//! mbox  = SHA-256("blindrelay v1 mailbox id" || cap)                    §8.13
//! ```

mod credential;
mod epoch;
pub mod wire;

pub use credential::{
    certify_group_key, verify_group_key, GroupCredential, GROUP_CREDENTIAL_LEN, GROUP_LEAF_LABEL,
};
pub use epoch::{
    CommitToken, EpochKeys, COMMIT_TOKEN_LEN, EXPORTER_SECRET_LEN, GROUP_CAPABILITY_LABEL,
    GROUP_COMMIT_TOKEN_LABEL, GROUP_EXPORTER_LABEL, GROUP_WRAP_LABEL,
};
pub use wire::{
    CommitRequest, GroupEnvelope, GROUP_ENVELOPE_OVERHEAD, MAX_GROUP_BODY_LEN,
    MAX_GROUP_ENVELOPE_LEN,
};

#[cfg(test)]
mod tests;
