//! Element layouts the codecs know: what the bytes of a tensor element (or of a quantised
//! block) mean, so that residuals are taken in the element's own domain and each field is
//! coded with its own statistics. The encoder names a layout per operation; the decoder never
//! parses a model file.

/// The kind of one field of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Opaque bytes (graph, metadata, anything without a known type).
    U8,
    /// Signed 8-bit quantised values.
    I8,
    /// A byte holding two 4-bit quantised values, low nibble first.
    Nibbles,
    /// Little-endian 16-bit integer.
    I16,
    /// Little-endian 32-bit integer.
    I32,
    /// Little-endian 64-bit integer.
    I64,
    /// IEEE half precision.
    F16,
    /// bfloat16.
    BF16,
    /// IEEE single precision.
    F32,
    /// IEEE double precision.
    F64,
}

impl FieldKind {
    /// Bytes of one value.
    pub const fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 | Self::Nibbles => 1,
            Self::I16 | Self::F16 | Self::BF16 => 2,
            Self::I32 | Self::F32 => 4,
            Self::I64 | Self::F64 => 8,
        }
    }

    /// Whether values are IEEE-style floats (sign, exponent, mantissa).
    pub const fn is_float(self) -> bool {
        matches!(self, Self::F16 | Self::BF16 | Self::F32 | Self::F64)
    }

    /// Exponent bits of a float kind (0 for integers).
    pub const fn exponent_bits(self) -> u32 {
        match self {
            Self::F16 => 5,
            Self::BF16 | Self::F32 => 8,
            Self::F64 => 11,
            _ => 0,
        }
    }

    /// Bit width of the value.
    // `size()` is at most 8.
    #[allow(clippy::cast_possible_truncation)]
    pub const fn bits(self) -> u32 {
        self.size() as u32 * 8
    }

    /// Index of this kind among the multi-byte number kinds (I16..=F64), used to pick a
    /// context bank.
    pub const fn number_index(self) -> usize {
        match self {
            Self::I16 => 0,
            Self::I32 => 1,
            Self::I64 => 2,
            Self::F16 => 3,
            Self::BF16 => 4,
            Self::F32 => 5,
            Self::F64 => 6,
            _ => 0,
        }
    }
}

/// A run of `count` values of one kind inside an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Value kind.
    pub kind: FieldKind,
    /// Number of values.
    pub count: u16,
}

use FieldKind::*;

/// Layouts by id. The id is what the bundle carries; the table is part of the wire format
/// and only grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LayoutId {
    /// Opaque bytes.
    Bytes = 0,
    /// int8 / uint8 quantised values.
    I8 = 1,
    /// 16-bit integers.
    I16 = 2,
    /// 32-bit integers.
    I32 = 3,
    /// 64-bit integers.
    I64 = 4,
    /// Half floats.
    F16 = 5,
    /// bfloat16.
    BF16 = 6,
    /// Single floats.
    F32 = 7,
    /// Double floats.
    F64 = 8,
    /// Packed 4-bit values.
    Nibbles = 9,
    /// GGUF Q4_0: f16 scale, 32 4-bit values.
    GgufQ4_0 = 16,
    /// GGUF Q4_1: f16 scale and min, 32 4-bit values.
    GgufQ4_1 = 17,
    /// GGUF Q5_0: f16 scale, high bits, 32 4-bit low parts.
    GgufQ5_0 = 18,
    /// GGUF Q5_1: f16 scale and min, high bits, 32 4-bit low parts.
    GgufQ5_1 = 19,
    /// GGUF Q8_0: f16 scale, 32 int8 values.
    GgufQ8_0 = 20,
    /// GGUF Q8_1: f16 scale and sum, 32 int8 values.
    GgufQ8_1 = 21,
    /// GGUF Q2_K super-block.
    GgufQ2K = 22,
    /// GGUF Q3_K super-block.
    GgufQ3K = 23,
    /// GGUF Q4_K super-block.
    GgufQ4K = 24,
    /// GGUF Q5_K super-block.
    GgufQ5K = 25,
    /// GGUF Q6_K super-block.
    GgufQ6K = 26,
    /// GGUF Q8_K super-block.
    GgufQ8K = 27,
}

impl LayoutId {
    /// Every layout, in id order.
    pub const ALL: [LayoutId; 22] = [
        Self::Bytes,
        Self::I8,
        Self::I16,
        Self::I32,
        Self::I64,
        Self::F16,
        Self::BF16,
        Self::F32,
        Self::F64,
        Self::Nibbles,
        Self::GgufQ4_0,
        Self::GgufQ4_1,
        Self::GgufQ5_0,
        Self::GgufQ5_1,
        Self::GgufQ8_0,
        Self::GgufQ8_1,
        Self::GgufQ2K,
        Self::GgufQ3K,
        Self::GgufQ4K,
        Self::GgufQ5K,
        Self::GgufQ6K,
        Self::GgufQ8K,
    ];

