//! Shared helpers for the parser tests: where the corpus and the fixtures are.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The checked-in fixtures (small models with their licence notes).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
