//! `cargo mallorn inspect` end to end: runs the binary on the checked-in micro_speech fixture
//! (mallorn-engine/tests/fixtures, Apache-2.0, see its SOURCE.md) and snapshots the JSON and
//! the table; a damaged model exits 1 with the byte offset of the problem.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../mallorn-engine/tests/fixtures/tflm-micro-speech/micro_speech.tflite")
}

fn cargo_mallorn(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-mallorn"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn inspect_json_on_micro_speech() {
    let out = cargo_mallorn(&["inspect".as_ref(), fixture().as_os_str(), "--json".as_ref()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["format"], "tflite");
    assert_eq!(report["file_size"], 18800);
    insta::assert_json_snapshot!("inspect_micro_speech_json", report);
}

#[test]
fn inspect_table_on_micro_speech() {
    let out = cargo_mallorn(&[
        "mallorn".as_ref(),
        "inspect".as_ref(),
        fixture().as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!(
        "inspect_micro_speech_table",
        String::from_utf8(out.stdout).unwrap()
    );
}

#[test]
fn inspect_rejects_a_damaged_model_with_its_offset() {
    let mut bytes = std::fs::read(fixture()).unwrap();
    bytes.truncate(4000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.tflite");
    std::fs::write(&path, &bytes).unwrap();
    let out = cargo_mallorn(&["inspect".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TFLite file invalid at byte"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn inspect_missing_file_fails_and_unknown_files_are_opaque() {
    let out = cargo_mallorn(&["inspect".as_ref(), "no-such-model.tflite".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "not a model").unwrap();
    let out = cargo_mallorn(&[
        "inspect".as_ref(),
        path.as_os_str(),
        "--message-format".as_ref(),
        "json".as_ref(),
    ]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["format"].as_str(), report["opaque_bytes"].as_u64()),
        (Some("unknown"), Some(11))
    );
}
