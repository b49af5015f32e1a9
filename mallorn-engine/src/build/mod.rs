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
pub mod keys;
pub mod output_dir;
pub mod parallel;
pub mod plan;
pub mod source_tree;
pub mod versions;

use std::path::{Path, PathBuf};

use mallorn_manifest::LoadedManifest;
use mallorn_runtime::format::{Decoders, Flags, ModelVersion};
use mallorn_runtime::hash::sha256;

pub use coding::Coding;
pub use error::BuildError;
pub use index::{ArtefactRecord, Index};
pub use plan::{BuildPlan, INDEX_FILE, PlanSummary, plan};
pub use source_tree::{SourceTreeFile, StaleFile};

use crate::build::bundles::{Unit, build_unit};
use crate::build::cache::{Cache, CachedUnit, Reused, key_of, tool_fingerprint};
use crate::build::index::{
    DigestRecord, GeneratedRecord, ImageRecord, ModelRecord, SigningRecord, TargetRecord,
};
use crate::build::inputs::Inputs;
use crate::build::keys::BuildKeys;
use crate::build::output_dir::Staging;
use crate::build::versions::header_version;
use crate::bundle::BundleIdentity;
use crate::codegen::{Renderer, TargetContext, TemplateSet, target_context};
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

/// Everything known before any bundle is encoded.
struct Prepared {
    plan: BuildPlan,
    keys: BuildKeys,
    inputs: Inputs,
    contexts: Vec<TargetContext>,
    /// Per target: the generated files' relative paths and contents.
    rendered: Vec<Vec<(plan::PlannedFile, String)>>,
}

