//! Contact identifiers (spec §9.4): Argon2id v1.3 with m = 19 456 KiB, t = 2, p = 1, a
//! 16-byte salt, a 32-byte output and no secret or associated data, which is exactly what
//! libsodium's `crypto_pwhash(..., ALG_ARGON2ID13)` computes.

use super::identifier::{PhoneNumber, KIND_E164};
use super::salt::ContactSalt;
use crate::Error;
use alloc::vec;
use alloc::vec::Vec;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use core::fmt;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Prefix of the Argon2id password (spec §9.4).
pub(crate) const CONTACT_ID_LABEL: &[u8] = b"blindrelay v1 contact id";

/// Argon2id memory cost of suite `ch1` in KiB (spec §9.4): the OWASP minimum.
pub const ARGON2_M_COST_KIB: u32 = 19_456;
/// Argon2id passes of suite `ch1` (spec §9.4).
pub const ARGON2_T_COST: u32 = 2;
/// Argon2id lanes of suite `ch1` (spec §9.4): one, as libsodium always uses.
pub const ARGON2_P_COST: u32 = 1;
/// Length of a contact id in bytes (spec §9.4).
pub const CONTACT_ID_LEN: usize = 32;

/// The Argon2id password of an identifier (spec §9.4):
/// `CONTACT_ID_LABEL || 0x00 || kind || len || canonical bytes`, with `kind` =
/// [`KIND_E164`] and `len` the byte length of the canonical string (2..=16).
#[must_use]
pub fn password(number: &PhoneNumber) -> Zeroizing<Vec<u8>> {
    let bytes = number.as_bytes();
    let mut p = Zeroizing::new(Vec::with_capacity(CONTACT_ID_LABEL.len() + 3 + bytes.len()));
    p.extend_from_slice(CONTACT_ID_LABEL);
    p.push(0x00);
    p.push(KIND_E164);
    // A canonical number is at most 16 bytes, so the length always fits a byte.
    p.push(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
    p.extend_from_slice(bytes);
    p
}

/// A contact identifier: the 32-byte Argon2id output for one number under one relay's
/// salt (spec §9.4). It is a pseudonym, not a secret (anyone with the salt can test a
/// guessed number), but it is still personal data, so it is zeroized on drop, compared in
/// constant time and redacted in `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ContactId([u8; CONTACT_ID_LEN]);

impl ContactId {
    /// Wraps 32 bytes received from elsewhere (a registration, a test vector).
    #[must_use]
    pub fn from_bytes(bytes: [u8; CONTACT_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; CONTACT_ID_LEN] {
        &self.0
    }
}

impl ConstantTimeEq for ContactId {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for ContactId {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for ContactId {}

impl fmt::Debug for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self(_) = self;
        f.debug_struct("ContactId").finish_non_exhaustive()
    }
}

/// The `ch1` Argon2id parameters.
fn ch1_params() -> Result<Params, Error> {
    Params::new(
        ARGON2_M_COST_KIB,
        ARGON2_T_COST,
        ARGON2_P_COST,
        Some(CONTACT_ID_LEN),
    )
    .map_err(|_| Error::ApiMisuse {
        reason: "argon2 rejected the ch1 parameters",
    })
}

/// Computes contact ids under one salt, reusing one 19 MiB Argon2 working buffer across
/// contacts (spec §9.4): hashing an address book allocates once, not once per contact.
/// The buffer is zeroized on drop (each hash overwrites every block of the previous one).
pub struct ContactHasher {
    salt: ContactSalt,
    argon2: Argon2<'static>,
    memory: Vec<Block>,
}

impl ContactHasher {
    /// A hasher for `salt` (suite `ch1`). Allocates the 19 MiB buffer.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] only if the Argon2 dependency rejects the fixed `ch1`
    /// parameters, which the RFC 9106 pin test rules out.
    pub fn new(salt: ContactSalt) -> Result<Self, Error> {
        let params = ch1_params()?;
        let blocks = params.block_count();
        Ok(Self {
            salt,
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            memory: vec![Block::default(); blocks],
        })
    }

    /// The salt this hasher uses.
    #[must_use]
    pub fn salt(&self) -> &ContactSalt {
        &self.salt
    }

    /// The contact id of `number` (spec §9.4).
    ///
    /// # Errors
    /// As [`ContactHasher::new`].
    pub fn contact_id(&mut self, number: &PhoneNumber) -> Result<ContactId, Error> {
        let pwd = password(number);
        Ok(ContactId(self.hash_password(&pwd)?))
    }

    /// Argon2id with the `ch1` parameters over an arbitrary password under this salt (the
    /// primitive of spec §9.4, for the worked-example cross-check).
    pub(crate) fn hash_password(&mut self, pwd: &[u8]) -> Result<[u8; CONTACT_ID_LEN], Error> {
        let mut out = [0u8; CONTACT_ID_LEN];
        self.argon2
            .hash_password_into_with_memory(pwd, &self.salt.0, &mut out, &mut self.memory)
            .map_err(|_| Error::ApiMisuse {
                reason: "argon2 rejected the ch1 inputs",
            })?;
        Ok(out)
    }
}

impl Drop for ContactHasher {
    fn drop(&mut self) {
        self.memory.iter_mut().for_each(Zeroize::zeroize);
    }
}

impl fmt::Debug for ContactHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            salt,
            argon2: _,
            memory: _,
        } = self;
        f.debug_struct("ContactHasher")
            .field("salt", salt)
            .finish_non_exhaustive()
    }
}

/// The contact id of one number (allocates a fresh buffer; use [`ContactHasher`] for many).
///
/// # Errors
/// As [`ContactHasher::new`].
pub fn contact_id(salt: ContactSalt, number: &PhoneNumber) -> Result<ContactId, Error> {
    ContactHasher::new(salt)?.contact_id(number)
}
