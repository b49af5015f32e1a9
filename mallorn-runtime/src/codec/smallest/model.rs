//! The smallest codec's adaptive model state: one array of probabilities carved from the
//! caller's work buffer into context banks whose sizes the profile decides. In the `Tiny`
//! profile several roles share a bank, which is what keeps it within 2 KiB.

use super::lz;
use super::profile::{Params, Profile};
use super::values::{int8_residual_len, nibble_residual_len};
use crate::codec::layout::FieldKind;
use crate::codec::range::{PROB_INIT, Prob};

/// Probabilities of one Elias-gamma style integer bank: a 6-bit magnitude-class tree and,
/// when modelled, 2 mantissa bits per class.
const fn gamma_len(p: &Params) -> usize {
    64 + if p.mantissa_modelled { 64 * 4 } else { 0 }
}

/// Probabilities of one number bank (zero flag, sign, magnitude class, mantissa).
const fn number_len(p: &Params) -> usize {
    8 + 4 + (64 << p.k_buckets_log2) + if p.mantissa_modelled { 64 * 4 } else { 0 }
}

/// Number of op-header integer banks.
pub(crate) const GAMMA_BANKS: usize = 7;
/// Number kinds with banks (I16, I32, I64, F16, BF16, F32, F64).
pub(crate) const NUMBER_KINDS: usize = 7;

/// Where each context bank starts in the probability array.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Offsets {
    pub op_kind: usize,
    pub layout: usize,
    pub mode: usize,
    pub rep: usize,
    pub gamma: [usize; GAMMA_BANKS],
    /// Literal blocks: one per (position, previous byte) context, each `literal_block`
    /// probabilities (a 256-leaf tree, plus the matched-literal trees when the profile has
    /// them).
    pub glue_literal: usize,
    pub literal_block: usize,
    pub glue_flag: usize,
    /// The LZ model's bank (equal to `glue_literal` when the profile has no LZ model).
    pub lz: usize,
    pub int8_literal: usize,
    pub int8_residual: usize,
    pub nibble_literal: usize,
    pub nibble_residual: usize,
    /// `[kind][0 = aligned, 1 = literal]`
    pub number: [[usize; 2]; NUMBER_KINDS],
    /// F16, 8-bit exponent (BF16/F32/F64 low bits), F64 high exponent bits.
    pub exponent: [usize; 3],
    /// Mantissa-top trees for F16, BF16, F32, F64.
    pub mantissa: [usize; 4],
    pub sign: usize,
    pub xor_flag: usize,
    pub xor_byte: usize,
    pub total: usize,
}

struct Alloc {
    next: usize,
}

impl Alloc {
    const fn take(&mut self, n: usize) -> usize {
        let at = self.next;
        self.next += n;
        at
    }
}

/// Every profile's plan, worked out at compile time.
const TINY_PLAN: Offsets = plan(Profile::Tiny);
const COMPACT_PLAN: Offsets = plan(Profile::Compact);
const LARGE_PLAN: Offsets = plan(Profile::Large);

/// `profile`'s plan (see [`plan`]), computed by the compiler.
pub(crate) const fn planned(profile: Profile) -> &'static Offsets {
    match profile {
        Profile::Tiny => &TINY_PLAN,
        Profile::Compact => &COMPACT_PLAN,
        Profile::Large => &LARGE_PLAN,
    }
}