impl Prepared {
    fn new(
        loaded: &LoadedManifest,
        targets: &[String],
        allow_unsigned: bool,
        need_signer: bool,
    ) -> Result<Self, BuildError> {
        let plan = plan(loaded, targets)?;
        let keys = BuildKeys::load(loaded, allow_unsigned, need_signer)?;
        let inputs = Inputs::read(loaded, &plan)?;
        let templates = match &loaded.output.templates {
            Some(dir) => TemplateSet::with_user_dir(&dir.absolute)?,
            None => TemplateSet::built_in(),
        };
        let renderer = Renderer::new(&templates);
        let manifest_file = loaded.path().file_name().map_or_else(
            || "Mallorn.toml".into(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut contexts = Vec::new();
        let mut rendered = Vec::new();
        for target in &plan.targets {
            let context = target_context(
                loaded,
                &manifest_file,
                target,
                &inputs,
                &keys.trusted,
                !keys.unsigned,
            )?;
            let files = target
                .generated
                .iter()
                .map(|file| Ok((file.clone(), renderer.render(file.kind, &context)?)))
                .collect::<Result<Vec<_>, BuildError>>()?;
            contexts.push(context);
            rendered.push(files);
        }
        Ok(Self {
            plan,
            keys,
            inputs,
            contexts,
            rendered,
        })
    }

    fn source_tree_files(&self) -> Vec<SourceTreeFile> {
        let mut out = Vec::new();
        for (target, files) in self.plan.targets.iter().zip(&self.rendered) {
            for (file, content) in files {
                if let Some(path) = &file.source_tree {
                    out.push(SourceTreeFile {
                        sku: target.sku.clone(),
                        kind: file.kind,
                        written: path.written.clone(),
                        absolute: path.absolute.clone(),
                        content: content.clone(),
                    });
                }
            }
        }
        out
    }
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

/// One bundle to encode (or reuse).
struct Job {
    /// Index into `plan.targets`.
    target: usize,
    /// Index into that target's `models`.
    model: usize,
    /// Base release index; `None` for the full image.
    from: Option<usize>,
    identity: BundleIdentity,
    /// The cache key of this bundle.
    key: String,
    label: String,
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

    let (full_jobs, delta_jobs) = jobs(loaded, &prepared)?;
    let build_key = build_key(loaded, &prepared, &full_jobs, &delta_jobs);
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

/// The bundle jobs: one full image per target and model, then one delta per historical
/// release on targets that build deltas.
fn jobs(loaded: &LoadedManifest, prepared: &Prepared) -> Result<(Vec<Job>, Vec<Job>), BuildError> {
    let fingerprint = tool_fingerprint();
    let key_id = prepared.keys.signer_id().unwrap_or_default();
    let mut fulls = Vec::new();
    let mut deltas = Vec::new();
    for (ti, target_plan) in prepared.plan.targets.iter().enumerate() {
        let coding = format!("{:?}", target_plan.coding);
        for (mi, model_plan) in target_plan.models.iter().enumerate() {
            let model = &loaded.models[model_plan.model];
            let to = model.releases.len() - 1;
            let latest = &model.releases[to];
            let to_version = header_version(&model.name, &latest.version)?;
            let result_sha = prepared.inputs.get(model_plan.model, to).sha256;
            let identity = |from_version: ModelVersion| BundleIdentity {
                model_id: mallorn_runtime::format::model_id(&model.name),
                sku_id: mallorn_runtime::format::sku_id(&target_plan.sku),
                from_version,
                to_version,
                security_counter: u64::from(latest.counter),
            };
            let key = |identity: &BundleIdentity, base: Option<[u8; 32]>| {
                key_of(&[
                    fingerprint.as_bytes(),
                    format!("{identity:?}").as_bytes(),
                    &base.map_or(Vec::new(), |b| b.to_vec()),
                    &result_sha,
                    coding.as_bytes(),
                    key_id.as_bytes(),
                ])
            };
            let full_identity = identity(ModelVersion::default());
            fulls.push(Job {
                target: ti,
                model: mi,
                from: None,
                key: key(&full_identity, None),
                identity: full_identity,
                label: format!(
                    "{} {} full image {}",
                    target_plan.sku, model.name, latest.version
                ),
            });
            if !target_plan.coding.builds_deltas() {
                continue;
            }
            for (from, release) in model.releases[..to].iter().enumerate() {
                let delta_identity = identity(header_version(&model.name, &release.version)?);
                let base_sha = prepared.inputs.get(model_plan.model, from).sha256;
                deltas.push(Job {
                    target: ti,
                    model: mi,
                    from: Some(from),
                    key: key(&delta_identity, Some(base_sha)),
                    identity: delta_identity,
                    label: format!(
                        "{} {} {} -> {}",
                        target_plan.sku, model.name, release.version, latest.version
                    ),
                });
            }
        }
    }
    Ok((fulls, deltas))
}

/// The key of the whole build: tool, plan, generated files (which carry the inputs'
/// versions, hashes and keys), every bundle's key and the policy thresholds.
fn build_key(
    loaded: &LoadedManifest,
    prepared: &Prepared,
    fulls: &[Job],
    deltas: &[Job],
) -> String {
    let summary = serde_json::to_vec(&prepared.plan.summary(loaded)).expect("plain data");
    let mut parts: Vec<Vec<u8>> = vec![
        tool_fingerprint().as_bytes().to_vec(),
        summary,
        vec![u8::from(prepared.keys.unsigned)],
    ];
    for (target, files) in prepared.plan.targets.iter().zip(&prepared.rendered) {
        let codec = &loaded.targets[target.target].codec;
        parts.push(
            format!(
                "{} {:?} {:?}",
                codec.full_image_threshold, codec.effort, codec.mode
            )
            .into_bytes(),
        );
        for (file, content) in files {
            parts.push(file.path.clone().into_bytes());
            parts.push(content.clone().into_bytes());
        }
    }
    for job in fulls.iter().chain(deltas) {
        parts.push(job.key.clone().into_bytes());
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    key_of(&refs)
}

/// The index record of a planned artefact, before its bundle is known.
fn record_of(
    target: &plan::TargetPlan,
    model: &plan::ModelPlan,
    artefact: &plan::PlannedArtefact,
    releases: &[mallorn_manifest::Release],
) -> ArtefactRecord {
    ArtefactRecord {
        sku: target.sku.clone(),
        model: model.name.clone(),
        from: artefact.from.map(|i| releases[i].version.to_string()),
        to: releases[artefact.to].version.to_string(),
        kind: String::new(),
        path: artefact.path.clone(),
        size: 0,
        sha256: String::new(),
        key_id: None,
        ram_required: 0,
        security_counter: 0,
        lossless: false,
        plan: String::new(),
        decoders: Vec::new(),
        base: None,
        result: DigestRecord {
            len: 0,
            sha256: String::new(),
        },
        replaced_delta_size: None,
        reason: None,
    }
}

/// Fills the bundle-derived fields of `record` from the published bundle.
fn fill_from_unit(record: &mut ArtefactRecord, unit: &Unit, signer_id: Option<&str>) {
    let header = &unit.header;
    let full = header.flags.contains(Flags::FULL_IMAGE);
    record.kind = if full { "full" } else { "delta" }.into();
    record.size = unit.bytes.len() as u64;
    record.sha256 = hex(&sha256(&unit.bytes));
    record.key_id = if header.flags.contains(Flags::UNSIGNED) {
        None
    } else {
        Some(hex(&header.key_id))
    };
    debug_assert!(record.key_id.as_deref() == signer_id || signer_id.is_none());
    record.ram_required = header.ram_required;
    record.security_counter = header.security_counter;
    record.lossless = header.flags.contains(Flags::LOSSLESS);
    record.plan = unit.plan.into();
    record.decoders = [
        (Decoders::STORED, "stored"),
        (Decoders::FAST, "fast"),
        (Decoders::SMALLEST, "smallest"),
    ]
    .into_iter()
    .filter(|(bit, _)| header.decoders.contains(*bit))
    .map(|(_, name)| name.to_owned())
    .collect();
    record.base = (!full).then(|| DigestRecord {
        len: header.base_len,
        sha256: hex(&header.base_sha256),
    });
    record.result = DigestRecord {
        len: header.target_len,
        sha256: hex(&header.target_sha256),
    };
}

fn target_record(
    loaded: &LoadedManifest,
    plan: &plan::TargetPlan,
    context: &TargetContext,
    generated: Vec<GeneratedRecord>,
) -> TargetRecord {
    TargetRecord {
        sku: plan.sku.clone(),
        sku_id: context.sku_id_hex.clone(),
        coding: plan.coding.name().into(),
        coding_detail: plan.coding.describe(),
        notes: plan.notes.clone(),
        ram_buffer: context.ram_buffer,
        work_len: context.work_len,
        models: plan
            .models
            .iter()
            .zip(&context.models)
            .map(|(model_plan, model)| ModelRecord {
                model: model.name.clone(),
                model_id: model.model_id_hex.clone(),
                releases: loaded.models[model_plan.model]
                    .releases
                    .iter()
                    .map(|r| r.version.to_string())
                    .collect(),
                latest: ImageRecord {
                    version: model.latest.version.clone(),
                    counter: model.latest.counter,
                    len: model.latest.len,
                    sha256: model.latest.sha256_hex.clone(),
                },
            })
            .collect(),
        generated,
    }
}

/// The default output directory for a Mallorn.toml: `[output] dir`, else
/// `<cargo_target_dir>/mallorn`.
pub fn output_dir(loaded: &LoadedManifest, cargo_target_dir: &Path) -> PathBuf {
    loaded.output.dir_or_default(cargo_target_dir)
}
