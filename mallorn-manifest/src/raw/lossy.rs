//! `[model.lossy]` and `[model.gate]`, as written.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::located::Located;

/// Lossy releases: from the second release on, devices get a *shipped image* whose weights
/// are within these bounds of the release file (each element proved at build time), derived
/// from the previous shipped image so that every bundle and the full image give the same
/// bytes. Reference: docs/lossy.md.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "Lossy")]
pub(crate) struct RawLossy {
    /// Largest absolute error allowed per float weight (f32, f16, bf16); a GGML Q8_0, Q4_0 or
    /// Q4_1 block may also keep its previous scale when every value, dequantised, stays
    /// within it. Without it, float tensors and block scales ship exactly.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub max_abs_error: Option<Located<f64>>,
    /// Largest change allowed per quantised value, in quantisation steps (int8 and uint8
    /// tensors, GGML Q8_0, Q4_0 and Q4_1 blocks; scales stay exact). Without it, quantised
    /// tensors ship exactly.
    #[schemars(range(min = 1, max = 127))]
    pub max_steps: Option<Located<u32>>,
    /// Tensors shipped exactly: name patterns (`*` any run of characters, `?` one), e.g.
    /// `["*norm*", "*.bias"]`.
    pub exclude: Option<Vec<Located<String>>>,
    /// Bounds for tensors whose name matches a pattern, instead of the model's; the first
    /// matching entry wins.
    pub tensor: Option<Vec<RawTensorBound>>,
}

/// The bound of the tensors whose name matches `pattern`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "TensorBound")]
pub(crate) struct RawTensorBound {
    /// Tensor name pattern (`*` any run of characters, `?` one).
    pub pattern: Located<String>,
    /// Largest absolute error per float weight of these tensors; absent: exact floats.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub max_abs_error: Option<Located<f64>>,
    /// Largest change per quantised value of these tensors, in steps; absent: exact.
    #[schemars(range(min = 1, max = 127))]
    pub max_steps: Option<Located<u32>>,
}

/// The quality gate of a lossy model: `build` runs `command` with the release file and the
/// shipped image appended, reads one number from its standard output and fails when it is
/// below `threshold`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "Gate")]
pub(crate) struct RawGate {
    /// Program and arguments, e.g. `["python3", "eval/vad_agreement.py"]`; run in the
    /// directory holding Mallorn.toml.
    #[schemars(required, length(min = 1))]
    pub command: Option<Located<Vec<String>>>,
    /// Lowest acceptable score.
    #[schemars(required)]
    pub threshold: Option<Located<f64>>,
}
