//! The Double Ratchet with header encryption (spec §7.3–§7.7): state, sending, and the
//! compute → authenticate → commit receive path.

use super::kdf::{chain_step, root_step};
use super::skipped::{SkippedKey, SkippedKeys, SkippedSlot, MAX_SKIP};
use crate::codec::Decode;
use crate::crypto::aead::{self, TAG_LEN, XNONCE_LEN};
use crate::crypto::dh::{public_from_secret, x25519};
use crate::crypto::{random_array, CryptoRng, RngCore};
use crate::envelope::{padded_len, PairwiseEnvelope, MAX_PAIRWISE_PLAINTEXT_LEN};
use crate::limits::MAX_PLAINTEXT_LEN;
use crate::route::pairwise_mailbox;
use crate::wire::{RatchetHeader, RatchetMessageRef, ENCRYPTED_HEADER_LEN, RATCHET_HEADER_LEN};
use crate::Error;
use alloc::vec::Vec;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of the session associated data `AD = IK_A || IK_B || TH` (spec §6.4).
pub(crate) const AD_LEN: usize = 160;

/// The ratchet state of one session (names as in the Double Ratchet specification, §7.3).
///
/// `send_step_pending` implements the sending half of a DH ratchet step lazily: a receiver
/// that sees a new ratchet key performs the receiving half at once and the sending half
/// (new key pair, second DH) only when it next encrypts, so `decrypt` needs no randomness
/// and a direction change costs one key generation and one DH per side (§7.4).
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct RatchetState {
    /// RK.
    pub(crate) root_key: [u8; 32],
    /// DHs secret scalar.
    pub(crate) sending_secret: [u8; 32],
    /// DHs public key, computed once per key pair (never per message).
    pub(crate) sending_public: [u8; 32],
    /// DHr.
    pub(crate) remote_key: Option<[u8; 32]>,
    /// CKs.
    pub(crate) sending_chain: Option<[u8; 32]>,
    /// CKr.
    pub(crate) receiving_chain: Option<[u8; 32]>,
    /// HKs.
    pub(crate) sending_header_key: Option<[u8; 32]>,
    /// HKr.
    pub(crate) receiving_header_key: Option<[u8; 32]>,
    /// NHKs.
    pub(crate) next_sending_header_key: [u8; 32],
    /// NHKr.
    pub(crate) next_receiving_header_key: [u8; 32],
    /// Ns.
    pub(crate) sending_number: u32,
    /// Nr.
    pub(crate) receiving_number: u32,
    /// PN.
    pub(crate) previous_sending_length: u32,
    /// The index of the current receiving chain among the peer's sending chains (0 for
    /// its first; meaningless until a receiving chain exists). The `chain` of a message's
    /// [`Position`].
    pub(crate) receiving_chain_index: u32,
    /// The sending half of a DH ratchet step is due at the next encryption.
    pub(crate) send_step_pending: bool,
    /// MKSKIPPED.
    pub(crate) skipped: SkippedKeys,
}

/// Where a message stands in the peer's sending order (spec §7.6): the index of the peer's
/// sending chain (0 for its first, one more at every change of direction) and the message
/// number within it. Positions order a peer's messages totally: `(chain, number)`
/// lexicographically, whatever order they arrived in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Position {
    /// The peer's sending chain.
    pub chain: u32,
    /// The message number within that chain.
    pub number: u32,
}

/// How an encrypted message is framed (spec §7.5, §8.15).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// A ratchet message (type `0x03`), plaintext unpadded.
    Ratchet,
    /// A pairwise envelope (type `0x08`), plaintext padded.
    Pairwise,
    /// A pairwise envelope whose body is the plaintext as given (its length a padded
    /// length): for negative tests and vectors of authenticated bad padding.
    #[cfg_attr(not(any(test, feature = "hazmat")), allow(dead_code))]
    PairwiseRaw,
}

/// The padding marker (spec §8.4).
const PADDING_MARKER: u8 = 0x80;

