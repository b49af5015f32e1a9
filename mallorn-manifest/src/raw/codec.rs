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

// Only "lossless" is a setting; the lossy forms are read so that validation can point at
// `[model.lossy]` (`lossy-per-model`) instead of serde's "expected `lossless` or `lossy`".
/// How model weights may be reconstructed on the device.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "kebab-case", rename_all_fields = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "CodecMode")]
pub(crate) enum RawCodecMode {
    /// The device reconstructs every byte exactly.
    Lossless,
    /// Not here: lossy settings are declared per model, in `[model.lossy]`.
    #[schemars(skip)]
    LossyWord,
    /// Not here: error bounds are declared per model, in `[model.lossy]`.
    Lossy {
        /// Largest absolute difference allowed per weight.
        max_abs_error: f64,
    },
}

impl<'de> Deserialize<'de> for RawCodecMode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// `{ lossy = { max-abs-error = ... } }`.
        #[derive(Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        enum CodecMode {
            Lossy {
                #[serde(rename = "max-abs-error")]
                max_abs_error: f64,
            },
        }

        struct ModeVisitor;

        impl<'de> serde::de::Visitor<'de> for ModeVisitor {
            type Value = RawCodecMode;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("\"lossless\"")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                match value {
                    "lossless" => Ok(RawCodecMode::Lossless),
                    "lossy" => Ok(RawCodecMode::LossyWord),
                    // "lossy" is refused too: the only value to suggest is "lossless".
                    other => Err(E::unknown_variant(other, &["lossless"])),
                }
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let CodecMode::Lossy { max_abs_error } =
                    CodecMode::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(RawCodecMode::Lossy { max_abs_error })
            }
        }

        deserializer.deserialize_any(ModeVisitor)
    }
}
