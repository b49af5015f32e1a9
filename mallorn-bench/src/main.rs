//! The corpus benchmark: one row per consecutive pair of every lineage. It prints a markdown
//! table of Mallorn's bundle and payload sizes for the smallest and fast settings, the
//! generic tools measured in the same run (zstd --patch-from, bsdiff) and the best of the ten
//! published ones, ratios, encode and apply speeds, and the applier's RAM.
//!
//! ```text
//! cargo run --release -p mallorn-bench -- [CORPUS] [--only SUBSTRING] [--baselines FILE] [--reps N]
//! ```

mod baselines;
mod corpus;
mod entropy;

use cpu_time::ThreadTime;
use std::path::PathBuf;

use mallorn_engine::bundle::{BundleIdentity, apply_bundle};
use mallorn_engine::delta::{self, DeltaCodec, EncodeOptions};
use mallorn_runtime::apply::PayloadStream;
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::format::segments::{MIN_PREFERRED_SEGMENT_LOG2, PREFERRED_SEGMENT_LOG2};

struct Args {
    corpus: PathBuf,
    only: Option<String>,
    baselines: PathBuf,
    reps: usize,
    profile: Profile,
}

fn parse_args() -> Args {
    let mut args = Args {
        corpus: PathBuf::from("../shared/corpus"),
        only: None,
        baselines: PathBuf::from("../shared/reference/baselines.md"),
        reps: 3,
        profile: Profile::Large,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--only" => args.only = it.next(),
            "--baselines" => {
                args.baselines = it.next().map(PathBuf::from).unwrap_or(args.baselines)
            }
            "--reps" => args.reps = it.next().and_then(|r| r.parse().ok()).unwrap_or(args.reps),
            "--profile" => {
                args.profile = match it.next().as_deref() {
                    Some("tiny") => Profile::Tiny,
                    Some("compact") => Profile::Compact,
                    _ => Profile::Large,
                }
            }
            other => args.corpus = PathBuf::from(other),
        }
    }
    args
}

/// Sizes and speeds of one setting on one pair.
struct Measured {
    bundle: usize,
    payload: usize,
    /// The plain chunk stream: the payload without its segment links.
    stream: usize,
    encode_secs: f64,
    apply_secs: f64,
    ram: u32,
}

fn measure(old: &[u8], new: &[u8], options: &EncodeOptions, reps: usize) -> Measured {
    let t = ThreadTime::now();
    let encoded = delta::encode(Some(old), new, options).expect("inputs parse");
    let encode_secs = t.elapsed().as_secs_f64();
    let (header, bundle) =
        encoded
            .payload
            .unsigned_bundle(&BundleIdentity::default(), Some(old), new);
    let mut apply_secs = f64::MAX;
    for _ in 0..reps.max(1) {
        let t = ThreadTime::now();
        let out = apply_bundle(&bundle, old).expect("a bundle the encoder built applies");
        apply_secs = apply_secs.min(t.elapsed().as_secs_f64());
        assert!(out == new, "bundle does not reproduce NEW");
    }
    Measured {
        bundle: bundle.len(),
        payload: header.payload_len as usize,
        stream: encoded.payload.bytes().len(),
        encode_secs,
        apply_secs,
        ram: header.ram_required,
    }
}

fn geomean(xs: &[f64]) -> f64 {
    (xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len().max(1) as f64).exp()
}

