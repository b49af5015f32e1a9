//! Where the applier reads the base and writes the result: the old and new model slots.
//! On a device both are flash regions (see the `storage` module); on a host, byte buffers.

use crate::error::Error;

/// The base model (the active slot): read at random offsets, never written.
pub trait BaseImage {
    /// Reads `buf.len()` bytes at `offset`. The applier only asks for bytes inside the base
    /// length stated in the bundle header.
    fn read_base(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error>;
}

/// The result being written (the inactive slot).
pub trait ResultImage {
    /// Writes `data` at `offset`. Calls come in increasing, contiguous offset order within one
    /// run of the applier; after a resume they restart at a chunk boundary, which is aligned to
    /// the bundle's chunk alignment. The implementation erases ahead as needed and pads the
    /// final partial write unit.
    fn write_result(&mut self, offset: u64, data: &[u8]) -> Result<(), Error>;

    /// Reads back `buf.len()` bytes at `offset`, all of which were passed to `write_result`
    /// earlier (the applier copies repeated content from the result written so far).
    fn read_result(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error>;
}

/// A base held in memory.
impl BaseImage for &[u8] {
    fn read_base(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let out_of_range = Error::BaseOutOfRange {
            offset,
            len: buf.len() as u64,
        };
        let start = usize::try_from(offset).map_err(|_| out_of_range)?;
        let end = start.checked_add(buf.len()).ok_or(out_of_range)?;
        buf.copy_from_slice(self.get(start..end).ok_or(out_of_range)?);
        Ok(())
    }
}

/// A result written into a caller-owned buffer of exactly the result length.
#[derive(Debug)]
pub struct SliceResult<'a> {
    buf: &'a mut [u8],
}

impl<'a> SliceResult<'a> {
    /// Wraps a buffer as long as the bundle's result.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf }
    }
}

impl ResultImage for SliceResult<'_> {
    fn write_result(&mut self, offset: u64, data: &[u8]) -> Result<(), Error> {
        let start = usize::try_from(offset).map_err(|_| Error::PayloadTooLong)?;
        let end = start.checked_add(data.len()).ok_or(Error::PayloadTooLong)?;
        self.buf
            .get_mut(start..end)
            .ok_or(Error::PayloadTooLong)?
            .copy_from_slice(data);
        Ok(())
    }

    fn read_result(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let bad = Error::CorruptPayload {
            offset,
            reason: "reference beyond the result",
        };
        let start = usize::try_from(offset).map_err(|_| bad)?;
        let end = start.checked_add(buf.len()).ok_or(bad)?;
        buf.copy_from_slice(self.buf.get(start..end).ok_or(bad)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_in_memory_refuses_reads_beyond_it() {
        let mut base: &[u8] = &[1, 2, 3, 4];
        let mut buf = [0; 2];
        base.read_base(2, &mut buf).unwrap();
        assert_eq!(buf, [3, 4]);
        for offset in [3, u64::MAX] {
            assert_eq!(
                base.read_base(offset, &mut buf),
                Err(Error::BaseOutOfRange { offset, len: 2 })
            );
        }
    }

    #[test]
    fn a_result_in_memory_refuses_writes_and_reads_beyond_it() {
        let mut out = [0u8; 4];
        let mut result = SliceResult::new(&mut out);
        result.write_result(2, &[7, 8]).unwrap();
        for offset in [3, u64::MAX] {
            assert_eq!(
                result.write_result(offset, &[9, 9]),
                Err(Error::PayloadTooLong)
            );
        }
        let mut buf = [0; 2];
        result.read_result(2, &mut buf).unwrap();
        assert_eq!(buf, [7, 8]);
        for offset in [3, u64::MAX] {
            assert!(matches!(
                result.read_result(offset, &mut buf),
                Err(Error::CorruptPayload {
                    reason: "reference beyond the result",
                    ..
                })
            ));
        }
    }
}
