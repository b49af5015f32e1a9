//! The codecs' view of the result being built: an output buffer carved from the work buffer,
//! flushed to the result image when full, and random-access reads of the base and of the
//! result written so far. Every write is bounded by the current chunk's declared output.

use crate::cast::usize_min;
use crate::error::Error;
use crate::image::{BaseImage, ResultImage};

/// Output state shared by all codecs while one chunk decodes.
pub(crate) struct Output<'b> {
    /// Result offset of `buf[0]`.
    pub(crate) buf_start: u64,
    /// Bytes of `buf` filled.
    pub(crate) filled: usize,
    pub(crate) buf: &'b mut [u8],
    /// Bytes the current chunk may still produce.
    pub(crate) chunk_left: u64,
    /// Base length from the header: reads beyond it are refused.
    pub(crate) base_len: u64,
}

/// Output plus the two images, handed to a codec for one decode call.
pub(crate) struct Io<'o, 'b, B, R> {
    pub(crate) out: &'o mut Output<'b>,
    pub(crate) base: &'o mut B,
    pub(crate) result: &'o mut R,
}

impl<B: BaseImage, R: ResultImage> Io<'_, '_, B, R> {
    /// Result offset of the next byte to be produced.
    #[inline]
    pub(crate) fn position(&self) -> u64 {
        self.out.buf_start + self.out.filled as u64
    }

    /// Length of the base.
    #[inline]
    pub(crate) fn base_len(&self) -> u64 {
        self.out.base_len
    }

    /// Bytes the current chunk may still produce.
    #[inline]
    pub(crate) fn chunk_left(&self) -> u64 {
        self.out.chunk_left
    }

    #[inline]
    fn reserve(&mut self, len: u64, at: u64) -> Result<(), Error> {
        if len > self.out.chunk_left {
            return Err(Error::CorruptPayload {
                offset: at,
                reason: "operation overruns its chunk",
            });
        }
        self.out.chunk_left -= len;
        Ok(())
    }

    /// Free space in the output buffer, flushing it first if it is full.
    #[inline]
    fn space(&mut self) -> Result<&mut [u8], Error> {
        if self.out.filled == self.out.buf.len() {
            self.flush()?;
        }
        Ok(&mut self.out.buf[self.out.filled..])
    }

    /// Writes the buffered bytes to the result image.
    pub(crate) fn flush(&mut self) -> Result<(), Error> {
        let data = &self.out.buf[..self.out.filled];
        if !data.is_empty() {
            self.result.write_result(self.out.buf_start, data)?;
        }
        self.out.buf_start += self.out.filled as u64;
        self.out.filled = 0;
        Ok(())
    }

    /// Appends the low `size` bytes of `value`, little-endian (the typed codecs' common case:
    /// straight into the output buffer when it has room).
    #[inline(always)]
    // Stores the low `size` bytes of `value`: dropping the high ones is the point.
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn push_value(&mut self, value: u64, size: usize, at: u64) -> Result<(), Error> {
        let filled = self.out.filled;
        if filled + size <= self.out.buf.len() && size as u64 <= self.out.chunk_left {
            let out = &mut self.out.buf[filled..];
            // Fixed-size stores: a variable-length copy would call `memcpy` per value.
            match size {
                1 => out[0] = value as u8,
                2 => out[..2].copy_from_slice(&(value as u16).to_le_bytes()),
                4 => out[..4].copy_from_slice(&(value as u32).to_le_bytes()),
                _ => out[..8].copy_from_slice(&value.to_le_bytes()),
            }
            self.out.filled += size;
            self.out.chunk_left -= size as u64;
            return Ok(());
        }
        self.push_slice(&value.to_le_bytes()[..size], at)
    }

    /// Appends bytes.
    pub(crate) fn push_slice(&mut self, mut data: &[u8], at: u64) -> Result<(), Error> {
        self.reserve(data.len() as u64, at)?;
        while !data.is_empty() {
            let space = self.space()?;
            let n = space.len().min(data.len());
            space[..n].copy_from_slice(&data[..n]);
            self.out.filled += n;
            data = &data[n..];
        }
        Ok(())
    }

    /// Reads base bytes, refusing ranges outside the declared base.
    pub(crate) fn read_base(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let len = buf.len() as u64;
        match offset.checked_add(len) {
            Some(end) if end <= self.out.base_len => self.base.read_base(offset, buf),
            _ => Err(Error::BaseOutOfRange { offset, len }),
        }
    }

