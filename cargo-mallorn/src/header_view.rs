//! One JSON view of a bundle header, shared by `inspect --json` and `verify --message-format
//! json`. Field names follow the runtime's `BundleHeader` (`result_len`, `result_sha256`, ...);
//! digests and ids are hex, decoders and flags are arrays of names. A new header field is one
//! line in the [`header_view!`] list below.

use mallorn_engine::signing::hex;
use mallorn_runtime::format::header::FORMAT_VERSION;
use mallorn_runtime::format::{BundleHeader, Flags};
use serde::Serialize;

/// Declares [`HeaderView`] and its conversion from a header: one line per field, as
/// `name: type = expression of h`.
macro_rules! header_view {
    ($h:ident => { $($(#[doc = $doc:literal])* $name:ident: $ty:ty = $value:expr,)* }) => {
        /// A bundle header as reported to tools (see the module documentation).
        #[derive(Debug, Clone, PartialEq, Serialize)]
        pub struct HeaderView {
            $($(#[doc = $doc])* pub $name: $ty,)*
        }

        impl From<&BundleHeader> for HeaderView {
            fn from($h: &BundleHeader) -> Self {
                Self { $($name: $value,)* }
            }
        }
    };
}

header_view!(h => {
    /// Bundle format version.
    format_version: u16 = FORMAT_VERSION,
    /// Flag names: `lossless`, `full_image`, `unsigned`.
    flags: Vec<&'static str> = flag_names(h.flags),
    /// Decoders the payload uses (`stored`, `fast`, `smallest`).
    decoders: Vec<&'static str> = h.decoders.names().collect(),
    /// Model-size profile of the smallest decoder.
    coder_profile: u8 = h.coder_profile,
    /// Chunk alignment in bytes.
    chunk_align: u64 = h.chunk_align(),
    /// Signing key id (zero when unsigned).
    key_id: String = hex(&h.key_id),
    /// Model id.
    model_id: String = hex(&h.model_id),
    /// SKU id.
    sku_id: String = hex(&h.sku_id),
    /// Release of the base.
    from_version: String = h.from_version.to_string(),
    /// Release of the result.
    to_version: String = h.to_version.to_string(),
    /// Anti-rollback counter.
    security_counter: u64 = h.security_counter,
    /// Base length (0 for a full image).
    base_len: u64 = h.base_len,
    /// Base SHA-256.
    base_sha256: String = hex(&h.base_sha256),
    /// Result length.
    result_len: u64 = h.result_len,
    /// Result SHA-256.
    result_sha256: String = hex(&h.result_sha256),
    /// Payload length.
    payload_len: u64 = h.payload_len,
    /// SHA-256 of the first payload segment (the head of the payload's hash chain).
    payload_sha256: String = hex(&h.payload_sha256),
    /// Bytes per authenticated payload segment.
    segment_len: u64 = 1u64 << h.segment_log2,
    /// Work RAM the applier needs.
    ram_required: u32 = h.ram_required,
    /// Error bound of a lossy result (`f32` bits; 0 when lossless).
    error_bound_bits: u32 = h.error_bound_bits,
    /// Largest absolute error of any weight of a lossy result against its release file;
    /// null when the result is the release file itself.
    error_bound: Option<f32> = error_bound(h),
});

/// The error bound of a lossy header, `None` for a lossless one.
pub fn error_bound(h: &BundleHeader) -> Option<f32> {
    (!h.flags.contains(Flags::LOSSLESS)).then(|| f32::from_bits(h.error_bound_bits))
}

/// What the result is, for the human reports of `inspect` and `verify`.
pub fn fidelity_text(h: &BundleHeader) -> String {
    match error_bound(h) {
        None => "lossless (the release file itself)".to_owned(),
        Some(bound) => {
            format!("lossy shipped image: every weight within {bound:e} of the release file")
        }
    }
}

/// The names of the flags set, as identifiers.
pub fn flag_names(flags: Flags) -> Vec<&'static str> {
    [
        (Flags::LOSSLESS, "lossless"),
        (Flags::FULL_IMAGE, "full_image"),
        (Flags::UNSIGNED, "unsigned"),
    ]
    .into_iter()
    .filter(|&(bit, _)| flags.contains(bit))
    .map(|(_, name)| name)
    .collect()
}
