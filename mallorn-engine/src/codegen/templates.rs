//! The templates: built into mallorn from the top-level `templates/` folder (the
//! `mallorn-templates` crate), each one
//! replaceable by a file of the same name in the user's `[output] templates` directory (which
//! may also hold templates the others `{% include %}`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::build::error::{BuildError, io_error};

/// The built-in templates, by file name (the `mallorn-templates` crate: the top-level
/// `templates/` folder).
pub use mallorn_templates::BUILT_IN;

/// Largest template file read (a template is a few KiB).
const MAX_TEMPLATE_SIZE: u64 = 1 << 20;

/// The template sources of a build, by name: built-ins overlaid with the user's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSet {
    sources: BTreeMap<String, String>,
}

impl TemplateSet {
    /// The built-in templates only.
    pub fn built_in() -> Self {
        Self {
            sources: BUILT_IN
                .iter()
                .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
                .collect(),
        }
    }

    /// The built-ins overlaid with every file under `dir` (names are `/`-separated paths
    /// relative to `dir`).
    pub fn with_user_dir(dir: &Path) -> Result<Self, BuildError> {
        let mut set = Self::built_in();
        let mut files = Vec::new();
        collect_files(dir, dir, &mut files)?;
        for (name, path) in files {
            let size = std::fs::metadata(&path)
                .map_err(io_error("read", &path))?
                .len();
            if size > MAX_TEMPLATE_SIZE {
                return Err(BuildError::Template {
                    name,
                    detail: format!("larger than {MAX_TEMPLATE_SIZE} bytes"),
                });
            }
            let text = std::fs::read_to_string(&path).map_err(io_error("read", &path))?;
            set.sources.insert(name, text);
        }
        Ok(set)
    }

    /// Every template by name, for rendering and for the build's cache key.
    pub fn sources(&self) -> &BTreeMap<String, String> {
        &self.sources
    }
}

/// Files under `dir`, recursively, sorted by name.
fn collect_files(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), BuildError> {
    let mut entries = std::fs::read_dir(dir)
        .map_err(io_error("read the template directory", dir))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_error("read the template directory", dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(io_error("read", &path))?;
        if kind.is_dir() {
            collect_files(root, &path, out)?;
        } else if kind.is_file() {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((name, path));
        }
    }
    Ok(())
}
