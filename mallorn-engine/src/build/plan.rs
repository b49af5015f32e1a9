//! What a build produces, worked out from Mallorn.toml alone (no model is read): per target,
//! the coding, one bundle per historical release to the latest, a full image, the generated
//! files and where each goes. `cargo mallorn plan` prints it for CI matrices; the build
//! follows it. Each bundle is one job (`cargo mallorn build --job`) with a stable id
//! ([`JobId`]).
//!
//! Output layout, relative to the output directory:
//!
//! ```text
//! index.json
//! <sku>/mallorn.rs | mallorn.h | mallorn-memory.x
//! <sku>/<model>/<model>-<from>-to-<to>.mlrn     one per historical release
//! <sku>/<model>/<model>-<to>-full.mlrn          full image (no base needed)
//! ```

use mallorn_manifest::{Decoder, LoadedManifest, Model, ResolvedPath, Target};
use serde::Serialize;

use crate::build::coding::{self, Coding};
use crate::build::error::BuildError;
use crate::build::index::ArtefactKind;
use crate::build::job_id::JobId;
use crate::build::versions::header_version;
use crate::codegen::GeneratedKind;

/// Name of the generated manifest at the top of the output directory.
pub const INDEX_FILE: &str = "index.json";

/// The placeholder for the SKU in `[output] rust/c-header/linker` paths.
pub const SKU_PLACEHOLDER: &str = "{sku}";

/// Everything a build of the selected targets produces.
#[derive(Debug, Clone)]
pub struct BuildPlan {
    /// Selected targets, in Mallorn.toml order.
    pub targets: Vec<TargetPlan>,
}

/// A model on a target of a plan: indices into [`BuildPlan::targets`] and that target's
/// [`TargetPlan::models`] (not into the manifest's lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlanModel {
    /// Index into [`BuildPlan::targets`].
    pub target: usize,
    /// Index into that target's [`TargetPlan::models`].
    pub model: usize,
}

impl TargetPlan {
    /// The manifest's target this plan is for.
    pub fn target_in<'a>(&self, loaded: &'a LoadedManifest) -> &'a Target {
        &loaded.targets[self.manifest_target]
    }
}

impl ModelPlan {
    /// The manifest's model this plan is for.
    pub fn model_in<'a>(&self, loaded: &'a LoadedManifest) -> &'a Model {
        &loaded.models[self.manifest_model]
    }
}

/// One target (SKU).
#[derive(Debug, Clone)]
pub struct TargetPlan {
    /// Index into `Manifest::targets` (see [`TargetPlan::target_in`]).
    pub manifest_target: usize,
    /// The SKU.
    pub sku: String,
    /// How its bundles are coded.
    pub coding: Coding,
    /// Decoders passed over, and why (reported, not fatal).
    pub notes: Vec<String>,
    /// The models it carries, in Mallorn.toml order.
    pub models: Vec<ModelPlan>,
    /// Generated files: kind, path in the output directory, and the copy in the source tree
    /// when `[output]` asks for one.
    pub generated: Vec<PlannedFile>,
}

/// One model on one target.
#[derive(Debug, Clone)]
pub struct ModelPlan {
    /// Index into `Manifest::models` (see [`ModelPlan::model_in`]).
    pub manifest_model: usize,
    /// The model's name.
    pub name: String,
    /// Bundles to build: one per historical release, then the full image.
    pub artefacts: Vec<PlannedArtefact>,
}

/// One bundle file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedArtefact {
    /// Index of the base release, `None` for the full image.
    pub from: Option<usize>,
    /// Index of the result release (always the latest).
    pub to: usize,
    /// Path in the output directory (`/`-separated).
    pub path: String,
    /// The job that builds it (`cargo mallorn build --job`).
    pub job: JobId,
}

/// One generated file of a target.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// Which file.
    pub kind: GeneratedKind,
    /// Path in the output directory (`/`-separated).
    pub path: String,
    /// The copy in the source tree (`[output] rust/c-header/linker`, `{sku}` replaced).
    pub source_tree: Option<ResolvedPath>,
}

