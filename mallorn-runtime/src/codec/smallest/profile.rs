//! Model-size profiles of the smallest codec. A profile fixes how many contexts each part of
//! the model has, and so the decoder's state size: from a 2 KiB `Tiny` profile for the
//! smallest microcontrollers to a `Large` one (about 35 KiB) for parts with RAM to spare. The bundle header
//! names the profile; the build picks the largest one that fits a target's RAM budget.

/// A model-size profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Profile {
    /// At most 2 KiB of model state: few contexts, banks shared between roles.
    Tiny = 0,
    /// About 17 KiB of model state.
    Compact = 1,
    /// About 35 KiB of model state: the most contexts.
    Large = 2,
}

impl Profile {
    /// Every profile, smallest first.
    pub const ALL: [Profile; 3] = [Profile::Tiny, Profile::Compact, Profile::Large];

    /// Decodes a profile byte.
    pub const fn from_u8(id: u8) -> Option<Self> {
        match id {
            0 => Some(Self::Tiny),
            1 => Some(Self::Compact),
            2 => Some(Self::Large),
            _ => None,
        }
    }

    /// Whether the profile has the LZ model for opaque bytes.
    pub const fn has_lz(self) -> bool {
        self.params().lz
    }

    /// The context sizing of this profile.
    pub(crate) const fn params(self) -> Params {
        match self {
            Self::Tiny => Params {
                glue_prev_bits: 0,
                glue_position: false,
                matched_literal: false,
                lz: false,
                kind_contexts: 3,
                separate_xor: false,
                int8_buckets_log2: 0,
                exponent_buckets_log2: 0,
                k_buckets_log2: 0,
                gamma_banks: 1,
                separate_modes: false,
                separate_kinds: false,
                mantissa_modelled: false,
            },
            Self::Compact => Params {
                glue_prev_bits: 0,
                glue_position: true,
                matched_literal: true,
                lz: true,
                kind_contexts: 6,
                separate_xor: false,
                int8_buckets_log2: 0,
                exponent_buckets_log2: 0,
                k_buckets_log2: 0,
                gamma_banks: 3,
                separate_modes: false,
                separate_kinds: true,
                mantissa_modelled: true,
            },
            Self::Large => Params {
                glue_prev_bits: 1,
                glue_position: true,
                matched_literal: true,
                lz: true,
                kind_contexts: 6,
                separate_xor: true,
                int8_buckets_log2: 0,
                exponent_buckets_log2: 0,
                k_buckets_log2: 0,
                gamma_banks: 7,
                separate_modes: true,
                separate_kinds: true,
                mantissa_modelled: true,
            },
        }
    }
}

/// Context sizing knobs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params {
    /// High bits of the previous byte used as context for opaque literals.
    pub glue_prev_bits: u32,
    /// Whether the output position modulo 4 is context for opaque bytes.
    pub glue_position: bool,
    /// Whether aligned opaque bytes use the LZMA matched-literal model.
    pub matched_literal: bool,
    /// Whether the LZ model (operations coding opaque bytes LZMA-style) is available.
    pub lz: bool,
    /// Contexts for an operation's kind, chosen by the previous kind: 6 (each kind, and a
    /// chunk's start) or 3 (copy from the result, literal, anything else).
    pub kind_contexts: usize,
    /// Whether XOR residual bytes have their own trees per byte position.
    pub separate_xor: bool,
    /// log2 of int8 literal context buckets.
    pub int8_buckets_log2: u32,
    /// log2 of float exponent context buckets.
    pub exponent_buckets_log2: u32,
    /// log2 of magnitude-class context buckets for numbers.
    pub k_buckets_log2: u32,
    /// Separate banks for the op-header integers (1 = all shared).
    pub gamma_banks: usize,
    /// Whether aligned and literal coding of numbers use separate banks.
    pub separate_modes: bool,
    /// Whether each number kind has its own bank.
    pub separate_kinds: bool,
    /// Whether the top mantissa bits below a leading one are modelled (else direct).
    pub mantissa_modelled: bool,
}