/// What a successful receive will change, computed before authentication (spec §7.6).
enum Plan {
    /// The key was skipped earlier: use it and delete it.
    Skipped {
        slot: SkippedSlot,
        message_key: Zeroizing<[u8; 32]>,
        position: Position,
    },
    /// A message in the current receiving chain, possibly skipping some.
    Chain {
        message_key: Zeroizing<[u8; 32]>,
        chain_key: Zeroizing<[u8; 32]>,
        receiving_number: u32,
        skipped: Vec<SkippedKey>,
        position: Position,
    },
    /// The first message seen under a new ratchet key: the receiving half of a DH step.
    Step {
        position: Position,
        message_key: Zeroizing<[u8; 32]>,
        remote_key: [u8; 32],
        root_key: Zeroizing<[u8; 32]>,
        chain_key: Zeroizing<[u8; 32]>,
        next_header_key: Zeroizing<[u8; 32]>,
        receiving_number: u32,
        old_chain_skipped: Vec<SkippedKey>,
        new_chain_skipped: Vec<SkippedKey>,
    },
}

impl Plan {
    fn message_key(&self) -> &[u8; 32] {
        match self {
            Self::Skipped { message_key, .. }
            | Self::Chain { message_key, .. }
            | Self::Step { message_key, .. } => message_key,
        }
    }

    fn position(&self) -> Position {
        match self {
            Self::Skipped { position, .. }
            | Self::Chain { position, .. }
            | Self::Step { position, .. } => *position,
        }
    }
}

/// Derives the keys of messages `from..until` of a chain (stored as skipped) and returns
/// the chain key for message `until`.
fn skip(
    chain_key: &[u8; 32],
    from: u32,
    until: u32,
) -> Result<(Zeroizing<[u8; 32]>, Vec<SkippedKey>), Error> {
    let gap = until.saturating_sub(from);
    if gap > MAX_SKIP {
        return Err(Error::TooManySkipped);
    }
    let mut ck = Zeroizing::new(*chain_key);
    let mut keys = Vec::with_capacity(usize::try_from(gap).unwrap_or(0));
    for number in from..until {
        let (mk, next) = chain_step(&ck);
        keys.push(SkippedKey {
            number,
            message_key: *mk,
        });
        ck = next;
    }
    Ok((ck, keys))
}

/// Header AEAD: `nonce (24) || XChaCha20-Poly1305(hk, nonce, AD, header)` (spec §7.5).
/// Both directions run on the stack through the short-input AEAD
/// ([`aead::xseal_short`]): a header is sealed once per message and opened once per
/// candidate header key.
fn open_header(
    header_key: &[u8; 32],
    ad: &[u8; AD_LEN],
    encrypted: &[u8; ENCRYPTED_HEADER_LEN],
) -> Option<RatchetHeader> {
    let (nonce, ct_and_tag) = encrypted.split_first_chunk::<XNONCE_LEN>()?;
    let mut plain = [0u8; RATCHET_HEADER_LEN];
    aead::xopen_short(header_key, nonce, ad, ct_and_tag, &mut plain).ok()?;
    RatchetHeader::decode_exact(&plain).ok()
}

fn seal_header(
    rng: &mut (impl CryptoRng + RngCore),
    header_key: &[u8; 32],
    ad: &[u8; AD_LEN],
    header: &RatchetHeader,
) -> Result<[u8; ENCRYPTED_HEADER_LEN], Error> {
    // Layout: nonce (24) || encrypted header (40) || tag (16), built on the stack.
    let mut out = [0u8; ENCRYPTED_HEADER_LEN];
    let (nonce, ct_and_tag) =
        out.split_first_chunk_mut::<XNONCE_LEN>()
            .ok_or(Error::ApiMisuse {
                reason: "unreachable: header layout",
            })?;
    *nonce = random_array::<XNONCE_LEN>(rng);
    let mut plain = header.to_array();
    let sealed = aead::xseal_short(header_key, nonce, ad, &plain, ct_and_tag);
    plain.zeroize();
    sealed.map(|()| out)
}

/// Zero bytes that end the body's associated data (spec §7.5): they make it
/// `AD_LEN + ENCRYPTED_HEADER_LEN + 16 = 256` bytes, a multiple of 64.
pub(crate) const BODY_AD_PAD_LEN: usize = 16;

/// Length of the body's associated data (spec §7.5).
pub(crate) const BODY_AD_LEN: usize = AD_LEN + ENCRYPTED_HEADER_LEN + BODY_AD_PAD_LEN;

