//! A checked, zero-panic reader over a borrowed byte slice (spec §2.3).

use crate::Error;
use alloc::vec::Vec;

/// Reads fields from the front of a byte slice. Every read is checked; nothing is
/// allocated before a length has been checked against its maximum and the remaining input.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// How many bytes are left.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Takes the next `n` bytes.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than `n` bytes remain.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or(Error::Truncated)?;
        self.rest = tail;
        Ok(head)
    }

    /// Takes a fixed-size array.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than `N` bytes remain.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let head = self.bytes(N)?;
        <[u8; N]>::try_from(head).map_err(|_| Error::Truncated)
    }

    /// Reads one byte.
    ///
    /// # Errors
    /// [`Error::Truncated`] at end of input.
    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(u8::from_be_bytes(self.array::<1>()?))
    }

    /// Reads a big-endian `u16`.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than 2 bytes remain.
    pub fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array::<2>()?))
    }

    /// Reads a big-endian `u32`.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than 4 bytes remain.
    pub fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array::<4>()?))
    }

    /// Reads a big-endian `u64`.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than 8 bytes remain.
    pub fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array::<8>()?))
    }

    /// Reads a boolean encoded as exactly `0x00` or `0x01`.
    ///
    /// # Errors
    /// [`Error::Truncated`], or [`Error::InvalidEncoding`] for any other byte.
    pub fn bool(&mut self, field: &'static str) -> Result<bool, Error> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::InvalidEncoding { field }),
        }
    }

    /// Checks a length prefix against `max` and the remaining input, then takes that many
    /// bytes. The check happens before the caller allocates anything.
    fn checked(&mut self, len: usize, max: usize, field: &'static str) -> Result<&'a [u8], Error> {
        if len > max {
            return Err(Error::LengthOverMax { field });
        }
        if len > self.remaining() {
            return Err(Error::Truncated);
        }
        self.bytes(len)
    }

    /// Reads a `u16` length prefix and that many bytes, at most `max`.
    ///
    /// # Errors
    /// [`Error::LengthOverMax`] if the prefix exceeds `max`, [`Error::Truncated`] if the
    /// input is shorter than the prefix says.
    pub fn opaque_u16(&mut self, max: usize, field: &'static str) -> Result<&'a [u8], Error> {
        let len = usize::from(self.u16()?);
        self.checked(len, max, field)
    }

    /// Reads a `u32` length prefix and that many bytes, at most `max`.
    ///
    /// # Errors
    /// As [`Reader::opaque_u16`].
    pub fn opaque_u32(&mut self, max: usize, field: &'static str) -> Result<&'a [u8], Error> {
        let len = usize::try_from(self.u32()?).map_err(|_| Error::LengthOverMax { field })?;
        self.checked(len, max, field)
    }

    /// Reads a `u16` element count, checked against `max` and against the remaining input
    /// assuming each element takes at least `min_elem_len` bytes, and returns it. Callers
    /// may then allocate `Vec::with_capacity(count)` safely.
    ///
    /// # Errors
    /// [`Error::LengthOverMax`] or [`Error::Truncated`].
    pub fn count_u16(
        &mut self,
        max: usize,
        min_elem_len: usize,
        field: &'static str,
    ) -> Result<usize, Error> {
        let count = usize::from(self.u16()?);
        if count > max {
            return Err(Error::LengthOverMax { field });
        }
        let needed = count
            .checked_mul(min_elem_len)
            .ok_or(Error::LengthOverMax { field })?;
        if needed > self.remaining() {
            return Err(Error::Truncated);
        }
        Ok(count)
    }

    /// Reads a `u16` length prefix and returns a sub-reader over exactly that many bytes.
    ///
    /// # Errors
    /// As [`Reader::opaque_u16`].
    pub fn sub_u16(&mut self, max: usize, field: &'static str) -> Result<Reader<'a>, Error> {
        Ok(Reader::new(self.opaque_u16(max, field)?))
    }

    /// Reads a `u16`-prefixed byte string into an owned vector (allocation happens only
    /// after the length check).
    ///
    /// # Errors
    /// As [`Reader::opaque_u16`].
    pub fn vec_u16(&mut self, max: usize, field: &'static str) -> Result<Vec<u8>, Error> {
        Ok(self.opaque_u16(max, field)?.to_vec())
    }

    /// Reads a `u32`-prefixed byte string into an owned vector.
    ///
    /// # Errors
    /// As [`Reader::opaque_u32`].
    pub fn vec_u32(&mut self, max: usize, field: &'static str) -> Result<Vec<u8>, Error> {
        Ok(self.opaque_u32(max, field)?.to_vec())
    }

    /// Takes everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// Ends reading; any byte left over is an error.
    ///
    /// # Errors
    /// [`Error::TrailingBytes`] if input remains.
    pub fn finish(self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_checked() {
        let mut r = Reader::new(&[0, 1, 0, 0, 0, 2, 9]);
        assert_eq!(r.u16(), Ok(1));
        assert_eq!(r.u32(), Ok(2));
        assert_eq!(r.u16(), Err(Error::Truncated));
        assert_eq!(r.remaining(), 1, "a failed read consumes nothing");
        assert_eq!(r.u8(), Ok(9));
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn length_prefix_checked_before_allocation() {
        // A prefix larger than the maximum is LengthOverMax even when the input is short.
        let mut r = Reader::new(&[0xff, 0xff]);
        assert_eq!(r.vec_u16(10, "f"), Err(Error::LengthOverMax { field: "f" }));
        // A prefix within the maximum but beyond the input is Truncated.
        let mut r = Reader::new(&[0, 5, 1, 2]);
        assert_eq!(r.vec_u16(10, "f"), Err(Error::Truncated));
        let mut r = Reader::new(&[0, 0, 0, 2, 1, 2]);
        assert_eq!(r.vec_u32(2, "f"), Ok(vec![1, 2]));
        let mut r = Reader::new(&[0, 3, 1]);
        assert_eq!(r.count_u16(10, 2, "c"), Err(Error::Truncated));
        let mut r = Reader::new(&[0, 11]);
        assert_eq!(
            r.count_u16(10, 0, "c"),
            Err(Error::LengthOverMax { field: "c" })
        );
    }

    #[test]
    fn trailing_bytes_and_bools() {
        assert_eq!(Reader::new(&[1]).finish(), Err(Error::TrailingBytes));
        let mut r = Reader::new(&[0, 1, 2]);
        assert_eq!(r.bool("b"), Ok(false));
        assert_eq!(r.bool("b"), Ok(true));
        assert_eq!(r.bool("b"), Err(Error::InvalidEncoding { field: "b" }));
    }
}
