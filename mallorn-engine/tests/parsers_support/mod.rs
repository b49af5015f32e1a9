//! Shared helpers for the parser tests: where the corpus and the fixtures are.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/corpus` relative to the workspace root.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

/// Every model file under the corpus (all files but the `.md` notes), sorted; `None` with a
/// notice on stderr when the corpus is absent.
pub fn corpus_files() -> Option<Vec<PathBuf>> {
    let dir = corpus_dir();
    if !dir.is_dir() {
        eprintln!(
            "notice: {} is absent; skipping the corpus checks",
            dir.display()
        );
        return None;
    }
    let mut files = Vec::new();
    let mut pending = vec![dir];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_none_or(|e| e != "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    Some(files)
}

/// The checked-in fixtures (small models with their licence notes).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
