//! `cargo mallorn build` as a library: from a validated Mallorn.toml to a publishable output
//! directory (per SKU: a bundle from every historical release to the latest, a full image,
//! the generated firmware files; at the top an `index.json`), built incrementally and put in
//! place atomically.
//!
//! Steps: [`plan`] (from the manifest alone) -> keys and inputs -> render generated files
//! (`prepare`) -> up-to-date check ([`cache`]) -> encode the bundles that changed, in
//! parallel, the others from the previous output (`encode`) -> choose each published bundle
//! with the full-image policy and write everything into a staging directory (`publish`) ->
//! swap it in ([`output_dir`]) -> update the source-tree copies ([`source_tree`]). Any error
//! before the swap leaves the previous output untouched.
//!
//! Spread over machines: [`job`] builds one published bundle into a job directory, [`merge`]
//! writes the output from every job's directory, as [`build`] would have.

pub mod bundles;
pub mod cache;
pub mod coding;
mod encode;
pub mod error;
pub mod index;
pub mod inputs;
pub mod job;
pub mod job_dir;
pub mod job_id;
mod jobs;
pub mod keys;
pub mod merge;
pub mod merge_error;
pub mod output_dir;
pub mod plan;
pub(crate) mod prepare;
mod publish;
mod records;
pub mod shipped;
pub mod source_tree;
pub mod stamp;
pub mod versions;

use std::collections::BTreeMap;
use std::path::PathBuf;

use mallorn_manifest::LoadedManifest;
use mallorn_runtime::hash::sha256;

pub use coding::Coding;
pub use error::BuildError;
pub use index::{ArtefactKind, ArtefactRecord, Index};
pub use job::{JobOptions, JobReport, build_job, default_job_dir};
pub use job_id::JobId;
pub use merge::{MergeOptions, merge};
pub use merge_error::MergeError;
pub use plan::{BuildPlan, INDEX_FILE, PlanModel, PlanSummary, plan};
pub use source_tree::{SourceTreeFile, StaleFile};

use crate::build::cache::Cache;
use crate::build::index::{GeneratedRecord, SigningRecord, TargetRecord};
use crate::build::output_dir::Staging;
use crate::build::prepare::Prepared;
use crate::build::publish::OutputWriter;
use crate::build::records::target_record;
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

impl BuildReport {
    /// The report of a build of `prepared` into `out` that has changed nothing yet.
    fn up_to_date(out: &std::path::Path, prepared: &Prepared) -> Self {
        Self {
            output_dir: out.to_owned(),
            up_to_date: true,
            index: None,
            bundle_count: prepared.plan.bundle_count(),
            encoded: 0,
            reused: 0,
            source_tree_written: Vec::new(),
            unsigned: prepared.keys.unsigned,
        }
    }
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

/// Builds the selected targets into `options.output_dir`.
pub fn build(
    loaded: &LoadedManifest,
    options: &BuildOptions<'_>,
) -> Result<BuildReport, BuildError> {
    let prepared = Prepared::new(loaded, &options.targets, options.allow_unsigned, true)?;
    let out = &options.output_dir;
    output_dir::check_replaceable(out, cache::CACHE_FILE)?;

    let jobs = jobs::jobs(loaded, &prepared)?;
    let build_key = jobs::build_key(loaded, &prepared, &jobs);
    let previous = Cache::load(out).unwrap_or_default();
    let mut report = BuildReport::up_to_date(out, &prepared);
    if previous.build_key != build_key || !previous.files_intact(out) {
        let scores = shipped::run_gates(loaded, &prepared.inputs)?;
        let workers = encode::Workers {
            previous_dir: out,
            threads: options.threads,
            observer: options.observer,
        };
        let encoded = encode::encode_all(loaded, &prepared, &jobs, &previous, &workers)?;
        let staging = Staging::new(out)?;
        let mut writer = OutputWriter::new(&staging, Cache::new(build_key));
        let (artefacts, counts) =
            publish::publish_artefacts(loaded, &prepared, &encoded, &mut writer)?;
        let index = finish_output(loaded, &prepared, &scores, artefacts, writer)?;
        staging.commit()?;
        report.up_to_date = false;
        report.index = Some(index);
        report.encoded = counts.encoded;
        report.reused = counts.reused;
    }
    if options.write_source_tree {
        report.source_tree_written = source_tree::sync(&prepared.source_tree_files())?;
    }
    Ok(report)
}

/// Writes what follows the bundles into the staging directory: the generated files, the
/// shipped images, `index.json` (with the bundles' `artefacts` records) and the cache.
fn finish_output(
    loaded: &LoadedManifest,
    prepared: &Prepared,
    scores: &BTreeMap<usize, f64>,
    artefacts: Vec<ArtefactRecord>,
    mut writer: OutputWriter<'_>,
) -> Result<Index, BuildError> {
    let targets = write_generated(loaded, prepared, &mut writer)?;
    let shipped = shipped::write_shipped(loaded, &prepared.inputs, scores, &mut writer)?;
    let index = index_of(prepared, targets, artefacts, shipped);
    writer.write(INDEX_FILE, &index.to_bytes())?;
    writer.finish()?;
    Ok(index)
}

/// Writes every target's generated files; returns the targets' index records.
fn write_generated(
    loaded: &LoadedManifest,
    prepared: &Prepared,
    writer: &mut OutputWriter<'_>,
) -> Result<Vec<TargetRecord>, BuildError> {
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
            writer.write(&file.path, content.as_bytes())?;
            generated.push(GeneratedRecord {
                kind: file.kind,
                path: file.path.clone(),
                source_tree: file.source_tree.as_ref().map(|p| p.written.clone()),
                size: content.len() as u64,
                sha256: hex(&sha256(content.as_bytes())),
            });
        }
        targets.push(target_record(loaded, target_plan, context, generated));
    }
    Ok(targets)
}

fn index_of(
    prepared: &Prepared,
    targets: Vec<TargetRecord>,
    artefacts: Vec<ArtefactRecord>,
    shipped: Vec<shipped::ShippedRecord>,
) -> Index {
    Index {
        format: index::INDEX_FORMAT,
        generator: crate::codegen::generator(),
        signing: SigningRecord {
            key_id: prepared.keys.signer_id(),
            trusted_key_ids: prepared
                .keys
                .trusted
                .iter()
                .map(|t| hex(&t.key.key_id()))
                .collect(),
        },
        targets,
        artefacts,
        shipped,
    }
}
