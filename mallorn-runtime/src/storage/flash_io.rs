//! Flash access in the runtime's terms: 64-bit offsets checked into the driver's 32-bit ones,
//! driver errors mapped to [`Error::Flash`], and reads of any alignment bounced through one
//! read unit when the device needs aligned reads.

use core::cell::{RefCell, RefMut};

use embedded_storage::nor_flash::{NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};

use crate::cast::usize_min;
use crate::divide::rem;
use crate::error::Error;
use crate::storage::layout::MAX_READ_SIZE;

fn offset32(offset: u64) -> Result<u32, Error> {
    u32::try_from(offset).map_err(|_| Error::Flash(NorFlashErrorKind::OutOfBounds))
}

fn kind<E: NorFlashError>(e: E) -> Error {
    Error::Flash(e.kind())
}

/// Reads `buf.len()` bytes at `offset`, whatever the device's read alignment. The layout
/// guarantees that the read unit divides the erase size, so the bounced units stay inside
/// the erase-aligned region being read.
pub(crate) fn read<F: ReadNorFlash>(
    flash: &mut F,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), Error> {
    read_unaligned(F::READ_SIZE, offset, buf, |at, part| {
        flash.read(at, part).map_err(kind)
    })
}

/// The flash behind an update's shared cell, for one call. The base reader, the result writer
/// and the journal take turns and never hold it across a call, so the borrow cannot fail; if
/// it ever did, it is a flash error rather than `borrow_mut`'s panic (whose message
/// formatting a firmware would otherwise link).
pub(crate) fn borrow<F>(flash: &RefCell<F>) -> Result<RefMut<'_, F>, Error> {
    flash
        .try_borrow_mut()
        .map_err(|_| Error::Flash(NorFlashErrorKind::Other))
}

/// Reads `buf.len()` bytes at `offset` through `read_units`, which is only ever asked for
/// whole `unit`-aligned units (`unit` at most [`MAX_READ_SIZE`]): the unaligned head and tail
/// are bounced through one unit. For drivers whose read unit is known only at run time.
pub fn read_unaligned(
    unit: usize,
    offset: u64,
    buf: &mut [u8],
    mut read_units: impl FnMut(u32, &mut [u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let unit64 = unit as u64;
    if unit <= 1 || (rem(offset, unit64) == 0 && buf.len() % unit == 0) {
        return read_units(offset32(offset)?, buf);
    }
    let mut bounce = [0u8; MAX_READ_SIZE];
    let bounce = bounce
        .get_mut(..unit)
        .ok_or(Error::Flash(NorFlashErrorKind::NotAligned))?;
    let mut pos = offset;
    let mut out = buf;
    let skew = usize_min(rem(pos, unit64), unit);
    if skew != 0 || out.len() < unit {
        read_units(offset32(pos - skew as u64)?, bounce)?;
        let n = (unit - skew).min(out.len());
        out[..n].copy_from_slice(&bounce[skew..skew + n]);
        pos += n as u64;
        out = &mut out[n..];
    }
    let middle = out.len() / unit * unit;
    if middle > 0 {
        read_units(offset32(pos)?, &mut out[..middle])?;
        pos += middle as u64;
        out = &mut out[middle..];
    }
    if !out.is_empty() {
        read_units(offset32(pos)?, bounce)?;
        let n = out.len();
        out.copy_from_slice(&bounce[..n]);
    }
    Ok(())
}

/// Programs `data` at `offset` (both write-unit aligned, the range erased).
pub(crate) fn write<F: NorFlash>(flash: &mut F, offset: u64, data: &[u8]) -> Result<(), Error> {
    flash.write(offset32(offset)?, data).map_err(kind)
}

/// Bytes compared per step when programmed data is read back.
const VERIFY_STEP: usize = 64;

/// Programs `data` at `offset`, then reads it back: a cell that did not take its value (the
/// driver may report success) is [`Error::ProgramVerifyFailed`].
pub(crate) fn write_verified<F: NorFlash>(
    flash: &mut F,
    offset: u64,
    data: &[u8],
) -> Result<(), Error> {
    write(flash, offset, data)?;
    let mut back = [0u8; VERIFY_STEP];
    let mut at = offset;
    for expected in data.chunks(VERIFY_STEP) {
        let got = &mut back[..expected.len()];
        read(flash, at, got)?;
        if got != expected {
            return Err(Error::ProgramVerifyFailed { offset: at });
        }
        at += expected.len() as u64;
    }
    Ok(())
}

/// Erases `[from, to)` (erase-unit aligned).
pub(crate) fn erase<F: NorFlash>(flash: &mut F, from: u64, to: u64) -> Result<(), Error> {
    flash.erase(offset32(from)?, offset32(to)?).map_err(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Fault, Persistence, SimFlash};

    #[test]
    fn driver_errors_and_offsets_beyond_32_bits_are_flash_errors() {
        let mut flash = SimFlash::<4, 1024>::new(4096);
        let mut buf = [0u8; 8];
        read(&mut flash, 0, &mut buf).unwrap();
        flash.inject(Fault::ReadError {
            addr: 4,
            persistence: Persistence::Always,
        });
        assert_eq!(
            read(&mut flash, 0, &mut buf),
            Err(Error::Flash(NorFlashErrorKind::Other))
        );
        assert_eq!(
            read(&mut flash, 1 << 32, &mut buf),
            Err(Error::Flash(NorFlashErrorKind::OutOfBounds))
        );
    }

    #[test]
    fn a_read_unit_larger_than_the_bounce_buffer_is_refused() {
        let mut flash = SimFlash::<4, 1024, { 2 * MAX_READ_SIZE }>::new(4096);
        let mut buf = [0u8; 3];
        assert_eq!(
            read(&mut flash, 1, &mut buf),
            Err(Error::Flash(NorFlashErrorKind::NotAligned))
        );
    }

    #[test]
    fn a_program_that_does_not_read_back_is_refused() {
        let mut flash = SimFlash::<4, 1024>::new(4096);
        write_verified(&mut flash, 0, &[1; 8]).unwrap();
        let at = flash.counts().mutations();
        flash.inject(Fault::StuckBits {
            at,
            addr: 100,
            mask: 0x01,
        });
        assert_eq!(
            write_verified(&mut flash, 96, &[0; 8]),
            Err(Error::ProgramVerifyFailed { offset: 96 })
        );
    }
}
