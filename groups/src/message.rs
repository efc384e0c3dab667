//! The blind MLS message and the group invite (spec §15.5, §15.8): strict codecs that never
//! panic, fuzzed (`fuzz/fuzz_targets/group_message.rs`).
//!
//! An MLS PrivateMessage (RFC 9420 §6.3) carries `group_id`, `epoch`, `content_type` and
//! `authenticated_data` in the clear. The blind profile removes the first two (a receiver
//! knows them: the envelope came from its epoch's mailbox and opened under its wrap key),
//! requires the fourth to be empty, and keeps the rest, all of which MLS already encrypts:
//!
//! ```text
//! blind message = content_type (u8: 1 application, 3 commit) || u8 len(sender data)
//!                 || encrypted_sender_data || ciphertext (to the end)
//! ```

use blindrelay::codec::{read_header, write_header, MessageType, Reader, Writer};
use blindrelay::Error;

/// MLS `ContentType` of an application message.
pub const CONTENT_APPLICATION: u8 = 1;
/// MLS `ContentType` of a commit. Proposals (2) are never sent alone in blind groups.
pub const CONTENT_COMMIT: u8 = 3;
/// `ProtocolVersion` mls10.
const MLS10: u16 = 1;
/// `WireFormat` mls_private_message.
const PRIVATE_MESSAGE: u16 = 2;
/// The largest welcome and the largest ratchet tree an invite carries (8 MiB each: a
/// 1 000-member group's Welcome is about 190 KB).
pub const MAX_INVITE_PART_LEN: usize = 8 << 20;

/// A parsed blind message (borrowing the input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlindMessage<'a> {
    /// 1 (application) or 3 (commit).
    pub content_type: u8,
    /// MLS `encrypted_sender_data`.
    pub sender_data: &'a [u8],
    /// MLS `ciphertext`.
    pub ciphertext: &'a [u8],
}

impl<'a> BlindMessage<'a> {
    /// Parses a blind message: a known content type ([`Error::InvalidEncoding`], field
    /// `group.content_type`), a sender-data length within the input ([`Error::Truncated`]),
    /// a non-empty ciphertext ([`Error::Truncated`]).
    ///
    /// # Errors
    /// As above.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let content_type = r.u8()?;
        if content_type != CONTENT_APPLICATION && content_type != CONTENT_COMMIT {
            return Err(Error::InvalidEncoding {
                field: "group.content_type",
            });
        }
        let n = usize::from(r.u8()?);
        let sender_data = r.bytes(n)?;
        let ciphertext = r.rest();
        if ciphertext.is_empty() {
            return Err(Error::Truncated);
        }
        Ok(Self {
            content_type,
            sender_data,
            ciphertext,
        })
    }

    /// The full MLS message this blind message stands for in the receiver's group and
    /// epoch (RFC 9420 §6, minimal variable-length integers, §2.1.2).
    ///
    /// # Errors
    /// [`Error::LengthOverMax`] if a field exceeds MLS's 2^30 - 1 bound.
    pub fn to_mls(&self, group_id: &[u8], epoch: u64) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(
            4 + 4
                + group_id.len()
                + 8
                + 1
                + 1
                + 4
                + self.sender_data.len()
                + 4
                + self.ciphertext.len(),
        );
        out.extend_from_slice(&MLS10.to_be_bytes());
        out.extend_from_slice(&PRIVATE_MESSAGE.to_be_bytes());
        put_vector(&mut out, group_id)?;
        out.extend_from_slice(&epoch.to_be_bytes());
        out.push(self.content_type);
        put_vector(&mut out, &[])?;
        put_vector(&mut out, self.sender_data)?;
        put_vector(&mut out, self.ciphertext)?;
        Ok(out)
    }
}

/// Turns an MLS PrivateMessage of `group_id` at `epoch` into its blind form: checks the
/// version, the wire format, the group id, the epoch, an empty `authenticated_data` and a
/// content type of 1 or 3 (anything else is [`Error::ApiMisuse`]: the caller's own MLS
/// layer produced it).
///
/// # Errors
/// As above, or the decode errors of a malformed message.
pub fn blind(mls: &[u8], group_id: &[u8], epoch: u64) -> Result<Vec<u8>, Error> {
    let misuse = |reason| Error::ApiMisuse { reason };
    let mut r = Reader::new(mls);
    if r.u16()? != MLS10 || r.u16()? != PRIVATE_MESSAGE {
        return Err(misuse("not an MLS 1.0 PrivateMessage"));
    }
    if get_vector(&mut r)? != group_id || r.u64()? != epoch {
        return Err(misuse("a PrivateMessage of another group or epoch"));
    }
    let content_type = r.u8()?;
    if content_type != CONTENT_APPLICATION && content_type != CONTENT_COMMIT {
        return Err(misuse("only application messages and commits are sent"));
    }
    if !get_vector(&mut r)?.is_empty() {
        return Err(misuse("authenticated_data must be empty"));
    }
    let sender_data = get_vector(&mut r)?;
    let ciphertext = get_vector(&mut r)?;
    r.finish()?;
    let n = u8::try_from(sender_data.len()).map_err(|_| misuse("sender data over 255 bytes"))?;
    let mut out = Vec::with_capacity(2 + sender_data.len() + ciphertext.len());
    out.push(content_type);
    out.push(n);
    out.extend_from_slice(sender_data);
    out.extend_from_slice(ciphertext);
    Ok(out)
}

