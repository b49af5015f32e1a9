//! Tracing of a payload as it decodes (host tools, `std` feature): which chunks, codecs and
//! operations produced which result bytes from which payload bytes. `cargo mallorn inspect`
//! turns it into bytes per operation kind and per tensor.

use crate::codec::CodecId;
use crate::codec::layout::LayoutId;
use crate::codec::smallest::ops::OpKind;

/// One chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkTrace {
    /// The chunk's codec.
    pub codec: CodecId,
    /// First result byte it produced.
    pub output_start: u64,
    /// Result bytes it produced.
    pub output_len: u64,
    /// Payload offset of its framing.
    pub payload_start: u64,
    /// Payload bytes it took, framing included.
    pub payload_len: u64,
}

/// One operation of a smallest-codec chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpTrace {
    /// What the operation did.
    pub kind: OpKind,
    /// Its element layout (literal and aligned operations).
    pub layout: LayoutId,
    /// First result byte it produced.
    pub output_start: u64,
    /// Result bytes it produced.
    pub output_len: u64,
    /// Payload offset where its header started.
    pub payload_start: u64,
    /// Payload offset where it ended (range coding makes the split approximate to a byte or
    /// two).
    pub payload_end: u64,
}

/// Everything traced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// Chunks in order.
    pub chunks: Vec<ChunkTrace>,
    /// Operations of smallest-codec chunks, in order.
    pub ops: Vec<OpTrace>,
}
