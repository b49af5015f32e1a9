//! The generated files a firmware repository commits (`[output] rust`, `c-header`, `linker`):
//! written only when their content changes (an unchanged file keeps its timestamp, so cargo
//! and make do not rebuild), and compared without writing for `build --check`.

use std::path::PathBuf;

use crate::atomic_write::write_atomically;
use crate::build::error::{BuildError, io_error};
use crate::codegen::GeneratedKind;

/// A rendered file that has a place in the source tree.
#[derive(Debug, Clone)]
pub struct SourceTreeFile {
    /// The target it belongs to.
    pub sku: String,
    /// Which file.
    pub kind: GeneratedKind,
    /// Path as written in Mallorn.toml, `{sku}` replaced (for messages).
    pub written: String,
    /// Absolute path.
    pub absolute: PathBuf,
    /// What it should contain.
    pub content: String,
}

/// A committed file that differs from what the build would write.
#[derive(Debug, Clone)]
pub struct StaleFile {
    /// The file (path as written in Mallorn.toml).
    pub written: String,
    /// Its current content, `None` when it does not exist (or is not UTF-8 text).
    pub current: Option<String>,
    /// What the build would write.
    pub expected: String,
}

/// Files whose content differs from `files`' (without writing anything).
pub fn stale(files: &[SourceTreeFile]) -> Vec<StaleFile> {
    files
        .iter()
        .filter_map(|file| {
            let current = std::fs::read_to_string(&file.absolute).ok();
            (current.as_deref() != Some(file.content.as_str())).then(|| StaleFile {
                written: file.written.clone(),
                current,
                expected: file.content.clone(),
            })
        })
        .collect()
}

/// Writes the files that differ; returns their paths as written in Mallorn.toml.
pub fn sync(files: &[SourceTreeFile]) -> Result<Vec<String>, BuildError> {
    let mut written = Vec::new();
    for file in files {
        let current = std::fs::read(&file.absolute).ok();
        if current.as_deref() == Some(file.content.as_bytes()) {
            continue;
        }
        if let Some(folder) = file.absolute.parent() {
            std::fs::create_dir_all(folder).map_err(io_error("create", folder))?;
        }
        write_atomically(&file.absolute, file.content.as_bytes())
            .map_err(io_error("write", &file.absolute))?;
        written.push(file.written.clone());
    }
    Ok(written)
}
