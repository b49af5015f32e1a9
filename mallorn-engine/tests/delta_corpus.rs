//! Every consecutive pair of every lineage in the shared corpus round-trips byte-exactly
//! through a bundle, with both codec settings; so do OLD -> OLD and empty and tiny files.
//! Each bundle is built with `build_bundle` (which applies it once itself) and applied again
//! here through the host apply path (`mallorn_tests::round_trip_len`).

mod parsers_support;

use mallorn_engine::bundle::{BundleIdentity, BundleRequest, apply_bundle, build_bundle};
use mallorn_engine::delta::{DeltaCodec, EncodeOptions, ModelFormat};
use mallorn_runtime::codec::smallest::Profile;
use mallorn_tests::round_trip_len;

#[test]
fn every_corpus_pair_round_trips_with_both_codecs() {
    let Some(pairs) = mallorn_tests::corpus_pairs() else {
        return;
    };
    assert!(
        pairs.len() >= 13,
        "expected the 13 corpus pairs, found {}",
        pairs.len()
    );
    for (old_path, new_path) in pairs {
        let old = std::fs::read(&old_path).unwrap();
        let new = std::fs::read(&new_path).unwrap();
        let smallest = round_trip_len(&old, &new, EncodeOptions::default());
        let fast = round_trip_len(
            &old,
            &new,
            EncodeOptions {
                coder: DeltaCodec::Fast,
                ..EncodeOptions::default()
            },
        );
        eprintln!(
            "{} -> {}: {} bytes NEW, bundle {} (smallest), {} (fast)",
            old_path.display(),
            new_path.file_name().unwrap().to_string_lossy(),
            new.len(),
            smallest,
            fast
        );
        assert!(
            smallest < new.len() + 512,
            "a bundle must never be much larger than NEW"
        );
    }
}

#[test]
fn a_model_to_itself_costs_almost_nothing() {
    let Some(pairs) = mallorn_tests::corpus_pairs() else {
        return;
    };
    for (path, _) in pairs.iter().take(12).step_by(3) {
        let model = std::fs::read(path).unwrap();
        let options = EncodeOptions::default();
        let size = round_trip_len(&model, &model, options);
        // The signed header, then a copy in each chunk (framing, one operation, coder flush).
        let chunks = (model.len() as u64).div_ceil(options.chunk_len) as usize;
        assert!(
            size <= 300 + 40 * chunks,
            "{}: {size} bytes for an unchanged model in {chunks} chunks",
            path.display()
        );
    }
}

#[test]
fn empty_and_tiny_files() {
    for profile in Profile::ALL {
        let options = EncodeOptions {
            profile,
            // These inputs are no model: opaque bytes must be asked for.
            format: ModelFormat::Raw,
            ..EncodeOptions::default()
        };
        round_trip_len(b"", b"", options);
        round_trip_len(b"", b"x", options);
        round_trip_len(b"x", b"", options);
        round_trip_len(b"abc", b"abd", options);
        round_trip_len(&[0u8; 1], &[0xffu8; 3], options);
        let fast = EncodeOptions {
            coder: DeltaCodec::Fast,
            ..options
        };
        round_trip_len(b"", b"xyz", fast);
        round_trip_len(b"abc", b"abd", fast);
    }
}

#[test]
fn a_full_image_rebuilds_any_model() {
    let Some(pairs) = mallorn_tests::corpus_pairs() else {
        return;
    };
    let (_, path) = &pairs[pairs.len() - 1];
    let model = std::fs::read(path).unwrap();
    let request = BundleRequest {
        base: None,
        result: &model,
        identity: BundleIdentity::default(),
        options: EncodeOptions::default(),
        key: None,
    };
    let built = build_bundle(&request).unwrap();
    assert_eq!(
        apply_bundle(&built.bytes, b"anything at all").unwrap(),
        model
    );
}
