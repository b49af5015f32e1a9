//! Hostile-input tests for the model parsers, on stable Rust: every corpus model (and the
//! checked-in fixture plus small synthetic files, so the test also runs without the corpus) is
//! truncated at many points, has bytes flipped and has 4- and 8-byte fields overwritten with
//! absurd counts and lengths. Every outcome must be an error or a map that still tiles the
//! file; no parse may panic, and no parse may allocate more than a small multiple of the file
//! size (a counting allocator checks this). Proptest adds random files behind each magic.

// The counting allocator below is the only unsafe code: it forwards to the system allocator.
#![allow(unsafe_code)]

#[path = "parsers_support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use mallorn_engine::model::{Format, ModelFile, parse, parse_as};
use proptest::prelude::*;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// Tracks the live and peak heap bytes of the current thread.
struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping only touches
// const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|live| {
            let now = live.get() + layout.size();
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(layout.size())));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Heap a parse of `len` bytes may use at most: generous for real maps (about 10x the file
/// for tensor-dense files), far below what an unchecked `with_capacity(count)` would take.
fn allocation_limit(len: usize) -> usize {
    64 * len + (1 << 20)
}

/// Parses `bytes` as `format` (or detected, if `None`), checking the invariants; returns
/// whether the parse succeeded.
fn check(bytes: &[u8], format: Option<Format>, what: &dyn Fn() -> String) -> bool {
    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let result = match format {
        Some(f) => parse_as(f, bytes),
        None => parse(bytes),
    };
    let peak = PEAK.with(Cell::get) - before;
    assert!(
        peak <= allocation_limit(bytes.len()),
        "{}: parse used {peak} bytes of heap for a {}-byte file",
        what(),
        bytes.len()
    );
    match result {
        Ok(map) => {
            assert_eq!(map.file_len, bytes.len() as u64, "{}", what());
            if let Err(e) = map.check_tiling() {
                panic!("{}: map does not tile the file: {e}", what());
            }
            true
        }
        Err(e) => {
            // Errors must say where: the offset lies within (or at the end of) the input.
            let points_outside =
                matches!(e.kind, mallorn_engine::model::ErrorKind::OutOfBounds { .. });
            assert!(
                e.offset <= bytes.len() as u64 || points_outside,
                "{}: {e}",
                what()
            );
            false
        }
    }
}

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Positions worth mutating: mostly structure (the opaque regions of the original map, where
/// headers and offsets live), some anywhere.
fn glue_positions(bytes: &[u8]) -> Vec<(u64, u64)> {
    let map = parse(bytes).expect("mutation inputs must parse");
    map.regions
        .iter()
        .filter(|r| matches!(r, mallorn_engine::model::Region::Opaque { .. }))
        .map(|r| (r.offset(), r.len()))
        .collect()
}

fn mutate_file(name: &str, original: &[u8], mutations: u64) {
    let format = parse(original).unwrap().format;
    let glue = glue_positions(original);
    let glue_total: u64 = glue.iter().map(|g| g.1).sum();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ original.len() as u64);
    let len = original.len() as u64;

    // Truncations: evenly spaced, every point in the first 64 bytes, and around each region.
    let mut cuts: Vec<u64> = (0..64)
        .map(|i| len * i / 64)
        .chain(0..64.min(len))
        .collect();
    for &(offset, glue_len) in &glue {
        cuts.extend([offset, offset + 1, offset + glue_len.saturating_sub(1)]);
    }
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts.into_iter().filter(|&c| c < len) {
        let bytes = &original[..cut as usize];
        check(bytes, Some(format), &|| {
            format!("{name} truncated to {cut}")
        });
        check(bytes, None, &|| {
            format!("{name} truncated to {cut} (detected)")
        });
    }

    let pick = |rng: &mut Rng| -> u64 {
        if glue_total > 0 && rng.below(4) != 0 {
            let mut at = rng.below(glue_total);
            for &(offset, glue_len) in &glue {
                if at < glue_len {
                    return offset + at;
                }
                at -= glue_len;
            }
        }
        rng.below(len)
    };

    let mut bytes = original.to_vec();
    let mut accepted = 0;
    for i in 0..mutations {
        let at = pick(&mut rng) as usize;
        let absurd: [u64; 6] = [
            u64::MAX,
            1 << 62,
            u64::from(u32::MAX),
            0x7FFF_FFFF,
            0x8000_0000,
            len,
        ];
        let value = absurd[rng.below(absurd.len() as u64) as usize];
        let (kind, width) = match i % 3 {
            0 => ("flip", 1),
            1 => ("u32", 4),
            _ => ("u64", 8),
        };
        let end = (at + width).min(bytes.len());
        let saved = bytes[at..end].to_vec();
        if kind == "flip" {
            bytes[at] ^= 1 + rng.below(255) as u8;
        } else {
            let le = value.to_le_bytes();
            bytes[at..end].copy_from_slice(&le[..end - at]);
        }
        accepted += u64::from(check(&bytes, Some(format), &|| {
            format!("{name}: {kind} at {at} (mutation {i})")
        }));
        bytes[at..end].copy_from_slice(&saved);
    }
    println!("{name}: {mutations} mutations, {accepted} still parse (and tile), the rest rejected");
}

fn synthetic_gguf() -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&2u64.to_le_bytes());
    out.extend_from_slice(&1u64.to_le_bytes());
    let key = "general.alignment";
    out.extend_from_slice(&(key.len() as u64).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(&32u32.to_le_bytes());
    for (name, ne0, ty, offset) in [("blk.0.q", 64u64, 8u32, 0u64), ("norm", 8, 0, 96)] {
        out.extend_from_slice(&(name.len() as u64).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&ne0.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
    }
    out.resize(out.len().div_ceil(32) * 32, 0);
    out.extend((0..128).map(|i| i as u8));
    out
}

fn synthetic_safetensors() -> Vec<u8> {
    let header = r#"{"__metadata__":{"a":"b"},"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"I64","shape":[1],"data_offsets":[12,20]}}"#;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend((0..20).map(|i| i as u8));
    out
}

fn synthetic_onnx() -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }
    let mut tensor = vec![0x08, 4, 0x10, 1];
    field(8, b"w", &mut tensor);
    field(9, &[7; 16], &mut tensor);
    let mut packed = vec![0x08, 2, 0x10, 7];
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
    field(5, &tensor, &mut graph);
    let mut model = vec![0x08, 8];
    field(7, &graph, &mut model);
    model
}