/// Writes an MLS variable-length vector (RFC 9420 §2.1.2), minimally.
fn put_vector(out: &mut Vec<u8>, data: &[u8]) -> Result<(), Error> {
    let len = data.len();
    if len < 1 << 6 {
        out.push(u8::try_from(len).map_err(|_| Error::Truncated)?);
    } else if len < 1 << 14 {
        let v = u16::try_from(len).map_err(|_| Error::Truncated)? | 0x4000;
        out.extend_from_slice(&v.to_be_bytes());
    } else if len < 1 << 30 {
        let v = u32::try_from(len).map_err(|_| Error::Truncated)? | 0x8000_0000;
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        return Err(Error::LengthOverMax {
            field: "mls.vector",
        });
    }
    out.extend_from_slice(data);
    Ok(())
}

/// Reads an MLS variable-length vector, refusing the reserved prefix `0b11` and
/// non-minimal lengths ([`Error::InvalidEncoding`]).
fn get_vector<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], Error> {
    let first = r.u8()?;
    let bad = Error::InvalidEncoding {
        field: "mls.vector",
    };
    let len = match first >> 6 {
        0 => usize::from(first & 0x3f),
        1 => {
            let v = usize::from(first & 0x3f) << 8 | usize::from(r.u8()?);
            if v < 1 << 6 {
                return Err(bad);
            }
            v
        }
        2 => {
            let rest = r.bytes(3)?;
            let mut v = usize::from(first & 0x3f);
            for b in rest {
                v = v << 8 | usize::from(*b);
            }
            if v < 1 << 14 {
                return Err(bad);
            }
            v
        }
        _ => return Err(bad),
    };
    r.bytes(len)
}

/// A group invite (spec §15.8, type `0x0A`): the MLS Welcome and the ratchet tree a joiner
/// needs, sent by the committer inside an ordinary 1:1 session, never to the group.
///
/// ```text
/// 0x01 || 0x0A || u32 len || welcome (MLSMessage) || u32 len || ratchet tree
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invite {
    /// The MLS Welcome message.
    pub welcome: Vec<u8>,
    /// The exported ratchet tree.
    pub tree: Vec<u8>,
}

impl Invite {
    /// The canonical encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(10 + self.welcome.len() + self.tree.len());
        write_header(&mut w, MessageType::GROUP_INVITE);
        w.opaque_u32(&self.welcome);
        w.opaque_u32(&self.tree);
        w.into_inner()
    }

    /// Parses an invite strictly: header, two length-prefixed parts of at most
    /// [`MAX_INVITE_PART_LEN`] (checked before the input length), nothing after.
    ///
    /// # Errors
    /// The 1xx decode errors.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        read_header(&mut r, MessageType::GROUP_INVITE)?;
        let welcome = r
            .opaque_u32(MAX_INVITE_PART_LEN, "invite.welcome")?
            .to_vec();
        let tree = r.opaque_u32(MAX_INVITE_PART_LEN, "invite.tree")?.to_vec();
        r.finish()?;
        Ok(Self { welcome, tree })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_minimal_and_round_trip() {
        for len in [0usize, 1, 63, 64, 16383, 16384, 70000] {
            let data = vec![7u8; len];
            let mut out = Vec::new();
            put_vector(&mut out, &data).unwrap();
            let expected_prefix = if len < 64 {
                1
            } else if len < 16384 {
                2
            } else {
                4
            };
            assert_eq!(out.len(), len + expected_prefix);
            let mut r = Reader::new(&out);
            assert_eq!(get_vector(&mut r).unwrap(), &data[..]);
            r.finish().unwrap();
        }
        // Non-minimal: 5 written with two bytes.
        let mut r = Reader::new(&[0x40, 0x05, 1, 2, 3, 4, 5]);
        assert!(matches!(
            get_vector(&mut r),
            Err(Error::InvalidEncoding { .. })
        ));
        let mut r = Reader::new(&[0xC0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(matches!(
            get_vector(&mut r),
            Err(Error::InvalidEncoding { .. })
        ));
    }

    #[test]
    fn blind_and_back_is_the_identity() {
        let gid = [3u8; 32];
        let b = BlindMessage {
            content_type: CONTENT_COMMIT,
            sender_data: &[1; 28],
            ciphertext: &[2; 900],
        };
        let mls = b.to_mls(&gid, 42).unwrap();
        let blinded = blind(&mls, &gid, 42).unwrap();
        assert_eq!(BlindMessage::parse(&blinded).unwrap(), b);
        // Removed: version and wire format (4), group id (1 + 32), epoch (8), empty aad (1),
        // the two varints (1 + 2); added: the one-byte sender-data length.
        assert_eq!(mls.len() - blinded.len(), 4 + 33 + 8 + 1 + 1 + 2 - 1);
        assert!(blind(&mls, &gid, 43).is_err());
        assert!(blind(&mls, &[4u8; 32], 42).is_err());
        assert_eq!(
            BlindMessage::parse(&[2, 0, 1]),
            Err(Error::InvalidEncoding {
                field: "group.content_type"
            })
        );
        assert_eq!(BlindMessage::parse(&[1, 5, 1, 2]), Err(Error::Truncated));
        assert_eq!(BlindMessage::parse(&[1, 0]), Err(Error::Truncated));
    }

    #[test]
    fn invites_parse_strictly() {
        let inv = Invite {
            welcome: vec![1; 10],
            tree: vec![2; 20],
        };
        let bytes = inv.to_bytes();
        assert_eq!(Invite::parse(&bytes).unwrap(), inv);
        for cut in 0..bytes.len() {
            assert!(Invite::parse(&bytes[..cut]).is_err());
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(Invite::parse(&long), Err(Error::TrailingBytes));
        let mut over = vec![1, 0x0A];
        over.extend_from_slice(
            &u32::try_from(MAX_INVITE_PART_LEN + 1)
                .unwrap()
                .to_be_bytes(),
        );
        assert_eq!(
            Invite::parse(&over),
            Err(Error::LengthOverMax {
                field: "invite.welcome"
            })
        );
    }
}
