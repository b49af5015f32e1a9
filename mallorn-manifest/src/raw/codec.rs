//! `[codec]` and `[target.codec]`, as written.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::located::Located;
use crate::model::{Decoder, Effort};

/// Codec policy. Every key is optional: `[codec]` falls back to the defaults shown, and
/// `[target.codec]` falls back to `[codec]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "Codec")]
pub(crate) struct RawCodec {
    /// `"lossless"`: every model this target carries must ship byte-exactly (a model with
    /// `[model.lossy]` is then an error). Unset: each model ships as it declares.
    pub mode: Option<Located<RawCodecMode>>,
    /// How hard the encoder searches for a small delta.
    #[schemars(extend("default" = "default"))]
    pub effort: Option<Located<Effort>>,
    /// Ship the full image instead of a delta when the delta is larger than this fraction of
    /// the coded full image. In (0, 1].
    #[schemars(extend("default" = 0.9, "exclusiveMinimum" = 0.0, "maximum" = 1.0))]
    pub full_image_threshold: Option<Located<f64>>,
    /// Decoders bundles may use; a device must have them compiled in.
    #[schemars(extend("default" = ["stored", "fast", "smallest"]), length(min = 1))]
    pub decoders: Option<Located<Vec<Located<Decoder>>>>,
}

/// How model weights may be reconstructed on the device.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", rename_all_fields = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "CodecMode")]
pub(crate) enum RawCodecMode {
    /// The device reconstructs every byte exactly.
    Lossless,
    /// Not here: error bounds are declared per model, in `[model.lossy]`.
    Lossy {
        /// Largest absolute difference allowed per weight.
        max_abs_error: f64,
    },
}
