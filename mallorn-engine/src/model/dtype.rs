//! Everything Mallorn knows about element types: the unified [`DType`], the byte structure of
//! an element or quantisation block ([`ElementLayout`]: what a tensor region's length must be
//! a multiple of, what `inspect` prints, what the lossy rules read), the GGML/GGUF type table,
//! and the mapping from each format's type codes.
//!
//! The delta coder does not read these layouts: it codes a tensor with the runtime's codec
//! layout for its dtype (`delta/layouts.rs`, owned by `mallorn_runtime::codec::layout`), and a
//! test there proves the two tables describe the same bytes of every GGUF block.
//!
//! The GGML table follows `ggml/src/ggml-common.h` (block structs and their `static_assert`ed
//! sizes) and the `ggml_type` enum in `ggml.h`, including the ids 40–42 (NVFP4, Q1_0, Q2_0) that
//! the published GGUF spec does not list yet. Ids 4, 5, 31–33 and 36–38 were removed from ggml
//! and are rejected like any other unknown id.

use serde::Serialize;

/// The element type of a tensor, unified across formats.
///
/// For GGUF block-quantised types the element type is [`DType::Ggml`]: elements only exist
/// grouped in blocks whose structure [`GgmlType::layout`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// One byte, 0 or 1.
    Bool,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 8-bit integer.
    I8,
    /// Unsigned 16-bit integer.
    U16,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 32-bit integer.
    U32,
    /// Signed 32-bit integer.
    I32,
    /// Unsigned 64-bit integer.
    U64,
    /// Signed 64-bit integer.
    I64,
    /// Signed 4-bit integer, two per byte.
    I4,
    /// Unsigned 4-bit integer, two per byte.
    U4,
    /// Signed 2-bit integer, four per byte.
    I2,
    /// Unsigned 2-bit integer, four per byte.
    U2,
    /// IEEE 754 binary16.
    F16,
    /// bfloat16: the upper half of an IEEE binary32.
    BF16,
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary64.
    F64,
    /// 8-bit float, 4 exponent and 3 mantissa bits, finite only (OCP E4M3).
    F8E4M3FN,
    /// 8-bit float E4M3, finite only, no negative zero (ONNX `FLOAT8E4M3FNUZ`).
    F8E4M3FNUZ,
    /// 8-bit float, 5 exponent and 2 mantissa bits.
    F8E5M2,
    /// 8-bit float E5M2, finite only, no negative zero (ONNX `FLOAT8E5M2FNUZ`).
    F8E5M2FNUZ,
    /// 8-bit power-of-two scale (exponent only).
    F8E8M0,
    /// 4-bit float E2M1, two per byte.
    F4E2M1,
    /// 6-bit float E2M3, packed.
    F6E2M3,
    /// 6-bit float E3M2, packed.
    F6E3M2,
    /// Complex number of two binary32.
    C64,
    /// Complex number of two binary64.
    C128,
    /// Variable-length strings (TFLite and ONNX string tensors); no numeric structure.
    String,
    /// A GGML type stored in blocks, e.g. Q8_0 or Q4_K.
    Ggml(GgmlType),
}