/// Lays out the banks of `profile`.
pub(crate) const fn plan(profile: Profile) -> Offsets {
    let p = profile.params();
    let mut a = Alloc { next: 0 };
    // 3-bit kind trees; contexts: the previous operation's kind, or 5 at a chunk's start.
    let op_kind = a.take(p.kind_contexts * 8);
    let layout = a.take(32);
    let mode = a.take(8);
    let rep = a.take(4);
    let mut gamma = [0; GAMMA_BANKS];
    let mut i = 0;
    while i < GAMMA_BANKS {
        gamma[i] = if i < p.gamma_banks {
            a.take(gamma_len(&p))
        } else {
            gamma[0]
        };
        i += 1;
    }
    let positions = if p.glue_position { 4 } else { 1 };
    let literal_block = if p.matched_literal { 0x300 } else { 0x100 };
    let glue_literal = a.take((positions << p.glue_prev_bits) * literal_block);
    let glue_flag = a.take(16);
    let lz = if p.lz {
        a.take(lz::BANK_LEN)
    } else {
        glue_literal
    };
    // Tiny shares the int8 tree with the opaque literals; the others give int8 its own.
    let int8_literal = if p.lz {
        a.take(256 << p.int8_buckets_log2)
    } else {
        glue_literal
    };
    let int8_residual = a.take(int8_residual_len(p.int8_buckets_log2));
    let nibble_literal = a.take(if p.glue_prev_bits == 0 { 16 } else { 16 * 16 });
    let nibble_residual = a.take(nibble_residual_len(
        p.int8_buckets_log2,
        p.glue_prev_bits != 0,
    ));
    let mut number = [[0; 2]; NUMBER_KINDS];
    let mut k = 0;
    while k < NUMBER_KINDS {
        let mut m = 0;
        while m < 2 {
            let shared_kind = !p.separate_kinds && k > 0;
            let shared_mode = !p.separate_modes && m > 0;
            number[k][m] = if shared_kind {
                number[0][m]
            } else if shared_mode {
                number[k][0]
            } else {
                a.take(number_len(&p))
            };
            m += 1;
        }
        k += 1;
    }
    let exp_ctx = 1 << p.exponent_buckets_log2;
    let exponent = [a.take(exp_ctx * 32), a.take(exp_ctx * 256), a.take(8)];
    let mantissa_len = if p.mantissa_modelled { 16 * 8 } else { 8 };
    let mantissa = [
        a.take(mantissa_len),
        a.take(mantissa_len),
        a.take(mantissa_len),
        a.take(mantissa_len),
    ];
    let sign = a.take(8);
    let xor_flag = a.take(8 * 4);
    let xor_byte = if p.separate_xor {
        a.take(8 * 256)
    } else {
        glue_literal
    };
    Offsets {
        op_kind,
        layout,
        mode,
        rep,
        gamma,
        glue_literal,
        literal_block,
        glue_flag,
        lz,
        int8_literal,
        int8_residual,
        nibble_literal,
        nibble_residual,
        number,
        exponent,
        mantissa,
        sign,
        xor_flag,
        xor_byte,
        total: a.next,
    }
}

/// Bytes of model state for `profile`.
pub const fn model_bytes(profile: Profile) -> usize {
    planned(profile).total * core::mem::size_of::<Prob>()
}

/// The model state in use.
pub(crate) struct Model<'m> {
    pub p: &'m mut [Prob],
    /// The profile's plan, from [`planned`]: a reference, so that the model and every frame
    /// that copies its offsets stay small.
    pub o: &'static Offsets,
    pub params: Params,
}

impl<'m> Model<'m> {
    /// Carves the model out of `probs` (at least `plan(profile).total` long) and resets it.
    pub(crate) fn new(profile: Profile, probs: &'m mut [Prob]) -> Self {
        let o = planned(profile);
        let p = &mut probs[..o.total];
        p.fill(PROB_INIT);
        Self {
            p,
            o,
            params: profile.params(),
        }
    }

    /// Uses `probs` as the model of `profile` as it stands (an earlier `new` initialised it).
    pub(crate) fn attach(profile: Profile, probs: &'m mut [Prob]) -> Self {
        let o = planned(profile);
        Self {
            p: &mut probs[..o.total],
            o,
            params: profile.params(),
        }
    }

    /// The number bank for `kind` in aligned (0) or literal (1) mode.
    pub(crate) fn number_bank(&self, kind: FieldKind, literal: bool) -> usize {
        self.o.number[kind.number_index()][usize::from(literal)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_profile_fits_two_kib() {
        assert!(
            model_bytes(Profile::Tiny) <= 2048,
            "{}",
            model_bytes(Profile::Tiny)
        );
    }

    #[test]
    fn profiles_grow() {
        let sizes = Profile::ALL.map(model_bytes);
        assert!(sizes[0] < sizes[1] && sizes[1] < sizes[2], "{sizes:?}");
        assert!(sizes[1] <= 18 * 1024 && sizes[2] <= 36 * 1024, "{sizes:?}");
    }
}