/// The body's associated data: `AD || encrypted header || 16 zero bytes` (spec §7.5), on
/// the stack. The padding keeps the AD a multiple of 64 bytes: Poly1305 implementations
/// that hash four blocks at a time (RustCrypto's AVX2 backend) run about 15% slower over
/// the whole body when the AD leaves them out of step.
///
/// The first of the 16 bytes is the body's framing (spec §7.5, §8.15): `0x00` for the body
/// of a ratchet message (its plaintext as given), `0x01` for the body of a pairwise
/// envelope (its padded plaintext), so neither body authenticates as the other: a relay
/// cannot re-frame a pairwise body as a ratchet message to have its padding delivered as
/// plaintext, nor the reverse.
fn body_ad(
    ad: &[u8; AD_LEN],
    encrypted_header: &[u8; ENCRYPTED_HEADER_LEN],
    padded: bool,
) -> [u8; BODY_AD_LEN] {
    // The rest of the tail stays zero. (The chunk splits cannot fail: the lengths are
    // constants.)
    let mut out = [0u8; BODY_AD_LEN];
    if let Some((head, tail)) = out.split_first_chunk_mut::<AD_LEN>() {
        *head = *ad;
        if let Some((header, rest)) = tail.split_first_chunk_mut::<ENCRYPTED_HEADER_LEN>() {
            *header = *encrypted_header;
            if let Some(flag) = rest.first_mut() {
                *flag = u8::from(padded);
            }
        }
    }
    out
}

impl RatchetState {
    /// Encrypts one message (spec §7.4): performs a pending sending-half DH step, then
    /// advances the sending chain. Everything is computed first and committed last, so on
    /// error nothing has changed. Keys are borrowed, or held in `Zeroizing`, never copied
    /// out to the stack.
    pub(crate) fn encrypt(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        ad: &[u8; AD_LEN],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.encrypt_framed(rng, ad, plaintext, Frame::Ratchet)
    }

    /// Encrypts one message as a pairwise envelope (spec §8.15): the plaintext is padded
    /// (§8.4) before the body is encrypted, and the envelope is addressed to the pairwise
    /// mailbox of the sending chain's header key (§8.14). Otherwise as [`Self::encrypt`].
    pub(crate) fn encrypt_pairwise(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        ad: &[u8; AD_LEN],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.encrypt_framed(rng, ad, plaintext, Frame::Pairwise)
    }

