//! Rules for `[[model]]`: names, versions, counters and release files.

use std::collections::HashMap;
use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics, Span};
use crate::located::Located;
use crate::model::{Model, Release, ResolvedPath};
use crate::names::is_valid_model_name;
use crate::raw::{RawModel, RawRelease};
use crate::validate::{lossy, non_empty_path};

/// Validates every model; returns them with the releases that passed.
pub(super) fn models(raw: &[RawModel], base_dir: &Path, out: &mut Diagnostics) -> Vec<Model> {
    let mut first_use: HashMap<&str, Span> = HashMap::new();
    let mut models = Vec::new();
    for model in raw {
        let name = &model.name;
        if !is_valid_model_name(&name.value) {
            out.push(
                Diagnostic::error(
                    "invalid-name",
                    name.span,
                    format!("model name `{}` is not allowed", name.value),
                )
                .with_hint("use lower-case letters, digits, `-` and `_`, starting with a letter or digit (e.g. `okay-nabu`)"),
            );
        }
        if let Some(first) = first_use.get(name.value.as_str()) {
            out.push(
                Diagnostic::error(
                    "duplicate-name",
                    name.span,
                    format!("model `{}` is defined twice", name.value),
                )
                .with_label("second definition")
                .with_related(*first, "first defined here")
                .with_hint("give each model a unique name, or merge the two lineages"),
            );
        } else {
            first_use.insert(&name.value, name.span);
        }
        let raw_releases = model.release.as_deref().unwrap_or_default();
        if raw_releases.is_empty() {
            out.push(
                Diagnostic::error(
                    "no-releases",
                    name.span,
                    format!("model `{}` has no releases", name.value),
                )
                .with_hint(
                    "add a `[[model.release]]` with a `version` and a `path` below this model",
                ),
            );
        }
        let lossy = model
            .lossy
            .as_ref()
            .and_then(|raw| lossy::policy(&name.value, raw, out));
        let gate = model
            .gate
            .as_ref()
            .and_then(|raw| lossy::gate(&name.value, raw, model.lossy.is_some(), out));
        models.push(Model {
            name: name.value.clone(),
            format: model.format.as_ref().map(|f| f.value).unwrap_or_default(),
            releases: releases(raw_releases, model.lossy.is_some(), base_dir, out),
            lossy,
            gate,
            span: name.span,
        });
    }
    models
}

/// Checks versions, counters and files along one lineage.
fn releases(
    raw: &[RawRelease],
    lossy: bool,
    base_dir: &Path,
    out: &mut Diagnostics,
) -> Vec<Release> {
    let mut releases = Vec::new();
    let mut previous_version: Option<(semver::Version, Span)> = None;
    let mut previous_counter: Option<(u32, Span)> = None;
    for (index, release) in raw.iter().enumerate() {
        let version = match semver::Version::parse(release.version.value.trim()) {
            Ok(version) => Some(version),
            Err(error) => {
                out.push(
                    Diagnostic::error(
                        "invalid-version",
                        release.version.span,
                        format!(
                            "`{}` is not a semantic version: {error}",
                            release.version.value
                        ),
                    )
                    .with_label("not MAJOR.MINOR.PATCH")
                    .with_hint("write MAJOR.MINOR.PATCH, e.g. \"1.0.0\" or \"1.1.0-rc.1\""),
                );
                None
            }
        };
        if let (Some(version), Some((previous, previous_span))) = (&version, &previous_version)
            && version <= previous
        {
            out.push(
                Diagnostic::error(
                    "version-order",
                    release.version.span,
                    format!(
                        "version {version} does not come after the previous release's {previous}"
                    ),
                )
                .with_label("not greater than the previous version")
                .with_related(*previous_span, "previous release")
                .with_hint("list releases oldest first, each with a strictly higher version"),
            );
        }
        if let Some(version) = &version {
            previous_version = Some((version.clone(), release.version.span));
        }

        let counter = counter(release, index, previous_counter, out);
        let counter_span = release
            .counter
            .as_ref()
            .map_or(release.version.span, |c| c.span);
        previous_counter = Some((counter, counter_span));

        let file = model_file(&release.path, "release", base_dir, out);
        let shipped = release.shipped.as_ref().and_then(|written| {
            if !lossy {
                out.push(
                    Diagnostic::error(
                        "shipped-without-lossy",
                        written.span,
                        "`shipped` pins a lossy release's image, but this model has no `[model.lossy]`",
                    )
                    .with_hint("remove `shipped`: a lossless release ships its `path` byte for byte"),
                );
                return None;
            }
            model_file(written, "shipped image", base_dir, out).map(|(path, _)| path)
        });
        if let (Some(version), Some((path, size))) = (version, file) {
            releases.push(Release {
                version,
                counter,
                path,
                shipped,
                size,
                span: release.path.span,
            });
        }
    }
    releases
}

/// The effective counter of a release; reports it when it does not increase.
fn counter(
    release: &RawRelease,
    index: usize,
    previous: Option<(u32, Span)>,
    out: &mut Diagnostics,
) -> u32 {
    let position = u32::try_from(index + 1).unwrap_or(u32::MAX);
    let counter = release.counter.as_ref().map_or(position, |c| c.value);
    if let Some((previous, previous_span)) = previous
        && counter <= previous
    {
        let diagnostic = match &release.counter {
            Some(explicit) => Diagnostic::error(
                "counter-order",
                explicit.span,
                format!("security counter {counter} is not greater than the previous release's {previous}"),
            )
            .with_label("must increase")
            .with_hint(format!("use a counter of at least {}", previous.saturating_add(1))),
            None => Diagnostic::error(
                "counter-order",
                release.version.span,
                format!(
                    "this release's default security counter {counter} (its position in the lineage) is not greater than the previous release's {previous}"
                ),
            )
            .with_label("default counter")
            .with_hint(format!("add `counter = {}` to this release", previous.saturating_add(1))),
        };
        out.push(diagnostic.with_related(previous_span, "previous counter"));
    }
    counter
}

/// Resolves and measures a file of a release: `what` is `release` (its `path`) or
/// `shipped image` (its `shipped`).
fn model_file(
    written: &Located<String>,
    what: &str,
    base_dir: &Path,
    out: &mut Diagnostics,
) -> Option<(ResolvedPath, u64)> {
    if !non_empty_path(written, &format!("{what} path"), out) {
        return None;
    }
    let path = ResolvedPath::new(base_dir, &written.value);
    if Path::new(&written.value).is_absolute() {
        out.push(
            Diagnostic::warning(
                "absolute-path",
                written.span,
                format!("{what} path is absolute, so this Mallorn.toml only works on this machine"),
            )
            .with_hint("write it relative to the directory holding Mallorn.toml"),
        );
    }
    match std::fs::metadata(&path.absolute) {
        Ok(metadata) if metadata.is_file() => Some((path, metadata.len())),
        Ok(_) => {
            out.push(
                Diagnostic::error(
                    "not-a-file",
                    written.span,
                    format!("{what} path `{}` is not a file", written.value),
                )
                .with_hint("point `path` at the model file itself"),
            );
            None
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            out.push(
                Diagnostic::error(
                    "missing-file",
                    written.span,
                    format!("{what} file `{}` does not exist", written.value),
                )
                .with_label("not found")
                .with_hint("paths are relative to the directory holding Mallorn.toml; check the spelling or add the file"),
            );
            None
        }
        Err(error) => {
            out.push(
                Diagnostic::error(
                    "unreadable-file",
                    written.span,
                    format!("cannot read {what} file `{}`: {error}", written.value),
                )
                .with_hint("check the file's permissions"),
            );
            None
        }
    }
}