impl DType {
    /// The display name: upper case, as safetensors and gguf-py print them (`F32`, `Q8_0`).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "BOOL",
            DType::U8 => "U8",
            DType::I8 => "I8",
            DType::U16 => "U16",
            DType::I16 => "I16",
            DType::U32 => "U32",
            DType::I32 => "I32",
            DType::U64 => "U64",
            DType::I64 => "I64",
            DType::I4 => "I4",
            DType::U4 => "U4",
            DType::I2 => "I2",
            DType::U2 => "U2",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::F32 => "F32",
            DType::F64 => "F64",
            DType::F8E4M3FN => "F8_E4M3FN",
            DType::F8E4M3FNUZ => "F8_E4M3FNUZ",
            DType::F8E5M2 => "F8_E5M2",
            DType::F8E5M2FNUZ => "F8_E5M2FNUZ",
            DType::F8E8M0 => "F8_E8M0",
            DType::F4E2M1 => "F4_E2M1",
            DType::F6E2M3 => "F6_E2M3",
            DType::F6E3M2 => "F6_E3M2",
            DType::C64 => "C64",
            DType::C128 => "C128",
            DType::String => "STRING",
            DType::Ggml(t) => t.info().name,
        }
    }

    /// How the bytes of this type are structured when stored densely in little-endian order.
    pub fn layout(self) -> ElementLayout {
        use ElementLayout::{Float, Int, Packed};
        match self {
            DType::Bool | DType::U8 => Int {
                bytes: 1,
                signed: false,
            },
            DType::I8 => Int {
                bytes: 1,
                signed: true,
            },
            DType::U16 => Int {
                bytes: 2,
                signed: false,
            },
            DType::I16 => Int {
                bytes: 2,
                signed: true,
            },
            DType::U32 => Int {
                bytes: 4,
                signed: false,
            },
            DType::I32 => Int {
                bytes: 4,
                signed: true,
            },
            DType::U64 => Int {
                bytes: 8,
                signed: false,
            },
            DType::I64 => Int {
                bytes: 8,
                signed: true,
            },
            DType::I4 | DType::U4 | DType::F4E2M1 => Packed { bits: 4 },
            DType::I2 | DType::U2 => Packed { bits: 2 },
            DType::F6E2M3 | DType::F6E3M2 => Packed { bits: 6 },
            DType::F16 => Float(FloatFormat::F16),
            DType::BF16 => Float(FloatFormat::BF16),
            DType::F32 | DType::C64 => Float(FloatFormat::F32),
            DType::F64 | DType::C128 => Float(FloatFormat::F64),
            DType::F8E4M3FN | DType::F8E4M3FNUZ => Float(FloatFormat::F8E4M3),
            DType::F8E5M2 | DType::F8E5M2FNUZ => Float(FloatFormat::F8E5M2),
            DType::F8E8M0 => Float(FloatFormat::E8M0),
            DType::String => ElementLayout::Bytes,
            DType::Ggml(t) => t.layout(),
        }
    }

    /// Bits one element occupies when stored densely, or `None` for strings and block types.
    pub fn bits_per_element(self) -> Option<u64> {
        match self {
            DType::String | DType::Ggml(_) => None,
            DType::C64 => Some(64),
            DType::C128 => Some(128),
            other => match other.layout() {
                ElementLayout::Int { bytes, .. } => Some(u64::from(bytes) * 8),
                ElementLayout::Float(f) => Some(u64::from(f.bytes()) * 8),
                ElementLayout::Packed { bits } => Some(u64::from(bits)),
                _ => None,
            },
        }
    }

    /// Bytes needed to store `elements` elements densely (whole bytes, sub-byte types padded up;
    /// GGML types need a whole number of blocks). `None` on overflow, for strings, or when a GGML
    /// element count is not a multiple of the block size.
    pub fn storage_bytes(self, elements: u64) -> Option<u64> {
        if let DType::Ggml(t) = self {
            let info = t.info();
            if elements % u64::from(info.block_elements) != 0 {
                return None;
            }
            return (elements / u64::from(info.block_elements))
                .checked_mul(u64::from(info.block_bytes));
        }
        let bits = elements.checked_mul(self.bits_per_element()?)?;
        Some(bits.div_ceil(8))
    }

    /// Maps a TFLite `TensorType` code (schema.fbs, up to FLOAT8_E5M2 = 22).
    pub fn from_tflite(code: i8) -> Option<DType> {
        Some(match code {
            0 => DType::F32,
            1 => DType::F16,
            2 => DType::I32,
            3 => DType::U8,
            4 => DType::I64,
            5 => DType::String,
            6 => DType::Bool,
            7 => DType::I16,
            8 => DType::C64,
            9 => DType::I8,
            10 => DType::F64,
            11 => DType::C128,
            12 => DType::U64,
            15 => DType::U32,
            16 => DType::U16,
            17 => DType::I4,
            18 => DType::BF16,
            19 => DType::I2,
            20 => DType::U4,
            21 => DType::F8E4M3FN,
            22 => DType::F8E5M2,
            // 13 RESOURCE and 14 VARIANT are handles, never constant data.
            _ => return None,
        })
    }

    /// Maps an ONNX `TensorProto.DataType` code (onnx.proto, up to INT2 = 26).
    pub fn from_onnx(code: u64) -> Option<DType> {
        Some(match code {
            1 => DType::F32,
            2 => DType::U8,
            3 => DType::I8,
            4 => DType::U16,
            5 => DType::I16,
            6 => DType::I32,
            7 => DType::I64,
            8 => DType::String,
            9 => DType::Bool,
            10 => DType::F16,
            11 => DType::F64,
            12 => DType::U32,
            13 => DType::U64,
            14 => DType::C64,
            15 => DType::C128,
            16 => DType::BF16,
            17 => DType::F8E4M3FN,
            18 => DType::F8E4M3FNUZ,
            19 => DType::F8E5M2,
            20 => DType::F8E5M2FNUZ,
            21 => DType::U4,
            22 => DType::I4,
            23 => DType::F4E2M1,
            24 => DType::F8E8M0,
            25 => DType::U2,
            26 => DType::I2,
            _ => return None,
        })
    }

    /// Maps a safetensors dtype string (the names the reference implementation accepts).
    pub fn from_safetensors(name: &str) -> Option<DType> {
        Some(match name {
            "BOOL" => DType::Bool,
            "U8" => DType::U8,
            "I8" => DType::I8,
            "U16" => DType::U16,
            "I16" => DType::I16,
            "U32" => DType::U32,
            "I32" => DType::I32,
            "U64" => DType::U64,
            "I64" => DType::I64,
            "F16" => DType::F16,
            "BF16" => DType::BF16,
            "F32" => DType::F32,
            "F64" => DType::F64,
            "C64" => DType::C64,
            "F8_E4M3" => DType::F8E4M3FN,
            "F8_E4M3FNUZ" => DType::F8E4M3FNUZ,
            "F8_E5M2" => DType::F8E5M2,
            "F8_E5M2FNUZ" => DType::F8E5M2FNUZ,
            "F8_E8M0" => DType::F8E8M0,
            "F4" => DType::F4E2M1,
            "F6_E2M3" => DType::F6E2M3,
            "F6_E3M2" => DType::F6E3M2,
            _ => return None,
        })
    }

    /// Maps a GGML type id; the plain types become their plain [`DType`].
    pub fn from_ggml(id: u32) -> Option<DType> {
        let t = GgmlType::from_id(id)?;
        Some(match t {
            GgmlType::F32 => DType::F32,
            GgmlType::F16 => DType::F16,
            GgmlType::BF16 => DType::BF16,
            GgmlType::F64 => DType::F64,
            GgmlType::I8 => DType::I8,
            GgmlType::I16 => DType::I16,
            GgmlType::I32 => DType::I32,
            GgmlType::I64 => DType::I64,
            other => DType::Ggml(other),
        })
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for DType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Floating-point encodings an [`ElementLayout::Float`] element can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum FloatFormat {
    /// binary16: sign 1, exponent 5, mantissa 10.
    F16,
    /// bfloat16: sign 1, exponent 8, mantissa 7.
    BF16,
    /// binary32.
    F32,
    /// binary64.
    F64,
    /// 8-bit E4M3 (FN and FNUZ variants share the bit layout).
    F8E4M3,
    /// 8-bit E5M2 (both variants).
    F8E5M2,
    /// 8-bit exponent-only scale.
    E8M0,
}

impl FloatFormat {
    /// Bytes per value.
    pub fn bytes(self) -> u8 {
        match self {
            FloatFormat::F16 | FloatFormat::BF16 => 2,
            FloatFormat::F32 => 4,
            FloatFormat::F64 => 8,
            FloatFormat::F8E4M3 | FloatFormat::F8E5M2 | FloatFormat::E8M0 => 1,
        }
    }
}

/// The byte structure of a tensor region: what one repeating unit (element or block) looks
/// like. Every tensor region's length is a whole number of [`ElementLayout::unit_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ElementLayout {
    /// Little-endian two's-complement (or unsigned) integers of `bytes` bytes.
    Int {
        /// 1, 2, 4 or 8.
        bytes: u8,
        /// Two's complement when true.
        signed: bool,
    },
    /// Little-endian floats.
    Float(FloatFormat),
    /// Sub-byte values packed into bytes, first element in the lowest bits.
    Packed {
        /// 2, 4 or 6 bits per value.
        bits: u8,
    },
    /// Fixed-size blocks of several fields (GGML quantisation blocks).
    Block(BlockLayout),
    /// Protobuf varints, one per element (ONNX `int32_data`, `int64_data`, `uint64_data`);
    /// negative int32/int64 values take ten bytes.
    Varint,
    /// Bytes with no known structure.
    Bytes,
}

