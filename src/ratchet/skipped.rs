//! The store of skipped message keys (spec §7.6), bounded three ways: per gap
//! ([`MAX_SKIP`]), in total ([`MAX_SKIPPED_KEYS`], oldest evicted first) and in the number of
//! receiving chains it remembers ([`MAX_RECEIVING_CHAINS`], which also bounds trial
//! decryption of headers).

use alloc::vec::Vec;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The largest gap a single message may open in one receiving chain: a message more than
/// `MAX_SKIP` ahead of the next expected number is rejected (`TooManySkipped`) and changes
/// nothing. 1000 covers any realistic loss burst while bounding the work (one HMAC pair per
/// skipped key) an attacker holding a session can make a receiver do per message.
pub const MAX_SKIP: u32 = 1000;

/// The most skipped message keys a session keeps across all chains; beyond it the oldest
/// are evicted (those messages can then no longer be decrypted). 2000 = two full gaps,
/// about 140 KB of serialized state at most.
pub const MAX_SKIPPED_KEYS: usize = 2000;

/// The most earlier receiving chains (distinct header keys) a session remembers, with their
/// skipped keys; beyond it the oldest chain is dropped whole. A remembered chain with no
/// keys left still recognises a re-delivered message of that chain (`Duplicate`, §7.6).
/// Each is one trial header decryption per incoming message, so this also bounds trial
/// decryption to `MAX_RECEIVING_CHAINS + 2` attempts.
pub const MAX_RECEIVING_CHAINS: usize = 8;

/// One skipped message key.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct SkippedKey {
    pub(crate) number: u32,
    pub(crate) message_key: [u8; 32],
}

/// A remembered receiving chain: its header key, its index among the peer's sending chains
/// (the `chain` of a message's position, §7.6) and its skipped keys by ascending message
/// number (possibly none).
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct SkippedChain {
    pub(crate) header_key: [u8; 32],
    pub(crate) index: u32,
    pub(crate) keys: Vec<SkippedKey>,
}

/// Skipped keys of every remembered chain, oldest chain first.
#[derive(Default, Zeroize, ZeroizeOnDrop)]
pub(crate) struct SkippedKeys {
    pub(crate) chains: Vec<SkippedChain>,
}

/// Where a skipped key was found: chain index and key index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SkippedSlot {
    pub(crate) chain: usize,
    pub(crate) key: usize,
}

impl SkippedKeys {
    /// The number of stored keys.
    pub(crate) fn len(&self) -> usize {
        self.chains.iter().map(|c| c.keys.len()).sum()
    }

    /// Finds the key for message `number` in chain `chain`.
    pub(crate) fn find(&self, chain: usize, number: u32) -> Option<(SkippedSlot, &[u8; 32])> {
        let c = self.chains.get(chain)?;
        let key = c.keys.iter().position(|k| k.number == number)?;
        let mk = &c.keys.get(key)?.message_key;
        Some((SkippedSlot { chain, key }, mk))
    }

    /// Removes a used key (exactly-once delivery). The chain stays remembered.
    pub(crate) fn remove(&mut self, slot: SkippedSlot) {
        if let Some(c) = self.chains.get_mut(slot.chain) {
            if slot.key < c.keys.len() {
                drop(c.keys.remove(slot.key));
            }
        }
    }

    /// Appends keys skipped in the chain under `header_key` (in ascending order; `keys` may
    /// be empty, which only remembers the chain), then evicts: the oldest chains beyond
    /// [`MAX_RECEIVING_CHAINS`], then the oldest keys beyond [`MAX_SKIPPED_KEYS`].
    pub(crate) fn insert(&mut self, header_key: &[u8; 32], index: u32, mut keys: Vec<SkippedKey>) {
        match self.chains.last_mut() {
            Some(last) if bool::from(last.header_key.ct_eq(header_key)) => {
                last.keys.append(&mut keys);
            }
            _ => self.chains.push(SkippedChain {
                header_key: *header_key,
                index,
                keys,
            }),
        }
        while self.chains.len() > MAX_RECEIVING_CHAINS {
            drop(self.chains.remove(0));
        }
        let mut excess = self.len().saturating_sub(MAX_SKIPPED_KEYS);
        for chain in &mut self.chains {
            if excess == 0 {
                break;
            }
            let n = excess.min(chain.keys.len());
            drop(chain.keys.drain(..n));
            excess -= n;
        }
    }
}
