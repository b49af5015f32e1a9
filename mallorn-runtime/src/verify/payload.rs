//! Whole-payload check for a bundle that is already in memory or storage in one piece (a host
//! tool, or a device that downloads before it applies): exact length and every segment of the
//! hash chain. A device that applies while downloading gets the same checks segment by
//! segment from [`crate::apply::PayloadStream`].

use crate::error::Error;
use crate::format::header::BundleHeader;
use crate::format::segments::LINK_LEN;
use crate::hash::sha256;

/// Checks that `payload` is exactly the payload the (authenticated) header describes.
pub fn check_payload(header: &BundleHeader, payload: &[u8]) -> Result<(), Error> {
    let len = payload.len() as u64;
    if len > header.payload_len {
        return Err(Error::PayloadTooLong);
    }
    if len < header.payload_len {
        return Err(Error::PayloadTruncated);
    }
    let layout = header.segments()?;
    let mut expected = header.payload_sha256;
    for segment in 0..layout.count {
        let mismatch = Error::PayloadSegmentMismatch {
            segment,
            wire_offset: layout.wire_start(segment),
        };
        let start = usize::try_from(layout.wire_start(segment)).map_err(|_| mismatch)?;
        let wire_len = usize::try_from(layout.wire_len_of(segment)).map_err(|_| mismatch)?;
        let bytes = payload.get(start..start + wire_len).ok_or(mismatch)?;
        if sha256(bytes) != expected {
            return Err(mismatch);
        }
        if let Some(link) = bytes.len().checked_sub(LINK_LEN).map(|at| &bytes[at..]) {
            if segment + 1 < layout.count {
                expected.copy_from_slice(link);
            }
        }
    }
    Ok(())
}