    /// Decodes a layout id.
    pub fn from_u8(id: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|l| *l as u8 == id)
    }

    /// The fields of one element, in byte order.
    pub const fn fields(self) -> &'static [Field] {
        match self {
            Self::Bytes => &[Field { kind: U8, count: 1 }],
            Self::I8 => &[Field { kind: I8, count: 1 }],
            Self::I16 => &[Field {
                kind: I16,
                count: 1,
            }],
            Self::I32 => &[Field {
                kind: I32,
                count: 1,
            }],
            Self::I64 => &[Field {
                kind: I64,
                count: 1,
            }],
            Self::F16 => &[Field {
                kind: F16,
                count: 1,
            }],
            Self::BF16 => &[Field {
                kind: BF16,
                count: 1,
            }],
            Self::F32 => &[Field {
                kind: F32,
                count: 1,
            }],
            Self::F64 => &[Field {
                kind: F64,
                count: 1,
            }],
            Self::Nibbles => &[Field {
                kind: Nibbles,
                count: 1,
            }],
            Self::GgufQ4_0 => &[
                Field {
                    kind: F16,
                    count: 1,
                },
                Field {
                    kind: Nibbles,
                    count: 16,
                },
            ],
            Self::GgufQ4_1 => &[
                Field {
                    kind: F16,
                    count: 2,
                },
                Field {
                    kind: Nibbles,
                    count: 16,
                },
            ],
            Self::GgufQ5_0 => &[
                Field {
                    kind: F16,
                    count: 1,
                },
                Field { kind: U8, count: 4 },
                Field {
                    kind: Nibbles,
                    count: 16,
                },
            ],
            Self::GgufQ5_1 => &[
                Field {
                    kind: F16,
                    count: 2,
                },
                Field { kind: U8, count: 4 },
                Field {
                    kind: Nibbles,
                    count: 16,
                },
            ],
            Self::GgufQ8_0 => &[
                Field {
                    kind: F16,
                    count: 1,
                },
                Field {
                    kind: I8,
                    count: 32,
                },
            ],
            Self::GgufQ8_1 => &[
                Field {
                    kind: F16,
                    count: 2,
                },
                Field {
                    kind: I8,
                    count: 32,
                },
            ],
            Self::GgufQ2K => &[
                Field {
                    kind: U8,
                    count: 16,
                },
                Field {
                    kind: U8,
                    count: 64,
                },
                Field {
                    kind: F16,
                    count: 2,
                },
            ],
            Self::GgufQ3K => &[
                Field {
                    kind: U8,
                    count: 32,
                },
                Field {
                    kind: U8,
                    count: 64,
                },
                Field {
                    kind: U8,
                    count: 12,
                },
                Field {
                    kind: F16,
                    count: 1,
                },
            ],
            Self::GgufQ4K => &[
                Field {
                    kind: F16,
                    count: 2,
                },
                Field {
                    kind: U8,
                    count: 12,
                },
                Field {
                    kind: Nibbles,
                    count: 128,
                },
            ],
            Self::GgufQ5K => &[
                Field {
                    kind: F16,
                    count: 2,
                },
                Field {
                    kind: U8,
                    count: 12,
                },
                Field {
                    kind: U8,
                    count: 32,
                },
                Field {
                    kind: Nibbles,
                    count: 128,
                },
            ],
            Self::GgufQ6K => &[
                Field {
                    kind: Nibbles,
                    count: 128,
                },
                Field {
                    kind: U8,
                    count: 64,
                },
                Field {
                    kind: I8,
                    count: 16,
                },
                Field {
                    kind: F16,
                    count: 1,
                },
            ],
            Self::GgufQ8K => &[
                Field {
                    kind: F32,
                    count: 1,
                },
                Field {
                    kind: I8,
                    count: 256,
                },
                Field {
                    kind: I16,
                    count: 16,
                },
            ],
        }
    }

    /// Bytes of one element.
    pub const fn element_size(self) -> usize {
        let fields = self.fields();
        let mut total = 0;
        let mut i = 0;
        while i < fields.len() {
            total += fields[i].kind.size() * fields[i].count as usize;
            i += 1;
        }
        total
    }

    /// Largest value size of any field (the decoder's per-value scratch).
    pub const MAX_VALUE_SIZE: usize = 8;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gguf_block_sizes_match_ggml() {
        let expected = [
            (LayoutId::GgufQ4_0, 18),
            (LayoutId::GgufQ4_1, 20),
            (LayoutId::GgufQ5_0, 22),
            (LayoutId::GgufQ5_1, 24),
            (LayoutId::GgufQ8_0, 34),
            (LayoutId::GgufQ8_1, 36),
            (LayoutId::GgufQ2K, 84),
            (LayoutId::GgufQ3K, 110),
            (LayoutId::GgufQ4K, 144),
            (LayoutId::GgufQ5K, 176),
            (LayoutId::GgufQ6K, 210),
            (LayoutId::GgufQ8K, 292),
        ];
        for (layout, size) in expected {
            assert_eq!(layout.element_size(), size, "{layout:?}");
        }
    }

    #[test]
    fn ids_round_trip() {
        for layout in LayoutId::ALL {
            assert_eq!(LayoutId::from_u8(layout as u8), Some(layout));
        }
        assert_eq!(LayoutId::from_u8(200), None);
    }
}
