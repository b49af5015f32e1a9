//! The model parsers: any input must give an error or a map that tiles it exactly.

use mallorn_engine::model::{Format, parse, parse_as};

/// Parses `data` as `format` (detected when `None`); an accepted map must tile the input.
fn check(format: Option<Format>, data: &[u8]) {
    let parsed = match format {
        Some(format) => parse_as(format, data),
        None => parse(data),
    };
    if let Ok(map) = parsed {
        map.check_tiling()
            .expect("an accepted map must tile the input");
        assert_eq!(map.file_len, data.len() as u64);
    }
}

/// Format detection plus whichever parser it picks.
pub fn parse_any(data: &[u8]) {
    check(None, data);
}

/// The GGUF parser.
pub fn parse_gguf(data: &[u8]) {
    check(Some(Format::Gguf), data);
}

/// The ONNX parser.
pub fn parse_onnx(data: &[u8]) {
    check(Some(Format::Onnx), data);
}

/// The safetensors parser.
pub fn parse_safetensors(data: &[u8]) {
    check(Some(Format::Safetensors), data);
}

/// The TFLite parser.
pub fn parse_tflite(data: &[u8]) {
    check(Some(Format::Tflite), data);
}
