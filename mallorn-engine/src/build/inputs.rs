//! The model files a build reads, each read once and hashed, and checked against the slots of
//! every selected target that carries it.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use mallorn_manifest::Manifest;
use mallorn_runtime::hash::sha256;

use crate::build::error::BuildError;
use crate::build::plan::BuildPlan;
use crate::lossy::{Fidelity, LossyError, shipped_lineage};

/// One release as devices get it: the release file, or for a lossy model its shipped image.
#[derive(Debug, Clone)]
pub struct ReleaseFile {
    /// The bytes devices get (every bundle's base or result).
    pub bytes: Vec<u8>,
    /// Their SHA-256.
    pub sha256: [u8; 32],
    /// SHA-256 of the release file as written in Mallorn.toml (`sha256` unless lossy).
    pub release_sha256: [u8; 32],
    /// For a lossy model, how far `bytes` are from the release file; `None`: they are it.
    pub fidelity: Option<Fidelity>,
}

/// Release files by (model index, release index).
#[derive(Debug, Default)]
pub struct Inputs {
    files: BTreeMap<(usize, usize), ReleaseFile>,
}

impl Inputs {
    /// Reads every release of every model the plan uses, and checks that each fits both slots
    /// of each target carrying it (Mallorn.toml validation checked the sizes it saw; the file
    /// may have changed since).
    pub fn read(manifest: &Manifest, plan: &BuildPlan) -> Result<Self, BuildError> {
        let mut files = BTreeMap::new();
        for target_plan in &plan.targets {
            let target = &manifest.targets[target_plan.manifest_target];
            for model_plan in &target_plan.models {
                let model = &manifest.models[model_plan.manifest_model];
                let Some(slots) = target.slots_for(&model.name) else {
                    continue;
                };
                for (index, release) in model.releases.iter().enumerate() {
                    if let Entry::Vacant(slot) = files.entry((model_plan.manifest_model, index)) {
                        let bytes = std::fs::read(&release.path.absolute).map_err(|source| {
                            BuildError::ReadModel {
                                model: model.name.clone(),
                                version: release.version.to_string(),
                                path: release.path.written.clone(),
                                source,
                            }
                        })?;
                        let sha256 = sha256(&bytes);
                        slot.insert(ReleaseFile {
                            bytes,
                            sha256,
                            release_sha256: sha256,
                            fidelity: None,
                        });
                    }
                    let size = files[&(model_plan.manifest_model, index)].bytes.len() as u64;
                    for (region, slot) in [("slot-a", slots.slot_a), ("slot-b", slots.slot_b)] {
                        if size > slot.size {
                            return Err(BuildError::SlotOverflow {
                                sku: target.sku.clone(),
                                model: model.name.clone(),
                                version: release.version.to_string(),
                                size,
                                region,
                                capacity: slot.size,
                            });
                        }
                    }
                }
            }
        }
        // Then every file must be what its model's `format` says (sizes first: cheaper).
        // The latest release is what every bundle produces: it must hold all its weights.
        for (&(model, index), file) in &files {
            let model = &manifest.models[model];
            let release = &model.releases[index];
            let parse = if index + 1 == model.releases.len() {
                crate::model::parse_shipped
            } else {
                crate::model::parse_declared
            };
            parse(&file.bytes, model.format).map_err(|source| BuildError::ModelFormat {
                model: model.name.clone(),
                version: release.version.to_string(),
                path: release.path.written.clone(),
                format: model.format.as_str(),
                source: Box::new(source),
            })?;
        }
        let mut inputs = Self { files };
        inputs.ship_lossy(manifest)?;
        Ok(inputs)
    }

    /// Replaces the releases of every lossy model by their shipped images.
    fn ship_lossy(&mut self, manifest: &Manifest) -> Result<(), BuildError> {
        for (index, model) in manifest.models.iter().enumerate() {
            let Some(policy) = &model.lossy else { continue };
            let releases: Vec<usize> = (0..model.releases.len())
                .filter(|r| self.files.contains_key(&(index, *r)))
                .collect();
            if releases.is_empty() {
                continue; // no selected target carries it
            }
            let files: Vec<&[u8]> = releases
                .iter()
                .map(|r| self.files[&(index, *r)].bytes.as_slice())
                .collect();
            let pinned = read_pinned(model, &releases)?;
            let pinned: Vec<Option<&[u8]>> = pinned.iter().map(Option::as_deref).collect();
            let images =
                shipped_lineage(&files, &pinned, model.format, policy).map_err(|source| {
                    let release = match &source {
                        LossyError::Parse { release, .. }
                        | LossyError::Pinned { release, .. }
                        | LossyError::Proof { release, .. } => *release,
                    };
                    BuildError::Lossy {
                        model: model.name.clone(),
                        version: model.releases[releases[release]].version.to_string(),
                        source: Box::new(source),
                    }
                })?;
            for (release, image) in releases.into_iter().zip(images) {
                let file = self.files.get_mut(&(index, release)).expect("listed above");
                file.bytes = image.bytes;
                file.sha256 = image.sha256;
                file.fidelity = Some(image.fidelity);
            }
        }
        Ok(())
    }

    /// Release `release` of model `model` (indices into the manifest).
    ///
    /// # Panics
    /// If the plan that [`Inputs::read`] was given did not include it.
    pub fn get(&self, model: usize, release: usize) -> &ReleaseFile {
        &self.files[&(model, release)]
    }

    /// Release `release` of model `model`, if a selected target carries the model.
    pub fn try_get(&self, model: usize, release: usize) -> Option<&ReleaseFile> {
        self.files.get(&(model, release))
    }
}

/// The pinned shipped images (`shipped` in Mallorn.toml) of `releases` of `model`.
fn read_pinned(
    model: &mallorn_manifest::Model,
    releases: &[usize],
) -> Result<Vec<Option<Vec<u8>>>, BuildError> {
    releases
        .iter()
        .map(|&r| {
            let release = &model.releases[r];
            let Some(path) = &release.shipped else {
                return Ok(None);
            };
            std::fs::read(&path.absolute)
                .map(Some)
                .map_err(|source| BuildError::ReadModel {
                    model: model.name.clone(),
                    version: release.version.to_string(),
                    path: path.written.clone(),
                    source,
                })
        })
        .collect()
}
