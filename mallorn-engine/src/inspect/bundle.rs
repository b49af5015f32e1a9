//! Bundle inspection: header fields, the chunk list (read from the framing alone), and, by
//! decoding the payload with the runtime's traced decoder, bytes per operation kind and per
//! tensor of the result.

use std::collections::BTreeMap;

use mallorn_runtime::apply::trace::{ChunkTrace, Trace};
use mallorn_runtime::codec::CodecId;
use mallorn_runtime::format::chunk::ChunkHeaderReader;
use mallorn_runtime::format::{BundleHeader, Flags, HEADER_LEN, SIGNED_BUNDLE_PREFIX};
use serde::Serialize;

use crate::bundle::ApplyError;
use crate::bundle::apply::decode_traced;
use crate::model::{Region, parse};

/// Operations of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindStats {
    /// Operations.
    pub ops: u64,
    /// Result bytes they produced.
    pub output_bytes: u64,
    /// Payload bytes they took (approximate to a byte per operation: range coding).
    pub payload_bytes: u64,
}

/// What one tensor of the result cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorStats {
    /// Tensor name (`(opaque)` for everything that is not tensor data).
    pub name: String,
    /// Bytes in the result.
    pub output_bytes: u64,
    /// Payload bytes attributed to it (operations spanning several regions are split in
    /// proportion to their output).
    pub payload_bytes: u64,
}

/// Everything `inspect` reports about a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct BundleReport {
    /// The header as decoded.
    #[serde(skip)]
    pub header: BundleHeader,
    /// Whether the bundle carries a signature (its validity is `verify`'s job).
    pub signed: bool,
    /// Chunk list from the framing.
    pub chunks: Vec<ChunkSummary>,
    /// Bytes per operation kind (snake_case names such as `aligned_i8`), when the payload was
    /// decoded.
    #[serde(rename = "operations")]
    pub by_kind: Option<BTreeMap<String, KindStats>>,
    /// Bytes per tensor of the result, when the payload was decoded and the result parses.
    pub tensors: Option<Vec<TensorStats>>,
}

/// One chunk's framing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChunkSummary {
    /// Codec name.
    pub codec: &'static str,
    /// Result bytes.
    pub output_bytes: u64,
    /// Payload bytes (framing included).
    pub payload_bytes: u64,
}

/// Inspects `bundle`. With `base` (or for a full-image bundle) the payload is decoded and
/// costed per operation kind and per tensor; otherwise only the framing is read.
pub fn inspect_bundle(bundle: &[u8], base: Option<&[u8]>) -> Result<BundleReport, ApplyError> {
    let (header_bytes, _) = bundle
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(ApplyError::TooShort { len: bundle.len() })?;
    let header = BundleHeader::parse(header_bytes)?;
    let payload = bundle
        .get(SIGNED_BUNDLE_PREFIX..)
        .ok_or(ApplyError::TooShort { len: bundle.len() })?;
    let signed = !header.flags.contains(Flags::UNSIGNED);
    let full_image = header.flags.contains(Flags::FULL_IMAGE);
    let decodable = base.is_some() || full_image;
    if !decodable {
        return Ok(BundleReport {
            header,
            signed,
            chunks: walk_chunks(payload),
            by_kind: None,
            tensors: None,
        });
    }
    let (result, trace) = decode_traced(&header, payload, base.unwrap_or(&[]))?;
    let chunks = trace.chunks.iter().map(summary).collect();
    let pieces = pieces(&trace);
    let by_kind = Some(by_kind(&pieces));
    let tensors = tensors(&result, &pieces);
    Ok(BundleReport {
        header,
        signed,
        chunks,
        by_kind,
        tensors,
    })
}

fn summary(c: &ChunkTrace) -> ChunkSummary {
    ChunkSummary {
        codec: c.codec.name(),
        output_bytes: c.output_len,
        payload_bytes: c.payload_len,
    }
}

/// Reads the chunk framing without decoding anything (stops at the first malformed frame).
fn walk_chunks(payload: &[u8]) -> Vec<ChunkSummary> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < payload.len() {
        let mut reader = ChunkHeaderReader::default();
        let Ok((n, Some(h))) = reader.push(&payload[at..]) else {
            break;
        };
        let Some(codec) = CodecId::from_u8(h.codec) else {
            break;
        };
        out.push(ChunkSummary {
            codec: codec.name(),
            output_bytes: h.output_len,
            payload_bytes: n as u64 + h.coded_len,
        });
        at = at
            .saturating_add(n)
            .saturating_add(usize::try_from(h.coded_len).unwrap_or(usize::MAX));
    }
    out
}

