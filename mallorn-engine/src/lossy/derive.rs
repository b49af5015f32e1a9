//! Deriving a release's shipped image from the previous release's shipped image:
//! `shipped(n) = rule(release(n), shipped(n-1))`, element by element, so every device on a
//! release holds the same bytes whichever bundle or full image brought it there.

use mallorn_manifest::LossyPolicy;

use crate::lossy::counterparts::counterparts;
use crate::lossy::element::{shipped_float, shipped_steps};
use crate::lossy::kinds::{
    LossyKind, block_error, block_scale, lossy_kind, quant_count, quant_value, read_le,
    set_quant_value, write_le,
};
use crate::model::ModelMap;

/// The shipped image of `release` (mapped as `release_map`) given the previous shipped
/// image `base` (mapped as `base_map`). Bytes outside lossy tensors, and tensors without a
/// counterpart in the base (see [`counterparts`]), are the release's.
pub(crate) fn derive(
    base: &[u8],
    base_map: &ModelMap<'_>,
    release: &[u8],
    release_map: &ModelMap<'_>,
    policy: &LossyPolicy,
) -> Vec<u8> {
    let mut shipped = release.to_vec();
    for (tensor, old) in counterparts(base_map, release_map) {
        let names =
            std::iter::once(tensor.name.as_ref()).chain(tensor.aliases.iter().map(AsRef::as_ref));
        let Some(kind) = lossy_kind(tensor, policy.bound_for(names)) else {
            continue;
        };
        let range = tensor.offset as usize..(tensor.offset + tensor.len) as usize;
        derive_tensor(kind, old.bytes(base), &mut shipped[range]);
    }
    shipped
}

/// Rewrites `out` (holding the release's bytes of one tensor) element by element.
fn derive_tensor(kind: LossyKind, base: &[u8], out: &mut [u8]) {
    let unit = kind.unit();
    for (old, new) in base.chunks_exact(unit).zip(out.chunks_exact_mut(unit)) {
        match kind {
            LossyKind::Floats {
                format,
                max_abs_error,
            } => {
                let x = shipped_float(format, read_le(old), read_le(new), max_abs_error);
                write_le(new, x);
            }
            LossyKind::Bytes { signed, steps, .. } => {
                let b = quant_value(old, 0, false, signed);
                let r = quant_value(new, 0, false, signed);
                set_quant_value(new, 0, false, shipped_steps(b, r, steps));
            }
            LossyKind::Blocks {
                quants,
                nibbles,
                zero,
                steps,
                scale_error,
                ..
            } => derive_block(old, new, quants, nibbles, zero, steps, scale_error),
        }
    }
}

/// One GGML block: values first (the base's within `steps`), then the scale (the base's when
/// every value stays within `scale_error` of the release's).
fn derive_block(
    old: &[u8],
    new: &mut [u8],
    quants: usize,
    nibbles: bool,
    zero: i32,
    steps: u32,
    scale_error: Option<f64>,
) {
    let count = quant_count(new.len() - quants, nibbles);
    let value = |bytes: &[u8], j| quant_value(&bytes[quants..], j, nibbles, true);
    let shipped = |new: &[u8], j| shipped_steps(value(old, j), value(new, j), steps);
    // Decided on the release's values before any is rewritten.
    let keep_scale = old[..2] != new[..2]
        && scale_error.is_some_and(|bound| {
            let (d_old, d_release) = (block_scale(old), block_scale(new));
            (0..count).all(|j| {
                block_error(d_old, shipped(new, j), d_release, value(new, j), zero) <= bound
            })
        });
    for j in 0..count {
        // Only value j's bits change, so later values still read the release's.
        let q = shipped(new, j);
        set_quant_value(&mut new[quants..], j, nibbles, q);
    }
    if keep_scale {
        new[..2].copy_from_slice(&old[..2]);
    }
}