#[test]
fn mutated_models_never_panic_and_ok_maps_tile() {
    let fixture =
        ModelFile::open(&support::fixture("tflm-micro-speech/micro_speech.tflite")).unwrap();
    mutate_file("fixture micro_speech.tflite", &fixture, 3000);
    mutate_file("synthetic gguf", &synthetic_gguf(), 3000);
    mutate_file("synthetic safetensors", &synthetic_safetensors(), 3000);
    mutate_file("synthetic onnx", &synthetic_onnx(), 3000);
    let Some(files) = mallorn_tests::corpus_files() else {
        return;
    };
    for path in files {
        let bytes = ModelFile::open(&path).unwrap();
        // Big files cost more per parse; structure is what matters, so fewer mutations.
        let mutations = if bytes.len() > 4 << 20 { 150 } else { 600 };
        let name = path
            .file_name()
            .map(Path::new)
            .unwrap_or(&path)
            .display()
            .to_string();
        mutate_file(&name, &bytes, mutations);
    }
}

#[test]
fn regression_inputs_are_rejected_or_tile() {
    // The parser fuzzers' crash inputs (fuzz/regressions/parse_*/), which mallorn-fuzz-targets
    // replays too, here under every parser and the allocation check.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut paths = Vec::new();
    for folder in std::fs::read_dir(&root).unwrap() {
        let folder = folder.unwrap().path();
        if folder
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("parse_")
        {
            for entry in std::fs::read_dir(&folder).unwrap() {
                paths.push(entry.unwrap().path());
            }
        }
    }
    assert!(!paths.is_empty(), "no inputs under {}", root.display());
    for path in paths {
        let bytes = std::fs::read(&path).unwrap();
        for format in [
            Format::Tflite,
            Format::Gguf,
            Format::Onnx,
            Format::Safetensors,
        ] {
            check(&bytes, Some(format), &|| {
                format!("{} as {format}", path.display())
            });
        }
        check(&bytes, None, &|| path.display().to_string());
    }
}

fn with_prefix(prefix: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.extend_from_slice(tail);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_behind_each_magic(tail in proptest::collection::vec(any::<u8>(), 0..1024)) {
        check(&with_prefix(b"GGUF\x03\0\0\0", &tail), Some(Format::Gguf), &|| "gguf".into());
        check(&with_prefix(b"\x10\0\0\0TFL3", &tail), Some(Format::Tflite), &|| "tflite".into());
        check(&with_prefix(&(tail.len() as u64 / 2).to_le_bytes(), &tail), Some(Format::Safetensors), &|| "safetensors".into());
        check(&with_prefix(b"\x08\x08\x3a", &tail), Some(Format::Onnx), &|| "onnx".into());
        check(&tail, None, &|| "detected".into());
    }

    #[test]
    fn random_edits_of_the_fixture(edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..16)) {
        let fixture = std::fs::read(support::fixture("tflm-micro-speech/micro_speech.tflite")).unwrap();
        let mut bytes = fixture.clone();
        for (at, value) in edits {
            let at = usize::from(at) % bytes.len();
            bytes[at] = value;
        }
        check(&bytes, Some(Format::Tflite), &|| "edited fixture".into());
    }
}