/// A traced chunk or operation: kind name, output start, output length, payload bytes.
type Piece = (String, u64, u64, u64);

/// Each traced chunk or operation as a [`Piece`]: smallest
/// chunks by their operations (the rest of the chunk, framing and coder flush, as "framing"),
/// other chunks whole.
fn pieces(trace: &Trace) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut ops = trace.ops.iter().peekable();
    for chunk in &trace.chunks {
        if chunk.codec != CodecId::Smallest {
            out.push((
                chunk.codec.name().to_string(),
                chunk.output_start,
                chunk.output_len,
                chunk.payload_len,
            ));
            continue;
        }
        let mut spent = 0;
        while let Some(op) =
            ops.next_if(|op| op.output_start < chunk.output_start + chunk.output_len)
        {
            let kind = op_name(&format!("{:?}", op.kind), &format!("{:?}", op.layout));
            let bytes = op.payload_end.saturating_sub(op.payload_start);
            spent += bytes;
            out.push((kind, op.output_start, op.output_len, bytes));
        }
        out.push((
            "framing_and_flush".into(),
            chunk.output_start,
            0,
            chunk.payload_len.saturating_sub(spent),
        ));
    }
    out
}

/// An operation's kind as an identifier: `aligned_i8`, `literal_f32`, and `copy_base`,
/// `copy_result` or `lz` alone when they copy plain bytes.
fn op_name(kind: &str, layout: &str) -> String {
    let kind = snake_case(kind);
    if layout == "Bytes" && matches!(kind.as_str(), "copy_base" | "copy_result" | "lz") {
        kind
    } else {
        format!("{kind}_{}", snake_case(layout))
    }
}

/// `CopyBase` -> `copy_base`, `BF16` -> `bf16`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase();
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn by_kind(pieces: &[Piece]) -> BTreeMap<String, KindStats> {
    let mut out: BTreeMap<String, KindStats> = BTreeMap::new();
    for &(ref kind, _, len, bytes) in pieces {
        let e = out.entry(kind.clone()).or_default();
        e.ops += 1;
        e.output_bytes += len;
        e.payload_bytes += bytes;
    }
    out
}

/// Attributes payload bytes to the result's tensors by output overlap.
fn tensors(result: &[u8], pieces: &[Piece]) -> Option<Vec<TensorStats>> {
    let map = parse(result).ok()?;
    let mut stats: Vec<TensorStats> = Vec::new();
    let mut regions: Vec<(u64, u64, usize)> = Vec::new();
    let mut opaque = None;
    for region in &map.regions {
        let index = match region {
            Region::Tensor(t) => {
                stats.push(TensorStats {
                    name: t.name.to_string(),
                    output_bytes: 0,
                    payload_bytes: 0,
                });
                stats.len() - 1
            }
            Region::Opaque { .. } => *opaque.get_or_insert_with(|| {
                stats.push(TensorStats {
                    name: "(opaque)".into(),
                    output_bytes: 0,
                    payload_bytes: 0,
                });
                stats.len() - 1
            }),
        };
        stats[index].output_bytes += region.len();
        regions.push((region.offset(), region.end(), index));
    }
    let mut first = 0;
    for &(_, start, len, bytes) in pieces {
        if len == 0 {
            if let Some(i) = opaque {
                stats[i].payload_bytes += bytes;
            }
            continue;
        }
        let end = start + len;
        while first < regions.len() && regions[first].1 <= start {
            first += 1;
        }
        let mut given = 0;
        let mut k = first;
        while k < regions.len() && regions[k].0 < end {
            let (r_start, r_end, index) = regions[k];
            let overlap = end.min(r_end) - start.max(r_start);
            let share = if end.min(r_end) == end {
                bytes - given
            } else {
                bytes * overlap / len
            };
            stats[index].payload_bytes += share;
            given += share;
            k += 1;
        }
    }
    stats.sort_by(|a, b| {
        b.payload_bytes
            .cmp(&a.payload_bytes)
            .then_with(|| a.name.cmp(&b.name))
    });
    Some(stats)
}
