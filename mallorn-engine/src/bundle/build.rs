//! One call from inputs to a finished bundle: code the payload, lay out the header, apply the
//! bundle with the runtime's own decoder and compare the result with the result, then sign.
//! No bundle leaves this function without having been applied once.

use mallorn_runtime::format::{BundleHeader, Flags, HEADER_LEN, ModelVersion, SIGNATURE_LEN};

use super::apply::ApplyError;
use super::self_check::bundle_gives;
use super::writer::{BundleIdentity, PayloadBuilder, assemble_unsigned};
use crate::delta::{EncodeError, EncodeOptions, PlanKind, encode};
use crate::signing::{SignError, SigningKey, sign_bundle};

/// What to build.
#[derive(Debug, Clone)]
pub struct BundleRequest<'a> {
    /// The base the device holds, or `None` for a full-image bundle that applies to any base.
    pub base: Option<&'a [u8]>,
    /// The model the bundle produces.
    pub result: &'a [u8],
    /// Model, SKU, versions and counter bound into the header.
    pub identity: BundleIdentity,
    /// Chunking and codec profile.
    pub options: EncodeOptions,
    /// The signing key; `None` leaves the bundle unsigned (for development only).
    pub key: Option<&'a SigningKey>,
}

/// A finished bundle.
#[derive(Debug, Clone)]
pub struct BuiltBundle {
    /// The bundle bytes.
    pub bytes: Vec<u8>,
    /// Its header (signed fields included).
    pub header: BundleHeader,
    /// Which plan the payload came from.
    pub plan: PlanKind,
}

/// Why a bundle could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An input is not the format the options declare (or no model at all without `raw`).
    #[error(transparent)]
    Input(#[from] Box<EncodeError>),
    /// Applying the freshly built bundle did not reproduce the result: a Mallorn bug. The
    /// bundle is discarded.
    #[error("internal error: the bundle failed its self-check ({0}); please report this")]
    SelfCheck(ApplyError),
    /// The applied bundle produced different bytes than the result: a Mallorn bug.
    #[error("internal error: the bundle's result differs from the result; please report this")]
    SelfCheckMismatch,
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Builds, self-checks and (with a key) signs a bundle.
pub fn build_bundle(request: &BundleRequest<'_>) -> Result<BuiltBundle, BuildError> {
    let encoded = encode(request.base, request.result, &request.options).map_err(Box::new)?;
    let (bytes, header) = finish(
        &encoded.payload,
        request.base,
        request.result,
        &request.identity,
        request.key,
    )?;
    Ok(BuiltBundle {
        bytes,
        header,
        plan: encoded.plan,
    })
}

/// Lays out the header for a coded `payload`, applies the bundle to `base` (nothing, for a
/// full image) with the runtime's decoder, compares the result with `result` and then signs
/// with `key`. Returns the bundle and its final (signed) header.
pub(crate) fn finish(
    payload: &PayloadBuilder,
    base: Option<&[u8]>,
    result: &[u8],
    identity: &BundleIdentity,
    key: Option<&SigningKey>,
) -> Result<(Vec<u8>, BundleHeader), BuildError> {
    let (_, unsigned) = payload.unsigned_bundle(identity, base, result);
    if !bundle_gives(&unsigned, base.unwrap_or(&[]), result).map_err(BuildError::SelfCheck)? {
        return Err(BuildError::SelfCheckMismatch);
    }
    let bytes = match key {
        Some(key) => sign_bundle(&unsigned, key)?,
        None => unsigned,
    };
    let header_bytes: &[u8; HEADER_LEN] =
        bytes[..HEADER_LEN].try_into().expect("bundle has a header");
    let header = BundleHeader::parse(header_bytes).expect("a header this crate wrote parses");
    Ok((bytes, header))
}

/// `bundle` (a full image this build made) under a header whose from-version is
/// `from_version`, signed again with `key` (or left unsigned). The payload and every other
/// header field are unchanged: a full image does not depend on the release it replaces.
pub(crate) fn with_from_version(
    bundle: &[u8],
    from_version: ModelVersion,
    key: Option<&SigningKey>,
) -> Result<(Vec<u8>, BundleHeader), BuildError> {
    let (header_bytes, rest) = bundle
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(SignError::TooShort { len: bundle.len() })?;
    let mut header = BundleHeader::parse(header_bytes).map_err(SignError::from)?;
    let payload = rest
        .get(SIGNATURE_LEN..)
        .ok_or(SignError::TooShort { len: bundle.len() })?;
    header.from_version = from_version;
    header.flags = Flags(header.flags.0 | Flags::UNSIGNED);
    header.key_id = [0; 8];
    let unsigned = assemble_unsigned(&header, payload);
    let bytes = match key {
        Some(key) => sign_bundle(&unsigned, key)?,
        None => unsigned,
    };
    let (signed_header, _) = bytes
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(SignError::TooShort { len: bytes.len() })?;
    let header = BundleHeader::parse(signed_header).map_err(SignError::from)?;
    Ok((bytes, header))
}
