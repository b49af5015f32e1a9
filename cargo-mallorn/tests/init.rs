//! `cargo mallorn init`: a commented Mallorn.toml that `check` accepts in a fresh package.

mod common;

use common::{cargo_new, mallorn};

#[test]
fn init_then_check_passes_in_a_fresh_cargo_package() {
    let dir = tempfile::tempdir().unwrap();
    cargo_new(dir.path(), "firmware");
    let package = dir.path().join("firmware");
    let init = mallorn(&package, &["mallorn", "init"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let written = std::fs::read_to_string(package.join("Mallorn.toml")).unwrap();
    assert!(written.starts_with("#:schema ./mallorn.schema.json\n"));
    assert!(written.contains("Mallorn.toml for `firmware`"));
    let schema = std::fs::read_to_string(package.join("mallorn.schema.json")).unwrap();
    assert_eq!(
        schema,
        mallorn(dir.path(), &["schema"]).stdout,
        "init writes the same schema"
    );

    let check = mallorn(&package, &["mallorn", "check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(
        check.stderr.contains("Mallorn.toml is valid"),
        "{}",
        check.stderr
    );
    // From a subdirectory too.
    assert_eq!(mallorn(&package.join("src"), &["check"]).code, 0);
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    cargo_new(dir.path(), "fw");
    let package = dir.path().join("fw");
    std::fs::write(package.join("Mallorn.toml"), "schema-version = 1 # mine\n").unwrap();
    let run = mallorn(&package, &["init"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("already exists") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(package.join("Mallorn.toml")).unwrap(),
        "schema-version = 1 # mine\n"
    );
    let run = mallorn(&package, &["init", "--force"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        std::fs::read_to_string(package.join("Mallorn.toml"))
            .unwrap()
            .contains("## ── Models")
    );
}

#[test]
fn init_follows_manifest_path_and_package_metadata() {
    let dir = tempfile::tempdir().unwrap();
    cargo_new(dir.path(), "board");
    let package = dir.path().join("board");
    let cargo_toml = package.join("Cargo.toml");
    let mut manifest = std::fs::read_to_string(&cargo_toml).unwrap();
    manifest.push_str("\n[package.metadata.mallorn]\nmanifest = \"ota/Mallorn.toml\"\n");
    std::fs::write(&cargo_toml, manifest).unwrap();
    std::fs::create_dir(package.join("ota")).unwrap();

    let run = mallorn(
        dir.path(),
        &["init", "--manifest-path", cargo_toml.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(package.join("ota/Mallorn.toml").is_file());
    assert!(package.join("ota/mallorn.schema.json").is_file());
    // check finds it through the metadata key, from the package directory and by Cargo.toml.
    assert_eq!(mallorn(&package, &["check"]).code, 0);
    assert_eq!(
        mallorn(
            dir.path(),
            &["check", "--manifest-path", cargo_toml.to_str().unwrap()]
        )
        .code,
        0
    );
}

#[test]
fn init_outside_a_package_fails_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let run = mallorn(dir.path(), &["init"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("cargo new"), "{}", run.stderr);
}

/// The commented examples in the template are themselves a coherent, valid manifest: uncommented
/// (and given the model files they name), `check` accepts them.
#[test]
fn the_templates_examples_are_valid_once_uncommented() {
    let dir = tempfile::tempdir().unwrap();
    cargo_new(dir.path(), "fw");
    let package = dir.path().join("fw");
    assert_eq!(mallorn(&package, &["init"]).code, 0);
    let template = std::fs::read_to_string(package.join("Mallorn.toml")).unwrap();
    let uncommented: String = template
        .lines()
        .map(|line| line.strip_prefix("# ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(uncommented.contains("\n[[target]]\n"));
    std::fs::write(package.join("Mallorn.toml"), &uncommented).unwrap();
    std::fs::create_dir(package.join("models")).unwrap();
    for version in ["1.0.0", "1.1.0"] {
        std::fs::write(
            package.join(format!("models/wake-word-{version}.tflite")),
            [0u8; 100],
        )
        .unwrap();
    }
    let run = mallorn(&package, &["check", "--message-format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let diagnostics: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let codes: Vec<&str> = diagnostics
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["missing-key-file", "missing-trusted-key"],
        "only the not-yet-created key pair is flagged"
    );
}

/// Runs `cargo-mallorn <args>` in `dir` under umask 022, as a login shell would.
fn mallorn_umask_022(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_cargo-mallorn"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("sh runs")
}

#[cfg(unix)]
#[test]
fn init_writes_ordinary_files_and_keygen_a_private_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    cargo_new(dir.path(), "fw");
    let package = dir.path().join("fw");
    let mode = |name: &str| {
        std::fs::metadata(package.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    let init = mallorn_umask_022(&package, &["mallorn", "init"]);
    assert!(init.status.success(), "{init:?}");
    assert_eq!(mode("Mallorn.toml"), 0o644);
    assert_eq!(mode("mallorn.schema.json"), 0o644);
    let keygen = mallorn_umask_022(&package, &["keygen", "-o", "keys/release.key"]);
    assert!(keygen.status.success(), "{keygen:?}");
    assert_eq!(
        mode("keys/release.key"),
        0o600,
        "the private key stays private"
    );
    assert_eq!(mode("keys/release.key.pub"), 0o644);
}

/// The key names in `init`'s template are the ones `keygen -o keys/release.key` writes.
#[test]
fn init_and_keygen_as_documented_agree_on_key_names() {
    let dir = tempfile::tempdir().unwrap();
    cargo_new(dir.path(), "fw");
    let package = dir.path().join("fw");
    assert_eq!(mallorn(&package, &["init"]).code, 0);
    let keygen = mallorn(&package, &["keygen", "-o", "keys/release.key"]);
    assert_eq!(keygen.code, 0, "{}", keygen.stderr);
    // Uncomment the [signing] example as it stands.
    let toml = std::fs::read_to_string(package.join("Mallorn.toml")).unwrap();
    let signing: String = toml
        .lines()
        .map(|line| match line {
            "# [signing]" => "[signing]".to_owned(),
            l if l.starts_with("# key-file") || l.starts_with("# trusted-keys") => {
                l[2..].to_owned()
            }
            l => l.to_owned(),
        })
        .map(|line| line + "\n")
        .collect();
    assert!(signing.contains("\n[signing]\n"), "{signing}");
    std::fs::write(package.join("Mallorn.toml"), signing).unwrap();
    let check = mallorn(&package, &["check", "--deny-warnings"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    let build = mallorn(&package, &["build"]);
    assert_eq!(build.code, 0, "{}", build.stderr);
}

/// A trusted key named `.pub` where keygen wrote `.key.pub`: the hint names the existing file.
#[test]
fn a_missing_public_key_points_at_the_one_that_exists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(mallorn(d, &["keygen", "-o", "keys/release.key"]).code, 0);
    std::fs::write(
        d.join("Mallorn.toml"),
        "schema-version = 1\n[signing]\nkey-file = \"keys/release.key\"\n\
         trusted-keys = [\"keys/release.pub\"]\n",
    )
    .unwrap();
    let check = mallorn(d, &["check"]);
    assert!(
        check
            .stderr
            .contains("`keys/release.key.pub` exists beside it"),
        "{}",
        check.stderr
    );
    let verify = mallorn(d, &["verify", "x.mlrn", "--public-key", "keys/release.pub"]);
    assert_eq!(verify.code, 1);
    assert!(
        verify.stderr.contains("not found") && verify.stderr.contains("keys/release.key.pub"),
        "{}",
        verify.stderr
    );
}
