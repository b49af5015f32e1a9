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
            &mut *self.flash.borrow_mut(),
            u64::from(self.region.offset) + offset,
            buf,
        )
    }
}
