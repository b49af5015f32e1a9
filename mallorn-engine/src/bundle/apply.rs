//! Host-side application of a bundle with the runtime's own decoder, optionally after the
//! runtime's admission checks (signature, SKU, model, counter, base, payload digest).

use std::path::Path;

use mallorn_runtime::apply::PayloadStream;
use mallorn_runtime::apply::trace::Trace;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::hash::sha256;
use mallorn_runtime::image::{ResultImage, SliceResult};

pub use mallorn_files::{FileApplied, FileApplyError, FileApplyOptions, WRITE_BUFFER};
use mallorn_files::{MAX_WORK_LEN, apply_to_file};

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
    /// The header states more work RAM than any Mallorn decoder needs.
    #[error(
        "the bundle states {len} bytes of work RAM, more than the {MAX_WORK_LEN} a host applier gives"
    )]
    WorkTooLarge {
        /// Stated work RAM.
        len: u32,
    },
    /// The bundle failed verification (signature, SKU, model, counter, base or payload).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The runtime refused the bundle (a wrong base is [`mallorn_runtime::Error::WrongBase`]).
    #[error(transparent)]
    Runtime(#[from] mallorn_runtime::Error),
    /// The result could not be written to its file, or the runtime refused it there.
    #[error(transparent)]
    File(#[from] FileApplyError),
}

impl ApplyError {
    /// The runtime's reason, if a runtime check refused the bundle.
    pub fn runtime_error(&self) -> Option<mallorn_runtime::Error> {
        match self {
            Self::Runtime(e) => Some(*e),
            Self::Verify(e) => e.runtime_error(),
            Self::File(FileApplyError::Runtime(e)) => Some(*e),
            _ => None,
        }
    }
}

/// The header and payload of `bundle` (signature not checked), once `base` is the base it names.
pub(super) fn parts_for_base<'b>(
    bundle: &'b [u8],
    base: &[u8],
) -> Result<(BundleHeader, &'b [u8]), ApplyError> {
    let (header_bytes, rest) = bundle
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(ApplyError::TooShort { len: bundle.len() })?;
    let header = BundleHeader::parse(header_bytes)?;
    let payload = rest
        .get(SIGNED_BUNDLE_PREFIX - HEADER_LEN..)
        .ok_or(ApplyError::TooShort { len: bundle.len() })?;
    check_host_base(&header, base)?;
    Ok((header, payload))
}

/// Applies `bundle` to `base` and returns the result, checked against the header's digests.
/// Signatures are not checked here: this is the writer's self-check of a bundle it just built.
/// Bundles from elsewhere go through [`apply_signed_bundle`].
pub fn apply_bundle(bundle: &[u8], base: &[u8]) -> Result<Vec<u8>, ApplyError> {
    let (header, payload) = parts_for_base(bundle, base)?;
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

/// Verifies `bundle` like [`apply_signed_bundle`], then applies it to `output` with
/// [`mallorn_files::apply_to_file`]: streaming in bounded memory (the decoder's work buffer
/// plus [`WRITE_BUFFER`]; pass memory-mapped inputs, as `cargo mallorn apply` does), durable
/// checkpoints that a rerun after a kill resumes from, and `output` created or replaced only
/// by the complete result once its SHA-256 matches the signed header.
pub fn apply_signed_bundle_to_file(
    bundle: &[u8],
    base: &[u8],
    policy: &VerifyPolicy<'_>,
    output: &Path,
    options: &FileApplyOptions,
) -> Result<(VerifiedHeader, FileApplied), ApplyError> {
    let verified = verify_bundle_with(bundle, policy, Some(base))?;
    let applied = apply_to_file(bundle, &verified.header, base, output, options)?;
    Ok((verified, applied))
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
    let trace = decode_into(
        header,
        payload,
        base,
        &mut SliceResult::new(&mut result),
        trace,
    )?;
    if sha256(&result) != header.result_sha256 {
        return Err(mallorn_runtime::Error::ResultHashMismatch.into());
    }
    Ok((result, trace))
}

/// A work buffer for the runtime's payload stream: the RAM the header states, at least 64 KiB
/// (a larger output buffer means fewer, larger writes).
pub(super) fn work_buffer(header: &BundleHeader) -> Result<Vec<u8>, ApplyError> {
    if header.ram_required > MAX_WORK_LEN {
        return Err(ApplyError::WorkTooLarge {
            len: header.ram_required,
        });
    }
    Ok(vec![0; header.ram_required.max(64 * 1024) as usize])
}

/// Runs the runtime's payload stream over `payload` into `sink`, to the end of the payload.
/// The result's hash is the caller's to check.
fn decode_into<R: ResultImage>(
    header: &BundleHeader,
    payload: &[u8],
    base: &[u8],
    sink: &mut R,
    trace: bool,
) -> Result<Option<Trace>, ApplyError> {
    let mut work = work_buffer(header)?;
    let mut stream = PayloadStream::new(header, &mut work)?;
    if trace {
        stream.decoder().enable_trace();
    }
    let mut base_image: &[u8] = base;
    let mut rest = payload;
    // Every call reports a checkpoint (a chunk more), fails, or ends with all consumed.
    loop {
        let fed = stream.feed(rest, &mut base_image, sink)?;
        rest = &rest[fed.consumed..];
        if fed.checkpoint.is_none() {
            break;
        }
    }
    let trace = stream.decoder().take_trace();
    stream.finish()?;
    Ok(trace)
}
