//! The byte encodings of the relay API's requests and responses (spec §12). Pure codec: the
//! checks that need keys are [`Publication::verify`], [`ClaimResponse::verify`] and
//! [`UploadKeysRequest::verify_keys`].

use super::publication::Publication;
use super::{MAX_DEPOSIT_LEN, MAX_FETCH_LIMIT, MAX_SUBSCRIPTIONS, MAX_UPLOAD_KEYS};
use crate::codec::{read_header, write_header, Decode, Encode, MessageType, Reader, Writer};
use crate::contact::Registration;
use crate::envelope::MAILBOX_LEN;
use crate::keys::IdentityPublicKey;
use crate::route::{ReadCapability, READ_CAPABILITY_LEN};
use crate::wire::{
    read_one_time_keys, write_one_time_keys, KemPrekeyPublic, PrekeyBundle, X25519PrekeyPublic,
};
use crate::{Error, VerifiedBundle};
use alloc::vec::Vec;

fn read_capability(r: &mut Reader<'_>) -> Result<ReadCapability, Error> {
    Ok(ReadCapability::from_bytes(
        r.array::<READ_CAPABILITY_LEN>()?,
    ))
}

/// Publish or replace the bundle of the mailbox `capability` opens (spec §12.3).
///
/// ```text
/// 0x01 || 0x21 || capability [32] || publication (0x01 0x20 ...)
/// ```
///
/// The relay accepts it only if the capability hashes to the bundle's mailbox (else
/// [`Error::Unauthorized`]), the publication verifies at the relay's clock, and it is newer
/// than the stored one ([`Error::StalePublication`]).
#[derive(Debug, PartialEq, Eq)]
pub struct PublishRequest {
    /// The read capability of the bundle's mailbox: the proof of ownership.
    pub capability: ReadCapability,
    /// The signed publication.
    pub publication: Publication,
}

impl PublishRequest {
    /// The relay's checks (spec §12.3) except freshness against its store, in order:
    /// the publication's signatures and times ([`Publication::verify`]), then ownership.
    ///
    /// # Errors
    /// As [`Publication::verify`]; [`Error::Unauthorized`] if the capability does not open
    /// the bundle's mailbox.
    pub fn check(&self, now: u64) -> Result<(), Error> {
        self.publication.verify(now)?;
        if !crate::route::verify_read_capability(
            &self.publication.bundle().mailbox,
            &self.capability.to_bytes(),
        ) {
            return Err(Error::Unauthorized);
        }
        Ok(())
    }
}

impl Encode for PublishRequest {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::PUBLISH_REQUEST);
        w.bytes(&self.capability.to_bytes());
        self.publication.encode(w);
    }
}

impl Decode for PublishRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::PUBLISH_REQUEST)?;
        let capability = read_capability(r)?;
        let publication = Publication::decode(r)?;
        Ok(Self {
            capability,
            publication,
        })
    }
}

/// Upload one-time prekeys to the pool of the mailbox `capability` opens (spec §12.4).
///
/// ```text
/// 0x01 || 0x22 || capability [32]
///      || n (u16) || n × (id (u32) || key [32] || signature [64])
///      || m (u16) || m × (id (u32) || key [1184] || signature [64])
/// ```
///
/// `n, m ≤ MAX_UPLOAD_KEYS`. Each signature is the kind-`0x03` / `0x04` signature of §5.2 by
/// the identity of the published bundle; the relay verifies every one before storing any.
#[derive(Debug, PartialEq, Eq)]
pub struct UploadKeysRequest {
    /// The read capability of the owner's public mailbox.
    pub capability: ReadCapability,
    /// One-time X25519 prekeys.
    pub x25519: Vec<X25519PrekeyPublic>,
    /// One-time ML-KEM-768 prekeys.
    pub kem: Vec<KemPrekeyPublic>,
}

impl UploadKeysRequest {
    /// Verifies every key as a one-time prekey of `identity` (the published bundle's).
    ///
    /// # Errors
    /// [`Error::BadSignature`] or [`Error::InvalidPublicKey`] for the first key that fails.
    pub fn verify_keys(&self, identity: &IdentityPublicKey) -> Result<(), Error> {
        for key in &self.x25519 {
            key.verify_one_time(identity)?;
        }
        for key in &self.kem {
            key.verify_one_time(identity)?;
        }
        Ok(())
    }
}

