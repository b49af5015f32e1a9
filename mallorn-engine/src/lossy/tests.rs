//! Quantised tensors through the derivation and the proof: GGML Q8_0 and Q4_0 blocks and an
//! affine int8 tensor, on a hand-built map.

use std::borrow::Cow;

use mallorn_manifest::{LossyPolicy, Span, TensorBound};

use crate::lossy::derive::derive;
use crate::lossy::proof::{ProofError, prove};
use crate::model::{
    DType, Declared, Format, GgmlType, ModelMap, Quantization, Region, TensorRegion,
};

const HEADER: usize = 16;

fn tensor(
    name: &'static str,
    dtype: DType,
    elements: u64,
    offset: u64,
    len: u64,
) -> Region<'static> {
    Region::Tensor(TensorRegion {
        name: Cow::Borrowed(name),
        aliases: Vec::new(),
        dtype,
        shape: vec![elements],
        offset,
        len,
        quant: matches!(dtype, DType::I8).then(|| Quantization::Affine {
            scale: vec![0.5],
            zero_point: vec![0],
            axis: None,
        }),
        layout: dtype.layout(),
        sparse: false,
    })
}

/// Header (opaque), 4 Q8_0 blocks, 4 Q4_0 blocks, 128 int8 values.
fn map() -> ModelMap<'static> {
    let q8 = 4 * 34;
    let q4 = 4 * 18;
    let len = HEADER + q8 + q4 + 128;
    ModelMap {
        format: Format::Gguf,
        file_len: len as u64,
        regions: vec![
            Region::Opaque {
                offset: 0,
                len: HEADER as u64,
            },
            tensor(
                "q8",
                DType::Ggml(GgmlType::Q8_0),
                128,
                HEADER as u64,
                q8 as u64,
            ),
            tensor(
                "q4",
                DType::Ggml(GgmlType::Q4_0),
                128,
                (HEADER + q8) as u64,
                q4 as u64,
            ),
            tensor("i8", DType::I8, 128, (HEADER + q8 + q4) as u64, 128),
        ],
        external: Vec::new(),
        unmapped_tensors: Vec::new(),
        declared: Declared::default(),
    }
}

/// A release: every byte a function of its offset, Q8_0 and Q4_0 scales 1.0 (f16 0x3c00).
fn release() -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..map().file_len).map(|i| (i * 7 % 251) as u8).collect();
    for block in 0..4 {
        bytes[HEADER + block * 34..][..2].copy_from_slice(&[0x00, 0x3c]);
        bytes[HEADER + 136 + block * 18..][..2].copy_from_slice(&[0x00, 0x3c]);
    }
    bytes
}

fn policy(steps: u32) -> LossyPolicy {
    LossyPolicy {
        default: TensorBound {
            max_abs_error: None,
            max_steps: Some(steps),
        },
        exclude: Vec::new(),
        tensors: Vec::new(),
        span: Span::new(0, 0),
    }
}

fn scale_bound(max_abs_error: f64) -> LossyPolicy {
    LossyPolicy {
        default: TensorBound {
            max_abs_error: Some(max_abs_error),
            max_steps: None,
        },
        ..policy(1)
    }
}

#[test]
fn a_block_keeps_the_base_scale_when_its_values_stay_within_the_float_bound() {
    let release = release();
    let mut base = release.clone();
    base[HEADER] = 0x01; // block 0: d = 1.000977; its values are at most 127 steps
    base[HEADER + 34] = 0x40; // block 1: d = 1.0625
    let shipped = derive(&base, &map(), &release, &map(), &scale_bound(0.2));
    assert_eq!(shipped[HEADER], 0x01, "0.000977 x 127 = 0.124 <= 0.2");
    assert_eq!(
        shipped[HEADER + 34],
        release[HEADER + 34],
        "0.0625 x 127 > 0.2"
    );
    let fidelity = prove(&shipped, &release, &map(), &scale_bound(0.2)).unwrap();
    assert!(fidelity.max_abs_error > 0.0 && fidelity.max_abs_error <= 0.2);
    let shipped = derive(&base, &map(), &release, &map(), &scale_bound(1e-3));
    assert_eq!(shipped, release);
}

