//! Sessions (spec §7): the public face of the ratchet, created by the handshake
//! ([`initiate`](crate::handshake::initiate), [`accept`](crate::handshake::accept)) or
//! restored from storage ([`Session::from_bytes`], [`Session::open`]).
//!
//! A session encrypts and decrypts messages, never panics on any input, and changes
//! nothing when a decryption fails (spec §7.6). Its state serializes to a versioned
//! canonical encoding (spec §7.8), optionally sealed under a caller-held
//! [`StorageKey`].

mod pairwise;
mod persist;
mod storage;

pub use pairwise::{MAX_WATCHED_MAILBOXES, PROBE_FIRST};

pub use persist::MAX_SESSION_STATE_LEN;
pub use storage::{StorageKey, MAX_SLOT_LEN};

use crate::codec::{peek_type, Decode, Encode, MessageType};
use crate::crypto::kdf::sha256;
use crate::crypto::{random_array, CryptoRng, RngCore};
use crate::keys::{IdentityPublicKey, SignedPrekeySecret};
pub use crate::ratchet::Position;
use crate::ratchet::{RatchetState, SkippedKeys, AD_LEN};
use crate::seed::SessionSeed;
use crate::wire::{InitialHeader, InitialMessage, RatchetMessageRef};
use crate::Error;
use alloc::vec::Vec;
use core::fmt;
use subtle::ConstantTimeEq;

/// The previous sessions a client keeps per peer after a reset (spec §7.9), so that
/// messages in flight on a replaced session still decrypt.
pub const MAX_PREVIOUS_SESSIONS: usize = 2;

/// A decrypted message and where it stands in the peer's sending order (spec §7.6).
#[derive(Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// The message's position: sort by it to show a peer's messages in the order they were
    /// sent, whatever order they arrived in.
    pub position: Position,
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

/// An established end-to-end session with one peer.
///
/// Not `Clone`: two live copies of a session would send under the same chain. To keep a
/// session across restarts, persist it with [`Session::to_bytes`] or [`Session::seal`].
pub struct Session {
    local_identity: IdentityPublicKey,
    remote_identity: IdentityPublicKey,
    associated_data: [u8; AD_LEN],
    ratchet: RatchetState,
    /// Initiator only: the header repeated on every message until a reply decrypts (§6.2).
    pending_initial_header: Option<InitialHeader>,
    /// Responder only: SHA-256 of the initial header this session was created from (§6.6).
    initial_header_digest: Option<[u8; 32]>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("local_identity", &self.local_identity)
            .field("remote_identity", &self.remote_identity)
            .finish_non_exhaustive()
    }
}

fn ad_array(seed: &SessionSeed) -> Result<[u8; AD_LEN], Error> {
    seed.associated_data
        .as_slice()
        .try_into()
        .map_err(|_| Error::ApiMisuse {
            reason: "associated data has the wrong length",
        })
}

/// The digest a responder keeps of its initial header (spec §6.6).
fn header_digest(header: &InitialHeader) -> [u8; 32] {
    let mut w = crate::codec::Writer::new();
    header.encode(&mut w);
    sha256(&[w.as_slice()])
}

impl Session {
    /// The initiator's session (spec §7.3): a fresh ratchet key pair and the first DH with
    /// the responder's signed prekey, which is the responder's first ratchet key.
    pub(crate) fn new_initiator(
        rng: &mut (impl CryptoRng + RngCore),
        seed: SessionSeed,
        responder_signed_prekey: &[u8; 32],
        header: InitialHeader,
    ) -> Result<Self, Error> {
        let secret = zeroize::Zeroizing::new(random_array::<32>(rng));
        let dh = crate::crypto::dh::x25519(&secret, responder_signed_prekey)?;
        let step = crate::ratchet::root_step(&seed.root_key, &dh);
        let ratchet = RatchetState {
            root_key: *step.root_key,
            sending_secret: *secret,
            sending_public: crate::crypto::dh::public_from_secret(&secret),
            remote_key: Some(*responder_signed_prekey),
            sending_chain: Some(*step.chain_key),
            receiving_chain: None,
            sending_header_key: Some(*seed.initiator_header_key),
            receiving_header_key: None,
            next_sending_header_key: *step.next_header_key,
            next_receiving_header_key: *seed.responder_next_header_key,
            sending_number: 0,
            receiving_number: 0,
            previous_sending_length: 0,
            receiving_chain_index: 0,
            send_step_pending: false,
            skipped: SkippedKeys::default(),
        };
        Ok(Self {
            local_identity: seed.local_identity,
            remote_identity: seed.remote_identity,
            associated_data: ad_array(&seed)?,
            ratchet,
            pending_initial_header: Some(header),
            initial_header_digest: None,
        })
    }

    /// The responder's session (spec §7.3): the signed prekey is its first ratchet key pair.
    /// Exists only inside [`accept`](crate::handshake::accept) until the first message
    /// authenticates.
    pub(crate) fn new_responder(
        seed: SessionSeed,
        signed_prekey: &SignedPrekeySecret,
        header: &InitialHeader,
    ) -> Result<Self, Error> {
        let secret = signed_prekey.to_bytes();
        let ratchet = RatchetState {
            root_key: *seed.root_key,
            sending_secret: *secret,
            sending_public: signed_prekey.public_key(),
            remote_key: None,
            sending_chain: None,
            receiving_chain: None,
            sending_header_key: None,
            receiving_header_key: None,
            next_sending_header_key: *seed.responder_next_header_key,
            next_receiving_header_key: *seed.initiator_header_key,
            sending_number: 0,
            receiving_number: 0,
            previous_sending_length: 0,
            receiving_chain_index: 0,
            send_step_pending: false,
            skipped: SkippedKeys::default(),
        };
        Ok(Self {
            local_identity: seed.local_identity,
            remote_identity: seed.remote_identity,
            associated_data: ad_array(&seed)?,
            ratchet,
            pending_initial_header: None,
            initial_header_digest: Some(header_digest(header)),
        })
    }

