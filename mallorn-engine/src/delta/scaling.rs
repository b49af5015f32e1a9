//! Estimates the factor of a scaled residual: when a whole vector of values was multiplied by
//! one number (a requantised model's bias and scale vectors), the median of new/old over the
//! elements finds it.

use mallorn_runtime::codec::layout::{FieldKind, LayoutId};

/// Fewest elements worth estimating from.
const MIN_SAMPLES: usize = 4;

/// The value of element `i` of a single-field `layout` as an `f64`, if usable as a ratio
/// denominator (finite, not near zero).
fn value(layout: LayoutId, bytes: &[u8], i: usize) -> Option<f64> {
    let kind = layout.fields().first()?.kind;
    let size = kind.size();
    let b = bytes.get(i * size..(i + 1) * size)?;
    let v = match kind {
        FieldKind::I8 => f64::from(b[0] as i8),
        FieldKind::I16 => f64::from(i16::from_le_bytes([b[0], b[1]])),
        FieldKind::I32 => f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        FieldKind::I64 => i64::from_le_bytes(b.try_into().ok()?) as f64,
        FieldKind::F32 => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        FieldKind::BF16 => f64::from(f32::from_bits(
            u32::from(u16::from_le_bytes([b[0], b[1]])) << 16,
        )),
        _ => return None,
    };
    v.is_finite().then_some(v)
}

/// The factor (as `f32` bits) by which `new` looks like `old` scaled, or `None` when the
/// layout has no scaled form or no single factor stands out.
pub fn estimate(layout: LayoutId, old: &[u8], new: &[u8]) -> Option<u32> {
    if layout.fields().len() != 1 {
        return None;
    }
    let kind = layout.fields()[0].kind;
    let floor = if kind.is_float() { 0.0 } else { 8.0 };
    let count = (old.len().min(new.len())) / kind.size();
    let mut ratios: Vec<f64> = (0..count)
        .filter_map(|i| {
            let o = value(layout, old, i)?;
            let n = value(layout, new, i)?;
            (o.abs() > floor && o != 0.0).then(|| n / o)
        })
        .filter(|r| r.is_finite() && *r > 0.0)
        .collect();
    if ratios.len() < MIN_SAMPLES {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2] as f32;
    (median.is_finite() && median > 0.0 && (median - 1.0).abs() > 1e-6).then_some(median.to_bits())
}
