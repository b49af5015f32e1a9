//! Hand-made plans over random data round-trip through the runtime's decoder, for every
//! operation kind, layout and profile.

use mallorn_engine::bundle::{BundleIdentity, apply_bundle};
use mallorn_engine::delta::{DeltaCodec, EncodeOptions, encode_plan};
use mallorn_runtime::codec::layout::LayoutId;
use mallorn_runtime::codec::op::Op;
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::codec::smallest::ops::Residual;
use proptest::prelude::*;

/// Round-trips `ops` with both codecs; returns the smallest codec's payload size.
fn roundtrip(base: &[u8], target: &[u8], ops: &[Op], options: &EncodeOptions) -> usize {
    let mut sizes = [0; 2];
    for (i, coder) in [DeltaCodec::Smallest, DeltaCodec::Fast]
        .into_iter()
        .enumerate()
    {
        let options = EncodeOptions { coder, ..*options };
        let payload = encode_plan(base, target, ops, &options);
        let (_, bundle) = payload.unsigned_bundle(&BundleIdentity::default(), Some(base), target);
        assert_eq!(apply_bundle(&bundle, base).unwrap(), target, "{coder:?}");
        sizes[i] = payload.bytes().len();
    }
    sizes[0]
}

fn mutate(base: &[u8], seed: u64, rate: u32) -> Vec<u8> {
    let mut x = seed | 1;
    base.iter()
        .map(|&b| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if (x % 1000) < u64::from(rate) {
                b.wrapping_add((x >> 32) as u8 % 5).wrapping_sub(2)
            } else {
                b
            }
        })
        .collect()
}

#[test]
fn every_layout_aligned_and_literal() {
    let base: Vec<u8> = (0..292 * 40).map(|i| ((i * 7919) % 251) as u8).collect();
    let target = mutate(&base, 42, 100);
    for profile in Profile::ALL {
        for layout in LayoutId::ALL {
            let size = layout.element_size();
            let count = (base.len() / size) as u64;
            let used = count as usize * size;
            let tail = Op::Literal {
                layout: LayoutId::Bytes,
                count: (base.len() - used) as u64,
            };
            for residual in [Residual::Sub, Residual::Xor] {
                let mut ops = vec![Op::Aligned {
                    layout,
                    residual,
                    count,
                    offset: 0,
                }];
                if base.len() > used {
                    ops.push(tail.clone());
                }
                let options = EncodeOptions {
                    coder: DeltaCodec::Smallest,
                    profile,
                    chunk_align_log2: 6,
                    chunk_len: 1024,
                    segment_log2: 9,
                    format: mallorn_engine::delta::ModelFormat::Raw,
                    effort: mallorn_engine::delta::Effort::Default,
                };
                roundtrip(&base, &target, &ops, &options);
            }
            let mut ops = vec![Op::Literal { layout, count }];
            if base.len() > used {
                ops.push(tail);
            }
            roundtrip(
                &base,
                &target,
                &ops,
                &EncodeOptions {
                    coder: DeltaCodec::Smallest,
                    profile,
                    chunk_align_log2: 6,
                    chunk_len: 4096,
                    segment_log2: 9,
                    format: mallorn_engine::delta::ModelFormat::Raw,
                    effort: mallorn_engine::delta::Effort::Default,
                },
            );
        }
    }
}

#[test]
fn copies_from_base_and_result() {
    let base: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut target = base[5000..8000].to_vec();
    target.extend_from_slice(&base[100..600]);
    let repeat = target[..700].to_vec();
    target.extend_from_slice(&repeat);
    target.extend(std::iter::repeat_n(7u8, 300));
    let ops = [
        Op::CopyBase {
            offset: 5000,
            len: 3000,
        },
        Op::CopyBase {
            offset: 100,
            len: 500,
        },
        Op::CopyResult {
            distance: 3500,
            len: 700,
        },
        Op::Literal {
            layout: LayoutId::Bytes,
            count: 1,
        },
        Op::CopyResult {
            distance: 1,
            len: 299,
        },
    ];
    let size = roundtrip(
        &base,
        &target,
        &ops,
        &EncodeOptions {
            coder: DeltaCodec::Smallest,
            profile: Profile::Tiny,
            chunk_align_log2: 6,
            chunk_len: 1 << 20,
            segment_log2: 9,
            format: mallorn_engine::delta::ModelFormat::Raw,
            effort: mallorn_engine::delta::Effort::Default,
        },
    );
    assert!(size < 40, "{size} bytes for five operations");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_plans_round_trip(
        base in proptest::collection::vec(any::<u8>(), 64..3000),
        rate in 0u32..1000,
        seed: u64,
        cut in 1usize..64,
        profile in 0u8..3,
        chunk_log2 in 6u32..12,
    ) {
        let target = mutate(&base, seed, rate);
        let cut = cut.min(base.len());
        let f32_count = ((base.len() - cut) / 4) as u64;
        let rest = base.len() - cut - f32_count as usize * 4;
        let mut ops = vec![
            Op::Literal { layout: LayoutId::I8, count: cut as u64 },
            Op::Aligned { layout: LayoutId::F32, residual: if seed % 2 == 0 { Residual::Xor } else { Residual::Sub }, count: f32_count, offset: cut as u64 },
        ];
        if rest > 0 {
            ops.push(Op::Aligned { layout: LayoutId::Bytes, residual: Residual::Sub, count: rest as u64, offset: (base.len() - rest) as u64 });
        }
        let options = EncodeOptions { coder: DeltaCodec::Smallest, profile: Profile::from_u8(profile).unwrap(), chunk_align_log2: 6, chunk_len: 1 << chunk_log2, segment_log2: 9, format: mallorn_engine::delta::ModelFormat::Raw, effort: mallorn_engine::delta::Effort::Default };
        roundtrip(&base, &target, &ops, &options);
    }
}

#[test]
fn lz_runs_reach_base_and_result() {
    use mallorn_runtime::codec::smallest::lz::LzItem;
    let base: Vec<u8> = b"header: abcdefgh; table 0123456789 end".to_vec();
    let mut target = b"XY".to_vec();
    target.extend_from_slice(&base[8..20]); // 12 bytes from the base
    target.extend_from_slice(b"XY"); // repeat of the result
    target.push(b'!');
    let b = base.len() as u64;
    let items = vec![
        LzItem::Literal,
        LzItem::Literal,
        LzItem::Match {
            distance: b + 2 - 8,
            len: 12,
        },
        LzItem::Match {
            distance: 14,
            len: 2,
        },
        LzItem::Literal,
    ];
    for profile in [Profile::Compact, Profile::Large] {
        let ops = [Op::Lz {
            items: items.clone(),
        }];
        let options = EncodeOptions {
            coder: DeltaCodec::Smallest,
            profile,
            chunk_align_log2: 6,
            chunk_len: 64,
            segment_log2: 9,
            format: mallorn_engine::delta::ModelFormat::Raw,
            effort: mallorn_engine::delta::Effort::Default,
        };
        roundtrip(&base, &target, &ops, &options);
        // Chunks that cut through a match keep it valid.
        let options = EncodeOptions {
            chunk_len: 64,
            format: mallorn_engine::delta::ModelFormat::Raw,
            effort: mallorn_engine::delta::Effort::Default,
            chunk_align_log2: 6,
            ..options
        };
        let long: Vec<u8> = target.iter().cycle().take(300).copied().collect();
        let mut items = vec![LzItem::Literal; target.len()];
        items.push(LzItem::Match {
            distance: target.len() as u64,
            len: 300 - target.len() as u64,
        });
        roundtrip(&base, &long, &[Op::Lz { items }], &options);
    }
}
