//! Signing a bundle: the writer builds it unsigned (flag `UNSIGNED`, key id 0, zero
//! signature); signing writes the key id, clears the flag and puts the Ed25519 signature of
//! the 200 header bytes after them. The payload is untouched: the header already binds its
//! length and SHA-256.

use mallorn_runtime::format::{BundleHeader, Flags, HEADER_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::verify::check_payload;

use crate::signing::signing_key::SigningKey;

/// Why a bundle could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The bytes are shorter than a header and signature.
    #[error(
        "bundle is {len} bytes, shorter than its {SIGNED_BUNDLE_PREFIX}-byte header and signature"
    )]
    TooShort {
        /// Bundle length.
        len: usize,
    },
    /// The header is malformed or does not describe the payload that follows it.
    #[error("refusing to sign a malformed bundle: {0}")]
    Malformed(#[from] mallorn_runtime::Error),
}

/// Signs `bundle` (unsigned, or signed before by any key) with `key`. The result is
/// byte-identical for the same bundle and key.
pub fn sign_bundle(bundle: &[u8], key: &SigningKey) -> Result<Vec<u8>, SignError> {
    let (header_bytes, rest) = bundle
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(SignError::TooShort { len: bundle.len() })?;
    let payload = rest
        .get(SIGNED_BUNDLE_PREFIX - HEADER_LEN..)
        .ok_or(SignError::TooShort { len: bundle.len() })?;
    let mut header = BundleHeader::parse(header_bytes)?;
    // Never put a signature on a header that does not describe its payload.
    check_payload(&header, payload)?;
    header.flags = Flags(header.flags.0 & !Flags::UNSIGNED);
    header.key_id = key.key_id();
    let header_bytes = header.to_bytes();
    let signature = key.sign(&header_bytes);

    let mut signed = Vec::with_capacity(bundle.len());
    signed.extend_from_slice(&header_bytes);
    signed.extend_from_slice(&signature);
    signed.extend_from_slice(payload);
    Ok(signed)
}
