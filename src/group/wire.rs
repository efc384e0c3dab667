//! The group envelope and the commit request as plain bytes (spec §15.4, §15.6). Like
//! `crate::envelope`'s wire module it never touches a key: a relay parses with it alone.

use crate::codec::{read_header, write_header, MessageType, Reader, Writer};
use crate::envelope::{is_padded_len, MAILBOX_LEN, MAX_PADDED_LEN};
use crate::group::epoch::{CommitToken, COMMIT_TOKEN_LEN};
use crate::Error;
use alloc::vec::Vec;
use subtle::ConstantTimeEq;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Bytes in front of a group envelope's body length: header (2), mailbox (32), nonce (24).
/// They are the body's associated data.
pub(crate) const GROUP_ENVELOPE_AAD_LEN: usize = 2 + MAILBOX_LEN + NONCE_LEN;
/// Bytes of a group envelope around the padded content: the associated data (58), the
/// body length (4) and the tag (16). A group envelope is `P(n) + 78` bytes long.
pub const GROUP_ENVELOPE_OVERHEAD: usize = GROUP_ENVELOPE_AAD_LEN + 4 + TAG_LEN;
/// The largest group envelope body: the largest padded length plus the tag.
pub const MAX_GROUP_BODY_LEN: usize = MAX_PADDED_LEN + TAG_LEN;
/// The largest group envelope: 69710 bytes, below the relay's `MAX_DEPOSIT_LEN`.
pub const MAX_GROUP_ENVELOPE_LEN: usize = GROUP_ENVELOPE_OVERHEAD - TAG_LEN + MAX_GROUP_BODY_LEN;

const fn is_group_body_len(len: usize) -> bool {
    len >= TAG_LEN && is_padded_len(len - TAG_LEN)
}

/// A group envelope (spec §15.4, type `0x09`): one group message (application or commit,
/// told apart only inside) to one epoch's mailbox. The relay sees the mailbox and a padded
/// length class; the group, the epoch, the sender and the content type are inside the body.
///
/// ```text
/// +--------+------+--------------+------------+------------------+----------------------+
/// | ver=01 | 0x09 | mailbox (32) | nonce (24) | body length (u32)| body                 |
/// +--------+------+--------------+------------+------------------+----------------------+
/// body = XChaCha20-Poly1305(wrap, nonce, aad = the first 58 bytes, pad(blind message))
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEnvelope {
    mailbox: [u8; MAILBOX_LEN],
    nonce: [u8; NONCE_LEN],
    body: Vec<u8>,
}

impl GroupEnvelope {
    /// Builds a group envelope from its fields, with the checks of [`GroupEnvelope::parse`].
    ///
    /// # Errors
    /// [`Error::LengthOverMax`] or [`Error::InvalidEncoding`] for a body that is too long or
    /// not a padded length plus the tag.
    pub fn from_parts(
        mailbox: [u8; MAILBOX_LEN],
        nonce: [u8; NONCE_LEN],
        body: Vec<u8>,
    ) -> Result<Self, Error> {
        check_body_len(body.len())?;
        Ok(Self {
            mailbox,
            nonce,
            body,
        })
    }