impl ElementLayout {
    /// Bytes of one repeating unit: the element size, the block size, or 1 for byte streams.
    pub fn unit_bytes(self) -> u64 {
        match self {
            ElementLayout::Int { bytes, .. } => u64::from(bytes),
            ElementLayout::Float(f) => u64::from(f.bytes()),
            ElementLayout::Block(b) => u64::from(b.size_bytes),
            ElementLayout::Packed { .. } | ElementLayout::Varint | ElementLayout::Bytes => 1,
        }
    }

    /// A short description for tables: `i8`, `f32`, `block34[d:f16,qs:i8]`, `varint`.
    pub fn describe(self) -> String {
        match self {
            ElementLayout::Int { bytes, signed } => {
                format!("{}{}", if signed { 'i' } else { 'u' }, u32::from(bytes) * 8)
            }
            ElementLayout::Float(f) => format!("{f:?}").to_lowercase(),
            ElementLayout::Packed { bits } => format!("packed{bits}"),
            ElementLayout::Block(b) => {
                let fields: Vec<String> = b
                    .fields
                    .iter()
                    .map(|f| format!("{}:{}", f.name, f.kind.short()))
                    .collect();
                format!("block{}[{}]", b.size_bytes, fields.join(","))
            }
            ElementLayout::Varint => "varint".to_owned(),
            ElementLayout::Bytes => "bytes".to_owned(),
        }
    }
}

