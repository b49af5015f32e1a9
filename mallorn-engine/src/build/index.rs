//! `index.json`, the generated manifest at the top of the output directory: every published
//! bundle with what a release pipeline or update server needs to pick it (SKU, model, from,
//! to, kind, base and result digests, size, SHA-256, key id, RAM bound, counter), and per
//! target its coding and generated files. Keys are sorted, there are no timestamps and no
//! absolute paths; the tool version appears only in `generator`.

use mallorn_manifest::Decoder;
use serde::{Deserialize, Serialize};

use crate::build::bundles::UnitPlan;
use crate::build::shipped::ShippedRecord;
use crate::codegen::GeneratedKind;

/// Version of the index layout.
pub const INDEX_FORMAT: u32 = 1;

/// The whole index.
#[derive(Debug, Clone, Serialize)]
pub struct Index {
    /// Layout version.
    pub format: u32,
    /// `mallorn <version>`.
    pub generator: String,
    /// Signing: key id of the signer (null when unsigned) and the trusted key ids.
    pub signing: SigningRecord,
    /// Targets built, in Mallorn.toml order.
    pub targets: Vec<TargetRecord>,
    /// Every published bundle, by target, model, then from-version (full image last).
    pub artefacts: Vec<ArtefactRecord>,
    /// The shipped images of lossy models (`[model.lossy]`), by model then release; absent
    /// when every model is lossless.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shipped: Vec<ShippedRecord>,
}

/// Who signed.
#[derive(Debug, Clone, Serialize)]
pub struct SigningRecord {
    /// Hex key id of the signing key; null for an unsigned build.
    pub key_id: Option<String>,
    /// Hex key ids of the trusted keys compiled into the firmware.
    pub trusted_key_ids: Vec<String>,
}

/// One target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetRecord {
    /// The SKU.
    pub sku: String,
    /// Hex SKU id.
    pub sku_id: String,
    /// The decoder its bundles use.
    pub coding: Decoder,
    /// Human description of the coding (profile).
    pub coding_detail: String,
    /// Why preferred decoders were passed over.
    pub notes: Vec<String>,
    /// `ram-buffer` in bytes.
    pub ram_buffer: u64,
    /// Work RAM any bundle of this target needs at most.
    pub work_len: u64,
    /// Models carried, with their latest release.
    pub models: Vec<ModelRecord>,
    /// Generated files.
    pub generated: Vec<GeneratedRecord>,
}

/// A model on a target.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRecord {
    /// Model name.
    pub model: String,
    /// Hex model id.
    pub model_id: String,
    /// Every release, oldest first.
    pub releases: Vec<String>,
    /// The latest release.
    pub latest: ImageRecord,
}

/// A model image (release file).
#[derive(Debug, Clone, Serialize)]
pub struct ImageRecord {
    /// Version text.
    pub version: String,
    /// Security counter.
    pub counter: u32,
    /// Length in bytes.
    pub len: u64,
    /// SHA-256 hex.
    pub sha256: String,
}

/// A generated file.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratedRecord {
    /// `rust`, `c-header` or `linker`.
    pub kind: GeneratedKind,
    /// Path in the output directory.
    pub path: String,
    /// Its copy in the source tree, as written in Mallorn.toml (`{sku}` replaced).
    pub source_tree: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 hex.
    pub sha256: String,
}

/// What a published bundle needs on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtefactKind {
    /// Applies to the base release named in `from` only.
    Delta,
    /// Applies to any base.
    Full,
}

impl ArtefactKind {
    /// Its name in `index.json` and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delta => "delta",
            Self::Full => "full",
        }
    }
}

/// One published bundle (also read back from a job directory by the merge).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArtefactRecord {
    /// The SKU.
    pub sku: String,
    /// The model.
    pub model: String,
    /// The release a device must hold; null for the full image for unknown or damaged bases.
    pub from: Option<String>,
    /// The release it installs.
    pub to: String,
    /// `delta`, or `full` (applies to any base: also used for a from-version when the delta
    /// was not worth it, see `reason`).
    pub kind: ArtefactKind,
    /// Path in the output directory.
    pub path: String,
    /// Bundle size in bytes.
    pub size: u64,
    /// SHA-256 hex of the bundle file.
    pub sha256: String,
    /// Hex id of the signing key; null when unsigned.
    pub key_id: Option<String>,
    /// Work RAM the device's applier needs for this bundle.
    pub ram_required: u32,
    /// Anti-rollback counter the bundle carries.
    pub security_counter: u64,
    /// The result is the release file itself (false: a lossy release's shipped image).
    pub lossless: bool,
    /// For a lossy result, the header's error bound: the largest absolute error of any
    /// weight against the release file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_bound: Option<f32>,
    /// How the payload was planned: `structured`, `opaque` or `stored`.
    pub plan: UnitPlan,
    /// Decoders the device uses for it.
    pub decoders: Vec<String>,
    /// The base the device must hold (null for full images).
    pub base: Option<DigestRecord>,
    /// The model the device ends up with.
    pub result: DigestRecord,
    /// Size of the delta that was replaced by this full image, if one was.
    pub replaced_delta_size: Option<u64>,
    /// Why a full image is published for a from-version.
    pub reason: Option<String>,
}

/// Length and SHA-256 of a model image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DigestRecord {
    /// Length in bytes.
    pub len: u64,
    /// SHA-256 hex.
    pub sha256: String,
}

impl Index {
    /// The file's bytes: pretty JSON with keys sorted at every level, newline-terminated.
    pub fn to_bytes(&self) -> Vec<u8> {
        canonical_json(&serde_json::to_value(self).expect("plain data serializes"))
    }
}

/// Pretty JSON with object keys sorted at every level, whatever map order serde_json was
/// built with.
pub fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(&sorted(value)).expect("a JSON value serializes");
    text.push('\n');
    text.into_bytes()
}

fn sorted(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(sorted).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let value = serde_json::json!({"b": 1, "a": [{"z": 0, "y": 1}]});
        let text = String::from_utf8(canonical_json(&value)).unwrap();
        assert!(text.find("\"a\"").unwrap() < text.find("\"b\"").unwrap());
        assert!(text.find("\"y\"").unwrap() < text.find("\"z\"").unwrap());
        assert!(text.ends_with("}\n"));
    }
}
