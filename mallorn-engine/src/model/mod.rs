//! Model parsers: turn a TFLite, GGUF, ONNX or safetensors file into a byte-exact
//! [`ModelMap`] of tensor regions and opaque glue, without re-serialising anything.
//!
//! Parsing is zero-copy: the map borrows names from the input slice (which the caller may
//! memory-map with [`ModelFile`]). Every parser treats its input as hostile: it returns a
//! [`ModelError`] naming the format, the byte offset and the problem; it never panics, never
//! allocates more than the file size justifies and never loops on cyclic offsets.
//!
//! [`parse`] maps a file of no known format to one opaque region (for inspection);
//! [`parse_declared`] is what the encoder uses: a declared or detected model format must parse,
//! and opaque bytes need an explicit `raw`.
//!
//! ```
//! use mallorn_engine::model::{parse, Format, Region};
//! let map = parse(b"not a model").unwrap();
//! assert_eq!(map.format, Format::Unknown);
//! assert!(matches!(map.regions[..], [Region::Opaque { offset: 0, len: 11 }]));
//! ```

mod dtype;
mod error;
mod file;
mod format;
mod gguf;
mod map;
mod onnx;
mod reader;
mod safetensors;
mod tflite;

pub use dtype::{
    BlockField, BlockFieldKind, BlockLayout, DType, ElementLayout, FloatFormat, GGML_TYPES,
    GgmlType, GgmlTypeInfo,
};
pub use error::{ErrorKind, InputError, ModelError};
pub use file::ModelFile;
pub use format::{Format, detect};
pub use map::{Declared, ExternalTensor, ModelMap, Quantization, Region, TensorRegion};

/// Detects the format of `bytes` and maps it. A file of no known format maps to a single
/// opaque region; a file that looks like a known format but is malformed is an error.
pub fn parse(bytes: &[u8]) -> Result<ModelMap<'_>, ModelError> {
    parse_as(detect(bytes), bytes)
}

/// Maps `bytes` as Mallorn.toml's `format` declares (or `--format` on the command line):
/// a model format forces its parser; `auto` detects the format and refuses a file of no known
/// format; only `raw` maps the whole file as one opaque region. A file that does not parse
/// as its declared or detected format is an error naming the byte and the rule broken.
pub fn parse_declared(
    bytes: &[u8],
    declared: mallorn_manifest::ModelFormat,
) -> Result<ModelMap<'_>, InputError> {
    use mallorn_manifest::ModelFormat as Declared;
    let format = match declared {
        Declared::Raw => return Ok(ModelMap::opaque(bytes.len() as u64)),
        Declared::Auto => match detect(bytes) {
            Format::Unknown => {
                return Err(InputError::Unrecognised {
                    len: bytes.len() as u64,
                });
            }
            detected => detected,
        },
        Declared::Tflite => Format::Tflite,
        Declared::Gguf => Format::Gguf,
        Declared::Onnx => Format::Onnx,
        Declared::Safetensors => Format::Safetensors,
    };
    parse_as(format, bytes).map_err(|source| InputError::Invalid {
        declared: declared != Declared::Auto,
        source,
    })
}

/// Maps `bytes` as the given format (no detection).
pub fn parse_as(format: Format, bytes: &[u8]) -> Result<ModelMap<'_>, ModelError> {
    match format {
        Format::Tflite => tflite::parse(bytes),
        Format::Gguf => gguf::parse(bytes),
        Format::Onnx => onnx::parse(bytes),
        Format::Safetensors => safetensors::parse(bytes),
        Format::Unknown => Ok(ModelMap::opaque(bytes.len() as u64)),
    }
}
