//! `[output]`, as written.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::located::Located;

/// Where generated files go. Paths are relative to Mallorn.toml; a file whose key is absent is
/// not generated into the source tree.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "Output")]
pub(crate) struct RawOutput {
    /// Directory for bundles and reports. Default: `<cargo target dir>/mallorn`.
    pub dir: Option<Located<String>>,
    /// Generated Rust include (slot layout constants, trusted keys).
    pub rust: Option<Located<String>>,
    /// Generated C header with the same constants.
    pub c_header: Option<Located<String>>,
    /// Generated linker script fragment (MEMORY regions for the slots).
    pub linker: Option<Located<String>>,
    /// Directory of user templates overriding the built-in ones.
    pub templates: Option<Located<String>>,
}
