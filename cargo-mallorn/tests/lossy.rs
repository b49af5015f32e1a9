//! Lossy releases through the CLI: `build` fails on a quality gate under its threshold with
//! a message naming the model, the score and the threshold; a passing build's bundles show
//! their error bound in `inspect` and `verify`.

use std::path::Path;
use std::process::{Command, Output};

use mallorn_tests::lossy_lineage::{manifest, release};

fn cargo_mallorn(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-mallorn"))
        .arg("mallorn")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A signed project with two releases of the synthetic lineage and a gate printing `score`.
fn project(dir: &Path, score: &str) {
    for n in 1..=2 {
        std::fs::write(dir.join(format!("r{n}.safetensors")), release(n).0).unwrap();
    }
    let keygen = cargo_mallorn(dir, &["keygen", "-o", "release.pem"]);
    assert!(keygen.status.success(), "{}", text(&keygen.stderr));
    let gate =
        format!("[model.gate]\ncommand = [\"sh\", \"-c\", \"echo {score}\"]\nthreshold = 0.9\n");
    let signing = "\n[signing]\nkey-file = \"release.pem\"\ntrusted-keys = [\"release.pem.pub\"]\n";
    let manifest = manifest(2, &gate) + signing;
    std::fs::write(dir.join("Mallorn.toml"), manifest).unwrap();
}

#[test]
fn a_gate_under_its_threshold_fails_the_build_by_name() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), "0.5");
    let out = cargo_mallorn(dir.path(), &["build"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for part in [
        "model `synth`",
        "2.0.0",
        "scores 0.5",
        "threshold 0.9",
        "[model.lossy]",
    ] {
        assert!(stderr.contains(part), "missing {part:?} in: {stderr}");
    }
    assert!(!dir.path().join("target/mallorn/index.json").exists());
}

#[test]
fn inspect_and_verify_show_the_error_bound() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), "0.97");
    let out = cargo_mallorn(dir.path(), &["build"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bundle = "target/mallorn/board/synth/synth-1.0.0-to-2.0.0.mlrn";

    let inspect = cargo_mallorn(dir.path(), &["inspect", bundle]);
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    assert!(text(&inspect.stdout).contains("lossy shipped image: every weight within"));
    let json = cargo_mallorn(dir.path(), &["inspect", bundle, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let bound = report["error_bound"].as_f64().unwrap();
    assert!(bound > 0.0 && bound <= 1e-2, "{bound}");
    assert_eq!(report["flags"], serde_json::json!([]));

    let verify = cargo_mallorn(
        dir.path(),
        &[
            "verify",
            bundle,
            "--public-key",
            "release.pem.pub",
            "--base",
            "r1.safetensors",
        ],
    );
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    let stdout = text(&verify.stdout);
    assert!(
        stdout.contains("lossy shipped image: every weight within"),
        "{stdout}"
    );
}
