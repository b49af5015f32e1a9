//! Failed builds: each gives an error that names the file, target or key and what to change,
//! and leaves the previous output exactly as it was, with no partial output or staging
//! directory beside it.

use mallorn_engine::build::BuildError;
use mallorn_manifest::{Manifest, ManifestError};

use crate::common::{Example, leftovers, tree};

/// Builds once, breaks the example with `break_it`, builds again (expecting an error), and
/// checks that the output directory did not change. Returns the error. The manifest of the
/// second build is read after `break_it` when `reload`, else before (a file that changes
/// after Mallorn.toml was checked).
fn fails_cleanly(reload: bool, break_it: impl FnOnce(&Example)) -> BuildError {
    let example = Example::new();
    example.build().unwrap();
    let before = tree(&example.out());
    let source_before = tree(&example.root().join("firmware"));
    let early = example.load();
    break_it(&example);
    let loaded = if reload { example.load() } else { early };
    let err = example.build_with(&loaded, &[], false).unwrap_err();
    assert_eq!(tree(&example.out()), before, "the previous output changed");
    assert_eq!(tree(&example.root().join("firmware")), source_before);
    assert_eq!(
        leftovers(&example.root().join("target")),
        Vec::<String>::new()
    );
    err
}

#[test]
fn a_missing_model_file_is_named_and_changes_nothing() {
    // The manifest check catches it first, with its place in Mallorn.toml...
    let example = Example::new();
    std::fs::remove_file(example.root().join("models/okay_nabu-2.0.0.tflite")).unwrap();
    let Err(ManifestError::Invalid(invalid)) = Manifest::load(example.root().join("Mallorn.toml"))
    else {
        panic!("a missing release file must make Mallorn.toml invalid");
    };
    assert!(invalid.diagnostics.iter().any(|d| d.code == "missing-file"));

    // ...and a file that disappears after the check is caught by the build.
    let example = Example::new();
    example.build().unwrap();
    let before = tree(&example.out());
    let loaded = example.load();
    std::fs::remove_file(example.root().join("models/okay_nabu-2.0.0.tflite")).unwrap();
    let err = example.build_with(&loaded, &[], false).unwrap_err();
    assert_eq!(
        err.to_string().split(':').next().unwrap(),
        "cannot read models/okay_nabu-2.0.0.tflite (release 2.0.0 of model `okay-nabu`)"
    );
    assert!(err.help().unwrap().contains("[[model.release]]"));
    assert_eq!(tree(&example.out()), before);
    assert!(leftovers(&example.root().join("target")).is_empty());
}

#[test]
fn a_slot_overflow_is_named_and_changes_nothing() {
    // Mallorn.toml validation refuses a release larger than a slot...
    let example = Example::new();
    example.edit_manifest(
        "slot-b = { offset = \"640KiB\", size = \"128KiB\" }",
        "slot-b = { offset = \"640KiB\", size = \"64KiB\" }",
    );
    let Err(ManifestError::Invalid(invalid)) = Manifest::load(example.root().join("Mallorn.toml"))
    else {
        panic!("a release larger than its slot must make Mallorn.toml invalid");
    };
    assert!(
        invalid
            .diagnostics
            .iter()
            .any(|d| d.code == "release-too-large")
    );

    // ...and the build refuses a release file that grew after the check.
    let err = fails_cleanly(false, |example| {
        std::fs::write(
            example.root().join("models/micro_speech-1.1.0.tflite"),
            vec![0x5a; 40 * 1024],
        )
        .unwrap();
    });
    let text = err.to_string();
    assert!(
        text.contains("release 1.1.0 of model `micro-speech`")
            && text.contains("does not fit slot-a of target `wakeword-m4-1mb`"),
        "{text}"
    );
    assert!(err.help().unwrap().contains("enlarge `slot-a`"));
}

#[test]
fn a_missing_signing_key_is_named_and_changes_nothing() {
    let err = fails_cleanly(true, |example| {
        std::fs::remove_file(example.root().join("keys/example-release.pem")).unwrap();
    });
    assert!(
        err.to_string()
            .starts_with("signing key: cannot read key file "),
        "{err}"
    );
    assert!(
        err.to_string().contains("keys/example-release.pem"),
        "{err}"
    );
    assert!(err.help().unwrap().contains("cargo mallorn keygen"));
}

