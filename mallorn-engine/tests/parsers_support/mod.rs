//! Shared helpers for the parser tests: where the corpus and the fixtures are.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Every model file under the corpus (all files but the `.md` notes), sorted; `None` with a
/// notice on stderr when the corpus is absent, or a panic if `MALLORN_REQUIRE_CORPUS=1` (see
/// `mallorn_tests::corpus_dir`).
pub fn corpus_files() -> Option<Vec<PathBuf>> {
    let dir = mallorn_tests::corpus_dir()?;
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
