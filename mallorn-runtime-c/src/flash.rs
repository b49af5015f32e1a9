//! The flash driver a C firmware supplies: three callbacks, a context pointer and the
//! geometry, adapted to the runtime's `NorFlash` trait.

use core::ffi::c_void;

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
use mallorn_runtime::Error;
use mallorn_runtime::storage::{FlashGeometry, read_unaligned};

/// Reads `len` bytes at `offset` (from the start of the flash device) into `buf`. Called only
/// with `offset` and `len` multiples of `read_size`. Returns 0 on success, anything else on
/// failure.
pub type mallorn_read_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, offset: u32, buf: *mut u8, len: usize) -> i32>;
/// Programs `len` bytes at `offset`: both multiples of `write_size`, the range erased since
/// it was last programmed. Returns 0 on success.
pub type mallorn_program_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, offset: u32, data: *const u8, len: usize) -> i32>;
/// Erases `[from, to)` to 0xFF: both multiples of `erase_size`. Returns 0 on success.
pub type mallorn_erase_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, from: u32, to: u32) -> i32>;

type ReadFn = unsafe extern "C" fn(*mut c_void, u32, *mut u8, usize) -> i32;
type ProgramFn = unsafe extern "C" fn(*mut c_void, u32, *const u8, usize) -> i32;
type EraseFn = unsafe extern "C" fn(*mut c_void, u32, u32) -> i32;

/// A NOR flash device as callbacks. Copied by `mallorn_updater_open` and
/// `mallorn_updater_provision`; `ctx` is passed to every callback and must stay valid while
/// the updater is open. The callbacks must not call back into `mallorn_*` functions.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mallorn_flash_t {
    /// Passed to every callback.
    pub ctx: *mut c_void,
    /// Reads (required).
    pub read: mallorn_read_fn,
    /// Programs (required).
    pub program: mallorn_program_fn,
    /// Erases (required).
    pub erase: mallorn_erase_fn,
    /// Read unit in bytes (1 for memory-mapped flash; at most 64).
    pub read_size: u32,
    /// Program unit in bytes (`MALLORN_WRITE_SIZE` of the generated header; at most 256).
    pub write_size: u32,
    /// Erase block in bytes (`MALLORN_ERASE_SIZE`).
    pub erase_size: u32,
    /// Bytes of flash the callbacks address (`MALLORN_FLASH_SIZE`).
    pub capacity: u32,
}

/// [`mallorn_flash_t`] with its callbacks checked: what the updater owns.
#[derive(Debug)]
pub struct CFlash {
    ctx: *mut c_void,
    read: ReadFn,
    program: ProgramFn,
    erase: EraseFn,
    geometry: FlashGeometry,
    capacity: u32,
}

impl CFlash {
    /// The driver, or `None` when a callback is missing.
    pub fn new(ops: &mallorn_flash_t) -> Option<Self> {
        Some(Self {
            ctx: ops.ctx,
            read: ops.read?,
            program: ops.program?,
            erase: ops.erase?,
            geometry: FlashGeometry {
                erase_size: ops.erase_size as usize,
                write_size: ops.write_size as usize,
                read_size: ops.read_size as usize,
            },
            capacity: ops.capacity,
        })
    }

    /// The geometry the updater must use (the constants below are all 1).
    pub fn geometry(&self) -> FlashGeometry {
        self.geometry
    }

    /// Whether `[offset, offset + len)` is inside the device and both ends are multiples of
    /// `unit`.
    fn fits(&self, offset: u32, len: usize, unit: usize) -> Result<(), NorFlashErrorKind> {
        let end = u64::from(offset) + len as u64;
        if end > u64::from(self.capacity) {
            return Err(NorFlashErrorKind::OutOfBounds);
        }
        if unit == 0 || offset as usize % unit != 0 || len % unit != 0 {
            return Err(NorFlashErrorKind::NotAligned);
        }
        Ok(())
    }
}

fn called(code: i32) -> Result<(), NorFlashErrorKind> {
    if code == 0 {
        Ok(())
    } else {
        Err(NorFlashErrorKind::Other)
    }
}

impl ErrorType for CFlash {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for CFlash {
    /// Any alignment: reads are bounced through one unit of the device's `read_size`.
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let unit = self.geometry.read_size;
        self.fits(offset, bytes.len(), 1)?;
        read_unaligned(unit, u64::from(offset), bytes, |at, part| {
            self.fits(at, part.len(), unit).map_err(Error::Flash)?;
            // SAFETY: `part` is a live, writable buffer of `part.len()` bytes; the callback
            // and `ctx` come from the caller, who promised they are valid while it is open.
            let code = unsafe { (self.read)(self.ctx, at, part.as_mut_ptr(), part.len()) };
            called(code).map_err(Error::Flash)
        })
        .map_err(|e| match e {
            Error::Flash(kind) => kind,
            _ => NorFlashErrorKind::Other,
        })
    }

    fn capacity(&self) -> usize {
        self.capacity as usize
    }
}

impl NorFlash for CFlash {
    /// The real unit is checked at run time (`FlashGeometry` in the updater, and below).
    const WRITE_SIZE: usize = 1;
    /// The real block is checked at run time (`FlashGeometry` in the updater, and below).
    const ERASE_SIZE: usize = 1;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let len = to.checked_sub(from).ok_or(NorFlashErrorKind::OutOfBounds)?;
        self.fits(from, len as usize, self.geometry.erase_size)?;
        // SAFETY: the callback and `ctx` come from the caller, valid while it is open.
        called(unsafe { (self.erase)(self.ctx, from, to) })
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.fits(offset, bytes.len(), self.geometry.write_size)?;
        // SAFETY: `bytes` is a live buffer of `bytes.len()` bytes; the callback and `ctx`
        // come from the caller, valid while it is open.
        called(unsafe { (self.program)(self.ctx, offset, bytes.as_ptr(), bytes.len()) })
    }
}
