//! The proof that a shipped image keeps its model's bounds: every element of every tensor is
//! checked against the release file, every other byte must be the release's. It shares only
//! the element reading with the derivation ([`crate::lossy::kinds`]), not its search.

use mallorn_manifest::LossyPolicy;
use serde::Serialize;

use crate::lossy::element::float_within;
use crate::lossy::kinds::{
    LossyKind, block_error, block_scale, lossy_kind, quant_count, quant_value, read_le,
};
use crate::model::{ModelMap, Region};

/// How far a shipped image is from its release file, as the proof measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Fidelity {
    /// Largest absolute error of any weight, in the model's units: float differences, and
    /// quantised steps times their scale (the block's `d`, or the largest of a tensor's
    /// scales: an upper bound for per-channel tensors).
    pub max_abs_error: f64,
    /// Largest change of a quantised value, in steps.
    pub max_steps: u32,
    /// Elements under a bound.
    pub bounded_elements: u64,
    /// Of those, the elements that differ from the release.
    pub changed_elements: u64,
}

impl Fidelity {
    /// The header's error bound: `max_abs_error` rounded up to an `f32`, or `None` when the
    /// shipped image is the release file itself.
    pub fn header_bound(&self) -> Option<f32> {
        if self.changed_elements == 0 {
            return None;
        }
        let mut bound = self.max_abs_error as f32;
        if f64::from(bound) < self.max_abs_error {
            bound = bound.next_up();
        }
        // A change of a value whose scale is 0 moves no weight; the header still says lossy.
        Some(bound.max(f32::MIN_POSITIVE))
    }
}

/// Where a shipped image breaks its bounds.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProofError {
    /// The lengths differ.
    #[error("the shipped image has {shipped} bytes, the release file {release}")]
    Length {
        /// Shipped image length.
        shipped: u64,
        /// Release file length.
        release: u64,
    },
    /// A byte outside every bounded element differs.
    #[error("byte {offset} differs from the release file outside every bounded tensor element")]
    ExactByte {
        /// Offset in the file.
        offset: u64,
    },
    /// An element is further from the release than its bound.
    #[error(
        "element {element} of tensor `{tensor}` is {error} away from the release, over its bound {bound}"
    )]
    OverBound {
        /// Tensor name.
        tensor: String,
        /// Element (or quantised value) index in the tensor.
        element: u64,
        /// How far it is (absolute error, or steps for quantised values).
        error: f64,
        /// The bound.
        bound: f64,
    },
}

/// Checks `shipped` against `release` (mapped as `map`) under `policy`.
pub(crate) fn prove(
    shipped: &[u8],
    release: &[u8],
    map: &ModelMap<'_>,
    policy: &LossyPolicy,
) -> Result<Fidelity, ProofError> {
    if shipped.len() != release.len() {
        return Err(ProofError::Length {
            shipped: shipped.len() as u64,
            release: release.len() as u64,
        });
    }
    let mut fidelity = Fidelity::default();
    for region in &map.regions {
        let range = region.offset() as usize..region.end() as usize;
        let (s, r) = (&shipped[range.clone()], &release[range]);
        let kind = match region {
            Region::Tensor(t) => {
                let names =
                    std::iter::once(t.name.as_ref()).chain(t.aliases.iter().map(AsRef::as_ref));
                lossy_kind(t, policy.bound_for(names)).map(|kind| (kind, t.name.as_ref()))
            }
            Region::Opaque { .. } => None,
        };
        match kind {
            Some((kind, name)) => prove_tensor(kind, name, region.offset(), s, r, &mut fidelity)?,
            None => exact(s, r, region.offset())?,
        }
    }
    Ok(fidelity)
}

fn exact(shipped: &[u8], release: &[u8], offset: u64) -> Result<(), ProofError> {
    match shipped.iter().zip(release).position(|(a, b)| a != b) {
        Some(at) => Err(ProofError::ExactByte {
            offset: offset + at as u64,
        }),
        None => Ok(()),
    }
}

fn prove_tensor(
    kind: LossyKind,
    tensor: &str,
    offset: u64,
    shipped: &[u8],
    release: &[u8],
    fidelity: &mut Fidelity,
) -> Result<(), ProofError> {
    let unit = kind.unit();
    let over = |element: usize, error: f64, bound: f64| ProofError::OverBound {
        tensor: tensor.to_owned(),
        element: element as u64,
        error,
        bound,
    };
    for (i, (s, r)) in shipped
        .chunks_exact(unit)
        .zip(release.chunks_exact(unit))
        .enumerate()
    {
        match kind {
            LossyKind::Floats {
                format,
                max_abs_error,
            } => {
                let (sv, rv) = (read_le(s), read_le(r));
                let error = (format.value(sv) - format.value(rv)).abs();
                if !float_within(format, sv, rv, max_abs_error) {
                    return Err(over(i, error, max_abs_error));
                }
                fidelity.note(sv != rv, if sv == rv { 0.0 } else { error }, 0);
            }
            LossyKind::Bytes {
                signed,
                steps,
                scale,
            } => {
                let delta =
                    quant_value(s, 0, false, signed).abs_diff(quant_value(r, 0, false, signed));
                if delta > steps {
                    return Err(over(i, f64::from(delta), f64::from(steps)));
                }
                fidelity.note(delta != 0, f64::from(delta) * scale, delta);
            }
            LossyKind::Blocks {
                quants,
                nibbles,
                zero,
                steps,
                scale_error,
                ..
            } => {
                let at = offset + (i * unit) as u64;
                // Every byte before the values is exact, but the scale under a float bound.
                let scale_moved = s[..2] != r[..2];
                let first_exact = if scale_error.is_some() { 2 } else { 0 };
                let exact_range = first_exact..quants;
                exact(
                    &s[exact_range.clone()],
                    &r[exact_range],
                    at + first_exact as u64,
                )?;
                let (d_s, d_r) = (block_scale(s), block_scale(r));
                let values = quant_count(unit - quants, nibbles);
                for j in 0..values {
                    let q_s = quant_value(&s[quants..], j, nibbles, true);
                    let q_r = quant_value(&r[quants..], j, nibbles, true);
                    let delta = q_s.abs_diff(q_r);
                    let element = i * values + j;
                    if delta > steps {
                        return Err(over(element, f64::from(delta), f64::from(steps)));
                    }
                    let error = block_error(d_s, q_s, d_r, q_r, zero);
                    if let (true, Some(bound)) = (scale_moved, scale_error) {
                        // NaN-safe: a NaN error is over any bound.
                        let within = error <= bound;
                        if !within {
                            return Err(over(element, error, bound));
                        }
                    }
                    fidelity.note(delta != 0 || scale_moved, error, delta);
                }
            }
        }
    }
    Ok(())
}

impl Fidelity {
    fn note(&mut self, changed: bool, error: f64, steps: u32) {
        self.bounded_elements += 1;
        self.changed_elements += u64::from(changed);
        self.max_abs_error = self.max_abs_error.max(error);
        self.max_steps = self.max_steps.max(steps);
    }
}
