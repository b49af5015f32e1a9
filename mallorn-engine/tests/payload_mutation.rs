//! The payload decoder meets damaged input: real bundles (every codec and profile) with
//! random bytes flipped, runs overwritten and the tail cut. Decoding must fail with an error,
//! never panic, and never produce a result (the payload and result hashes catch what the
//! decoders' own checks let through).

mod parsers_support;

use mallorn_engine::bundle::{BundleIdentity, BundleRequest, apply_bundle, build_bundle};
use mallorn_engine::delta::{Coder, EncodeOptions};
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::format::SIGNED_BUNDLE_PREFIX;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// A small real pair: the checked-in micro_speech model and a copy with changed weights, a
/// requantised-looking tail and an insertion, so every operation kind appears.
fn pair() -> (Vec<u8>, Vec<u8>) {
    let old = std::fs::read(parsers_support::fixture(
        "tflm-micro-speech/micro_speech.tflite",
    ))
    .unwrap();
    let mut new = old.clone();
    for i in (1000..9000).step_by(53) {
        new[i] = new[i].wrapping_sub(3);
    }
    new.splice(12000..12000, b"inserted bytes".iter().copied());
    (old, new)
}

fn bundles() -> Vec<(String, Vec<u8>)> {
    let (old, new) = pair();
    let mut out = Vec::new();
    for (name, coder, profile) in [
        ("smallest/tiny", Coder::Smallest, Profile::Tiny),
        ("smallest/compact", Coder::Smallest, Profile::Compact),
        ("smallest/large", Coder::Smallest, Profile::Large),
        ("fast", Coder::Fast, Profile::Large),
    ] {
        let options = EncodeOptions {
            coder,
            profile,
            chunk_align_log2: 10,
            chunk_len: 4096,
            segment_log2: 9,
            // The splice breaks the flatbuffer: code the pair as opaque bytes.
            format: mallorn_engine::delta::ModelFormat::Raw,
            ..EncodeOptions::default()
        };
        let request = BundleRequest {
            base: Some(&old),
            result: &new,
            identity: BundleIdentity::default(),
            options,
            key: None,
        };
        out.push((name.to_string(), build_bundle(&request).unwrap().bytes));
    }
    out
}

#[test]
fn damaged_payloads_fail_cleanly() {
    let (old, _) = pair();
    for (name, bundle) in bundles() {
        let payload_len = bundle.len() - SIGNED_BUNDLE_PREFIX;
        let mut runner = TestRunner::new(Config {
            cases: 300,
            ..Config::default()
        });
        let strategy = (0..payload_len, any::<u8>(), 1usize..24, any::<bool>());
        runner
            .run(&strategy, |(at, byte, run, overwrite)| {
                let mut damaged = bundle.clone();
                let start = SIGNED_BUNDLE_PREFIX + at;
                if overwrite {
                    let end = (start + run).min(damaged.len());
                    damaged[start..end].fill(byte);
                } else {
                    damaged[start] ^= byte | 1;
                }
                prop_assert!(
                    damaged == bundle || apply_bundle(&damaged, &old).is_err(),
                    "{name}: damage at {at} accepted"
                );
                Ok(())
            })
            .unwrap();
        for cut in [
            SIGNED_BUNDLE_PREFIX,
            SIGNED_BUNDLE_PREFIX + 1,
            bundle.len() / 2,
            bundle.len() - 1,
        ] {
            assert!(
                apply_bundle(&bundle[..cut], &old).is_err(),
                "{name}: truncated at {cut}"
            );
        }
    }
}

/// With the payload hash out of the way (a forged payload and a matching header), the codecs'
/// own checks face arbitrary bytes: errors only, no panics, reads and writes in bounds.
#[test]
fn arbitrary_payloads_never_panic() {
    let (old, _) = pair();
    let mut runner = TestRunner::new(Config {
        cases: 2000,
        ..Config::default()
    });
    let strategy = (
        proptest::collection::vec(any::<u8>(), 6..600),
        0u8..3,
        1u64..5000,
        1u8..3,
        any::<bool>(),
    );
    runner
        .run(
            &strategy,
            |(mut coded, profile, result_len, codec, zero_start)| {
                // Valid framing around random coded bytes, so the codecs themselves are reached.
                if zero_start {
                    coded[0] = 0;
                }
                let header = mallorn_runtime::format::chunk::ChunkHeader {
                    output_len: result_len,
                    coded_len: coded.len() as u64,
                    codec,
                };
                let mut framing = [0; mallorn_runtime::format::chunk::MAX_CHUNK_HEADER_LEN];
                let n = header.encode(&mut framing);
                let mut payload = framing[..n].to_vec();
                payload.extend_from_slice(&coded);
                let _ = decode_forged(&old, &payload, profile, result_len);
                Ok(())
            },
        )
        .unwrap();
}

fn decode_forged(
    base: &[u8],
    payload: &[u8],
    profile: u8,
    result_len: u64,
) -> Result<Vec<u8>, mallorn_runtime::Error> {
    use mallorn_runtime::apply::{PayloadStream, required_work_len};
    use mallorn_runtime::format::segments::chain;
    use mallorn_runtime::format::{BundleHeader, Decoders, Flags, ModelVersion};
    use mallorn_runtime::hash::sha256;
    use mallorn_runtime::image::SliceResult;
    const SEGMENT_LOG2: u8 = 9;
    // Forged but authentic: the chain is computed over the forged payload, so the decoders
    // see every byte (as they would if a signing key leaked).
    let (wire, head) = chain(payload, SEGMENT_LOG2)?;
    let payload = &wire[..];
    let decoders = Decoders(Decoders::ALL);
    let header = BundleHeader {
        flags: Flags(Flags::LOSSLESS | Flags::UNSIGNED),
        decoders,
        coder_profile: profile,
        chunk_align_log2: 6,
        key_id: [0; 8],
        model_id: [0; 8],
        sku_id: [0; 8],
        from_version: ModelVersion::default(),
        to_version: ModelVersion::default(),
        security_counter: 1,
        base_len: base.len() as u64,
        base_sha256: sha256(base),
        result_len,
        result_sha256: [0; 32],
        payload_len: wire.len() as u64,
        payload_sha256: head,
        ram_required: required_work_len(decoders, profile, SEGMENT_LOG2) as u32,
        error_bound_bits: 0,
        segment_log2: SEGMENT_LOG2,
    };
    let mut work = vec![0; header.ram_required as usize];
    let mut decoder = PayloadStream::new(&header, &mut work)?;
    let mut out = vec![0; result_len as usize];
    let mut sink = SliceResult::new(&mut out);
    let mut base_image: &[u8] = base;
    let mut rest = payload;
    loop {
        let fed = decoder.feed(rest, &mut base_image, &mut sink)?;
        rest = &rest[fed.consumed..];
        if fed.checkpoint.is_none() {
            break;
        }
    }
    decoder.finish()?;
    Ok(out)
}
