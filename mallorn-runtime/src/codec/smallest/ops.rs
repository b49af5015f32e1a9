//! The operations of a smallest-codec chunk and how their headers are coded. Operations come
//! in output order; each produces the next bytes of the result:
//!
//! | kind | produces |
//! |---|---|
//! | `CopyBase { len, offset }` | `len` bytes copied from the base at `offset` |
//! | `CopyResult { len, distance }` | `len` bytes copied from `distance` bytes back in the result |
//! | `Literal { layout, count }` | `count` elements coded without reference |
//! | `Aligned { layout, residual, count, offset }` | `count` elements coded as residuals against the base's elements at `offset` |
//! | `Lz { len }` | `len` opaque bytes coded LZMA-style (see [`super::lz`]) |
//!
//! Base offsets are coded relative to the base cursor (the end of the previous operation
//! that read the base; a chunk starts with the cursor at its own output offset, the right
//! guess when base and result share a layout).

use super::model::Model;
use super::primitives::{gamma, signed_gamma, tree};
use crate::codec::layout::LayoutId;
use crate::codec::range::Coder;

/// Operation kinds, as coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OpKind {
    /// Copy from the base.
    CopyBase = 0,
    /// Copy from the result written so far.
    CopyResult = 1,
    /// Elements without reference.
    Literal = 2,
    /// Elements as residuals against the base.
    Aligned = 3,
    /// Opaque bytes coded LZMA-style.
    Lz = 4,
}

impl OpKind {
    const fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            0 => Some(Self::CopyBase),
            1 => Some(Self::CopyResult),
            2 => Some(Self::Literal),
            3 => Some(Self::Aligned),
            4 => Some(Self::Lz),
            _ => None,
        }
    }
}

/// How an aligned operation's values relate to the base's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Residual {
    /// The difference in the value's own domain (order-preserving for floats).
    #[default]
    Sub,
    /// Byte-wise XOR.
    Xor,
    /// The difference from the base value multiplied by a factor (the `f32` bits given):
    /// what requantisation does to bias and scale vectors when an activation scale moves.
    Scaled(u32),
}

impl Residual {
    fn code(self) -> u32 {
        match self {
            Residual::Sub => 0,
            Residual::Xor => 1,
            Residual::Scaled(_) => 2,
        }
    }
}

/// One decoded operation header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpHeader {
    /// What the operation does.
    pub kind: OpKind,
    /// Bytes for copies, elements for literal and aligned operations (never 0).
    pub len: u64,
    /// Base offset delta from the cursor (copies from the base, aligned operations).
    pub base_delta: i64,
    /// Distance back into the result (copies from the result).
    pub distance: u64,
    /// Element layout (literal and aligned operations).
    pub layout: LayoutId,
    /// How residuals are taken (aligned operations).
    pub residual: Residual,
}

impl OpHeader {
    /// A header with every field at its neutral value, for the decoder to fill in.
    pub const fn blank() -> Self {
        Self {
            kind: OpKind::CopyBase,
            len: 1,
            base_delta: 0,
            distance: 1,
            layout: LayoutId::Bytes,
            residual: Residual::Sub,
        }
    }
}

/// Op-header integer banks.
const LEN_COPY_BASE: usize = 0;
const BASE_OFFSET: usize = 1;
const DISTANCE: usize = 2;
const LEN_COPY_RESULT: usize = 3;
const LEN_LITERAL: usize = 4;
const LEN_ALIGNED: usize = 5;
const LEN_LZ: usize = 6;

/// Why an operation header is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// An integer's magnitude class is out of range.
    BadInteger,
    /// The layout id is unknown.
    UnknownLayout,
    /// The operation kind is unknown, or the profile lacks it.
    UnknownKind,
}

/// The context of an operation's kind: the previous kind (`OpStream::START_KIND` at a
/// chunk's start), folded to fit `contexts`.
fn kind_context(contexts: usize, prev_kind: u8) -> usize {
    match (contexts, prev_kind) {
        (6, k) => usize::from(k.min(5)),
        (_, k) if k == OpKind::CopyResult as u8 => 1,
        (_, k) if k == OpKind::Literal as u8 => 2,
        _ => 0,
    }
}

