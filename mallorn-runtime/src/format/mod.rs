//! The bundle wire format, defined once: the fixed signed header, the payload's segment
//! chain and chunk framing, and the variable-length integers used inside it. See
//! `docs/bundle-format.md`.

pub mod chunk;
pub mod header;
pub mod ids;
pub mod segments;
pub mod varint;
pub mod version;

pub use chunk::{ChunkHeader, ChunkHeaderReader};
pub use header::{
    BundleHeader, Decoders, Flags, HEADER_LEN, SIGNATURE_LEN, SIGNED_BUNDLE_PREFIX,
    error_bound_matches,
};
pub use ids::{key_id, model_id, sku_id};
pub use version::ModelVersion;
