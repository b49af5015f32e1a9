//! The bundle half of `cargo mallorn inspect`: header fields, chunks, and bytes per operation
//! kind and per tensor.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

use mallorn_engine::inspect::{BundleReport, inspect_bundle};
use mallorn_engine::signing::hex;
use mallorn_runtime::format::Flags;
use serde_json::json;

use crate::commands::verify::decoder_names;
use crate::exit;

/// Tensors listed in the human table (the JSON lists all).
const TOP_TENSORS: usize = 15;

/// Inspects the bundle in `bytes`, decoding it against `base` if given.
pub fn run(path: &Path, bytes: &[u8], base: Option<&Path>, json: bool) -> ExitCode {
    let base_bytes = match base.map(std::fs::read).transpose() {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "error: cannot read the base {}: {e}",
                base.map(|p| p.display().to_string()).unwrap_or_default()
            );
            return ExitCode::from(exit::FAILURE);
        }
    };
    match inspect_bundle(bytes, base_bytes.as_deref()) {
        Ok(report) => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out!(
                "{}",
                if json {
                    render_json(&name, bytes.len(), &report)
                } else {
                    render_human(&name, bytes.len(), &report)
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot inspect {}: {e}", path.display());
            eprintln!(
                "  help: check that --base is the model this bundle was built from, and that the bundle is complete"
            );
            ExitCode::from(exit::FAILURE)
        }
    }
}

fn render_human(name: &str, len: usize, r: &BundleReport) -> String {
    let h = &r.header;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{name}: Mallorn bundle, format 1, {len} bytes ({} payload)",
        h.payload_len
    );
    let _ = writeln!(
        out,
        "  signed            {}",
        if r.signed {
            format!("yes, key {}", hex(&h.key_id))
        } else {
            "NO (development bundle)".into()
        }
    );
    let _ = writeln!(out, "  model id          {}", hex(&h.model_id));
    let _ = writeln!(out, "  SKU id            {}", hex(&h.sku_id));
    let _ = writeln!(
        out,
        "  versions          {} -> {} (security counter {})",
        h.from_version, h.to_version, h.security_counter
    );
    if h.flags.contains(Flags::FULL_IMAGE) {
        let _ = writeln!(out, "  base              none (full image)");
    } else {
        let _ = writeln!(
            out,
            "  base              {} bytes, SHA-256 {}",
            h.base_len,
            hex(&h.base_sha256)
        );
    }
    let _ = writeln!(
        out,
        "  result            {} bytes, SHA-256 {}",
        h.result_len,
        hex(&h.result_sha256)
    );
    let _ = writeln!(out, "  decoders          {}", decoder_names(h.decoders));
    let _ = writeln!(out, "  coder profile     {}", h.coder_profile);
    let _ = writeln!(out, "  work RAM          {} bytes", h.ram_required);
    let _ = writeln!(out, "  chunk alignment   {} bytes", h.chunk_align());
    let _ = writeln!(out, "  chunks            {}", r.chunks.len());
    match &r.by_kind {
        None => {
            let _ = writeln!(
                out,
                "\n(pass --base OLD to decode the operations and cost them per kind and per tensor)"
            );
        }
        Some(kinds) => {
            let _ = writeln!(
                out,
                "\n{:<28} {:>8} {:>12} {:>12} {:>10}",
                "operation", "count", "result B", "payload B", "bits/byte"
            );
            for (kind, k) in kinds {
                let bits = if k.output_bytes > 0 {
                    format!(
                        "{:.3}",
                        8.0 * k.payload_bytes as f64 / k.output_bytes as f64
                    )
                } else {
                    "-".into()
                };
                let _ = writeln!(
                    out,
                    "{kind:<28} {:>8} {:>12} {:>12} {bits:>10}",
                    k.ops, k.output_bytes, k.payload_bytes
                );
            }
        }
    }
    if let Some(tensors) = &r.tensors {
        let _ = writeln!(
            out,
            "\n{:<48} {:>12} {:>12}",
            "tensor (most payload first)", "result B", "payload B"
        );
        for t in tensors.iter().take(TOP_TENSORS) {
            let _ = writeln!(
                out,
                "{:<48} {:>12} {:>12}",
                truncate(&t.name, 48),
                t.output_bytes,
                t.payload_bytes
            );
        }
        if tensors.len() > TOP_TENSORS {
            let _ = writeln!(
                out,
                "... and {} more (--json lists all)",
                tensors.len() - TOP_TENSORS
            );
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!(
            "...{}",
            s.chars()
                .rev()
                .take(n - 3)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<String>()
        )
    }
}

fn render_json(name: &str, len: usize, r: &BundleReport) -> String {
    let h = &r.header;
    let value = json!({
        "file": name,
        "kind": "bundle",
        "bundle_bytes": len,
        "format_version": 1,
        "signed": r.signed,
        "key_id": hex(&h.key_id),
        "model_id": hex(&h.model_id),
        "sku_id": hex(&h.sku_id),
        "from_version": h.from_version.to_string(),
        "to_version": h.to_version.to_string(),
        "security_counter": h.security_counter,
        "full_image": h.flags.contains(Flags::FULL_IMAGE),
        "base_len": h.base_len,
        "base_sha256": hex(&h.base_sha256),
        "result_len": h.result_len,
        "result_sha256": hex(&h.result_sha256),
        "payload_len": h.payload_len,
        "payload_sha256": hex(&h.payload_sha256),
        "decoders": decoder_names(h.decoders),
        "coder_profile": h.coder_profile,
        "ram_required": h.ram_required,
        "chunk_align": h.chunk_align(),
        "chunks": r.chunks,
        "operations": r.by_kind,
        "tensors": r.tensors,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}
