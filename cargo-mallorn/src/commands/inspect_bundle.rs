//! The bundle half of `cargo mallorn inspect`: header fields, chunks, and bytes per operation
//! kind and per tensor.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mallorn_engine::inspect::{BundleReport, KindStats, TensorStats, inspect_bundle};
use mallorn_engine::signing::{PublicKey, VerifyPolicy, hex, verify_bundle_with};
use mallorn_runtime::format::Flags;
use mallorn_runtime::format::header::BundleHeader;
use serde::Serialize;

use super::{CommandResult, failure};
use crate::header_view::{HeaderView, fidelity_text};

/// Tensors listed in the human table (the JSON lists all).
const TOP_TENSORS: usize = 15;

/// What is known about a bundle's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Signature {
    /// The bundle carries no signature.
    Unsigned,
    /// It names a key, but no public key was given to check it with.
    NotVerified,
    /// It was verified with a key given by `--public-key`.
    Verified,
}

/// Inspects the bundle in `bytes`, decoding it against `base` if given, and verifying its
/// signature when public keys are given.
pub fn run(
    path: &Path,
    bytes: &[u8],
    base: Option<&Path>,
    public_keys: &[PathBuf],
    json: bool,
) -> CommandResult {
    let base_bytes = base.map(std::fs::read).transpose().map_err(|e| {
        failure(
            format!(
                "cannot read the base {}: {e}",
                base.map(|p| p.display().to_string()).unwrap_or_default()
            ),
            None,
        )
    })?;
    let report = inspect_bundle(bytes, base_bytes.as_deref()).map_err(|e| {
        failure(
            format!("cannot inspect {}: {e}", path.display()),
            "check that --base is the model this bundle was built from, and that the bundle \
             is complete"
                .to_owned(),
        )
    })?;
    let signature = if !report.signed {
        Signature::Unsigned
    } else if public_keys.is_empty() {
        Signature::NotVerified
    } else {
        match verify_signature(bytes, public_keys) {
            Ok(()) => Signature::Verified,
            Err(message) => {
                return Err(failure(
                    format!("{}: {message}", path.display()),
                    "the bundle is not signed by a key given with --public-key, or was changed \
                     after it was signed"
                        .to_owned(),
                ));
            }
        }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    out!(
        "{}",
        if json {
            render_json(&name, bytes.len(), &report, signature)
        } else {
            render_human(&name, bytes.len(), &report, signature)
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks the signature (and the payload digest) as `verify` does, against `keys` only.
fn verify_signature(bundle: &[u8], keys: &[PathBuf]) -> Result<(), String> {
    let trusted = keys
        .iter()
        .map(|path| PublicKey::load(path))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let policy = VerifyPolicy {
        trusted_keys: &trusted,
        ..VerifyPolicy::default()
    };
    verify_bundle_with(bundle, &policy, None)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn render_human(name: &str, len: usize, r: &BundleReport, signature: Signature) -> String {
    let mut out = String::new();
    // The same version `--json` reports: the one the header was parsed as.
    let format = HeaderView::from(&r.header).format_version;
    let _ = writeln!(
        out,
        "{name}: Mallorn bundle, format {format}, {len} bytes ({} payload)",
        r.header.payload_len
    );
    write_header_fields(&mut out, &r.header, signature);
    let _ = writeln!(out, "  chunks            {}", r.chunks.len());
    match &r.by_kind {
        None => {
            let _ = writeln!(
                out,
                "\n(pass --base OLD to decode the operations and cost them per kind and per tensor)"
            );
        }
        Some(kinds) => write_kinds(&mut out, kinds),
    }
    if let Some(tensors) = &r.tensors {
        write_top_tensors(&mut out, tensors);
    }
    out
}

/// The header's fields, one per line, with what is known of its signature.
fn write_header_fields(out: &mut String, h: &BundleHeader, signature: Signature) {
    let _ = writeln!(out, "  signed            {}", signature_text(h, signature));
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
    let _ = writeln!(
        out,
        "  decoders          {}",
        h.decoders.names().collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(out, "  fidelity          {}", fidelity_text(h));
    let _ = writeln!(out, "  coder profile     {}", h.coder_profile);
    let _ = writeln!(out, "  work RAM          {} bytes", h.ram_required);
    let _ = writeln!(out, "  chunk alignment   {} bytes", h.chunk_align());
}

/// The `signed` field: unsigned, claimed by a key, or verified with it.
fn signature_text(h: &BundleHeader, signature: Signature) -> String {
    match signature {
        Signature::Unsigned => "NO (development bundle)".into(),
        Signature::NotVerified => format!(
            "by key {}, not verified (pass --public-key FILE to check it)",
            hex(&h.key_id)
        ),
        Signature::Verified => format!("by key {}, verified", hex(&h.key_id)),
    }
}

/// The table of operation kinds: count, result and payload bytes, payload bits per byte.
fn write_kinds(out: &mut String, kinds: &BTreeMap<String, KindStats>) {
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

/// The [`TOP_TENSORS`] tensors that cost the most payload.
fn write_top_tensors(out: &mut String, tensors: &[TensorStats]) {
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

/// The JSON report: the header (the same view as `verify`'s), the signature status, the
/// chunks and, when decoded, the operations and tensors.
#[derive(Serialize)]
struct BundleJson<'a> {
    file: &'a str,
    kind: &'static str,
    bundle_bytes: usize,
    signature: Signature,
    #[serde(flatten)]
    header: HeaderView,
    #[serde(flatten)]
    report: &'a BundleReport,
}

fn render_json(name: &str, len: usize, r: &BundleReport, signature: Signature) -> String {
    let value = BundleJson {
        file: name,
        kind: "bundle",
        bundle_bytes: len,
        signature,
        header: HeaderView::from(&r.header),
        report: r,
    };
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}
