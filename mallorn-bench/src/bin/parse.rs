//! Parse-time benchmark: maps every corpus model (`../shared/corpus`, or the folder given as
//! the first argument) repeatedly and prints the median and best time per file, then the
//! figure for the largest file. Files are memory-mapped, so the time is the parser's own.
//!
//! Run: `cargo run --release -p mallorn-bench --bin parse [CORPUS_DIR]`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mallorn_engine::model::{ModelFile, parse};

fn model_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_none_or(|e| e != "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Parses `bytes` until about 0.3 s have passed (at least 5, at most 10 000 times); returns
/// (median, best) and the number of tensor regions.
fn time_parse(bytes: &[u8]) -> Result<(Duration, Duration, usize), String> {
    let mut times = Vec::new();
    let mut regions = 0;
    let start = Instant::now();
    while times.len() < 5 || (start.elapsed() < Duration::from_millis(300) && times.len() < 10_000)
    {
        let t = Instant::now();
        let map = parse(bytes).map_err(|e| e.to_string())?;
        times.push(t.elapsed());
        regions = std::hint::black_box(map.tensors().count());
    }
    times.sort();
    Ok((times[times.len() / 2], times[0], regions))
}

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    let files = model_files(&dir);
    if files.is_empty() {
        eprintln!(
            "notice: no model files under {}; nothing to measure",
            dir.display()
        );
        return;
    }
    println!(
        "{:<60} {:>12} {:>8} {:>12} {:>12} {:>10}",
        "file", "bytes", "regions", "median µs", "best µs", "GB/s"
    );
    let mut largest: Option<(u64, String)> = None;
    for path in &files {
        let bytes = match ModelFile::open(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                continue;
            }
        };
        let name = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string();
        match time_parse(&bytes) {
            Ok((median, best, regions)) => {
                let gbps = bytes.len() as f64 / median.as_secs_f64() / 1e9;
                let line = format!(
                    "{name:<60} {:>12} {regions:>8} {:>12.1} {:>12.1} {gbps:>10.1}",
                    bytes.len(),
                    median.as_secs_f64() * 1e6,
                    best.as_secs_f64() * 1e6
                );
                println!("{line}");
                if largest
                    .as_ref()
                    .is_none_or(|(len, _)| bytes.len() as u64 > *len)
                {
                    largest = Some((bytes.len() as u64, line));
                }
            }
            Err(e) => println!("{name:<60} parse error: {e}"),
        }
    }
    if let Some((_, line)) = largest {
        println!(
            "largest file: {}",
            line.split_whitespace().collect::<Vec<_>>().join("  ")
        );
    }
}
