//! `Mallorn.toml`: the declarative description of model lineages, device targets, codec policy,
//! signing and outputs, with validation that reports problems with source spans: every unknown
//! key and rule in one run, except that a value of the wrong type stops the reading of its
//! table (`[codec]`, one `[[target]]`, ...).
//!
//! ```no_run
//! let loaded = mallorn_manifest::Manifest::load("Mallorn.toml")?;
//! for target in &loaded.targets {
//!     for (model, slots) in loaded.carried_models(target) {
//!         println!("{}: {} in {:#x}", target.sku, model.name, target.flash.address_of(slots.slot_a));
//!     }
//! }
//! # Ok::<(), mallorn_manifest::ManifestError>(())
//! ```
//!
//! Pipeline: TOML syntax → unknown keys (a walk over the JSON schema) → typed sections (the
//! `raw` types, which the schema is derived from) → rules (`validate`) → [`Manifest`]. All
//! stages report into one [`Diagnostics`] list.
#![forbid(unsafe_code)]

mod de_error;
mod diagnostic;
mod error;
mod load;
mod located;
mod model;
mod names;
mod raw;
mod schema;
mod size;
mod suggest;
mod unknown_keys;
mod validate;

pub use diagnostic::{Diagnostic, Diagnostics, LineCol, Related, Severity, Span};
pub use error::{InvalidManifest, ManifestError};
pub use load::MAX_MANIFEST_SIZE;
pub use model::{
    BootSettings, CodecMode, CodecPolicy, Decoder, Effort, FlashGeometry, KeySource,
    LoadedManifest, LossyPolicy, Manifest, Model, ModelFormat, ModelSlots, Output, PatternBound,
    QualityGate, Region, RegionKind, Release, ResolvedPath, Signing, Target, TensorBound,
};
pub use names::{is_valid_model_name, is_valid_sku, matches_pattern};
pub use schema::json_schema;
pub use size::{ByteSize, SizeError, format_size, parse_size};
pub use suggest::{closest, edit_distance};
pub use validate::MIN_RAM_BUFFER;

/// The file name `cargo mallorn` looks for.
pub const MANIFEST_FILE_NAME: &str = "Mallorn.toml";
