//! The payload decoder meets damaged input: real bundles (every codec and profile) with
//! random bytes flipped, runs overwritten and the tail cut. Decoding must fail with an error,
//! never panic, and never produce a result (the payload and result hashes catch what the
//! decoders' own checks let through). Forged but authentic smallest-codec chunks (encoded for
//! another base, chunk start or length, cut short, or arbitrary) reach each of that decoder's
//! checks, which must refuse them with their own error.

mod parsers_support;

use mallorn_engine::bundle::{BundleIdentity, BundleRequest, apply_bundle, build_bundle};
use mallorn_engine::delta::{DeltaCodec, EncodeOptions};
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::format::SIGNED_BUNDLE_PREFIX;
use mallorn_tests::synthetic_model;
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
        ("smallest/tiny", DeltaCodec::Smallest, Profile::Tiny),
        ("smallest/compact", DeltaCodec::Smallest, Profile::Compact),
        ("smallest/large", DeltaCodec::Smallest, Profile::Large),
        ("fast", DeltaCodec::Fast, Profile::Large),
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

/// The coded bytes of one smallest-codec chunk of `ops` (each with its result position),
/// encoded as if `base` and `result` were the whole files and the chunk started at
/// `chunk_start`. The tests decode it in another context (a shorter base, another chunk
/// start or length) to reach the decoder's checks with an otherwise well-formed stream.
fn smallest_coded(
    profile: Profile,
    chunk_start: u64,
    ops: &[(mallorn_runtime::codec::op::Op, u64)],
    base: &[u8],
    result: &[u8],
) -> Vec<u8> {
    use mallorn_runtime::codec::smallest::encoder::ChunkEncoder;
    let mut encoder = ChunkEncoder::new(profile, chunk_start);
    for (op, pos) in ops {
        encoder.op(op, base, result, *pos);
    }
    encoder.finish()
}

/// The plain stream of one smallest-codec chunk producing `output_len` bytes from `coded`,
/// and the payload offset where `coded` starts in it.
fn smallest_chunk(output_len: u64, coded: &[u8]) -> (Vec<u8>, u64) {
    use mallorn_runtime::format::chunk::{ChunkHeader, MAX_CHUNK_HEADER_LEN};
    let header = ChunkHeader {
        output_len,
        coded_len: coded.len() as u64,
        codec: 2,
    };
    let mut framing = [0; MAX_CHUNK_HEADER_LEN];
    let n = header.encode(&mut framing);
    let mut plain = framing[..n].to_vec();
    plain.extend_from_slice(coded);
    (plain, n as u64)
}

/// Range-coder bytes the smallest decoder takes before its first operation.
const CODED_START: u64 = 5;

#[test]
fn smallest_operations_stay_inside_the_base() {
    use mallorn_runtime::Error;
    use mallorn_runtime::codec::layout::LayoutId;
    use mallorn_runtime::codec::op::Op;
    use mallorn_runtime::codec::smallest::ops::Residual;
    let base = synthetic_model(128, 1);
    // Aligned over base bytes 30..50, decoded against the first 40 bytes only: refused as a
    // whole, not after its first 10 values.
    let aligned = Op::Aligned {
        layout: LayoutId::Bytes,
        residual: Residual::Sub,
        count: 20,
        offset: 30,
    };
    let result = base[30..50].to_vec();
    let coded = smallest_coded(Profile::Compact, 0, &[(aligned, 0)], &base, &result);
    let (plain, _) = smallest_chunk(20, &coded);
    assert_eq!(
        decode_forged(&base[..40], &plain, Profile::Compact as u8, 20),
        Err(Error::BaseOutOfRange {
            offset: 30,
            len: 20
        })
    );
    assert_eq!(
        decode_forged(&base[..50], &plain, Profile::Compact as u8, 20).unwrap(),
        result
    );
    // A copy 100 bytes back from a base cursor at 0 (encoded for a chunk starting at 100).
    let copy = Op::CopyBase { offset: 0, len: 10 };
    let coded = smallest_coded(Profile::Compact, 100, &[(copy, 0)], &base, &base[..10]);
    let (plain, _) = smallest_chunk(10, &coded);
    assert!(matches!(
        decode_forged(&base, &plain, Profile::Compact as u8, 10),
        Err(Error::CorruptPayload {
            reason: "base offset out of range",
            ..
        })
    ));
    // An LZ match 50 bytes back from the start of the result, over a 10-byte base.
    let lz = Op::Lz {
        items: vec![mallorn_runtime::codec::smallest::lz::LzItem::Match {
            distance: 50,
            len: 10,
        }],
    };
    let result = base[78..88].to_vec();
    let coded = smallest_coded(Profile::Compact, 0, &[(lz, 0)], &base, &result);
    let (plain, _) = smallest_chunk(10, &coded);
    assert!(matches!(
        decode_forged(&base[..10], &plain, Profile::Compact as u8, 10),
        Err(Error::CorruptPayload {
            reason: "LZ distance before the base",
            ..
        })
    ));
    assert_eq!(
        decode_forged(&base, &plain, Profile::Compact as u8, 10).unwrap(),
        result
    );
}

