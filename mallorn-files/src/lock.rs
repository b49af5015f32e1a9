//! One apply per output at a time: an exclusive, non-blocking `flock` on
//! `<output>.mallorn-lock`, held for the whole apply and removed with it. Two runs on one
//! output would each cut and extend the other's partial result (and one could publish it
//! while the other still writes into it); the second is refused instead. The kernel drops the
//! lock when its holder dies, so a killed run never blocks the next one.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::apply::remove_if_present;

/// The lock of one output, released (and its file removed) on drop.
#[derive(Debug)]
pub(crate) struct OutputLock {
    path: PathBuf,
    _file: File,
}

/// Attempts before giving up on a lock file that keeps being replaced under us.
const ATTEMPTS: u32 = 8;

impl OutputLock {
    /// Takes the lock at `path`: `None` when another run holds it.
    pub(crate) fn take(path: &Path) -> std::io::Result<Option<Self>> {
        for _ in 0..ATTEMPTS {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)?;
            if !try_lock(&file)? {
                return Ok(None);
            }
            // The run before may have removed the name between our open and our lock (it
            // does so while releasing): the lock only counts on the file at the path now.
            match std::fs::symlink_metadata(path) {
                Ok(named) if named.file_type().is_file() && same_file(&file, &named)? => {
                    return Ok(Some(Self {
                        path: path.to_owned(),
                        _file: file,
                    }));
                }
                // A link or another file someone put there is not a lock: replace it.
                Ok(named) if !named.file_type().is_file() => remove_if_present(path)?,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still held, so no run locks a file that is about to lose its name.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Takes an exclusive `flock` on `file` without waiting: `false` when another open file
/// holds it. Released when `file` (every handle to it) is closed, or its process dies.
#[cfg(unix)]
#[allow(
    unsafe_code,
    reason = "flock(2) through libc: std has File::try_lock only from Rust 1.89"
)]
pub(crate) fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this function borrows; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(error)
    }
}

#[cfg(unix)]
fn same_file(file: &File, named: &std::fs::Metadata) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let opened = file.metadata()?;
    Ok((opened.dev(), opened.ino()) == (named.dev(), named.ino()))
}

// Elsewhere the lock is not taken (no portable advisory lock before Rust 1.89).
#[cfg(not(unix))]
pub(crate) fn try_lock(_: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(not(unix))]
fn same_file(_: &File, _: &std::fs::Metadata) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_refuses_a_second_taker_until_it_is_dropped() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("out.mallorn-lock");
        let first = OutputLock::take(&path).unwrap().expect("free");
        assert!(OutputLock::take(&path).unwrap().is_none());
        drop(first);
        assert!(!path.exists());
        let again = OutputLock::take(&path).unwrap();
        assert!(again.is_some());
    }
}
