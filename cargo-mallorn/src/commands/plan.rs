//! `cargo mallorn plan`: what `cargo mallorn build` would produce, from Mallorn.toml alone (no
//! model is read or encoded): per target its coding, one entry per SKU x model x bundle with
//! its output path, and the generated files. `--json` (or `--message-format json`) prints it
//! as one JSON document whose `skus` array is a ready CI matrix axis for
//! `cargo mallorn build --target SKU`.

use std::process::ExitCode;

use mallorn_engine::build::{self, ArtefactKind};
use mallorn_manifest::{CodecPolicy, LoadedManifest};

use crate::cli::{GlobalArgs, MessageFormat};
use crate::commands::build::build_error;
use crate::diagnostics::display_path;

/// Arguments of `cargo mallorn plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON (the same as `--message-format json`).
    #[arg(long)]
    pub json: bool,
    /// Plan only this target (SKU); repeat for several.
    #[arg(long = "target", value_name = "SKU")]
    pub targets: Vec<String>,
}

/// Prints the plan.
pub fn run(args: Args, global: &GlobalArgs) -> super::CommandResult {
    let loaded = crate::manifest::load_valid(global)?;
    let plan = build::plan(&loaded, &args.targets).map_err(build_error)?;
    let summary = plan.summary(&loaded);
    let output_dir = display_path(&crate::target_dir::output_dir(&loaded));
    if args.json || global.message_format == MessageFormat::Json {
        let mut value = serde_json::to_value(&summary).expect("plain data serializes");
        value["output_dir"] = output_dir.into();
        // `build` publishes the full image under a delta's name when the delta is not worth it.
        if let Some(bundles) = value["bundles"].as_array_mut() {
            for bundle in bundles.iter_mut().filter(|b| b["kind"] == "delta") {
                let sku = bundle["sku"].as_str().unwrap_or_default();
                bundle["full_image_threshold"] = threshold(&loaded, sku).into();
            }
        }
        outln!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    for target in &summary.targets {
        outln!(
            "{}: {}, work RAM {} bytes",
            target.sku,
            target.coding_detail,
            target.work_len
        );
        for note in &target.notes {
            outln!("  note: {note}");
        }
        let deltas = summary
            .bundles
            .iter()
            .any(|b| b.sku == target.sku && b.kind == ArtefactKind::Delta);
        if deltas {
            let threshold = threshold(&loaded, &target.sku);
            outln!(
                "  delta/full: a delta larger than {:.0}% of the full image is published as the full image (full-image-threshold {threshold})",
                threshold * 100.0
            );
        }
        for bundle in summary.bundles.iter().filter(|b| b.sku == target.sku) {
            let what = match &bundle.from {
                Some(from) => format!("{} {from} -> {}", bundle.model, bundle.to),
                None => format!("{} {} full image", bundle.model, bundle.to),
            };
            let kind = match bundle.kind {
                ArtefactKind::Delta => "delta/full",
                ArtefactKind::Full => ArtefactKind::Full.as_str(),
            };
            outln!("  {what:<32} {kind:<10}  {}", bundle.path);
        }
        for generated in &target.generated {
            match &generated.source_tree {
                Some(copy) => outln!("  generated {} -> {copy}", generated.path),
                None => outln!("  generated {}", generated.path),
            }
        }
    }
    outln!(
        "{} bundles for {} targets into {output_dir}",
        summary.bundles.len(),
        summary.targets.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The target's `full-image-threshold`: `build` ships the full image instead of a delta larger
/// than this fraction of it.
fn threshold(loaded: &LoadedManifest, sku: &str) -> f64 {
    loaded
        .targets
        .iter()
        .find(|t| t.sku == sku)
        .map_or(CodecPolicy::DEFAULT_FULL_IMAGE_THRESHOLD, |t| {
            t.codec.full_image_threshold
        })
}
