//! Drives the C API from C (tests/c/host_test.c over the RAM-backed NOR of tests/c/nor.c),
//! compiled by gcc with AddressSanitizer and UndefinedBehaviorSanitizer and linked against
//! this crate's host staticlib: real signed bundles of examples/qemu-mps2, built here by the
//! engine (`cargo mallorn build` as a library), applied byte-exact from fragments of 1 byte
//! up; tampered bundles and inadmissible devices refused with the old model intact; a power
//! cut at every erase and program of an update, resumed. Without gcc the test skips with a
//! notice, or fails under `MALLORN_REQUIRE_CORPUS=1` (CI).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{compiler, crate_dir, run, workspace_root};
use mallorn_engine::build::{self, BuildOptions, Quiet};
use mallorn_engine::parallel::default_threads;
use mallorn_manifest::Manifest;

const SKU: &str = "mps2-an386";
const TEST: &str = "c_api_under_sanitizers";

/// The staticlib cargo built for this test run, beside the test binary: the newest one (the
/// test profile builds it with the rlib this binary links).
fn staticlib() -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    std::fs::read_dir(&deps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libmallorn_runtime_c-") && n.ends_with(".a"))
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).unwrap())
        .unwrap_or_else(|| panic!("no libmallorn_runtime_c-*.a in {}", deps.display()))
}

/// Runs `cargo mallorn build --target mps2-an386` for examples/qemu-mps2 into `out`.
fn build_bundles(out: &Path) {
    let manifest = workspace_root().join("examples/qemu-mps2/Mallorn.toml");
    let loaded = Manifest::load(&manifest).unwrap();
    build::build(
        &loaded,
        &BuildOptions {
            targets: vec![SKU.to_owned()],
            allow_unsigned: false,
            output_dir: out.to_owned(),
            threads: default_threads(),
            write_source_tree: false,
            observer: &Quiet,
        },
    )
    .unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn c_api_under_sanitizers() {
    if !compiler("gcc", TEST) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mallorn");
    build_bundles(&out);
    let models = workspace_root().join("examples/qemu-mps2/models/okay-nabu");
    let old = models.join("v2-2024-07-10.tflite");
    let new = models.join("v2-2024-10-01.tflite");
    let bundles = out.join(SKU).join("okay-nabu");
    let delta = bundles.join("okay-nabu-2.0.0-to-2.1.0.mlrn");
    let full = bundles.join("okay-nabu-2.1.0-full.mlrn");
    let old_sha = hex(&mallorn_runtime::hash::sha256(
        &std::fs::read(&old).unwrap(),
    ));

    let c = crate_dir().join("tests/c");
    let exe = dir.path().join("host_test");
    let mut gcc = Command::new("gcc");
    gcc.args([
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-g",
        "-O1",
    ])
    .args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
    .arg("-I")
    .arg(crate_dir().join("include"))
    .arg("-I")
    .arg(out.join(SKU))
    .arg(c.join("host_test.c"))
    .arg(c.join("nor.c"))
    .arg(staticlib())
    .args(["-lpthread", "-ldl", "-lm", "-o"])
    .arg(&exe);
    run(&mut gcc, dir.path());

    let mut test = Command::new(&exe);
    test.args([&old, &new, &delta, &full])
        .arg(old_sha)
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        .env("UBSAN_OPTIONS", "print_stacktrace=1");
    let output = run(&mut test, dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprint!("{stdout}");
    assert!(stdout.contains("checks passed"), "{stdout}");
}
