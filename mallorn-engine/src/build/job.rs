//! `cargo mallorn build --job ID`: one published bundle of the build, into a job directory of
//! its own (see [`job_dir`](crate::build::job_dir)), for CI matrices that spread a build over
//! machines; [`merge`](crate::build::merge) assembles the output from every job's directory.
//!
//! A job builds exactly the bundle published at its artefact's path: for a bundle from a
//! historical release, the delta, or the full image when the full-image policy rejects the
//! delta (so such a job encodes its model's full image too, to weigh the two); for the full
//! image, the full image. Generated files, shipped images, quality gates and `index.json` are
//! the merge's. The job reads every model file, as the whole build's key covers them all.

use std::path::{Path, PathBuf};

use mallorn_manifest::LoadedManifest;

use crate::build::cache::Cache;
use crate::build::encode::{self, Workers};
use crate::build::error::BuildError;
use crate::build::index::ArtefactRecord;
use crate::build::job_dir::{JOB_FILE, JobRecord};
use crate::build::job_id::JobId;
use crate::build::output_dir::{self, Staging};
use crate::build::prepare::Prepared;
use crate::build::stamp::BuildStamp;
use crate::build::{BuildObserver, jobs, publish};

/// What job to build and where.
pub struct JobOptions<'a> {
    /// The job.
    pub job: JobId,
    /// Build without `[signing]` (unsigned development bundles).
    pub allow_unsigned: bool,
    /// The job directory (replaced as a whole).
    pub job_dir: PathBuf,
    /// Worker threads for encoding.
    pub threads: usize,
    /// Progress reports.
    pub observer: &'a dyn BuildObserver,
}

/// What a job did.
#[derive(Debug, Clone)]
pub struct JobReport {
    /// The job directory.
    pub job_dir: PathBuf,
    /// The published bundle's record.
    pub artefact: ArtefactRecord,
    /// Bundles encoded (the delta and the full image it is weighed against, or one).
    pub encoded: usize,
    /// True when the bundle is unsigned.
    pub unsigned: bool,
}

/// The directory a job writes to when none is given: `<output dir>-jobs/<id>` beside the
/// output directory (`target/mallorn-jobs/<id>` by default).
pub fn default_job_dir(output_dir: &Path, job: &JobId) -> PathBuf {
    let name = output_dir
        .file_name()
        .map_or_else(|| "mallorn".into(), |n| n.to_string_lossy().into_owned());
    output_dir
        .with_file_name(format!("{name}-jobs"))
        .join(job.as_str())
}

/// Builds job `options.job` into `options.job_dir`.
pub fn build_job(
    loaded: &LoadedManifest,
    options: &JobOptions<'_>,
) -> Result<JobReport, BuildError> {
    let prepared = Prepared::new(loaded, &[], options.allow_unsigned, true)?;
    let Some((at, artefact)) = prepared.plan.job(&options.job) else {
        return Err(BuildError::UnknownJob {
            job: options.job.clone(),
            count: prepared.plan.bundle_count(),
        });
    };
    output_dir::check_replaceable(&options.job_dir, JOB_FILE)?;
    let all = jobs::jobs(loaded, &prepared)?;
    let stamp = BuildStamp::new(jobs::build_key(loaded, &prepared, &all));
    let selected = all.for_artefact(at, artefact.from);
    let workers = Workers {
        previous_dir: &options.job_dir,
        threads: options.threads,
        observer: options.observer,
    };
    let encoded = encode::encode_all(loaded, &prepared, &selected, &Cache::default(), &workers)?;
    let mut cache = Cache::new(stamp.build_key.clone());
    let (unit, record) =
        publish::publish_artefact(loaded, &prepared, &encoded, at, artefact, &mut cache)?;
    let staging = Staging::new(&options.job_dir)?;
    staging.write(&artefact.path, &unit.bytes)?;
    let job = JobRecord::new(options.job.clone(), stamp, record.clone(), cache.units);
    staging.write(JOB_FILE, &job.to_bytes())?;
    staging.commit()?;
    Ok(JobReport {
        job_dir: options.job_dir.clone(),
        artefact: record,
        encoded: selected.all().count(),
        unsigned: prepared.keys.unsigned,
    })
}
