//! Incremental and deterministic builds: a second run rebuilds and touches nothing, the same
//! inputs give byte-identical outputs wherever the repository lives, a changed input rebuilds
//! only the bundles it affects, and `--target` builds one SKU.

use mallorn_engine::build::ArtefactKind;
use mallorn_engine::build::bundles::UnitPlan;
use mallorn_manifest::Decoder;
use mallorn_runtime::format::{BundleHeader, Flags, HEADER_LEN};

use crate::common::{Example, mtimes, tree};

#[test]
fn a_second_run_rebuilds_and_touches_nothing() {
    let example = Example::new();
    let first = example.build().unwrap();
    assert!(!first.up_to_date);
    assert_eq!(first.encoded, 14);
    assert_eq!(first.bundle_count, 14);
    let before = mtimes(example.root());
    // Coarse file-system clocks must not hide a rewrite.
    std::thread::sleep(std::time::Duration::from_millis(50));

    let second = example.build().unwrap();
    assert!(second.up_to_date);
    assert_eq!((second.encoded, second.reused), (0, 0));
    assert!(second.source_tree_written.is_empty());
    assert_eq!(
        mtimes(example.root()),
        before,
        "an up-to-date build touched a file"
    );
}

#[test]
fn outputs_are_byte_identical_across_runs_and_places() {
    let one = Example::new();
    let two = Example::new();
    one.build().unwrap();
    two.build().unwrap();
    let (a, b) = (tree(&one.out()), tree(&two.out()));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs between two builds");
    }
    // Also the committed copies in each source tree.
    assert_eq!(
        tree(&one.root().join("firmware")),
        tree(&two.root().join("firmware"))
    );
}

#[test]
fn a_changed_input_rebuilds_only_what_it_affects() {
    let example = Example::new();
    example.build().unwrap();
    let before = tree(&example.out());

    // A new micro-speech release: its bundles are encoded again (on both SKUs: the delta
    // from each older release and the full image), okay-nabu's are reused.
    std::fs::copy(
        example.root().join("models/micro_speech-1.1.0.tflite"),
        example.root().join("models/micro_speech-1.2.0.tflite"),
    )
    .unwrap();
    example.edit_manifest(
        "path = \"models/micro_speech-1.1.0.tflite\"\n",
        "path = \"models/micro_speech-1.1.0.tflite\"\n[[model.release]]\nversion = \"1.2.0\"\npath = \"models/micro_speech-1.2.0.tflite\"\n",
    );
    let report = example.build().unwrap();
    assert!(!report.up_to_date);
    assert_eq!(report.bundle_count, 16);
    assert_eq!(report.encoded, 6, "2 SKUs x (2 deltas + 1 full image)");
    assert_eq!(report.reused, 10);
    let after = tree(&example.out());
    for (name, bytes) in &before {
        if name.contains("/okay-nabu/") {
            assert_eq!(bytes, &after[name], "{name} changed");
        }
    }
    assert!(!after.contains_key("wakeword-m4-1mb/micro-speech/micro-speech-1.1.0-full.mlrn"));
    assert!(after.contains_key("wakeword-m4-1mb/micro-speech/micro-speech-1.1.0-to-1.2.0.mlrn"));
    let rust = example.output_text("wakeword-m4-1mb/mallorn.rs");
    assert!(rust.contains("pub const VERSION_STR: &str = \"1.2.0\";"));
}

#[test]
fn a_single_target_build_holds_only_that_sku() {
    let example = Example::new();
    let report = example
        .build_with(&example.load(), &["wakeword-m4-1mb"], false)
        .unwrap();
    assert_eq!(report.bundle_count, 7);
    let index = report.index.unwrap();
    assert!(index.targets.iter().all(|t| t.sku == "wakeword-m4-1mb"));
    assert!(index.artefacts.iter().all(|a| a.sku == "wakeword-m4-1mb"));
    assert!(!example.out().join("wakeword-s3-8mb").exists());
    assert!(example.out().join("wakeword-m4-1mb/mallorn.rs").is_file());
}

