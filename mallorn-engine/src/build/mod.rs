//! `cargo mallorn build` as a library: from a validated Mallorn.toml to a publishable output
//! directory (per SKU: a bundle from every historical release to the latest, a full image,
//! the generated firmware files; at the top an `index.json`), built incrementally and put in
//! place atomically.
//!
//! Steps: [`plan`] (from the manifest alone) -> keys and inputs -> render generated files ->
//! up-to-date check ([`cache`]) -> encode the bundles that changed (in parallel; the others
//! come from the previous output) -> apply the full-image policy -> write everything into a
//! staging directory -> swap it in ([`output_dir`]) -> update the source-tree copies
//! ([`source_tree`]). Any error before the swap leaves the previous output untouched.

pub mod bundles;
pub mod cache;
pub mod coding;
pub mod error;
pub mod index;
pub mod inputs;
mod jobs;
pub mod keys;
pub mod output_dir;
pub mod parallel;
pub mod plan;
pub(crate) mod prepare;
mod records;
pub mod source_tree;
pub mod versions;

use std::path::PathBuf;

use mallorn_manifest::LoadedManifest;
use mallorn_runtime::hash::sha256;

pub use coding::Coding;
pub use error::BuildError;
pub use index::{ArtefactRecord, Index};
pub use plan::{BuildPlan, INDEX_FILE, PlanSummary, plan};
pub use source_tree::{SourceTreeFile, StaleFile};

use crate::build::bundles::{Unit, build_unit};
use crate::build::cache::{Cache, CachedUnit, Reused};
use crate::build::index::{GeneratedRecord, SigningRecord};
use crate::build::jobs::Job;
use crate::build::output_dir::Staging;
use crate::build::prepare::Prepared;
use crate::build::records::{fill_from_unit, record_of, target_record};
use crate::signing::hex;

/// Progress of a build, for progress bars. Called from worker threads.
pub trait BuildObserver: Sync {
    /// `count` bundles are about to be encoded (the rest are reused).
    fn encoding(&self, count: usize) {
        let _ = count;
    }
    /// One bundle was encoded (`label`: target, model and versions).
    fn encoded(&self, label: &str) {
        let _ = label;
    }
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl BuildObserver for Quiet {}

/// What to build and where.
pub struct BuildOptions<'a> {
    /// SKUs to build; empty for all.
    pub targets: Vec<String>,
    /// Build without `[signing]` (unsigned development bundles).
    pub allow_unsigned: bool,
    /// The output directory (`[output] dir`, or `<cargo target dir>/mallorn`).
    pub output_dir: PathBuf,
    /// Worker threads for encoding.
    pub threads: usize,
    /// Update the generated files in the source tree (`[output] rust/c-header/linker`).
    /// Tests that build a committed example into a temporary directory turn it off.
    pub write_source_tree: bool,
    /// Progress reports.
    pub observer: &'a dyn BuildObserver,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// The output directory.
    pub output_dir: PathBuf,
    /// True when nothing had changed: no file in the output directory was touched.
    pub up_to_date: bool,
    /// The index written (`None` when up to date).
    pub index: Option<Index>,
    /// Bundle files in the output.
    pub bundle_count: usize,
    /// Bundles encoded in this run.
    pub encoded: usize,
    /// Bundles taken unchanged from the previous output.
    pub reused: usize,
    /// Source-tree files written (paths as in Mallorn.toml); unchanged ones are not listed.
    pub source_tree_written: Vec<String>,
    /// True when the bundles are unsigned.
    pub unsigned: bool,
}

/// The outcome of `build --check`.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// Source-tree files compared (paths as in Mallorn.toml).
    pub checked: Vec<String>,
    /// Those that are stale.
    pub stale: Vec<StaleFile>,
}

/// Renders the generated files committed in the source tree and reports those that are
/// stale. Writes nothing, encodes nothing and needs no private key.
pub fn check_generated(
    loaded: &LoadedManifest,
    targets: &[String],
    allow_unsigned: bool,
) -> Result<CheckReport, BuildError> {
    let prepared = Prepared::new(loaded, targets, allow_unsigned, false)?;
    let files = prepared.source_tree_files();
    Ok(CheckReport {
        checked: files.iter().map(|f| f.written.clone()).collect(),
        stale: source_tree::stale(&files),
    })
}

/// A delta job's outcome.
enum DeltaOutcome {
    /// The delta bundle (published unless larger than the policy allows).
    Built(Unit, bool),
    /// A delta known from the previous build to be too large; only its size is kept.
    Rejected {
        size: u64,
        sha256: String,
        plan: String,
    },
}

