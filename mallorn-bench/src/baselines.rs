//! Generic delta tools measured in the same run (zstd --patch-from through the zstd crate,
//! bsdiff through the bsdiff crate), and the published table of ten tools' sizes.

use std::collections::HashMap;
use std::path::Path;

/// zstd with OLD as a reference prefix, level 19, long-distance matching: what
/// `zstd -19 --long --patch-from=OLD` does.
pub fn zstd_patch(old: &[u8], new: &[u8]) -> usize {
    use zstd::zstd_safe::{CCtx, CParameter};
    let mut cctx = CCtx::create();
    let window_log =
        (usize::BITS - (old.len() + new.len()).max(1 << 10).leading_zeros()).clamp(10, 30);
    cctx.set_parameter(CParameter::CompressionLevel(19))
        .expect("level");
    cctx.set_parameter(CParameter::EnableLongDistanceMatching(true))
        .expect("ldm");
    cctx.set_parameter(CParameter::WindowLog(window_log))
        .expect("window");
    cctx.ref_prefix(old).expect("prefix");
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(new.len()));
    cctx.compress2(&mut out, new).expect("zstd compresses");
    out.len()
}

/// bsdiff (the `bsdiff` crate's patch stream) compressed with zstd -19, as bsdiff4 compresses
/// its streams with bzip2.
pub fn bsdiff(old: &[u8], new: &[u8]) -> usize {
    let mut patch = Vec::new();
    bsdiff::diff(old, new, &mut patch).expect("bsdiff writes to memory");
    zstd::bulk::compress(&patch, 19)
        .expect("zstd compresses")
        .len()
}

/// Sizes from `reference/baselines.md`: for each (lineage, new file name), the best of the
/// ten generic tools and which tool it was.
pub fn published(path: &Path) -> HashMap<(String, String), (u64, String)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let (Some(lineage), Some(pair), Some(best)) = (cells.first(), cells.get(1), cells.last())
        else {
            continue;
        };
        let Some((_, new)) = pair.split_once("->") else {
            continue;
        };
        // "1779000 (detools-lzma)"
        let mut parts = best.splitn(2, ' ');
        let Some(bytes) = parts.next().and_then(|b| b.parse::<u64>().ok()) else {
            continue;
        };
        let tool = parts
            .next()
            .unwrap_or("")
            .trim_matches(|c| c == '(' || c == ')')
            .to_string();
        out.insert((lineage.to_string(), new.trim().to_string()), (bytes, tool));
    }
    out
}
