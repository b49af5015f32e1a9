//! The bodies of Mallorn's fuzz targets, as plain functions on stable Rust.
//!
//! Each libFuzzer binary in `fuzz/fuzz_targets/` is a one-liner calling the function of the
//! same name here. `cargo test -p mallorn-fuzz-targets` replays every file under
//! `fuzz/seeds/<target>/` and `fuzz/regressions/<target>/` through the same functions, so a
//! crash the fuzzer found stays fixed without nightly or libFuzzer. A target reports a bug by
//! panicking; every other outcome (an error, a rejected input) is a pass.

mod header;
mod lossy;
mod parse;
mod payload;

pub use header::header;
pub use lossy::lossy;
pub use parse::{parse_any, parse_gguf, parse_onnx, parse_safetensors, parse_tflite};
pub use payload::payload;

/// A target's body: returns for every input it accepts or rejects, panics on a bug.
pub type Target = fn(&[u8]);

/// Every target by name: the names of the cargo-fuzz binaries and of the seed and regression
/// folders.
pub const TARGETS: &[(&str, Target)] = &[
    ("header", header),
    ("lossy", lossy),
    ("parse_any", parse_any),
    ("parse_gguf", parse_gguf),
    ("parse_onnx", parse_onnx),
    ("parse_safetensors", parse_safetensors),
    ("parse_tflite", parse_tflite),
    ("payload", payload),
];

/// The target called `name`, if there is one.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}
