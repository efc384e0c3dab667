//! Region-aware parsing of what users type (feature `phonenumber`, spec §9.2.1): national
//! and international formats, read with libphonenumber's metadata through the
//! [`phonenumber`] crate, then checked by the strict parser of spec §9.2.
//!
//! Informative, like [`normalize_lenient`](super::normalize_lenient): the metadata
//! (release 9.0.33 in `phonenumber` 0.3.10+9.0.33) changes over time, so a result may
//! change with it. Two clients that disagree only miss a match; they never make a false
//! one, because both hash the strict parser's output.

use super::identifier::{ascii_digit, PhoneNumber};
use crate::Error;
use alloc::string::String;
use core::fmt::Write as _;
use core::str::FromStr;
use phonenumber::country;

/// The longest input, in bytes after digits are mapped to ASCII, that
/// [`PhoneNumber::parse_with_region`] hands to the metadata parser; longer input fails
/// with [`Error::IdentifierTooLong`] (spec §9.2.1). A number written with an
/// international prefix and separators fits in half of it; the cap bounds the work of
/// the third-party parser. Private so that the limits table of `spec/10-limits.md`
/// stays the protocol's.
const MAX_REGION_INPUT_LEN: usize = 64;

/// Characters rejected as extension, pause or wait markers before the metadata parser
/// runs: the strict parser's set (spec §9.2, step 3), so an extension is never stripped.
const EXTENSION_MARKERS: &[u8] = b";,#xXpPwW";

/// The metadata release the `phonenumber` dependency embeds (the build metadata of its
/// version, `0.3.10+9.0.33`).
pub const METADATA_VERSION: &str = "9.0.33";

impl PhoneNumber {
    /// Parses a number as a user typed it, in national or international format, with
    /// libphonenumber's metadata for `region` (spec §9.2.1), and returns its canonical
    /// form: exactly what [`PhoneNumber::parse_canonical`] returns for the E.164 string.
    ///
    /// `region` is the ISO 3166-1 alpha-2 code of the user's SIM or locale (`"DE"`,
    /// `"US"`, `"GB"`; ASCII letters, case-insensitive). It supplies the country code and
    /// trunk prefix of national-format input (`030 1234567` in `DE` is `+49301234567`) and
    /// is ignored for input that starts with `+`. The `(0)` convention (`+49 (0)30 …`)
    /// is handled by the metadata.
    ///
    /// Numbers the metadata *parses* but does not consider *valid* (unassigned ranges,
    /// fiction ranges such as Ofcom's `07700 900xxx`) are accepted: a harmless number
    /// nobody has is better than a missed match. Informative: results can change with
    /// the metadata release ([`METADATA_VERSION`]).
    ///
    /// # Errors
    /// In this order (spec §9.2.1):
    /// - [`Error::ApiMisuse`] (900): `region` is not a region the metadata knows.
    /// - [`Error::IdentifierEmpty`] (600): `input` is empty.
    /// - [`Error::IdentifierTooLong`] (603): `input` is longer than 64 bytes once its
    ///   full-width plus and Unicode digits are mapped to ASCII, or the result has more
    ///   than 15 digits.
    /// - [`Error::IdentifierExtension`] (606): `input` contains one of `;` `,` `#` `x`
    ///   `X` `p` `P` `w` `W`, or the metadata parser found an extension: extensions are
    ///   rejected, never stripped (spec §9.2).
    /// - [`Error::IdentifierNonDigit`] (604): `input` contains a letter. The metadata
    ///   parser would read it as a vanity digit (`abc` as `222`); vanity letters are
    ///   rejected, not converted (spec §9.2).
    /// - [`Error::IdentifierUnparsable`] (608): the metadata parser found no number.
    /// - Any other error of [`PhoneNumber::parse_canonical`] on the E.164 string.
    pub fn parse_with_region(input: &str, region: &str) -> Result<Self, Error> {
        let region = parse_region(region)?;
        if input.is_empty() {
            return Err(Error::IdentifierEmpty);
        }
        // The metadata parser reads neither full-width nor Arabic-Indic digits.
        let mut mapped = String::with_capacity(input.len().min(MAX_REGION_INPUT_LEN));
        for c in input.chars() {
            mapped.push(if c == '\u{FF0B}' {
                '+'
            } else {
                ascii_digit(c).unwrap_or(c)
            });
            if mapped.len() > MAX_REGION_INPUT_LEN {
                return Err(Error::IdentifierTooLong);
            }
        }
        if mapped.bytes().any(|c| EXTENSION_MARKERS.contains(&c)) {
            return Err(Error::IdentifierExtension);
        }
        // The metadata parser reads letters as vanity digits (`abc` is `222`), which would
        // turn a stray word into a wrong but valid number.
        if mapped.chars().any(char::is_alphabetic) {
            return Err(Error::IdentifierNonDigit);
        }
        let parsed =
            phonenumber::parse(Some(region), &mapped).map_err(|_| Error::IdentifierUnparsable)?;
        if parsed.extension().is_some() {
            return Err(Error::IdentifierExtension);
        }
        // E.164 written by hand: the crate's formatter fails (and `to_string` would panic)
        // for a country code without metadata.
        let mut e164 = String::with_capacity(24);
        write!(e164, "+{}{}", parsed.code().value(), parsed.national())
            .map_err(|_| Error::IdentifierUnparsable)?;
        Self::parse_canonical(&e164)
    }
}

