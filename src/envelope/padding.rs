//! Length padding of the sealed-sender content (spec §8.4): Padmé with a 256-byte floor,
//! and an ISO/IEC 7816-4 marker (`0x80` then zeros) so unpadding is unambiguous.
//!
//! For an unpadded length `n`, the padded length is
//!
//! ```text
//! P(n) = max(MIN_PADDED_LEN, padme(n + 1))         (the + 1 is the 0x80 marker)
//! padme(L) = L rounded up to a multiple of 2^(E - S), E = floor(log2 L), S = floor(log2 E) + 1
//! ```
//!
//! Every length in `(2^E, 2^(E+1)]` (for `2^E >= 256`) maps to one of at most 16 (32 above
//! 64 KiB) padded lengths, so the padded length reveals at most 4 (5) bits beyond the
//! power-of-two range, and the overhead is at most 1/16 (6.25 %). See spec §8.4 for the
//! leak table. Pure arithmetic: no keys, no crypto.

use crate::envelope::wire::{MAX_ENVELOPE_INNER_LEN, SEALED_SENDER_OVERHEAD};
use crate::Error;
use alloc::vec::Vec;
use zeroize::Zeroizing;

/// The smallest padded length: every content up to 255 bytes pads to 256. Chosen so that
/// every short text message (and every receipt or typing notification) falls into one
/// class; a ratchet message with a one-line text is about 150 bytes.
pub const MIN_PADDED_LEN: usize = 256;

/// The largest unpadded sealed-sender content: its fixed overhead (header, sender
/// identity, inner type, length prefix: 71 bytes) plus [`MAX_ENVELOPE_INNER_LEN`].
pub const MAX_UNPADDED_LEN: usize = SEALED_SENDER_OVERHEAD + MAX_ENVELOPE_INNER_LEN;

/// The largest padded content: `P(MAX_UNPADDED_LEN)` = 69632 (34 × 2048). Bounds the
/// AEAD plaintext of an envelope.
pub const MAX_PADDED_LEN: usize = padme(MAX_UNPADDED_LEN + 1);

/// The padding marker byte that ends the content.
const MARKER: u8 = 0x80;

/// Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
/// Communication with PURBs", PETS 2019, §4) for `l >= 2`; identity below that.
///
/// Callers pass `l <= MAX_UNPADDED_LEN + 1`, so no step can overflow.
const fn padme(l: usize) -> usize {
    if l < 2 {
        return l;
    }
    let e: u32 = usize::BITS - 1 - l.leading_zeros();
    let s: u32 = u32::BITS - e.leading_zeros(); // floor(log2 e) + 1
    let last_bits = e - s;
    let mask: usize = (1usize << last_bits) - 1;
    (l + mask) & !mask
}

/// The padded length of a content of `n` bytes, `P(n)` (spec §8.4), or `None` if `n`
/// exceeds [`MAX_UNPADDED_LEN`].
#[must_use]
pub const fn padded_len(n: usize) -> Option<usize> {
    if n > MAX_UNPADDED_LEN {
        return None;
    }
    let p = padme(n + 1);
    if p < MIN_PADDED_LEN {
        Some(MIN_PADDED_LEN)
    } else {
        Some(p)
    }
}

/// Whether `p` is a length [`padded_len`] can produce: the relay-side check on an
/// envelope's ciphertext length (spec §8.5), needing no key.
#[must_use]
pub const fn is_padded_len(p: usize) -> bool {
    p >= MIN_PADDED_LEN && p <= MAX_PADDED_LEN && (p == MIN_PADDED_LEN || padme(p) == p)
}

/// Pads `data` to `P(data.len())`: `data || 0x80 || 0x00*`.
///
/// # Errors
/// [`Error::MessageTooLarge`] if `data` is longer than [`MAX_UNPADDED_LEN`].
pub fn pad(data: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let target = padded_len(data.len()).ok_or(Error::MessageTooLarge)?;
    let mut out = Zeroizing::new(Vec::with_capacity(target));
    out.extend_from_slice(data);
    out.push(MARKER);
    out.resize(target, 0);
    Ok(out)
}

