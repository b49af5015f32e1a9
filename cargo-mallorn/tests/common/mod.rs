//! Running the built `cargo-mallorn` binary in a scratch directory.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;
use std::process::{Command, Output};

/// The result of one run: exit code and both streams as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cargo-mallorn <args>` in `dir`, with colours off and a fixed width.
pub fn mallorn(dir: &Path, args: &[&str]) -> Run {
    run(mallorn_output(dir, args))
}

/// [`mallorn`], its output as raw bytes (for binary or JSON stdout). The environment is the
/// test's minus what would change the result: colours, the terminal width, and a signing key
/// the developer may have exported.
pub fn mallorn_output(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-mallorn"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .env_remove("MALLORN_SIGNING_KEY")
        .output()
        .expect("cargo-mallorn runs")
}

/// A private copy of examples/wakeword-device: its Mallorn.toml, models, keys and committed
/// generated files.
pub fn example() -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/wakeword-device");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(src.join("Mallorn.toml"), dir.path().join("Mallorn.toml")).unwrap();
    for sub in [
        "models",
        "keys",
        "firmware/src/generated",
        "firmware/include",
        "firmware/link",
    ] {
        mallorn_tests::copy_dir(&src.join(sub), &dir.path().join(sub));
    }
    dir
}

/// Runs `cargo new --vcs none <name>` in `dir`.
pub fn cargo_new(dir: &Path, name: &str) {
    let status = Command::new(env!("CARGO"))
        .args(["new", "--quiet", "--vcs", "none", name])
        .current_dir(dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo new failed");
}

fn run(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}
