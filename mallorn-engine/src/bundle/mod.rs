//! Bundles on the host: assembling header, signature and payload into bytes, and applying a
//! bundle with the runtime's own decoder (every bundle is applied and checked before it is
//! returned to a caller).

pub mod apply;
pub mod build;
mod expected_result;
mod self_check;
pub mod writer;

pub use apply::{
    ApplyError, FileApplied, FileApplyError, FileApplyOptions, apply_bundle, apply_signed_bundle,
    apply_signed_bundle_to_file,
};
pub use build::{BuildError, BuiltBundle, BundleRequest, build_bundle};
pub use writer::{BundleIdentity, PayloadBuilder};
