//! Model file formats and their detection by magic bytes and structure.

use serde::Serialize;

/// A model container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// TensorFlow Lite FlatBuffer (file identifier `TFL3`).
    Tflite,
    /// GGUF v2/v3 (magic `GGUF`).
    Gguf,
    /// ONNX protobuf `ModelProto`.
    Onnx,
    /// safetensors (u64 header length, JSON header, byte buffer).
    Safetensors,
    /// Not a known model format: the whole file is one opaque region.
    Unknown,
}

impl Format {
    /// Lower-case identifier used in JSON output.
    pub fn id(self) -> &'static str {
        match self {
            Format::Tflite => "tflite",
            Format::Gguf => "gguf",
            Format::Onnx => "onnx",
            Format::Safetensors => "safetensors",
            Format::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Tflite => "TFLite",
            Format::Gguf => "GGUF",
            Format::Onnx => "ONNX",
            Format::Safetensors => "safetensors",
            Format::Unknown => "unknown-format",
        })
    }
}

/// Guesses the format of `bytes` from magic numbers, then from structure.
///
/// GGUF and TFLite carry magic bytes; safetensors is recognised by a header length that fits
/// the file followed by `{`; ONNX has no magic, so its top-level protobuf fields are walked
/// (see [`super::onnx::looks_like_model`]). Anything else is [`Format::Unknown`].
pub fn detect(bytes: &[u8]) -> Format {
    if bytes.starts_with(b"GGUF") {
        return Format::Gguf;
    }
    if bytes.len() >= 8 && &bytes[4..8] == b"TFL3" {
        return Format::Tflite;
    }
    if looks_like_safetensors(bytes) {
        return Format::Safetensors;
    }
    if super::onnx::looks_like_model(bytes) {
        return Format::Onnx;
    }
    Format::Unknown
}

fn looks_like_safetensors(bytes: &[u8]) -> bool {
    let Some(len_bytes) = bytes.get(..8) else {
        return false;
    };
    let mut raw = [0u8; 8];
    raw.copy_from_slice(len_bytes);
    let header_len = u64::from_le_bytes(raw);
    (2..=super::safetensors::MAX_HEADER_LEN).contains(&header_len)
        && header_len <= (bytes.len() as u64).saturating_sub(8)
        && bytes.get(8) == Some(&b'{')
}
