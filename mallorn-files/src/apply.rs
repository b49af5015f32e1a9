//! One bundle applied to files: OLD (read only, never opened for writing), the result written
//! beside the output as `<output>.mallorn-partial`, progress in `<output>.mallorn-resume`, and
//! the output path appearing only when the whole result has checked out against the signed
//! header, by an atomic rename.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use mallorn_runtime::apply::{Checkpoint, PayloadStream};
use mallorn_runtime::format::{BundleHeader, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::hash::sha256;

use crate::lock::OutputLock;
use crate::record::{ResumeRecord, sync_folder};
use crate::result_file::FileResult;

/// The most work RAM this applier allocates for a bundle (any real bundle needs far less: the
/// largest profile with the longest segments is about 110 KiB).
pub const MAX_WORK_LEN: u32 = 16 << 20;

/// Result bytes between two durable checkpoints by default: each costs an `fsync` of the
/// result and of the resume record.
pub const CHECKPOINT_EVERY: u64 = 8 << 20;

/// How an apply runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileApplyOptions {
    /// Result bytes between two durable checkpoints (at chunk boundaries): at most this much
    /// work is redone after a kill or power loss.
    pub checkpoint_every: u64,
}

impl Default for FileApplyOptions {
    fn default() -> Self {
        Self {
            checkpoint_every: CHECKPOINT_EVERY,
        }
    }
}

/// What an apply did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileApplied {
    /// Result bytes an interrupted earlier run had already written, if this one resumed it.
    pub resumed_from: Option<u64>,
    /// Durable checkpoints this run recorded.
    pub checkpoints: u32,
}

/// Why a bundle was not applied.
#[derive(Debug, thiserror::Error)]
pub enum FileApplyError {
    /// The bundle is shorter than its fixed header and signature.
    #[error(
        "bundle is {len} bytes, shorter than its {SIGNED_BUNDLE_PREFIX}-byte header and signature"
    )]
    TooShort {
        /// Bundle length.
        len: usize,
    },
    /// The header states more work RAM than any Mallorn decoder needs.
    #[error(
        "the bundle states {len} bytes of work RAM, more than the {MAX_WORK_LEN} this applier gives"
    )]
    WorkTooLarge {
        /// Stated work RAM.
        len: u32,
    },
    /// The runtime refused the payload or the result.
    #[error(transparent)]
    Runtime(#[from] mallorn_runtime::Error),
    /// Another apply to the same output is running (it holds `<output>.mallorn-lock`); its
    /// progress is left alone. Try again once it has ended.
    #[error("another apply to {} is running", path.display())]
    Busy {
        /// The output.
        path: PathBuf,
    },
    /// A file could not be read or written; what was applied so far is kept, and the same
    /// call resumes it.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl FileApplyError {
    /// Whether the progress kept on disk is worth resuming: the bundle may still arrive whole
    /// (truncated, or a segment damaged in transit) or the storage may recover. Anything else
    /// is the bundle's or the result's fault, and the progress is removed.
    pub fn keeps_progress(&self) -> bool {
        use mallorn_runtime::Error as E;
        match self {
            Self::Io { .. } | Self::Busy { .. } => true,
            Self::Runtime(e) => matches!(e, E::PayloadTruncated | E::PayloadSegmentMismatch { .. }),
            Self::TooShort { .. } | Self::WorkTooLarge { .. } => false,
        }
    }
}

/// The files of one apply.
struct Paths {
    output: PathBuf,
    partial: PathBuf,
    record: PathBuf,
    record_next: PathBuf,
    lock: PathBuf,
}