    fn encrypt_framed(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        ad: &[u8; AD_LEN],
        plaintext: &[u8],
        frame: Frame,
    ) -> Result<Vec<u8>, Error> {
        let max = match frame {
            Frame::Ratchet | Frame::PairwiseRaw => MAX_PLAINTEXT_LEN,
            Frame::Pairwise => MAX_PAIRWISE_PLAINTEXT_LEN,
        };
        if plaintext.len() > max {
            return Err(Error::MessageTooLarge);
        }
        // The sending half of a pending DH step: a new key pair and a root step.
        let step = if self.send_step_pending {
            let remote = self.remote_key.as_ref().ok_or(Error::ApiMisuse {
                reason: "no remote ratchet key",
            })?;
            let secret = Zeroizing::new(random_array::<32>(rng));
            let dh = x25519(&secret, remote)?;
            let public = public_from_secret(&secret);
            Some((secret, public, root_step(&self.root_key, &dh)))
        } else {
            None
        };
        let (chain_key, header_key, ratchet_key, previous_chain_length, number) = match &step {
            Some((_, public, root)) => (
                &*root.chain_key,
                &self.next_sending_header_key,
                *public,
                self.sending_number,
                0,
            ),
            None => match (&self.sending_chain, &self.sending_header_key) {
                (Some(ck), Some(hk)) => (
                    ck,
                    hk,
                    self.sending_public,
                    self.previous_sending_length,
                    self.sending_number,
                ),
                _ => {
                    return Err(Error::ApiMisuse {
                        reason: "session cannot send before it has received",
                    })
                }
            },
        };
        let next_number = number.checked_add(1).ok_or(Error::CounterExhausted)?;
        let (message_key, next_chain) = chain_step(chain_key);
        let header = RatchetHeader {
            ratchet_key,
            previous_chain_length,
            message_number: number,
        };
        let encrypted_header = seal_header(rng, header_key, ad, &header)?;
        let body_nonce = random_array::<XNONCE_LEN>(rng);
        // Encrypt straight into the message buffer: one copy of the plaintext, as a raw
        // AEAD seal makes.
        let mut out = match frame {
            Frame::Ratchet => RatchetMessageRef::start_encoding(
                &encrypted_header,
                &body_nonce,
                plaintext.len() + TAG_LEN,
            ),
            Frame::Pairwise | Frame::PairwiseRaw => {
                let padded = if frame == Frame::Pairwise {
                    padded_len(plaintext.len()).ok_or(Error::MessageTooLarge)?
                } else {
                    plaintext.len()
                };
                PairwiseEnvelope::start_encoding(
                    &pairwise_mailbox(header_key),
                    &encrypted_header,
                    &body_nonce,
                    padded + TAG_LEN,
                )
            }
        };
        let body_start = out.len();
        out.extend_from_slice(plaintext);
        if frame == Frame::Pairwise {
            // Padding (spec §8.4) inside the AEAD: 0x80 then zeros up to P(n).
            let padded = padded_len(plaintext.len()).ok_or(Error::MessageTooLarge)?;
            out.push(PADDING_MARKER);
            out.resize(body_start + padded, 0);
        }
        let body_ad = body_ad(ad, &encrypted_header, frame != Frame::Ratchet);
        let tag = match out.get_mut(body_start..) {
            Some(body) => aead::xseal_in_place(&message_key, &body_nonce, &body_ad, body),
            None => {
                return Err(Error::ApiMisuse {
                    reason: "unreachable: empty buffer",
                })
            }
        };
        out.extend_from_slice(&tag);
        // Commit.
        if let Some((secret, public, root)) = step {
            self.previous_sending_length = self.sending_number;
            self.sending_header_key = Some(self.next_sending_header_key);
            self.sending_public = public;
            self.sending_secret = *secret;
            self.root_key = *root.root_key;
            self.next_sending_header_key = *root.next_header_key;
            self.send_step_pending = false;
        }
        self.sending_chain = Some(*next_chain);
        self.sending_number = next_number;
        Ok(out)
    }

    /// Encrypts `body` as the body of a pairwise envelope without padding it (its length
    /// must be a padded length for the envelope to parse): authenticated bad padding, for
    /// negative tests and vectors only.
    #[cfg(any(test, feature = "hazmat"))]
    pub(crate) fn encrypt_pairwise_raw(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        ad: &[u8; AD_LEN],
        body: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.encrypt_framed(rng, ad, body, Frame::PairwiseRaw)
    }

    /// Decrypts one message (spec §7.6): computes every change as a plan, authenticates
    /// the body under the planned message key, and only then commits the plan. Any error
    /// leaves `self` unchanged.
    pub(crate) fn decrypt(
        &mut self,
        ad: &[u8; AD_LEN],
        message: &RatchetMessageRef<'_>,
    ) -> Result<(Vec<u8>, Position), Error> {
        self.decrypt_with(ad, message, None)
    }

    /// Decrypts the ratchet message of a pairwise envelope (spec §8.15): only under
    /// `header_key` (the chain whose pairwise mailbox the envelope was addressed to, so an
    /// envelope moved to another mailbox of the same session fails), and the body must
    /// unpad strictly (§8.4) before anything is committed.
    pub(crate) fn decrypt_pairwise(
        &mut self,
        ad: &[u8; AD_LEN],
        message: &RatchetMessageRef<'_>,
        header_key: &[u8; 32],
    ) -> Result<(Vec<u8>, Position), Error> {
        self.decrypt_with(ad, message, Some(header_key))
    }

    /// The header keys of the chains a pairwise envelope can arrive on (spec §8.14): the
    /// current receiving chain, the next one, and the earlier chains still remembered.
    pub(crate) fn receiving_header_keys(&self) -> impl Iterator<Item = &[u8; 32]> {
        let current = self.receiving_header_key.as_ref();
        current
            .into_iter()
            .chain(core::iter::once(&self.next_receiving_header_key))
            .chain(
                self.skipped
                    .chains
                    .iter()
                    .map(|c| &c.header_key)
                    .filter(move |hk| !current.is_some_and(|cur| bool::from(cur.ct_eq(*hk)))),
            )
    }

