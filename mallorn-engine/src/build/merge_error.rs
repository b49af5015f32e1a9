//! Why job directories cannot be merged into a published output. Each error names the
//! directory or the jobs concerned; [`MergeError::help`] says what to do. Nothing has been
//! written when one is returned.

use std::path::PathBuf;

use crate::build::job_id::JobId;
use crate::build::stamp::StampMismatch;

/// A merge refusal.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A directory passed to `--merge` does not exist.
    #[error("job directory {} does not exist", dir.display())]
    NoSuchDir {
        /// The directory.
        dir: PathBuf,
    },
    /// A directory holds no job file.
    #[error(
        "{} is not a job directory: it has no {}",
        dir.display(),
        crate::build::job_dir::JOB_FILE
    )]
    NotAJobDir {
        /// The directory.
        dir: PathBuf,
    },
    /// A job file cannot be read.
    #[error("the job file of {} cannot be read: {detail}", dir.display())]
    UnreadableJobFile {
        /// The directory.
        dir: PathBuf,
        /// Why.
        detail: String,
    },
    /// A job directory's bundle is missing or differs from its record.
    #[error(
        "job directory {} is damaged: {path} is missing or is not the bundle its job file records",
        dir.display()
    )]
    Damaged {
        /// The directory.
        dir: PathBuf,
        /// The bundle's path inside it.
        path: String,
    },
    /// A job directory is of a job this build does not have.
    #[error("job directory {} holds job `{job}`, which this build does not plan", dir.display())]
    UnknownJob {
        /// The directory.
        dir: PathBuf,
        /// Its job.
        job: JobId,
    },
    /// A job directory was built from other inputs or by another tool.
    #[error("job directory {} (job `{job}`) was built {}", dir.display(), match what {
        StampMismatch::Tool => "by another mallorn executable",
        StampMismatch::Inputs => "from another Mallorn.toml, model file, key or template",
    })]
    Mismatch {
        /// The directory.
        dir: PathBuf,
        /// Its job.
        job: JobId,
        /// What differs.
        what: StampMismatch,
    },
    /// Two directories hold the same job.
    #[error("job `{job}` is in two directories: {} and {}", first.display(), second.display())]
    Duplicate {
        /// The job.
        job: JobId,
        /// The directory seen first.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// Jobs of the build have no directory.
    #[error("{} of {total} jobs have no job directory: {}", missing.len(), list(missing))]
    Missing {
        /// The jobs without a directory, in plan order.
        missing: Vec<JobId>,
        /// Jobs in the build.
        total: usize,
    },
    /// A job's bundle does not verify against `[signing] trusted-keys` (unsigned, signed with
    /// another key, or altered since it was signed).
    #[error("the bundle of job directory {} does not verify against [signing] trusted-keys: {reason}", dir.display())]
    Unverified {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// Two jobs' bundles are signed with different (trusted) keys.
    #[error("job directories {} and {} are signed with different keys ({first_key} and {key})", first.display(), dir.display())]
    MixedKeys {
        /// The first job directory.
        first: PathBuf,
        /// Its key id.
        first_key: String,
        /// A directory signed with another key.
        dir: PathBuf,
        /// That key's id.
        key: String,
    },
}

fn list(jobs: &[JobId]) -> String {
    jobs.iter()
        .map(JobId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl MergeError {
    /// What the user can do about it.
    pub fn help(&self) -> String {
        match self {
            Self::NoSuchDir { .. } | Self::NotAJobDir { .. } => "pass the directories that `cargo mallorn build --job ID --out-dir DIR` wrote (download every job's artefact first)".into(),
            Self::UnreadableJobFile { .. } | Self::Damaged { .. } => "run that job again (`cargo mallorn build --job ID --out-dir DIR`) and pass its fresh directory".into(),
            Self::UnknownJob { .. } => "build the jobs that `cargo mallorn plan --json` lists now (`jobs`) and merge those; Mallorn.toml has changed since this one was built".into(),
            Self::Mismatch { what: StampMismatch::Tool, .. } => "run every job and the merge with the same mallorn executable (build it once and share it between the CI jobs), then run this job again".into(),
            Self::Mismatch { what: StampMismatch::Inputs, .. } => "run every job and the merge on the same commit (Mallorn.toml, model files, keys, templates); run this job again on the merge's commit".into(),
            Self::Duplicate { .. } => "pass each job's directory once".into(),
            Self::Unverified { .. } => "run that job again with the [signing] key of this Mallorn.toml (`cargo mallorn build --job ID --out-dir DIR`) and pass its fresh directory".into(),
            Self::MixedKeys { .. } => "run every job with the same [signing] key; run the jobs signed with the other key again".into(),
            Self::Missing { .. } => "run `cargo mallorn build --job ID --out-dir DIR` for each job named and pass its directory too (`cargo mallorn plan --json` lists every job in `jobs`)".into(),
        }
    }
}
