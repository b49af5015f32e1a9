//! Tensors that a new release rearranges without changing their values (q, k and v fused
//! into one qkv tensor, or a fused tensor split again) are copies of base bytes at another
//! place: a bundle costs about what a generic delta tool pays for them, not a re-send.

use mallorn_engine::delta::{DeltaCodec, EncodeOptions};
use mallorn_tests::round_trip_len;

/// A safetensors file of F16 tensors `(name, values)`, in rows of 256 values.
fn safetensors(tensors: &[(&str, &[u16])]) -> Vec<u8> {
    let mut header = String::from("{");
    let mut data = Vec::new();
    for (i, (name, values)) in tensors.iter().enumerate() {
        let start = data.len();
        for v in values.iter() {
            data.extend_from_slice(&v.to_le_bytes());
        }
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            "\"{name}\":{{\"dtype\":\"F16\",\"shape\":[{},256],\"data_offsets\":[{start},{}]}}",
            values.len() / 256,
            data.len()
        ));
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&data);
    out
}

/// Trained-looking f16 weights: random mantissas, exponents of values around 0.02.
fn weights(seed: u64, n: usize) -> Vec<u16> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let sign = ((s >> 40) as u16 & 1) << 15;
            let exponent = (8 + (s >> 50) as u16 % 4) << 10;
            sign | exponent | (s as u16 & 0x3ff)
        })
        .collect()
}

#[test]
fn fused_and_split_tensors_are_copied_from_the_base() {
    let (q, k, v) = (
        weights(1, 256 * 256),
        weights(2, 256 * 256),
        weights(3, 256 * 256),
    );
    // Over 1 MiB, so that the default effort plans the model once, tensor by tensor.
    let embedding = weights(4, 2048 * 256);
    let qkv: Vec<u16> = [&q[..], &k[..], &v[..]].concat();
    let separate = safetensors(&[("emb", &embedding), ("q", &q), ("k", &k), ("v", &v)]);
    let fused = safetensors(&[("emb", &embedding), ("qkv", &qkv)]);
    for (old, new, what) in [(&separate, &fused, "fused"), (&fused, &separate, "split")] {
        for coder in [DeltaCodec::Smallest, DeltaCodec::Fast] {
            let options = EncodeOptions {
                coder,
                ..EncodeOptions::default()
            };
            let len = round_trip_len(old, new, options);
            // zstd --patch-from and xdelta3 need under 300 bytes; re-sending the 384 KiB of
            // rearranged weights costs over 300 KiB.
            assert!(
                len < 2048,
                "{what} q/k/v ({coder:?}): {len} bytes for {} bytes of NEW",
                new.len()
            );
        }
    }
}

#[test]
fn a_tensor_repeated_in_the_new_release_is_copied_from_the_result() {
    // Tied weights stored twice: the retrained embedding is also the output projection, so
    // the second copy is a copy of bytes the bundle has just written.
    let old_embedding = weights(1, 2048 * 256);
    let embedding = weights(2, 2048 * 256);
    let q = weights(3, 256 * 256);
    let old = safetensors(&[("emb", &old_embedding), ("q", &q)]);
    let new = safetensors(&[("emb", &embedding), ("q", &q), ("lm_head", &embedding)]);
    for coder in [DeltaCodec::Smallest, DeltaCodec::Fast] {
        let options = EncodeOptions {
            coder,
            ..EncodeOptions::default()
        };
        let once = round_trip_len(
            &old,
            &safetensors(&[("emb", &embedding), ("q", &q)]),
            options,
        );
        let twice = round_trip_len(&old, &new, options);
        assert!(
            twice < once + 1024,
            "{coder:?}: {twice} bytes with the embedding twice, {once} with it once"
        );
    }
}