/// The metadata's region for an ISO 3166-1 alpha-2 code (two ASCII letters, any case).
fn parse_region(region: &str) -> Result<country::Id, Error> {
    const UNKNOWN: Error = Error::ApiMisuse {
        reason: "region is not an ISO 3166-1 alpha-2 code the phone-number metadata knows",
    };
    let bytes = region.as_bytes();
    if bytes.len() != 2 || !bytes.iter().all(u8::is_ascii_alphabetic) {
        return Err(UNKNOWN);
    }
    let upper = region.to_ascii_uppercase();
    let id = country::Id::from_str(&upper).map_err(|_| UNKNOWN)?;
    if phonenumber::metadata::DATABASE.by_id(id.as_ref()).is_none() {
        return Err(UNKNOWN);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str, region: &str) -> Result<String, Error> {
        PhoneNumber::parse_with_region(input, region).map(|n| n.as_str().into())
    }

    /// The table of the research note (§3.2), measured with `phonenumber` 0.3.10+9.0.33.
    #[test]
    fn national_and_international_formats() {
        for (region, input, want) in [
            ("DE", "030 1234567", "+49301234567"),
            ("DE", "+49 (0)30 123-4567", "+49301234567"),
            ("IT", "06 1234 5678", "+390612345678"),
            ("IT", "+39 06 1234 5678", "+390612345678"),
            ("US", "(202) 555-0102", "+12025550102"),
            ("US", "(201) 555-0123", "+12015550123"),
            ("US", "+1 201 555 0123", "+12015550123"),
            ("FR", "06 12 34 56 78", "+33612345678"),
            ("CN", "138 0013 8000", "+8613800138000"),
            ("GB", "07700 900123", "+447700900123"),
            ("GB", "+44 (0)20 7946 0000", "+442079460000"),
            ("gb", "020 7946 0000", "+442079460000"),
            // The region is ignored for input with `+`.
            ("US", "+49 30 1234567", "+49301234567"),
            // An international prefix of the region.
            ("DE", "0044 20 7946 0000", "+442079460000"),
            ("US", "011 44 20 7946 0000", "+442079460000"),
            // Italy keeps its `0` even when the writer marked it as a trunk prefix.
            ("IT", "+39 (0)6 1234 5678", "+390612345678"),
            ("DE", "(0)30 1234567", "+49301234567"),
            // Digits the metadata parser does not read are mapped first.
            ("DE", "\u{FF10}\u{FF13}\u{FF10} 1234567", "+49301234567"),
            (
                "DE",
                "\u{0660}\u{0663}\u{0660} \u{0661}\u{0662}\u{0663}\u{0664}\u{0665}\u{0666}\u{0667}",
                "+49301234567",
            ),
            ("DE", "\u{FF0B}49 30 1234567", "+49301234567"),
            ("DE", "+49\u{00A0}30\u{2011}1234567", "+49301234567"),
        ] {
            assert_eq!(
                parse(input, region).as_deref(),
                Ok(want),
                "{region} {input:?}"
            );
        }
    }

    #[test]
    fn the_result_is_the_strict_parsers() {
        let n = PhoneNumber::parse_with_region("030 1234567", "DE").unwrap();
        assert_eq!(Ok(n), PhoneNumber::parse_canonical("+49301234567"));
        assert_eq!(Ok(n), crate::contact::normalize_lenient("+49 30 1234567"));
    }

    #[test]
    fn unknown_regions_are_misuse() {
        for region in ["ZZ", "", "D", "DEU", "001", "1A", "zz", "D\u{0130}"] {
            let e = PhoneNumber::parse_with_region("030 1234567", region).unwrap_err();
            assert_eq!(e.code(), 900, "{region:?}");
        }
    }

    #[test]
    fn inputs_that_are_not_numbers() {
        assert_eq!(parse("", "DE"), Err(Error::IdentifierEmpty));
        for input in ["+", " ", "()", "1", "-", "\u{FF0B}", "+999 1234567", "+1"] {
            assert_eq!(
                parse(input, "DE"),
                Err(Error::IdentifierUnparsable),
                "{input:?}"
            );
        }
        // Letters would be read as vanity digits: `030 1234567 abc` would be
        // `+49301234567222`.
        for input in [
            "abc",
            "hello",
            "030 1234567 abc",
            "Tel. 030 1234567",
            "1-800-CALL-ABC",
        ] {
            assert_eq!(
                parse(input, "US"),
                Err(Error::IdentifierNonDigit),
                "{input:?}"
            );
        }
        assert_eq!(
            parse("\u{FF21}\u{FF22}\u{FF23}", "DE"),
            Err(Error::IdentifierNonDigit)
        );
        assert_eq!(
            parse("030 1234567 доб", "DE"),
            Err(Error::IdentifierNonDigit)
        );
        let long = "1".repeat(MAX_REGION_INPUT_LEN + 1);
        assert_eq!(parse(&long, "DE"), Err(Error::IdentifierTooLong));
        let spaced = format!("030 1234567{}", " ".repeat(MAX_REGION_INPUT_LEN));
        assert_eq!(parse(&spaced, "DE"), Err(Error::IdentifierTooLong));
        // The cap counts mapped digits: 30 full-width digits (90 bytes) fit.
        let wide = "\u{FF11}".repeat(30);
        assert_eq!(parse(&wide, "DE"), Err(Error::IdentifierUnparsable));
        let fits = format!("030 1234567{}", " ".repeat(MAX_REGION_INPUT_LEN - 11));
        assert_eq!(parse(&fits, "DE").as_deref(), Ok("+49301234567"));
    }

    /// The spec (§9.2.1) and [`METADATA_VERSION`] name the metadata release: a `cargo
    /// update` to another one must update them too.
    #[test]
    fn the_locked_metadata_release_is_the_documented_one() {
        let lock = include_str!("../../Cargo.lock");
        let want = format!("name = \"phonenumber\"\nversion = \"0.3.10+{METADATA_VERSION}\"");
        assert!(lock.contains(&want), "Cargo.lock: {want:?} not found");
    }

    /// Extensions are rejected, never stripped (spec §9.2): stripping would match the
    /// switchboard.
    #[test]
    fn extensions_are_rejected() {
        for input in [
            "030 1234567;ext=12",
            "030 1234567 x12",
            "030 1234567 ext. 12",
            "030 1234567#12",
            "030 1234567,12",
            "030 1234567 p 12",
            "tel:+49-30-1234567;ext=12",
        ] {
            assert_eq!(
                parse(input, "DE"),
                Err(Error::IdentifierExtension),
                "{input:?}"
            );
        }
    }
}
