//! Codec experiments: Mallorn payload sizes against zstd --patch-from on corpus pairs, with
//! an optional breakdown of the plan's coded cost per operation kind (`DUMP=1`, or
//! `DUMP=all` for every operation).
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use mallorn_engine::delta::{self, EncodeOptions, pricing::Pricer};
use mallorn_runtime::codec::op::Op;

#[path = "../corpus.rs"]
#[allow(
    dead_code,
    reason = "the benchmark's corpus walk; this binary labels pairs its own way"
)]
mod corpus;

fn zstd_patch(old: &[u8], new: &[u8]) -> usize {
    use zstd::zstd_safe::{CCtx, CParameter};
    let mut cctx = CCtx::create();
    cctx.set_parameter(CParameter::CompressionLevel(19))
        .unwrap();
    cctx.set_parameter(CParameter::EnableLongDistanceMatching(true))
        .unwrap();
    cctx.set_parameter(CParameter::WindowLog(27)).unwrap();
    cctx.ref_prefix(old).unwrap();
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(new.len()));
    cctx.compress2(&mut out, new).unwrap();
    out.len()
}

fn breakdown(old: &[u8], new: &[u8], options: &EncodeOptions, all: bool) {
    let base_map = mallorn_engine::model::parse(old).unwrap();
    let target_map = mallorn_engine::model::parse(new).unwrap();
    let ops = delta::plan::plan(old, new, &base_map, &target_map, options.profile);
    let mut pricer = Pricer::new(options.profile, options.aligned_chunk_len());
    let mut cats: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut pos = 0;
    for op in &ops {
        let cost = pricer.price(std::slice::from_ref(op), old, new, pos);
        pricer.commit(std::slice::from_ref(op), old, new, pos);
        if all {
            println!("  {pos:>8} {:>9.1} bits {op:?}", cost as f64 / 256.0);
        }
        let key = match op {
            Op::Literal { layout, .. } => format!("literal {layout:?}"),
            Op::Aligned {
                layout, residual, ..
            } => match residual {
                mallorn_runtime::codec::smallest::ops::Residual::Scaled(_) => {
                    format!("aligned {layout:?} scaled")
                }
                other => format!("aligned {layout:?} {other:?}"),
            },
            Op::CopyBase { .. } => "copy base".into(),
            Op::CopyResult { .. } => "copy result".into(),
            Op::Lz { .. } => "lz".into(),
        };
        let e = cats.entry(key).or_default();
        e.0 += 1;
        e.1 += op.output_len();
        e.2 += cost;
        pos += op.output_len();
    }
    for (k, (n, bytes, cost)) in &cats {
        println!(
            "  {k:>22}: {n:>6} ops {bytes:>9} bytes -> {:>9.0} B ({:.3} bits/byte)",
            *cost as f64 / 2048.0,
            *cost as f64 / 256.0 / *bytes as f64
        );
    }
}

fn main() {
    let corpus = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/corpus".into());
    let filter = std::env::args().nth(2);
    let dump = std::env::var("DUMP").ok();
    let mut logs = Vec::new();
    for pair in corpus::pairs(Path::new(&corpus)).unwrap() {
        let label = format!("{}/{}", pair.lineage, corpus::file_name(&pair.new));
        if filter.as_ref().is_some_and(|f| !label.contains(f.as_str())) {
            continue;
        }
        let old = std::fs::read(&pair.old).unwrap();
        let new = std::fs::read(&pair.new).unwrap();
        let mut options = EncodeOptions::default();
        if std::env::var("CODER").is_ok_and(|c| c == "fast") {
            options.coder = mallorn_engine::delta::DeltaCodec::Fast;
        }
        if let Ok(p) = std::env::var("PROFILE") {
            options.profile =
                mallorn_runtime::codec::smallest::Profile::from_u8(p.parse().unwrap()).unwrap();
        }
        let t = Instant::now();
        let enc = delta::encode(Some(&old), &new, &options).expect("inputs parse");
        let secs = t.elapsed().as_secs_f64();
        let (_, bundle) = enc
            .payload
            .unsigned_bundle(&Default::default(), Some(&old), &new);
        let t = Instant::now();
        let out = mallorn_engine::bundle::apply_bundle(&bundle, &old).unwrap();
        let apply = t.elapsed().as_secs_f64();
        assert_eq!(out, new);
        let zstd = zstd_patch(&old, &new);
        let m = enc.payload.bytes().len();
        if let Some(d) = &dump {
            breakdown(&old, &new, &options, d == "all");
        }
        println!(
            "{label:60} new {:>9} mallorn {m:>9} zstd {zstd:>9} ratio {:.3} {:?} ops {} enc {:.1}s apply {:.0} MB/s",
            new.len(),
            m as f64 / zstd as f64,
            enc.plan,
            enc.ops,
            secs,
            new.len() as f64 / apply / 1e6
        );
        logs.push((m as f64 / zstd as f64).ln());
    }
    println!(
        "geomean vs zstd: {:.3}",
        (logs.iter().sum::<f64>() / logs.len() as f64).exp()
    );
}
