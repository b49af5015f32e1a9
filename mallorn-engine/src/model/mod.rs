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

/// [`parse_declared`] for a model a bundle produces: it also refuses a model that keeps tensor
/// data in other files (ONNX external data, TFLite external buffers), since a bundle carries
/// the model file alone and the device would get it without those weights. (A base may have
/// them: the device holds its file, and a delta needs only that.)
pub fn parse_shipped(
    bytes: &[u8],
    declared: mallorn_manifest::ModelFormat,
) -> Result<ModelMap<'_>, InputError> {
    let map = parse_declared(bytes, declared)?;
    if let Some(first) = map.external.first() {
        return Err(InputError::ExternalData {
            format: map.format,
            tensors: map.external.len() as u64,
            first: first.name.to_string(),
            location: first.location.to_string(),
        });
    }
    Ok(map)
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

#[cfg(test)]
mod tests {
    use super::*;
    use mallorn_manifest::ModelFormat;

    #[test]
    fn a_shipped_model_with_external_data_is_refused_unless_raw() {
        // An ONNX file whose tensor `big` lives in `weights.bin`: a bundle carries the model
        // file only, so the device would get the graph without those weights.
        let file = onnx::tests::sample_model();
        for declared in [ModelFormat::Auto, ModelFormat::Onnx] {
            // As a base it is fine: the device holds that file, and a delta needs only it.
            assert_eq!(parse_declared(&file, declared).unwrap().external.len(), 1);
            let err = parse_shipped(&file, declared).unwrap_err();
            let InputError::ExternalData {
                format,
                tensors,
                first,
                location,
            } = &err
            else {
                panic!("expected an external-data refusal, got {err:?}");
            };
            assert_eq!(
                (*format, *tensors, first.as_str(), location.as_str()),
                (Format::Onnx, 1, "big", "weights.bin")
            );
            let text = err.to_string();
            assert!(
                text.contains("`big`") && text.contains("weights.bin"),
                "{text}"
            );
            assert!(err.help().contains("format = \"raw\""));
        }
        // Opting out of tensor awareness ships the file as it is; inspect still lists them.
        assert!(parse_shipped(&file, ModelFormat::Raw).is_ok());
        // The encoder takes such a model as its base, and refuses it as its target.
        let options = crate::delta::EncodeOptions::default();
        let inline = {
            use onnx::tests::{len_field, tensor_raw, varint_field};
            let mut graph = Vec::new();
            len_field(5, &tensor_raw("big", 1, &[1000], &[7u8; 4000]), &mut graph);
            let mut model = Vec::new();
            varint_field(1, 8, &mut model);
            len_field(7, &graph, &mut model);
            model
        };
        assert!(crate::delta::encode(Some(&file), &inline, &options).is_ok());
        let err = crate::delta::encode(None, &file, &options).unwrap_err();
        assert_eq!(err.input, crate::delta::Input::Target);
        assert!(matches!(err.source, InputError::ExternalData { .. }));
        assert_eq!(parse(&file).unwrap().external.len(), 1);
    }
}
