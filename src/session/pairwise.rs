//! A session's pairwise mailboxes (spec §8.14, §8.15): after the first message, each
//! direction of a session travels in [`PairwiseEnvelope`]s addressed to mailboxes derived
//! from the sending chain's header key, so they rotate at every DH ratchet step, need no
//! public-key sealing, and name the session to the recipient without naming the sender.

use super::{Decrypted, Session};
use crate::crypto::{CryptoRng, RngCore};
use crate::envelope::{PairwiseEnvelope, MAILBOX_LEN};
use crate::route::{pairwise_mailbox, ReadCapability};
use crate::Error;
use alloc::vec::Vec;
use subtle::ConstantTimeEq;

/// The most mailboxes a session watches at once (spec §8.14): the current and the next
/// receiving chain, and the earlier chains still remembered
/// ([`MAX_RECEIVING_CHAINS`](crate::ratchet::MAX_RECEIVING_CHAINS)).
pub const MAX_WATCHED_MAILBOXES: usize = 2 + crate::ratchet::MAX_RECEIVING_CHAINS;

/// The first message number of an unanswered run that is a probe (spec §8.17): the 4th
/// message a party sends without receiving one in between, then the 8th, 16th, …
pub const PROBE_FIRST: u32 = 4;

impl Session {
    /// Whether the next message is a **probe** (spec §8.17): the message number `N` it
    /// will have in its sending chain has `N + 1` a power of two of at least
    /// [`PROBE_FIRST`] (so the 4th, 8th, 16th, … message sent since the last one received).
    /// A probe is sent as a ratchet message sealed (HPKE) to the peer's public mailbox
    /// instead of as a pairwise envelope, so that a peer whose session has lost track of
    /// this one's pairwise mailboxes (a restored backup, §7.9) still receives something,
    /// fails to decrypt it and resets. A peer that is in step decrypts it as any other
    /// message. Always `false` while the session is pending.
    #[must_use]
    pub fn next_send_is_probe(&self) -> bool {
        if self.is_pending() {
            return false;
        }
        let n = self.ratchet.next_message_number();
        n.checked_add(1)
            .is_some_and(|m| m >= PROBE_FIRST && m.is_power_of_two())
    }

    /// Encrypts `plaintext` as a pairwise envelope (spec §8.15), addressed to the pairwise
    /// mailbox of the chain it is sent on: pad (§8.4), then the ratchet encrypts the padded
    /// plaintext (§7.4). The relay sees the mailbox and `P(n) + 158` bytes.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] while the session [`is_pending`](Session::is_pending): an
    /// initiator sends initial messages, sealed to the peer's public mailbox (§8.7), until
    /// it has decrypted a reply. [`Error::MessageTooLarge`] above
    /// [`MAX_PAIRWISE_PLAINTEXT_LEN`](crate::envelope::MAX_PAIRWISE_PLAINTEXT_LEN);
    /// otherwise as [`Session::encrypt`]. On error nothing changes.
    pub fn seal_pairwise(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        if self.is_pending() {
            return Err(Error::ApiMisuse {
                reason: "a pending session sends initial messages to the public mailbox",
            });
        }
        self.ratchet
            .encrypt_pairwise(rng, &self.associated_data, plaintext)
    }

    /// A pairwise envelope whose body is `body` unpadded (authenticated bad padding unless
    /// `body` happens to be a canonical padding): for negative tests and vectors.
    #[cfg(any(test, feature = "hazmat"))]
    pub(crate) fn seal_pairwise_raw(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        body: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.ratchet
            .encrypt_pairwise_raw(rng, &self.associated_data, body)
    }

    /// Decrypts a pairwise envelope from the peer (spec §8.15): the envelope's mailbox must
    /// be one this session watches ([`Session::receiving_capabilities`]), and the message
    /// must authenticate under that mailbox's chain; the padding is checked before the
    /// state changes. Every message decrypts at most once; on any error the session is
    /// unchanged, byte for byte.
    ///
    /// # Errors
    /// Decode errors (1xx) of [`PairwiseEnvelope::parse`]; [`Error::WrongMailbox`] for a
    /// mailbox this session does not watch (before any key is used);
    /// [`Error::Duplicate`], [`Error::TooManySkipped`], [`Error::Decrypt`] as
    /// [`Session::decrypt_message`]; [`Error::BadPadding`] for an authenticated body whose
    /// padding is not canonical.
    pub fn open_pairwise(&mut self, envelope: &[u8]) -> Result<Decrypted, Error> {
        let parsed = PairwiseEnvelope::parse(envelope)?;
        let header_key = self
            .ratchet
            .receiving_header_keys()
            .find(|hk| bool::from(pairwise_mailbox(hk).ct_eq(parsed.mailbox)))
            .copied()
            .map(zeroize::Zeroizing::new)
            .ok_or(Error::WrongMailbox)?;
        let (plaintext, position) = self.ratchet.decrypt_pairwise(
            &self.associated_data,
            &parsed.ratchet_message(),
            &header_key,
        )?;
        self.pending_initial_header = None;
        Ok(Decrypted {
            plaintext,
            position,
        })
    }

    /// The mailbox the next [`Session::seal_pairwise`] addresses (spec §8.14), or `None`
    /// while the session is pending (its messages go to the peer's public mailbox).
    #[must_use]
    pub fn sending_mailbox(&self) -> Option<[u8; MAILBOX_LEN]> {
        if self.is_pending() {
            return None;
        }
        self.ratchet.next_sending_header_key().map(pairwise_mailbox)
    }

    /// The read capabilities of the mailboxes this session watches (spec §8.14), at most
    /// [`MAX_WATCHED_MAILBOXES`]: the current receiving chain's, the next chain's (where
    /// the peer's next change of direction will send), then those of earlier chains still
    /// remembered, so that late and duplicate envelopes across a rotation still arrive.
    /// Each capability's [`mailbox`](ReadCapability::mailbox) is the id to fetch. The set
    /// changes only when a message decrypts; refresh it then.
    #[must_use]
    pub fn receiving_capabilities(&self) -> Vec<ReadCapability> {
        self.ratchet
            .receiving_header_keys()
            .map(ReadCapability::pairwise)
            .collect()
    }

    /// Whether `mailbox` is one of the mailboxes this session watches.
    #[must_use]
    pub fn watches(&self, mailbox: &[u8; MAILBOX_LEN]) -> bool {
        self.ratchet
            .receiving_header_keys()
            .any(|hk| bool::from(pairwise_mailbox(hk).ct_eq(mailbox)))
    }
}