#[test]
fn smallest_operations_stay_inside_the_chunk_and_the_result() {
    use mallorn_runtime::Error;
    use mallorn_runtime::codec::layout::LayoutId;
    use mallorn_runtime::codec::op::Op;
    use mallorn_runtime::codec::smallest::lz::LzItem;
    let data = synthetic_model(20, 2);
    // 20-byte operations in a 10-byte chunk: refused at their header, before a byte of
    // them is produced.
    for op in [
        Op::Lz {
            items: vec![LzItem::Literal; 20],
        },
        Op::Literal {
            layout: LayoutId::Bytes,
            count: 20,
        },
    ] {
        let coded = smallest_coded(Profile::Compact, 0, &[(op.clone(), 0)], &[], &data);
        let (plain, coded_at) = smallest_chunk(10, &coded);
        assert_eq!(
            decode_forged(&[], &plain, Profile::Compact as u8, 10),
            Err(Error::CorruptPayload {
                offset: coded_at + CODED_START,
                reason: "operation overruns its chunk"
            }),
            "{op:?}"
        );
    }
    // A copy 5 bytes back, encoded at result position 10, decoded at the chunk's start.
    let mut result = synthetic_model(10, 3);
    result.extend_from_within(5..8);
    let copy = Op::CopyResult {
        distance: 5,
        len: 3,
    };
    let coded = smallest_coded(Profile::Compact, 0, &[(copy, 10)], &[], &result);
    let (plain, _) = smallest_chunk(3, &coded);
    assert!(matches!(
        decode_forged(&[], &plain, Profile::Compact as u8, 3),
        Err(Error::CorruptPayload {
            reason: "copy from before the result's start",
            ..
        })
    ));
}

/// A chunk cut short: wherever the cut falls (in an operation header, an LZ item, an LZ
/// literal, a typed value), the step it falls in is refused as running past the chunk.
#[test]
fn a_smallest_chunk_cut_short_is_refused_at_the_step_it_cuts() {
    use mallorn_runtime::Error;
    use mallorn_runtime::codec::layout::LayoutId;
    use mallorn_runtime::codec::op::Op;
    use mallorn_runtime::codec::smallest::lz::LzItem;
    let result = synthetic_model(400, 4);
    let ops = [
        (
            Op::Lz {
                items: vec![LzItem::Literal; 200],
            },
            0,
        ),
        (
            Op::Literal {
                layout: LayoutId::Bytes,
                count: 200,
            },
            200,
        ),
    ];
    let coded = smallest_coded(Profile::Compact, 0, &ops, &[], &result);
    let mut reasons = std::collections::BTreeSet::new();
    for cut in 0..coded.len() {
        let (plain, _) = smallest_chunk(400, &coded[..cut]);
        match decode_forged(&[], &plain, Profile::Compact as u8, 400) {
            Err(Error::CorruptPayload { reason, .. }) => reasons.insert(reason),
            other => panic!("cut at {cut}: {other:?}"),
        };
    }
    for expected in [
        "coded stream shorter than its start",
        "operation header runs past the chunk",
        "LZ item runs past the chunk",
        "LZ literal runs past the chunk",
        "value runs past the chunk",
    ] {
        assert!(reasons.contains(expected), "{expected}: {reasons:?}");
    }
}

/// Arbitrary coded bytes after a valid start: among them, each check of a decoded decision
/// (an operation header, an LZ match longer than its operation, a value out of range) is
/// met and named.
#[test]
fn smallest_decoding_names_each_out_of_range_decision() {
    use mallorn_runtime::Error;
    let base = synthetic_model(256, 5);
    let mut reasons = std::collections::BTreeSet::new();
    for seed in 0..2000 {
        for profile in [Profile::Tiny, Profile::Compact] {
            let mut coded = synthetic_model(96, seed);
            coded[0] = 0;
            let (plain, _) = smallest_chunk(1000, &coded);
            if let Err(Error::CorruptPayload { reason, .. }) =
                decode_forged(&base, &plain, profile as u8, 1000)
            {
                reasons.insert(reason);
            }
        }
    }
    for expected in [
        "bad operation header",
        "LZ match overruns its operation",
        "value out of range",
    ] {
        assert!(reasons.contains(expected), "{expected}: {reasons:?}");
    }
}
