//! Helpers of the C-side tests: where things are, and whether a C compiler is there.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate's folder.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    mallorn_tests::workspace_root()
}

/// Whether `compiler` runs. When it does not, the test skips with a notice on stderr, or,
/// with `MALLORN_REQUIRE_CORPUS=1` (CI), fails.
pub fn compiler(compiler: &str, test: &str) -> bool {
    let runs = Command::new(compiler)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        assert!(
            !mallorn_tests::corpus_required(),
            "{test}: {compiler} is missing and MALLORN_REQUIRE_CORPUS=1 is set: install it"
        );
        eprintln!("notice: {test}: {compiler} is missing; skipping its checks");
    }
    runs
}

/// Runs `command` in `dir` and fails with its output unless it succeeds.
pub fn run(command: &mut Command, dir: &Path) -> std::process::Output {
    let output = command.current_dir(dir).output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
