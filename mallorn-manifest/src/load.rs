//! Reading a Mallorn.toml: TOML syntax, unknown keys, typed sections, then validation.
//!
//! Spans come from `toml::de::DeTable` (the span-preserving document tree of the `toml` crate)
//! and `toml::Spanned`: one parser gives both the tree the unknown-key walk needs and serde
//! deserialization with byte spans, so no second TOML library (toml_edit) is needed. Each
//! section and each `[[model]]`/`[[target]]` element is deserialized on its own, so a type
//! error in one does not hide the problems in the others.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::de_error::{syntax_error, value_error};
use crate::diagnostic::{Diagnostic, Diagnostics, Span};
use crate::error::{InvalidManifest, ManifestError};
use crate::model::{LoadedManifest, Manifest};
use crate::raw::{RawManifest, RawTargetLayout};
use crate::validate;

/// Largest Mallorn.toml accepted (real ones are a few KiB).
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;

impl Manifest {
    /// Reads and validates the Mallorn.toml at `path`. Relative paths inside it are resolved
    /// against its directory; release files are checked to exist and measured.
    pub fn load(path: impl AsRef<Path>) -> Result<LoadedManifest, ManifestError> {
        let path = path.as_ref();
        let read_error = |source| ManifestError::Read {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        // Read at most one byte past the limit: a huge file is refused without loading it.
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(file, MAX_MANIFEST_SIZE + 1),
            &mut text,
        )
        .map_err(read_error)?;
        if text.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(ManifestError::TooLarge {
                path: path.to_owned(),
                limit: MAX_MANIFEST_SIZE,
            });
        }
        Self::load_from_str(path, text)
    }

    /// Validates `text` as if it were the content of the Mallorn.toml at `path` (which is
    /// used to resolve relative paths and need not exist; release files still must).
    pub fn load_from_str(
        path: impl AsRef<Path>,
        text: String,
    ) -> Result<LoadedManifest, ManifestError> {
        let path = path.as_ref();
        if text.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(ManifestError::TooLarge {
                path: path.to_owned(),
                limit: MAX_MANIFEST_SIZE,
            });
        }
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let base_dir = absolute.parent().map_or_else(PathBuf::new, Path::to_owned);
        let (manifest, mut diagnostics) = parse(&text, &base_dir);
        diagnostics.sort();
        match manifest {
            Some(manifest) if !diagnostics.has_errors() => Ok(LoadedManifest {
                path: absolute,
                base_dir,
                text,
                manifest,
                warnings: diagnostics,
            }),
            _ => Err(ManifestError::Invalid(Box::new(InvalidManifest {
                path: path.to_owned(),
                text,
                diagnostics,
            }))),
        }
    }
}

/// Runs every stage, collecting all problems; returns the manifest if it could be built.
fn parse(text: &str, base_dir: &Path) -> (Option<Manifest>, Diagnostics) {
    let mut diagnostics = Diagnostics::new();
    let (mut root, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // The recovered tree may be missing whole tables: checking it would only add noise.
        for error in &syntax_errors {
            diagnostics.push(syntax_error(error, text.len()));
        }
        return (None, diagnostics);
    }
    crate::unknown_keys::check(&mut root, crate::schema::schema(), &mut diagnostics);
    let raw = read_sections(root, &mut diagnostics);
    let manifest = validate::manifest(raw, base_dir, &mut diagnostics);
    (manifest, diagnostics)
}

/// Deserializes each top-level section separately.
fn read_sections(root: Spanned<DeTable<'_>>, out: &mut Diagnostics) -> RawManifest {
    let mut raw = RawManifest::default();
    for (key, value) in root.into_inner() {
        match key.get_ref().as_ref() {
            "schema-version" => {
                raw.schema_version_written = true;
                raw.schema_version = read(value, out);
            }
            "model" => {
                let (models, unreadable) = read_array(key.get_ref(), value, out);
                raw.model = models;
                raw.unreadable_models = unreadable.iter().filter_map(element_name).collect();
            }
            "codec" => raw.codec = read(value, out),
            "signing" => raw.signing = read(value, out),
            "output" => raw.output = read(value, out),
            "target" => {
                let (targets, unreadable) = read_array(key.get_ref(), value, out);
                raw.target = targets;
                // A target with an unreadable value still has its layout checked (overlaps,
                // alignment), so one typo does not hide the other problems. Its own error was
                // reported above; a layout that cannot be read either adds nothing.
                raw.unreadable_target_layouts = unreadable
                    .into_iter()
                    .filter_map(|element| {
                        RawTargetLayout::deserialize(ValueDeserializer::from(element)).ok()
                    })
                    .collect();
            }
            _ => {} // reported by the unknown-key walk
        }
    }
    raw
}

/// The `name` of an array element, when it has a readable one.
fn element_name(element: &Spanned<DeValue<'_>>) -> Option<String> {
    element
        .get_ref()
        .as_table()
        .and_then(|table| table.get("name"))
        .and_then(|name| name.get_ref().as_str())
        .map(str::to_owned)
}

fn read<T: for<'de> Deserialize<'de>>(
    value: Spanned<DeValue<'_>>,
    out: &mut Diagnostics,
) -> Option<T> {
    let span = Span::from(value.span());
    T::deserialize(ValueDeserializer::from(value))
        .map_err(|error| out.push(value_error(&error, span)))
        .ok()
}

/// Reads an array of tables (`[[model]]`, `[[target]]`) element by element. Also returns each
/// element that could not be read, so later checks can look at what is readable in it
/// (a model's `name`, a target's layout) instead of dropping it whole.
fn read_array<'a, T: for<'de> Deserialize<'de>>(
    name: &str,
    value: Spanned<DeValue<'a>>,
    out: &mut Diagnostics,
) -> (Vec<T>, Vec<Spanned<DeValue<'a>>>) {
    let span = Span::from(value.span());
    match value.into_inner() {
        DeValue::Array(elements) => {
            let mut read_ok = Vec::new();
            let mut unreadable = Vec::new();
            for element in elements {
                match read(element.clone(), out) {
                    Some(value) => read_ok.push(value),
                    None => unreadable.push(element),
                }
            }
            (read_ok, unreadable)
        }
        other => {
            out.push(
                Diagnostic::error(
                    "invalid-value",
                    span,
                    format!(
                        "`{name}` must be an array of tables, not a {}",
                        other.type_str()
                    ),
                )
                .with_hint(format!(
                    "write `[[{name}]]` (double brackets) before each {name}"
                )),
            );
            (Vec::new(), Vec::new())
        }
    }
}
