//! Canonical contact identifiers (spec §9.2): the strict E.164 parser that defines the only
//! bytes ever hashed, and a separate, non-normative helper that cleans up what users type.

use crate::Error;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The most digits an E.164 number has (ITU-T E.164 §6.1): the canonical form is `+`
/// followed by 1 to `MAX_E164_DIGITS` digits (spec §9.2).
pub const MAX_E164_DIGITS: usize = 15;

/// Length of the longest canonical identifier in bytes: `+` and 15 digits.
const MAX_CANONICAL_LEN: usize = MAX_E164_DIGITS + 1;

/// The identifier kind byte of an E.164 phone number in the hash password (spec §9.4).
/// Kinds `0x02..` are reserved for usernames or e-mail addresses in a later suite.
pub const KIND_E164: u8 = 0x01;

/// Characters that introduce an extension, a pause or a wait (spec §9.2, rule 4). They are
/// rejected, never stripped: stripping would map a PBX extension onto the switchboard.
const EXTENSION_MARKERS: &[u8] = b";,#xXpPwW";

/// A phone number in canonical E.164 form: the ASCII string `+` then 1 to 15 digits, the
/// first of which is 1 to 9 (spec §9.2). The only way to build one is
/// [`PhoneNumber::parse_canonical`] (or the helpers [`normalize_lenient`] and, with feature
/// `phonenumber`, `PhoneNumber::parse_with_region`, which end in it), so every value holds
/// exactly the bytes that are hashed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "alloc::string::String", into = "alloc::string::String")
)]
pub struct PhoneNumber {
    bytes: [u8; MAX_CANONICAL_LEN],
    len: u8,
}

impl TryFrom<alloc::string::String> for PhoneNumber {
    type Error = Error;
    fn try_from(s: alloc::string::String) -> Result<Self, Error> {
        Self::parse_canonical(&s)
    }
}

impl From<PhoneNumber> for alloc::string::String {
    fn from(n: PhoneNumber) -> Self {
        n.as_str().into()
    }
}

impl PhoneNumber {
    /// Parses the canonical form, and nothing else (spec §9.2). The checks run in the
    /// order the spec gives, so each malformed input has one stable error.
    ///
    /// # Errors
    /// [`Error::IdentifierEmpty`] (600), [`Error::IdentifierNonAscii`] (605),
    /// [`Error::IdentifierExtension`] (606), [`Error::IdentifierMissingPlus`] (601),
    /// [`Error::IdentifierNoDigits`] (607), [`Error::IdentifierNonDigit`] (604),
    /// [`Error::IdentifierLeadingZero`] (602), [`Error::IdentifierTooLong`] (603).
    pub fn parse_canonical(input: &str) -> Result<Self, Error> {
        let raw = input.as_bytes();
        if raw.is_empty() {
            return Err(Error::IdentifierEmpty);
        }
        if !raw.is_ascii() {
            return Err(Error::IdentifierNonAscii);
        }
        if raw.iter().any(|c| EXTENSION_MARKERS.contains(c)) {
            return Err(Error::IdentifierExtension);
        }
        let Some((&b'+', digits)) = raw.split_first() else {
            return Err(Error::IdentifierMissingPlus);
        };
        let Some(&first) = digits.first() else {
            return Err(Error::IdentifierNoDigits);
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(Error::IdentifierNonDigit);
        }
        if first == b'0' {
            return Err(Error::IdentifierLeadingZero);
        }
        if digits.len() > MAX_E164_DIGITS {
            return Err(Error::IdentifierTooLong);
        }
        let mut bytes = [0u8; MAX_CANONICAL_LEN];
        let dst = bytes.get_mut(..raw.len()).ok_or(Error::IdentifierTooLong)?;
        dst.copy_from_slice(raw);
        let len = u8::try_from(raw.len()).map_err(|_| Error::IdentifierTooLong)?;
        Ok(Self { bytes, len })
    }

    /// The canonical ASCII bytes (`+` and the digits), exactly what is hashed.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes
            .get(..usize::from(self.len))
            .unwrap_or(&self.bytes)
    }

    /// The canonical string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // The bytes were checked to be ASCII on construction.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl fmt::Debug for PhoneNumber {
    /// Redacted: a phone number is personal data and must not end up in logs. Only the
    /// digit count is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { bytes: _, len } = self;
        f.debug_struct("PhoneNumber")
            .field("len", len)
            .finish_non_exhaustive()
    }
}

