//! Host-side application of a bundle with the runtime's own decoder, optionally after the
//! runtime's admission checks (signature, SKU, model, counter, base, payload digest).

use std::path::{Path, PathBuf};

use mallorn_runtime::apply::PayloadStream;
use mallorn_runtime::apply::trace::Trace;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::hash::sha256;
use mallorn_runtime::image::{ResultImage, SliceResult};

use super::file_result::FileResult;
pub use super::file_result::WRITE_BUFFER;
use crate::atomic_write::{AtomicWriteError, write_atomically_with};
use crate::signing::verify::check_host_base;
use crate::signing::{VerifiedHeader, VerifyError, VerifyPolicy, verify_bundle_with};

/// The most work RAM a host applier allocates for a bundle (any real bundle needs far less:
/// the largest profile with the longest segments is about 110 KiB).
pub const MAX_HOST_WORK_LEN: u32 = 16 << 20;

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
        "the bundle states {len} bytes of work RAM, more than the {MAX_HOST_WORK_LEN} a host applier gives"
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

/// Verifies `bundle` like [`apply_signed_bundle`] and streams the result into `output`
/// atomically: the result goes through a bounded buffer into a temporary file beside
/// `output`, is hashed on the way, and replaces `output` only once its SHA-256 matches the
/// signed header. On any error `output` is neither created nor changed. Memory stays at the
/// decoder's work buffer plus [`WRITE_BUFFER`] whatever the model size (pass memory-mapped
/// inputs, as `cargo mallorn apply` does, to keep them out of anonymous memory too).
pub fn apply_signed_bundle_to_file(
    bundle: &[u8],
    base: &[u8],
    policy: &VerifyPolicy<'_>,
    output: &Path,
) -> Result<VerifiedHeader, ApplyError> {
    let verified = verify_bundle_with(bundle, policy, Some(base))?;
    let header = &verified.header;
    let payload = &bundle[SIGNED_BUNDLE_PREFIX..];
    let write_error = |source| ApplyError::Write {
        path: output.to_owned(),
        source,
    };
    write_atomically_with(output, |file| {
        let mut sink = FileResult::new(file);
        let decoded = decode_into(header, payload, base, &mut sink, false);
        if let Err(error) = decoded {
            // A flash error from the sink is an I/O error writing the output.
            return Err(match sink.take_io_error() {
                Some(source) => write_error(source),
                None => error,
            });
        }
        if sink.len() != header.result_len {
            return Err(mallorn_runtime::Error::PayloadTruncated.into());
        }
        if sink.finish().map_err(write_error)? != header.result_sha256 {
            return Err(mallorn_runtime::Error::ResultHashMismatch.into());
        }
        Ok(())
    })
    .map_err(|error| match error {
        AtomicWriteError::Io(source) => write_error(source),
        AtomicWriteError::Fill(error) => error,
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

/// Runs the runtime's payload stream over `payload` into `sink`, to the end of the payload.
/// The result's hash is the caller's to check.
fn decode_into<R: ResultImage>(
    header: &BundleHeader,
    payload: &[u8],
    base: &[u8],
    sink: &mut R,
    trace: bool,
) -> Result<Option<Trace>, ApplyError> {
    if header.ram_required > MAX_HOST_WORK_LEN {
        return Err(ApplyError::WorkTooLarge {
            len: header.ram_required,
        });
    }
    // At least 64 KiB: a larger output buffer means fewer, larger writes.
    let mut work = vec![0; header.ram_required.max(64 * 1024) as usize];
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
