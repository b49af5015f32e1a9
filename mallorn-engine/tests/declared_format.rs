//! The encoder does what `format` and `effort` say (issue 14): a file that is not a model, or
//! not the model format declared, is an error naming the input, the byte and the rule, never
//! silently coded as opaque bytes; `raw` is the explicit opt-in; `effort` changes the work
//! done and the bytes produced, and `max` is never larger than `default`.

use mallorn_engine::bundle::{
    BuildError, BundleIdentity, BundleRequest, apply_bundle, build_bundle,
};
use mallorn_engine::delta::{Effort, EncodeOptions, Input, ModelFormat, encode};
use mallorn_engine::model::InputError;

fn model() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tflm-micro-speech/micro_speech.tflite"
    ))
    .unwrap()
}

/// The fixture with some weights changed and a tail appended: still a valid TFLite file.
fn changed() -> Vec<u8> {
    let mut new = model();
    for i in (2000..6000).step_by(97) {
        new[i] = new[i].wrapping_add(1);
    }
    new
}

fn options(format: ModelFormat) -> EncodeOptions {
    EncodeOptions {
        format,
        ..EncodeOptions::default()
    }
}

#[test]
fn non_models_are_refused_unless_raw() {
    let good = model();
    let readme = b"# Mallorn\n\nDelta updates of ML models for embedded devices.\n".repeat(40);
    let truncated = good[..good.len() / 2].to_vec();
    let random: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let empty: Vec<u8> = Vec::new();
    for (name, bad) in [
        ("README", &readme),
        ("truncated TFLite", &truncated),
        ("random bytes", &random),
        ("/dev/null", &empty),
    ] {
        for (input, base, target) in [
            (Input::Base, bad.as_slice(), good.as_slice()),
            (Input::Target, good.as_slice(), bad.as_slice()),
        ] {
            let err = encode(Some(base), target, &options(ModelFormat::Auto))
                .expect_err(&format!("{name} as {input:?} was accepted"));
            assert_eq!(err.input, input, "{name}");
            // The same inputs code fine once `raw` is asked for.
            let built = build_bundle(&BundleRequest {
                base: Some(base),
                result: target,
                identity: BundleIdentity::default(),
                options: options(ModelFormat::Raw),
                key: None,
            })
            .unwrap();
            assert_eq!(apply_bundle(&built.bytes, base).unwrap(), target);
        }
    }
    // A truncated TFLite file names the byte and the rule.
    let err = encode(Some(&good), &truncated, &options(ModelFormat::Auto)).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err.source,
            InputError::Invalid {
                declared: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        text.contains("the target (new model)") && text.contains("at byte"),
        "{text}"
    );
}

#[test]
fn a_declared_format_forces_its_parser() {
    let good = model();
    let readme = b"not a flatbuffer, just a README renamed .tflite\n".repeat(20);
    let err = build_bundle(&BundleRequest {
        base: None,
        result: &readme,
        identity: BundleIdentity::default(),
        options: options(ModelFormat::Tflite),
        key: None,
    })
    .unwrap_err();
    let BuildError::Input(err) = err else {
        panic!("{err:?}")
    };
    assert!(matches!(
        err.source,
        InputError::Invalid { declared: true, source } if source.format == mallorn_engine::model::Format::Tflite
    ));
    // A valid TFLite file declared as GGUF is refused too.
    assert!(encode(None, &good, &options(ModelFormat::Gguf)).is_err());
    assert!(encode(None, &good, &options(ModelFormat::Tflite)).is_ok());
}

#[test]
fn effort_changes_the_work_and_max_never_loses() {
    let (old, new) = (model(), changed());
    let payload = |effort| {
        let options = EncodeOptions {
            effort,
            ..EncodeOptions::default()
        };
        encode(Some(&old), &new, &options)
            .unwrap()
            .payload
            .bytes()
            .to_vec()
    };
    let (fast, default, max) = (
        payload(Effort::Fast),
        payload(Effort::Default),
        payload(Effort::Max),
    );
    assert_ne!(fast, default, "effort = fast codes exactly like default");
    assert!(max.len() <= default.len());
    assert!(default.len() <= fast.len());
}
