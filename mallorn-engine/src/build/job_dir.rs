//! A job directory: what `cargo mallorn build --job ID` writes and the merge reads. It holds
//! the job's published bundle at its path in the output directory, and [`JOB_FILE`]: the job
//! id, the build's stamp, the bundle's `index.json` record and the build-cache entries of the
//! bundles it came from (so the merged output's cache is the one-machine build's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mallorn_runtime::hash::sha256;
use serde::{Deserialize, Serialize};

use crate::build::cache::CachedUnit;
use crate::build::index::ArtefactRecord;
use crate::build::job_id::JobId;
use crate::build::merge_error::MergeError;
use crate::build::stamp::BuildStamp;
use crate::signing::hex;

/// The job file's name inside a job directory. Its presence also marks the directory as
/// written by mallorn (a job replaces only such directories).
pub const JOB_FILE: &str = "mallorn-job.json";

/// Version of the job file's layout.
const JOB_FORMAT: u32 = 1;

/// The job file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    /// Layout version.
    pub format: u32,
    /// The job.
    pub job: JobId,
    /// What it was built from.
    pub stamp: BuildStamp,
    /// The published bundle's record in `index.json`.
    pub artefact: ArtefactRecord,
    /// Build-cache entries of the bundles it came from (bundle key -> outcome).
    pub units: BTreeMap<String, CachedUnit>,
}

impl JobRecord {
    /// A record of the current layout.
    pub fn new(
        job: JobId,
        stamp: BuildStamp,
        artefact: ArtefactRecord,
        units: BTreeMap<String, CachedUnit>,
    ) -> Self {
        Self {
            format: JOB_FORMAT,
            job,
            stamp,
            artefact,
            units,
        }
    }

    /// The job file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).expect("plain data serializes");
        text.push('\n');
        text.into_bytes()
    }
}

/// A job directory read back, with its bundle.
#[derive(Debug, Clone)]
pub struct JobDir {
    /// The directory, as given.
    pub dir: PathBuf,
    /// Its job file.
    pub record: JobRecord,
    /// The published bundle, checked against the record's size and SHA-256.
    pub bundle: Vec<u8>,
}

impl JobDir {
    /// Reads the job file and the bundle of `dir`.
    pub fn read(dir: &Path) -> Result<Self, MergeError> {
        if !dir.is_dir() {
            return Err(MergeError::NoSuchDir { dir: dir.into() });
        }
        let path = dir.join(JOB_FILE);
        let text = std::fs::read(&path).map_err(|_| MergeError::NotAJobDir { dir: dir.into() })?;
        let unreadable = |detail: String| MergeError::UnreadableJobFile {
            dir: dir.into(),
            detail,
        };
        let record: JobRecord =
            serde_json::from_slice(&text).map_err(|e| unreadable(e.to_string()))?;
        if record.format != JOB_FORMAT {
            return Err(unreadable(format!(
                "layout version {}, this mallorn reads version {JOB_FORMAT}",
                record.format
            )));
        }
        let damaged = || MergeError::Damaged {
            dir: dir.into(),
            path: record.artefact.path.clone(),
        };
        let bundle = std::fs::read(dir.join(&record.artefact.path)).map_err(|_| damaged())?;
        if bundle.len() as u64 != record.artefact.size
            || hex(&sha256(&bundle)) != record.artefact.sha256
        {
            return Err(damaged());
        }
        Ok(Self {
            dir: dir.into(),
            record,
            bundle,
        })
    }
}
