//! Data commands whose reader goes away (`cargo mallorn plan | head -1`) end quietly with exit
//! code 0: a closed stdout is not a failure of the command, and never a panic. A closed
//! stderr (`cargo mallorn check 2>&1 | head -1`) loses diagnostics, never the exit code.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the command with a stdout pipe whose read end is closed before the command writes.
fn with_closed_stdout(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-mallorn"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo-mallorn runs");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("cargo-mallorn ends");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn plan_into_a_closed_pipe_exits_0_quietly() {
    let manifest = repo().join("examples/wakeword-device/Mallorn.toml");
    for format in ["human", "json"] {
        let (code, stderr) = with_closed_stdout(&[
            "mallorn",
            "plan",
            "--message-format",
            format,
            "--manifest-path",
            manifest.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "plan --message-format {format}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!stderr.contains("Broken pipe"), "{stderr}");
    }
}

#[test]
fn inspect_into_a_closed_pipe_exits_0_quietly() {
    let model = repo().join("mallorn-engine/tests/fixtures/tflm-micro-speech/micro_speech.tflite");
    for json in [true, false] {
        let mut args = vec!["mallorn", "inspect", model.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let (code, stderr) = with_closed_stdout(&args);
        assert_eq!(code, 0, "inspect (json {json}): {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn schema_into_a_closed_pipe_exits_0_quietly() {
    let (code, stderr) = with_closed_stdout(&["mallorn", "schema"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Runs the command in `dir` with a stderr pipe whose read end is closed before the command
/// starts (so every write fails); returns the exit code and stdout.
fn with_closed_stderr(dir: &Path, args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-mallorn"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stderr(writer)
        .output()
        .expect("cargo-mallorn runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn diagnostics_into_a_closed_stderr_keep_the_exit_code() {
    let example = common::example();
    let manifest = example.path().join("Mallorn.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let broken = text
        .replacen("write-size = 4\n", "write-size = \"eight\"\n", 1)
        .replacen("full-image-threshold = 0.9", "full-image-threshold = 90", 1);
    assert_ne!(broken, text, "the example changed: update the edits");
    std::fs::write(&manifest, broken).unwrap();
    for args in [
        &["mallorn", "check"][..],
        &["mallorn", "build"],
        &["mallorn", "--message-format", "json", "build"],
    ] {
        let (code, stdout) = with_closed_stderr(example.path(), args);
        assert_eq!(
            code, 1,
            "{args:?}: an invalid manifest, not a panic; stdout: {stdout}"
        );
    }
}
