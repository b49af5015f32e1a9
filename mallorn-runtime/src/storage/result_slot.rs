//! The result image as the applier sees it on a device: the inactive slot, written front to
//! back. Each erase block is erased just before the first write into it; output that does not
//! fill a write unit waits in a one-unit buffer; [`FlashResult::sync`] pads the final partial
//! unit with 0xFF and programs it. Every program is read back. Reads serve both what is on
//! flash and what still waits.

use core::cell::RefCell;

use embedded_storage::nor_flash::NorFlash;

use crate::cast::usize_min;
use crate::error::Error;
use crate::image::ResultImage;
use crate::storage::flash_io;
use crate::storage::layout::{FlashGeometry, MAX_WRITE_SIZE, Region};

/// Writes a result into a slot region.
#[derive(Debug)]
pub struct FlashResult<'a, F> {
    flash: &'a RefCell<F>,
    region: Region,
    /// Program unit.
    write_size: usize,
    /// Erase block.
    erase_size: u64,
    /// Slot bytes below this offset are erased in this run (erase-block aligned).
    erased_until: u64,
    /// Result bytes on flash (write-unit aligned unless `sealed`).
    flushed: u64,
    /// Bytes after `flushed` that wait for a whole write unit.
    tail: [u8; MAX_WRITE_SIZE],
    tail_len: usize,
    /// The final partial unit was padded and programmed: nothing more may be written.
    sealed: bool,
}

/// What [`FlashResult::program_from`] programs: bytes of the caller's, or the tail's first
/// write unit (programmed where it lies, not from a copy on the stack).
enum Source<'d> {
    Data(&'d [u8]),
    Tail,
}

impl<'a, F: NorFlash> FlashResult<'a, F> {
    /// Writes into `region` of `flash`, continuing after the first `start` bytes, which are
    /// already on flash. `start` is 0, a resume point on an erase-block boundary, or the end
    /// of a complete result (then only reads are allowed). Programs and erases in the units
    /// of `geometry`, which must pass [`crate::storage::layout::check_geometry`] (an
    /// [`crate::storage::Updater`] checks its own when it opens).
    pub fn new(
        flash: &'a RefCell<F>,
        region: Region,
        geometry: FlashGeometry,
        start: u64,
    ) -> Result<Self, Error> {
        if start > u64::from(region.len) {
            return Err(Error::SlotTooSmall {
                needed: start,
                slot_len: u64::from(region.len),
            });
        }
        Ok(Self::at(flash, region, geometry, start))
    }

    /// [`FlashResult::new`] for a `start` known to lie within `region`. It cannot fail, so a
    /// caller builds it where it is to live.
    #[inline(always)]
    pub(crate) fn at(
        flash: &'a RefCell<F>,
        region: Region,
        geometry: FlashGeometry,
        start: u64,
    ) -> Self {
        Self {
            flash,
            region,
            write_size: geometry.write_size,
            erase_size: geometry.erase_size as u64,
            erased_until: start,
            flushed: start,
            tail: [0xFF; MAX_WRITE_SIZE],
            tail_len: 0,
            sealed: crate::divide::rem(start, geometry.erase_size as u64) != 0,
        }
    }

    /// Result bytes accepted so far (on flash or waiting).
    pub fn written(&self) -> u64 {
        self.flushed + self.tail_len as u64
    }

    /// Puts every accepted byte on flash. A partial write unit at the end is padded with 0xFF
    /// and programmed, after which no more bytes may be written: call it at chunk boundaries
    /// (which are write-unit aligned) and at the end.
    pub fn sync(&mut self) -> Result<(), Error> {
        if self.tail_len == 0 {
            return Ok(());
        }
        let unit = self.write_size;
        let logical_end = self.written();
        // Padded where it waits: bytes past `tail_len` are not part of the result.
        self.tail[self.tail_len..unit].fill(0xFF);
        self.program_tail()?;
        self.flushed = logical_end;
        self.tail_len = 0;
        self.sealed = true;
        Ok(())
    }

