//! Wire formats of suite `ch2`'s oracle (spec §13.6): the oracle's signed parameters and
//! the OPRF evaluation request and response a client sends through its relay. Pure codec:
//! elements are carried as 32-byte strings here and checked as ristretto255 points by the
//! crypto layer ([`super::oprf`]), which names the error (`OprfInvalidElement`, 620).

use super::oprf::{
    MAX_OPRF_BATCH as MAX_OPRF_ELEMENTS, OPRF_ELEMENT_LEN as ELEMENT_LEN,
    OPRF_PROOF_LEN as PROOF_LEN,
};
use crate::codec::{read_header, write_header, Decode, Encode, MessageType, Reader, Writer};
use crate::Error;
use alloc::vec::Vec;

/// Suite id of `ch2` (spec §9.1, §13).
pub const SUITE_CH2: u8 = 0x02;
/// Length of an Ed25519 signature.
const SIGNATURE_LEN: usize = 64;

/// Message type of the oracle's signed parameters (spec §13.6).
pub const ORACLE_PARAMETERS: MessageType = MessageType(0x14);
/// Message type of an OPRF evaluation request (spec §13.6).
pub const OPRF_REQUEST: MessageType = MessageType(0x15);
/// Message type of an OPRF evaluation response (spec §13.6).
pub const OPRF_RESPONSE: MessageType = MessageType(0x16);

fn read_ch2(r: &mut Reader<'_>) -> Result<(), Error> {
    let suite = r.u8()?;
    if suite == SUITE_CH2 {
        Ok(())
    } else {
        Err(Error::UnknownSuite(suite))
    }
}

/// Reads an element count: at least 1 (`OprfBatchSize`), at most [`MAX_OPRF_BATCH`](super::oprf::MAX_OPRF_BATCH)
/// (`LengthOverMax`), and no more than the input holds (`Truncated`), before allocating.
fn read_elements(r: &mut Reader<'_>, field: &'static str) -> Result<Vec<[u8; 32]>, Error> {
    let count = r.count_u16(MAX_OPRF_ELEMENTS, ELEMENT_LEN, field)?;
    if count == 0 {
        return Err(Error::OprfBatchSize);
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(r.array()?);
    }
    Ok(out)
}

fn write_elements(w: &mut Writer, elements: &[[u8; 32]]) {
    // Construction bounds the count by MAX_OPRF_ELEMENTS, so it fits a u16.
    w.u16(u16::try_from(elements.len()).unwrap_or(u16::MAX));
    for e in elements {
        w.bytes(e);
    }
}

fn check_count(n: usize, field: &'static str) -> Result<(), Error> {
    if n == 0 {
        Err(Error::OprfBatchSize)
    } else if n > MAX_OPRF_ELEMENTS {
        Err(Error::LengthOverMax { field })
    } else {
        Ok(())
    }
}

/// The oracle's parameters, signed by its long-term Ed25519 key (spec §13.6, type 0x14).
///
/// ```text
/// 0x01 || 0x14 || suite (u8 = 0x02) || key_epoch (u32) || oprf_public_key [32]
///      || issued_at (u64) || expires_at (u64) || signature [64]
/// ```
///
/// The signature is over `ORACLE_PARAMETERS_CONTEXT || (all bytes before it)`. Decoding
/// checks structure only; `OracleParameters::verify` checks the signature and the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleParameters {
    pub(super) key_epoch: u32,
    pub(super) oprf_public_key: [u8; ELEMENT_LEN],
    pub(super) issued_at: u64,
    pub(super) expires_at: u64,
    pub(super) signature: [u8; SIGNATURE_LEN],
}

impl OracleParameters {
    /// The oracle key's epoch: every rotation of the OPRF key starts a new one.
    #[must_use]
    pub fn key_epoch(&self) -> u32 {
        self.key_epoch
    }

    /// The oracle's OPRF public key `pkS` for this epoch (RFC 9497 §3.2), against which
    /// clients check every evaluation's proof.
    #[must_use]
    pub fn oprf_public_key(&self) -> &[u8; ELEMENT_LEN] {
        &self.oprf_public_key
    }

    /// When the oracle signed these parameters (Unix seconds).
    #[must_use]
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// When these parameters stop being accepted (Unix seconds).
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// The oracle's Ed25519 signature.
    #[must_use]
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// The signed part: the encoding up to, not including, the signature.
    #[must_use]
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_unsigned(&mut w);
        w.into_inner()
    }

    fn encode_unsigned(&self, w: &mut Writer) {
        write_header(w, ORACLE_PARAMETERS);
        w.u8(SUITE_CH2);
        w.u32(self.key_epoch);
        w.bytes(&self.oprf_public_key);
        w.u64(self.issued_at);
        w.u64(self.expires_at);
    }
}

