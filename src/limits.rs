//! Protocol-wide limits of v1 (spec §10, "Limits"). Each value is listed in the spec with
//! the same number; the `spec_consistency` test checks that. Limits that belong to one
//! component live next to it (for example the ratchet's `MAX_SKIP`) and are listed in the
//! same spec section.

/// The largest plaintext one message may carry: 64 KiB. Larger payloads (attachments)
/// travel out of band under a key sent in a message. Bounding it bounds every allocation
/// a receiver makes for a message.
pub const MAX_PLAINTEXT_LEN: usize = 65_536;

/// The largest encoded ratchet message: the plaintext maximum plus 1 KiB for the
/// encrypted header, nonce, tag and padding framing.
pub const MAX_RATCHET_MESSAGE_LEN: usize = MAX_PLAINTEXT_LEN + 1024;