/// Builds the selected targets into `options.output_dir`.
pub fn build(
    loaded: &LoadedManifest,
    options: &BuildOptions<'_>,
) -> Result<BuildReport, BuildError> {
    let prepared = Prepared::new(loaded, &options.targets, options.allow_unsigned, true)?;
    let out = &options.output_dir;
    output_dir::check_replaceable(out)?;

    let (full_jobs, delta_jobs) = jobs::jobs(loaded, &prepared)?;
    let build_key = jobs::build_key(loaded, &prepared, &full_jobs, &delta_jobs);
    let previous = Cache::load(out).unwrap_or_default();
    let bundle_count = prepared.plan.bundle_count();
    let sync_source_tree = || match options.write_source_tree {
        true => source_tree::sync(&prepared.source_tree_files()),
        false => Ok(Vec::new()),
    };
    if previous.build_key == build_key && previous.files_intact(out) {
        let written = sync_source_tree()?;
        return Ok(BuildReport {
            output_dir: out.clone(),
            up_to_date: true,
            index: None,
            bundle_count,
            encoded: 0,
            reused: 0,
            source_tree_written: written,
            unsigned: prepared.keys.unsigned,
        });
    }

    let signer = prepared.keys.signer.as_ref();
    let encode = |job: &Job, base: Option<&[u8]>| -> Result<Unit, BuildError> {
        let target_plan = &prepared.plan.targets[job.target];
        let model_plan = &target_plan.models[job.model];
        let to = loaded.models[model_plan.model].releases.len() - 1;
        let result = &prepared.inputs.get(model_plan.model, to).bytes;
        let unit = build_unit(
            &target_plan.coding,
            loaded.models[model_plan.model].format,
            base,
            result,
            job.identity.clone(),
            signer,
        )
        .map_err(|source| BuildError::Bundle {
            sku: target_plan.sku.clone(),
            model: model_plan.name.clone(),
            what: job.label.clone(),
            source,
        })?;
        options.observer.encoded(&job.label);
        Ok(unit)
    };
    let to_encode = full_jobs
        .iter()
        .chain(&delta_jobs)
        .filter(|job| !previous.units.contains_key(&job.key))
        .count();
    options.observer.encoding(to_encode);

    let fulls = parallel::run(&full_jobs, options.threads, |job| {
        match previous.reuse(out, &job.key) {
            Some(Reused::Bundle(unit)) => Ok((unit, true)),
            _ => encode(job, None).map(|unit| (unit, false)),
        }
    })?;
    let full_size = |target: usize, model: usize| {
        full_jobs
            .iter()
            .zip(&fulls)
            .find(|(job, _)| job.target == target && job.model == model)
            .map_or(0, |(_, (unit, _))| unit.bytes.len() as u64)
    };
    let deltas = parallel::run(&delta_jobs, options.threads, |job| {
        let threshold = loaded.targets[prepared.plan.targets[job.target].target]
            .codec
            .full_image_threshold;
        let too_large =
            |size: u64| size as f64 > threshold * full_size(job.target, job.model) as f64;
        match previous.reuse(out, &job.key) {
            Some(Reused::Bundle(unit)) => Ok(DeltaOutcome::Built(unit, true)),
            Some(Reused::SizeOnly { size, sha256, plan }) if too_large(size) => {
                Ok(DeltaOutcome::Rejected { size, sha256, plan })
            }
            _ => {
                let model = prepared.plan.targets[job.target].models[job.model].model;
                let base = &prepared.inputs.get(model, job.from.unwrap_or(0)).bytes;
                encode(job, Some(base)).map(|unit| DeltaOutcome::Built(unit, false))
            }
        }
    })?;

    // Assemble the output: records, files, cache.
    let staging = Staging::new(out)?;
    let mut cache = Cache::new(build_key);
    let mut artefacts = Vec::new();
    let mut encoded = 0;
    let mut reused = 0;
    let signer_id = prepared.keys.signer_id();
    let write = |path: &str, bytes: &[u8], cache: &mut Cache| -> Result<(), BuildError> {
        staging.write(path, bytes)?;
        cache.files.insert(path.into(), hex(&sha256(bytes)));
        Ok(())
    };
    for (ti, target_plan) in prepared.plan.targets.iter().enumerate() {
        let threshold = loaded.targets[target_plan.target]
            .codec
            .full_image_threshold;
        for (mi, model_plan) in target_plan.models.iter().enumerate() {
            let releases = &loaded.models[model_plan.model].releases;
            let (full_job, (full, full_reused)) = full_jobs
                .iter()
                .zip(&fulls)
                .find(|(job, _)| job.target == ti && job.model == mi)
                .expect("one full image per model and target");
            count(*full_reused, &mut encoded, &mut reused);
            for artefact in &model_plan.artefacts {
                let mut record = record_of(target_plan, model_plan, artefact, releases);
                let delta = delta_jobs.iter().zip(&deltas).find(|(job, _)| {
                    job.target == ti
                        && job.model == mi
                        && job.from == artefact.from
                        && artefact.from.is_some()
                });
                let published: &Unit = match (artefact.from, delta) {
                    (None, _) => {
                        cache
                            .units
                            .insert(full_job.key.clone(), cached(Some(&artefact.path), full));
                        full
                    }
                    (Some(_), None) => {
                        record.reason = Some(format!(
                            "target codes {} (no deltas)",
                            target_plan.coding.describe()
                        ));
                        full
                    }
                    (Some(_), Some((job, outcome))) => {
                        let (size, sha, plan, unit, was_reused) = match outcome {
                            DeltaOutcome::Built(unit, was_reused) => (
                                unit.bytes.len() as u64,
                                hex(&sha256(&unit.bytes)),
                                unit.plan.to_owned(),
                                Some(unit),
                                *was_reused,
                            ),
                            DeltaOutcome::Rejected { size, sha256, plan } => {
                                (*size, sha256.clone(), plan.clone(), None, true)
                            }
                        };
                        count(was_reused, &mut encoded, &mut reused);
                        let limit = threshold * full.bytes.len() as f64;
                        match unit {
                            Some(unit) if size as f64 <= limit => {
                                cache
                                    .units
                                    .insert(job.key.clone(), cached(Some(&artefact.path), unit));
                                unit
                            }
                            _ => {
                                cache.units.insert(
                                    job.key.clone(),
                                    CachedUnit {
                                        path: None,
                                        size,
                                        sha256: sha,
                                        plan,
                                    },
                                );
                                record.replaced_delta_size = Some(size);
                                record.reason = Some(format!(
                                    "the delta ({size} bytes) is larger than full-image-threshold {threshold} x the full image ({} bytes)",
                                    full.bytes.len()
                                ));
                                full
                            }
                        }
                    }
                };
                fill_from_unit(&mut record, published, signer_id.as_deref());
                write(&artefact.path, &published.bytes, &mut cache)?;
                artefacts.push(record);
            }
        }
    }
    let mut targets = Vec::new();
    for ((target_plan, context), files) in prepared
        .plan
        .targets
        .iter()
        .zip(&prepared.contexts)
        .zip(&prepared.rendered)
    {
        let mut generated = Vec::new();
        for (file, content) in files {
            write(&file.path, content.as_bytes(), &mut cache)?;
            generated.push(GeneratedRecord {
                kind: file.kind.output_key().into(),
                path: file.path.clone(),
                source_tree: file.source_tree.as_ref().map(|p| p.written.clone()),
                size: content.len() as u64,
                sha256: hex(&sha256(content.as_bytes())),
            });
        }
        targets.push(target_record(loaded, target_plan, context, generated));
    }
    let index = Index {
        format: index::INDEX_FORMAT,
        generator: crate::codegen::generator(),
        signing: SigningRecord {
            key_id: signer_id.clone(),
            trusted_key_ids: prepared
                .keys
                .trusted
                .iter()
                .map(|t| hex(&t.key.key_id()))
                .collect(),
        },
        targets,
        artefacts,
    };
    write(INDEX_FILE, &index.to_bytes(), &mut cache)?;
    staging.write(cache::CACHE_FILE, &cache.to_bytes())?;
    staging.commit()?;
    let written = sync_source_tree()?;
    Ok(BuildReport {
        output_dir: out.clone(),
        up_to_date: false,
        index: Some(index),
        bundle_count,
        encoded,
        reused,
        source_tree_written: written,
        unsigned: prepared.keys.unsigned,
    })
}

fn count(was_reused: bool, encoded: &mut usize, reused: &mut usize) {
    if was_reused {
        *reused += 1;
    } else {
        *encoded += 1;
    }
}

fn cached(path: Option<&str>, unit: &Unit) -> CachedUnit {
    CachedUnit {
        path: path.map(str::to_owned),
        size: unit.bytes.len() as u64,
        sha256: hex(&sha256(&unit.bytes)),
        plan: unit.plan.into(),
    }
}