impl Paths {
    fn new(output: &Path) -> Self {
        let beside = |suffix: &str| {
            let mut name = OsString::from(output.as_os_str());
            name.push(suffix);
            PathBuf::from(name)
        };
        Self {
            output: output.to_owned(),
            partial: beside(".mallorn-partial"),
            record: beside(".mallorn-resume"),
            record_next: beside(".mallorn-resume.next"),
            lock: beside(".mallorn-lock"),
        }
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> FileApplyError {
        let path = path.to_owned();
        move |source| FileApplyError::Io { path, source }
    }

    /// Removes the progress of an apply that cannot be resumed.
    fn discard(&self) {
        for path in [&self.partial, &self.record, &self.record_next] {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Applies `bundle` (whose header `header` the caller has verified: signature, device, base)
/// to `base`, writing the result to `output`, in bounded memory (the decoder's work buffer and
/// a 1 MiB write buffer; pass memory-mapped inputs to keep them out of anonymous memory).
///
/// Every `options.checkpoint_every` result bytes, the result written so far is synced and a
/// resume record replaces the previous one. A run that was killed, lost power, ran out of
/// space or had only part of the bundle is resumed by calling this again with the same bundle
/// and output: it continues from the last record without redoing what it covers. `output`
/// itself appears only once the whole result matches the header's SHA-256, by an atomic
/// rename; until then it is left as it was. While it runs it holds `<output>.mallorn-lock`:
/// a second apply to the same output meanwhile is refused ([`FileApplyError::Busy`]).
pub fn apply_to_file(
    bundle: &[u8],
    header: &BundleHeader,
    base: &[u8],
    output: &Path,
    options: &FileApplyOptions,
) -> Result<FileApplied, FileApplyError> {
    if header.ram_required > MAX_WORK_LEN {
        return Err(FileApplyError::WorkTooLarge {
            len: header.ram_required,
        });
    }
    let prefix = bundle
        .get(..SIGNED_BUNDLE_PREFIX)
        .ok_or(FileApplyError::TooShort { len: bundle.len() })?;
    let paths = Paths::new(output);
    // Held until the apply has ended (published, or its progress kept or discarded).
    let _lock = OutputLock::take(&paths.lock)
        .map_err(paths.io(&paths.lock))?
        .ok_or_else(|| FileApplyError::Busy {
            path: output.to_owned(),
        })?;
    let run = Run {
        paths: &paths,
        bundle: sha256(prefix),
        header,
        payload: &bundle[SIGNED_BUNDLE_PREFIX..],
        base,
        options,
    };
    run.apply().inspect_err(|error| {
        if !error.keeps_progress() {
            paths.discard();
        }
    })
}

/// One apply's inputs.
struct Run<'a> {
    paths: &'a Paths,
    bundle: [u8; 32],
    header: &'a BundleHeader,
    payload: &'a [u8],
    base: &'a [u8],
    options: &'a FileApplyOptions,
}

impl Run<'_> {
    fn apply(&self) -> Result<FileApplied, FileApplyError> {
        let resume = self.resumable();
        let mut file = self.open_partial(resume.is_some())?;
        let mut work = vec![0; self.header.ram_required.max(64 * 1024) as usize];
        let (mut result, mut stream) = match resume {
            Some(checkpoint) => (
                FileResult::resume(&mut file, checkpoint.progress.output_offset)
                    .map_err(self.paths.io(&self.paths.partial))?,
                PayloadStream::resume(self.header, &mut work, &checkpoint)?,
            ),
            None => (
                FileResult::new(&mut file),
                PayloadStream::new(self.header, &mut work)?,
            ),
        };
        let mut applied = FileApplied {
            resumed_from: resume.map(|c| c.progress.output_offset),
            checkpoints: 0,
        };
        let mut rest = self
            .payload
            .get(stream.wire_offset() as usize..)
            .ok_or(mallorn_runtime::Error::PayloadTruncated)?;
        let mut recorded = result.len();
        let mut base: &[u8] = self.base;
        loop {
            let fed = stream
                .feed(rest, &mut base, &mut result)
                .map_err(|e| self.sink_error(&mut result, e))?;
            rest = &rest[fed.consumed..];
            let Some(checkpoint) = fed.checkpoint else {
                break;
            };
            if result.len() - recorded >= self.options.checkpoint_every && !stream.is_complete() {
                self.record(&mut result, checkpoint)?;
                recorded = result.len();
                applied.checkpoints += 1;
            }
        }
        stream.finish()?;
        self.check(result)?;
        self.publish(&file)?;
        Ok(applied)
    }

    /// The checkpoint to resume from: a record of this bundle, and a partial result that
    /// holds at least what it covers.
    fn resumable(&self) -> Option<Checkpoint> {
        let record = ResumeRecord::read(&self.paths.record)?;
        // Not through a link: only a plain file of its own is a partial result.
        let on_disk = std::fs::symlink_metadata(&self.paths.partial).ok()?;
        if !plain(&on_disk) {
            return None;
        }
        let on_disk = on_disk.len();
        (record.bundle == self.bundle && on_disk >= record.checkpoint.progress.output_offset)
            .then_some(record.checkpoint)
    }

    /// Opens the partial result: the one a record covers, or a new file. Never through a
    /// link (symbolic or hard) someone left at its path: writing there would write, or cut,
    /// the file it points at (OLD, say).
    fn open_partial(&self, resume: bool) -> Result<File, FileApplyError> {
        let io = || self.paths.io(&self.paths.partial);
        let mut open = OpenOptions::new();
        open.read(true).write(true);
        if resume {
            let file = open.open(&self.paths.partial).map_err(io())?;
            return same_plain_file(&file, &self.paths.partial)
                .map(|()| file)
                .map_err(io());
        }
        // A record of another bundle, or of a partial result that is gone, is stale; what
        // is at the partial result's path goes (the name only, not what a link points at),
        // and a new file is made there (`create_new` does not follow links).
        remove_if_present(&self.paths.record).map_err(io())?;
        remove_if_present(&self.paths.partial).map_err(io())?;
        open.create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o644);
        open.open(&self.paths.partial).map_err(io())
    }

    /// A flash error from the result file is the I/O error behind it.
    fn sink_error(
        &self,
        result: &mut FileResult<'_>,
        error: mallorn_runtime::Error,
    ) -> FileApplyError {
        match result.take_io_error() {
            Some(source) => self.paths.io(&self.paths.partial)(source),
            None => error.into(),
        }
    }

    /// Makes the result so far durable, then records `checkpoint`.
    fn record(
        &self,
        result: &mut FileResult<'_>,
        checkpoint: Checkpoint,
    ) -> Result<(), FileApplyError> {
        result.sync().map_err(self.paths.io(&self.paths.partial))?;
        ResumeRecord {
            bundle: self.bundle,
            checkpoint,
        }
        .write(&self.paths.record, &self.paths.record_next)
        .map_err(self.paths.io(&self.paths.record))
    }

    /// Checks the whole result against the header.
    fn check(&self, result: FileResult<'_>) -> Result<(), FileApplyError> {
        if result.len() != self.header.result_len {
            return Err(mallorn_runtime::Error::PayloadTruncated.into());
        }
        if result
            .finish()
            .map_err(self.paths.io(&self.paths.partial))?
            != self.header.result_sha256
        {
            return Err(mallorn_runtime::Error::ResultHashMismatch.into());
        }
        Ok(())
    }

    /// Moves the checked result to the output path, durably, and drops the resume record.
    fn publish(&self, file: &File) -> Result<(), FileApplyError> {
        file.sync_all()
            .map_err(self.paths.io(&self.paths.partial))?;
        std::fs::rename(&self.paths.partial, &self.paths.output)
            .map_err(self.paths.io(&self.paths.output))?;
        sync_folder(&self.paths.output).map_err(self.paths.io(&self.paths.output))?;
        let _ = std::fs::remove_file(&self.paths.record);
        Ok(())
    }
}

/// Removes the name `path`, if there is one.
pub(crate) fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Whether `meta` (of a path, not followed) is a regular file with no other name.
fn plain(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    let single = std::os::unix::fs::MetadataExt::nlink(meta) == 1;
    #[cfg(not(unix))]
    let single = true;
    meta.file_type().is_file() && single
}

/// Checks that `file`, opened at `path`, is the plain file at `path` (not one a link there
/// led to, nor one swapped in after the check that chose to resume).
fn same_plain_file(file: &File, path: &Path) -> std::io::Result<()> {
    let named = std::fs::symlink_metadata(path)?;
    #[cfg(unix)]
    let same = {
        use std::os::unix::fs::MetadataExt;
        let opened = file.metadata()?;
        (opened.dev(), opened.ino()) == (named.dev(), named.ino())
    };
    #[cfg(not(unix))]
    let same = file.metadata().is_ok();
    if same && plain(&named) {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the partial result is a link, not a file of its own",
        ))
    }
}