    /// Parses a whole group envelope: version, type, mailbox, nonce, body length (over
    /// [`MAX_GROUP_BODY_LEN`]: [`Error::LengthOverMax`], checked before the input length;
    /// not a padded length plus 16: [`Error::InvalidEncoding`]), body, no trailing bytes.
    ///
    /// # Errors
    /// The 1xx decode errors above.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let envelope = Self::read(&mut r)?;
        r.finish()?;
        Ok(envelope)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_header(r, MessageType::GROUP_ENVELOPE)?;
        let mailbox = r.array()?;
        let nonce = r.array()?;
        let body = r.opaque_u32(MAX_GROUP_BODY_LEN, "group.body")?;
        check_body_len(body.len())?;
        Ok(Self {
            mailbox,
            nonce,
            body: body.to_vec(),
        })
    }

    /// The epoch mailbox the envelope is addressed to.
    #[must_use]
    pub fn mailbox(&self) -> &[u8; MAILBOX_LEN] {
        &self.mailbox
    }

    /// The body nonce.
    #[must_use]
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// The encrypted, padded body with its tag.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The encoded length, `P(n) + 78`.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        GROUP_ENVELOPE_AAD_LEN + 4 + self.body.len()
    }

    /// The canonical encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(self.encoded_len());
        self.write(&mut w);
        w.into_inner()
    }

    fn write(&self, w: &mut Writer) {
        write_header(w, MessageType::GROUP_ENVELOPE);
        w.bytes(&self.mailbox);
        w.bytes(&self.nonce);
        w.opaque_u32(&self.body);
    }

    /// The associated data of the body: the envelope's first 58 bytes.
    pub(crate) fn aad(
        mailbox: &[u8; MAILBOX_LEN],
        nonce: &[u8; NONCE_LEN],
    ) -> [u8; GROUP_ENVELOPE_AAD_LEN] {
        let mut aad = [0u8; GROUP_ENVELOPE_AAD_LEN];
        let mut w = Writer::with_capacity(GROUP_ENVELOPE_AAD_LEN);
        write_header(&mut w, MessageType::GROUP_ENVELOPE);
        w.bytes(mailbox);
        w.bytes(nonce);
        let bytes = w.into_inner();
        for (dst, src) in aad.iter_mut().zip(bytes.iter()) {
            *dst = *src;
        }
        aad
    }
}

fn check_body_len(len: usize) -> Result<(), Error> {
    if len > MAX_GROUP_BODY_LEN {
        return Err(Error::LengthOverMax {
            field: "group.body",
        });
    }
    if !is_group_body_len(len) {
        return Err(Error::InvalidEncoding {
            field: "group.body",
        });
    }
    Ok(())
}

/// A commit request (spec §15.6, type `0x31`): the commit-slot token of the epoch the
/// commit ends, then the commit's group envelope.
///
/// ```text
/// 0x01 || 0x31 || token [32] || group envelope (to the end)
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitRequest {
    token: CommitToken,
    envelope: GroupEnvelope,
}

impl CommitRequest {
    /// A commit request for `envelope`, which must be addressed to the token's mailbox.
    ///
    /// # Errors
    /// [`Error::WrongMailbox`] otherwise.
    pub fn new(token: CommitToken, envelope: GroupEnvelope) -> Result<Self, Error> {
        let request = Self { token, envelope };
        request.check()?;
        Ok(request)
    }

    /// Parses a commit request strictly: header, token, then a whole group envelope
    /// ([`GroupEnvelope::parse`]'s checks) and nothing after it. The mailbox is not checked
    /// here; [`CommitRequest::check`] does that.
    ///
    /// # Errors
    /// The 1xx decode errors.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        read_header(&mut r, MessageType::COMMIT_REQUEST)?;
        let token = CommitToken::from_bytes(r.array::<COMMIT_TOKEN_LEN>()?);
        let envelope = GroupEnvelope::read(&mut r)?;
        r.finish()?;
        Ok(Self { token, envelope })
    }

    /// The relay's check (spec §15.6): the envelope is addressed to the mailbox the token
    /// opens, `SHA-256("blindrelay v1 mailbox id" || SHA-256(GROUP_CAPABILITY_LABEL ||
    /// token))`, compared in constant time.
    ///
    /// # Errors
    /// [`Error::WrongMailbox`] if it is not.
    pub fn check(&self) -> Result<(), Error> {
        if bool::from(self.token.mailbox().ct_eq(self.envelope.mailbox())) {
            Ok(())
        } else {
            Err(Error::WrongMailbox)
        }
    }

    /// The token.
    #[must_use]
    pub fn token(&self) -> &CommitToken {
        &self.token
    }

    /// The commit's group envelope.
    #[must_use]
    pub fn envelope(&self) -> &GroupEnvelope {
        &self.envelope
    }

    /// The canonical encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(2 + COMMIT_TOKEN_LEN + self.envelope.encoded_len());
        write_header(&mut w, MessageType::COMMIT_REQUEST);
        w.bytes(&self.token.to_bytes());
        self.envelope.write(&mut w);
        w.into_inner()
    }
}