fn main() {
    let args = parse_args();
    let pairs = match corpus::pairs(&args.corpus) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot read the corpus at {}: {e}", args.corpus.display());
            std::process::exit(1);
        }
    };
    let published = baselines::published(&args.baselines);
    // Tiny is the profile of devices with a few KiB for the updater: its bundles get the
    // shortest segment the build prefers; the others the preferred one.
    let segment_log2 = match args.profile {
        Profile::Tiny => MIN_PREFERRED_SEGMENT_LOG2,
        _ => PREFERRED_SEGMENT_LOG2,
    };
    let smallest = EncodeOptions {
        profile: args.profile,
        segment_log2,
        ..EncodeOptions::default()
    };
    let fast = EncodeOptions {
        coder: DeltaCodec::Fast,
        ..EncodeOptions::default()
    };
    println!(
        "Mallorn on {} (profile {:?}, chunks of {} KiB, authenticated segments of {} KiB, {} apply runs, best kept; times are this thread's CPU time, so other load on the machine does not skew them). Sizes in bytes; payload = bundle minus its {}-byte signed header (segment links included).\n",
        args.corpus.display(),
        args.profile,
        smallest.chunk_len / 1024,
        (1u64 << segment_log2) / 1024,
        args.reps,
        mallorn_runtime::format::SIGNED_BUNDLE_PREFIX
    );
    println!(
        "| lineage | pair | NEW | Mallorn bundle | payload | zstd --patch-from | bsdiff+zstd | best published (tool) | payload / zstd | payload / best | payload / order-0 | encode MB/s | apply MB/s | fast payload | fast apply MB/s | RAM smallest / fast |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let (mut vs_zstd, mut vs_best, mut vs_bsdiff, mut vs_h0) = (vec![], vec![], vec![], vec![]);
    let (mut auth_overhead, mut vs_best_unauthenticated) = (vec![], vec![]);
    let (mut auth_bytes, mut stream_bytes) = (0.0, 0.0);
    let (mut apply_small, mut apply_fast, mut total_new) = (0.0, 0.0, 0.0);
    for pair in &pairs {
        let label = format!("{}/{}", pair.lineage, pair.label());
        if args
            .only
            .as_ref()
            .is_some_and(|o| !label.contains(o.as_str()))
        {
            continue;
        }
        eprintln!("measuring {label}");
        let old = std::fs::read(&pair.old).expect("corpus file reads");
        let new = std::fs::read(&pair.new).expect("corpus file reads");
        let s = measure(&old, &new, &smallest, args.reps);
        let f = measure(&old, &new, &fast, args.reps);
        let zstd = baselines::zstd_patch(&old, &new);
        let bsd = baselines::bsdiff(&old, &new);
        let best = published.get(&(pair.lineage.clone(), corpus::file_name(&pair.new)));
        let base_map = mallorn_engine::model::parse(&old)
            .unwrap_or_else(|_| mallorn_engine::model::ModelMap::opaque(old.len() as u64));
        let target_map = mallorn_engine::model::parse(&new)
            .unwrap_or_else(|_| mallorn_engine::model::ModelMap::opaque(new.len() as u64));
        let plan = delta::plan::plan(&old, &new, &base_map, &target_map, smallest.profile);
        let h0 = entropy::order0_bytes(&old, &new, &plan);
        let n = new.len() as f64;
        auth_overhead.push((s.payload - s.stream) as f64 / s.stream as f64);
        auth_bytes += (s.payload - s.stream) as f64;
        stream_bytes += s.stream as f64;
        vs_zstd.push(s.payload as f64 / zstd as f64);
        vs_bsdiff.push(s.payload as f64 / bsd as f64);
        if h0 > 0.0 {
            vs_h0.push(s.payload as f64 / h0);
        }
        let best_cell = match best {
            Some((bytes, tool)) => {
                vs_best.push(s.payload as f64 / *bytes as f64);
                vs_best_unauthenticated.push(s.stream as f64 / *bytes as f64);
                (
                    format!("{bytes} ({tool})"),
                    format!("{:.3}", s.payload as f64 / *bytes as f64),
                )
            }
            None => ("-".into(), "-".into()),
        };
        apply_small += s.apply_secs;
        apply_fast += f.apply_secs;
        total_new += n;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {} | {:.3} | {:.1} | {:.0} | {} | {:.0} | {} / {} |",
            pair.lineage,
            pair.label(),
            new.len(),
            s.bundle,
            s.payload,
            zstd,
            bsd,
            best_cell.0,
            s.payload as f64 / zstd as f64,
            best_cell.1,
            s.payload as f64 / h0.max(1.0),
            n / s.encode_secs / 1e6,
            n / s.apply_secs / 1e6,
            f.payload,
            n / f.apply_secs / 1e6,
            s.ram,
            f.ram
        );
    }
    println!();
    println!(
        "Geometric means of payload ratios: vs zstd --patch-from {:.3}, vs bsdiff+zstd {:.3}, vs best published tool {:.3} (worst pair {:.3}), vs order-0 entropy of the planes {:.3}.",
        geomean(&vs_zstd),
        geomean(&vs_bsdiff),
        geomean(&vs_best),
        vs_best.iter().copied().fold(0.0, f64::max),
        geomean(&vs_h0)
    );
    println!(
        "Authentication (segment links) on the same payloads: at most {:.2}% of a pair's chunk stream, {:.2}% over the corpus; geomean vs best published tool without the links {:.3} (with: {:.3}).",
        100.0 * auth_overhead.iter().copied().fold(0.0, f64::max),
        100.0 * auth_bytes / stream_bytes.max(1.0),
        geomean(&vs_best_unauthenticated),
        geomean(&vs_best)
    );
    println!(
        "Apply throughput over all pairs (NEW bytes / apply time, one core): smallest {:.0} MB/s, fast {:.0} MB/s.",
        total_new / apply_small / 1e6,
        total_new / apply_fast / 1e6
    );
    println!(
        "Applier state besides the work buffer: PayloadStream {} bytes (host build).",
        std::mem::size_of::<PayloadStream<'static>>()
    );
}
