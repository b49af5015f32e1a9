//! Helpers shared by the tests of every crate in the workspace: where the shared model corpus
//! is and what happens when it is not there; deterministic pseudo-random bytes; raw test
//! bundles.
//!
//! Tests that need real models call [`corpus_dir`]. It returns `../shared/corpus` (from the
//! workspace root), or the folder in `MALLORN_CORPUS`. When that folder is missing or empty it
//! writes a notice to stderr and returns `None`, and the test passes without its corpus
//! checks, unless `MALLORN_REQUIRE_CORPUS=1` is set (as CI sets it): then it panics, so the
//! test fails instead of passing vacuously.

pub mod lossy_lineage;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use mallorn_engine::bundle::{BundleIdentity, BundleRequest, apply_bundle, build_bundle};
use mallorn_engine::delta::{EncodeOptions, ModelFormat};

/// Environment variable naming the corpus folder, instead of `../shared/corpus`. A relative
/// path is taken from the workspace root.
pub const CORPUS_ENV: &str = "MALLORN_CORPUS";

/// Environment variable that, set to `1`, turns a missing corpus into a test failure.
pub const REQUIRE_CORPUS_ENV: &str = "MALLORN_REQUIRE_CORPUS";

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where the corpus should be: `MALLORN_CORPUS`, else `../shared/corpus` from the workspace
/// root. Says nothing about whether it is there.
pub fn corpus_location() -> PathBuf {
    match std::env::var_os(CORPUS_ENV) {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("../shared/corpus"),
    }
}

/// Whether `MALLORN_REQUIRE_CORPUS=1` is set.
pub fn corpus_required() -> bool {
    std::env::var_os(REQUIRE_CORPUS_ENV).is_some_and(|v| v == "1")
}

/// The corpus folder, or `None` when it is missing or empty: then a notice naming the
/// calling test goes to stderr (written past the test harness's capture, so it shows in
/// `cargo test` output), or, with `MALLORN_REQUIRE_CORPUS=1`, this panics.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = corpus_location();
    let present = std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some());
    if present {
        return Some(dir);
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    if corpus_required() {
        panic!(
            "{test} needs the model corpus, but {} is missing or empty and \
             {REQUIRE_CORPUS_ENV}=1 is set: put the corpus there, point {CORPUS_ENV} at it, \
             or unset {REQUIRE_CORPUS_ENV} to skip the corpus checks",
            dir.display()
        );
    }
    let _ = writeln!(
        std::io::stderr().lock(),
        "notice: {test}: {} is missing or empty; skipping its corpus checks \
         (set {REQUIRE_CORPUS_ENV}=1 to fail instead)",
        dir.display()
    );
    None
}

/// `corpus_dir()/lineage/name`, read; `None` (with the notice, or the panic) without the
/// corpus. Panics if the corpus is there but lacks the file.
pub fn corpus_file(lineage: &str, name: &str) -> Option<Vec<u8>> {
    let path = corpus_dir()?.join(lineage).join(name);
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("corpus file {}: {e}", path.display())))
}

/// Every model file of the corpus (every file but the SOURCE.md notes), sorted by path; `None`
/// as [`corpus_dir`].
pub fn corpus_files() -> Option<Vec<PathBuf>> {
    let dir = corpus_dir()?;
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

/// Consecutive pairs (old, new) of every lineage: files sorted by name within each folder.
pub fn corpus_pairs() -> Option<Vec<(PathBuf, PathBuf)>> {
    let files = corpus_files()?;
    Some(
        files
            .windows(2)
            .filter(|w| w[0].parent() == w[1].parent())
            .map(|w| (w[0].clone(), w[1].clone()))
            .collect(),
    )
}

/// Copies the folder `src` to `dest`, recursively (test fixtures: panics on any I/O error).
pub fn copy_dir(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let target = dest.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir` (relative path -> bytes).
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    collect_tree(dir, dir, &mut files);
    files
}

fn collect_tree(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_tree(root, &path, files);
        } else {
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.insert(name, std::fs::read(&path).unwrap());
        }
    }
}

/// Builds the unsigned bundle from `old` to `new` with `options` (which applies it once
/// itself), applies it again through the host apply path, checks that it gives `new`, and
/// returns the bundle's length.
pub fn round_trip_len(old: &[u8], new: &[u8], options: EncodeOptions) -> usize {
    let request = BundleRequest {
        base: Some(old),
        result: new,
        identity: BundleIdentity::default(),
        options,
        key: None,
    };
    let built = build_bundle(&request).expect("bundle builds");
    assert_eq!(
        apply_bundle(&built.bytes, old).expect("bundle applies"),
        new
    );
    built.bytes.len()
}

/// An unsigned bundle from `old` to `new`, both coded as raw bytes, in chunks of `chunk_len`
/// result bytes aligned to 4 KiB: the bundle the file-apply and file-slot tests interrupt and
/// resume.
pub fn raw_delta_bundle(
    old: &[u8],
    new: &[u8],
    identity: BundleIdentity,
    chunk_len: u64,
) -> Vec<u8> {
    let request = BundleRequest {
        base: Some(old),
        result: new,
        identity,
        options: EncodeOptions {
            chunk_align_log2: 12,
            chunk_len,
            format: ModelFormat::Raw,
            ..EncodeOptions::default()
        },
        key: None,
    };
    build_bundle(&request).expect("a raw delta builds").bytes
}

/// Deterministic pseudo-random bytes (xorshift), for synthetic models and coded streams.
pub fn synthetic_model(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
