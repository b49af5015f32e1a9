//! Whole-payload check for a bundle that is already in memory or storage in one piece (a host
//! tool, or a device that downloads before it applies): exact length and SHA-256. A device
//! that applies while downloading gets the same checks from the payload decoder's `finish`.

use crate::error::Error;
use crate::format::header::BundleHeader;
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
    if sha256(payload) != header.payload_sha256 {
        return Err(Error::PayloadHashMismatch);
    }
    Ok(())
}
