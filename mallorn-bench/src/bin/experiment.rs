//! Quick codec experiment: sizes of Mallorn payloads vs zstd --patch-from on corpus pairs.
use std::time::Instant;

fn main() {
    let corpus = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/corpus".into());
    let filter = std::env::args().nth(2);
    let mut lineages: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.path())
        .collect();
    lineages.sort();
    let mut logs = Vec::new();
    for dir in lineages {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e != "md"))
            .collect();
        files.sort();
        for pair in files.windows(2) {
            let old = std::fs::read(&pair[0]).unwrap();
            let new = std::fs::read(&pair[1]).unwrap();
            let t = Instant::now();
            let options = mallorn_engine::delta::EncodeOptions::default();
            let enc = mallorn_engine::delta::encode(&old, &new, &options);
            let secs = t.elapsed().as_secs_f64();
            let header = enc.payload.header(&Default::default(), Some(&old), &new);
            let bundle = mallorn_engine::bundle::assemble_unsigned(&header, enc.payload.bytes());
            let t = Instant::now();
            let out = mallorn_engine::bundle::apply_bundle(&bundle, &old).unwrap();
            let apply = t.elapsed().as_secs_f64();
            assert_eq!(out, new);
            let zstd = {
                use zstd::zstd_safe::{CCtx, CParameter};
                let mut cctx = CCtx::create();
                cctx.set_parameter(CParameter::CompressionLevel(19))
                    .unwrap();
                cctx.set_parameter(CParameter::EnableLongDistanceMatching(true))
                    .unwrap();
                cctx.set_parameter(CParameter::WindowLog(27)).unwrap();
                cctx.ref_prefix(&old).unwrap();
                let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(new.len()));
                cctx.compress2(&mut out, &new).unwrap();
                out.len()
            };
            let m = enc.payload.bytes().len();
            if std::env::var("DUMP").is_ok() {
                let base_map = mallorn_engine::model::parse(&old).unwrap();
                let target_map = mallorn_engine::model::parse(&new).unwrap();
                let ops = mallorn_engine::delta::plan::plan(
                    &old,
                    &new,
                    &base_map,
                    &target_map,
                    options.profile,
                );
                let mut pos = 0;
                let mut pricer = mallorn_engine::delta::pricing::Pricer::new(options.profile);
                for op in &ops {
                    let cost = pricer.price(&[*op], &old, &new, pos);
                    pricer.commit(&[*op], &old, &new, pos);
                    println!("  {pos:>8} {:>8.1} bits {op:?}", cost as f64 / 256.0);
                    pos += op.output_len();
                }
                let ops = mallorn_engine::delta::plan::plan_opaque(&old, &new, options.profile);
                let enc2 = mallorn_engine::delta::encode_plan(&old, &new, &ops, &options);
                println!("opaque plan {} ops {} bytes", ops.len(), enc2.bytes().len());
            }
            println!(
                "{:28} {:>40} new {:>9} mallorn {:>9} zstd {:>9} ratio {:.3} plan {:?} ops {} enc {:.1}s ({:.1} MB/s) apply {:.0} MB/s",
                name,
                pair[1].file_name().unwrap().to_string_lossy(),
                new.len(),
                m,
                zstd,
                m as f64 / zstd as f64,
                enc.plan,
                enc.ops,
                secs,
                new.len() as f64 / secs / 1e6,
                new.len() as f64 / apply / 1e6
            );
            logs.push((m as f64 / zstd as f64).ln());
        }
    }
    println!(
        "geomean vs zstd: {:.3}",
        (logs.iter().sum::<f64>() / logs.len() as f64).exp()
    );
}
