//! Applying one bundle as it arrives: admission and the checks the updater makes before
//! writing anything, then the payload in fragments (as a download delivers it), then the
//! final digests. The new model is pending: the next boot tries it, and the firmware confirms
//! it once it works.

use core::fmt;

use embedded_storage::nor_flash::NorFlash;
use mallorn_runtime::Error;
use mallorn_runtime::format::{HEADER_LEN, SIGNATURE_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::storage::{Admit, Finished, Updater};

/// Why a bundle was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyError {
    /// Shorter than its header and signature.
    TooShort,
    /// The runtime refused it or failed while applying it.
    Runtime(Error),
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => f.write_str("bundle shorter than its header and signature"),
            Self::Runtime(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl From<Error> for ApplyError {
    fn from(error: Error) -> Self {
        Self::Runtime(error)
    }
}

/// Applies `bundle` into the inactive slot, feeding its payload `fragment` bytes at a time
/// from where an interrupted attempt left off. `work` is the applier's work buffer (at least
/// the generated `WORK_LEN`; up to `RAM_BUFFER`).
pub fn apply_bundle<F: NorFlash, A: Admit>(
    updater: &mut Updater<F>,
    admission: &mut A,
    bundle: &[u8],
    work: &mut [u8],
    fragment: usize,
) -> Result<Finished, ApplyError> {
    let (header, rest) = bundle
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(ApplyError::TooShort)?;
    let (signature, payload) = rest
        .split_first_chunk::<SIGNATURE_LEN>()
        .ok_or(ApplyError::TooShort)?;
    debug_assert_eq!(bundle.len() - payload.len(), SIGNED_BUNDLE_PREFIX);
    let mut session = updater.begin(admission, header, signature, work)?;
    let start = usize::try_from(session.payload_offset()).unwrap_or(usize::MAX);
    for piece in payload
        .get(start..)
        .unwrap_or_default()
        .chunks(fragment.max(1))
    {
        session.feed(piece)?;
    }
    Ok(session.finish()?)
}