/// Codes an operation header. `prev_kind` is the previous operation's kind
/// (`OpStream::START_KIND` at the start of a chunk); `last_distance` enables the
/// repeat-distance shortcut.
// A 5-bit tree codes a layout id below 32.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn code_header<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    prev_kind: u8,
    last_distance: u64,
    op: &OpHeader,
) -> Result<OpHeader, HeaderError> {
    let modelled = m.params.mantissa_modelled;
    let o = m.o;
    let kind = OpKind::from_bits(tree(
        c,
        m.p,
        o.op_kind + kind_context(m.params.kind_contexts, prev_kind) * 8,
        3,
        op.kind as u32,
    ))
    .filter(|&k| k != OpKind::Lz || m.params.lz)
    .ok_or(HeaderError::UnknownKind)?;
    let int = |c: &mut C, p: &mut [crate::codec::range::Prob], bank: usize, v: u64| {
        gamma(c, p, o.gamma[bank], modelled, v).ok_or(HeaderError::BadInteger)
    };
    let mut out = OpHeader {
        kind,
        ..OpHeader::blank()
    };
    match kind {
        OpKind::Lz => {
            out.len = int(c, m.p, LEN_LZ, op.len.wrapping_sub(1))? + 1;
        }
        OpKind::CopyBase => {
            out.len = int(c, m.p, LEN_COPY_BASE, op.len.wrapping_sub(1))? + 1;
            out.base_delta = signed_gamma(c, m.p, o.gamma[BASE_OFFSET], modelled, op.base_delta)
                .ok_or(HeaderError::BadInteger)?;
        }
        OpKind::CopyResult => {
            let rep = c.bit(&mut m.p[o.rep], u32::from(op.distance == last_distance));
            out.distance = if rep == 1 {
                last_distance
            } else {
                int(c, m.p, DISTANCE, op.distance.wrapping_sub(1))? + 1
            };
            out.len = int(c, m.p, LEN_COPY_RESULT, op.len.wrapping_sub(1))? + 1;
        }
        OpKind::Literal | OpKind::Aligned => {
            let id = tree(c, m.p, o.layout, 5, op.layout as u32);
            out.layout = LayoutId::from_u8(id as u8).ok_or(HeaderError::UnknownLayout)?;
            let bank = if kind == OpKind::Literal {
                LEN_LITERAL
            } else {
                LEN_ALIGNED
            };
            if kind == OpKind::Aligned {
                if out.layout != LayoutId::Bytes {
                    let ctx = o.mode + 4 * usize::from(out.layout.fields().len() > 1);
                    out.residual = match tree(c, m.p, ctx, 2, op.residual.code()) {
                        0 => Residual::Sub,
                        1 => Residual::Xor,
                        2 => {
                            let factor = match op.residual {
                                Residual::Scaled(f) => f,
                                _ => 0,
                            };
                            let high = c.direct(factor >> 16, 16);
                            let low = c.direct(factor & 0xffff, 16);
                            Residual::Scaled((high << 16) | low)
                        }
                        _ => return Err(HeaderError::UnknownKind),
                    };
                }
                out.base_delta =
                    signed_gamma(c, m.p, o.gamma[BASE_OFFSET], modelled, op.base_delta)
                        .ok_or(HeaderError::BadInteger)?;
            }
            out.len = int(c, m.p, bank, op.len.wrapping_sub(1))? + 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::smallest::Profile;
    use crate::codec::smallest::model::plan;

    /// Every previous kind (and a chunk's start) picks a tree inside the op-kind bank, so
    /// no profile's kind contexts spill into the banks that follow it.
    #[test]
    fn kind_contexts_stay_in_their_bank() {
        for profile in Profile::ALL {
            let params = profile.params();
            let o = plan(profile);
            for prev_kind in 0..=crate::codec::op::OpStream::START_KIND {
                let context = kind_context(params.kind_contexts, prev_kind);
                assert!(context < params.kind_contexts, "{profile:?} {prev_kind}");
                assert!(
                    o.op_kind + context * 8 + 8 <= o.layout,
                    "{profile:?} {prev_kind}"
                );
            }
        }
    }
}
