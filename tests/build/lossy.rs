//! Lossy releases end to end: a lineage of three releases built with `[model.lossy]`, then
//! a fourth. Every bundle and the full image give the same shipped image, every element of
//! every shipped image is within its bound of the release file (checked here, independently
//! of the engine's proof), the next release's bundles start from the shipped image, and the
//! quality gate stops a build whose score is under its threshold.

use std::path::Path;

use mallorn_engine::build::{self, BuildError, BuildOptions, BuildReport, Quiet};
use mallorn_engine::bundle::apply_bundle;
use mallorn_engine::lossy::GateError;
use mallorn_manifest::Manifest;
use mallorn_runtime::format::{BundleHeader, Flags, HEADER_LEN};
use mallorn_runtime::hash::sha256;
use mallorn_tests::lossy_lineage::{TENSORS, decode, manifest, release, size};

fn build_in(dir: &Path, releases: usize, extra: &str) -> Result<BuildReport, BuildError> {
    build_text(dir, releases, &manifest(releases, extra))
}

/// Builds the lineage's first `releases` files under the Mallorn.toml `text`.
fn build_text(dir: &Path, releases: usize, text: &str) -> Result<BuildReport, BuildError> {
    for n in 1..=releases {
        std::fs::write(dir.join(format!("r{n}.safetensors")), release(n).0).unwrap();
    }
    std::fs::write(dir.join("Mallorn.toml"), text).unwrap();
    let loaded = Manifest::load(dir.join("Mallorn.toml")).expect("valid Mallorn.toml");
    build::build(
        &loaded,
        &BuildOptions {
            targets: Vec::new(),
            allow_unsigned: true,
            output_dir: dir.join("out"),
            threads: 2,
            write_source_tree: false,
            observer: &Quiet,
        },
    )
}

fn shipped(dir: &Path, n: usize) -> Vec<u8> {
    std::fs::read(dir.join(format!(
        "out/shipped/synth/synth-{n}.0.0-shipped.safetensors"
    )))
    .unwrap()
}

fn header(bundle: &[u8]) -> BundleHeader {
    BundleHeader::parse(bundle[..HEADER_LEN].try_into().unwrap()).unwrap()
}

/// Every element of `image` is within its tensor's bound of release `n`, excluded tensors
/// are exact, everything else is byte-identical; returns how many elements moved.
fn check_within_bounds(image: &[u8], n: usize) -> usize {
    let (file, ranges) = release(n);
    assert_eq!(image.len(), file.len());
    assert_eq!(
        image[..ranges[0].start],
        file[..ranges[0].start],
        "header bytes"
    );
    let mut moved = 0;
    for ((name, dtype, _, bound), range) in TENSORS.iter().zip(ranges) {
        let unit = size(dtype);
        for (s, r) in image[range.clone()]
            .chunks(unit)
            .zip(file[range].chunks(unit))
        {
            let error = (decode(dtype, s) - decode(dtype, r)).abs();
            assert!(
                error <= bound.unwrap_or(0.0),
                "{name}: {error} over {bound:?}"
            );
            moved += usize::from(s != r);
        }
    }
    moved
}

#[test]
fn every_bundle_gives_the_same_shipped_image_within_the_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    build_in(dir, 3, "").unwrap();
    let images: Vec<Vec<u8>> = (1..=3).map(|n| shipped(dir, n)).collect();
    assert_eq!(images[0], release(1).0, "the first release ships as it is");
    for (n, image) in images.iter().enumerate().skip(1) {
        assert!(
            check_within_bounds(image, n + 1) > 1000,
            "release {} moved little",
            n + 1
        );
    }

    let bundles = dir.join("out/board/synth");
    let full = std::fs::read(bundles.join("synth-3.0.0-full.mlrn")).unwrap();
    assert_eq!(apply_bundle(&full, &[]).unwrap(), images[2]);
    for from in 1..=2 {
        let bundle =
            std::fs::read(bundles.join(format!("synth-{from}.0.0-to-3.0.0.mlrn"))).unwrap();
        // The base is the shipped image devices on that release hold, not its release file.
        assert_eq!(header(&bundle).base_sha256, sha256(&images[from - 1]));
        assert_eq!(apply_bundle(&bundle, &images[from - 1]).unwrap(), images[2]);
        if from == 2 {
            assert!(apply_bundle(&bundle, &release(2).0).is_err());
        }
        let h = header(&bundle);
        assert!(!h.flags.contains(Flags::LOSSLESS));
        let bound = f32::from_bits(h.error_bound_bits);
        assert!(bound > 0.0 && bound <= 1e-2, "header bound {bound}");
    }

    // The next release: its bundles start from the shipped image of release 3.
    build_in(dir, 4, "").unwrap();
    assert_eq!(
        shipped(dir, 3),
        images[2],
        "a published shipped image never changes"
    );
    let next = shipped(dir, 4);
    check_within_bounds(&next, 4);
    let bundle = std::fs::read(bundles.join("synth-3.0.0-to-4.0.0.mlrn")).unwrap();
    assert_eq!(apply_bundle(&bundle, &images[2]).unwrap(), next);

    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/index.json")).unwrap()).unwrap();
    let records = index["shipped"].as_array().unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[3]["sha256"],
        mallorn_engine::signing::hex(&sha256(&next))
    );
    assert_eq!(records[0]["changed_elements"], 0);
}

