//! The persisted session state (spec §7.8): a versioned canonical encoding through the
//! codec, strict like every wire input (it may come from disk an attacker can write).

use super::Session;
use crate::codec::{read_header, write_header, Decode, Encode, MessageType, Reader, Writer};
use crate::crypto::dh::public_from_secret;
use crate::keys::IdentityPublicKey;
use crate::ratchet::{
    RatchetState, SkippedChain, SkippedKey, SkippedKeys, AD_LEN, MAX_RECEIVING_CHAINS,
    MAX_SKIPPED_KEYS,
};
use crate::wire::InitialHeader;
use crate::Error;
use alloc::vec::Vec;
use zeroize::Zeroizing;

/// The largest encoded session state: the fixed part, a pending initial header and a full
/// skipped-key store fit in 96 KiB with room to spare (spec §7.8).
pub const MAX_SESSION_STATE_LEN: usize = 96 * 1024;

/// Length of one encoded skipped key: number (4) and message key (32).
const SKIPPED_KEY_LEN: usize = 36;

fn write_opt(w: &mut Writer, value: Option<&[u8; 32]>) {
    match value {
        Some(v) => {
            w.u8(1);
            w.bytes(v);
        }
        None => w.u8(0),
    }
}

fn read_opt(r: &mut Reader<'_>, field: &'static str) -> Result<Option<[u8; 32]>, Error> {
    Ok(if r.bool(field)? {
        Some(r.array()?)
    } else {
        None
    })
}

fn invalid(field: &'static str) -> Error {
    Error::InvalidEncoding { field }
}

