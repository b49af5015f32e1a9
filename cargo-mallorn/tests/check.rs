//! `cargo mallorn check`: every problem in one run, with line numbers, and exit code 1.

mod common;

use common::mallorn;

/// Four different mistakes: a non-increasing version (line 14), a missing model file
/// (line 15), a misspelt key (line 18) and overlapping slots (line 30).
const BROKEN: &str = r#"#:schema ./mallorn.schema.json
schema-version = 1

[[model]]
name = "okay-nabu"
format = "tflite"
[[model.release]]
version = "1.0.0"
path = "models/okay_nabu-1.0.0.tflite"
[[model.release]]
version = "1.1.0"
path = "models/okay_nabu-1.1.0.tflite"
[[model.release]]
version = "1.0.5"
path = "models/okay_nabu-1.2.0.tflite"

[codec]
efort = "max"

[[target]]
sku = "wakeword-s3-8mb"
ram-buffer = "16KiB"
[target.flash]
base = 0x0800_0000
size = "8MiB"
erase-size = "4KiB"
write-size = 4
[target.models.okay-nabu]
slot-a = { offset = "1MiB", size = "512KiB" }
slot-b = { offset = "1280KiB", size = "512KiB" }
state = { offset = "2MiB", size = "8KiB" }
"#;

fn broken_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    for version in ["1.0.0", "1.1.0"] {
        let file = dir
            .path()
            .join(format!("models/okay_nabu-{version}.tflite"));
        std::fs::write(file, vec![0x5a; 3000]).unwrap();
    }
    std::fs::write(dir.path().join("Mallorn.toml"), BROKEN).unwrap();
    dir
}

#[test]
fn check_lists_all_four_problems_with_their_lines() {
    let dir = broken_project();
    let run = mallorn(dir.path(), &["check"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    for (code, line) in [
        ("version-order", "Mallorn.toml:14:11"),
        ("missing-file", "Mallorn.toml:15:8"),
        ("unknown-key", "Mallorn.toml:18:1"),
        ("region-overlap", "Mallorn.toml:30:10"),
    ] {
        assert!(
            run.stderr.contains(&format!("mallorn::{code}")),
            "{code} missing:\n{}",
            run.stderr
        );
        assert!(run.stderr.contains(line), "{line} missing:\n{}", run.stderr);
    }
    assert!(run.stderr.contains("did you mean `effort`?"));
    assert!(
        run.stderr.ends_with("Mallorn.toml has 4 errors\n"),
        "{}",
        run.stderr
    );
    insta::assert_snapshot!("check_four_problems", run.stderr);
}

#[test]
fn check_json_gives_file_line_column_message_and_hint() {
    let dir = broken_project();
    let run = mallorn(dir.path(), &["check", "--message-format", "json"]);
    assert_eq!(run.code, 1);
    let diagnostics: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    let summary: Vec<(String, u64, u64)> = diagnostics
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["file"], "Mallorn.toml");
            assert!(d["hint"].is_string() && d["message"].is_string());
            (
                d["code"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("version-order", 14, 11),
        ("missing-file", 15, 8),
        ("unknown-key", 18, 1),
        ("region-overlap", 30, 10),
    ];
    let expected: Vec<(String, u64, u64)> = expected
        .iter()
        .map(|(c, l, col)| (c.to_string(), *l, *col))
        .collect();
    assert_eq!(summary, expected);
}

#[test]
fn check_finds_the_manifest_from_a_subdirectory_and_by_path() {
    let dir = broken_project();
    let sub = dir.path().join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let run = mallorn(&sub, &["check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("╭─[../../Mallorn.toml:14:11]"),
        "{}",
        run.stderr
    );

    let elsewhere = tempfile::tempdir().unwrap();
    let path = dir.path().join("Mallorn.toml");
    let run = mallorn(
        elsewhere.path(),
        &["check", "--manifest-path", path.to_str().unwrap()],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("mallorn::region-overlap"));
}

#[test]
fn check_passes_on_a_valid_manifest_and_reports_warnings() {
    let dir = broken_project();
    let fixed = BROKEN
        .replace("version = \"1.0.5\"\npath = \"models/okay_nabu-1.2.0.tflite\"", "version = \"1.2.0\"\npath = \"models/okay_nabu-1.1.0.tflite\"\ncounter = 3")
        .replace("efort", "effort")
        .replace("\"1280KiB\"", "\"1536KiB\"")
        .replace("[codec]", "[signing]\nkey-env = \"MALLORN_KEY\"\ntrusted-keys = [\"keys/release.pub\"]\n\n[codec]");
    std::fs::write(dir.path().join("Mallorn.toml"), fixed).unwrap();
    let run = mallorn(dir.path(), &["check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("mallorn::missing-trusted-key"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Mallorn.toml is valid: 1 model, 3 releases, 1 target"),
        "{}",
        run.stderr
    );
    let run = mallorn(dir.path(), &["check", "--deny-warnings"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn a_missing_manifest_is_a_failure_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let run = mallorn(
        dir.path(),
        &["check", "--manifest-path", "nope/Mallorn.toml"],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("cargo mallorn init"), "{}", run.stderr);
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(mallorn(dir.path(), &["frobnicate"]).code, 2);
    assert_eq!(
        mallorn(dir.path(), &["check", "--message-format", "xml"]).code,
        2
    );
    let help = mallorn(dir.path(), &["mallorn", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Exit codes"));
}

/// The complete example in docs/mallorn-toml.md is a valid manifest (given its files).
#[test]
fn the_documented_example_is_valid() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/mallorn-toml.md"
    ))
    .expect("docs/mallorn-toml.md exists");
    let section = docs
        .split("## A complete example")
        .nth(1)
        .expect("example section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .expect("a toml block");
    let dir = tempfile::tempdir().unwrap();
    for file in [
        "models/okay_nabu-1.0.0.tflite",
        "models/okay_nabu-1.1.0.tflite",
        "keys/release.key",
        "keys/release.key.pub",
        "keys/next.key.pub",
    ] {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, [7u8; 64]).unwrap();
    }
    std::fs::write(dir.path().join("Mallorn.toml"), example).unwrap();
    let run = mallorn(dir.path(), &["check", "--message-format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.trim(), "[]", "no warning either");
}
