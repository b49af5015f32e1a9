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
    use super::*;

    #[test]
    fn gguf_layouts_agree_with_the_parser_block_sizes() {
        for g in [
            GgmlType::Q4_0,
            GgmlType::Q4_1,
            GgmlType::Q5_0,
            GgmlType::Q5_1,
            GgmlType::Q8_0,
            GgmlType::Q8_1,
            GgmlType::Q2_K,
            GgmlType::Q3_K,
            GgmlType::Q4_K,
            GgmlType::Q5_K,
            GgmlType::Q6_K,
            GgmlType::Q8_K,
        ] {
            assert_eq!(
                ggml_layout(g).element_size() as u64,
                g.layout().unit_bytes(),
                "{g:?}"
            );
        }
    }
}
