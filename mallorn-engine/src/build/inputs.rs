//! The model files a build reads, each read once and hashed, and checked against the slots of
//! every selected target that carries it.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use mallorn_manifest::Manifest;
use mallorn_runtime::hash::sha256;

use crate::build::error::BuildError;
use crate::build::plan::BuildPlan;

/// One release file in memory.
#[derive(Debug, Clone)]
pub struct ReleaseFile {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Their SHA-256.
    pub sha256: [u8; 32],
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
                        slot.insert(ReleaseFile { bytes, sha256 });
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
        for (&(model, release), file) in &files {
            let model = &manifest.models[model];
            let release = &model.releases[release];
            crate::model::parse_declared(&file.bytes, model.format).map_err(|source| {
                BuildError::ModelFormat {
                    model: model.name.clone(),
                    version: release.version.to_string(),
                    path: release.path.written.clone(),
                    format: model.format.as_str(),
                    source: Box::new(source),
                }
            })?;
        }
        Ok(Self { files })
    }

    /// Release `release` of model `model` (indices into the manifest).
    ///
    /// # Panics
    /// If the plan that [`Inputs::read`] was given did not include it.
    pub fn get(&self, model: usize, release: usize) -> &ReleaseFile {
        &self.files[&(model, release)]
    }
}