impl Encode for UploadKeysRequest {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::UPLOAD_KEYS_REQUEST);
        w.bytes(&self.capability.to_bytes());
        w.u16(u16::try_from(self.x25519.len()).unwrap_or(u16::MAX));
        for key in &self.x25519 {
            key.encode(w);
        }
        w.u16(u16::try_from(self.kem.len()).unwrap_or(u16::MAX));
        for key in &self.kem {
            key.encode(w);
        }
    }
}

impl Decode for UploadKeysRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::UPLOAD_KEYS_REQUEST)?;
        let capability = read_capability(r)?;
        let n = r.count_u16(MAX_UPLOAD_KEYS, 4 + 32 + 64, "upload.x25519")?;
        let mut x25519 = Vec::with_capacity(n);
        for _ in 0..n {
            x25519.push(X25519PrekeyPublic::decode(r)?);
        }
        let m = r.count_u16(MAX_UPLOAD_KEYS, 4 + 1184 + 64, "upload.kem")?;
        let mut kem = Vec::with_capacity(m);
        for _ in 0..m {
            kem.push(KemPrekeyPublic::decode(r)?);
        }
        Ok(Self {
            capability,
            x25519,
            kem,
        })
    }
}

/// Which owner operation an [`OwnerRequest`] asks for; each has its own type byte, so a body
/// made for one endpoint is refused by another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerRequestKind {
    /// How many one-time prekeys are left (type `0x23`, answered by [`CountResponse`]).
    Count,
    /// Delete the bundle, its pool and its registrations (type `0x24`).
    Delete,
    /// Delete the owner's discovery registrations (type `0x25`).
    Deregister,
}

impl OwnerRequestKind {
    fn message_type(self) -> MessageType {
        match self {
            Self::Count => MessageType::COUNT_REQUEST,
            Self::Delete => MessageType::DELETE_REQUEST,
            Self::Deregister => MessageType::DEREGISTER_REQUEST,
        }
    }
}

/// A request that carries only the owner's capability (spec §12.4, §12.7):
///
/// ```text
/// 0x01 || type (0x23 count, 0x24 delete, 0x25 deregister) || capability [32]
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct OwnerRequest {
    /// What is asked.
    pub kind: OwnerRequestKind,
    /// The read capability of the owner's public mailbox.
    pub capability: ReadCapability,
}

impl OwnerRequest {
    /// Decodes a request that must be of `kind`.
    ///
    /// # Errors
    /// Any decode error; [`Error::UnknownMessageType`] for another kind's type byte.
    pub fn decode_as(kind: OwnerRequestKind, bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        read_header(&mut r, kind.message_type())?;
        let capability = read_capability(&mut r)?;
        r.finish()?;
        Ok(Self { kind, capability })
    }
}

impl Encode for OwnerRequest {
    fn encode(&self, w: &mut Writer) {
        write_header(w, self.kind.message_type());
        w.bytes(&self.capability.to_bytes());
    }
}

/// Claim a bundle (spec §12.4): anonymous, names only the owner's mailbox.
///
/// ```text
/// 0x01 || 0x26 || mailbox [32]
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The owner's public mailbox id.
    pub mailbox: [u8; MAILBOX_LEN],
}

impl Encode for ClaimRequest {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::CLAIM_REQUEST);
        w.bytes(&self.mailbox);
    }
}

impl Decode for ClaimRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::CLAIM_REQUEST)?;
        Ok(Self {
            mailbox: r.array()?,
        })
    }
}

/// A claimed bundle (spec §12.4): the stored publication with at most one one-time prekey of
/// each kind, each handed out by the relay exactly once.
///
/// ```text
/// 0x01 || 0x27 || publication || flags (u8: bit0 X25519, bit1 ML-KEM)
///      || [id (u32) || key [32] || signature [64]] || [id (u32) || key [1184] || signature [64]]
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimResponse {
    /// The owner's publication, as uploaded.
    pub publication: Publication,
    /// A one-time X25519 prekey, or `None` when the pool is empty.
    pub one_time_prekey: Option<X25519PrekeyPublic>,
    /// A one-time ML-KEM prekey, or `None` when the pool is empty (the bundle's signed
    /// ML-KEM key is then the last-resort key).
    pub one_time_kem_prekey: Option<KemPrekeyPublic>,
}

