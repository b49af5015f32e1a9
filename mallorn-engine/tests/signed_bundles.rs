//! Signed bundles built from a real model lineage (TFLM micro_speech 2021-08-12 -> 2022-04-08):
//! every header and signature bit and a sample of payload bits is refused, each device check
//! fails with its own typed error, signing is deterministic, and a refused bundle never leaves
//! an output file.

use std::path::Path;

use mallorn_engine::bundle::{
    ApplyError, BundleIdentity, BundleRequest, apply_signed_bundle, apply_signed_bundle_to_file,
    build_bundle as build_delta,
};
use mallorn_engine::delta::EncodeOptions;
use mallorn_engine::signing::{
    PublicKey, SigningKey, VerifyError, VerifyPolicy, sign_bundle, verify_bundle,
    verify_bundle_with,
};
use mallorn_runtime::Error;
use mallorn_runtime::format::{HEADER_LEN, ModelVersion, SIGNED_BUNDLE_PREFIX, model_id, sku_id};

const MODEL: &str = "micro-speech";
const SKU: &str = "nrf52840-dk";
const COUNTER: u64 = 5;

/// The micro_speech pair, or `None` (with a notice, or a panic if `MALLORN_REQUIRE_CORPUS=1`)
/// without the shared corpus.
fn micro_speech() -> Option<(Vec<u8>, Vec<u8>)> {
    let read = |name: &str| mallorn_tests::corpus_file("tflm-micro-speech", name);
    Some((read("2021-08-12.tflite")?, read("2022-04-08.tflite")?))
}

/// An unsigned bundle turning `old` into `new`, built as the writer builds one.
fn build_real_bundle(old: &[u8], new: &[u8]) -> Vec<u8> {
    build_bundle(old, new, MODEL, SKU, COUNTER)
}

fn build_bundle(old: &[u8], new: &[u8], model: &str, sku: &str, counter: u64) -> Vec<u8> {
    let identity = BundleIdentity {
        model_id: model_id(model),
        sku_id: sku_id(sku),
        from_version: ModelVersion::new(2021, 8, 12),
        to_version: ModelVersion::new(2022, 4, 8),
        security_counter: counter,
        error_bound: None,
    };
    let request = BundleRequest {
        base: Some(old),
        result: new,
        identity,
        options: EncodeOptions::default(),
        key: None,
    };
    build_delta(&request)
        .expect("the corpus pair encodes")
        .bytes
}

fn keys() -> (SigningKey, SigningKey, SigningKey) {
    (
        SigningKey::from_seed(&[0x11; 32]).unwrap(),
        SigningKey::from_seed(&[0x22; 32]).unwrap(),
        SigningKey::from_seed(&[0x33; 32]).unwrap(),
    )
}

/// A device that runs this model on this SKU and has committed counter `COUNTER - 1`.
fn device_policy(trusted: &[PublicKey]) -> VerifyPolicy<'_> {
    VerifyPolicy {
        trusted_keys: trusted,
        allow_unsigned: false,
        sku_id: Some(sku_id(SKU)),
        model_id: Some(model_id(MODEL)),
        committed_counter: Some(COUNTER - 1),
    }
}

/// Applies through the file path and asserts that a refusal leaves no output behind.
fn refused(bundle: &[u8], base: &[u8], policy: &VerifyPolicy<'_>, out_dir: &Path) -> ApplyError {
    let output = out_dir.join("new.tflite");
    let err = apply_signed_bundle_to_file(bundle, base, policy, &output, &Default::default())
        .expect_err("bundle must be refused");
    assert!(!output.exists(), "refused bundle left {}", output.display());
    assert_eq!(
        std::fs::read_dir(out_dir).unwrap().count(),
        0,
        "refused bundle left files in the output folder"
    );
    err
}

#[test]
fn every_header_and_signature_bit_and_sampled_payload_bits_are_refused() {
    let Some((old, new)) = micro_speech() else {
        return;
    };
    let (key, rotation, _) = keys();
    let trusted = [key.public_key(), rotation.public_key()];
    let policy = device_policy(&trusted);
    let bundle = sign_bundle(&build_real_bundle(&old, &new), &key).unwrap();
    let out = tempfile::tempdir().unwrap();

    let (verified, _) = apply_signed_bundle_to_file(
        &bundle,
        &old,
        &policy,
        &out.path().join("ok"),
        &Default::default(),
    )
    .expect("the genuine bundle applies");
    assert_eq!(verified.signed_by, Some(key.key_id()));
    assert_eq!(std::fs::read(out.path().join("ok")).unwrap(), new);
    std::fs::remove_file(out.path().join("ok")).unwrap();

    for i in 0..SIGNED_BUNDLE_PREFIX {
        for bit in 0..8 {
            let mut bad = bundle.clone();
            bad[i] ^= 1 << bit;
            refused(&bad, &old, &policy, out.path());
        }
    }

    // Payload: a spread of positions including the first and last byte, each refused by its
    // segment's hash before the decoder sees it.
    let payload_len = bundle.len() - SIGNED_BUNDLE_PREFIX;
    let positions = (0..payload_len)
        .step_by(payload_len / 97)
        .chain([payload_len - 1]);
    for (n, at) in positions.enumerate() {
        let mut bad = bundle.clone();
        bad[SIGNED_BUNDLE_PREFIX + at] ^= 1 << (n % 8);
        let err = refused(&bad, &old, &policy, out.path());
        assert!(
            matches!(
                err.runtime_error(),
                Some(Error::PayloadSegmentMismatch { .. })
            ),
            "{err}"
        );
    }
}

