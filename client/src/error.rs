//! The client layer's error type.

use core::fmt;

/// Every way a client operation can fail.
///
/// Protocol failures keep the core's error (and so its stable code, `spec/errors.md`);
/// the other variants are this layer's own.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The core refused: a decode error, a failed authentication, an unknown prekey, ...
    Protocol(blindrelay::Error),
    /// The storage backend failed (I/O, constraint, corrupt row). The transaction was
    /// rolled back: nothing of the step was written.
    Storage(String),
    /// The peer's published identity is not the one this client trusted on first use.
    /// Nothing was sent. Compare safety numbers, then call
    /// [`Client::trust_new_identity`](crate::Client::trust_new_identity) to accept it.
    IdentityChanged {
        /// The application's address of the peer.
        address: String,
    },
    /// The store holds no local identity: create the client with
    /// [`Client::create`](crate::Client::create) first.
    NoIdentity,
    /// The bundle source has no bundle for this address.
    NoBundle {
        /// The address that was looked up.
        address: String,
    },
    /// The peer is not known to this client
    /// ([`Client::send_to`](crate::Client::send_to) by identity), or a new session must
    /// start and the peer has no address to fetch its bundle from.
    UnknownPeer,
    /// The client has no signed prekey yet:
    /// call [`Client::rotate_signed_prekey`](crate::Client::rotate_signed_prekey).
    NoSignedPrekey,
    /// A caller mistake (never caused by peer or relay input).
    ApiMisuse(&'static str),
}

impl Error {
    /// The core's stable numeric code for a [`Error::Protocol`] failure.
    #[must_use]
    pub fn protocol_code(&self) -> Option<u16> {
        match self {
            Self::Protocol(e) => Some(e.code()),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(e) => write!(f, "protocol: {e}"),
            Self::Storage(m) => write!(f, "storage: {m}"),
            Self::IdentityChanged { address } => {
                write!(f, "the identity of {address:?} changed since first use")
            }
            Self::NoIdentity => f.write_str("the store holds no local identity"),
            Self::NoBundle { address } => write!(f, "no bundle for {address:?}"),
            Self::NoSignedPrekey => f.write_str("no signed prekey: rotate first"),
            Self::UnknownPeer => f.write_str("unknown peer, or no address to reach it"),
            Self::ApiMisuse(m) => write!(f, "API misuse: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<blindrelay::Error> for Error {
    fn from(e: blindrelay::Error) -> Self {
        Self::Protocol(e)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Self::Storage(e.to_string())
    }
}
