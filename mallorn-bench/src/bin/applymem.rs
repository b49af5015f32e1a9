//! Peak anonymous memory of the host applier (`apply_signed_bundle_to_file`, what
//! `cargo mallorn apply` runs) for results of several sizes, each in a fresh process:
//!
//!     cargo run --release -p mallorn-bench --bin applymem [MiB ...]   (default 16 64 256)
//!
//! Per size it writes an OLD model file and an unsigned bundle to a temporary folder (a full
//! image of stored chunks, so building it is cheap; the apply path is the same for every
//! codec: segment authentication, decoder, result file, hash), then applies the bundle in a
//! child process that maps both inputs, as the CLI does, and samples its `RssAnon` (Linux
//! /proc) every millisecond. File-backed pages of the mapped inputs are not anonymous memory.
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use mallorn_engine::bundle::{BundleIdentity, PayloadBuilder};
use mallorn_engine::model::ModelFile;
use mallorn_engine::signing::VerifyPolicy;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child(
            Path::new(&args[1]),
            Path::new(&args[2]),
            Path::new(&args[3]),
        );
        return;
    }
    let sizes: Vec<u64> = if args.is_empty() {
        vec![16, 64, 256]
    } else {
        args.iter()
            .map(|a| a.parse().expect("sizes in MiB"))
            .collect()
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    println!("| result | peak RssAnon while applying | RssAnon before applying |");
    println!("|---:|---:|---:|");
    for mib in sizes {
        let (old, bundle) = (dir.path().join("old.bin"), dir.path().join("bundle.mlrn"));
        make_bundle(mib << 20, &old, &bundle);
        let out = Command::new(std::env::current_exe().expect("own path"))
            .args(["--child"])
            .args([&old, &bundle, &dir.path().join("new.bin")])
            .output()
            .expect("child runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        print!("| {mib} MiB {}", String::from_utf8_lossy(&out.stdout));
    }
}

/// A result of `len` bytes and its full-image bundle, written to files.
fn make_bundle(len: u64, old: &Path, bundle: &Path) {
    let result: Vec<u8> = (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(old, &result[..len as usize / 2]).expect("old written");
    let mut payload = PayloadBuilder::new(12).with_segment_log2(13);
    payload.push_stored(&result);
    let (_, bytes) = payload.unsigned_bundle(&BundleIdentity::default(), None, &result);
    std::fs::write(bundle, bytes).expect("bundle written");
}

/// Applies in this process, printing the rest of the table row.
fn child(old: &Path, bundle: &Path, new: &Path) {
    let before = rss_anon_kib();
    let peak = AtomicU64::new(before);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_anon_kib(), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
        let old = ModelFile::open(old).expect("old maps");
        let bundle = ModelFile::open(bundle).expect("bundle maps");
        let policy = VerifyPolicy {
            allow_unsigned: true,
            ..VerifyPolicy::default()
        };
        let options = mallorn_engine::bundle::FileApplyOptions::default();
        mallorn_engine::bundle::apply_signed_bundle_to_file(&bundle, &old, &policy, new, &options)
            .expect("applies");
        peak.fetch_max(rss_anon_kib(), Ordering::Relaxed);
        done.store(true, Ordering::Relaxed);
    });
    println!(
        "| {:.1} MiB | {:.1} MiB |",
        peak.load(Ordering::Relaxed) as f64 / 1024.0,
        before as f64 / 1024.0
    );
}

/// This process's anonymous resident memory in KiB (0 where /proc is unavailable).
fn rss_anon_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("RssAnon:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
