//! Which codec layout codes a tensor of a given dtype.

use mallorn_runtime::codec::layout::LayoutId;

use crate::model::{DType, GgmlType};

/// The codec layout for `dtype`, or `Bytes` when the codec has no better structure for it.
pub fn layout_for(dtype: DType) -> LayoutId {
    match dtype {
        DType::I8 | DType::U8 => LayoutId::I8,
        DType::I16 | DType::U16 => LayoutId::I16,
        DType::I32 | DType::U32 => LayoutId::I32,
        DType::I64 | DType::U64 => LayoutId::I64,
        DType::F16 => LayoutId::F16,
        DType::BF16 => LayoutId::BF16,
        DType::F32 | DType::C64 => LayoutId::F32,
        DType::F64 | DType::C128 => LayoutId::F64,
        DType::I4 | DType::U4 => LayoutId::Nibbles,
        DType::Ggml(g) => ggml_layout(g),
        _ => LayoutId::Bytes,
    }
}

fn ggml_layout(g: GgmlType) -> LayoutId {
    match g {
        GgmlType::F32 => LayoutId::F32,
        GgmlType::F16 => LayoutId::F16,
        GgmlType::BF16 => LayoutId::BF16,
        GgmlType::F64 => LayoutId::F64,
        GgmlType::I8 => LayoutId::I8,
        GgmlType::I16 => LayoutId::I16,
        GgmlType::I32 => LayoutId::I32,
        GgmlType::I64 => LayoutId::I64,
        GgmlType::Q4_0 => LayoutId::GgufQ4_0,
        GgmlType::Q4_1 => LayoutId::GgufQ4_1,
        GgmlType::Q5_0 => LayoutId::GgufQ5_0,
        GgmlType::Q5_1 => LayoutId::GgufQ5_1,
        GgmlType::Q8_0 => LayoutId::GgufQ8_0,
        GgmlType::Q8_1 => LayoutId::GgufQ8_1,
        GgmlType::Q2_K => LayoutId::GgufQ2K,
        GgmlType::Q3_K => LayoutId::GgufQ3K,
        GgmlType::Q4_K => LayoutId::GgufQ4K,
        GgmlType::Q5_K => LayoutId::GgufQ5K,
        GgmlType::Q6_K => LayoutId::GgufQ6K,
        GgmlType::Q8_K => LayoutId::GgufQ8K,
        _ => LayoutId::Bytes,
    }
}

#[cfg(test)]
mod tests {
    use mallorn_runtime::codec::layout::FieldKind;

    use super::*;
    use crate::model::{BlockFieldKind, GGML_TYPES, GgmlTypeInfo};

    /// The codec's kind for the bytes of an engine block field: the one mapping between the
    /// engine's GGML table and the runtime's codec layouts. Every kind the codec has no
    /// number model for is coded as plain bytes.
    fn codec_kind(kind: BlockFieldKind) -> FieldKind {
        match kind {
            BlockFieldKind::F16 => FieldKind::F16,
            BlockFieldKind::F32 => FieldKind::F32,
            BlockFieldKind::I8 => FieldKind::I8,
            BlockFieldKind::I16 => FieldKind::I16,
            BlockFieldKind::Nibbles => FieldKind::Nibbles,
            BlockFieldKind::E8M0
            | BlockFieldKind::UE4M3
            | BlockFieldKind::Bits2
            | BlockFieldKind::Bits1
            | BlockFieldKind::PackedScales6
            | BlockFieldKind::Bytes => FieldKind::U8,
        }
    }

    /// Adjacent engine fields that the runtime codes as one run of values (one `Field` with a
    /// count of 2): the two f16 header scalars of a block. Their kinds must still map to the
    /// same codec kind.
    const MERGED: &[(GgmlType, [&str; 2])] = &[
        (GgmlType::Q4_1, ["d", "m"]),
        (GgmlType::Q5_1, ["d", "m"]),
        (GgmlType::Q8_1, ["d", "s"]),
        (GgmlType::Q2_K, ["d", "dmin"]),
        (GgmlType::Q4_K, ["d", "dmin"]),
        (GgmlType::Q5_K, ["d", "dmin"]),
    ];