#[test]
fn a_key_from_an_unset_environment_variable_is_named() {
    let err = fails_cleanly(true, |example| {
        example.edit_manifest(
            "key-file = \"keys/example-release.pem\"",
            "key-env = \"MALLORN_TEST_KEY_THAT_IS_NOT_SET\"",
        );
    });
    assert!(
        err.to_string()
            .contains("environment variable MALLORN_TEST_KEY_THAT_IS_NOT_SET is not set"),
        "{err}"
    );
}

#[test]
fn a_signing_key_that_devices_do_not_trust_is_refused() {
    let err = fails_cleanly(true, |example| {
        example.edit_manifest(
            "trusted-keys = [\"keys/example-release.pem.pub\", ",
            "trusted-keys = [",
        );
    });
    assert!(matches!(err, BuildError::KeyNotTrusted { .. }), "{err}");
    assert!(err.to_string().contains("674eaca7a0cf0595"), "{err}");
}

#[test]
fn unsigned_builds_need_to_be_asked_for() {
    let example = Example::new();
    // Drop the whole [signing] table.
    let text = std::fs::read_to_string(example.root().join("Mallorn.toml")).unwrap();
    let start = text.find("[signing]\n").unwrap();
    let end = text[start..].find("\n\n").unwrap() + start;
    std::fs::write(
        example.root().join("Mallorn.toml"),
        format!("{}{}", &text[..start], &text[end..]),
    )
    .unwrap();
    let loaded = example.load();
    let err = example.build_with(&loaded, &[], false).unwrap_err();
    assert!(matches!(err, BuildError::Unsigned));
    assert!(err.help().unwrap().contains("--allow-unsigned"));
    assert!(!example.out().exists());

    let report = example.build_with(&loaded, &[], true).unwrap();
    assert!(report.unsigned);
    let index = report.index.unwrap();
    assert!(index.artefacts.iter().all(|a| a.key_id.is_none()));
    assert_eq!(index.signing.key_id, None);
    let rust = example.output_text("wakeword-s3-8mb/mallorn.rs");
    assert!(rust.contains("TrustedKey; 0] = ["), "{rust}");
}

#[test]
fn a_foreign_output_directory_is_never_replaced() {
    let example = Example::new();
    std::fs::create_dir_all(example.out()).unwrap();
    std::fs::write(example.out().join("notes.txt"), "mine").unwrap();
    let err = example.build().unwrap_err();
    assert!(matches!(err, BuildError::ForeignOutputDir { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(example.out().join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn one_source_tree_path_for_several_targets_is_refused() {
    let example = Example::new();
    example.edit_manifest(
        "rust = \"firmware/src/generated/{sku}.rs\"",
        "rust = \"firmware/src/mallorn.rs\"",
    );
    // Mallorn.toml validation (what `cargo mallorn check` runs) refuses it, at the path.
    let Err(ManifestError::Invalid(invalid)) = Manifest::load(example.root().join("Mallorn.toml"))
    else {
        panic!("one rust path for two targets must make Mallorn.toml invalid");
    };
    let text = invalid.text.clone();
    let diagnostics = invalid.diagnostics.into_vec();
    assert_eq!(
        diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["needs-sku-placeholder"]
    );
    let d = &diagnostics[0];
    assert_eq!(
        d.message,
        "`output.rust` names a single file, but 2 targets are built: each needs its own"
    );
    assert_eq!(
        &text[d.span.start..d.span.end],
        "\"firmware/src/mallorn.rs\""
    );
}

#[test]
fn a_release_that_is_not_its_declared_format_is_named() {
    // A README renamed .tflite, swapped in after Mallorn.toml was checked.
    let err = fails_cleanly(false, |example| {
        std::fs::write(
            example.root().join("models/micro_speech-1.1.0.tflite"),
            b"# micro_speech\n\nThis is a README, not a model.\n",
        )
        .unwrap();
    });
    let BuildError::ModelFormat { path, source, .. } = &err else {
        panic!("expected a format error, got {err:?}");
    };
    assert_eq!(path, "models/micro_speech-1.1.0.tflite");
    let text = err.to_string();
    assert!(
        text.contains("format = \"tflite\"") && text.contains("TFLite file invalid at byte"),
        "{text}"
    );
    assert!(matches!(
        **source,
        mallorn_engine::model::InputError::Invalid { declared: true, .. }
    ));
    assert!(err.help().unwrap().contains("format = \"raw\""));
}