/// A fixed-size block: `elements` values stored in `size_bytes` bytes, split into `fields`
/// that tile the block in offset order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BlockLayout {
    /// Values encoded by one block.
    pub elements: u32,
    /// Bytes per block.
    pub size_bytes: u32,
    /// The block's fields, sorted by offset, covering `[0, size_bytes)` exactly.
    pub fields: &'static [BlockField],
}

/// One field of a quantisation block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BlockField {
    /// The struct member's name in ggml-common.h (`d`, `dmin`, `scales`, `qs`, ...).
    pub name: &'static str,
    /// Byte offset inside the block.
    pub offset: u32,
    /// Byte length.
    pub len: u32,
    /// What the bytes hold.
    pub kind: BlockFieldKind,
}

/// What the bytes of a [`BlockField`] hold, as ggml-common.h defines them. The codec's coarser
/// view of the same bytes is the runtime's `FieldKind`; `delta/layouts.rs` maps one to the
/// other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum BlockFieldKind {
    /// Little-endian binary16 scale(s) or minimum(s).
    F16,
    /// Little-endian binary32 scale.
    F32,
    /// E8M0 power-of-two scale bytes (MXFP4).
    E8M0,
    /// Unsigned E4M3 scale bytes (NVFP4).
    UE4M3,
    /// Signed 8-bit quants or scales, one per byte.
    I8,
    /// Little-endian signed 16-bit values (Q8_K block sums).
    I16,
    /// Two 4-bit values per byte (quants, or 4-bit sub-block scales).
    Nibbles,
    /// Four 2-bit values per byte.
    Bits2,
    /// Eight 1-bit values per byte (high bits, sign bits).
    Bits1,
    /// K-quant 6-bit scales (and mins) packed into 12 bytes; the packing differs between
    /// Q3_K and Q4_K/Q5_K.
    PackedScales6,
    /// Codebook indices, base-3 packs or mixed bit fields: bytes with no simpler structure.
    Bytes,
}

impl BlockFieldKind {
    fn short(self) -> &'static str {
        match self {
            BlockFieldKind::F16 => "f16",
            BlockFieldKind::F32 => "f32",
            BlockFieldKind::E8M0 => "e8m0",
            BlockFieldKind::UE4M3 => "ue4m3",
            BlockFieldKind::I8 => "i8",
            BlockFieldKind::I16 => "i16",
            BlockFieldKind::Nibbles => "u4x2",
            BlockFieldKind::Bits2 => "u2x4",
            BlockFieldKind::Bits1 => "u1x8",
            BlockFieldKind::PackedScales6 => "scales6",
            BlockFieldKind::Bytes => "bytes",
        }
    }
}