/// Strictly removes the padding: the length must be a padded length, the last non-zero
/// byte must be `0x80`, and the padding must be exactly what [`pad`] writes for the
/// remaining content (so every content has one padded form).
///
/// # Errors
/// [`Error::BadPadding`] otherwise.
pub fn unpad(padded: &[u8]) -> Result<&[u8], Error> {
    if !is_padded_len(padded.len()) {
        return Err(Error::BadPadding);
    }
    let marker_at = padded
        .iter()
        .rposition(|&b| b != 0)
        .ok_or(Error::BadPadding)?;
    let (content, tail) = padded
        .split_at_checked(marker_at)
        .ok_or(Error::BadPadding)?;
    if tail.first() != Some(&MARKER) || padded_len(content.len()) != Some(padded.len()) {
        return Err(Error::BadPadding);
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Padmé by a second route: find E and S by counting (no bit tricks), then round `l`
    /// up to the next multiple of 2^(E - S) by repeated addition of the step.
    fn padme_reference(l: usize) -> usize {
        let floor_log2 = |x: usize| {
            let mut e = 0;
            while (2usize.pow(e + 1)) <= x {
                e += 1;
            }
            e
        };
        let e = floor_log2(l);
        let s = floor_log2(e as usize) + 1;
        let step = 2usize.pow(e - s);
        let mut p = 0;
        while p < l {
            p += step;
        }
        p
    }

    #[test]
    fn limits_match_the_spec() {
        assert_eq!(MAX_UNPADDED_LEN, 68_679);
        assert_eq!(MAX_PADDED_LEN, 69_632);
        assert_eq!(MAX_PADDED_LEN, padme_reference(68_680));
        assert_eq!(padded_len(MAX_UNPADDED_LEN), Some(MAX_PADDED_LEN));
        assert_eq!(padded_len(MAX_UNPADDED_LEN + 1), None);
    }

    #[test]
    fn spec_table_examples() {
        // spec §8.4 examples.
        for (n, p) in [
            (0, 256),
            (255, 256),
            (256, 272),
            (271, 272),
            (272, 288),
            (511, 512),
            (512, 544),
            (1000, 1024),
            (1024, 1088),
            (4096, 4352),
            (16_384, 17_408),
            (65_535, 65_536),
            (65_536, 67_584),
        ] {
            assert_eq!(padded_len(n), Some(p), "n = {n}");
        }
    }

    #[test]
    fn number_of_classes_per_octave() {
        // The leak table: at most 16 padded lengths per (2^E, 2^(E+1)] for E in 8..=15,
        // and 1 class up to 256.
        let mut classes: Vec<usize> = (0..=MAX_UNPADDED_LEN)
            .map(|n| padded_len(n).unwrap())
            .collect();
        classes.dedup();
        assert_eq!(classes.first(), Some(&256));
        for e in 8..16 {
            let lo = 1usize << e;
            let count = classes.iter().filter(|&&p| p > lo && p <= 2 * lo).count();
            assert_eq!(count, 16, "octave 2^{e}");
        }
        let top = classes.iter().filter(|&&p| p > 65_536).count();
        assert_eq!(top, 2);
        assert_eq!(classes.len(), 1 + 16 * 8 + 2);
        assert!(classes.iter().all(|&p| is_padded_len(p)));
        // Every padded length's overhead is at most 1/16 of the content above the floor.
        for n in 256..=MAX_UNPADDED_LEN {
            let p = padded_len(n).unwrap();
            assert!((p - n - 1) * 16 <= n + 1, "n = {n}, p = {p}");
        }
    }

    #[test]
    fn bad_padding_is_rejected() {
        let good = pad(b"hello").unwrap();
        assert_eq!(unpad(&good).unwrap(), b"hello");
        // No marker at all.
        assert_eq!(unpad(&[0u8; 256]), Err(Error::BadPadding));
        // Last non-zero byte is not the marker.
        let mut t = good.to_vec();
        t[100] = 1;
        assert_eq!(unpad(&t), Err(Error::BadPadding));
        // Not a padded length.
        assert_eq!(unpad(&good[..255]), Err(Error::BadPadding));
        let mut t = good.to_vec();
        t.push(0);
        assert_eq!(unpad(&t), Err(Error::BadPadding));
        // Non-minimal: 5 bytes of content padded to 272 instead of 256.
        let mut t = b"hello".to_vec();
        t.push(0x80);
        t.resize(272, 0);
        assert_eq!(unpad(&t), Err(Error::BadPadding));
        // Too large.
        assert_eq!(
            pad(&vec![0u8; MAX_UNPADDED_LEN + 1]).unwrap_err(),
            Error::MessageTooLarge
        );
        assert_eq!(
            pad(&vec![7u8; MAX_UNPADDED_LEN]).unwrap().len(),
            MAX_PADDED_LEN
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn pad_unpad_round_trip(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let padded = pad(&data).unwrap();
            prop_assert_eq!(padded.len(), padded_len(data.len()).unwrap());
            prop_assert!(is_padded_len(padded.len()));
            prop_assert_eq!(unpad(&padded).unwrap(), &data[..]);
        }

        #[test]
        fn padded_len_is_monotonic_and_matches_reference(n in 0usize..MAX_UNPADDED_LEN) {
            let p = padded_len(n).unwrap();
            let q = padded_len(n + 1).unwrap();
            prop_assert!(p > n && q >= p);
            prop_assert_eq!(p, padme_reference(n + 1).max(256));
            // Idempotent: a padded length is its own class.
            prop_assert!(is_padded_len(p));
        }

        #[test]
        fn unpad_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = unpad(&data);
        }
    }
}
