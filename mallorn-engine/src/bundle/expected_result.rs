//! The self-check's result image: instead of holding the decoded result, it compares every
//! byte the decoder writes with the result the bundle was built from, and serves the decoder's
//! reads of earlier output (LZ copies) from that same result. A build's self-check thus costs
//! no memory beyond the decoder's work buffer, whatever the model size.

use mallorn_runtime::Error;
use mallorn_runtime::image::ResultImage;

/// A result image that must come out as `expected`.
pub(crate) struct ExpectedResult<'a> {
    expected: &'a [u8],
    written: u64,
    /// The decoder wrote a byte that differs from `expected` (reported as a decoder error).
    pub(crate) mismatch: bool,
}

impl<'a> ExpectedResult<'a> {
    /// A result image that must come out as `expected` from offset `written` on (0 for the
    /// whole result). The first `written` bytes are taken as written: a stream resumed there
    /// writes from `written` on and reads earlier output from `expected`.
    pub(crate) fn starting_at(expected: &'a [u8], written: u64) -> Self {
        Self {
            expected,
            written,
            mismatch: false,
        }
    }

    /// Bytes written (and matched) so far.
    pub(crate) fn len(&self) -> u64 {
        self.written
    }
}

impl ResultImage for ExpectedResult<'_> {
    fn write_result(&mut self, offset: u64, data: &[u8]) -> Result<(), Error> {
        if offset != self.written {
            return Err(Error::ResultWriteOutOfOrder {
                offset,
                expected: self.written,
            });
        }
        let end = offset.saturating_add(data.len() as u64);
        let matches = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(from, to)| self.expected.get(from..to))
            .is_some_and(|want| want == data);
        if !matches {
            self.mismatch = true;
            return Err(Error::ResultHashMismatch);
        }
        self.written = end;
        Ok(())
    }

    fn read_result(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let end = offset.saturating_add(buf.len() as u64);
        let source = (end <= self.written)
            .then(|| self.expected.get(offset as usize..end as usize))
            .flatten()
            .ok_or(Error::CorruptPayload {
                offset,
                reason: "reference beyond the result",
            })?;
        buf.copy_from_slice(source);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_bytes_pass_and_read_back_a_differing_byte_fails() {
        let expected = [1u8, 2, 3, 4, 5];
        let mut image = ExpectedResult::starting_at(&expected, 0);
        image.write_result(0, &[1, 2]).unwrap();
        let mut back = [0; 2];
        image.read_result(0, &mut back).unwrap();
        assert_eq!(back, [1, 2]);
        assert!(
            image.read_result(1, &mut back).is_err(),
            "read past the output"
        );
        assert_eq!(
            image.write_result(2, &[3, 9]),
            Err(Error::ResultHashMismatch)
        );
        assert!(image.mismatch);
        let mut past = ExpectedResult::starting_at(&expected, 0);
        assert_eq!(
            past.write_result(0, &[1, 2, 3, 4, 5, 6]),
            Err(Error::ResultHashMismatch)
        );
    }
}
