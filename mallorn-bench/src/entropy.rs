//! The order-0 entropy of a plan's byte planes: what the naive tensor-aware design (residuals
//! split into byte planes, each coded with a static order-0 code) could reach at best. The
//! ratio of Mallorn's payload to it shows how much the adaptive context models add.

use std::collections::HashMap;

use mallorn_runtime::codec::layout::FieldKind;
use mallorn_runtime::codec::op::Op;

/// Plane: (aligned, field kind, byte index within the value).
type Plane = (bool, u8, u8);

fn kind_code(kind: FieldKind) -> u8 {
    kind as u8
}

/// Order-0 entropy in bytes of the plan's planes: literal values as they are, aligned values
/// as residuals (XOR for floats, wrap-around subtraction for integers), each byte position of
/// each field kind its own plane, pooled across the file. Copies cost nothing.
pub fn order0_bytes(base: &[u8], target: &[u8], ops: &[Op]) -> f64 {
    let mut hist: HashMap<Plane, [u64; 256]> = HashMap::new();
    let mut pos = 0usize;
    for op in ops {
        let len = op.output_len() as usize;
        let (layout, base_at) = match *op {
            Op::Literal { layout, .. } => (Some(layout), None),
            Op::Aligned { layout, offset, .. } => (Some(layout), Some(offset as usize)),
            _ => (None, None),
        };
        if let Some(layout) = layout {
            let mut at = 0usize;
            while at < len {
                for field in layout.fields() {
                    let size = field.kind.size();
                    for _ in 0..field.count {
                        let new = &target[pos + at..pos + at + size];
                        let mut value = [0u8; 8];
                        value[..size].copy_from_slice(new);
                        if let Some(b) = base_at {
                            let old = &base[b + at..b + at + size];
                            if field.kind.is_float() {
                                for (v, o) in value.iter_mut().zip(old) {
                                    *v ^= o;
                                }
                            } else {
                                let mut n = [0u8; 8];
                                let mut o = [0u8; 8];
                                n[..size].copy_from_slice(new);
                                o[..size].copy_from_slice(old);
                                let d = u64::from_le_bytes(n).wrapping_sub(u64::from_le_bytes(o));
                                value = d.to_le_bytes();
                            }
                        }
                        for (i, byte) in value[..size].iter().enumerate() {
                            hist.entry((base_at.is_some(), kind_code(field.kind), i as u8))
                                .or_insert([0; 256])[usize::from(*byte)] += 1;
                        }
                        at += size;
                    }
                }
            }
        }
        pos += len;
    }
    hist.values()
        .map(|h| {
            let n: u64 = h.iter().sum();
            h.iter()
                .filter(|&&c| c > 0)
                .map(|&c| -(c as f64) * (c as f64 / n as f64).log2())
                .sum::<f64>()
        })
        .sum::<f64>()
        / 8.0
}
