//! Re-reading a slot from flash and checking it against the image the journal names: what
//! makes "verified" mean the bytes on flash, not the bytes that were sent to the driver.

use embedded_storage::nor_flash::ReadNorFlash;

use crate::cast::usize_min;
use crate::error::Error;
use crate::hash::Sha256;
use crate::storage::flash_io;
use crate::storage::layout::Region;
use crate::storage::state::SlotImage;

/// Whether the first `image.len` bytes of `region` hash to `image.sha256`, read through `buf`
/// (any non-empty length; larger means fewer reads).
pub(crate) fn slot_matches<F: ReadNorFlash>(
    flash: &mut F,
    region: Region,
    image: &SlotImage,
    buf: &mut [u8],
) -> Result<bool, Error> {
    if image.len > u64::from(region.len) {
        return Ok(false);
    }
    if buf.is_empty() {
        return Err(Error::WorkBufferTooSmall { needed: 1, got: 0 });
    }
    let mut hash = Sha256::new();
    let mut at = 0u64;
    while at < image.len {
        let n = usize_min(image.len - at, buf.len());
        flash_io::read(flash, u64::from(region.offset) + at, &mut buf[..n])?;
        hash.update(&buf[..n]);
        at += n as u64;
    }
    Ok(hash.finalize() == image.sha256)
}
