//! Cuts a whole-file operation plan into chunks whose outputs (all but the last) are
//! multiples of the chunk alignment, splitting operations that straddle a boundary. A typed
//! operation is split at an element boundary; the bytes of a straddling element go out as a
//! byte operation on each side, so every chunk starts its typed operations on whole elements.

use std::collections::VecDeque;

use mallorn_runtime::codec::layout::LayoutId;
use mallorn_runtime::codec::op::Op;
use mallorn_runtime::codec::smallest::lz::LzItem;
use mallorn_runtime::codec::smallest::ops::Residual;

/// Splits `ops` (which produce the result front to back from offset 0) into chunks that end
/// at multiples of `chunk_len` (itself a multiple of the alignment).
pub fn split(ops: &[Op], chunk_len: u64) -> Vec<Vec<Op>> {
    assert!(chunk_len > 0);
    let mut chunks = vec![Vec::new()];
    let mut pos = 0u64;
    let mut boundary = chunk_len;
    let mut queue: VecDeque<Op> = ops.iter().cloned().collect();
    while let Some(op) = queue.pop_front() {
        let len = op.output_len();
        if len == 0 {
            continue;
        }
        if pos + len > boundary {
            // The operation crosses the boundary: queue its pieces in its place.
            let (head, rest) = cut(op, boundary - pos);
            for part in rest.into_iter().rev() {
                queue.push_front(part);
            }
            for part in head.into_iter().rev() {
                queue.push_front(part);
            }
            continue;
        }
        chunks.last_mut().expect("never empty").push(op);
        pos += len;
        if pos == boundary {
            chunks.push(Vec::new());
            boundary += chunk_len;
        }
    }
    if chunks.last().is_some_and(|c| c.is_empty()) {
        chunks.pop();
    }
    chunks
}

/// The operations of `ops` (which produce the result from offset `start`) that produce it from
/// offset `from` on, cut exactly as [`split`] cuts them at a chunk boundary at `from`.
pub fn after(ops: &[Op], start: u64, from: u64) -> Vec<Op> {
    let mut pos = start;
    let mut tail = Vec::new();
    for op in ops {
        let len = op.output_len();
        if len == 0 {
            continue; // `split` drops empty operations too
        } else if pos >= from {
            tail.push(op.clone());
        } else if pos + len > from {
            tail.extend(cut(op.clone(), from - pos).1);
        }
        pos += len;
    }
    tail
}

/// Cuts `op` after `head_len` output bytes. Returns the operations producing the head and
/// those producing the rest.
fn cut(op: Op, head_len: u64) -> (Vec<Op>, Vec<Op>) {
    match op {
        Op::Lz { items } => cut_lz(items, head_len),
        Op::CopyBase { offset, len } => (
            vec![Op::CopyBase {
                offset,
                len: head_len,
            }],
            vec![Op::CopyBase {
                offset: offset + head_len,
                len: len - head_len,
            }],
        ),
        Op::CopyResult { distance, len } => (
            vec![Op::CopyResult {
                distance,
                len: head_len,
            }],
            vec![Op::CopyResult {
                distance,
                len: len - head_len,
            }],
        ),
        Op::Literal { layout, count } => cut_typed(layout, count, head_len, None, Residual::Sub),
        Op::Aligned {
            layout,
            residual,
            count,
            offset,
        } => cut_typed(layout, count, head_len, Some(offset), residual),
    }
}