    /// The message number the next [`Self::encrypt`] gives its message: 0 if a DH step
    /// is pending (a new chain), else `Ns`.
    pub(crate) fn next_message_number(&self) -> u32 {
        if self.send_step_pending {
            0
        } else {
            self.sending_number
        }
    }

    /// The header key of the chain the next [`Self::encrypt`] sends on, if the session can
    /// send (spec §8.14: the sender's pairwise mailbox).
    pub(crate) fn next_sending_header_key(&self) -> Option<&[u8; 32]> {
        if self.send_step_pending {
            Some(&self.next_sending_header_key)
        } else {
            self.sending_header_key
                .as_ref()
                .filter(|_| self.sending_chain.is_some())
        }
    }

    fn decrypt_with(
        &mut self,
        ad: &[u8; AD_LEN],
        message: &RatchetMessageRef<'_>,
        only: Option<&[u8; 32]>,
    ) -> Result<(Vec<u8>, Position), Error> {
        let plan = self.plan(ad, message.encrypted_header, only)?;
        let tag_start = message
            .body
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::Decrypt)?;
        let (ct, tag) = message
            .body
            .split_at_checked(tag_start)
            .ok_or(Error::Decrypt)?;
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| Error::Decrypt)?;
        let mut plaintext = ct.to_vec();
        aead::xopen_in_place(
            plan.message_key(),
            message.body_nonce,
            &body_ad(ad, message.encrypted_header, only.is_some()),
            &mut plaintext,
            tag,
        )?;
        if only.is_some() {
            // A pairwise body is the padded plaintext: unpad before committing, so a
            // malformed padding changes nothing.
            let n = crate::envelope::unpad(&plaintext)?.len();
            plaintext.truncate(n);
        }
        let position = plan.position();
        self.commit(plan);
        Ok((plaintext, position))
    }

    fn plan(
        &self,
        ad: &[u8; AD_LEN],
        encrypted_header: &[u8; ENCRYPTED_HEADER_LEN],
        only: Option<&[u8; 32]>,
    ) -> Result<Plan, Error> {
        // A pairwise envelope names its chain: every other header key is skipped.
        let allowed = |hk: &[u8; 32]| only.is_none_or(|o| bool::from(o.ct_eq(hk)));
        // 1. The current receiving chain: the common case costs one trial decryption.
        if let Some(hk) = self.receiving_header_key.as_ref().filter(|hk| allowed(hk)) {
            if let Some(header) = open_header(hk, ad, encrypted_header) {
                let current = self
                    .skipped
                    .chains
                    .iter()
                    .position(|c| bool::from(c.header_key.ct_eq(hk)));
                if let Some(found) =
                    current.and_then(|i| self.skipped.find(i, header.message_number))
                {
                    return Ok(Self::plan_skipped(
                        found,
                        self.receiving_chain_index,
                        &header,
                    ));
                }
                return self.plan_chain(&header);
            }
        }
        // 2. Earlier chains still remembered (bounded by MAX_RECEIVING_CHAINS).
        for (index, chain) in self.skipped.chains.iter().enumerate() {
            let is_current = self
                .receiving_header_key
                .is_some_and(|hk| bool::from(hk.ct_eq(&chain.header_key)));
            if is_current || !allowed(&chain.header_key) {
                continue;
            }
            let Some(header) = open_header(&chain.header_key, ad, encrypted_header) else {
                continue;
            };
            if let Some(found) = self.skipped.find(index, header.message_number) {
                return Ok(Self::plan_skipped(found, chain.index, &header));
            }
            // A message of an earlier chain whose key is gone: already received (or its
            // skipped key was evicted, §7.7). Its header authenticated, so it is the
            // peer's: a re-delivery, not a forgery.
            return Err(Error::Duplicate);
        }
        // 3. The next chain: a DH ratchet step.
        if !allowed(&self.next_receiving_header_key) {
            return Err(Error::Decrypt);
        }
        if let Some(header) = open_header(&self.next_receiving_header_key, ad, encrypted_header) {
            return self.plan_step(&header);
        }
        Err(Error::Decrypt)
    }

    fn plan_skipped(
        (slot, message_key): (SkippedSlot, &[u8; 32]),
        chain: u32,
        header: &RatchetHeader,
    ) -> Plan {
        Plan::Skipped {
            slot,
            message_key: Zeroizing::new(*message_key),
            position: Position {
                chain,
                number: header.message_number,
            },
        }
    }

    fn plan_chain(&self, header: &RatchetHeader) -> Result<Plan, Error> {
        let (Some(chain_key), Some(remote)) = (&self.receiving_chain, &self.remote_key) else {
            return Err(Error::Decrypt);
        };
        // A different ratchet key under the current header key is not a message of this
        // chain (§7.9: a peer restored from an older state that re-drew its ratchet key).
        if !bool::from(header.ratchet_key.ct_eq(remote)) {
            return Err(Error::Decrypt);
        }
        // The key of an earlier message of this chain was used (or evicted): a duplicate.
        if header.message_number < self.receiving_number {
            return Err(Error::Duplicate);
        }
        let (ck, skipped) = skip(chain_key, self.receiving_number, header.message_number)?;
        let (message_key, chain_key) = chain_step(&ck);
        let receiving_number = header
            .message_number
            .checked_add(1)
            .ok_or(Error::CounterExhausted)?;
        Ok(Plan::Chain {
            message_key,
            chain_key,
            receiving_number,
            skipped,
            position: Position {
                chain: self.receiving_chain_index,
                number: header.message_number,
            },
        })
    }

    fn plan_step(&self, header: &RatchetHeader) -> Result<Plan, Error> {
        let old_chain_skipped = match &self.receiving_chain {
            Some(ck) => skip(ck, self.receiving_number, header.previous_chain_length)?.1,
            None => Vec::new(),
        };
        let dh = x25519(&self.sending_secret, &header.ratchet_key)?;
        let step = root_step(&self.root_key, &dh);
        let (ck, new_chain_skipped) = skip(&step.chain_key, 0, header.message_number)?;
        let (message_key, chain_key) = chain_step(&ck);
        let receiving_number = header
            .message_number
            .checked_add(1)
            .ok_or(Error::CounterExhausted)?;
        let chain = if self.receiving_header_key.is_some() {
            self.receiving_chain_index
                .checked_add(1)
                .ok_or(Error::CounterExhausted)?
        } else {
            0
        };
        Ok(Plan::Step {
            position: Position {
                chain,
                number: header.message_number,
            },
            message_key,
            remote_key: header.ratchet_key,
            root_key: step.root_key.clone(),
            chain_key,
            next_header_key: step.next_header_key.clone(),
            receiving_number,
            old_chain_skipped,
            new_chain_skipped,
        })
    }

    fn commit(&mut self, plan: Plan) {
        match plan {
            Plan::Skipped { slot, .. } => self.skipped.remove(slot),
            Plan::Chain {
                chain_key,
                receiving_number,
                skipped,
                ..
            } => {
                if let (Some(hk), false) = (&self.receiving_header_key, skipped.is_empty()) {
                    self.skipped.insert(hk, self.receiving_chain_index, skipped);
                }
                self.receiving_chain = Some(*chain_key);
                self.receiving_number = receiving_number;
            }
            Plan::Step {
                position,
                remote_key,
                root_key,
                chain_key,
                next_header_key,
                receiving_number,
                old_chain_skipped,
                new_chain_skipped,
                ..
            } => {
                // The old chain is remembered even with no skipped keys, so that a
                // re-delivery of its messages is recognised (`Duplicate`).
                if let Some(hk) = &self.receiving_header_key {
                    self.skipped
                        .insert(hk, self.receiving_chain_index, old_chain_skipped);
                }
                if !new_chain_skipped.is_empty() {
                    self.skipped.insert(
                        &self.next_receiving_header_key,
                        position.chain,
                        new_chain_skipped,
                    );
                }
                let new_header_key = Zeroizing::new(self.next_receiving_header_key);
                self.receiving_chain_index = position.chain;
                self.receiving_header_key = Some(*new_header_key);
                self.next_receiving_header_key = *next_header_key;
                self.root_key = *root_key;
                self.remote_key = Some(remote_key);
                self.receiving_chain = Some(*chain_key);
                self.receiving_number = receiving_number;
                self.send_step_pending = true;
            }
        }
    }
}