    /// Engine fields the runtime codes with another kind than [`codec_kind`] gives. Q2_K
    /// `scales` holds a 4-bit scale (low nibble) and a 4-bit min (high nibble) per byte, so
    /// the engine calls it nibbles; the codec layout (wire format, fixed) codes those 16 bytes
    /// as plain bytes.
    const RECODED: &[(GgmlType, &str, FieldKind)] = &[(GgmlType::Q2_K, "scales", FieldKind::U8)];

    /// `(start, end, kind)` of each engine field as the codec should see it, in offset order,
    /// with the exceptions above applied; counts how many exceptions it used.
    fn expected_spans(info: &GgmlTypeInfo, used: &mut usize) -> Vec<(usize, usize, FieldKind)> {
        let mut spans: Vec<(usize, usize, FieldKind)> = Vec::new();
        let mut previous: Option<&str> = None;
        for f in info.fields {
            let (start, end) = (f.offset as usize, (f.offset + f.len) as usize);
            let recoded = RECODED
                .iter()
                .find(|(ty, name, _)| *ty == info.ty && *name == f.name);
            let kind = match recoded {
                Some(&(_, _, kind)) => {
                    *used += 1;
                    kind
                }
                None => codec_kind(f.kind),
            };
            let merges = MERGED
                .iter()
                .any(|(ty, pair)| *ty == info.ty && Some(pair[0]) == previous && pair[1] == f.name);
            match spans.last_mut() {
                Some(last) if merges => {
                    *used += 1;
                    assert_eq!(
                        (last.1, last.2),
                        (start, kind),
                        "{}: merged fields must be adjacent and of one kind at {}",
                        info.name,
                        f.name
                    );
                    last.1 = end;
                }
                _ => spans.push((start, end, kind)),
            }
            previous = Some(f.name);
        }
        spans
    }

    /// `(start, end, kind)` of each runtime field, in byte order.
    fn codec_spans(layout: LayoutId) -> Vec<(usize, usize, FieldKind)> {
        let mut at = 0;
        layout
            .fields()
            .iter()
            .map(|f| {
                let start = at;
                at += f.kind.size() * usize::from(f.count);
                (start, at, f.kind)
            })
            .collect()
    }

    #[test]
    fn gguf_block_fields_agree_with_the_codec_layouts_span_by_span() {
        let mut used = 0;
        let mut coded_blocks = 0;
        for info in GGML_TYPES {
            let layout = ggml_layout(info.ty);
            if info.fields.is_empty() {
                // A plain type: one value per element, of the element's size.
                assert_ne!(layout, LayoutId::Bytes, "{} has no codec layout", info.name);
                assert_eq!(layout.fields().len(), 1, "{}", info.name);
                assert_eq!(layout.fields()[0].count, 1, "{}", info.name);
                assert_eq!(
                    layout.element_size() as u64,
                    info.ty.layout().unit_bytes(),
                    "{}",
                    info.name
                );
                continue;
            }
            if layout == LayoutId::Bytes {
                // A block type the codec has no layout for: its blocks are coded as bytes.
                continue;
            }
            coded_blocks += 1;
            assert_eq!(
                layout.element_size(),
                info.block_bytes as usize,
                "{}",
                info.name
            );
            assert_eq!(
                expected_spans(info, &mut used),
                codec_spans(layout),
                "{}: engine fields {:?} against codec layout {layout:?}",
                info.name,
                info.fields
            );
        }
        assert_eq!(coded_blocks, 12, "the codec knows 12 GGUF block layouts");
        assert_eq!(
            used,
            MERGED.len() + RECODED.len(),
            "every exception must still be needed"
        );
    }
}