    /// Appends `len` bytes copied from the base at `offset`.
    pub(crate) fn copy_base(&mut self, offset: u64, len: u64, at: u64) -> Result<(), Error> {
        match offset.checked_add(len) {
            Some(end) if end <= self.out.base_len => {}
            _ => return Err(Error::BaseOutOfRange { offset, len }),
        }
        self.reserve(len, at)?;
        let mut done = 0u64;
        while done < len {
            // Bounded in u64 first: `(len - done) as usize` would be 0 on a 32-bit target
            // for a length of 2^32 and the loop would never end.
            let n = usize_min(len - done, self.space()?.len());
            let filled = self.out.filled;
            self.base
                .read_base(offset + done, &mut self.out.buf[filled..filled + n])?;
            self.out.filled += n;
            done += n as u64;
        }
        Ok(())
    }

    /// Reads result bytes written earlier (from the buffer or the result image).
    pub(crate) fn read_result(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let len = buf.len() as u64;
        let end = offset.checked_add(len);
        if end.is_none_or(|end| end > self.position()) {
            return Err(Error::CorruptPayload {
                offset,
                reason: "reference beyond the result written so far",
            });
        }
        if offset >= self.out.buf_start {
            // `offset + len <= position`: the range is in the buffer's filled part.
            let start = usize_min(offset - self.out.buf_start, self.out.filled);
            buf.copy_from_slice(&self.out.buf[start..start + buf.len()]);
            return Ok(());
        }
        let in_image = usize_min(self.out.buf_start - offset, buf.len());
        self.result.read_result(offset, &mut buf[..in_image])?;
        let rest = &mut buf[in_image..];
        rest.copy_from_slice(&self.out.buf[..rest.len()]);
        Ok(())
    }

    /// Appends `len` bytes copied from the result at `offset` (< position). The ranges may
    /// overlap: bytes are copied front to back, so a short distance repeats a pattern.
    pub(crate) fn copy_result(&mut self, offset: u64, len: u64, at: u64) -> Result<(), Error> {
        if offset >= self.position() {
            return Err(Error::CorruptPayload {
                offset: at,
                reason: "copy from the result's future",
            });
        }
        self.reserve(len, at)?;
        let distance = self.position() - offset;
        let mut done = 0u64;
        while done < len {
            let src = offset + done;
            // Never read past what is written: at most `distance` bytes per step.
            let step = (len - done).min(distance);
            if src >= self.out.buf_start {
                // `src < position`: within the buffer's filled part.
                let start = usize_min(src - self.out.buf_start, self.out.filled);
                let n = usize_min(step, self.out.buf.len() - self.out.filled);
                if n == 0 {
                    self.flush()?;
                    continue;
                }
                // `start + n <= filled` (each step copies at most `distance` bytes, which
                // were written before it): the ranges never overlap, so this is a plain copy
                // and the firmware links no `memmove`.
                let (written, free) = self.out.buf.split_at_mut(self.out.filled);
                free[..n].copy_from_slice(&written[start..start + n]);
                self.out.filled += n;
                done += n as u64;
            } else {
                let space_len = self.space()?.len();
                let n = usize_min(step.min(self.out.buf_start - src), space_len);
                let filled = self.out.filled;
                // Read from the image straight into the buffer's free space.
                self.result
                    .read_result(src, &mut self.out.buf[filled..filled + n])?;
                self.out.filled += n;
                done += n as u64;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::apply::testing::{chunk, forged, run};
    use crate::error::Error;

    #[test]
    fn a_copy_from_beyond_the_base_is_refused() {
        // Fast codec: copy 10 base bytes from offset 0 (delta 0) of a 5-byte base, in a slot
        // that holds more than the base (as a flash slot does).
        let plain = chunk(10, 1, &[0x24, 0x00]);
        let slot = [7u8; 10];
        let (header, wire) = forged(&plain, &slot[..5], 10);
        assert_eq!(
            run(&header, &wire, &slot),
            Err(Error::BaseOutOfRange { offset: 0, len: 10 })
        );
        let (header, wire) = forged(&plain, &slot, 10);
        assert_eq!(run(&header, &wire, &slot).unwrap(), [7; 10]);
    }
}
