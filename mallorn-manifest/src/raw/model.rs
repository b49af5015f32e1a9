//! `[[model]]` and its `[[model.release]]` lineage, as written.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::located::Located;
use crate::model::ModelFormat;
use crate::raw::{RawGate, RawLossy};

/// A model shipped to devices, with its releases oldest first.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "Model")]
pub(crate) struct RawModel {
    /// Unique name: lower-case letters, digits, `-` and `_`. Used in generated symbol names.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]*$"))]
    pub name: Located<String>,
    /// File format of the releases; `auto` detects it from the file contents.
    #[schemars(extend("default" = "auto"))]
    pub format: Option<Located<ModelFormat>>,
    /// The lineage: releases oldest first, with strictly increasing versions.
    #[schemars(required, length(min = 1))]
    pub release: Option<Vec<RawRelease>>,
    /// Ship releases within error bounds instead of byte-exactly (docs/lossy.md).
    pub lossy: Option<Located<RawLossy>>,
    /// The quality gate of a lossy model: an evaluation command and the lowest score.
    pub gate: Option<Located<RawGate>>,
}

/// One release of a model.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "Release")]
pub(crate) struct RawRelease {
    /// Semantic version (MAJOR.MINOR.PATCH), greater than the previous release's.
    pub version: Located<String>,
    /// The model file, relative to the directory holding Mallorn.toml.
    pub path: Located<String>,
    /// Anti-rollback security counter; must strictly increase along the lineage. Default: the
    /// release's 1-based position in the lineage.
    #[schemars(range(min = 0, max = 4_294_967_295_u32))]
    pub counter: Option<Located<u32>>,
    /// Lossy models only: the shipped image this release was published with (as the build
    /// wrote it to `shipped/<model>/`), relative to the directory holding Mallorn.toml. The
    /// build uses it instead of deriving the image again (after proving it against `path`),
    /// so a later change of `[model.lossy]` cannot change what devices already hold.
    pub shipped: Option<Located<String>>,
}
