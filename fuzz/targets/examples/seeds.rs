//! Writes the seed corpora (`fuzz/seeds/<target>/`) and the starting regression inputs
//! (`fuzz/regressions/<target>/edge-*`): small generated models, the checked-in TFLite
//! fixture, and bundle headers and payloads built with the engine. Rerun it when a format
//! changes, then commit what changed:
//!
//! ```sh
//! cargo run -p mallorn-fuzz-targets --example seeds
//! ```

use std::path::{Path, PathBuf};

use mallorn_engine::bundle::{BundleIdentity, BundleRequest, build_bundle};
use mallorn_engine::delta::{DeltaCodec, EncodeOptions, encode};
use mallorn_engine::signing::SigningKey;
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::format::{ModelVersion, SIGNED_BUNDLE_PREFIX, model_id, sku_id};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Replaces `fuzz/<kind>/<target>/<prefix>*` with `files`, so reruns leave no stale seeds.
fn write(kind: &str, target: &str, prefix: &str, files: &[(&str, Vec<u8>)]) {
    let dir = fuzz_dir().join(kind).join(target);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(prefix)
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    for (name, bytes) in files {
        let name = format!("{prefix}{name}");
        assert!(
            mallorn_fuzz_targets::target(target).is_some(),
            "unknown target {target}"
        );
        std::fs::write(dir.join(&name), bytes).unwrap();
        println!("fuzz/{kind}/{target}/{name}: {} bytes", bytes.len());
    }
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited protobuf field.
fn field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
    varint(number << 3 | 2, out);
    varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

/// A protobuf varint field.
fn int_field(number: u64, value: u64, out: &mut Vec<u8>) {
    varint(number << 3, out);
    varint(value, out);
}

/// ONNX: a graph with a Constant node (a packed tensor attribute) and an initializer with raw
/// data.
fn onnx() -> Vec<u8> {
    let mut raw = Vec::new();
    int_field(1, 4, &mut raw);
    int_field(2, 1, &mut raw);
    field(8, b"w", &mut raw);
    field(9, &[7; 16], &mut raw);
    let mut packed = Vec::new();
    int_field(1, 2, &mut packed);
    int_field(2, 7, &mut packed);
    field(7, &[1, 0xFF, 0x01], &mut packed);
    let mut attr = Vec::new();
    field(1, b"value", &mut attr);
    field(5, &packed, &mut attr);
    let mut node = Vec::new();
    field(2, b"c", &mut node);
    field(4, b"Constant", &mut node);
    field(5, &attr, &mut node);
    let mut graph = Vec::new();
    field(1, &node, &mut graph);
    field(2, b"g", &mut graph);
    field(5, &raw, &mut graph);
    let mut model = Vec::new();
    int_field(1, 8, &mut model);
    field(2, b"mallorn-fuzz", &mut model);
    field(7, &graph, &mut model);
    model
}

/// GGUF v3: an alignment key, a string and a string array, and tensors of three types.
fn gguf() -> Vec<u8> {
    fn string(s: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&3u64.to_le_bytes());
    out.extend_from_slice(&3u64.to_le_bytes());
    string("general.alignment", &mut out);
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(&32u32.to_le_bytes());
    string("general.name", &mut out);
    out.extend_from_slice(&8u32.to_le_bytes());
    string("fuzz", &mut out);
    string("tokenizer.ggml.tokens", &mut out);
    out.extend_from_slice(&9u32.to_le_bytes());
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&2u64.to_le_bytes());
    string("a", &mut out);
    string("bc", &mut out);
    // (name, dims, type, offset): Q8_0 (34-byte blocks of 32), F32, F16.
    for (name, dims, ty, offset) in [
        ("blk.0.q", &[64u64][..], 8u32, 0u64),
        ("norm", &[8], 0, 96),
        ("emb", &[4, 2], 1, 128),
    ] {
        string(name, &mut out);
        out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in dims {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
    }
    out.resize(out.len().div_ceil(32) * 32, 0);
    out.extend((0..144).map(|i| i as u8));
    out
}

fn safetensors(header: &str, data_len: usize) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend((0..data_len).map(|i| i as u8));
    out
}

/// Deterministic bytes standing in for model weights.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// `base` with a few bytes changed and a tail of new bytes: a small update.
fn edited(base: &[u8], len: usize, seed: u32) -> Vec<u8> {
    let mut out: Vec<u8> = base.iter().copied().cycle().take(len).collect();
    for (i, b) in noise(len / 16, seed).into_iter().enumerate() {
        out[(i * 16 + seed as usize) % len] ^= b | 1;
    }
    out
}

/// Header target inputs: mode byte, signed header and signature, base image.
fn header_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let base = noise(1500, 1);
    let target = edited(&base, 1700, 2);
    let identity = BundleIdentity {
        model_id: model_id("fuzz-model"),
        sku_id: sku_id("fuzz-sku"),
        from_version: ModelVersion::new(2025, 1, 2),
        to_version: ModelVersion::new(2025, 3, 4),
        security_counter: 3,
        error_bound: None,
    };
    let options = EncodeOptions {
        chunk_align_log2: 6,
        format: mallorn_engine::delta::ModelFormat::Raw,
        ..EncodeOptions::default()
    };
    let bundle = |seed: u8| {
        let key = SigningKey::from_seed(&[seed; 32]).unwrap();
        let request = BundleRequest {
            base: Some(&base),
            result: &target,
            identity: identity.clone(),
            options,
            key: Some(&key),
        };
        build_bundle(&request).unwrap().bytes
    };
    // 0x4d and 0x4e are the two keys the target trusts; 0x11 is unknown to it.
    let input = |mode: u8, bundle: &[u8], base: &[u8]| {
        let mut out = vec![mode];
        out.extend_from_slice(&bundle[..SIGNED_BUNDLE_PREFIX]);
        out.extend_from_slice(base);
        out
    };
    let (first, second, unknown) = (bundle(0x4d), bundle(0x4e), bundle(0x11));
    vec![
        // SKU and model taken from the header, counter 0: admitted, then the base checked.
        ("admitted", input(0x06, &first, &base)),
        ("admitted-second-key", input(0x06, &second, &base)),
        ("admitted-wrong-base", input(0x06, &first, &target)),
        // Counter 15 passes 3: refused as a replay.
        ("replay", input(0xf6, &first, &base)),
        // Device SKU and model zero: refused on identity.
        ("other-device", input(0x00, &first, &base)),
        ("unknown-key", input(0x06, &unknown, &base)),
        // Re-signed by the target with the fuzz key, magic forced.
        ("resigned", input(0x0f, &unknown, &base[..64])),
    ]
}

