//! Snapshots of everything the build generates for the example: index.json, and per SKU the
//! Rust include, the C header and the linker fragment (the tool version redacted, nothing
//! else). Bundle sizes and hashes in the index change when the codec does: re-accept with
//! `INSTA_UPDATE=always cargo test -p mallorn-tests`. A changed template changes the output
//! and so fails these snapshots, as `a_user_template_changes_the_output` shows.

use mallorn_engine::build;

use crate::common::{Example, redact};

const SKUS: [&str; 2] = ["wakeword-s3-8mb", "wakeword-m4-1mb"];

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Snapshot name of a generated file of a SKU.
fn name(file: &str, sku: &str) -> String {
    format!(
        "build__{}_{}",
        file.replace(['.', '-'], "_"),
        sku.replace('-', "_")
    )
}

#[test]
fn generated_files_and_index_of_the_example() {
    let example = Example::new();
    example.build().unwrap();
    let root = example.root().to_string_lossy().into_owned();
    settings().bind(|| {
        let index = example.output_text("index.json");
        assert!(!index.contains(&root), "index.json holds an absolute path");
        insta::assert_snapshot!("build__index", redact(&index));
        for sku in SKUS {
            for file in ["mallorn.rs", "mallorn.h", "mallorn-memory.x"] {
                let text = example.output_text(&format!("{sku}/{file}"));
                assert!(!text.contains(&root), "{sku}/{file} holds an absolute path");
                insta::assert_snapshot!(name(file, sku), redact(&text));
            }
        }
    });
}

#[test]
fn plan_of_the_example() {
    let example = Example::new();
    let loaded = example.load();
    let plan = build::plan(&loaded, &[]).unwrap();
    let json = serde_json::to_string_pretty(&plan.summary(&loaded)).unwrap();
    settings().bind(|| insta::assert_snapshot!("build__plan", json));
    assert_eq!(plan.bundle_count(), 14);
    let one = build::plan(&loaded, &["wakeword-m4-1mb".into()]).unwrap();
    assert_eq!(one.summary(&loaded).skus, ["wakeword-m4-1mb"]);
    let err = build::plan(&loaded, &["nrf52".into()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no target `nrf52` in Mallorn.toml (targets: `wakeword-s3-8mb`, `wakeword-m4-1mb`)"
    );
}

#[test]
fn a_user_template_changes_the_output() {
    let example = Example::new();
    example.build().unwrap();
    let header = "wakeword-m4-1mb/mallorn.h";
    // The built-in rendering is what `generated_files_and_index_of_the_example` holds in its
    // snapshot; a user template (a changed copy of the built-in one) changes it, so that
    // snapshot would fail.
    let built_in = redact(&example.output_text(header));
    let rust_before = example.output_text("wakeword-m4-1mb/mallorn.rs");
    let templates = example.root().join("my-templates");
    std::fs::create_dir(&templates).unwrap();
    let (_, original) = mallorn_engine::codegen::templates::BUILT_IN
        .iter()
        .find(|(name, _)| *name == "mallorn.h.j2")
        .unwrap();
    let changed = original.replace(
        "#include <stdint.h>\n",
        "#include <stdint.h>\n#define MY_BOARD_REVISION 3\n",
    );
    assert_ne!(&changed, original);
    std::fs::write(templates.join("mallorn.h.j2"), changed).unwrap();
    example.edit_manifest("[output]\n", "[output]\ntemplates = \"my-templates\"\n");

    let report = example.build().unwrap();
    assert!(!report.up_to_date, "a template change must rebuild");
    assert_eq!(
        report.encoded, 0,
        "a template change re-renders, it re-encodes nothing"
    );
    let custom = redact(&example.output_text(header));
    assert_ne!(custom, built_in);
    assert!(custom.contains("#define MY_BOARD_REVISION 3"));
    assert_eq!(
        custom.replace("#define MY_BOARD_REVISION 3\n", ""),
        built_in,
        "only the template's change differs"
    );
    // The committed copy in the source tree follows, and the other files are unchanged.
    let committed = std::fs::read_to_string(
        example
            .root()
            .join("firmware/include/wakeword-m4-1mb/mallorn.h"),
    )
    .unwrap();
    assert_eq!(redact(&committed), custom);
    assert_eq!(
        example.output_text("wakeword-m4-1mb/mallorn.rs"),
        rust_before
    );
}

#[test]
fn a_broken_user_template_is_reported_with_its_name_and_line() {
    let example = Example::new();
    let templates = example.root().join("t");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(
        templates.join("mallorn-memory.x.j2"),
        "MEMORY {\n{{ flash.bse }}\n}\n",
    )
    .unwrap();
    example.edit_manifest("[output]\n", "[output]\ntemplates = \"t\"\n");
    let err = example.build().unwrap_err().to_string();
    assert!(err.starts_with("template mallorn-memory.x.j2: "), "{err}");
    assert!(err.contains("`flash.bse` is undefined"), "{err}");
    assert!(err.contains("mallorn-memory.x.j2:2"), "{err}");
    assert!(!example.out().exists(), "no output after a failed build");
}