/// Plans the build of the targets named in `selection` (all when empty).
pub fn plan(loaded: &LoadedManifest, selection: &[String]) -> Result<BuildPlan, BuildError> {
    for sku in selection {
        if loaded.target(sku).is_none() {
            return Err(BuildError::UnknownTarget {
                sku: sku.clone(),
                known: loaded
                    .targets
                    .iter()
                    .map(|t| format!("`{}`", t.sku))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let targets = loaded
        .targets
        .iter()
        .enumerate()
        .filter(|(_, target)| selection.is_empty() || selection.contains(&target.sku))
        .map(|(index, target)| plan_target(loaded, index, target))
        .collect::<Result<_, _>>()?;
    Ok(BuildPlan { targets })
}

fn plan_target(
    loaded: &LoadedManifest,
    index: usize,
    target: &Target,
) -> Result<TargetPlan, BuildError> {
    if target.sku == "." || target.sku == ".." {
        return Err(BuildError::UnusableSku {
            sku: target.sku.clone(),
        });
    }
    let (coding, notes) = coding::choose(target)?;
    let mut models = Vec::new();
    for slots in &target.models {
        let Some(model_index) = loaded.models.iter().position(|m| m.name == slots.model) else {
            continue; // validation guarantees it exists
        };
        let model = &loaded.models[model_index];
        for release in &model.releases {
            header_version(&model.name, &release.version)?;
        }
        models.push(ModelPlan {
            manifest_model: model_index,
            name: model.name.clone(),
            artefacts: artefacts(&target.sku, model),
        });
    }
    let generated = GeneratedKind::ALL
        .into_iter()
        .map(|kind| {
            Ok(PlannedFile {
                kind,
                path: format!("{}/{}", target.sku, kind.file_name()),
                source_tree: source_tree_path(loaded, kind, &target.sku)?,
            })
        })
        .collect::<Result<_, BuildError>>()?;
    Ok(TargetPlan {
        manifest_target: index,
        sku: target.sku.clone(),
        coding,
        notes,
        models,
        generated,
    })
}

/// Bundles of `model` on target `sku`: every historical release to the latest, then the full
/// image.
fn artefacts(sku: &str, model: &Model) -> Vec<PlannedArtefact> {
    let to = model.releases.len() - 1;
    let latest = &model.releases[to].version;
    let name = &model.name;
    let mut out: Vec<_> = (0..to)
        .map(|from| {
            let version = &model.releases[from].version;
            PlannedArtefact {
                from: Some(from),
                to,
                path: format!("{sku}/{name}/{name}-{version}-to-{latest}.mlrn"),
                job: JobId::new(sku, name, Some(version)),
            }
        })
        .collect();
    out.push(PlannedArtefact {
        from: None,
        to,
        path: format!("{sku}/{name}/{name}-{latest}-full.mlrn"),
        job: JobId::new(sku, name, None),
    });
    out
}

/// `[output] <key>` for target `sku`: `{sku}` replaced; required when several targets exist.
fn source_tree_path(
    loaded: &LoadedManifest,
    kind: GeneratedKind,
    sku: &str,
) -> Result<Option<ResolvedPath>, BuildError> {
    let output = &loaded.output;
    let Some(path) = (match kind {
        GeneratedKind::Rust => &output.rust,
        GeneratedKind::CHeader => &output.c_header,
        GeneratedKind::Linker => &output.linker,
    }) else {
        return Ok(None);
    };
    if !path.written.contains(SKU_PLACEHOLDER) && loaded.targets.len() > 1 {
        return Err(BuildError::NeedsSkuPlaceholder {
            key: kind.output_key(),
            path: path.written.clone(),
            count: loaded.targets.len(),
        });
    }
    Ok(Some(ResolvedPath::new(
        loaded.base_dir(),
        &path.written.replace(SKU_PLACEHOLDER, sku),
    )))
}

/// The plan as JSON for `cargo mallorn plan --json`: one entry per SKU x model x bundle, with
/// output paths, so CI can fan targets out over runners.
#[derive(Debug, Clone, Serialize)]
pub struct PlanSummary {
    /// The SKUs, in Mallorn.toml order (a ready CI matrix axis).
    pub skus: Vec<String>,
    /// The job ids, one per bundle in `bundles` order (a ready CI matrix axis for
    /// `cargo mallorn build --job`).
    pub jobs: Vec<JobId>,
    /// Per target: coding and generated files.
    pub targets: Vec<TargetSummary>,
    /// Every bundle to build.
    pub bundles: Vec<BundleSummary>,
}

/// One target in a [`PlanSummary`].
#[derive(Debug, Clone, Serialize)]
pub struct TargetSummary {
    /// The SKU.
    pub sku: String,
    /// The decoder its bundles use (`smallest`, `fast` or `stored`).
    pub coding: Decoder,
    /// Human description of the coding.
    pub coding_detail: String,
    /// Work RAM the device applier needs, in bytes.
    pub work_len: usize,
    /// Why preferred decoders were passed over.
    pub notes: Vec<String>,
    /// Generated files.
    pub generated: Vec<GeneratedSummary>,
}

/// A generated file in a [`PlanSummary`].
#[derive(Debug, Clone, Serialize)]
pub struct GeneratedSummary {
    /// `rust`, `c-header` or `linker`.
    pub kind: GeneratedKind,
    /// Path in the output directory.
    pub path: String,
    /// Its copy in the source tree (as written in Mallorn.toml, `{sku}` replaced), if any.
    pub source_tree: Option<String>,
}

/// One bundle in a [`PlanSummary`].
#[derive(Debug, Clone, Serialize)]
pub struct BundleSummary {
    /// The SKU.
    pub sku: String,
    /// The model.
    pub model: String,
    /// Base release; `null` for the full image.
    pub from: Option<String>,
    /// Result release.
    pub to: String,
    /// `delta` (a full image is shipped instead when the delta is not worth it) or `full`.
    pub kind: ArtefactKind,
    /// Path in the output directory.
    pub path: String,
    /// The job that builds it.
    pub job: JobId,
}

impl BuildPlan {
    /// The JSON-ready summary.
    pub fn summary(&self, loaded: &LoadedManifest) -> PlanSummary {
        let mut bundles = Vec::new();
        for target in &self.targets {
            for model in &target.models {
                let releases = &model.model_in(loaded).releases;
                for artefact in &model.artefacts {
                    let delta = artefact.from.is_some() && target.coding.builds_deltas();
                    bundles.push(BundleSummary {
                        sku: target.sku.clone(),
                        model: model.name.clone(),
                        from: artefact.from.map(|i| releases[i].version.to_string()),
                        to: releases[artefact.to].version.to_string(),
                        kind: if delta {
                            ArtefactKind::Delta
                        } else {
                            ArtefactKind::Full
                        },
                        path: artefact.path.clone(),
                        job: artefact.job.clone(),
                    });
                }
            }
        }
        PlanSummary {
            skus: self.targets.iter().map(|t| t.sku.clone()).collect(),
            jobs: bundles.iter().map(|b| b.job.clone()).collect(),
            targets: self
                .targets
                .iter()
                .map(|t| TargetSummary {
                    sku: t.sku.clone(),
                    coding: t.coding.decoder(),
                    coding_detail: t.coding.describe(),
                    work_len: t.coding.work_len(),
                    notes: t.notes.clone(),
                    generated: t
                        .generated
                        .iter()
                        .map(|g| GeneratedSummary {
                            kind: g.kind,
                            path: g.path.clone(),
                            source_tree: g.source_tree.as_ref().map(|p| p.written.clone()),
                        })
                        .collect(),
                })
                .collect(),
            bundles,
        }
    }

    /// Every planned artefact with the model on a target it belongs to, in plan order.
    pub fn artefacts(&self) -> impl Iterator<Item = (PlanModel, &PlannedArtefact)> {
        self.targets.iter().enumerate().flat_map(|(target, t)| {
            t.models.iter().enumerate().flat_map(move |(model, m)| {
                m.artefacts
                    .iter()
                    .map(move |artefact| (PlanModel { target, model }, artefact))
            })
        })
    }

    /// The artefact job `id` builds, with its model on a target.
    pub fn job(&self, id: &JobId) -> Option<(PlanModel, &PlannedArtefact)> {
        self.artefacts().find(|(_, artefact)| artefact.job == *id)
    }

    /// Number of bundle files the plan produces.
    pub fn bundle_count(&self) -> usize {
        self.targets
            .iter()
            .flat_map(|t| &t.models)
            .map(|m| m.artefacts.len())
            .sum()
    }
}