/// Payload target inputs: the control byte picks the profile (`% 3`), the result length
/// (`64 + (c >> 2) * 37`) and the fragment size; the payload turns the target's fixed base
/// into a result of that length.
fn payload_seeds() -> Vec<(String, Vec<u8>)> {
    let base: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
    let mut seeds = Vec::new();
    for (control, coder) in [
        (0x00u8, DeltaCodec::Smallest),
        (0x41, DeltaCodec::Smallest),
        (0x86, DeltaCodec::Smallest),
        (0xfe, DeltaCodec::Smallest),
        (0x2d, DeltaCodec::Fast),
        (0x9a, DeltaCodec::Fast),
    ] {
        let result_len = 64 + usize::from(control >> 2) * 37;
        let mut target = edited(&base[200..], result_len, u32::from(control));
        target[result_len / 2..].rotate_left(result_len / 5);
        let options = EncodeOptions {
            coder,
            profile: Profile::ALL[usize::from(control % 3)],
            chunk_align_log2: 6,
            chunk_len: 512,
            format: mallorn_engine::delta::ModelFormat::Raw,
            ..EncodeOptions::default()
        };
        let encoded = encode(Some(&base), &target, &options).expect("raw bytes always encode");
        let mut input = vec![control];
        input.extend_from_slice(encoded.payload.bytes());
        let coder = match coder {
            DeltaCodec::Smallest => "smallest",
            DeltaCodec::Fast => "fast",
        };
        seeds.push((format!("{coder}-{control:02x}"), input));
    }
    // Stored chunks only.
    let mut stored = mallorn_engine::bundle::PayloadBuilder::new(6);
    stored.push_stored(&base[..64 + 37]);
    let mut input = vec![0x04];
    input.extend_from_slice(stored.bytes());
    seeds.push(("stored-04".into(), input));
    seeds
}

fn main() {
    let tflite = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../mallorn-engine/tests/fixtures/tflm-micro-speech/micro_speech.tflite"),
    )
    .unwrap();
    let gguf = gguf();
    let onnx = onnx();
    let safetensors_small = safetensors(
        r#"{"__metadata__":{"a":"b"},"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"I64","shape":[1],"data_offsets":[12,20]}}"#,
        20,
    );
    let safetensors_dtypes = safetensors(
        r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[16,24]},"c":{"dtype":"U8","shape":[],"data_offsets":[24,25]},"d":{"dtype":"BOOL","shape":[0],"data_offsets":[25,25]},"e":{"dtype":"I8","shape":[3],"data_offsets":[25,28]}}   "#,
        28,
    );

    write(
        "seeds",
        "parse_tflite",
        "",
        &[("micro_speech.tflite", tflite.clone())],
    );
    write(
        "seeds",
        "parse_gguf",
        "",
        &[("synthetic.gguf", gguf.clone())],
    );
    write(
        "seeds",
        "parse_onnx",
        "",
        &[("synthetic.onnx", onnx.clone())],
    );
    write(
        "seeds",
        "parse_safetensors",
        "",
        &[
            ("small.safetensors", safetensors_small.clone()),
            ("dtypes.safetensors", safetensors_dtypes),
        ],
    );
    write(
        "seeds",
        "parse_any",
        "",
        &[
            ("micro_speech.tflite", tflite.clone()),
            ("synthetic.gguf", gguf.clone()),
            ("synthetic.onnx", onnx.clone()),
            ("small.safetensors", safetensors_small.clone()),
        ],
    );
    let header = header_seeds();
    write("seeds", "header", "", &header);
    let payload = payload_seeds();
    let payload: Vec<(&str, Vec<u8>)> = payload
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    write("seeds", "payload", "", &payload);

    // Edge cases for the regression folders (which must never be empty): truncations and
    // bare magics. Crash inputs from the fuzzer join them under their libFuzzer names.
    write(
        "regressions",
        "parse_tflite",
        "edge-",
        &[("truncated", tflite[..64].to_vec())],
    );
    write(
        "regressions",
        "parse_gguf",
        "edge-",
        &[("truncated", gguf[..40].to_vec())],
    );
    write(
        "regressions",
        "parse_onnx",
        "edge-",
        &[("truncated", onnx[..onnx.len() - 5].to_vec())],
    );
    write(
        "regressions",
        "parse_safetensors",
        "edge-",
        &[(
            "truncated",
            safetensors_small[..safetensors_small.len() - 3].to_vec(),
        )],
    );
    write(
        "regressions",
        "parse_any",
        "edge-",
        &[("gguf-magic", b"GGUF".to_vec()), ("empty", Vec::new())],
    );
    write(
        "regressions",
        "header",
        "edge-",
        &[("forced-magic", vec![0x08])],
    );
    write(
        "regressions",
        "payload",
        "edge-",
        &[("control-only", vec![0x00])],
    );
}
