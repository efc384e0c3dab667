//! The handshake's initial message (spec §6.3).

use crate::codec::{read_header, write_header, Decode, Encode, MessageType, Reader, Writer};
use crate::limits::MAX_RATCHET_MESSAGE_LEN;
use crate::wire::{IdentityRecord, PrekeyKind};
use crate::Error;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// ML-KEM-768 ciphertext length.
const KEM_CT_LEN: usize = 1088;

/// Everything the responder needs to recompute the handshake secret: the part of the
/// initial message in front of the first ratchet message.
///
/// ```text
/// +------------------------------+----------------+------------+---------------+------------+
/// | initiator identity record    | ephemeral (32) | spk id (4) | kem kind (1)  | kem id (4) |
/// | (192: identity, mailbox,     |                |            |               |            |
/// |  sealing key, signature)     |                |            |               |            |
/// +------------------------------+----------------+------------+---------------+------------+
/// | opk present (1) | [opk id (4)] | kem ciphertext (1088)                               |
/// +-----------------+--------------+-----------------------------------------------------+
/// ```
/// `kem kind` is `0x02` (signed ML-KEM prekey) or `0x04` (one-time ML-KEM prekey).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialHeader {
    /// The initiator's identity record (spec §5.2): its public identity, mailbox and
    /// sealing key, signed by its Ed25519 key. The responder verifies the signature, so
    /// both halves of the identity are authenticated (spec §6.5).
    pub initiator: IdentityRecord,
    /// The initiator's ephemeral X25519 public key (EK_A).
    pub ephemeral: [u8; 32],
    /// Id of the responder's signed X25519 prekey used.
    pub signed_prekey_id: u32,
    /// Which ML-KEM prekey was encapsulated to: [`PrekeyKind::SignedKem`] or
    /// [`PrekeyKind::OneTimeKem`].
    pub kem_kind: PrekeyKind,
    /// Id of that ML-KEM prekey.
    pub kem_prekey_id: u32,
    /// Id of the one-time X25519 prekey used, if any.
    pub one_time_prekey_id: Option<u32>,
    /// The ML-KEM-768 ciphertext (CT).
    pub kem_ciphertext: Box<[u8; KEM_CT_LEN]>,
}

/// A handshake initial message: the header and the first ratchet message, whose
/// successful decryption is what authenticates the handshake to the responder.
///
/// ```text
/// +--------+------+------------------+---------------------------------------------+
/// | ver=01 | 0x02 | InitialHeader    | ratchet message length (u32) || message      |
/// +--------+------+------------------+---------------------------------------------+
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialMessage {
    /// The handshake header.
    pub header: InitialHeader,
    /// The encoded first ratchet message (spec §7), at most `MAX_RATCHET_MESSAGE_LEN`.
    pub message: Vec<u8>,
}

impl Encode for InitialHeader {
    fn encode(&self, w: &mut Writer) {
        self.initiator.encode(w);
        w.bytes(&self.ephemeral);
        w.u32(self.signed_prekey_id);
        w.u8(self.kem_kind as u8);
        w.u32(self.kem_prekey_id);
        match self.one_time_prekey_id {
            Some(id) => {
                w.u8(1);
                w.u32(id);
            }
            None => w.u8(0),
        }
        w.bytes(&*self.kem_ciphertext);
    }
}

impl Decode for InitialHeader {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let initiator = IdentityRecord::decode(r)?;
        let ephemeral = r.array()?;
        let signed_prekey_id = r.u32()?;
        let kem_kind = match r.u8()? {
            0x02 => PrekeyKind::SignedKem,
            0x04 => PrekeyKind::OneTimeKem,
            _ => {
                return Err(Error::InvalidEncoding {
                    field: "initial.kem_kind",
                })
            }
        };
        let kem_prekey_id = r.u32()?;
        let one_time_prekey_id = if r.bool("initial.opk_present")? {
            Some(r.u32()?)
        } else {
            None
        };
        let kem_ciphertext = Box::new(r.array()?);
        Ok(Self {
            initiator,
            ephemeral,
            signed_prekey_id,
            kem_kind,
            kem_prekey_id,
            one_time_prekey_id,
            kem_ciphertext,
        })
    }
}

impl Encode for InitialMessage {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::INITIAL_MESSAGE);
        self.header.encode(w);
        w.opaque_u32(&self.message);
    }
}

impl Decode for InitialMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::INITIAL_MESSAGE)?;
        let header = InitialHeader::decode(r)?;
        let message = r.vec_u32(MAX_RATCHET_MESSAGE_LEN, "initial.message")?;
        Ok(Self { header, message })
    }
}
