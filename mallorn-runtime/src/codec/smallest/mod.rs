//! The smallest codec: operations in output order whose every decision is coded by the
//! binary range coder with adaptive, context-selected probabilities. Values of typed
//! operations are coded in their own domain with per-field statistics (see `values`).

#[cfg_attr(not(feature = "smallest"), allow(dead_code))]
pub(crate) mod blocks;
#[cfg_attr(not(feature = "smallest"), allow(dead_code))]
pub(crate) mod decoder;
#[cfg_attr(not(feature = "smallest"), allow(dead_code))]
pub(crate) mod elements;
// Host-only (the engine's encoder): its invariant checks on planned operations may panic.
#[cfg(feature = "encode")]
#[allow(clippy::expect_used)]
pub mod encoder;
pub mod lz;
#[cfg_attr(not(feature = "smallest"), allow(dead_code))]
pub(crate) mod model;
pub mod ops;
#[cfg_attr(not(feature = "smallest"), allow(dead_code))]
pub(crate) mod primitives;
pub mod profile;
#[cfg_attr(not(feature = "smallest"), allow(dead_code))]
pub(crate) mod scaling;
#[cfg_attr(not(feature = "smallest"), allow(dead_code))]
pub(crate) mod values;

pub use model::model_bytes;
pub use profile::Profile;
// Without the `smallest` feature the decoder's modules stay compiled (the encoder, the work-RAM
// arithmetic and the host tools share their types and constants) but nothing reaches their
// decoding code, so none of it is linked.