/// A GGML tensor type (`enum ggml_type`).
#[allow(missing_docs, non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
    IQ2_XXS,
    IQ2_XS,
    IQ3_XXS,
    IQ1_S,
    IQ4_NL,
    IQ3_S,
    IQ2_S,
    IQ4_XS,
    I8,
    I16,
    I32,
    I64,
    F64,
    IQ1_M,
    BF16,
    TQ1_0,
    TQ2_0,
    MXFP4,
    NVFP4,
    Q1_0,
    Q2_0,
}

/// One row of the GGML type table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgmlTypeInfo {
    /// The type.
    pub ty: GgmlType,
    /// `ggml_type` id as stored in GGUF tensor infos.
    pub id: u32,
    /// Name as gguf-py prints it.
    pub name: &'static str,
    /// Elements per block (`ggml_blck_size`); 1 for plain types.
    pub block_elements: u32,
    /// Bytes per block (`ggml_type_size`).
    pub block_bytes: u32,
    /// Block fields for quantised types; empty for plain types.
    pub fields: &'static [BlockField],
}

const fn field(name: &'static str, offset: u32, len: u32, kind: BlockFieldKind) -> BlockField {
    BlockField {
        name,
        offset,
        len,
        kind,
    }
}

const fn row(
    ty: GgmlType,
    id: u32,
    name: &'static str,
    block_elements: u32,
    block_bytes: u32,
    fields: &'static [BlockField],
) -> GgmlTypeInfo {
    GgmlTypeInfo {
        ty,
        id,
        name,
        block_elements,
        block_bytes,
        fields,
    }
}

use BlockFieldKind as K;