impl Encode for OracleParameters {
    fn encode(&self, w: &mut Writer) {
        self.encode_unsigned(w);
        w.bytes(&self.signature);
    }
}

impl Decode for OracleParameters {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, ORACLE_PARAMETERS)?;
        read_ch2(r)?;
        Ok(Self {
            key_epoch: r.u32()?,
            oprf_public_key: r.array()?,
            issued_at: r.u64()?,
            expires_at: r.u64()?,
            signature: r.array()?,
        })
    }
}

/// An OPRF evaluation request (spec §13.6, type 0x15): the client's blinded elements, in
/// the order of its contacts, for one key epoch.
///
/// ```text
/// 0x01 || 0x15 || suite (u8 = 0x02) || key_epoch (u32) || count (u16), 1..=4096
///      || blinded_element [32] × count
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OprfRequest {
    key_epoch: u32,
    blinded: Vec<[u8; ELEMENT_LEN]>,
}

impl OprfRequest {
    /// A request for `blinded` under `key_epoch`.
    ///
    /// # Errors
    /// [`Error::OprfBatchSize`] for no element, [`Error::LengthOverMax`] (field
    /// `oprf.blinded`) for more than [`MAX_OPRF_BATCH`](super::oprf::MAX_OPRF_BATCH).
    pub fn new(key_epoch: u32, blinded: Vec<[u8; ELEMENT_LEN]>) -> Result<Self, Error> {
        check_count(blinded.len(), "oprf.blinded")?;
        Ok(Self { key_epoch, blinded })
    }

    /// The key epoch the client asks to be evaluated under.
    #[must_use]
    pub fn key_epoch(&self) -> u32 {
        self.key_epoch
    }

    /// The blinded elements.
    #[must_use]
    pub fn blinded(&self) -> &[[u8; ELEMENT_LEN]] {
        &self.blinded
    }
}

impl Encode for OprfRequest {
    fn encode(&self, w: &mut Writer) {
        write_header(w, OPRF_REQUEST);
        w.u8(SUITE_CH2);
        w.u32(self.key_epoch);
        write_elements(w, &self.blinded);
    }
}

impl Decode for OprfRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, OPRF_REQUEST)?;
        read_ch2(r)?;
        let key_epoch = r.u32()?;
        let blinded = read_elements(r, "oprf.blinded")?;
        Ok(Self { key_epoch, blinded })
    }
}

/// An OPRF evaluation response (spec §13.6, type 0x16): one evaluated element per blinded
/// element, in the request's order, and one batch DLEQ proof for all of them.
///
/// ```text
/// 0x01 || 0x16 || suite (u8 = 0x02) || key_epoch (u32) || count (u16), 1..=4096
///      || evaluated_element [32] × count || proof [64]
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OprfResponse {
    key_epoch: u32,
    evaluated: Vec<[u8; ELEMENT_LEN]>,
    proof: [u8; PROOF_LEN],
}

impl OprfResponse {
    /// A response with `evaluated` and `proof` under `key_epoch`.
    ///
    /// # Errors
    /// As [`OprfRequest::new`] (field `oprf.evaluated`).
    pub fn new(
        key_epoch: u32,
        evaluated: Vec<[u8; ELEMENT_LEN]>,
        proof: [u8; PROOF_LEN],
    ) -> Result<Self, Error> {
        check_count(evaluated.len(), "oprf.evaluated")?;
        Ok(Self {
            key_epoch,
            evaluated,
            proof,
        })
    }

    /// The key epoch the oracle evaluated under.
    #[must_use]
    pub fn key_epoch(&self) -> u32 {
        self.key_epoch
    }

    /// The evaluated elements, in the request's order.
    #[must_use]
    pub fn evaluated(&self) -> &[[u8; ELEMENT_LEN]] {
        &self.evaluated
    }

    /// The batch DLEQ proof.
    #[must_use]
    pub fn proof(&self) -> &[u8; PROOF_LEN] {
        &self.proof
    }
}

impl Encode for OprfResponse {
    fn encode(&self, w: &mut Writer) {
        write_header(w, OPRF_RESPONSE);
        w.u8(SUITE_CH2);
        w.u32(self.key_epoch);
        write_elements(w, &self.evaluated);
        w.bytes(&self.proof);
    }
}

impl Decode for OprfResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, OPRF_RESPONSE)?;
        read_ch2(r)?;
        let key_epoch = r.u32()?;
        let evaluated = read_elements(r, "oprf.evaluated")?;
        let proof = r.array()?;
        Ok(Self {
            key_epoch,
            evaluated,
            proof,
        })
    }
}
