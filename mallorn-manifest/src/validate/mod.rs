//! Validation: checks every rule on the raw sections and builds the typed [`Manifest`].
//!
//! Each rule reports into one [`Diagnostics`] list and validation carries on, so a single run
//! shows every problem of the sections that could be read (a section with a value of the
//! wrong type is not; loading reported that value). Values that failed a check are left out of later cross-checks (e.g. a
//! missing release file is not also reported as "does not fit its slot").

mod codec;
mod lineage;
mod lossy;
mod output;
mod signing;
mod target;

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics, Span};
use crate::located::Located;
use crate::model::{CodecPolicy, Decoder, Manifest};
use crate::raw::RawManifest;

/// Smallest RAM work buffer accepted: what the stored decoder, which needs the least, needs at
/// its least (the engine checks the precise need per bundle).
pub const MIN_RAM_BUFFER: u64 = Decoder::Stored.least_work_len();

/// Validates `raw` (paths resolve against `base_dir`). Returns the manifest built from the
/// values that passed; it is only meaningful when `out` holds no error.
pub(crate) fn manifest(
    raw: RawManifest,
    base_dir: &Path,
    out: &mut Diagnostics,
) -> Option<Manifest> {
    let schema_version = match (&raw.schema_version, raw.schema_version_written) {
        (None, true) => None, // present but unreadable: already reported
        (version, _) => schema_version(version.as_ref(), out),
    };
    let codec = codec::policy(&CodecPolicy::default(), raw.codec.as_ref(), out);
    let models = lineage::models(&raw.model, base_dir, out);
    let signing = raw
        .signing
        .as_ref()
        .and_then(|signing| signing::signing(signing, base_dir, out));
    let target_count = raw.target.len() + raw.unreadable_target_layouts.len();
    let output = output::output(raw.output.as_ref(), base_dir, target_count, out);
    let targets = target::targets(
        &raw.target,
        &raw.unreadable_target_layouts,
        &models,
        &raw.unreadable_models,
        &codec,
        out,
    );
    Some(Manifest {
        schema_version: schema_version?,
        models,
        codec,
        signing,
        output,
        targets,
    })
}

fn schema_version(version: Option<&Located<u32>>, out: &mut Diagnostics) -> Option<u32> {
    let Some(version) = version else {
        out.push(
            Diagnostic::error(
                "missing-key",
                Span::new(0, 0),
                "missing key `schema-version` at the top level",
            )
            .with_hint(format!(
                "add `schema-version = {}` at the top of Mallorn.toml",
                Manifest::SCHEMA_VERSION
            )),
        );
        return None;
    };
    if version.value != Manifest::SCHEMA_VERSION {
        out.push(
            Diagnostic::error(
                "unsupported-schema-version",
                version.span,
                format!("schema-version {} is not supported", version.value),
            )
            .with_label("unsupported")
            .with_hint(format!(
                "this cargo-mallorn reads schema-version {}; upgrade cargo-mallorn or write {}",
                Manifest::SCHEMA_VERSION,
                Manifest::SCHEMA_VERSION
            )),
        );
        return None;
    }
    Some(version.value)
}

/// Reports an empty path string; returns true when the path is usable.
fn non_empty_path(path: &Located<String>, what: &str, out: &mut Diagnostics) -> bool {
    if path.value.trim().is_empty() {
        out.push(
            Diagnostic::error("empty-path", path.span, format!("{what} is empty"))
                .with_hint("give a path relative to the directory holding Mallorn.toml"),
        );
        return false;
    }
    true
}

#[cfg(test)]
mod tests;