/// The GGML type table, in id order. Block field offsets follow the struct member order of
/// ggml-common.h; sizes equal its `static_assert`s (checked by the tests below).
pub const GGML_TYPES: &[GgmlTypeInfo] = &[
    row(GgmlType::F32, 0, "F32", 1, 4, &[]),
    row(GgmlType::F16, 1, "F16", 1, 2, &[]),
    row(
        GgmlType::Q4_0,
        2,
        "Q4_0",
        32,
        18,
        &[field("d", 0, 2, K::F16), field("qs", 2, 16, K::Nibbles)],
    ),
    row(
        GgmlType::Q4_1,
        3,
        "Q4_1",
        32,
        20,
        &[
            field("d", 0, 2, K::F16),
            field("m", 2, 2, K::F16),
            field("qs", 4, 16, K::Nibbles),
        ],
    ),
    row(
        GgmlType::Q5_0,
        6,
        "Q5_0",
        32,
        22,
        &[
            field("d", 0, 2, K::F16),
            field("qh", 2, 4, K::Bits1),
            field("qs", 6, 16, K::Nibbles),
        ],
    ),
    row(
        GgmlType::Q5_1,
        7,
        "Q5_1",
        32,
        24,
        &[
            field("d", 0, 2, K::F16),
            field("m", 2, 2, K::F16),
            field("qh", 4, 4, K::Bits1),
            field("qs", 8, 16, K::Nibbles),
        ],
    ),
    row(
        GgmlType::Q8_0,
        8,
        "Q8_0",
        32,
        34,
        &[field("d", 0, 2, K::F16), field("qs", 2, 32, K::I8)],
    ),
    row(
        GgmlType::Q8_1,
        9,
        "Q8_1",
        32,
        36,
        &[
            field("d", 0, 2, K::F16),
            field("s", 2, 2, K::F16),
            field("qs", 4, 32, K::I8),
        ],
    ),
    row(
        GgmlType::Q2_K,
        10,
        "Q2_K",
        256,
        84,
        &[
            field("scales", 0, 16, K::Nibbles),
            field("qs", 16, 64, K::Bits2),
            field("d", 80, 2, K::F16),
            field("dmin", 82, 2, K::F16),
        ],
    ),
    row(
        GgmlType::Q3_K,
        11,
        "Q3_K",
        256,
        110,
        &[
            field("hmask", 0, 32, K::Bits1),
            field("qs", 32, 64, K::Bits2),
            field("scales", 96, 12, K::PackedScales6),
            field("d", 108, 2, K::F16),
        ],
    ),
    row(
        GgmlType::Q4_K,
        12,
        "Q4_K",
        256,
        144,
        &[
            field("d", 0, 2, K::F16),
            field("dmin", 2, 2, K::F16),
            field("scales", 4, 12, K::PackedScales6),
            field("qs", 16, 128, K::Nibbles),
        ],
    ),
    row(
        GgmlType::Q5_K,
        13,
        "Q5_K",
        256,
        176,
        &[
            field("d", 0, 2, K::F16),
            field("dmin", 2, 2, K::F16),
            field("scales", 4, 12, K::PackedScales6),
            field("qh", 16, 32, K::Bits1),
            field("qs", 48, 128, K::Nibbles),
        ],
    ),
    row(
        GgmlType::Q6_K,
        14,
        "Q6_K",
        256,
        210,
        &[
            field("ql", 0, 128, K::Nibbles),
            field("qh", 128, 64, K::Bits2),
            field("scales", 192, 16, K::I8),
            field("d", 208, 2, K::F16),
        ],
    ),
    row(
        GgmlType::Q8_K,
        15,
        "Q8_K",
        256,
        292,
        &[
            field("d", 0, 4, K::F32),
            field("qs", 4, 256, K::I8),
            field("bsums", 260, 32, K::I16),
        ],
    ),
    row(
        GgmlType::IQ2_XXS,
        16,
        "IQ2_XXS",
        256,
        66,
        &[field("d", 0, 2, K::F16), field("qs", 2, 64, K::Bytes)],
    ),
    row(
        GgmlType::IQ2_XS,
        17,
        "IQ2_XS",
        256,
        74,
        &[
            field("d", 0, 2, K::F16),
            field("qs", 2, 64, K::Bytes),
            field("scales", 66, 8, K::Nibbles),
        ],
    ),
    row(
        GgmlType::IQ3_XXS,
        18,
        "IQ3_XXS",
        256,
        98,
        &[field("d", 0, 2, K::F16), field("qs", 2, 96, K::Bytes)],
    ),
    row(
        GgmlType::IQ1_S,
        19,
        "IQ1_S",
        256,
        50,
        &[
            field("d", 0, 2, K::F16),
            field("qs", 2, 32, K::Bytes),
            field("qh", 34, 16, K::Bytes),
        ],
    ),
    row(
        GgmlType::IQ4_NL,
        20,
        "IQ4_NL",
        32,
        18,
        &[field("d", 0, 2, K::F16), field("qs", 2, 16, K::Nibbles)],
    ),
    row(
        GgmlType::IQ3_S,
        21,
        "IQ3_S",
        256,
        110,
        &[
            field("d", 0, 2, K::F16),
            field("qs", 2, 64, K::Bytes),
            field("qh", 66, 8, K::Bits1),
            field("signs", 74, 32, K::Bits1),
            field("scales", 106, 4, K::Nibbles),
        ],
    ),
    row(
        GgmlType::IQ2_S,
        22,
        "IQ2_S",
        256,
        82,
        &[
            field("d", 0, 2, K::F16),
            field("qs", 2, 64, K::Bytes),
            field("qh", 66, 8, K::Bits2),
            field("scales", 74, 8, K::Nibbles),
        ],
    ),
    row(
        GgmlType::IQ4_XS,
        23,
        "IQ4_XS",
        256,
        136,
        &[
            field("d", 0, 2, K::F16),
            field("scales_h", 2, 2, K::Bits2),
            field("scales_l", 4, 4, K::Nibbles),
            field("qs", 8, 128, K::Nibbles),
        ],
    ),
    row(GgmlType::I8, 24, "I8", 1, 1, &[]),
    row(GgmlType::I16, 25, "I16", 1, 2, &[]),
    row(GgmlType::I32, 26, "I32", 1, 4, &[]),
    row(GgmlType::I64, 27, "I64", 1, 8, &[]),
    row(GgmlType::F64, 28, "F64", 1, 8, &[]),
    // IQ1_M has no `d` member: its f16 super-block scale is spread over the high nibbles of
    // `scales`, so that field is plain bytes.
    row(
        GgmlType::IQ1_M,
        29,
        "IQ1_M",
        256,
        56,
        &[
            field("qs", 0, 32, K::Bytes),
            field("qh", 32, 16, K::Bytes),
            field("scales", 48, 8, K::Bytes),
        ],
    ),
    row(GgmlType::BF16, 30, "BF16", 1, 2, &[]),
    row(
        GgmlType::TQ1_0,
        34,
        "TQ1_0",
        256,
        54,
        &[
            field("qs", 0, 48, K::Bytes),
            field("qh", 48, 4, K::Bytes),
            field("d", 52, 2, K::F16),
        ],
    ),
    row(
        GgmlType::TQ2_0,
        35,
        "TQ2_0",
        256,
        66,
        &[field("qs", 0, 64, K::Bits2), field("d", 64, 2, K::F16)],
    ),
    row(
        GgmlType::MXFP4,
        39,
        "MXFP4",
        32,
        17,
        &[field("e", 0, 1, K::E8M0), field("qs", 1, 16, K::Nibbles)],
    ),
    row(
        GgmlType::NVFP4,
        40,
        "NVFP4",
        64,
        36,
        &[field("d", 0, 4, K::UE4M3), field("qs", 4, 32, K::Nibbles)],
    ),
    row(
        GgmlType::Q1_0,
        41,
        "Q1_0",
        128,
        18,
        &[field("d", 0, 2, K::F16), field("qs", 2, 16, K::Bits1)],
    ),
    row(
        GgmlType::Q2_0,
        42,
        "Q2_0",
        64,
        18,
        &[field("d", 0, 2, K::F16), field("qs", 2, 16, K::Bits2)],
    ),
];

