//! Mallorn.toml as written: every section with the span of each value, before validation.
//!
//! These types are the single source of truth for the file's shape: serde reads them and
//! schemars derives the JSON schema from them (doc comments become the descriptions editors
//! show). Unknown keys are not rejected by serde (`deny_unknown_fields` would stop at the first
//! one); `unknown_keys` finds them all by walking the schema instead.

mod codec;
mod entries;
mod lossy;
mod model;
mod output;
mod signing;
mod target;

pub(crate) use codec::{RawCodec, RawCodecMode};
pub(crate) use entries::Entries;
pub(crate) use lossy::{RawGate, RawLossy};
pub(crate) use model::{RawModel, RawRelease};
pub(crate) use output::RawOutput;
pub(crate) use signing::RawSigning;
pub(crate) use target::{RawFlash, RawRegion, RawTarget, RawTargetLayout, RawTargetModel};

use schemars::JsonSchema;

use crate::located::Located;

/// Mallorn.toml: model lineages, device targets, codec policy, signing and outputs for
/// `cargo mallorn`. Reference: docs/mallorn-toml.md.
#[derive(Debug, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, title = "Mallorn.toml")]
pub(crate) struct RawManifest {
    /// Version of the Mallorn.toml format. This release of Mallorn reads `1`.
    #[schemars(required, extend("const" = 1))]
    pub schema_version: Option<Located<u32>>,
    /// A model and its lineage of releases (oldest first). One `[[model]]` per model.
    #[serde(default)]
    pub model: Vec<RawModel>,
    /// Workspace-wide codec policy; targets may override parts of it in `[target.codec]`.
    #[serde(default)]
    pub codec: Option<Located<RawCodec>>,
    /// Where the signing key comes from and which public keys devices trust.
    #[serde(default)]
    pub signing: Option<Located<RawSigning>>,
    /// Where generated bundles and source files go.
    #[serde(default)]
    pub output: Option<Located<RawOutput>>,
    /// A device target (SKU): its flash geometry and the slots of each model it carries.
    #[serde(default)]
    pub target: Vec<RawTarget>,
    /// `schema-version` is present, even if its value could not be read (already reported).
    #[schemars(skip)]
    pub schema_version_written: bool,
    /// Names of `[[model]]` elements that could not be read (already reported).
    #[schemars(skip)]
    pub unreadable_models: Vec<String>,
    /// The layouts of `[[target]]` elements that could not be read whole (already reported):
    /// checked for the problems their other values do not hide.
    #[schemars(skip)]
    pub unreadable_target_layouts: Vec<RawTargetLayout>,
}
