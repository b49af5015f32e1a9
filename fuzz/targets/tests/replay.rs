//! Replays every committed fuzz input through its target on stable Rust: the seed corpora
//! (`fuzz/seeds/<target>/`) and the crash regressions (`fuzz/regressions/<target>/`, where
//! CI and developers put the inputs libFuzzer reports). Fails if any input makes a target
//! panic, if a target has no regression folder or an empty one, or if a folder or a
//! cargo-fuzz binary names no target.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use mallorn_fuzz_targets::{TARGETS, target};

/// The `fuzz/` folder.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files directly under `dir`, sorted; empty when `dir` is absent.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// The sub-folder names of `dir`, sorted.
fn folders(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs every file of `fuzz/<kind>/<target>/` through its target; returns how many ran and
/// the ones that panicked, with the panic message.
fn replay(kind: &str) -> (usize, Vec<String>) {
    let mut ran = 0;
    let mut failures = Vec::new();
    for &(name, run) in TARGETS {
        for path in files(&fuzz_dir().join(kind).join(name)) {
            let data = std::fs::read(&path).unwrap();
            ran += 1;
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!(
                    "{name}: fuzz/{kind}/{name}/{}: {message}",
                    file_name(&path)
                ));
            }
        }
    }
    (ran, failures)
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn regressions_do_not_panic() {
    let (ran, failures) = replay("regressions");
    assert!(
        failures.is_empty(),
        "{} of {ran} regression inputs panic:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn seeds_do_not_panic() {
    let (ran, failures) = replay("seeds");
    assert!(
        failures.is_empty(),
        "{} of {ran} seed inputs panic:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_target_has_seeds_and_a_regression_folder() {
    for &(name, _) in TARGETS {
        for kind in ["seeds", "regressions"] {
            let dir = fuzz_dir().join(kind).join(name);
            assert!(
                !files(&dir).is_empty(),
                "{} holds no input; every target needs at least one",
                dir.display()
            );
        }
    }
    for kind in ["seeds", "regressions"] {
        for folder in folders(&fuzz_dir().join(kind)) {
            assert!(
                target(&folder).is_some(),
                "fuzz/{kind}/{folder} names no target in mallorn_fuzz_targets::TARGETS"
            );
        }
    }
}

/// The cargo-fuzz binaries (`[[bin]]` in fuzz/Cargo.toml) are exactly the targets here, so
/// CI, which runs what `cargo fuzz list` prints, fuzzes every function this crate replays.
#[test]
fn cargo_fuzz_binaries_match_the_targets() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let mut bins: Vec<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .map(|section| {
            let line = section
                .lines()
                .find(|l| l.trim_start().starts_with("name"))
                .expect("every [[bin]] has a name");
            line.split('"').nth(1).expect("name = \"...\"")
        })
        .collect();
    bins.sort_unstable();
    let mut names: Vec<&str> = TARGETS.iter().map(|&(n, _)| n).collect();
    names.sort_unstable();
    assert_eq!(bins, names, "fuzz/Cargo.toml [[bin]] names versus TARGETS");
    for name in names {
        let source = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&source).unwrap();
        assert!(
            text.contains(&format!("mallorn_fuzz_targets::{name}(data)")),
            "{} does not call mallorn_fuzz_targets::{name}",
            source.display()
        );
    }
}
