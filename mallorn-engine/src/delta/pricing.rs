//! Prices candidate operations with the real model: a cost-only encoder that follows the
//! plan as it is decided, cloned to try each alternative.
//!
//! It follows the plan the way the payload is coded: the coder restarts its model at every
//! chunk boundary (see [`super::chunking`]), so the pricer does too, and what a committed
//! operation produces before the last boundary it crosses is never run through the model.
//! Committing a large tensor thus costs at most one chunk of modelling, however large it is.

use mallorn_runtime::codec::op::Op;
use mallorn_runtime::codec::range::cost::CostCoder;
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::codec::smallest::encoder::ChunkEncoder;

use super::chunking;

/// A cost-only encoder tracking the plan so far, in the chunk the plan has reached.
#[derive(Debug, Clone)]
pub struct Pricer {
    encoder: ChunkEncoder<CostCoder>,
    profile: Profile,
    /// Result bytes per chunk.
    chunk_len: u64,
    /// Result offset where the current chunk ends.
    chunk_end: u64,
}

impl Pricer {
    /// A pricer at the start of the result, for a payload cut into chunks of `chunk_len`
    /// result bytes.
    pub fn new(profile: Profile, chunk_len: u64) -> Self {
        assert!(chunk_len > 0, "chunks produce bytes");
        Self {
            encoder: ChunkEncoder::pricing(profile, 0),
            profile,
            chunk_len,
            chunk_end: chunk_len,
        }
    }

    /// Cost of `ops` (producing `result[pos..]`) from the current state, in 1/256 bit,
    /// without committing them.
    pub fn price(&self, ops: &[Op], base: &[u8], result: &[u8], pos: u64) -> u64 {
        let mut trial = self.encoder.clone();
        let before = trial.cost();
        run(&mut trial, ops, base, result, pos);
        trial.cost() - before
    }

    /// Commits `ops` (producing `result[pos..]`). When they reach the end of the current
    /// chunk, the model restarts at the last chunk boundary they reach, as the coder's does,
    /// and only what they produce after it is modelled.
    pub fn commit(&mut self, ops: &[Op], base: &[u8], result: &[u8], pos: u64) {
        let end = pos + ops.iter().map(Op::output_len).sum::<u64>();
        if end < self.chunk_end {
            run(&mut self.encoder, ops, base, result, pos);
            return;
        }
        let restart = end / self.chunk_len * self.chunk_len;
        self.encoder = ChunkEncoder::pricing(self.profile, restart);
        self.chunk_end = restart + self.chunk_len;
        if restart < end {
            let tail = chunking::after(ops, pos, restart);
            run(&mut self.encoder, &tail, base, result, restart);
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

    /// The coder profile it prices for.
    pub fn profile(&self) -> Profile {
        self.profile
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

/// Runs `ops`, which produce `result[pos..]`, through `encoder`.
fn run(encoder: &mut ChunkEncoder<CostCoder>, ops: &[Op], base: &[u8], result: &[u8], pos: u64) {
    let mut at = pos;
    for op in ops {
        encoder.op(op, base, result, at);
        at += op.output_len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mallorn_runtime::codec::layout::LayoutId;
    use mallorn_runtime::codec::smallest::ops::Residual;

    /// A result of `len` bytes that differs from its base in every 7th byte.
    fn pair(len: usize) -> (Vec<u8>, Vec<u8>) {
        let base: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let mut result = base.clone();
        for i in (0..len).step_by(7) {
            result[i] = result[i].wrapping_add(3);
        }
        (base, result)
    }

    fn aligned(count: u64, offset: u64) -> Op {
        Op::Aligned {
            layout: LayoutId::I8,
            residual: Residual::Sub,
            count,
            offset,
        }
    }

    #[test]
    fn a_commit_across_a_chunk_boundary_leaves_the_coders_state_at_that_boundary() {
        let (base, result) = pair(3000);
        let mut pricer = Pricer::new(Profile::Large, 1024);
        pricer.commit(&[aligned(2500, 0)], &base, &result, 0);
        // What the coder holds after the chunk that starts at 2048.
        let mut coder = Pricer::new(Profile::Large, 1024);
        coder.encoder = ChunkEncoder::pricing(Profile::Large, 2048);
        coder.commit(&[aligned(452, 2048)], &base, &result, 2048);
        let next = [aligned(500, 2500)];
        assert_eq!(
            pricer.price(&next, &base, &result, 2500),
            coder.price(&next, &base, &result, 2500)
        );
        // A pricer that never restarted has learnt from more bytes, and prices differently.
        let mut unchunked = Pricer::new(Profile::Large, 1 << 40);
        unchunked.commit(&[aligned(2500, 0)], &base, &result, 0);
        assert_ne!(
            unchunked.price(&next, &base, &result, 2500),
            pricer.price(&next, &base, &result, 2500)
        );
    }

    #[test]
    fn a_commit_ending_on_a_boundary_restarts_the_model_empty() {
        let (base, result) = pair(3000);
        let mut pricer = Pricer::new(Profile::Large, 1024);
        pricer.commit(&[aligned(1024, 0)], &base, &result, 0);
        let fresh = Pricer {
            encoder: ChunkEncoder::pricing(Profile::Large, 1024),
            ..Pricer::new(Profile::Large, 1024)
        };
        let next = [aligned(100, 1024)];
        assert_eq!(
            pricer.price(&next, &base, &result, 1024),
            fresh.price(&next, &base, &result, 1024)
        );
    }
}
