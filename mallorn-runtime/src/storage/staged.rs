//! Applying a bundle that is already stored whole in the layout's staging region: the same
//! session as a download, fed from flash. After a power cut, calling it again resumes.

use embedded_storage::nor_flash::NorFlash;

use crate::error::Error;
use crate::format::{BundleHeader, HEADER_LEN, SIGNATURE_LEN, SIGNED_BUNDLE_PREFIX};
use crate::storage::admit::Admit;
use crate::storage::flash_io;
use crate::storage::session::Finished;
use crate::storage::updater::Updater;

impl<F: NorFlash> Updater<F> {
    /// Applies the bundle stored at the start of the staging region, reading it through
    /// `read_buf` (any non-zero size; larger means fewer flash reads). Resumes an interrupted
    /// application of the same bundle.
    pub fn apply_staged<A: Admit>(
        &mut self,
        admit: &mut A,
        work: &mut [u8],
        read_buf: &mut [u8],
    ) -> Result<Finished, Error> {
        let staging = self.layout().staging.ok_or(Error::NoStagingRegion)?;
        if read_buf.is_empty() {
            return Err(Error::WorkBufferTooSmall { needed: 1, got: 0 });
        }
        let mut header = [0u8; HEADER_LEN];
        let mut signature = [0u8; SIGNATURE_LEN];
        let start = u64::from(staging.offset);
        let flash = self.flash();
        flash_io::read(flash, start, &mut header)?;
        flash_io::read(flash, start + HEADER_LEN as u64, &mut signature)?;
        // Structure only, to bound the reads below; `begin` admits the bundle.
        let payload_len = BundleHeader::parse(&header)?.payload_len;
        let bundle_len = (SIGNED_BUNDLE_PREFIX as u64).saturating_add(payload_len);
        if bundle_len > u64::from(staging.len) {
            return Err(Error::StagingTooSmall {
                bundle_len,
                region_len: u64::from(staging.len),
            });
        }
        let mut session = self.begin(admit, &header, &signature, work)?;
        let payload_start = start + SIGNED_BUNDLE_PREFIX as u64;
        while session.payload_offset() < payload_len {
            let at = session.payload_offset();
            let n = (payload_len - at).min(read_buf.len() as u64) as usize;
            session.read_flash(payload_start + at, &mut read_buf[..n])?;
            session.feed(&read_buf[..n])?;
        }
        session.finish()
    }
}
