//! Verifying a whole bundle on the host with the runtime's own checks: header structure and
//! signature ([`authenticate_with_policy`]), then SKU, model and counter where the caller knows
//! them, the base when given, and the payload's length and SHA-256. Nothing here re-implements
//! a check; the order is the device's.

use mallorn_runtime::format::{
    BundleHeader, Flags, HEADER_LEN, SIGNATURE_LEN, SIGNED_BUNDLE_PREFIX,
};
use mallorn_runtime::verify::{
    TrustedKey, UnsignedPolicy, authenticate_with_policy, check_base, check_counter, check_model,
    check_payload, check_sku,
};

use crate::signing::public_key::PublicKey;

/// What a bundle is checked against on the host.
#[derive(Debug, Clone, Default)]
pub struct VerifyPolicy<'k> {
    /// Keys whose signatures are accepted (one or more, for rotation).
    pub trusted_keys: &'k [PublicKey],
    /// Accept bundles without a signature (`--allow-unsigned`). Devices never do unless their
    /// firmware admits with the runtime's `UnsignedDevelopmentAdmit`.
    pub allow_unsigned: bool,
    /// The SKU the bundle must be for, if known.
    pub sku_id: Option<[u8; 8]>,
    /// The model the bundle must update, if known.
    pub model_id: Option<[u8; 8]>,
    /// The device's committed security counter, if known; the bundle's must be greater.
    pub committed_counter: Option<u64>,
}

impl<'k> VerifyPolicy<'k> {
    /// Signed bundles from `trusted_keys`, no device facts.
    pub fn trusting(trusted_keys: &'k [PublicKey]) -> Self {
        Self {
            trusted_keys,
            ..Self::default()
        }
    }
}

/// A bundle header that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHeader {
    /// The authentic header.
    pub header: BundleHeader,
    /// Id of the trusted key that signed it; `None` for an unsigned bundle that the policy
    /// allowed.
    pub signed_by: Option<[u8; 8]>,
    /// Whether a base was checked against the header (false when none was given; full-image
    /// bundles need none and report true).
    pub base_checked: bool,
}

/// Why a bundle failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The bytes are shorter than a header and signature.
    #[error(
        "bundle is {len} bytes, shorter than its {SIGNED_BUNDLE_PREFIX}-byte header and signature"
    )]
    TooShort {
        /// Bundle length.
        len: usize,
    },
    /// A runtime check refused the bundle; the variant names which.
    #[error(transparent)]
    Rejected(#[from] mallorn_runtime::Error),
}

impl VerifyError {
    /// The runtime's reason, if a runtime check refused the bundle.
    pub fn runtime_error(&self) -> Option<mallorn_runtime::Error> {
        match self {
            Self::Rejected(e) => Some(*e),
            Self::TooShort { .. } => None,
        }
    }
}

/// Verifies a signed bundle against `trusted_keys` and, if given, the base it must apply to.
pub fn verify_bundle(
    bundle: &[u8],
    trusted_keys: &[PublicKey],
    base: Option<&[u8]>,
) -> Result<VerifiedHeader, VerifyError> {
    verify_bundle_with(bundle, &VerifyPolicy::trusting(trusted_keys), base)
}

/// Verifies a bundle under `policy` and, if given, against the base it must apply to.
pub fn verify_bundle_with(
    bundle: &[u8],
    policy: &VerifyPolicy<'_>,
    base: Option<&[u8]>,
) -> Result<VerifiedHeader, VerifyError> {
    let too_short = VerifyError::TooShort { len: bundle.len() };
    let (header_bytes, rest) = bundle.split_first_chunk::<HEADER_LEN>().ok_or(too_short)?;
    let (signature, payload) = rest
        .split_first_chunk::<SIGNATURE_LEN>()
        .ok_or(VerifyError::TooShort { len: bundle.len() })?;

    let trusted: Vec<TrustedKey> = policy
        .trusted_keys
        .iter()
        .map(PublicKey::trusted_key)
        .collect();
    let unsigned = if policy.allow_unsigned {
        UnsignedPolicy::Accept
    } else {
        UnsignedPolicy::Reject
    };
    let header = authenticate_with_policy(header_bytes, signature, &trusted, unsigned)?;
    if let Some(sku_id) = policy.sku_id {
        check_sku(&header, sku_id)?;
    }
    if let Some(model_id) = policy.model_id {
        check_model(&header, model_id)?;
    }
    if let Some(counter) = policy.committed_counter {
        check_counter(&header, counter)?;
    }
    let full_image = header.flags.contains(Flags::FULL_IMAGE);
    if let Some(base) = base {
        check_host_base(&header, base)?;
    }
    check_payload(&header, payload)?;
    Ok(VerifiedHeader {
        signed_by: (!header.flags.contains(Flags::UNSIGNED)).then_some(header.key_id),
        base_checked: full_image || base.is_some(),
        header,
    })
}

/// The base check for a base held in memory on the host. A device's slot may be longer than
/// the model in it; a base file on the host is the model, so its length must match too.
pub(crate) fn check_host_base(
    header: &BundleHeader,
    mut base: &[u8],
) -> Result<(), mallorn_runtime::Error> {
    if !header.flags.contains(Flags::FULL_IMAGE) && base.len() as u64 != header.base_len {
        return Err(mallorn_runtime::Error::WrongBase);
    }
    let mut scratch = vec![0; 64 * 1024];
    check_base(header, &mut base, &mut scratch)
}