impl ClaimResponse {
    /// The claimer's checks (spec §12.4): the publication verifies at `now` (the claimer's
    /// clock), it is the bundle of the mailbox that was claimed, and the attached one-time
    /// keys verify with the bundle. Returns the bundle a handshake starts from.
    ///
    /// # Errors
    /// As [`Publication::verify`]; [`Error::WrongMailbox`] if the bundle is another
    /// mailbox's; [`Error::BadSignature`] / [`Error::InvalidPublicKey`] for a one-time key.
    pub fn verify(self, mailbox: &[u8; MAILBOX_LEN], now: u64) -> Result<VerifiedBundle, Error> {
        use subtle::ConstantTimeEq;
        self.publication.verify(now)?;
        if !bool::from(self.publication.bundle().mailbox.ct_eq(mailbox)) {
            return Err(Error::WrongMailbox);
        }
        let mut bundle: PrekeyBundle = self.publication.bundle().clone();
        bundle.one_time_prekey = self.one_time_prekey;
        bundle.one_time_kem_prekey = self.one_time_kem_prekey;
        bundle.verify()
    }
}

impl Encode for ClaimResponse {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::CLAIM_RESPONSE);
        self.publication.encode(w);
        write_one_time_keys(w, &self.one_time_prekey, &self.one_time_kem_prekey);
    }
}

impl Decode for ClaimResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::CLAIM_RESPONSE)?;
        let publication = Publication::decode(r)?;
        let (one_time_prekey, one_time_kem_prekey) = read_one_time_keys(r, "claim.flags")?;
        Ok(Self {
            publication,
            one_time_prekey,
            one_time_kem_prekey,
        })
    }
}

/// How many one-time prekeys of each kind the owner has left on the relay (spec §12.4).
///
/// ```text
/// 0x01 || 0x28 || x25519 (u32) || kem (u32)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountResponse {
    /// One-time X25519 prekeys left.
    pub x25519: u32,
    /// One-time ML-KEM prekeys left.
    pub kem: u32,
}

impl Encode for CountResponse {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::COUNT_RESPONSE);
        w.u32(self.x25519);
        w.u32(self.kem);
    }
}

impl Decode for CountResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::COUNT_RESPONSE)?;
        Ok(Self {
            x25519: r.u32()?,
            kem: r.u32()?,
        })
    }
}

/// Fetch envelopes of the mailbox `capability` opens (spec §12.5).
///
/// ```text
/// 0x01 || 0x29 || capability [32] || after (u64) || limit (u16, 1..=256)
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct FetchRequest {
    /// The mailbox's read capability.
    pub capability: ReadCapability,
    /// Return only envelopes with a seq greater than this (0: from the oldest).
    pub after: u64,
    /// At most this many envelopes, `1..=MAX_FETCH_LIMIT`.
    pub limit: u16,
}

impl Encode for FetchRequest {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::FETCH_REQUEST);
        w.bytes(&self.capability.to_bytes());
        w.u64(self.after);
        w.u16(self.limit);
    }
}

impl Decode for FetchRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::FETCH_REQUEST)?;
        let capability = read_capability(r)?;
        let after = r.u64()?;
        let limit = r.u16()?;
        if limit == 0 || limit > MAX_FETCH_LIMIT {
            return Err(Error::InvalidEncoding {
                field: "fetch.limit",
            });
        }
        Ok(Self {
            capability,
            after,
            limit,
        })
    }
}

/// One envelope in a [`FetchResponse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedEnvelope {
    /// Its seq in the mailbox (spec §12.5): increasing, never reused while the mailbox exists.
    pub seq: u64,
    /// The envelope as deposited.
    pub envelope: Vec<u8>,
}

/// A page of envelopes (spec §12.5), in seq order.
///
/// ```text
/// 0x01 || 0x2A || n (u16, ≤ 256) || n × (seq (u64) || len (u32) || envelope) || more (u8 bool)
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchResponse {
    /// The envelopes, seqs strictly increasing.
    pub envelopes: Vec<FetchedEnvelope>,
    /// Whether more envelopes follow the last one.
    pub more: bool,
}

impl Encode for FetchResponse {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::FETCH_RESPONSE);
        w.u16(u16::try_from(self.envelopes.len()).unwrap_or(u16::MAX));
        for e in &self.envelopes {
            w.u64(e.seq);
            w.opaque_u32(&e.envelope);
        }
        w.bool(self.more);
    }
}

impl Decode for FetchResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::FETCH_RESPONSE)?;
        let n = r.count_u16(usize::from(MAX_FETCH_LIMIT), 8 + 4, "fetch.envelopes")?;
        let mut envelopes = Vec::with_capacity(n);
        let mut last = 0u64;
        for _ in 0..n {
            let seq = r.u64()?;
            if seq <= last {
                return Err(Error::InvalidEncoding { field: "fetch.seq" });
            }
            last = seq;
            let envelope = r.vec_u32(MAX_DEPOSIT_LEN, "fetch.envelope")?;
            envelopes.push(FetchedEnvelope { seq, envelope });
        }
        let more = r.bool("fetch.more")?;
        Ok(Self { envelopes, more })
    }
}

