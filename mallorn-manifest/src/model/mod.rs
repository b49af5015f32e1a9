//! The validated manifest: plain typed data with resolved paths, what the build step consumes.

mod codec;
mod lineage;
mod lossy;
mod manifest;
mod output;
mod path;
mod signing;
mod target;

pub use codec::{CodecMode, CodecPolicy, Decoder, Effort};
pub use lineage::{Model, ModelFormat, Release};
pub use lossy::{LossyPolicy, PatternBound, QualityGate, TensorBound};
pub use manifest::{LoadedManifest, Manifest};
pub use output::Output;
pub use path::ResolvedPath;
pub use signing::{KeySource, Signing};
pub use target::{BootSettings, FlashGeometry, ModelSlots, Region, RegionKind, Target};
