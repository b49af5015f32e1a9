//! A path from Mallorn.toml: as written (for messages) and resolved (for the file system).

use std::fmt;
use std::path::{Path, PathBuf};

/// A file or directory named in Mallorn.toml.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResolvedPath {
    /// Exactly as written in Mallorn.toml (relative to its directory). Use it in messages and
    /// generated output: it carries no machine-specific prefix.
    pub written: String,
    /// Absolute path: the directory of Mallorn.toml joined with `written`.
    pub absolute: PathBuf,
}

impl ResolvedPath {
    /// Resolves `written` against `base_dir` (the directory holding Mallorn.toml).
    pub fn new(base_dir: &Path, written: &str) -> Self {
        Self {
            written: written.to_owned(),
            absolute: base_dir.join(written),
        }
    }
}

impl fmt::Display for ResolvedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl AsRef<Path> for ResolvedPath {
    fn as_ref(&self) -> &Path {
        &self.absolute
    }
}