/// Splits LZ items after `head_len` bytes. A match cut in two keeps its distance on both
/// sides; a one-byte piece becomes a literal (the next chunk's coder does not know the
/// distance as a repeat).
fn cut_lz(items: Vec<LzItem>, head_len: u64) -> (Vec<Op>, Vec<Op>) {
    let mut head = Vec::new();
    let mut rest = Vec::new();
    let mut at = 0u64;
    let piece = |distance: u64, len: u64, out: &mut Vec<LzItem>| {
        if len == 1 {
            out.push(LzItem::Literal);
        } else if len > 1 {
            out.push(LzItem::Match { distance, len });
        }
    };
    for item in items {
        let len = item.len();
        if at >= head_len {
            rest.push(item);
        } else if at + len <= head_len {
            head.push(item);
        } else if let LzItem::Match { distance, .. } = item {
            let k = head_len - at;
            piece(distance, k, &mut head);
            piece(distance, len - k, &mut rest);
        }
        at += len;
    }
    let wrap = |items: Vec<LzItem>| {
        if items.is_empty() {
            Vec::new()
        } else {
            vec![Op::Lz { items }]
        }
    };
    (wrap(head), wrap(rest))
}

fn cut_typed(
    layout: LayoutId,
    count: u64,
    head_len: u64,
    offset: Option<u64>,
    residual: Residual,
) -> (Vec<Op>, Vec<Op>) {
    let size = layout.element_size() as u64;
    let whole = head_len / size;
    let partial = head_len % size;
    let make = |count: u64, at: u64| -> Option<Op> {
        (count > 0).then(|| match offset {
            Some(o) => Op::Aligned {
                layout,
                residual,
                count,
                offset: o + at,
            },
            None => Op::Literal { layout, count },
        })
    };
    let bytes = |len: u64, at: u64| -> Option<Op> {
        (len > 0).then(|| match offset {
            Some(o) => Op::Aligned {
                layout: LayoutId::Bytes,
                residual: Residual::Sub,
                count: len,
                offset: o + at,
            },
            None => Op::Literal {
                layout: LayoutId::Bytes,
                count: len,
            },
        })
    };
    let mut head = Vec::new();
    head.extend(make(whole, 0));
    head.extend(bytes(partial, whole * size));
    let mut rest = Vec::new();
    if partial > 0 {
        rest.extend(bytes(size - partial, whole * size + partial));
        rest.extend(make(count - whole - 1, (whole + 1) * size));
    } else {
        rest.extend(make(count - whole, whole * size));
    }
    (head, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy, a typed residual run, an LZ run and typed literals: `with_lz` includes the LZ
    /// run.
    fn sample_ops(with_lz: bool) -> Vec<Op> {
        let mut ops = vec![
            Op::CopyBase {
                offset: 0,
                len: 100,
            },
            Op::Aligned {
                layout: LayoutId::F32,
                residual: Residual::Sub,
                count: 50,
                offset: 100,
            },
        ];
        if with_lz {
            ops.push(Op::Lz {
                items: vec![
                    LzItem::Literal,
                    LzItem::Match {
                        distance: 9,
                        len: 40,
                    },
                ],
            });
        }
        ops.push(Op::Literal {
            layout: LayoutId::GgufQ8_0,
            count: 3,
        });
        ops
    }

    #[test]
    fn after_gives_what_split_puts_after_a_boundary() {
        let ops = sample_ops(true);
        for chunk_len in [7, 64, 101, 128] {
            let chunks = split(&ops, chunk_len);
            for k in 1..chunks.len() {
                let want: Vec<Op> = chunks[k..].concat();
                let got = after(&ops, 0, k as u64 * chunk_len);
                let got_chunks = split(&got, chunk_len);
                assert_eq!(
                    got_chunks.concat(),
                    want,
                    "chunk length {chunk_len}, boundary {k}"
                );
            }
        }
    }

    #[test]
    fn splits_on_boundaries_and_keeps_order() {
        let ops = sample_ops(false);
        let total: u64 = ops.iter().map(Op::output_len).sum();
        let chunks = split(&ops, 64);
        let mut pos = 0;
        for (i, chunk) in chunks.iter().enumerate() {
            let len: u64 = chunk.iter().map(Op::output_len).sum();
            if i + 1 < chunks.len() {
                assert_eq!(len, 64, "chunk {i}: {chunk:?}");
            }
            pos += len;
        }
        assert_eq!(pos, total);
    }
}
