//! What is inside a bundle: its header, its chunks, and (when the base is at hand) how many
//! payload bytes each kind of operation and each tensor of the result took.

pub mod bundle;

pub use bundle::{BundleReport, KindStats, TensorStats, inspect_bundle};
