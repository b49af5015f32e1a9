//! Output locations for bundles and generated files.

use std::path::{Path, PathBuf};

use crate::model::ResolvedPath;

/// `[output]`: every entry optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Directory for bundles; `None` means `<cargo target dir>/mallorn`.
    pub dir: Option<ResolvedPath>,
    /// Generated Rust include, if wanted in the source tree.
    pub rust: Option<ResolvedPath>,
    /// Generated C header, if wanted.
    pub c_header: Option<ResolvedPath>,
    /// Generated linker fragment, if wanted.
    pub linker: Option<ResolvedPath>,
    /// User template directory, if any.
    pub templates: Option<ResolvedPath>,
}

impl Output {
    /// The bundle directory: `dir` if set, else `<cargo_target_dir>/mallorn`.
    pub fn dir_or_default(&self, cargo_target_dir: &Path) -> PathBuf {
        match &self.dir {
            Some(dir) => dir.absolute.clone(),
            None => cargo_target_dir.join("mallorn"),
        }
    }
}
