//! Deriving a release's shipped image from the previous release's shipped image:
//! `shipped(n) = rule(release(n), shipped(n-1))`, element by element, so every device on a
//! release holds the same bytes whichever bundle or full image brought it there.

use mallorn_manifest::LossyPolicy;

use crate::lossy::counterparts::counterparts;
use crate::lossy::element::{shipped_float, shipped_steps};
use crate::lossy::kinds::{
    LossyKind, lossy_kind, quant_count, quant_value, read_le, set_quant_value, write_le,
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
                steps,
                ..
            } => {
                let (old, new) = (&old[quants..], &mut new[quants..]);
                for j in 0..quant_count(new.len(), nibbles) {
                    let b = quant_value(old, j, nibbles, true);
                    let r = quant_value(new, j, nibbles, true);
                    set_quant_value(new, j, nibbles, shipped_steps(b, r, steps));
                }
            }
        }
    }
}
