//! Applying a bundle that is already stored whole in the layout's staging region: the same
//! session as a download, fed from flash. After a power cut, calling it again resumes.

use embedded_storage::nor_flash::NorFlash;

use crate::cast::usize_min;
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
            let n = usize_min(payload_len - at, read_buf.len());
            session.read_flash(payload_start + at, &mut read_buf[..n])?;
            session.feed(&read_buf[..n])?;
        }
        session.finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::format::{BundleHeader, HEADER_LEN};
    use crate::storage::testing::{
        Flash, WORK, admission, device, genuine, layout, provisioned, provisioned_with, signer,
        trusted,
    };
    use crate::storage::{Phase, Updater};

    /// A provisioned device with `bundle` at the start of its staging region.
    fn staged(bundle: &[u8]) -> Updater<Flash> {
        let mut flash = device();
        flash.program_at(layout().staging.unwrap().offset as usize, bundle);
        provisioned(flash)
    }

    fn apply_staged(updater: &mut Updater<Flash>, read_buf: &mut [u8]) -> Result<(), Error> {
        let keys = [trusted(&signer())];
        let mut scratch = [0u8; 64];
        let mut work = [0u8; WORK];
        updater
            .apply_staged(&mut admission(&keys, &mut scratch), &mut work, read_buf)
            .map(|_| ())
    }

    #[test]
    fn a_staged_bundle_applies() {
        let mut updater = staged(&genuine());
        apply_staged(&mut updater, &mut [0; 100]).unwrap();
        assert!(matches!(updater.state().phase, Phase::Pending(_)));
    }

    #[test]
    fn a_layout_without_staging_is_refused() {
        let no_staging = crate::storage::FlashLayout {
            staging: None,
            ..layout()
        };
        let mut updater = provisioned_with(device(), no_staging);
        assert_eq!(
            apply_staged(&mut updater, &mut [0; 100]),
            Err(Error::NoStagingRegion)
        );
    }

    #[test]
    fn an_empty_read_buffer_is_refused() {
        let mut updater = staged(&genuine());
        assert_eq!(
            apply_staged(&mut updater, &mut []),
            Err(Error::WorkBufferTooSmall { needed: 1, got: 0 })
        );
    }

    #[test]
    fn a_header_that_overruns_the_staging_region_is_refused_before_admission() {
        let mut bundle = genuine();
        let mut header = BundleHeader::parse(bundle[..HEADER_LEN].try_into().unwrap()).unwrap();
        header.payload_len = 10_000;
        bundle[..HEADER_LEN].copy_from_slice(&header.to_bytes());
        let mut updater = staged(&bundle);
        let before = updater.flash().counts().mutations();
        assert_eq!(
            apply_staged(&mut updater, &mut [0; 100]),
            Err(Error::StagingTooSmall {
                bundle_len: 272 + 10_000,
                region_len: 8192
            })
        );
        assert_eq!(updater.flash().counts().mutations(), before);
    }
}