#[test]
fn the_quality_gate_fails_a_build_under_its_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // The command gets the release file and the shipped image; this one checks both exist.
    let gate = |score: &str| {
        format!(
            "[model.gate]\ncommand = [\"sh\", \"-c\", \"test -f \\\"$1\\\" && test -f \\\"$2\\\" && echo {score}\", \"gate\"]\nthreshold = 0.9\n"
        )
    };
    let error = build_in(dir, 2, &gate("0.5")).unwrap_err();
    let BuildError::Gate {
        model,
        version,
        source,
    } = &error
    else {
        panic!("expected a gate failure, got {error}");
    };
    assert_eq!((model.as_str(), version.as_str()), ("synth", "2.0.0"));
    assert!(
        matches!(source, GateError::BelowThreshold { score, threshold } if *score == 0.5 && *threshold == 0.9)
    );
    let message = error.to_string();
    for part in ["synth", "0.5", "0.9"] {
        assert!(message.contains(part), "{message}");
    }
    assert!(!dir.join("out/index.json").exists(), "nothing is published");

    build_in(dir, 2, &gate("0.95")).unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/index.json")).unwrap()).unwrap();
    assert_eq!(index["shipped"][1]["gate_score"], 0.95);

    let error = build_in(dir, 2, &gate("not-a-number")).unwrap_err();
    assert!(
        matches!(
            error,
            BuildError::Gate {
                source: GateError::NoScore { .. },
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_pinned_shipped_image_stays_what_devices_hold() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    build_in(dir, 3, "").unwrap();
    let published = shipped(dir, 2);
    std::fs::write(dir.join("pinned-2.safetensors"), &published).unwrap();
    let pin = |text: String| {
        text.replacen(
            "path = \"r2.safetensors\"\n",
            "path = \"r2.safetensors\"\nshipped = \"pinned-2.safetensors\"\n",
            1,
        )
    };
    let loosen = |text: String, bound: &str| text.replacen("max-abs-error = 2e-3", bound, 1);

    // A looser bound re-derives every image after the first, unless it is pinned.
    build_text(dir, 3, &loosen(manifest(3, ""), "max-abs-error = 4e-3")).unwrap();
    assert_ne!(
        shipped(dir, 2),
        published,
        "without the pin the image moves"
    );
    build_text(
        dir,
        3,
        &pin(loosen(manifest(3, ""), "max-abs-error = 4e-3")),
    )
    .unwrap();
    assert_eq!(shipped(dir, 2), published);
    let bundle = std::fs::read(dir.join("out/board/synth/synth-2.0.0-to-3.0.0.mlrn")).unwrap();
    assert_eq!(header(&bundle).base_sha256, sha256(&published));
    assert_eq!(apply_bundle(&bundle, &published).unwrap(), shipped(dir, 3));

    // A bound the pinned image does not keep is an error naming the release.
    let error = build_text(
        dir,
        3,
        &pin(loosen(manifest(3, ""), "max-abs-error = 1e-3")),
    )
    .unwrap_err();
    let BuildError::Lossy {
        version, source, ..
    } = &error
    else {
        panic!("expected a lossy error, got {error}");
    };
    assert_eq!(version, "2.0.0");
    assert!(
        matches!(**source, mallorn_engine::lossy::LossyError::Pinned { .. }),
        "{error}"
    );
    let help = error.help().unwrap_or_default();
    assert!(help.contains("pin the image the build wrote"), "{help}");
}