impl Session {
    /// Serializes the whole session (spec §7.8). The bytes contain every secret of the
    /// session: store them encrypted (see [`Session::seal`]) and erase them after use (the
    /// returned buffer zeroizes itself on drop).
    ///
    /// A restored session continues exactly where this one is. Restoring an *older* copy
    /// is safe for confidentiality (spec §7.9) but loses the keys of messages received
    /// since.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let r = &self.ratchet;
        let capacity = 2
            + 64 * 2
            + AD_LEN
            + 32 * 9
            + 6
            + 12
            + 2
            + 1
            + 1300
            + 33
            + 1
            + 4
            + r.skipped.chains.len() * 38
            + r.skipped.len() * SKIPPED_KEY_LEN;
        let mut w = Writer::with_capacity(capacity);
        write_header(&mut w, MessageType::SESSION_STATE);
        self.local_identity.encode(&mut w);
        self.remote_identity.encode(&mut w);
        w.bytes(&self.associated_data);
        w.bytes(&r.root_key);
        w.bytes(&r.sending_secret);
        write_opt(&mut w, r.remote_key.as_ref());
        write_opt(&mut w, r.sending_chain.as_ref());
        write_opt(&mut w, r.receiving_chain.as_ref());
        write_opt(&mut w, r.sending_header_key.as_ref());
        write_opt(&mut w, r.receiving_header_key.as_ref());
        w.bytes(&r.next_sending_header_key);
        w.bytes(&r.next_receiving_header_key);
        w.u32(r.sending_number);
        w.u32(r.receiving_number);
        w.u32(r.previous_sending_length);
        w.u32(r.receiving_chain_index);
        w.bool(r.send_step_pending);
        match &self.pending_initial_header {
            Some(h) => {
                w.u8(1);
                h.encode(&mut w);
            }
            None => w.u8(0),
        }
        write_opt(&mut w, self.initial_header_digest.as_ref());
        // At most MAX_RECEIVING_CHAINS (8) chains and MAX_SKIPPED_KEYS (2000) keys, both
        // enforced by the store, so the narrowing conversions cannot fail.
        w.u8(u8::try_from(r.skipped.chains.len()).unwrap_or(u8::MAX));
        for chain in &r.skipped.chains {
            w.bytes(&chain.header_key);
            w.u32(chain.index);
            w.u16(u16::try_from(chain.keys.len()).unwrap_or(u16::MAX));
            for key in &chain.keys {
                w.u32(key.number);
                w.bytes(&key.message_key);
            }
        }
        Zeroizing::new(w.into_inner())
    }

    /// Restores a session from [`Session::to_bytes`] output (spec §7.8).
    ///
    /// # Errors
    /// Decode errors (1xx) for anything that is not a canonical, consistent state encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_SESSION_STATE_LEN {
            return Err(Error::LengthOverMax {
                field: "session state",
            });
        }
        let mut r = Reader::new(bytes);
        read_header(&mut r, MessageType::SESSION_STATE)?;
        let local_identity = IdentityPublicKey::decode(&mut r)?;
        let remote_identity = IdentityPublicKey::decode(&mut r)?;
        let associated_data: [u8; AD_LEN] = r.array()?;
        let root_key = Zeroizing::new(r.array::<32>()?);
        let sending_secret = Zeroizing::new(r.array::<32>()?);
        let remote_key = read_opt(&mut r, "state.remote_key")?;
        let sending_chain = read_opt(&mut r, "state.sending_chain")?;
        let receiving_chain = read_opt(&mut r, "state.receiving_chain")?;
        let sending_header_key = read_opt(&mut r, "state.sending_header_key")?;
        let receiving_header_key = read_opt(&mut r, "state.receiving_header_key")?;
        let next_sending_header_key = Zeroizing::new(r.array::<32>()?);
        let next_receiving_header_key = Zeroizing::new(r.array::<32>()?);
        let sending_number = r.u32()?;
        let receiving_number = r.u32()?;
        let previous_sending_length = r.u32()?;
        let receiving_chain_index = r.u32()?;
        let send_step_pending = r.bool("state.send_step_pending")?;
        let pending_initial_header = if r.bool("state.pending_initial_header")? {
            Some(InitialHeader::decode(&mut r)?)
        } else {
            None
        };
        let initial_header_digest = read_opt(&mut r, "state.initial_header_digest")?;
        let chain_count = usize::from(r.u8()?);
        if chain_count > MAX_RECEIVING_CHAINS {
            return Err(Error::LengthOverMax {
                field: "state.skipped_chains",
            });
        }
        let mut skipped = SkippedKeys::default();
        let mut total = 0usize;
        for _ in 0..chain_count {
            let header_key = r.array::<32>()?;
            let index = r.u32()?;
            let count = r.count_u16(MAX_SKIPPED_KEYS, SKIPPED_KEY_LEN, "state.skipped_keys")?;
            total = total.saturating_add(count);
            if total > MAX_SKIPPED_KEYS {
                return Err(invalid("state.skipped_keys"));
            }
            // Chains are remembered oldest first, each once, none after the current one.
            if skipped.chains.iter().any(|c| c.header_key == header_key)
                || skipped.chains.last().is_some_and(|c| c.index >= index)
                || index > receiving_chain_index
            {
                return Err(invalid("state.skipped_chains"));
            }
            let mut keys = Vec::with_capacity(count);
            for _ in 0..count {
                let number = r.u32()?;
                if keys.last().is_some_and(|k: &SkippedKey| k.number >= number) {
                    return Err(invalid("state.skipped_keys"));
                }
                keys.push(SkippedKey {
                    number,
                    message_key: r.array()?,
                });
            }
            skipped.chains.push(SkippedChain {
                header_key,
                index,
                keys,
            });
        }
        r.finish()?;
        // Consistency: the AD starts with both identities (spec §6.4); a session is
        // either an initiator awaiting a reply or holds a responder's header digest, not
        // both; a session that can send has a header key for it.
        let mut ids = associated_data.chunks_exact(64);
        let (first, second) = (ids.next(), ids.next());
        let (local_bytes, remote_bytes) = (local_identity.to_array(), remote_identity.to_array());
        let (local, remote) = (Some(local_bytes.as_slice()), Some(remote_bytes.as_slice()));
        if !((first == local && second == remote) || (first == remote && second == local)) {
            return Err(invalid("state.associated_data"));
        }
        if pending_initial_header.is_some() && initial_header_digest.is_some() {
            return Err(invalid("state.initial_header"));
        }
        if sending_chain.is_some() != sending_header_key.is_some()
            || receiving_chain.is_some() != receiving_header_key.is_some()
            || (send_step_pending && remote_key.is_none())
        {
            return Err(invalid("state.chains"));
        }
        let ratchet = RatchetState {
            root_key: *root_key,
            sending_public: public_from_secret(&sending_secret),
            sending_secret: *sending_secret,
            remote_key,
            sending_chain,
            receiving_chain,
            sending_header_key,
            receiving_header_key,
            next_sending_header_key: *next_sending_header_key,
            next_receiving_header_key: *next_receiving_header_key,
            sending_number,
            receiving_number,
            previous_sending_length,
            receiving_chain_index,
            send_step_pending,
            skipped,
        };
        Ok(Self {
            local_identity,
            remote_identity,
            associated_data,
            ratchet,
            pending_initial_header,
            initial_header_digest,
        })
    }
}
