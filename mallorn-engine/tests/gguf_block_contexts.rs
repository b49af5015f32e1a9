//! The smallest codec reads a GGUF block's byte fields as context for its 4-bit quants: a
//! flipped Q5 high bit announces a changed low nibble, a moved K-quant sub-block scale
//! announces changes in that sub-block. Each test codes the same amount of change twice,
//! once where the byte fields announce it and once elsewhere, round-trips both through the
//! runtime's decoder, and requires the announced changes to be clearly cheaper.

use mallorn_engine::bundle::{BundleIdentity, apply_bundle};
use mallorn_engine::delta::{EncodeOptions, encode_plan};
use mallorn_runtime::codec::layout::LayoutId;
use mallorn_runtime::codec::op::Op;
use mallorn_runtime::codec::smallest::ops::Residual;

const BLOCKS: usize = 600;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Payload bytes of `new` coded against `old` as one aligned run of `layout` blocks, after
/// checking that the bundle reproduces `new`.
fn payload(layout: LayoutId, old: &[u8], new: &[u8]) -> usize {
    let ops = [Op::Aligned {
        layout,
        residual: Residual::Sub,
        count: (new.len() / layout.element_size()) as u64,
        offset: 0,
    }];
    let payload = encode_plan(old, new, &ops, &EncodeOptions::default());
    let (_, bundle) = payload.unsigned_bundle(&BundleIdentity::default(), Some(old), new);
    assert_eq!(apply_bundle(&bundle, old).unwrap(), new, "{layout:?}");
    payload.bytes().len()
}

/// Adds 1 (modulo 16) to the low or high 4-bit value of byte `byte` of a nibble field.
fn bump_nibble(qs: &mut [u8], byte: usize, high: bool) {
    let shift = if high { 4 } else { 0 };
    let n = (qs[byte] >> shift).wrapping_add(1) & 15;
    qs[byte] = (qs[byte] & !(15 << shift)) | (n << shift);
}

/// `BLOCKS` blocks of `old` and `new`, each pair of blocks made by `block` from `rng`.
fn pair(mut rng: Rng, mut block: impl FnMut(&mut Rng) -> (Vec<u8>, Vec<u8>)) -> (Vec<u8>, Vec<u8>) {
    let mut old = Vec::new();
    let mut new = Vec::new();
    for _ in 0..BLOCKS {
        let (before, after) = block(&mut rng);
        old.extend(before);
        new.extend(after);
    }
    (old, new)
}

/// Payload bytes of the same change announced by the block's byte fields and made elsewhere:
/// `make(true)` and `make(false)` coded as `layout` blocks.
fn announced_and_elsewhere(
    layout: LayoutId,
    make: impl Fn(bool) -> (Vec<u8>, Vec<u8>),
) -> (usize, usize) {
    let (old, new) = make(true);
    let announced = payload(layout, &old, &new);
    let (old, new) = make(false);
    (announced, payload(layout, &old, &new))
}

/// Q5_0 blocks (f16 scale, 4 bytes of high bits, 16 bytes of nibbles) with two high bits
/// flipped per block; the nibbles that change are those quants' own (`announced`) or two
/// other quants'.
fn q5_0_pair(announced: bool) -> (Vec<u8>, Vec<u8>) {
    pair(Rng(0x9e37_79b9_7f4a_7c15), |rng| {
        let mut block = vec![0x00, 0x3c];
        block.extend(rng.bytes(20));
        let mut changed = block.clone();
        let a = rng.below(32);
        let b = (a + 1 + rng.below(31)) % 32;
        for quant in [a, b] {
            changed[2 + quant / 8] ^= 1 << (quant % 8);
            let nibble = if announced { quant } else { (quant + 7) % 32 };
            bump_nibble(&mut changed[6..], nibble % 16, nibble >= 16);
        }
        (block, changed)
    })
}

#[test]
fn q5_flipped_high_bits_announce_nibble_changes() {
    let (announced, elsewhere) = announced_and_elsewhere(LayoutId::GgufQ5_0, q5_0_pair);
    assert!(
        (announced as f64) < 0.85 * elsewhere as f64,
        "announced {announced} vs elsewhere {elsewhere}"
    );
}

/// Q4_K super-blocks (d, dmin, 12 packed scale bytes, 128 nibble bytes): per block one
/// sub-block's packed scale moves, and eight quants change, in that sub-block (`announced`)
/// or in another one whose scale stayed.
fn q4_k_pair(announced: bool) -> (Vec<u8>, Vec<u8>) {
    pair(Rng(0x2545_f491_4f6c_dd1d), |rng| {
        let mut block = vec![0x00, 0x3c, 0x00, 0x38];
        block.extend(rng.bytes(140));
        let mut changed = block.clone();
        let moved = rng.below(4);
        // Sub-block `moved` < 4: its 6-bit scale is the low bits of scale byte `moved`.
        changed[4 + moved] =
            (changed[4 + moved] & 0xc0) | (changed[4 + moved].wrapping_add(1) & 63);
        let sub = if announced { moved } else { (moved + 1) % 4 };
        // Sub-block `sub` = 2 * (byte / 32) + high: bytes 32 * (sub / 2) .., nibble sub % 2.
        for k in 0..8 {
            let byte = 32 * (sub / 2) + (k * 4 + rng.below(4));
            bump_nibble(&mut changed[16..], byte, sub % 2 == 1);
        }
        (block, changed)
    })
}

#[test]
fn k_quant_sub_block_scales_announce_nibble_changes() {
    let (announced, elsewhere) = announced_and_elsewhere(LayoutId::GgufQ4K, q4_k_pair);
    assert!(
        (announced as f64) < 0.9 * elsewhere as f64,
        "announced {announced} vs elsewhere {elsewhere}"
    );
}
