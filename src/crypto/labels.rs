//! Every domain-separation label of suite v1 (spec §3.3, "Label registry"). Each label is
//! ASCII, starts with `blindrelay v1 `, and is used for exactly one purpose. The
//! `spec_consistency` test checks that every label in `src/` appears in the spec.

/// HKDF info deriving the Ed25519 signing seed from an identity seed (spec §4.1).
pub const IDENTITY_ED25519_INFO: &[u8] = b"blindrelay v1 identity ed25519";
/// HKDF info deriving the X25519 agreement secret from an identity seed (spec §4.1).
pub const IDENTITY_X25519_INFO: &[u8] = b"blindrelay v1 identity x25519";
/// Signature context for prekey signatures (spec §5.2).
pub const PREKEY_SIGNATURE_CONTEXT: &[u8] = b"blindrelay v1 prekey signature";
/// Hash prefix of the safety-number fingerprint (spec §4.3).
pub const FINGERPRINT_LABEL: &[u8] = b"blindrelay v1 fingerprint";
/// Prefix of the handshake transcript hash (spec §6.4).
pub const HANDSHAKE_TRANSCRIPT_LABEL: &[u8] = b"blindrelay v1 handshake transcript";
/// HKDF info prefix of the handshake key derivation (spec §6.4); the transcript hash
/// follows it.
pub const HANDSHAKE_INFO: &[u8] = b"blindrelay v1 handshake keys";
