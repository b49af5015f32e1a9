//! Which tensor of the previous shipped image each tensor of a release is derived from.
//!
//! By name first, occurrence by occurrence: a name may appear more than once (the two
//! branches of an ONNX `If` hold tensors of the same names, silero-vad's 8 and 16 kHz
//! networks), and each must meet its own counterpart. Tensors left over are paired in file
//! order among tensors of the same type and shape: converters rename tensors between
//! retrains (TFLite `model_1/stream_6/conv2d_5` becomes `model/stream/conv2d`). A pairing only
//! picks what the derivation starts from; the bound is always proved against the release.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::model::{DType, ModelMap, TensorRegion};

/// The counterpart in `base` of every tensor of `release` that has one, in release order.
pub(crate) fn counterparts<'m, 'a>(
    base: &'m ModelMap<'a>,
    release: &'m ModelMap<'a>,
) -> Vec<(&'m TensorRegion<'a>, &'m TensorRegion<'a>)> {
    let base_tensors: Vec<&TensorRegion<'a>> = base.tensors().collect();
    let by_name: HashMap<(&str, usize), usize> = named(base_tensors.iter().copied())
        .enumerate()
        .map(|(index, (key, _))| (key, index))
        .collect();
    let mut used = HashSet::new();
    let mut pairs = Vec::new();
    let mut unpaired = Vec::new();
    for (key, tensor) in named(release.tensors()) {
        match by_name
            .get(&key)
            .filter(|&&index| compatible(base_tensors[index], tensor))
        {
            Some(&index) => {
                used.insert(index);
                pairs.push((tensor, base_tensors[index]));
            }
            None => unpaired.push(tensor),
        }
    }
    let mut spare: HashMap<(DType, &[u64]), VecDeque<&TensorRegion<'a>>> = HashMap::new();
    for (index, old) in base_tensors.iter().enumerate() {
        if !used.contains(&index) {
            spare.entry(shape_key(old)).or_default().push_back(old);
        }
    }
    for tensor in unpaired {
        let queue = spare.get_mut(&shape_key(tensor));
        if let Some(old) = queue
            .and_then(VecDeque::pop_front)
            .filter(|old| compatible(old, tensor))
        {
            pairs.push((tensor, old));
        }
    }
    pairs
}

fn compatible(old: &TensorRegion<'_>, new: &TensorRegion<'_>) -> bool {
    old.dtype == new.dtype
        && old.len == new.len
        && old.layout == new.layout
        && old.shape == new.shape
}

fn shape_key<'m>(t: &'m TensorRegion<'_>) -> (DType, &'m [u64]) {
    (t.dtype, t.shape.as_slice())
}

/// Each tensor keyed by its name and occurrence of that name (1, 2, ...).
fn named<'m, 'a: 'm>(
    tensors: impl Iterator<Item = &'m TensorRegion<'a>>,
) -> impl Iterator<Item = ((&'m str, usize), &'m TensorRegion<'a>)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    tensors.map(move |t| {
        let count = seen.entry(t.name.as_ref()).or_default();
        *count += 1;
        ((t.name.as_ref(), *count), t)
    })
}
