//! Walks the values of a literal or aligned operation field by field and codes each with the
//! coder for its kind. Shared by encoder and decoder, so both visit values in the same order
//! with the same contexts.

use super::blocks::BlockSide;
use super::model::Model;
use super::ops::Residual;
use super::scaling::predict;
use super::values::{
    Corrupt, FieldState, QuantContext, glue_aligned, glue_literal, int8_aligned, int8_literal,
    nibble_aligned, nibbles_literal, number_aligned, number_literal, to_ordered, xor_aligned,
};
use crate::codec::layout::{Field, FieldKind, LayoutId};
use crate::codec::range::Coder;

/// Most fields any layout has.
pub(crate) const MAX_FIELDS: usize = 4;

/// Position inside a literal or aligned operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpCursor {
    /// The layout's fields (looked up once per operation).
    fields: &'static [Field],
    pub aligned: bool,
    pub residual: Residual,
    pub elements_left: u64,
    field: u8,
    in_field: u16,
    /// The element's scale state (see [`QuantContext::scale`]).
    scale: usize,
    /// Changed quantised values so far in this element.
    changed: usize,
    /// What the element's byte fields tell its nibbles (GGUF Q5 and K-quant blocks).
    side: BlockSide,
}

impl OpCursor {
    /// A cursor at the first value of `elements` elements.
    pub(crate) fn new(layout: LayoutId, aligned: bool, residual: Residual, elements: u64) -> Self {
        Self {
            fields: layout.fields(),
            aligned,
            residual,
            elements_left: elements,
            field: 0,
            in_field: 0,
            scale: 0,
            changed: 0,
            side: BlockSide::new(layout),
        }
    }

    /// Kind of the next value.
    #[inline(always)]
    pub(crate) fn kind(&self) -> FieldKind {
        self.fields[usize::from(self.field)].kind
    }

    /// Context for a quantised value: the element's scale state, and what changed before it
    /// (in a block: how many of its values; outside blocks: the recent history).
    fn quant_context(&self, history: u8) -> QuantContext {
        let in_block = self.fields.len() > 1;
        let prior = if in_block {
            self.changed.min(3)
        } else {
            usize::from(history & 3)
        };
        QuantContext {
            scale: self.scale,
            prior,
        }
    }

    /// Whether every value has been coded.
    #[inline(always)]
    pub(crate) fn done(&self) -> bool {
        self.elements_left == 0
    }

    #[inline(always)]
    fn advance(&mut self) {
        let fields = self.fields;
        let field = &fields[usize::from(self.field)];
        self.in_field += 1;
        if self.in_field == field.count {
            self.in_field = 0;
            self.field += 1;
            if usize::from(self.field) == fields.len() {
                self.field = 0;
                self.elements_left -= 1;
                self.scale = 0;
                self.changed = 0;
                self.side.reset();
            }
        }
    }
}

/// Contexts that persist across operations within a chunk.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ValueContext {
    fields: [FieldState; MAX_FIELDS],
    glue_history: u8,
    prev_byte: u8,
}

impl ValueContext {
    /// Per-field contexts restart with each operation (a new tensor); the opaque-byte
    /// history carries on.
    pub(crate) fn start_op(&mut self) {
        self.fields = [FieldState::default(); MAX_FIELDS];
    }

    /// The last byte written.
    pub(crate) fn prev_byte(&self) -> u8 {
        self.prev_byte
    }

    /// Notes the last byte written, the context of the next opaque literal.
    pub(crate) fn set_prev_byte(&mut self, byte: u8) {
        self.prev_byte = byte;
    }
}

/// A byte of two 4-bit values as per-nibble residuals against `old`, low nibble first: each
/// in the block's context `q` (its changes so far counting the first nibble's), or in the
/// context the element's byte fields give it. Returns the byte and the block's changes.
#[inline]
fn nibble_pair<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    cur: &mut OpCursor,
    q: QuantContext,
    old: u8,
    value: u8,
) -> (u8, usize) {
    let i = usize::from(cur.in_field);
    let mut out = 0u8;
    let mut prior = q.prior;
    for shift in [0u32, 4] {
        let o = (old >> shift) & 15;
        let block = QuantContext {
            scale: q.scale,
            prior,
        };
        let nq = cur.side.context(i, shift, prior).unwrap_or(block);
        let n = nibble_aligned(c, m, nq, o, (value >> shift) & 15);
        let changed = n != o;
        prior = (prior + usize::from(changed)).min(3);
        cur.side.note(i, shift, changed);
        out |= n << shift;
    }
    (out, prior)
}

/// Codes the next value of `cur` (bits in little-endian order; `old` is the aligned base
/// value, ignored in literal mode) and advances the cursor. `pos` is the output offset of
/// the value's first byte.
#[inline]
// One-byte kinds code the low byte of `old`/`value`; `prev_byte` is the top byte of `out`.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn code_value<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    cur: &mut OpCursor,
    ctx: &mut ValueContext,
    pos: u64,
    old: u64,
    value: u64,
) -> Result<u64, Corrupt> {
    let kind = cur.kind();
    let st = &mut ctx.fields[usize::from(cur.field)];
    // A scaled residual is taken against the base value times the factor.
    let old = match cur.residual {
        Residual::Scaled(factor) if cur.aligned => predict(kind, old, factor),
        _ => old,
    };
    let out = match (kind, cur.aligned, cur.residual) {
        (FieldKind::U8, false, _) => u64::from(glue_literal(c, m, pos, ctx.prev_byte, value as u8)),
        (FieldKind::U8, true, _) => {
            let out = glue_aligned(c, m, &mut ctx.glue_history, pos, old as u8, value as u8);
            cur.side.record(old as u8, out);
            u64::from(out)
        }
        (_, true, Residual::Xor) => xor_aligned(c, m, st, kind.size(), old, value),
        (FieldKind::I8, false, _) => u64::from(int8_literal(c, m, st, value as u8)),
        (FieldKind::I8, true, _) => {
            let q = cur.quant_context(st.history);
            let out = int8_aligned(c, m, q, old as u8, value as u8)?;
            let changed = out != old as u8;
            st.history = (st.history << 1) | u8::from(changed);
            cur.changed += usize::from(changed);
            u64::from(out)
        }
        (FieldKind::Nibbles, false, _) => u64::from(nibbles_literal(c, m, st, value as u8)),
        (FieldKind::Nibbles, true, _) => {
            let q = cur.quant_context(st.history);
            let (out, prior) = nibble_pair(c, m, cur, q, old as u8, value as u8);
            st.history = (st.history << 1) | u8::from(prior != q.prior);
            cur.changed = prior;
            u64::from(out)
        }
        (_, false, _) => number_literal(c, m, kind, st, value)?,
        (_, true, _) => {
            let out = number_aligned(c, m, kind, st, old, value)?;
            if kind.is_float() && cur.field == 0 && cur.in_field == 0 {
                // A block's leading scale tells its quantised values how the scale moved.
                let d = to_ordered(kind, out).wrapping_sub(to_ordered(kind, old));
                let shift = 64 - kind.bits();
                cur.scale = QuantContext::scale_state((d << shift).cast_signed() >> shift);
            }
            out
        }
    };
    ctx.prev_byte = (out >> (8 * (kind.size() - 1))) as u8;
    cur.advance();
    Ok(out)
}
