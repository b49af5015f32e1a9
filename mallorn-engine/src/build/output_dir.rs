//! The output directory is replaced as a whole: a build writes into a temporary directory next
//! to it and renames that into place only when everything is written, so a failed build leaves
//! the previous output as it was, and no reader ever sees half an output.

use std::path::{Path, PathBuf};

use crate::build::error::{BuildError, io_error};

/// Refuses to replace a directory that mallorn did not write (it would delete the user's
/// files): one that exists, is not empty and has no `marker` file (the cache file of an
/// output directory, the job file of a job directory).
pub fn check_replaceable(out: &Path, marker: &'static str) -> Result<(), BuildError> {
    let foreign = || BuildError::ForeignOutputDir {
        path: out.to_owned(),
        marker,
    };
    match std::fs::metadata(out) {
        Err(_) => Ok(()),
        Ok(meta) if !meta.is_dir() => Err(foreign()),
        Ok(_) => {
            let mut entries = std::fs::read_dir(out).map_err(io_error("read", out))?;
            if entries.next().is_none() || out.join(marker).is_file() {
                Ok(())
            } else {
                Err(foreign())
            }
        }
    }
}

/// A new output being written next to the old one.
#[derive(Debug)]
pub struct Staging {
    dir: tempfile::TempDir,
    out: PathBuf,
}

impl Staging {
    /// Creates the temporary directory beside `out` (same file system, so the final rename is
    /// atomic). Dropping the staging without [`Staging::commit`] deletes it.
    pub fn new(out: &Path) -> Result<Self, BuildError> {
        let parent = parent_of(out);
        std::fs::create_dir_all(&parent).map_err(io_error("create", &parent))?;
        let dir = tempfile::Builder::new()
            .prefix(".mallorn-build-")
            .tempdir_in(&parent)
            .map_err(io_error("create a temporary directory in", &parent))?;
        Ok(Self {
            dir,
            out: out.to_owned(),
        })
    }

    /// Writes `bytes` at `relative` (a `/`-separated path) inside the new output.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> Result<(), BuildError> {
        let path = self.dir.path().join(relative);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(io_error("create", folder))?;
        }
        std::fs::write(&path, bytes).map_err(io_error("write", &path))
    }

    /// Puts the new output in place of the old one (which is then deleted).
    pub fn commit(self) -> Result<(), BuildError> {
        let staged = self.dir.keep();
        let result = swap_into_place(&staged, &self.out);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staged);
        }
        result
    }
}

fn swap_into_place(staged: &Path, out: &Path) -> Result<(), BuildError> {
    #[cfg(unix)]
    {
        // Temporary directories are private (0700); an output directory is not.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(staged, std::fs::Permissions::from_mode(0o755))
            .map_err(io_error("set permissions of", staged))?;
    }
    if !out.exists() {
        return std::fs::rename(staged, out).map_err(io_error("rename into place", out));
    }
    let retired = parent_of(out).join(format!(
        ".mallorn-old-{}-{}",
        std::process::id(),
        staged
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    std::fs::rename(out, &retired).map_err(io_error("move the previous output from", out))?;
    if let Err(error) = std::fs::rename(staged, out) {
        // Put the previous output back: the build failed, nothing may change.
        let _ = std::fs::rename(&retired, out);
        return Err(io_error("rename into place", out)(error));
    }
    let _ = std::fs::remove_dir_all(&retired);
    Ok(())
}

/// The directory holding `path` (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::cache::CACHE_FILE;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_whole_directory_or_nothing() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("mallorn");

        let first = Staging::new(&out).unwrap();
        first.write("a/one.txt", b"1").unwrap();
        first.write(CACHE_FILE, b"{}").unwrap();
        first.commit().unwrap();
        assert_eq!(std::fs::read(out.join("a/one.txt")).unwrap(), b"1");

        // A staging dropped without commit changes nothing and leaves nothing behind.
        let abandoned = Staging::new(&out).unwrap();
        abandoned.write("b/two.txt", b"2").unwrap();
        drop(abandoned);
        assert_eq!(names(root.path()), ["mallorn"]);

        let second = Staging::new(&out).unwrap();
        second.write("b/two.txt", b"2").unwrap();
        second.commit().unwrap();
        assert!(!out.join("a").exists());
        assert_eq!(std::fs::read(out.join("b/two.txt")).unwrap(), b"2");
        assert_eq!(names(root.path()), ["mallorn"]);
    }

    #[test]
    fn refuses_to_replace_a_foreign_directory() {
        let root = tempfile::tempdir().unwrap();
        assert!(check_replaceable(&root.path().join("absent"), CACHE_FILE).is_ok());
        assert!(check_replaceable(root.path(), CACHE_FILE).is_ok(), "empty");
        std::fs::write(root.path().join("notes.txt"), b"mine").unwrap();
        assert!(matches!(
            check_replaceable(root.path(), CACHE_FILE),
            Err(BuildError::ForeignOutputDir { .. })
        ));
        std::fs::write(root.path().join(CACHE_FILE), b"{}").unwrap();
        assert!(check_replaceable(root.path(), CACHE_FILE).is_ok());
    }
}
