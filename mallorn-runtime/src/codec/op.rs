//! The operations a chunk is planned as, and where an operation stream stands: the state
//! each operation header is coded against, which the encoders and the decoder step alike.
//!
//! [`Op`] is the plan the engine's planner builds and both encoders (fast and smallest) code;
//! [`OpStream`] is the context both directions of the smallest codec keep.

#[cfg(feature = "encode")]
use alloc::vec::Vec;

#[cfg(feature = "encode")]
use crate::codec::layout::LayoutId;
#[cfg(feature = "encode")]
use crate::codec::smallest::lz::LzItem;
#[cfg(feature = "encode")]
use crate::codec::smallest::ops::Residual;

/// One operation, as the encoder plans it.
#[cfg(feature = "encode")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Opaque bytes coded LZMA-style, as the planned items.
    Lz {
        /// The items, in output order.
        items: Vec<LzItem>,
    },
    /// Copy `len` bytes of the base from `offset`.
    CopyBase {
        /// Base offset.
        offset: u64,
        /// Bytes.
        len: u64,
    },
    /// Copy `len` bytes of the result from `distance` bytes back.
    CopyResult {
        /// Distance back from the current position (>= 1).
        distance: u64,
        /// Bytes.
        len: u64,
    },
    /// `count` elements of `layout` without reference.
    Literal {
        /// Element layout.
        layout: LayoutId,
        /// Elements.
        count: u64,
    },
    /// `count` elements of `layout` as residuals against the base at `offset`.
    Aligned {
        /// Element layout.
        layout: LayoutId,
        /// How residuals are taken.
        residual: Residual,
        /// Elements.
        count: u64,
        /// Base offset of the first element.
        offset: u64,
    },
}

#[cfg(feature = "encode")]
impl Op {
    /// Result bytes this operation produces.
    pub fn output_len(&self) -> u64 {
        match *self {
            Op::Lz { ref items } => items.iter().map(LzItem::len).sum(),
            Op::CopyBase { len, .. } | Op::CopyResult { len, .. } => len,
            Op::Literal { layout, count } | Op::Aligned { layout, count, .. } => {
                count * layout.element_size() as u64
            }
        }
    }
}

/// Where a chunk's operation stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpStream {
    /// The previous operation's kind ([`OpStream::START_KIND`] before the first).
    pub(crate) prev_kind: u8,
    /// The base offset the next base reference is coded against.
    pub(crate) base_cursor: u64,
    /// Distance of the last copy from the result (the repeat shortcut's distance).
    pub(crate) last_distance: u64,
}

impl OpStream {
    /// The "previous kind" of a chunk's first operation: no operation has it (kinds are
    /// 0..=4, `ops::OpKind`), so the first header is coded in a context of its own.
    pub(crate) const START_KIND: u8 = 5;

    /// The stream of a chunk whose output starts at `chunk_start`.
    pub(crate) const fn at(chunk_start: u64) -> Self {
        Self {
            prev_kind: Self::START_KIND,
            base_cursor: chunk_start,
            last_distance: 1,
        }
    }
}
