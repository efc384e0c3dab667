//! Blind groups (spec §15): MLS group messaging (RFC 9420, through mls-rs) whose relay never
//! sees membership, group ids, epochs or senders.
//!
//! The MLS core is mls-rs, unmodified: TreeKEM, the key schedule, PrivateMessage framing
//! with encrypted sender data, signatures. blindrelay adds the **blind delivery profile**:
//!
//! - every group message, commits included, is an MLS PrivateMessage (PublicMessage is
//!   never produced and never accepted);
//! - its group id and epoch are removed before sending and restored by the receiver
//!   ([`message`], §15.5), and the rest is sealed in a padded group envelope under a key
//!   from the epoch's MLS exporter ([`blindrelay::group::EpochKeys`], §15.3–§15.4), to
//!   that epoch's mailbox, so the relay sees one epoch-scoped mailbox id and a padded
//!   length;
//! - the relay orders commits blindly: the first commit request presenting the epoch's
//!   commit-slot token wins (§15.6);
//! - Welcome and ratchet tree reach a joiner as an invite inside an ordinary 1:1 session
//!   ([`message::Invite`], §15.8);
//! - each member's MLS credential is its blindrelay identity certifying a per-group
//!   signature key ([`identity`], §15.2), so safety numbers vouch for group members.
//!
//! Randomness and time come from the caller, as in the core crate ([`provider`]).

#![forbid(unsafe_code)]

pub mod group;
pub mod identity;
pub mod message;
pub mod provider;

pub use group::{BlindGroup, Change, CommitOutcome, Member, Received};
pub use provider::{GroupRng, CIPHER_SUITE};

/// The crate's errors are the core's one error enum (`spec/errors.md`).
pub use blindrelay::Error;
