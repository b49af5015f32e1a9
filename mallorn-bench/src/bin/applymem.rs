//! Peak anonymous memory and wall time of the two ways to apply to files, for results of
//! several sizes, each in a fresh process: the streaming apply (`apply_signed_bundle_to_file`,
//! what `cargo mallorn apply` runs) and the runtime's A/B updater over `mallorn_files::FileSlots`
//! (what a Linux device with trial boots runs; provisioning not counted):
//!
//!     cargo run --release -p mallorn-bench --bin applymem [MiB ...]   (default 16 64 256)
//!
//! Per size it writes an OLD model file and an unsigned bundle to a temporary folder (a full
//! image of stored 256 KiB chunks, so building it is cheap; the apply path is the same for every
//! codec: segment authentication, decoder, result file, hash), then applies the bundle in a
//! child process that maps both inputs, as the CLI does, and samples its `RssAnon` (Linux
//! /proc) every millisecond. File-backed pages of the mapped inputs are not anonymous memory.
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use mallorn_engine::bundle::{BundleIdentity, PayloadBuilder};
use mallorn_engine::delta::DEFAULT_CHUNK_LEN;
use mallorn_engine::model::ModelFile;
use mallorn_engine::signing::VerifyPolicy;
use mallorn_files::FileSlots;
use mallorn_runtime::codec::CodecId;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::hash::sha256;
use mallorn_runtime::storage::{Slot, SlotImage, UnsignedDevelopmentAdmit, Updater};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(mode @ ("--stream" | "--slots")) = args.first().map(String::as_str) {
        child(
            mode == "--slots",
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
    println!(
        "| result | streaming apply: peak RssAnon, time | FileSlots update: peak RssAnon, time | RssAnon before |"
    );
    println!("|---:|---:|---:|---:|");
    for mib in sizes {
        let (old, bundle) = (dir.path().join("old.bin"), dir.path().join("bundle.mlrn"));
        make_bundle(mib << 20, &old, &bundle);
        let run = |mode: &str, out: &Path| {
            let child = Command::new(std::env::current_exe().expect("own path"))
                .arg(mode)
                .args([&old, &bundle, &out.to_path_buf()])
                .output()
                .expect("child runs");
            assert!(
                child.status.success(),
                "{}",
                String::from_utf8_lossy(&child.stderr)
            );
            String::from_utf8_lossy(&child.stdout).trim().to_owned()
        };
        let stream = run("--stream", &dir.path().join("new.bin"));
        let slots_dir = dir.path().join("slots");
        std::fs::create_dir_all(&slots_dir).expect("slots folder");
        let slots = run("--slots", &slots_dir);
        let (stream_figures, before) = stream.rsplit_once(" | ").expect("two columns");
        let (slots_figures, _) = slots.rsplit_once(" | ").expect("two columns");
        println!("| {mib} MiB | {stream_figures} | {slots_figures} | {before} |");
        std::fs::remove_dir_all(&slots_dir).expect("slots removed");
    }
}

/// A result of `len` bytes and its full-image bundle, written to files.
fn make_bundle(len: u64, old: &Path, bundle: &Path) {
    let result: Vec<u8> = (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(old, &result[..len as usize / 2]).expect("old written");
    // Stored chunks of the build's default length (256 KiB), as real bundles have: the
    // FileSlots updater writes a journal record (two fsyncs) per chunk.
    let mut payload = PayloadBuilder::new(12).with_segment_log2(13);
    for piece in result.chunks(DEFAULT_CHUNK_LEN as usize) {
        payload.push_chunk(CodecId::Stored, piece.len() as u64, piece);
    }
    // Counter 1: above the 0 the FileSlots device is provisioned with.
    let identity = BundleIdentity {
        security_counter: 1,
        ..BundleIdentity::default()
    };
    let (_, bytes) = payload.unsigned_bundle(&identity, None, &result);
    std::fs::write(bundle, bytes).expect("bundle written");
}

/// Applies in this process, printing `peak, time | before`.
fn child(slots: bool, old: &Path, bundle: &Path, new: &Path) {
    let before = rss_anon_kib();
    let peak = AtomicU64::new(before);
    let done = AtomicBool::new(false);
    let elapsed = AtomicU64::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_anon_kib(), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
        // Stops the sampler however the apply ends (a panic included), so the scope can join.
        let _stop = StopOnDrop(&done);
        let old = ModelFile::open(old).expect("old maps");
        let bundle = ModelFile::open(bundle).expect("bundle maps");
        let started = Instant::now();
        if slots {
            let at = update_slots(&old, &bundle, new);
            elapsed.store(at.elapsed().as_millis() as u64, Ordering::Relaxed);
        } else {
            let policy = VerifyPolicy {
                allow_unsigned: true,
                ..VerifyPolicy::default()
            };
            let options = mallorn_engine::bundle::FileApplyOptions::default();
            mallorn_engine::bundle::apply_signed_bundle_to_file(
                &bundle, &old, &policy, new, &options,
            )
            .expect("applies");
            elapsed.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        }
        peak.fetch_max(rss_anon_kib(), Ordering::Relaxed);
    });
    println!(
        "{:.1} MiB, {:.2} s | {:.1} MiB",
        peak.load(Ordering::Relaxed) as f64 / 1024.0,
        elapsed.load(Ordering::Relaxed) as f64 / 1000.0,
        before as f64 / 1024.0
    );
}

/// Provisions `dir` with OLD in slot A, then applies the bundle through the runtime's updater
/// over `FileSlots` in 1 MiB fragments, to Pending; returns when the update started.
fn update_slots(old: &[u8], bundle: &[u8], dir: &Path) -> Instant {
    let (header, rest) = bundle.split_first_chunk::<HEADER_LEN>().expect("header");
    let signature = rest[..SIGNED_BUNDLE_PREFIX - HEADER_LEN]
        .try_into()
        .expect("signature");
    let parsed = BundleHeader::parse(header).expect("header parses");
    std::fs::write(dir.join("m.a"), old).expect("slot A written");
    let max = old.len().max(parsed.result_len as usize) as u64;
    let slots = FileSlots::open(dir, "m", max).expect("slots open");
    let layout = slots.layout();
    let image = SlotImage {
        len: old.len() as u64,
        sha256: sha256(old),
    };
    let mut up = Updater::provision(slots, layout, Slot::A, image, 0).expect("provisioned");
    let started = Instant::now();
    let mut scratch = vec![0u8; 64 << 10];
    let mut admit = UnsignedDevelopmentAdmit::new([0; 8], [0; 8], &mut scratch);
    let mut work = vec![0u8; parsed.ram_required.max(64 << 10) as usize + (1 << 20)];
    let mut session = up
        .begin(&mut admit, header, signature, &mut work)
        .expect("admitted");
    let payload = &bundle[SIGNED_BUNDLE_PREFIX..];
    for fragment in payload.chunks(1 << 20) {
        session.feed(fragment).expect("fragment applies");
    }
    session.finish().expect("result checks out");
    started
}

/// Sets its flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
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
