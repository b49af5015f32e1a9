//! A NOR flash over a RAM region, with NOR's rules enforced: erasing sets whole erase blocks
//! to `0xFF`; programming needs write-unit alignment and only lands on erased units, so bits
//! only go from 1 to 0 and no unit is programmed twice between erases. Breaking a rule is an
//! error (real parts corrupt data silently), so the runtime's use of the flash is checked.

use core::sync::atomic::{AtomicBool, Ordering};

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

use crate::generated::{FLASH_BASE, FLASH_SIZE};

unsafe extern "C" {
    /// First byte of the board memory that stands in for the NOR part (`memory.x`).
    static _nor_start: u8;
    /// One past its last byte.
    static _nor_end: u8;
}

static TAKEN: AtomicBool = AtomicBool::new(false);

/// What went wrong with a flash operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamNorError {
    /// Offset or length not a multiple of the erase or write unit.
    NotAligned,
    /// Past the end of the device.
    OutOfBounds,
    /// A write to a unit that was not erased.
    NotErased,
}

impl NorFlashError for RamNorError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::NotAligned => NorFlashErrorKind::NotAligned,
            Self::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            Self::NotErased => NorFlashErrorKind::Other,
        }
    }
}

/// How much the flash was used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlashCounts {
    /// Erase blocks erased.
    pub blocks_erased: u32,
    /// Write calls.
    pub writes: u32,
    /// Bytes programmed.
    pub bytes_written: u32,
    /// Erase and write calls that touched the watched region (see [`RamNorFlash::watch`]).
    pub watched_ops: u32,
}

/// NOR flash with `WRITE`-byte program units and `ERASE`-byte erase blocks.
#[derive(Debug)]
pub struct RamNorFlash<const WRITE: usize, const ERASE: usize> {
    mem: &'static mut [u8],
    counts: FlashCounts,
    watched: core::ops::Range<usize>,
}

impl<const WRITE: usize, const ERASE: usize> RamNorFlash<WRITE, ERASE> {
    /// The board's emulated NOR part, the `FLASH_SIZE` bytes Mallorn.toml gives it, fully
    /// erased as it leaves the chip factory. `None` on a second call (there is one part) or
    /// if `memory.x` reserves less memory than Mallorn.toml's flash size.
    pub fn take() -> Option<Self> {
        let (start, end) = (&raw const _nor_start as usize, &raw const _nor_end as usize);
        if end.saturating_sub(start) < FLASH_SIZE || TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the region is RAM that nothing else in the program uses (no section is
        // linked there), `TAKEN` makes this the only slice over it, and it is written
        // (erased) before it is read.
        let mem = unsafe {
            let base = start as *mut u8;
            base.write_bytes(0xFF, FLASH_SIZE);
            core::slice::from_raw_parts_mut(base, FLASH_SIZE)
        };
        Some(Self::new(mem))
    }

    /// Emulated NOR over `mem` as it is (a length that is a multiple of `ERASE`).
    pub fn new(mem: &'static mut [u8]) -> Self {
        Self {
            mem,
            counts: FlashCounts::default(),
            watched: 0..0,
        }
    }

    /// Counts from now on, in [`FlashCounts::watched_ops`], every erase or write call that
    /// touches `len` bytes from `offset` (the update's target slot: a refused payload must
    /// leave it untouched).
    pub fn watch(&mut self, offset: u32, len: u32) {
        self.watched = offset as usize..offset as usize + len as usize;
    }

    /// Counts one operation on `range` if it touches the watched region.
    fn note(&mut self, range: &core::ops::Range<usize>) {
        if range.start < self.watched.end && self.watched.start < range.end {
            self.counts.watched_ops += 1;
        }
    }

    /// Address of the first byte on the bus (to check it against the generated flash base).
    pub fn bus_address(&self) -> usize {
        self.mem.as_ptr() as usize
    }

    /// Whether the part sits where Mallorn.toml says the flash starts.
    pub fn matches_generated_base(&self) -> bool {
        self.bus_address() as u64 == FLASH_BASE
    }

    /// Operations so far.
    pub fn counts(&self) -> FlashCounts {
        self.counts
    }

    fn range(&self, offset: u32, len: usize) -> Result<core::ops::Range<usize>, RamNorError> {
        let start = offset as usize;
        let end = start.checked_add(len).ok_or(RamNorError::OutOfBounds)?;
        if end > self.mem.len() {
            return Err(RamNorError::OutOfBounds);
        }
        Ok(start..end)
    }
}

impl<const WRITE: usize, const ERASE: usize> ErrorType for RamNorFlash<WRITE, ERASE> {
    type Error = RamNorError;
}

impl<const WRITE: usize, const ERASE: usize> ReadNorFlash for RamNorFlash<WRITE, ERASE> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let range = self.range(offset, bytes.len())?;
        bytes.copy_from_slice(&self.mem[range]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl<const WRITE: usize, const ERASE: usize> NorFlash for RamNorFlash<WRITE, ERASE> {
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = ERASE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        if from > to {
            return Err(RamNorError::OutOfBounds);
        }
        let range = self.range(from, (to - from) as usize)?;
        if range.start % ERASE != 0 || range.end % ERASE != 0 {
            return Err(RamNorError::NotAligned);
        }
        self.counts.blocks_erased += (range.len() / ERASE) as u32;
        self.note(&range);
        self.mem[range].fill(0xFF);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let range = self.range(offset, bytes.len())?;
        if range.start % WRITE != 0 || range.len() % WRITE != 0 {
            return Err(RamNorError::NotAligned);
        }
        self.note(&range);
        let target = &mut self.mem[range];
        if target.iter().any(|&b| b != 0xFF) {
            return Err(RamNorError::NotErased);
        }
        target.copy_from_slice(bytes);
        self.counts.writes += 1;
        self.counts.bytes_written += bytes.len() as u32;
        Ok(())
    }
}
