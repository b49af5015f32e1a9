//! Prices candidate operations with the real model: a cost-only encoder that follows the
//! plan as it is decided, cloned to try each alternative.

use mallorn_runtime::codec::op::Op;
use mallorn_runtime::codec::range::cost::CostCoder;
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::codec::smallest::encoder::ChunkEncoder;

/// A cost-only encoder tracking the plan so far.
#[derive(Debug, Clone)]
pub struct Pricer {
    encoder: ChunkEncoder<CostCoder>,
}

impl Pricer {
    /// A pricer at the start of the result.
    pub fn new(profile: Profile) -> Self {
        Self {
            encoder: ChunkEncoder::pricing(profile, 0),
        }
    }

    /// Cost of `ops` (producing `result[pos..]`) from the current state, in 1/256 bit,
    /// without committing them.
    pub fn price(&self, ops: &[Op], base: &[u8], result: &[u8], pos: u64) -> u64 {
        let mut trial = self.encoder.clone();
        let before = trial.cost();
        let mut at = pos;
        for op in ops {
            trial.op(op, base, result, at);
            at += op.output_len();
        }
        trial.cost() - before
    }

    /// Commits `ops`.
    pub fn commit(&mut self, ops: &[Op], base: &[u8], result: &[u8], pos: u64) {
        let mut at = pos;
        for op in ops {
            self.encoder.op(op, base, result, at);
            at += op.output_len();
        }
    }

    /// Picks the cheapest of `candidates`, commits it and returns its index and cost.
    pub fn choose(
        &mut self,
        candidates: &[Vec<Op>],
        base: &[u8],
        result: &[u8],
        pos: u64,
    ) -> (usize, u64) {
        let (best, cost) = candidates
            .iter()
            .enumerate()
            .map(|(i, ops)| (i, self.price(ops, base, result, pos)))
            .min_by_key(|&(i, cost)| (cost, i))
            .expect("at least one candidate");
        self.commit(&candidates[best], base, result, pos);
        (best, cost)
    }

    /// The LZ coder's repeat distances after the plan so far.
    pub fn lz_reps(&self) -> [u64; 4] {
        self.encoder.lz_state().reps
    }

    /// The base cursor of the plan so far.
    pub fn base_cursor(&self) -> u64 {
        self.encoder.base_cursor()
    }
}
