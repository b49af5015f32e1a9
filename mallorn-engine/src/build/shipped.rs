//! The shipped images of lossy models in a build: the quality gate of each model's newest
//! image, and the images themselves with their records in `index.json` (the next release's
//! bundles start from them, and an update server may serve them whole).

use std::collections::BTreeMap;

use mallorn_manifest::{LoadedManifest, Model};
use serde::Serialize;

use crate::build::error::BuildError;
use crate::build::inputs::Inputs;
use crate::build::publish::OutputWriter;
use crate::lossy::run_gate;
use crate::signing::hex;

/// One shipped image in `index.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ShippedRecord {
    /// The model.
    pub model: String,
    /// The release.
    pub version: String,
    /// Path of the image in the output directory.
    pub path: String,
    /// Length in bytes.
    pub len: u64,
    /// SHA-256 hex of the image: the result hash of every bundle to this release.
    pub sha256: String,
    /// SHA-256 hex of the release file it was derived from.
    pub release_sha256: String,
    /// Largest absolute error of any weight against the release file, as proved.
    pub max_abs_error: f64,
    /// Largest change of a quantised value, in steps.
    pub max_steps: u32,
    /// Elements under a bound.
    pub bounded_elements: u64,
    /// Of those, elements that differ from the release file.
    pub changed_elements: u64,
    /// The quality gate's score (newest release of a model with `[model.gate]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_score: Option<f64>,
}

/// Runs the quality gate of every lossy model with one on its newest shipped image; returns
/// the scores by manifest model index.
pub(crate) fn run_gates(
    loaded: &LoadedManifest,
    inputs: &Inputs,
) -> Result<BTreeMap<usize, f64>, BuildError> {
    let mut scores = BTreeMap::new();
    for (index, model) in loaded.models.iter().enumerate() {
        let (Some(gate), Some(latest)) = (&model.gate, model.releases.len().checked_sub(1)) else {
            continue;
        };
        let Some(image) = inputs.try_get(index, latest) else {
            continue; // no selected target carries it
        };
        let release = &model.releases[latest];
        let fail = |source| BuildError::Gate {
            model: model.name.clone(),
            version: release.version.to_string(),
            source,
        };
        let dir = tempfile::tempdir().map_err(|e| {
            fail(crate::lossy::GateError::Spawn {
                program: "a temporary directory".into(),
                source: e,
            })
        })?;
        let shipped = dir.path().join(shipped_file_name(model, latest));
        std::fs::write(&shipped, &image.bytes).map_err(|e| {
            fail(crate::lossy::GateError::Spawn {
                program: "a temporary file".into(),
                source: e,
            })
        })?;
        let score =
            run_gate(gate, loaded.base_dir(), &release.path.absolute, &shipped).map_err(fail)?;
        scores.insert(index, score);
    }
    Ok(scores)
}

/// Writes every lossy model's shipped images to `shipped/<model>/`; returns their records.
pub(crate) fn write_shipped(
    loaded: &LoadedManifest,
    inputs: &Inputs,
    scores: &BTreeMap<usize, f64>,
    writer: &mut OutputWriter<'_>,
) -> Result<Vec<ShippedRecord>, BuildError> {
    let mut records = Vec::new();
    for (index, model) in loaded.models.iter().enumerate() {
        let latest = model.releases.len().saturating_sub(1);
        for (r, release) in model.releases.iter().enumerate() {
            let Some(image) = inputs.try_get(index, r) else {
                continue;
            };
            let Some(fidelity) = image.fidelity else {
                continue; // a lossless model
            };
            let path = format!("shipped/{}/{}", model.name, shipped_file_name(model, r));
            writer.write(&path, &image.bytes)?;
            records.push(ShippedRecord {
                model: model.name.clone(),
                version: release.version.to_string(),
                path,
                len: image.bytes.len() as u64,
                sha256: hex(&image.sha256),
                release_sha256: hex(&image.release_sha256),
                max_abs_error: fidelity.max_abs_error,
                max_steps: fidelity.max_steps,
                bounded_elements: fidelity.bounded_elements,
                changed_elements: fidelity.changed_elements,
                gate_score: (r == latest).then(|| scores.get(&index).copied()).flatten(),
            });
        }
    }
    Ok(records)
}

/// `<model>-<version>-shipped.<extension of the release file>`.
fn shipped_file_name(model: &Model, release: usize) -> String {
    let release = &model.releases[release];
    let extension = release
        .path
        .absolute
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    format!("{}-{}-shipped{extension}", model.name, release.version)
}
