//! What a completed handshake hands to the ratchet (spec §6.4 → §7.3).

use crate::keys::IdentityPublicKey;
use alloc::vec::Vec;
use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The starting secrets of a session, derived by the handshake (spec §6.4):
/// `root_key || initiator_header_key || responder_next_header_key = HKDF(...)`.
///
/// In the terms of the Double Ratchet specification's header-encryption variant,
/// `root_key` is `SK`, `initiator_header_key` is `shared_hka` and
/// `responder_next_header_key` is `shared_nhkb`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct SessionSeed {
    /// SK: the first root key.
    pub(crate) root_key: Zeroizing<[u8; 32]>,
    /// shared_hka: the header key the initiator sends its first chain under.
    pub(crate) initiator_header_key: Zeroizing<[u8; 32]>,
    /// shared_nhkb: the responder's first next-header key.
    pub(crate) responder_next_header_key: Zeroizing<[u8; 32]>,
    /// AD: authenticated with every message body (spec §6.4).
    #[zeroize(skip)]
    pub(crate) associated_data: Vec<u8>,
    /// This side's public identity.
    #[zeroize(skip)]
    pub(crate) local_identity: IdentityPublicKey,
    /// The peer's public identity.
    #[zeroize(skip)]
    pub(crate) remote_identity: IdentityPublicKey,
}

impl fmt::Debug for SessionSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionSeed")
            .field("remote_identity", &self.remote_identity)
            .finish_non_exhaustive()
    }
}
