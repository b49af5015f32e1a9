//! Host-side application of a bundle with the runtime's own decoder.

use mallorn_runtime::apply::PayloadDecoder;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::hash::sha256;
use mallorn_runtime::image::SliceResult;

/// Why a bundle could not be applied on the host.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The bundle is shorter than its fixed header and signature.
    #[error(
        "bundle is {len} bytes, shorter than its {SIGNED_BUNDLE_PREFIX}-byte header and signature"
    )]
    TooShort {
        /// Bundle length.
        len: usize,
    },
    /// The base is not the one the bundle was built from.
    #[error("the base file is not the one this bundle was built from (SHA-256 or length differs)")]
    WrongBase,
    /// The result would not fit in memory on this host.
    #[error("result of {len} bytes is too large for this host")]
    ResultTooLarge {
        /// Declared result length.
        len: u64,
    },
    /// The runtime refused the bundle.
    #[error(transparent)]
    Runtime(#[from] mallorn_runtime::Error),
}

/// Applies `bundle` to `base` and returns the result, checked against the header's digests.
/// Signatures are not checked here.
pub fn apply_bundle(bundle: &[u8], base: &[u8]) -> Result<Vec<u8>, ApplyError> {
    let (header_bytes, rest) = bundle
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(ApplyError::TooShort { len: bundle.len() })?;
    let header = BundleHeader::parse(header_bytes)?;
    let payload = rest
        .get(SIGNED_BUNDLE_PREFIX - HEADER_LEN..)
        .ok_or(ApplyError::TooShort { len: bundle.len() })?;
    let full_image = header
        .flags
        .contains(mallorn_runtime::format::Flags::FULL_IMAGE);
    if !full_image && (header.base_len != base.len() as u64 || header.base_sha256 != sha256(base)) {
        return Err(ApplyError::WrongBase);
    }
    let target_len =
        usize::try_from(header.target_len).map_err(|_| ApplyError::ResultTooLarge {
            len: header.target_len,
        })?;
    let mut result = vec![0; target_len];
    let mut work = vec![0; header.ram_required.max(64 * 1024) as usize];
    let mut decoder = PayloadDecoder::new(&header, &mut work)?;
    let mut base_image: &[u8] = base;
    let mut sink = SliceResult::new(&mut result);
    let mut rest = payload;
    // Every call consumes bytes or fails, so this ends.
    while !rest.is_empty() {
        let fed = decoder.feed(rest, &mut base_image, &mut sink)?;
        rest = &rest[fed.consumed..];
    }
    decoder.finish()?;
    Ok(result)
}