/// Visual separators the helper removes (spec §9.2.1): space, no-break space, narrow
/// no-break space, thin space, hyphen-minus, the Unicode hyphens and dashes U+2010..U+2015,
/// full stop, parentheses and solidus.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{00A0}' | '\u{202F}' | '\u{2009}' | '-' | '\u{2010}'
            ..='\u{2015}' | '.' | '(' | ')' | '/'
    )
}

/// Maps a Unicode decimal digit from the supported blocks (spec §9.2.1) to ASCII.
pub(super) fn ascii_digit(c: char) -> Option<char> {
    let base = match c {
        '0'..='9' => return Some(c),
        '\u{FF10}'..='\u{FF19}' => 0xFF10,
        '\u{0660}'..='\u{0669}' => 0x0660,
        '\u{06F0}'..='\u{06F9}' => 0x06F0,
        _ => return None,
    };
    let offset = u32::from(c).checked_sub(base)?;
    char::from_digit(offset, 10)
}

/// The spaces allowed inside a trunk-zero group `( 0 )` (spec §9.2.1, step 2): U+0020
/// space, U+00A0 no-break space, U+202F narrow no-break space, U+2009 thin space.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{00A0}' | '\u{202F}' | '\u{2009}')
}

/// If `chars` starts with a trunk-zero group, `(`, optional spaces, `0`, optional spaces,
/// `)`, returns its length in characters.
fn trunk_zero_group(chars: &[char]) -> Option<usize> {
    let (&open, rest) = chars.split_first()?;
    if open != '(' {
        return None;
    }
    let lead = rest.iter().take_while(|&&c| is_space(c)).count();
    let rest = rest.get(lead..)?;
    let (&zero, rest) = rest.split_first()?;
    if zero != '0' {
        return None;
    }
    let trail = rest.iter().take_while(|&&c| is_space(c)).count();
    let rest = rest.get(trail..)?;
    let (&close, _) = rest.split_first()?;
    (close == ')').then_some(lead + trail + 3)
}

/// **Non-normative** clean-up of a number as a user typed it, for client convenience
/// (spec §9.2.1). In this order:
///
/// 1. Maps the full-width plus sign to `+` and full-width, Arabic-Indic and Extended
///    Arabic-Indic digits to ASCII.
/// 2. If the first character that is not a visual separator is `+`, removes every
///    trunk-zero group `(0)` (optionally with spaces inside, `( 0 )`): the convention
///    `+44 (0)20 7946 0000` marks a trunk `0` that is not dialled from abroad. Without a
///    leading `+` nothing is removed, and the strict parser rejects the number anyway
///    ([`Error::IdentifierMissingPlus`]).
/// 3. Removes visual separators.
/// 4. Runs the strict parser.
///
/// It never guesses a trunk prefix (`0`), an international call prefix (`00`, `011`) or a
/// country code: a number without `+` is rejected, not completed. A number that keeps its
/// `0` internationally (Italy, `+39 06 …`) but was written `+39 (0)6 …` loses that `0`:
/// the writer used the convention wrongly, and only metadata could tell (the
/// `phonenumber` feature's `PhoneNumber::parse_with_region`).
///
/// A difference between two clients' helpers only causes missed matches, never false
/// ones, because both sides hash the output of [`PhoneNumber::parse_canonical`].
///
/// # Errors
/// Any error of [`PhoneNumber::parse_canonical`] on the cleaned string.
pub fn normalize_lenient(input: &str) -> Result<PhoneNumber, Error> {
    let mapped: Vec<char> = input
        .chars()
        .map(|c| {
            if c == '\u{FF0B}' {
                '+'
            } else {
                ascii_digit(c).unwrap_or(c)
            }
        })
        .collect();
    let international = mapped.iter().find(|&&c| !is_separator(c)) == Some(&'+');
    let mut out = String::with_capacity(input.len().min(4 * MAX_CANONICAL_LEN));
    let mut rest = mapped.as_slice();
    while let Some((&c, tail)) = rest.split_first() {
        if international {
            if let Some(skip) = trunk_zero_group(rest) {
                rest = rest.get(skip..).unwrap_or_default();
                continue;
            }
        }
        if !is_separator(c) {
            out.push(c);
        }
        rest = tail;
    }
    PhoneNumber::parse_canonical(&out)
}
