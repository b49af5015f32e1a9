//! Finds model lineages (one folder each, files in release order by name) and their
//! consecutive pairs.

use std::path::{Path, PathBuf};

/// One OLD -> NEW pair of a lineage.
#[derive(Debug, Clone)]
pub struct Pair {
    /// Lineage folder name.
    pub lineage: String,
    /// Older release.
    pub old: PathBuf,
    /// Newer release.
    pub new: PathBuf,
}

impl Pair {
    /// `old-name -> new-name`.
    pub fn label(&self) -> String {
        format!("{} -> {}", file_name(&self.old), file_name(&self.new))
    }
}

/// The file name as text.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every consecutive pair of every lineage under `corpus`, sorted.
pub fn pairs(corpus: &Path) -> std::io::Result<Vec<Pair>> {
    let mut lineages: Vec<PathBuf> = std::fs::read_dir(corpus)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    lineages.sort();
    let mut out = Vec::new();
    for dir in lineages {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
            .collect();
        files.sort();
        for w in files.windows(2) {
            out.push(Pair {
                lineage: file_name(&dir),
                old: w[0].clone(),
                new: w[1].clone(),
            });
        }
    }
    Ok(out)
}
