//! The smallest codec: operations in output order whose every decision is coded by the
//! binary range coder with adaptive, context-selected probabilities. Values of typed
//! operations are coded in their own domain with per-field statistics (see `values`).

pub(crate) mod decoder;
pub(crate) mod elements;
// Host-only (the engine's encoder): its invariant checks on planned operations may panic.
#[cfg(feature = "encode")]
#[allow(clippy::expect_used)]
pub mod encoder;
pub mod lz;
pub(crate) mod model;
pub mod ops;
pub(crate) mod primitives;
pub mod profile;
pub(crate) mod scaling;
pub(crate) mod values;

pub use model::model_bytes;
pub use profile::Profile;
