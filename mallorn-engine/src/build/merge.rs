//! `cargo mallorn build --merge DIR...`: the published output assembled from the directories
//! of every job ([`job`](crate::build::job)), byte-identical to a one-machine build of the same
//! inputs: the jobs' bundles and `index.json` records, the generated files, the shipped images
//! (after the quality gates) and the build cache. Nothing is encoded.
//!
//! Refused, before anything is written: a directory that is missing, not a job directory,
//! damaged, of a job the build does not plan, built from other inputs or by another tool, a
//! job found twice, and a set of directories that leaves a job out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mallorn_manifest::LoadedManifest;

use crate::build::cache::{CACHE_FILE, Cache};
use crate::build::error::BuildError;
use crate::build::job_dir::JobDir;
use crate::build::job_id::JobId;
use crate::build::keys::BuildKeys;
use crate::build::merge_error::MergeError;
use crate::build::output_dir::{self, Staging};
use crate::build::plan::BuildPlan;
use crate::build::prepare::Prepared;
use crate::build::publish::OutputWriter;
use crate::build::stamp::BuildStamp;
use crate::build::{BuildReport, finish_output, jobs, shipped, source_tree};
use crate::signing::{PublicKey, hex, verify_bundle};

/// What to merge and where.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// One directory per job, as `cargo mallorn build --job` wrote them.
    pub job_dirs: Vec<PathBuf>,
    /// Build without `[signing]` (unsigned development bundles).
    pub allow_unsigned: bool,
    /// The output directory (`[output] dir`, or `<cargo target dir>/mallorn`).
    pub output_dir: PathBuf,
    /// Update the generated files in the source tree (`[output] rust/c-header/linker`).
    pub write_source_tree: bool,
}

/// Merges `options.job_dirs` into `options.output_dir`. The merge signs nothing, so it reads
/// no private key: every job bundle must verify against the trusted keys, all with the same
/// key, whose id (part of the build key and of `index.json`) is the signer's.
pub fn merge(loaded: &LoadedManifest, options: &MergeOptions) -> Result<BuildReport, BuildError> {
    let mut prepared = Prepared::new(loaded, &[], options.allow_unsigned, false)?;
    let out = &options.output_dir;
    output_dir::check_replaceable(out, CACHE_FILE)?;
    let read = options
        .job_dirs
        .iter()
        .map(|dir| JobDir::read(dir))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(signer) = job_signer(&prepared.keys, &read)? {
        prepared.keys.adopt_signer(signer)?;
    }
    let all = jobs::jobs(loaded, &prepared)?;
    let stamp = BuildStamp::new(jobs::build_key(loaded, &prepared, &all));
    let found = collect(&prepared.plan, read, &stamp)?;
    let previous = Cache::load(out).unwrap_or_default();
    let mut report = BuildReport::up_to_date(out, &prepared);
    if previous.build_key != stamp.build_key || !previous.files_intact(out) {
        let scores = shipped::run_gates(loaded, &prepared.inputs)?;
        let staging = Staging::new(out)?;
        let mut writer = OutputWriter::new(&staging, Cache::new(stamp.build_key));
        let mut artefacts = Vec::new();
        for (_, artefact) in prepared.plan.artefacts() {
            let job = &found[&artefact.job];
            writer.write(&artefact.path, &job.bundle)?;
            let units = job.record.units.iter().map(|(k, u)| (k.clone(), u.clone()));
            writer.cache.units.extend(units);
            artefacts.push(job.record.artefact.clone());
        }
        let index = finish_output(loaded, &prepared, &scores, artefacts, writer)?;
        staging.commit()?;
        report.up_to_date = false;
        report.index = Some(index);
    }
    if options.write_source_tree {
        report.source_tree_written = source_tree::sync(&prepared.source_tree_files())?;
    }
    Ok(report)
}

/// The key the job bundles are signed with, every bundle's signature checked against the
/// trusted keys; `None` for an unsigned build (no `[signing]`).
fn job_signer(keys: &BuildKeys, read: &[JobDir]) -> Result<Option<[u8; 8]>, MergeError> {
    if keys.unsigned {
        return Ok(None);
    }
    let trusted: Vec<PublicKey> = keys.trusted.iter().map(|t| t.key).collect();
    let mut signer: Option<(&JobDir, [u8; 8])> = None;
    for job in read {
        let verified =
            verify_bundle(&job.bundle, &trusted, None).map_err(|e| MergeError::Unverified {
                dir: job.dir.clone(),
                reason: e.to_string(),
            })?;
        let key = verified.signed_by.unwrap_or_default();
        match signer {
            None => signer = Some((job, key)),
            Some((first, first_key)) if first_key != key => {
                return Err(MergeError::MixedKeys {
                    first: first.dir.clone(),
                    first_key: hex(&first_key),
                    dir: job.dir.clone(),
                    key: hex(&key),
                });
            }
            Some(_) => {}
        }
    }
    Ok(signer.map(|(_, key)| key))
}

/// Checks that the job directories read are together exactly the plan's jobs, of this build.
fn collect(
    plan: &BuildPlan,
    read: Vec<JobDir>,
    stamp: &BuildStamp,
) -> Result<BTreeMap<JobId, JobDir>, MergeError> {
    let mut found: BTreeMap<JobId, JobDir> = BTreeMap::new();
    for job in read {
        let dir = job.dir.clone();
        let id = job.record.job.clone();
        if plan.job(&id).is_none() {
            return Err(MergeError::UnknownJob {
                dir: dir.clone(),
                job: id,
            });
        }
        if let Some(what) = stamp.mismatch(&job.record.stamp) {
            return Err(MergeError::Mismatch {
                dir: dir.clone(),
                job: id,
                what,
            });
        }
        if let Some(first) = found.get(&id) {
            return Err(MergeError::Duplicate {
                job: id,
                first: first.dir.clone(),
                second: dir.clone(),
            });
        }
        found.insert(id, job);
    }
    let missing: Vec<JobId> = plan
        .artefacts()
        .filter(|(_, artefact)| !found.contains_key(&artefact.job))
        .map(|(_, artefact)| artefact.job.clone())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing,
            total: plan.bundle_count(),
        });
    }
    Ok(found)
}