/// Acknowledge (delete) every envelope of the mailbox with seq at most `up_to` (spec §12.5).
///
/// ```text
/// 0x01 || 0x2B || capability [32] || up_to (u64)
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct AckRequest {
    /// The mailbox's read capability.
    pub capability: ReadCapability,
    /// The highest seq acknowledged.
    pub up_to: u64,
}

impl Encode for AckRequest {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::ACK_REQUEST);
        w.bytes(&self.capability.to_bytes());
        w.u64(self.up_to);
    }
}

impl Decode for AckRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::ACK_REQUEST)?;
        Ok(Self {
            capability: read_capability(r)?,
            up_to: r.u64()?,
        })
    }
}

/// The first frame of a WebSocket subscription (spec §12.6): the mailboxes to push.
///
/// ```text
/// 0x01 || 0x2C || n (u8, 1..=32) || n × capability [32]
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct SubscribeRequest {
    /// One read capability per mailbox.
    pub capabilities: Vec<ReadCapability>,
}

impl Encode for SubscribeRequest {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::SUBSCRIBE_REQUEST);
        w.u8(u8::try_from(self.capabilities.len()).unwrap_or(u8::MAX));
        for c in &self.capabilities {
            w.bytes(&c.to_bytes());
        }
    }
}

impl Decode for SubscribeRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::SUBSCRIBE_REQUEST)?;
        let n = usize::from(r.u8()?);
        if n == 0 || n > MAX_SUBSCRIPTIONS {
            return Err(Error::LengthOverMax {
                field: "subscribe.capabilities",
            });
        }
        let mut capabilities = Vec::with_capacity(n);
        for _ in 0..n {
            capabilities.push(read_capability(r)?);
        }
        Ok(Self { capabilities })
    }
}

/// One envelope pushed over a subscription (spec §12.6). The subscriber still acknowledges
/// it with an [`AckRequest`]; an unacknowledged push is fetched again.
///
/// ```text
/// 0x01 || 0x2D || mailbox [32] || seq (u64) || len (u32) || envelope
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The mailbox it was deposited to.
    pub mailbox: [u8; MAILBOX_LEN],
    /// Its seq in that mailbox.
    pub seq: u64,
    /// The envelope as deposited.
    pub envelope: Vec<u8>,
}

impl Encode for Delivery {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::DELIVERY);
        w.bytes(&self.mailbox);
        w.u64(self.seq);
        w.opaque_u32(&self.envelope);
    }
}

impl Decode for Delivery {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::DELIVERY)?;
        Ok(Self {
            mailbox: r.array()?,
            seq: r.u64()?,
            envelope: r.vec_u32(MAX_DEPOSIT_LEN, "delivery.envelope")?,
        })
    }
}

/// Register as discoverable (spec §12.7): the owner's capability and a §9 registration.
///
/// ```text
/// 0x01 || 0x2E || capability [32] || registration (0x01 0x13 ...)
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct RegisterRequest {
    /// The read capability of the owner's public mailbox (registrations are deleted with it).
    pub capability: ReadCapability,
    /// The registration.
    pub registration: Registration,
}

impl Encode for RegisterRequest {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::REGISTER_REQUEST);
        w.bytes(&self.capability.to_bytes());
        self.registration.encode(w);
    }
}

impl Decode for RegisterRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::REGISTER_REQUEST)?;
        Ok(Self {
            capability: read_capability(r)?,
            registration: Registration::decode(r)?,
        })
    }
}

/// A refusal (spec §12.10): the stable code of `spec/errors.md` (a protocol error the relay's
/// checks raised, or a relay refusal in the 8xx range).
///
/// ```text
/// 0x01 || 0x2F || code (u16)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The error's code.
    pub code: u16,
}

impl ErrorResponse {
    /// The refusal of `error`.
    #[must_use]
    pub fn of(error: &Error) -> Self {
        Self { code: error.code() }
    }

    /// The registry name of the code, if the code is registered.
    #[must_use]
    pub fn name(&self) -> Option<&'static str> {
        Error::REGISTRY
            .iter()
            .find(|(c, _)| *c == self.code)
            .map(|(_, n)| *n)
    }
}

impl Encode for ErrorResponse {
    fn encode(&self, w: &mut Writer) {
        write_header(w, MessageType::ERROR_RESPONSE);
        w.u16(self.code);
    }
}

impl Decode for ErrorResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::ERROR_RESPONSE)?;
        Ok(Self { code: r.u16()? })
    }
}
