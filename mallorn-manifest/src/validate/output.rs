//! Rules for `[output]`: usable paths, no two generated files at the same place.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics, Span};
use crate::located::Located;
use crate::model::{Output, ResolvedPath};
use crate::raw::RawOutput;
use crate::validate::non_empty_path;

/// The placeholder for the SKU in `[output] rust/c-header/linker` paths.
pub const SKU_PLACEHOLDER: &str = "{sku}";

/// Validates `[output]` (absent means all defaults); `targets` is the number of `[[target]]`s.
pub(super) fn output(
    raw: Option<&Located<RawOutput>>,
    base_dir: &Path,
    targets: usize,
    out: &mut Diagnostics,
) -> Output {
    let Some(raw) = raw else {
        return Output::default();
    };
    let raw = &raw.value;
    for (key, value) in [
        ("rust", &raw.rust),
        ("c-header", &raw.c_header),
        ("linker", &raw.linker),
    ] {
        if let Some(value) = value
            && targets > 1
            && !value.value.contains(SKU_PLACEHOLDER)
        {
            out.push(
                Diagnostic::error(
                    "needs-sku-placeholder",
                    value.span,
                    format!(
                        "`output.{key}` names a single file, but {targets} targets are built: each needs its own"
                    ),
                )
                .with_label("no `{sku}` in the path")
                .with_hint("put `{sku}` in the path, e.g. \"src/generated/{sku}.rs\""),
            );
        }
    }
    let mut files: Vec<(ResolvedPath, Span, &str)> = Vec::new();
    let mut resolve = |value: &Option<Located<String>>, key: &'static str, is_file: bool| {
        let value = value.as_ref()?;
        if !non_empty_path(value, &format!("`output.{key}`"), out) {
            return None;
        }
        let path = ResolvedPath::new(base_dir, &value.value);
        if is_file {
            if let Some((_, first_span, first_key)) =
                files.iter().find(|(p, _, _)| p.absolute == path.absolute)
            {
                out.push(
                    Diagnostic::error(
                        "output-collision",
                        value.span,
                        format!("`output.{key}` and `output.{first_key}` name the same file"),
                    )
                    .with_related(*first_span, "also written here")
                    .with_hint("give each generated file its own path"),
                );
                return None;
            }
            files.push((path.clone(), value.span, key));
        }
        Some(path)
    };
    Output {
        dir: resolve(&raw.dir, "dir", false),
        rust: resolve(&raw.rust, "rust", true),
        c_header: resolve(&raw.c_header, "c-header", true),
        linker: resolve(&raw.linker, "linker", true),
        templates: resolve(&raw.templates, "templates", false)
            .filter(|path| templates_exist(raw.templates.as_ref(), &path.absolute, out)),
    }
}

/// `templates` must name an existing directory: `build` and `build --check` render with it.
fn templates_exist(
    written: Option<&Located<String>>,
    absolute: &Path,
    out: &mut Diagnostics,
) -> bool {
    let Some(written) = written else {
        return true;
    };
    let (code, problem, label) = match std::fs::metadata(absolute) {
        Ok(metadata) if metadata.is_dir() => return true,
        Ok(_) => ("not-a-directory", "is not a directory", "not a directory"),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            ("missing-file", "does not exist", "not found")
        }
        // Unreadable metadata: rendering reports it, with the reason.
        Err(_) => return true,
    };
    out.push(
        Diagnostic::error(
            code,
            written.span,
            format!("templates directory `{}` {problem}", written.value),
        )
        .with_label(label)
        .with_hint(
            "paths are relative to the directory holding Mallorn.toml: point `templates` at the \
             directory of your template overrides, or remove it to use the built-in templates",
        ),
    );
    false
}