    /// Encrypts `plaintext` for the peer (spec §7.4). Until the initiator has decrypted a
    /// reply, the result is an initial message (type 0x02, spec §6.3) carrying the
    /// handshake header; afterwards it is a ratchet message (type 0x03).
    ///
    /// Randomness: a new ratchet key pair when the conversation changes direction, and a
    /// fresh 24-byte nonce for the header and for the body of every message.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] above [`MAX_PLAINTEXT_LEN`](crate::limits::MAX_PLAINTEXT_LEN);
    /// [`Error::CounterExhausted`] after 2³² − 1 messages in one chain.
    pub fn encrypt(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let message = self
            .ratchet
            .encrypt(rng, &self.associated_data, plaintext)?;
        Ok(match &self.pending_initial_header {
            Some(header) => InitialMessage {
                header: header.clone(),
                message,
            }
            .to_bytes(),
            None => message,
        })
    }

    /// Decrypts a message from the peer (spec §7.6): a ratchet message, or (responder
    /// only) a further initial message carrying this session's own header (spec §6.6).
    ///
    /// Every message decrypts at most once. On any error the session is unchanged, byte
    /// for byte. [`Session::decrypt_message`] also returns the message's position.
    ///
    /// # Errors
    /// As [`Session::decrypt_message`].
    pub fn decrypt(&mut self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.decrypt_message(message).map(|d| d.plaintext)
    }

    /// Decrypts a message from the peer as [`Session::decrypt`], and returns its position
    /// in the peer's sending order (spec §7.6) with the plaintext.
    ///
    /// # Errors
    /// Decode errors (1xx); [`Error::SessionMismatch`] for an initial message of another
    /// handshake; [`Error::TooManySkipped`] for a gap over
    /// [`MAX_SKIP`](crate::ratchet::MAX_SKIP); [`Error::Duplicate`] for a message of this
    /// session already received (drop it); [`Error::Decrypt`] for anything that does not
    /// authenticate, including messages of another session.
    pub fn decrypt_message(&mut self, message: &[u8]) -> Result<Decrypted, Error> {
        let ty = peek_type(message)?;
        let (plaintext, position) = if ty == MessageType::RATCHET_MESSAGE {
            let inner = RatchetMessageRef::parse(message)?;
            self.ratchet.decrypt(&self.associated_data, &inner)?
        } else if ty == MessageType::INITIAL_MESSAGE {
            let initial = InitialMessage::decode_exact(message)?;
            let ours = self.initial_header_digest.ok_or(Error::SessionMismatch)?;
            if !bool::from(ours.ct_eq(&header_digest(&initial.header))) {
                return Err(Error::SessionMismatch);
            }
            let inner = RatchetMessageRef::parse(&initial.message)?;
            self.ratchet.decrypt(&self.associated_data, &inner)?
        } else {
            return Err(Error::UnknownMessageType(ty.0));
        };
        self.pending_initial_header = None;
        Ok(Decrypted {
            plaintext,
            position,
        })
    }

    /// Decrypts the inner message of an opened envelope (spec §8.8): checks that the
    /// sealed sender is this session's peer, then decrypts as [`Session::decrypt`].
    ///
    /// # Errors
    /// [`Error::SenderMismatch`] if the envelope names another sender (nothing changes);
    /// otherwise as [`Session::decrypt`].
    pub fn decrypt_opened(&mut self, opened: &crate::envelope::Opened) -> Result<Vec<u8>, Error> {
        opened.check_sender(&self.remote_identity)?;
        self.decrypt(&opened.inner)
    }

    /// This side's public identity.
    #[must_use]
    pub fn local_identity(&self) -> &IdentityPublicKey {
        &self.local_identity
    }

    /// The peer's public identity, as authenticated by the handshake. Compare its safety
    /// number (spec §4.3) out of band before trusting it.
    #[must_use]
    pub fn remote_identity(&self) -> &IdentityPublicKey {
        &self.remote_identity
    }

    /// Whether this session is *unconfirmed* (spec §7.1): an initiator that has not yet
    /// decrypted a reply, so it still sends initial messages.
    #[must_use]
    pub fn is_pending(&self) -> bool {
        self.pending_initial_header.is_some()
    }

    /// The number of skipped message keys held (bounded by
    /// [`MAX_SKIPPED_KEYS`](crate::ratchet::MAX_SKIPPED_KEYS)).
    #[must_use]
    pub fn skipped_keys(&self) -> usize {
        self.ratchet.skipped.len()
    }
}

#[cfg(feature = "hazmat")]
impl Session {
    pub(crate) fn tweak(&mut self, tweak: crate::hazmat::SessionTweak) {
        use crate::hazmat::SessionTweak;
        match tweak {
            SessionTweak::SendingNumber(n) => self.ratchet.sending_number = n,
            SessionTweak::NoSendingChain => {
                self.ratchet.sending_chain = None;
                self.ratchet.sending_header_key = None;
                self.ratchet.send_step_pending = false;
            }
        }
    }
}

#[cfg(test)]
mod pairwise_tests;
#[cfg(test)]
mod tests;