#[test]
fn values_within_the_steps_keep_the_base_others_the_release() {
    let release = release();
    let mut base = release.clone();
    let q8_value = HEADER + 2 + 5; // block 0, value 5
    let i8_value = HEADER + 136 + 72 + 9;
    base[q8_value] = base[q8_value].wrapping_add(1); // within 1 step: kept
    base[q8_value + 1] = base[q8_value + 1].wrapping_add(5); // too far: the release's
    base[i8_value] = base[i8_value].wrapping_sub(1);
    base[HEADER + 34] = 0x11; // block 1's scale moved: the release's scale ships
    let q4_byte = HEADER + 136 + 2;
    base[q4_byte] ^= 0x01; // low nibble one step off (0x..0 <-> 0x..1 differ by 1)
    let shipped = derive(&base, &map(), &release, &map(), &policy(1));
    assert_eq!(shipped[q8_value], base[q8_value]);
    assert_eq!(shipped[q8_value + 1], release[q8_value + 1]);
    assert_eq!(shipped[i8_value], base[i8_value]);
    assert_eq!(shipped[HEADER + 34], release[HEADER + 34]);
    assert_eq!(shipped[q4_byte], base[q4_byte]);

    let fidelity = prove(&shipped, &release, &map(), &policy(1)).unwrap();
    assert_eq!(fidelity.max_steps, 1);
    assert_eq!(fidelity.changed_elements, 3);
    assert_eq!(fidelity.bounded_elements, 128 * 3);
    // One step of a Q8_0 block with scale 1.0, or of the int8 tensor's scale 0.5.
    assert_eq!(fidelity.max_abs_error, 1.0);
}

#[test]
fn the_proof_refuses_what_the_bounds_do_not_allow() {
    let release = release();
    let mut over = release.clone();
    over[HEADER + 2 + 3] = over[HEADER + 2 + 3].wrapping_add(2);
    assert!(matches!(
        prove(&over, &release, &map(), &policy(1)),
        Err(ProofError::OverBound { ref tensor, element: 3, .. }) if tensor == "q8"
    ));
    let mut scale = release.clone();
    scale[HEADER + 34 + 1] ^= 0x01;
    assert_eq!(
        prove(&scale, &release, &map(), &policy(1)),
        Err(ProofError::ExactByte {
            offset: (HEADER + 34 + 1) as u64
        })
    );
    let mut header = release.clone();
    header[3] ^= 0x80;
    assert_eq!(
        prove(&header, &release, &map(), &policy(1)),
        Err(ProofError::ExactByte { offset: 3 })
    );
    // Without a step bound the values of a block stay (a float bound covers its scale only).
    let mut moved = release.clone();
    moved[HEADER + 2] = moved[HEADER + 2].wrapping_add(1);
    assert!(matches!(
        prove(&moved, &release, &map(), &scale_bound(1.0)),
        Err(ProofError::OverBound {
            error: 1.0,
            bound: 0.0,
            ..
        })
    ));
    // A moved scale needs a float bound that every value of its block stays within.
    let mut scaled = release.clone();
    scaled[HEADER] = 0x01; // d = 1.000977 instead of 1.0
    assert!(matches!(
        prove(&scaled, &release, &map(), &policy(1)),
        Err(ProofError::ExactByte { .. })
    ));
    assert!(matches!(
        prove(&scaled, &release, &map(), &scale_bound(1e-3)),
        Err(ProofError::OverBound { ref tensor, .. }) if tensor == "q8"
    ));
    assert!(prove(&scaled, &release, &map(), &scale_bound(0.2)).is_ok());
}

fn named(name: &'static str, dtype: DType, elements: u64, offset: u64) -> Region<'static> {
    let len = elements * dtype.layout().unit_bytes();
    tensor(name, dtype, elements, offset, len)
}

fn map_of(regions: Vec<Region<'static>>) -> ModelMap<'static> {
    ModelMap {
        format: Format::Onnx,
        file_len: regions.last().map_or(0, Region::end),
        regions,
        external: Vec::new(),
        unmapped_tensors: Vec::new(),
        declared: Declared::default(),
    }
}

#[test]
fn counterparts_by_name_and_occurrence_then_by_shape_in_order() {
    use crate::lossy::counterparts::counterparts;
    let base = map_of(vec![
        named("dup", DType::F32, 64, 0),
        named("dup", DType::F32, 128, 256),
        named("old_name", DType::I8, 64, 768),
        named("a", DType::F32, 64, 832),
    ]);
    let release = map_of(vec![
        named("a", DType::F32, 32, 0),
        named("dup", DType::F32, 64, 128),
        named("dup", DType::F32, 128, 384),
        named("new_name", DType::I8, 64, 896),
    ]);
    let pairs: Vec<(u64, u64)> = counterparts(&base, &release)
        .into_iter()
        .map(|(new, old)| (new.offset, old.offset))
        .collect();
    // `a` changed shape and has no counterpart; each `dup` meets its own; the renamed int8
    // tensor meets the only spare tensor of its type and shape.
    assert_eq!(pairs, [(128, 0), (384, 256), (896, 768)]);
}