impl GgmlType {
    /// Looks up a `ggml_type` id; `None` for unknown and removed ids.
    pub fn from_id(id: u32) -> Option<GgmlType> {
        GGML_TYPES.iter().find(|row| row.id == id).map(|row| row.ty)
    }

    /// This type's row of [`GGML_TYPES`].
    pub fn info(self) -> &'static GgmlTypeInfo {
        GGML_TYPES
            .iter()
            .find(|row| row.ty == self)
            .unwrap_or(&GGML_TYPES[0])
    }

    /// The byte layout of this type: a [`ElementLayout::Block`] for quantised types, the plain
    /// element layout otherwise.
    pub fn layout(self) -> ElementLayout {
        let info = self.info();
        if info.fields.is_empty() {
            match self {
                GgmlType::F16 => ElementLayout::Float(FloatFormat::F16),
                GgmlType::BF16 => ElementLayout::Float(FloatFormat::BF16),
                GgmlType::F32 => ElementLayout::Float(FloatFormat::F32),
                GgmlType::F64 => ElementLayout::Float(FloatFormat::F64),
                // I8..I64: ggml's integer types are signed.
                _ => ElementLayout::Int {
                    bytes: info.block_bytes as u8,
                    signed: true,
                },
            }
        } else {
            ElementLayout::Block(BlockLayout {
                elements: info.block_elements,
                size_bytes: info.block_bytes,
                fields: info.fields,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QK_K: u32 = 256;

    /// Block sizes as ggml-common.h's static_asserts compute them.
    #[test]
    fn ggml_block_sizes_match_ggml_common_h() {
        let half = 2;
        let expected: &[(GgmlType, u32, u32)] = &[
            (GgmlType::Q4_0, 32, half + 32 / 2),
            (GgmlType::Q4_1, 32, 2 * half + 32 / 2),
            (GgmlType::Q5_0, 32, half + 4 + 32 / 2),
            (GgmlType::Q5_1, 32, 2 * half + 4 + 32 / 2),
            (GgmlType::Q8_0, 32, half + 32),
            (GgmlType::Q8_1, 32, 2 * half + 32),
            (GgmlType::Q2_K, QK_K, 2 * half + QK_K / 16 + QK_K / 4),
            (GgmlType::Q3_K, QK_K, half + QK_K / 4 + QK_K / 8 + 12),
            (GgmlType::Q4_K, QK_K, 2 * half + 12 + QK_K / 2),
            (GgmlType::Q5_K, QK_K, 2 * half + 12 + QK_K / 2 + QK_K / 8),
            (GgmlType::Q6_K, QK_K, half + QK_K / 16 + 3 * QK_K / 4),
            (GgmlType::Q8_K, QK_K, 4 + QK_K + QK_K / 16 * 2),
            (GgmlType::IQ2_XXS, QK_K, half + QK_K / 8 * 2),
            (GgmlType::IQ2_XS, QK_K, half + QK_K / 8 * 2 + QK_K / 32),
            (GgmlType::IQ3_XXS, QK_K, half + 3 * (QK_K / 8)),
            (GgmlType::IQ1_S, QK_K, half + QK_K / 8 + QK_K / 16),
            (GgmlType::IQ4_NL, 32, half + 32 / 2),
            (GgmlType::IQ3_S, QK_K, half + 13 * (QK_K / 32) + QK_K / 64),
            (GgmlType::IQ2_S, QK_K, half + QK_K / 4 + QK_K / 16),
            (GgmlType::IQ4_XS, QK_K, half + 2 + QK_K / 64 + QK_K / 2),
            (GgmlType::IQ1_M, QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32),
            (
                GgmlType::TQ1_0,
                QK_K,
                half + QK_K / 64 + (QK_K - 4 * QK_K / 64) / 5,
            ),
            (GgmlType::TQ2_0, QK_K, half + QK_K / 4),
            (GgmlType::MXFP4, 32, 1 + 32 / 2),
            (GgmlType::NVFP4, 64, 64 / 16 + 64 / 2),
            (GgmlType::Q1_0, 128, half + 128 / 8),
            (GgmlType::Q2_0, 64, half + 64 / 4),
        ];
        for &(ty, elements, bytes) in expected {
            let info = ty.info();
            assert_eq!(
                (info.block_elements, info.block_bytes),
                (elements, bytes),
                "{}",
                info.name
            );
        }
    }

    #[test]
    fn ggml_ids_are_unique_and_removed_ids_are_unknown() {
        // One row per GgmlType variant (35 of them): info() relies on it.
        assert_eq!(GGML_TYPES.len(), 35);
        for (i, a) in GGML_TYPES.iter().enumerate() {
            assert_eq!(GgmlType::from_id(a.id), Some(a.ty));
            assert_eq!(a.ty.info().id, a.id);
            for b in &GGML_TYPES[i + 1..] {
                assert!(
                    a.id < b.id,
                    "table must be in id order: {} then {}",
                    a.name,
                    b.name
                );
            }
        }
        for removed in [4, 5, 31, 32, 33, 36, 37, 38, 43, u32::MAX] {
            assert_eq!(GgmlType::from_id(removed), None, "id {removed}");
        }
    }

    #[test]
    fn block_fields_tile_each_block() {
        for info in GGML_TYPES {
            let ElementLayout::Block(block) = info.ty.layout() else {
                assert!(info.fields.is_empty(), "{}", info.name);
                assert_eq!(info.block_elements, 1, "{}", info.name);
                continue;
            };
            let mut next = 0;
            for f in block.fields {
                assert_eq!(
                    f.offset, next,
                    "{}: gap or overlap before {}",
                    info.name, f.name
                );
                assert!(f.len > 0);
                next = f.offset + f.len;
            }
            assert_eq!(
                next, block.size_bytes,
                "{}: fields must end at the block size",
                info.name
            );
        }
    }

    #[test]
    fn storage_bytes_handles_blocks_and_sub_byte_types() {
        assert_eq!(DType::Ggml(GgmlType::Q8_0).storage_bytes(64), Some(68));
        assert_eq!(DType::Ggml(GgmlType::Q8_0).storage_bytes(33), None);
        assert_eq!(DType::Ggml(GgmlType::Q4_K).storage_bytes(512), Some(288));
        assert_eq!(DType::I4.storage_bytes(3), Some(2));
        assert_eq!(DType::C64.storage_bytes(2), Some(16));
        assert_eq!(DType::F32.storage_bytes(u64::MAX), None);
        assert_eq!(DType::String.storage_bytes(1), None);
    }

    #[test]
    fn every_format_code_maps_to_a_layout_with_a_unit() {
        for code in 0..=127 {
            if let Some(d) = DType::from_tflite(code) {
                assert!(d.layout().unit_bytes() >= 1, "{d}");
            }
        }
        for code in 0..=40 {
            if let Some(d) = DType::from_onnx(code) {
                assert!(d.layout().unit_bytes() >= 1, "{d}");
            }
        }
        assert_eq!(DType::from_tflite(9), Some(DType::I8));
        assert_eq!(DType::from_onnx(1), Some(DType::F32));
        assert_eq!(DType::from_safetensors("BF16"), Some(DType::BF16));
        assert_eq!(DType::from_ggml(8), Some(DType::Ggml(GgmlType::Q8_0)));
        assert_eq!(DType::from_ggml(30), Some(DType::BF16));
    }
}
