//! Codec policy: how deltas are coded for a target.

use mallorn_runtime::format::chunk::CodecId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which releases a target takes. Error bounds are a property of the model (`[model.lossy]`),
/// so that every SKU carrying it holds the same shipped image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CodecMode {
    /// Each model ships as it declares: byte-exact, or within its `[model.lossy]` bounds.
    #[default]
    AsModelsDeclare,
    /// `mode = "lossless"`: every release byte-exact; carrying a lossy model is an error.
    Lossless,
}

impl CodecMode {
    /// The value written in Mallorn.toml (`as-models-declare` is the unwritten default).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AsModelsDeclare => "as-models-declare",
            Self::Lossless => "lossless",
        }
    }
}

/// How hard the encoder works.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Effort {
    /// Quick builds during development.
    Fast,
    /// Balanced.
    #[default]
    Default,
    /// Smallest bundles, slowest builds.
    Max,
}

impl Effort {
    /// The value written in Mallorn.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Default => "default",
            Self::Max => "max",
        }
    }
}

/// A decoder a bundle may use; the device firmware must include it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Decoder {
    /// Bytes copied as they are.
    Stored,
    /// Fast decoder, modest ratio.
    Fast,
    /// Best ratio, slower decoder.
    Smallest,
}

impl Decoder {
    /// Every decoder, in the default order.
    pub const ALL: [Decoder; 3] = [Decoder::Stored, Decoder::Fast, Decoder::Smallest];

    /// The chunk codec this decoder decodes: the one conversion between the names of
    /// Mallorn.toml and the runtime's codec identity (wire byte, header decoder bit, name).
    pub const fn codec_id(self) -> CodecId {
        match self {
            Decoder::Stored => CodecId::Stored,
            Decoder::Fast => CodecId::Fast,
            Decoder::Smallest => CodecId::Smallest,
        }
    }

    /// The kebab-case name used in Mallorn.toml ([`CodecId::name`]).
    pub fn as_str(self) -> &'static str {
        self.codec_id().name()
    }

    /// Work RAM the applier needs with this decoder at its least (the smallest coder's tiny
    /// profile, the shortest payload segment), as the runtime computes it.
    pub const fn least_work_len(self) -> u64 {
        use mallorn_runtime::apply::required_work_len;
        use mallorn_runtime::codec::smallest::Profile;
        use mallorn_runtime::format::Decoders;
        use mallorn_runtime::format::segments::MIN_SEGMENT_LOG2;
        let (bits, profile) = match self {
            Decoder::Stored => (Decoders::STORED, 0),
            Decoder::Fast => (Decoders::STORED | Decoders::FAST, 0),
            Decoder::Smallest => (Decoders::STORED | Decoders::SMALLEST, Profile::Tiny as u8),
        };
        required_work_len(Decoders(bits), profile, MIN_SEGMENT_LOG2) as u64
    }
}

/// The effective codec policy of a target (`[codec]` merged with `[target.codec]`).
#[derive(Debug, Clone, PartialEq)]
pub struct CodecPolicy {
    /// Reconstruction mode.
    pub mode: CodecMode,
    /// Encoder effort.
    pub effort: Effort,
    /// Ship the full image when delta size > threshold × coded full image size. In (0, 1].
    pub full_image_threshold: f64,
    /// Allowed decoders, as listed (no duplicates, never empty).
    pub decoders: Vec<Decoder>,
}

impl CodecPolicy {
    /// Default `full-image-threshold`.
    pub const DEFAULT_FULL_IMAGE_THRESHOLD: f64 = 0.9;

    /// True when bundles may use `decoder`.
    pub fn allows(&self, decoder: Decoder) -> bool {
        self.decoders.contains(&decoder)
    }
}

impl Default for CodecPolicy {
    fn default() -> Self {
        Self {
            mode: CodecMode::AsModelsDeclare,
            effort: Effort::Default,
            full_image_threshold: Self::DEFAULT_FULL_IMAGE_THRESHOLD,
            decoders: Decoder::ALL.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mallorn.toml spells a decoder as serde derives it; that must be the runtime's name of
    /// its codec, and every codec must have a decoder.
    #[test]
    fn decoder_names_are_the_codec_names() {
        for decoder in Decoder::ALL {
            assert_eq!(
                serde_json::to_value(decoder).unwrap(),
                serde_json::Value::from(decoder.codec_id().name())
            );
        }
        let codecs: Vec<CodecId> = Decoder::ALL.iter().map(|d| d.codec_id()).collect();
        assert_eq!(codecs, CodecId::ALL);
    }
}
