//! Lossy releases: any model file, as the release, with a base that differs from it inside
//! its tensors. The derivation must not panic, and the proof must accept what it derived.

use mallorn_engine::lossy::{LossyError, shipped_lineage};
use mallorn_engine::model::{Region, parse};
use mallorn_manifest::{LossyPolicy, ModelFormat, Span, TensorBound};

/// `data` is the release; the base flips bits of every tensor byte by a pattern taken from
/// the first byte, so both parse alike and their weights differ.
pub fn lossy(data: &[u8]) {
    let Ok(map) = parse(data) else { return };
    let pattern = data.first().copied().unwrap_or(0) | 1;
    let mut base = data.to_vec();
    for region in &map.regions {
        if let Region::Tensor(_) = region {
            let range = region.offset() as usize..region.end() as usize;
            for (i, byte) in base[range].iter_mut().enumerate() {
                *byte ^= pattern.rotate_left(i as u32 % 8) & 0x0f;
            }
        }
    }
    let policy = LossyPolicy {
        default: TensorBound {
            max_abs_error: Some(1e-3),
            max_steps: Some(1),
        },
        exclude: Vec::new(),
        tensors: Vec::new(),
        span: Span::new(0, 0),
    };
    match shipped_lineage(&[&base, data], &[None, None], ModelFormat::Auto, &policy) {
        Ok(images) => assert_eq!(images[1].bytes.len(), data.len()),
        Err(LossyError::Parse { .. }) => {} // a tensor byte may be structural (a sparse index)
        Err(error) => panic!("derived image breaks its bound: {error:?}"),
    }
}