#[test]
fn each_device_check_fails_with_its_own_error() {
    let Some((old, new)) = micro_speech() else {
        return;
    };
    let (key, rotation, stranger) = keys();
    let trusted = [key.public_key(), rotation.public_key()];
    let policy = device_policy(&trusted);
    let out = tempfile::tempdir().unwrap();
    let rejected = |bundle: &[u8], base: &[u8]| {
        refused(bundle, base, &policy, out.path())
            .runtime_error()
            .expect("a typed runtime error")
    };

    // Rotation: both trusted keys sign acceptable bundles.
    for signer in [&key, &rotation] {
        let bundle = sign_bundle(&build_real_bundle(&old, &new), signer).unwrap();
        let (verified, result) = apply_signed_bundle(&bundle, &old, &policy).unwrap();
        assert_eq!(verified.signed_by, Some(signer.key_id()));
        assert_eq!(result, new);
    }

    let by_stranger = sign_bundle(&build_real_bundle(&old, &new), &stranger).unwrap();
    assert_eq!(
        rejected(&by_stranger, &old),
        Error::UnknownKey {
            key_id: stranger.key_id()
        }
    );
    // A stranger's signature under a trusted key's id.
    let mut spoofed = sign_bundle(&build_real_bundle(&old, &new), &key).unwrap();
    let forged = stranger.sign(&spoofed[..HEADER_LEN]);
    spoofed[HEADER_LEN..SIGNED_BUNDLE_PREFIX].copy_from_slice(&forged);
    assert_eq!(rejected(&spoofed, &old), Error::BadSignature);

    let other_sku =
        sign_bundle(&build_bundle(&old, &new, MODEL, "esp32-s3", COUNTER), &key).unwrap();
    assert_eq!(
        rejected(&other_sku, &old),
        Error::WrongSku {
            bundle: sku_id("esp32-s3"),
            device: sku_id(SKU)
        }
    );
    let other_model =
        sign_bundle(&build_bundle(&old, &new, "wake-word", SKU, COUNTER), &key).unwrap();
    assert_eq!(
        rejected(&other_model, &old),
        Error::WrongModel {
            bundle: model_id("wake-word"),
            device: model_id(MODEL)
        }
    );
    for counter in [COUNTER - 1, COUNTER - 2, 0] {
        let stale = sign_bundle(&build_bundle(&old, &new, MODEL, SKU, counter), &key).unwrap();
        assert_eq!(
            rejected(&stale, &old),
            Error::CounterNotIncreasing {
                bundle: counter,
                device: COUNTER - 1
            }
        );
    }

    let bundle = sign_bundle(&build_real_bundle(&old, &new), &key).unwrap();
    // The result instead of the base, a base with one byte changed, a truncated base.
    let mut changed = old.clone();
    changed[old.len() / 2] ^= 0x40;
    for wrong_base in [&new[..], &changed[..], &old[..old.len() - 1]] {
        assert_eq!(rejected(&bundle, wrong_base), Error::WrongBase);
    }

    let unsigned = build_real_bundle(&old, &new);
    assert_eq!(rejected(&unsigned, &old), Error::UnsignedRejected);
    let lenient = VerifyPolicy {
        allow_unsigned: true,
        ..device_policy(&trusted)
    };
    let (verified, result) = apply_signed_bundle(&unsigned, &old, &lenient).unwrap();
    assert_eq!((verified.signed_by, result), (None, new.clone()));

    // Truncation and trailing bytes.
    assert_eq!(
        rejected(&bundle[..bundle.len() - 1], &old),
        Error::PayloadTruncated
    );
    let mut longer = bundle.clone();
    longer.push(0);
    assert_eq!(rejected(&longer, &old), Error::PayloadTooLong);
    assert!(matches!(
        refused(&bundle[..100], &old, &policy, out.path()),
        ApplyError::Verify(VerifyError::TooShort { len: 100 })
    ));
}

#[test]
fn signing_is_deterministic_and_verifiable_without_device_facts() {
    let Some((old, new)) = micro_speech() else {
        return;
    };
    let (key, _, _) = keys();
    let unsigned = build_real_bundle(&old, &new);
    let reloaded = SigningKey::from_pkcs8_pem(&key.to_pkcs8_pem(), "reloaded").unwrap();
    let a = sign_bundle(&unsigned, &key).unwrap();
    let b = sign_bundle(&unsigned, &reloaded).unwrap();
    let c = sign_bundle(&build_real_bundle(&old, &new), &key).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    // Re-signing a signed bundle with the same key changes nothing.
    assert_eq!(sign_bundle(&a, &key).unwrap(), a);
    // Only header and signature differ from the unsigned bundle.
    assert_eq!(a[SIGNED_BUNDLE_PREFIX..], unsigned[SIGNED_BUNDLE_PREFIX..]);

    let trusted = [key.public_key()];
    let verified = verify_bundle(&a, &trusted, None).unwrap();
    assert!(!verified.base_checked);
    assert_eq!(verified.header.security_counter, COUNTER);
    assert!(
        verify_bundle(&a, &trusted, Some(&old))
            .unwrap()
            .base_checked
    );
    assert!(matches!(
        verify_bundle_with(&a, &VerifyPolicy::trusting(&[]), None),
        Err(VerifyError::Rejected(Error::UnknownKey { .. }))
    ));
}