    /// Programs whole write units at `flushed`, erasing blocks ahead as needed.
    fn program(&mut self, data: &[u8]) -> Result<(), Error> {
        self.program_from(Source::Data(data))
    }

    /// Programs the first write unit of the tail at `flushed`, from where it lies.
    fn program_tail(&mut self) -> Result<(), Error> {
        self.program_from(Source::Tail)
    }

    fn program_from(&mut self, source: Source<'_>) -> Result<(), Error> {
        let data = match source {
            Source::Data(data) => data,
            Source::Tail => &self.tail[..self.write_size],
        };
        let end = self.flushed + data.len() as u64;
        let base = u64::from(self.region.offset);
        let mut flash = flash_io::borrow(self.flash)?;
        while self.erased_until < end {
            let block = base + self.erased_until;
            flash_io::erase(&mut *flash, block, block + self.erase_size)?;
            self.erased_until += self.erase_size;
        }
        flash_io::write_verified(&mut *flash, base + self.flushed, data)?;
        self.flushed = end;
        Ok(())
    }
}

impl<F: NorFlash> ResultImage for FlashResult<'_, F> {
    fn write_result(&mut self, offset: u64, mut data: &[u8]) -> Result<(), Error> {
        let expected = self.written();
        if self.sealed || offset != expected {
            return Err(Error::ResultWriteOutOfOrder { offset, expected });
        }
        let end = offset.saturating_add(data.len() as u64);
        if end > u64::from(self.region.len) {
            return Err(Error::SlotTooSmall {
                needed: end,
                slot_len: u64::from(self.region.len),
            });
        }
        let unit = self.write_size;
        if self.tail_len > 0 {
            let n = (unit - self.tail_len).min(data.len());
            self.tail[self.tail_len..self.tail_len + n].copy_from_slice(&data[..n]);
            self.tail_len += n;
            data = &data[n..];
            if self.tail_len == unit {
                self.tail_len = 0;
                self.program_tail()?;
            }
        }
        let whole = data.len() / unit * unit;
        if whole > 0 {
            self.program(&data[..whole])?;
        }
        let rest = &data[whole..];
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len += rest.len();
        Ok(())
    }

    fn read_result(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > self.written()) {
            return Err(Error::CorruptPayload {
                offset,
                reason: "reference beyond the result written so far",
            });
        }
        let on_flash = usize_min(self.flushed.saturating_sub(offset), buf.len());
        let (from_flash, from_tail) = buf.split_at_mut(on_flash);
        if !from_flash.is_empty() {
            flash_io::read(
                &mut *flash_io::borrow(self.flash)?,
                u64::from(self.region.offset) + offset,
                from_flash,
            )?;
        }
        if !from_tail.is_empty() {
            // The range ends by `written()`: it is within the unflushed tail.
            let start = usize_min(offset + on_flash as u64 - self.flushed, self.tail.len());
            from_tail.copy_from_slice(&self.tail[start..start + from_tail.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimFlash;

    const GEOMETRY: FlashGeometry = FlashGeometry::of::<SimFlash<4, 256, 1>>();

    /// Writes `data` in pieces of `piece` bytes through a `FlashResult`, reading back a
    /// window behind the write position after every piece, then syncs.
    fn write_through<const W: usize, const E: usize, const R: usize>(
        data: &[u8],
        piece: usize,
    ) -> SimFlash<W, E, R> {
        let flash = RefCell::new(SimFlash::<W, E, R>::new(4 * E.max(1024)));
        // Dirty the slot so that missing erases show up as refused writes.
        flash.borrow_mut().program_at(E, &vec![0u8; 2 * E]);
        let region = Region::new(E as u32, 2 * E as u32);
        let mut out =
            FlashResult::new(&flash, region, FlashGeometry::of::<SimFlash<W, E, R>>(), 0).unwrap();
        for (i, chunk) in data.chunks(piece).enumerate() {
            out.write_result((i * piece) as u64, chunk).unwrap();
            let written = out.written() as usize;
            let from = written.saturating_sub(3 * W + 5);
            let mut back = vec![0; written - from];
            out.read_result(from as u64, &mut back).unwrap();
            assert_eq!(back, &data[from..written]);
        }
        out.sync().unwrap();
        // Once the final partial unit is padded, nothing more may be written.
        let padded = data.len() % W != 0;
        assert_eq!(out.write_result(data.len() as u64, &[]).is_err(), padded);
        let mut back = vec![0; data.len()];
        out.read_result(0, &mut back).unwrap();
        assert_eq!(back, data);
        flash.into_inner()
    }

    #[test]
    fn any_piece_size_and_write_unit_lands_byte_exact_with_ff_padding() {
        let data: Vec<u8> = (0..1500u32).map(|i| (i * 31 % 251) as u8).collect();
        for piece in [1, 3, 8, 64, 100, 1500] {
            let f = write_through::<1, 1024, 1>(&data, piece);
            assert_eq!(&f.bytes()[1024..1024 + 1500], &data[..]);
            let f = write_through::<8, 1024, 4>(&data, piece);
            assert_eq!(&f.bytes()[1024..1024 + 1500], &data[..]);
            // 1500 = 5 * 256 + 220: the last unit is padded with 0xFF.
            let f = write_through::<256, 1024, 1>(&data, piece);
            assert_eq!(&f.bytes()[1024..1024 + 1500], &data[..]);
            assert!(
                f.bytes()[1024 + 1500..1024 + 1536]
                    .iter()
                    .all(|&b| b == 0xFF)
            );
        }
    }

    #[test]
    fn erases_each_block_once_just_before_its_first_write() {
        let flash = RefCell::new(SimFlash::<4, 256, 1>::new(2048));
        let mut out = FlashResult::new(&flash, Region::new(512, 1024), GEOMETRY, 0).unwrap();
        out.write_result(0, &[7; 256]).unwrap();
        assert_eq!(flash.borrow().counts().erases, 1);
        out.write_result(256, &[7; 4]).unwrap();
        assert_eq!(flash.borrow().counts().erases, 2);
        out.write_result(260, &[7; 200]).unwrap();
        assert_eq!(flash.borrow().counts().erases, 2);
    }

    #[test]
    fn refuses_gaps_overruns_and_unwritten_reads() {
        let flash = RefCell::new(SimFlash::<4, 256, 1>::new(2048));
        let mut out = FlashResult::new(&flash, Region::new(0, 512), GEOMETRY, 256).unwrap();
        assert!(matches!(
            out.write_result(0, &[1]),
            Err(Error::ResultWriteOutOfOrder {
                offset: 0,
                expected: 256
            })
        ));
        assert!(matches!(
            out.write_result(256, &[1; 257]),
            Err(Error::SlotTooSmall { .. })
        ));
        out.write_result(256, &[1; 6]).unwrap();
        let mut buf = [0; 4];
        assert!(matches!(
            out.read_result(260, &mut buf),
            Err(Error::CorruptPayload {
                reason: "reference beyond the result written so far",
                ..
            })
        ));
        out.read_result(258, &mut buf).unwrap();
        assert_eq!(buf, [1; 4]);
        // The final partial write unit is padded: nothing may follow it.
        out.sync().unwrap();
        assert_eq!(
            out.write_result(262, &[1]),
            Err(Error::ResultWriteOutOfOrder {
                offset: 262,
                expected: 262
            })
        );
    }

    #[test]
    fn a_start_beyond_the_slot_is_refused() {
        let flash = RefCell::new(SimFlash::<4, 256, 1>::new(2048));
        assert!(FlashResult::new(&flash, Region::new(0, 512), GEOMETRY, 512).is_ok());
        assert_eq!(
            FlashResult::new(&flash, Region::new(0, 512), GEOMETRY, 513).err(),
            Some(Error::SlotTooSmall {
                needed: 513,
                slot_len: 512
            })
        );
    }
}
