//! The base image as the applier sees it on a device: the active slot, read through the
//! shared flash handle. It is only ever read.

use core::cell::RefCell;

use embedded_storage::nor_flash::ReadNorFlash;

use crate::error::Error;
use crate::image::BaseImage;
use crate::storage::flash_io;
use crate::storage::layout::Region;

/// Reads the base model from a slot region.
#[derive(Debug)]
pub struct FlashBase<'a, F> {
    flash: &'a RefCell<F>,
    region: Region,
}

impl<'a, F: ReadNorFlash> FlashBase<'a, F> {
    /// Reads from `region` of `flash`.
    pub fn new(flash: &'a RefCell<F>, region: Region) -> Self {
        Self { flash, region }
    }
}

impl<F: ReadNorFlash> BaseImage for FlashBase<'_, F> {
    fn read_base(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let len = buf.len() as u64;
        match offset.checked_add(len) {
            Some(end) if end <= u64::from(self.region.len) => {}
            _ => return Err(Error::BaseOutOfRange { offset, len }),
        }
        flash_io::read(
            &mut *flash_io::borrow(self.flash)?,
            u64::from(self.region.offset) + offset,
            buf,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimFlash;

    #[test]
    fn reads_stay_inside_the_slot() {
        let flash = RefCell::new(SimFlash::<4, 1024>::new(4096));
        flash.borrow_mut().program_at(1024, &[9; 1024]);
        let mut base = FlashBase::new(&flash, Region::new(1024, 1024));
        let mut buf = [0u8; 2];
        base.read_base(1022, &mut buf).unwrap();
        assert_eq!(buf, [9, 9]);
        for offset in [1023, u64::MAX] {
            assert_eq!(
                base.read_base(offset, &mut buf),
                Err(Error::BaseOutOfRange { offset, len: 2 })
            );
        }
    }
}
