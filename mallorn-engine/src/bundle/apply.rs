//! Host-side application of a bundle with the runtime's own decoder, optionally after the
//! runtime's admission checks (signature, SKU, model, counter, base, payload digest).

use std::path::{Path, PathBuf};

use mallorn_runtime::apply::PayloadStream;
use mallorn_runtime::apply::trace::Trace;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::hash::sha256;
use mallorn_runtime::image::SliceResult;

use crate::atomic_write::write_atomically;
use crate::signing::verify::check_host_base;
use crate::signing::{VerifiedHeader, VerifyError, VerifyPolicy, verify_bundle_with};

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
    /// The result would not fit in memory on this host.
    #[error("result of {len} bytes is too large for this host")]
    ResultTooLarge {
        /// Declared result length.
        len: u64,
    },
    /// The bundle failed verification (signature, SKU, model, counter, base or payload).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The runtime refused the bundle (a wrong base is [`mallorn_runtime::Error::WrongBase`]).
    #[error(transparent)]
    Runtime(#[from] mallorn_runtime::Error),
    /// The result could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl ApplyError {
    /// The runtime's reason, if a runtime check refused the bundle.
    pub fn runtime_error(&self) -> Option<mallorn_runtime::Error> {
        match self {
            Self::Runtime(e) => Some(*e),
            Self::Verify(e) => e.runtime_error(),
            _ => None,
        }
    }
}

/// Applies `bundle` to `base` and returns the result, checked against the header's digests.
/// Signatures are not checked here: this is the writer's self-check of a bundle it just built.
/// Bundles from elsewhere go through [`apply_signed_bundle`].
pub fn apply_bundle(bundle: &[u8], base: &[u8]) -> Result<Vec<u8>, ApplyError> {
    let (header_bytes, rest) = bundle
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(ApplyError::TooShort { len: bundle.len() })?;
    let header = BundleHeader::parse(header_bytes)?;
    let payload = rest
        .get(SIGNED_BUNDLE_PREFIX - HEADER_LEN..)
        .ok_or(ApplyError::TooShort { len: bundle.len() })?;
    check_host_base(&header, base)?;
    decode(&header, payload, base)
}

/// Verifies `bundle` under `policy` (its signature against the trusted keys, the device facts
/// the policy names, `base`, the payload digest) and only then decodes it. Returns the
/// verified header and the result, which the decoder has checked against the result SHA-256.
pub fn apply_signed_bundle(
    bundle: &[u8],
    base: &[u8],
    policy: &VerifyPolicy<'_>,
) -> Result<(VerifiedHeader, Vec<u8>), ApplyError> {
    let verified = verify_bundle_with(bundle, policy, Some(base))?;
    let result = decode(&verified.header, &bundle[SIGNED_BUNDLE_PREFIX..], base)?;
    Ok((verified, result))
}

/// [`apply_signed_bundle`], then writes the result to `output` atomically: on any error the
/// output file is neither created nor changed.
pub fn apply_signed_bundle_to_file(
    bundle: &[u8],
    base: &[u8],
    policy: &VerifyPolicy<'_>,
    output: &Path,
) -> Result<VerifiedHeader, ApplyError> {
    let (verified, result) = apply_signed_bundle(bundle, base, policy)?;
    write_atomically(output, &result).map_err(|source| ApplyError::Write {
        path: output.to_owned(),
        source,
    })?;
    Ok(verified)
}

/// Runs the runtime's payload decoder over an in-memory payload.
fn decode(header: &BundleHeader, payload: &[u8], base: &[u8]) -> Result<Vec<u8>, ApplyError> {
    decode_with(header, payload, base, false).map(|(result, _)| result)
}

/// Decodes a payload recording what each chunk and operation produced (for inspection).
pub fn decode_traced(
    header: &BundleHeader,
    payload: &[u8],
    base: &[u8],
) -> Result<(Vec<u8>, Trace), ApplyError> {
    decode_with(header, payload, base, true)
        .map(|(result, trace)| (result, trace.unwrap_or_default()))
}

fn decode_with(
    header: &BundleHeader,
    payload: &[u8],
    base: &[u8],
    trace: bool,
) -> Result<(Vec<u8>, Option<Trace>), ApplyError> {
    let result_len =
        usize::try_from(header.result_len).map_err(|_| ApplyError::ResultTooLarge {
            len: header.result_len,
        })?;
    let mut result = vec![0; result_len];
    let mut work = vec![0; header.ram_required.max(64 * 1024) as usize];
    let mut stream = PayloadStream::new(header, &mut work)?;
    if trace {
        stream.decoder().enable_trace();
    }
    let mut base_image: &[u8] = base;
    let mut sink = SliceResult::new(&mut result);
    let mut rest = payload;
    // Every call reports a checkpoint (a chunk more), fails, or ends with all consumed.
    loop {
        let fed = stream.feed(rest, &mut base_image, &mut sink)?;
        rest = &rest[fed.consumed..];
        if fed.checkpoint.is_none() {
            break;
        }
    }
    let trace = stream.decoder().take_trace();
    stream.finish()?;
    if sha256(&result) != header.result_sha256 {
        return Err(mallorn_runtime::Error::ResultHashMismatch.into());
    }
    Ok((result, trace))
}
