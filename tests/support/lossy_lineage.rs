//! A synthetic model lineage for lossy-release tests: safetensors files with f32, f16 and
//! bf16 tensors whose weights take a small, deterministic retrain step per release, and the
//! bound each tensor gets under [`LOSSY_TABLE`].

/// The `[model.lossy]` table the bounds of [`TENSORS`] come from.
pub const LOSSY_TABLE: &str = r#"
[model.lossy]
max-abs-error = 2e-3
exclude = ["*norm*"]
[[model.lossy.tensor]]
pattern = "head.*"
max-abs-error = 1e-2
"#;

/// (name, dtype, elements, bound): the tensors of the synthetic model. `None`: exact.
pub const TENSORS: [(&str, &str, usize, Option<f64>); 4] = [
    ("layer.weight", "F32", 6000, Some(2e-3)),
    ("layer.norm", "F32", 256, None),
    ("head.weight", "F16", 2000, Some(1e-2)),
    ("embed.weight", "BF16", 1000, Some(2e-3)),
];

/// A deterministic pseudo-random value in [-1, 1).
fn noise(seed: u64) -> f64 {
    let mut x = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(0x2545_f491_4f6c_dd1d);
    x ^= x >> 29;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 32;
    (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// The weights of release `n`: a random start, then a small retrain step per release.
fn weights(tensor: usize, n: usize, len: usize) -> Vec<f64> {
    (0..len)
        .map(|i| {
            let seed = (tensor as u64) << 40 | i as u64;
            0.1 * noise(seed)
                + (1..=n)
                    .map(|k| 0.004 * noise(seed ^ (k as u64) << 56))
                    .sum::<f64>()
        })
        .collect()
}

fn encode(dtype: &str, value: f64) -> Vec<u8> {
    let f = value as f32;
    match dtype {
        "F32" => f.to_le_bytes().to_vec(),
        "BF16" => ((f.to_bits() >> 16) as u16).to_le_bytes().to_vec(),
        _ => f16_bits(f).to_le_bytes().to_vec(),
    }
}

/// f32 to binary16, round to nearest; magnitudes under f16's normal range become zero.
fn f16_bits(f: f32) -> u16 {
    if f == 0.0 {
        return 0;
    }
    let bits = f.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    if exponent < 1 {
        return sign;
    }
    assert!(exponent < 31, "test weights stay under f16's largest value");
    let mantissa = bits & 0x7f_ffff;
    let rounded = (mantissa + 0x1000) >> 13;
    sign | (((exponent as u32) << 10) + rounded) as u16
}

/// The value of one element of type `dtype` (`F32`, `F16` or `BF16`).
pub fn decode(dtype: &str, bytes: &[u8]) -> f64 {
    match dtype {
        "F32" => f64::from(f32::from_le_bytes(bytes.try_into().unwrap())),
        "BF16" => f64::from(f32::from_bits(
            u32::from(u16::from_le_bytes([bytes[0], bytes[1]])) << 16,
        )),
        _ => {
            let h = u16::from_le_bytes([bytes[0], bytes[1]]);
            let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
            let exponent = i32::from((h >> 10) & 0x1f);
            let mantissa = f64::from(h & 0x3ff);
            if exponent == 0 {
                sign * mantissa * 2f64.powi(-24)
            } else {
                sign * (1.0 + mantissa / 1024.0) * 2f64.powi(exponent - 15)
            }
        }
    }
}

/// Bytes of one element of type `dtype`.
pub fn size(dtype: &str) -> usize {
    if dtype == "F32" { 4 } else { 2 }
}

/// Release `n` as a safetensors file, with each tensor's byte range.
pub fn release(n: usize) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let mut data = Vec::new();
    let mut header = Vec::new();
    let mut ranges = Vec::new();
    for (t, (name, dtype, len, _)) in TENSORS.iter().enumerate() {
        let start = data.len();
        for w in weights(t, n, *len) {
            data.extend(encode(dtype, w));
        }
        header.push(format!(
            "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{len}],\"data_offsets\":[{start},{}]}}",
            data.len()
        ));
        ranges.push(start..data.len());
    }
    let mut json = format!("{{{}}}", header.join(","));
    while (8 + json.len()) % 8 != 0 {
        json.push(' ');
    }
    let prefix = 8 + json.len();
    let mut file = (json.len() as u64).to_le_bytes().to_vec();
    file.extend(json.as_bytes());
    file.extend(data);
    (
        file,
        ranges
            .into_iter()
            .map(|r| r.start + prefix..r.end + prefix)
            .collect(),
    )
}

/// Mallorn.toml for releases `1.0.0..=<releases>.0.0` of model `synth` (files
/// `r<n>.safetensors`) under [`LOSSY_TABLE`], with `extra` in the model's table (a gate), on one
/// target `board`.
pub fn manifest(releases: usize, extra: &str) -> String {
    let mut text = format!(
        "schema-version = 1\n[[model]]\nname = \"synth\"\nformat = \"safetensors\"\n{LOSSY_TABLE}{extra}\n"
    );
    for n in 1..=releases {
        text += &format!("[[model.release]]\nversion = \"{n}.0.0\"\npath = \"r{n}.safetensors\"\n");
    }
    text += r#"
[[target]]
sku = "board"
ram-buffer = "16KiB"
[target.flash]
base = 0
size = "1MiB"
erase-size = "4KiB"
write-size = 4
[target.models.synth]
slot-a = { offset = "0KiB", size = "128KiB" }
slot-b = { offset = "128KiB", size = "128KiB" }
state = { offset = "256KiB", size = "8KiB" }
"#;
    text
}
