//! The prekey bundle a party publishes (spec §5.3).

use crate::codec::{read_header, write_header, Decode, Encode, MessageType, Reader, Writer};
use crate::wire::IdentityPublicKey;
use crate::Error;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// The key-type byte of a signed key record (spec §5.2). Distinct values keep one kind of
/// key from ever being accepted as another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(u8)]
pub enum PrekeyKind {
    /// A signed X25519 prekey (SPK).
    SignedX25519 = 0x01,
    /// A signed ML-KEM-768 prekey (last resort).
    SignedKem = 0x02,
    /// A one-time X25519 prekey (OPK).
    OneTimeX25519 = 0x03,
    /// A one-time ML-KEM-768 prekey.
    OneTimeKem = 0x04,
    /// The identity record: the identity's X25519 agreement key, the mailbox id and the
    /// sealing key (spec §5.2), which binds the X25519 half of the identity to its Ed25519
    /// half.
    Sealing = 0x05,
}

/// A published X25519 prekey with its id and signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X25519PrekeyPublic {
    /// The prekey id, chosen by its owner.
    pub id: u32,
    /// The X25519 public key.
    pub key: [u8; 32],
    /// Ed25519 signature by the identity over the signature input (spec §5.2).
    pub signature: [u8; 64],
}

/// A published ML-KEM-768 prekey with its id and signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KemPrekeyPublic {
    /// The prekey id, chosen by its owner.
    pub id: u32,
    /// The ML-KEM-768 encapsulation key (1184 bytes).
    pub key: Box<[u8; 1184]>,
    /// Ed25519 signature by the identity over the signature input (spec §5.2).
    pub signature: [u8; 64],
}

/// A prekey bundle as received from a relay: unverified. Only
/// [`PrekeyBundle::verify`](crate::bundle) turns it into something a handshake accepts.
///
/// ```text
/// +---------+------+----------------+-------------+-------------+---------------+
/// | ver=01  | 0x01 | identity (64)  | mailbox(32) | sealing(32) | seal sig (64) |
/// +---------+------+----------------+-------------+-------------+---------------+
/// | spk id (4) | spk (32) | spk sig (64) | kem id (4) | kem ek (1184) | kem sig (64)|
/// +------------+----------+--------------+------------+---------------+-------------+
/// | flags (1): bit0 = one-time X25519 present, bit1 = one-time ML-KEM present      |
/// +--------------------------------------------------------------------------------+
/// | [opk id (4) | opk (32) | opk sig (64)]  [otk id (4) | otk ek (1184) | sig (64)] |
/// +--------------------------------------------------------------------------------+
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrekeyBundle {
    /// The owner's public identity.
    pub identity: IdentityPublicKey,
    /// The owner's mailbox id: opaque, chosen at random, unlinkable to the identity keys.
    pub mailbox: [u8; 32],
    /// The X25519 key envelopes to this owner are sealed to (spec §8).
    pub sealing_key: [u8; 32],
    /// Signature over the identity record (kind [`PrekeyKind::Sealing`]): the identity's
    /// X25519 key, the mailbox and the sealing key.
    pub sealing_signature: [u8; 64],
    /// The signed X25519 prekey.
    pub signed_prekey: X25519PrekeyPublic,
    /// The signed ML-KEM-768 prekey.
    pub kem_prekey: KemPrekeyPublic,
    /// An optional one-time X25519 prekey.
    pub one_time_prekey: Option<X25519PrekeyPublic>,
    /// An optional one-time ML-KEM-768 prekey.
    pub one_time_kem_prekey: Option<KemPrekeyPublic>,
}

const FLAG_OPK: u8 = 0x01;
const FLAG_OTKEM: u8 = 0x02;

impl PrekeyBundle {
    /// The exact bytes an identity signs for a key record (spec §5.2):
    /// `PREKEY_SIGNATURE_CONTEXT || kind (u8) || body`, where `body` is `id (u32) || key`
    /// for prekeys and `identity x25519 (32) || mailbox (32) || sealing key (32)` for the
    /// identity record.
    #[must_use]
    pub fn signature_input(context: &[u8], kind: PrekeyKind, body: &[&[u8]]) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(context.len() + 1 + body.iter().map(|b| b.len()).sum::<usize>());
        out.extend_from_slice(context);
        out.push(kind as u8);
        for part in body {
            out.extend_from_slice(part);
        }
        out
    }
}

impl Encode for X25519PrekeyPublic {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.id);
        w.bytes(&self.key);
        w.bytes(&self.signature);
    }
}
impl Decode for X25519PrekeyPublic {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            id: r.u32()?,
            key: r.array()?,
            signature: r.array()?,
        })
    }
}
impl Encode for KemPrekeyPublic {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.id);
        w.bytes(&*self.key);
        w.bytes(&self.signature);
    }
}
impl Decode for KemPrekeyPublic {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            id: r.u32()?,
            key: Box::new(r.array()?),
            signature: r.array()?,
        })
    }
}

impl Encode for PrekeyBundle {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::PREKEY_BUNDLE);
        self.identity.encode(w);
        w.bytes(&self.mailbox);
        w.bytes(&self.sealing_key);
        w.bytes(&self.sealing_signature);
        self.signed_prekey.encode(w);
        self.kem_prekey.encode(w);
        write_one_time_keys(w, &self.one_time_prekey, &self.one_time_kem_prekey);
    }
}

/// Writes `flags (u8) || [one-time X25519 record] || [one-time ML-KEM record]`: the tail of a
/// bundle (§5.3) and of a claim response (§12.4).
pub(crate) fn write_one_time_keys(
    w: &mut Writer,
    opk: &Option<X25519PrekeyPublic>,
    otk: &Option<KemPrekeyPublic>,
) {
    let mut flags = 0u8;
    if opk.is_some() {
        flags |= FLAG_OPK;
    }
    if otk.is_some() {
        flags |= FLAG_OTKEM;
    }
    w.u8(flags);
    if let Some(k) = opk {
        k.encode(w);
    }
    if let Some(k) = otk {
        k.encode(w);
    }
}

/// Reads what [`write_one_time_keys`] writes; reserved flag bits are
/// [`Error::InvalidEncoding`] naming `field`.
pub(crate) fn read_one_time_keys(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<(Option<X25519PrekeyPublic>, Option<KemPrekeyPublic>), Error> {
    let flags = r.u8()?;
    if flags & !(FLAG_OPK | FLAG_OTKEM) != 0 {
        return Err(Error::InvalidEncoding { field });
    }
    let opk = if flags & FLAG_OPK != 0 {
        Some(X25519PrekeyPublic::decode(r)?)
    } else {
        None
    };
    let otk = if flags & FLAG_OTKEM != 0 {
        Some(KemPrekeyPublic::decode(r)?)
    } else {
        None
    };
    Ok((opk, otk))
}

impl Decode for PrekeyBundle {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::PREKEY_BUNDLE)?;
        let identity = IdentityPublicKey::decode(r)?;
        let mailbox = r.array()?;
        let sealing_key = r.array()?;
        let sealing_signature = r.array()?;
        let signed_prekey = X25519PrekeyPublic::decode(r)?;
        let kem_prekey = KemPrekeyPublic::decode(r)?;
        let (one_time_prekey, one_time_kem_prekey) = read_one_time_keys(r, "bundle.flags")?;
        Ok(Self {
            identity,
            mailbox,
            sealing_key,
            sealing_signature,
            signed_prekey,
            kem_prekey,
            one_time_prekey,
            one_time_kem_prekey,
        })
    }
}
