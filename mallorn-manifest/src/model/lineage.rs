//! A model and its lineage of releases.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Span;
use crate::model::{LossyPolicy, QualityGate, ResolvedPath};

/// File format of a model's releases.
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
pub enum ModelFormat {
    /// Detect from the file contents.
    #[default]
    Auto,
    /// TensorFlow Lite flatbuffer (`.tflite`).
    Tflite,
    /// GGUF (llama.cpp).
    Gguf,
    /// ONNX protobuf.
    Onnx,
    /// Hugging Face safetensors.
    Safetensors,
    /// Opaque bytes: delta-coded without tensor awareness.
    Raw,
}

impl ModelFormat {
    /// The kebab-case name used in Mallorn.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelFormat::Auto => "auto",
            ModelFormat::Tflite => "tflite",
            ModelFormat::Gguf => "gguf",
            ModelFormat::Onnx => "onnx",
            ModelFormat::Safetensors => "safetensors",
            ModelFormat::Raw => "raw",
        }
    }
}

/// A model with its releases, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Unique name (`[a-z0-9][a-z0-9_-]*`).
    pub name: String,
    /// Declared format (`Auto` when not given).
    pub format: ModelFormat,
    /// Releases, oldest first: versions and counters strictly increase. Never empty.
    pub releases: Vec<Release>,
    /// `[model.lossy]`: ship images within error bounds of the releases; `None`: byte-exact.
    pub lossy: Option<LossyPolicy>,
    /// `[model.gate]`: the evaluation a lossy release's shipped image must pass.
    pub gate: Option<QualityGate>,
    /// Where the name is written in Mallorn.toml.
    pub span: Span,
}

impl Model {
    /// The newest release.
    pub fn latest(&self) -> Option<&Release> {
        self.releases.last()
    }

    /// The release with exactly this version.
    pub fn release(&self, version: &semver::Version) -> Option<&Release> {
        self.releases.iter().find(|r| &r.version == version)
    }

    /// The largest release file, in bytes (what both slots must hold).
    pub fn largest_release_size(&self) -> u64 {
        self.releases.iter().map(|r| r.size).max().unwrap_or(0)
    }
}

/// One release of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// Its semantic version.
    pub version: semver::Version,
    /// Anti-rollback counter (explicit, or the 1-based position in the lineage).
    pub counter: u32,
    /// The model file.
    pub path: ResolvedPath,
    /// Lossy models: the published shipped image pinned with `shipped`, if any.
    pub shipped: Option<ResolvedPath>,
    /// Size of the file in bytes, read during validation.
    pub size: u64,
    /// Where the path is written in Mallorn.toml.
    pub span: Span,
}
