//! `cargo mallorn build` and `cargo mallorn plan` as users run them, on private copies of
//! examples/wakeword-device: human and JSON output, up-to-date runs, `--check`, `--target`,
//! and failures that exit 1 with a clear message and write nothing. (The library behaviour
//! behind them is tested in depth by the mallorn-tests crate.)

mod common;

use std::path::Path;

use common::{example, mallorn};

fn edit(dir: &Path, from: &str, to: &str) {
    let path = dir.join("Mallorn.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from));
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn builds_the_example_then_finds_nothing_to_do() {
    let dir = example();
    let run = mallorn(
        dir.path(),
        &["mallorn", "build", "--manifest-path", "Mallorn.toml"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("built 14 bundles (14 encoded, 0 reused) into target/mallorn"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("wakeword-m4-1mb: smallest (profile tiny)")
    );
    assert!(run.stdout.contains("micro-speech 1.0.0 -> 1.1.0"));
    assert!(dir.path().join("target/mallorn/index.json").is_file());
    assert!(
        dir.path()
            .join("target/mallorn/wakeword-s3-8mb/okay-nabu/okay-nabu-3.0.0-full.mlrn")
            .is_file()
    );

    let again = mallorn(dir.path(), &["build"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        again.stdout,
        "target/mallorn is up to date (14 bundles); nothing to rebuild\n"
    );
}

#[test]
fn json_messages_name_every_bundle_and_file() {
    let dir = example();
    let run = mallorn(dir.path(), &["--message-format", "json", "build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let messages: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("every stdout line is JSON"))
        .collect();
    let count = |reason: &str| messages.iter().filter(|m| m["reason"] == reason).count();
    assert_eq!(count("bundle-built"), 14);
    assert_eq!(count("file-generated"), 6);
    let last = messages.last().unwrap();
    assert_eq!(last["reason"], "build-finished");
    assert_eq!(last["success"], true);
    assert_eq!(last["up_to_date"], false);
    let delta = messages
        .iter()
        .find(|m| m["reason"] == "bundle-built" && m["kind"] == "delta")
        .unwrap();
    assert_eq!(delta["model"], "micro-speech");
    assert_eq!(delta["key_id"], "674eaca7a0cf0595");
}

#[test]
fn check_passes_on_fresh_files_and_fails_with_a_diff_on_stale_ones() {
    let dir = example();
    let run = mallorn(dir.path(), &["build", "--check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("6 generated files are up to date"),
        "{}",
        run.stderr
    );

    // A release added but the generated files not regenerated: stale.
    std::fs::copy(
        dir.path().join("models/micro_speech-1.1.0.tflite"),
        dir.path().join("models/micro_speech-1.2.0.tflite"),
    )
    .unwrap();
    edit(
        dir.path(),
        "path = \"models/micro_speech-1.1.0.tflite\"\n",
        "path = \"models/micro_speech-1.1.0.tflite\"\n[[model.release]]\nversion = \"1.2.0\"\npath = \"models/micro_speech-1.2.0.tflite\"\n",
    );
    let header = dir
        .path()
        .join("firmware/include/wakeword-m4-1mb/mallorn.h");
    let before = std::fs::read(&header).unwrap();
    let run = mallorn(dir.path(), &["build", "--check"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("--- firmware/src/generated/wakeword-m4-1mb.rs (committed)")
    );
    assert!(
        run.stdout
            .contains("-    pub const VERSION_STR: &str = \"1.1.0\";"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("+    pub const VERSION_STR: &str = \"1.2.0\";"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("6 generated files are stale"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("run `cargo mallorn build`"));
    assert_eq!(
        std::fs::read(&header).unwrap(),
        before,
        "--check wrote a file"
    );
    assert!(!dir.path().join("target").exists(), "--check built bundles");

    // The private key is not needed for a check.
    std::fs::remove_file(dir.path().join("keys/example-release.pem")).unwrap();
    assert_eq!(mallorn(dir.path(), &["build", "--check"]).code, 1);
    assert_eq!(mallorn(dir.path(), &["build"]).code, 1);
}

#[test]
fn plan_lists_every_bundle_for_ci_matrices() {
    let dir = example();
    let run = mallorn(dir.path(), &["plan", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        plan["skus"],
        serde_json::json!(["wakeword-s3-8mb", "wakeword-m4-1mb"])
    );
    assert_eq!(plan["bundles"].as_array().unwrap().len(), 14);
    assert_eq!(plan["output_dir"], "target/mallorn");
    assert!(!dir.path().join("target").exists(), "plan wrote something");

    let human = mallorn(dir.path(), &["plan", "--target", "wakeword-m4-1mb"]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    // `build` publishes the full image under a delta's name when the delta is not worth it:
    // the plan says so rather than promising a delta.
    assert!(human.stdout.contains(
        "  okay-nabu 1.0.0 -> 3.0.0         delta/full  wakeword-m4-1mb/okay-nabu/okay-nabu-1.0.0-to-3.0.0.mlrn"
    ), "{}", human.stdout);
    assert!(
        human.stdout.contains(
            "a delta larger than 90% of the full image is published as the full image (full-image-threshold 0.9)"
        ),
        "{}",
        human.stdout
    );
    let delta = plan["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["kind"] == "delta")
        .unwrap();
    assert_eq!(delta["full_image_threshold"], 0.9);
    assert!(!human.stdout.contains("wakeword-s3-8mb"));
}

#[test]
fn a_single_target_build_and_an_unknown_target() {
    let dir = example();
    let run = mallorn(dir.path(), &["build", "--target", "wakeword-m4-1mb"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("built 7 bundles"), "{}", run.stdout);
    assert!(!dir.path().join("target/mallorn/wakeword-s3-8mb").exists());

    let run = mallorn(dir.path(), &["build", "--target", "nrf52"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("no target `nrf52` in Mallorn.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn failures_exit_1_with_a_clear_message_and_leave_the_output_alone() {
    let dir = example();
    assert_eq!(mallorn(dir.path(), &["build"]).code, 0);
    let index = dir.path().join("target/mallorn/index.json");
    let before = std::fs::read(&index).unwrap();

    // Missing signing key.
    std::fs::rename(
        dir.path().join("keys/example-release.pem"),
        dir.path().join("keys/moved.pem"),
    )
    .unwrap();
    edit(
        dir.path(),
        "full-image-threshold = 0.9",
        "full-image-threshold = 0.8",
    );
    let run = mallorn(dir.path(), &["build"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("signing key: cannot read key file"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cargo mallorn keygen"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&index).unwrap(), before);
    std::fs::rename(
        dir.path().join("keys/moved.pem"),
        dir.path().join("keys/example-release.pem"),
    )
    .unwrap();

    // Slot overflow: Mallorn.toml's own check, with the place in the file.
    edit(
        dir.path(),
        "slot-a = { offset = \"512KiB\", size = \"128KiB\" }",
        "slot-a = { offset = \"512KiB\", size = \"64KiB\" }",
    );
    let run = mallorn(dir.path(), &["build"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("does not fit slot-a of target `wakeword-m4-1mb`"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&index).unwrap(), before);
    edit(
        dir.path(),
        "slot-a = { offset = \"512KiB\", size = \"64KiB\" }",
        "slot-a = { offset = \"512KiB\", size = \"128KiB\" }",
    );

    // Missing model file.
    std::fs::remove_file(dir.path().join("models/okay_nabu-1.1.0.tflite")).unwrap();
    let run = mallorn(dir.path(), &["build"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("models/okay_nabu-1.1.0.tflite"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&index).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("target"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["mallorn"]);
}

/// With JSON messages, a Mallorn.toml with errors ends the build like any other failure: a
/// final `build-finished` line with `error` on stdout, the diagnostics on stderr.
#[test]
fn json_build_of_an_invalid_manifest_ends_with_build_finished() {
    let dir = example();
    edit(
        dir.path(),
        "full-image-threshold = 0.9",
        "full-image-threshold = 90",
    );
    for args in [
        &["--message-format", "json", "build"][..],
        &["--message-format", "json", "build", "--check"],
    ] {
        let run = mallorn(dir.path(), args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", run.stdout);
        let last: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(last["reason"], "build-finished", "{last}");
        assert_eq!(last["success"], false, "{last}");
        let error = last["error"].as_str().unwrap();
        assert!(error.contains("Mallorn.toml has 1 error"), "{error}");
        assert!(run.stderr.contains("invalid-threshold"), "{}", run.stderr);
    }
}

/// A release file that is no recognisable model (here a truncated ONNX file) under
/// `format = "auto"`: the help names what to change in Mallorn.toml, not a flag `build` lacks.
#[test]
fn an_unrecognised_model_file_gets_help_in_mallorn_toml_terms() {
    let dir = example();
    let onnx = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/parse_onnx/synthetic.onnx"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("models/micro_speech-1.1.0.tflite"),
        &onnx[..onnx.len() / 2],
    )
    .unwrap();
    edit(
        dir.path(),
        "name = \"micro-speech\"\nformat = \"tflite\"",
        "name = \"micro-speech\"\nformat = \"auto\"",
    );
    let run = mallorn(dir.path(), &["build"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let stderr = run.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(stderr.contains("micro_speech-1.1.0.tflite"), "{stderr}");
    assert!(stderr.contains("truncated or damaged"), "{stderr}");
    assert!(stderr.contains("`format = \"onnx\"`"), "{stderr}");
    assert!(
        !stderr.contains("--format"),
        "build has no --format: {stderr}"
    );
}

#[test]
fn unsigned_builds_need_a_flag_and_are_flagged() {
    let dir = example();
    let text = std::fs::read_to_string(dir.path().join("Mallorn.toml")).unwrap();
    let start = text.find("[signing]\n").unwrap();
    let end = start + text[start..].find("\n\n").unwrap();
    std::fs::write(
        dir.path().join("Mallorn.toml"),
        format!("{}{}", &text[..start], &text[end..]),
    )
    .unwrap();
    let run = mallorn(dir.path(), &["build"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no [signing] table"), "{}", run.stderr);
    assert!(run.stderr.contains("--allow-unsigned"), "{}", run.stderr);

    let run = mallorn(dir.path(), &["build", "--allow-unsigned"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("warning: the bundles are UNSIGNED"),
        "{}",
        run.stderr
    );
}

#[test]
fn build_says_created_for_new_source_files_and_updated_for_changed_ones() {
    let dir = example();
    let d = dir.path();
    let rust = "firmware/src/generated/wakeword-m4-1mb.rs";
    let header = "firmware/include/wakeword-m4-1mb/mallorn.h";
    std::fs::remove_file(d.join(rust)).unwrap();
    std::fs::write(d.join(header), "/* stale */\n").unwrap();
    let run = mallorn(d, &["build", "--target", "wakeword-m4-1mb"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!("created {rust}\n")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("updated {header}\n")),
        "{}",
        run.stdout
    );
}