#[test]
fn the_full_image_policy_is_applied_and_explained() {
    let example = Example::new();
    let index = example.build().unwrap().index.unwrap();
    for artefact in &index.artefacts {
        let full = index
            .artefacts
            .iter()
            .find(|a| a.sku == artefact.sku && a.model == artefact.model && a.from.is_none())
            .unwrap();
        match (&artefact.from, artefact.kind) {
            (None, kind) => assert_eq!(kind, ArtefactKind::Full),
            (Some(_), ArtefactKind::Delta) => {
                assert!(
                    artefact.size as f64 <= 0.9 * full.size as f64,
                    "{}",
                    artefact.path
                );
                assert!(artefact.base.is_some() && artefact.reason.is_none());
            }
            (Some(from), ArtefactKind::Full) => {
                // A delta was built, found not worth it, and the full image published in its
                // place, with the reason, under a header naming the release it replaces.
                let replaced = artefact
                    .replaced_delta_size
                    .expect("the rejected delta's size");
                assert!(
                    replaced as f64 > 0.9 * full.size as f64,
                    "{}",
                    artefact.path
                );
                assert_eq!(
                    (artefact.size, &artefact.result.sha256),
                    (full.size, &full.result.sha256)
                );
                let bytes = std::fs::read(example.out().join(&artefact.path)).unwrap();
                let header = BundleHeader::parse(bytes[..HEADER_LEN].try_into().unwrap()).unwrap();
                assert!(header.flags.contains(Flags::FULL_IMAGE));
                assert_eq!(header.from_version.to_string(), *from, "{}", artefact.path);
                assert_eq!(artefact.key_id.as_deref(), Some("674eaca7a0cf0595"));
                assert!(
                    artefact
                        .reason
                        .as_deref()
                        .unwrap()
                        .contains("full-image-threshold")
                );
            }
        }
        assert!(artefact.lossless);
        assert_eq!(artefact.key_id.as_deref(), Some("674eaca7a0cf0595"));
    }
    // With threshold 1, every delta smaller than the full image is published.
    example.edit_manifest("full-image-threshold = 0.9", "full-image-threshold = 1.0");
    let index = example.build().unwrap().index.unwrap();
    for artefact in index.artefacts.iter().filter(|a| a.from.is_some()) {
        if artefact.kind == ArtefactKind::Full {
            let full = index
                .artefacts
                .iter()
                .find(|a| a.sku == artefact.sku && a.model == artefact.model && a.from.is_none())
                .unwrap();
            assert!(artefact.replaced_delta_size.unwrap() > full.size);
        }
    }
}

#[test]
fn each_target_gets_the_coding_its_decoders_and_ram_allow() {
    let example = Example::new();
    example.edit_manifest(
        "[target.models.okay-nabu]\nslot-a = { offset = \"512KiB\"",
        "[target.codec]\ndecoders = [\"stored\"]\n[target.models.okay-nabu]\nslot-a = { offset = \"512KiB\"",
    );
    let index = example.build().unwrap().index.unwrap();
    let m4 = index
        .targets
        .iter()
        .find(|t| t.sku == "wakeword-m4-1mb")
        .unwrap();
    assert_eq!(m4.coding, Decoder::Stored);
    for artefact in index
        .artefacts
        .iter()
        .filter(|a| a.sku == "wakeword-m4-1mb")
    {
        assert_eq!(
            (artefact.kind, artefact.plan),
            (ArtefactKind::Full, UnitPlan::Stored)
        );
        assert_eq!(artefact.decoders, ["stored"]);
        assert!(
            artefact.size > artefact.result.len,
            "stored: no smaller than the model"
        );
    }
    // Only "fast" allowed: deltas with the fast coder, no coder RAM.
    example.edit_manifest("decoders = [\"stored\"]", "decoders = [\"fast\"]");
    let index = example.build().unwrap().index.unwrap();
    let m4 = index
        .targets
        .iter()
        .find(|t| t.sku == "wakeword-m4-1mb")
        .unwrap();
    assert_eq!(m4.coding, Decoder::Fast);
    let delta = index
        .artefacts
        .iter()
        .find(|a| a.sku == "wakeword-m4-1mb" && a.model == "micro-speech" && a.from.is_some())
        .unwrap();
    assert_eq!(delta.kind, ArtefactKind::Delta);
    assert_eq!(delta.decoders, ["fast"]);
    assert!(u64::from(delta.ram_required) <= m4.work_len);

    // Only "smallest", in less RAM than its tiny profile needs: a clear error with the reason.
    example.edit_manifest("decoders = [\"fast\"]", "decoders = [\"smallest\"]");
    example.edit_manifest("ram-buffer = \"8KiB\"", "ram-buffer = \"2KiB\"");
    // Mallorn.toml validation (what `cargo mallorn check` runs) refuses it, at ram-buffer.
    let Err(mallorn_manifest::ManifestError::Invalid(invalid)) =
        mallorn_manifest::Manifest::load(example.root().join("Mallorn.toml"))
    else {
        panic!("no decoder fitting ram-buffer must make Mallorn.toml invalid");
    };
    let diagnostics = invalid.diagnostics.into_vec();
    assert_eq!(
        diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["no-decoder-fits"]
    );
    assert!(
        diagnostics[0].message.contains("smallest needs"),
        "{}",
        diagnostics[0].message
    );
    assert!(
        diagnostics[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("raise `ram-buffer`")
    );
}

#[test]
fn changing_a_models_format_rebuilds_its_bundles() {
    let example = Example::new();
    example.build().unwrap();
    // `format` decides how both files are parsed: declaring micro-speech `raw` re-encodes its
    // bundles on both SKUs (one delta and one full image each); okay-nabu's are reused.
    example.edit_manifest(
        "name = \"micro-speech\"\nformat = \"tflite\"",
        "name = \"micro-speech\"\nformat = \"raw\"",
    );
    let report = example.build().unwrap();
    assert!(!report.up_to_date);
    assert_eq!(report.encoded, 4, "2 SKUs x (1 delta + 1 full image)");
    assert_eq!(report.reused, 10);
}
