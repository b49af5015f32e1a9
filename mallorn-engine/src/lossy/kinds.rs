//! Which tensors may ship within a bound, and how their bytes are read: the one place the
//! derivation and the proof learn a tensor's lossy element kind from.

use mallorn_manifest::TensorBound;

use crate::lossy::element::Float;
use crate::model::{DType, ElementLayout, FloatFormat, GgmlType, Quantization, TensorRegion};

/// A tensor whose elements may move within a bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LossyKind {
    /// Little-endian floats, each within `max_abs_error`.
    Floats { format: Float, max_abs_error: f64 },
    /// One quantised value per byte, each within `steps` steps; a step is at most `scale`.
    Bytes {
        signed: bool,
        steps: u32,
        scale: f64,
    },
    /// GGML blocks of `block` bytes: an f16 scale `d` at offset 0, exact bytes up to `quants`
    /// (Q4_1's minimum), then quantised values, one per byte or two per byte (`nibbles`,
    /// 0..=15), each worth `d * (q - zero)` (+ the minimum). Values move within `steps`
    /// steps (0: they stay); with `scale_error`, `d` may keep the previous image's value
    /// when every value of the block then stays within it of the release's.
    Blocks {
        block: usize,
        quants: usize,
        nibbles: bool,
        zero: i32,
        steps: u32,
        scale_error: Option<f64>,
    },
}

impl LossyKind {
    /// Bytes per element (floats), per value (bytes) or per block.
    pub(crate) fn unit(self) -> usize {
        match self {
            LossyKind::Floats { format, .. } => format.bits() as usize / 8,
            LossyKind::Bytes { .. } => 1,
            LossyKind::Blocks { block, .. } => block,
        }
    }
}

/// Tensors with fewer elements ship exactly: scalars and tiny constants (exponents, epsilons,
/// thresholds) steer whole computations (silero-vad's `Pow(x, 2.0)` turns to NaN when its
/// exponent moves by 1e-5), and bounding them saves nothing.
pub const MIN_LOSSY_ELEMENTS: u64 = 64;

/// The lossy kind of `tensor` under `bound`, or `None` when it ships exactly: the bound does
/// not cover its element type, it has fewer than [`MIN_LOSSY_ELEMENTS`] elements, it is
/// sparse, or its quantisation is not a plain scale.
pub(crate) fn lossy_kind(tensor: &TensorRegion<'_>, bound: TensorBound) -> Option<LossyKind> {
    let elements = tensor
        .shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .unwrap_or(u64::MAX);
    if tensor.sparse || elements < MIN_LOSSY_ELEMENTS {
        return None;
    }
    match (tensor.layout, tensor.dtype) {
        (ElementLayout::Float(format), _) => {
            let format = match format {
                FloatFormat::F32 => Float::F32,
                FloatFormat::F16 => Float::F16,
                FloatFormat::BF16 => Float::BF16,
                _ => return None,
            };
            Some(LossyKind::Floats {
                format,
                max_abs_error: bound.max_abs_error?,
            })
        }
        (ElementLayout::Int { bytes: 1, signed }, _) => {
            let Some(Quantization::Affine { scale, .. }) = &tensor.quant else {
                return None; // raw bytes, not quantised weights
            };
            let scale = scale.iter().map(|s| f64::from(s.abs())).fold(0.0, f64::max);
            (scale.is_finite() && scale > 0.0).then_some(LossyKind::Bytes {
                signed,
                steps: bound.max_steps?,
                scale,
            })
        }
        (ElementLayout::Block(layout), DType::Ggml(ggml)) => {
            let (quants, nibbles, zero) = match ggml {
                GgmlType::Q8_0 => (2, false, 0),
                GgmlType::Q4_0 => (2, true, 8),
                GgmlType::Q4_1 => (4, true, 0),
                _ => return None,
            };
            if bound.is_exact() {
                return None;
            }
            Some(LossyKind::Blocks {
                block: layout.size_bytes as usize,
                quants,
                nibbles,
                zero,
                steps: bound.max_steps.unwrap_or(0),
                scale_error: bound.max_abs_error,
            })
        }
        _ => None,
    }
}

/// Reads the little-endian unsigned value of `bytes` (at most 8).
pub(crate) fn read_le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |acc, &b| (acc << 8) | u64::from(b))
}

/// Writes the low `out.len()` bytes of `value`, little-endian.
pub(crate) fn write_le(out: &mut [u8], value: u64) {
    for (i, b) in out.iter_mut().enumerate() {
        *b = (value >> (8 * i)) as u8;
    }
}

/// Quantised value `j` of a run of value bytes: two per byte (`nibbles`, low first, 0..=15)
/// or one per byte (`signed`: i8).
pub(crate) fn quant_value(bytes: &[u8], j: usize, nibbles: bool, signed: bool) -> i32 {
    if nibbles {
        let byte = bytes[j / 2];
        i32::from(if j % 2 == 0 { byte & 0x0f } else { byte >> 4 })
    } else if signed {
        i32::from(bytes[j] as i8)
    } else {
        i32::from(bytes[j])
    }
}

/// Stores quantised value `j` (see [`quant_value`]).
pub(crate) fn set_quant_value(bytes: &mut [u8], j: usize, nibbles: bool, value: i32) {
    if nibbles {
        let byte = &mut bytes[j / 2];
        let v = value as u8 & 0x0f;
        *byte = if j % 2 == 0 {
            (*byte & 0xf0) | v
        } else {
            (*byte & 0x0f) | (v << 4)
        };
    } else {
        bytes[j] = value as u8;
    }
}

/// The f16 scale `d` at the front of a GGML block.
pub(crate) fn block_scale(block: &[u8]) -> f64 {
    Float::F16.value(read_le(&block[..2]))
}

/// How far value `q_s` under scale `d_s` is from `q_r` under `d_r` (`zero`: the block type's
/// quantised zero; a Q4_1 minimum is the same on both sides and cancels).
pub(crate) fn block_error(d_s: f64, q_s: i32, d_r: f64, q_r: i32, zero: i32) -> f64 {
    (d_s * f64::from(q_s - zero) - d_r * f64::from(q_r - zero)).abs()
}

/// Values in a block's value bytes.
pub(crate) fn quant_count(len: usize, nibbles: bool) -> usize {
    if nibbles { len * 2 } else { len }
}
