//! A coder that only measures: it adapts probabilities exactly like the real coder and sums
//! the information content of each decision, so the encoder can price alternatives.

use super::{Coder, Prob, Schedule, adapt, p0};

/// Cost accumulator in 1/256 bit units.
#[derive(Debug, Clone, Default)]
pub struct CostCoder {
    /// Total cost so far, in 1/256 bit.
    pub cost: u64,
}

/// -log2(p / 65536) in 1/256 bit, tabulated on the top 8 bits of `p`... refined with 12 bits.
// Bit costs in 1/256 bit of probabilities >= 1/4096: at most 12 * 256.
// The table's entries are -log2 of a probability in (0, 1]: non-negative and below 2^12.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn log_cost(p: u32) -> u32 {
    // p in 1..=65535. Table of -log2(i/4096)*256 for i in 1..=4096, indexed by p >> 4.
    static TABLE: std::sync::OnceLock<[u32; 4097]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 4097];
        for (i, slot) in t.iter_mut().enumerate().skip(1) {
            *slot = (-(i as f64 / 4096.0).log2() * 256.0).round() as u32;
        }
        t[0] = t[1];
        t
    });
    table[(p >> 4).max(1) as usize]
}

impl CostCoder {
    /// Cost in bytes (rounded up).
    pub fn bytes(&self) -> u64 {
        self.cost.div_ceil(8 * 256)
    }
}

impl Coder for CostCoder {
    #[inline(always)]
    fn code(&mut self, p: &mut Prob, bit: u32, schedule: &'static Schedule) -> u32 {
        let p0 = p0(*p);
        self.cost += u64::from(if bit == 0 {
            log_cost(p0)
        } else {
            log_cost(65536 - p0)
        });
        adapt(p, bit, schedule);
        bit
    }

    #[inline(always)]
    fn direct(&mut self, value: u32, count: u32) -> u32 {
        self.cost += u64::from(count) * 256;
        value
    }
}
