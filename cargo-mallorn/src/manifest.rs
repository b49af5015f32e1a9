//! Finding Mallorn.toml for a command and loading it, rendering any problems.
//!
//! Search order: `--manifest-path` (a Mallorn.toml, or a Cargo.toml whose
//! `[package.metadata.mallorn] manifest` points at one, else the Mallorn.toml next to it);
//! otherwise the current directory and its parents; otherwise the package `cargo metadata`
//! finds from the current directory.

use std::path::{Path, PathBuf};

use mallorn_engine::signing::sibling_public_key;
use mallorn_manifest::{Diagnostic, LoadedManifest, MANIFEST_FILE_NAME, Manifest, ManifestError};
use miette::miette;

use crate::cli::{GlobalArgs, MessageFormat};
use crate::diagnostics::{Style, display_path, render_human, to_json};
use crate::package;

/// The Mallorn.toml the command should use (it may not exist yet).
pub fn locate(global: &GlobalArgs) -> miette::Result<PathBuf> {
    if let Some(path) = &global.manifest_path {
        if !is_cargo_toml(path) {
            return Ok(path.clone());
        }
        let package = package::from_cargo_toml(path)?;
        return Ok(package
            .mallorn_manifest
            .unwrap_or_else(|| package.dir.join(MANIFEST_FILE_NAME)));
    }
    let cwd = std::env::current_dir()
        .map_err(|error| miette!("cannot read the current directory: {error}"))?;
    if let Some(found) = cwd
        .ancestors()
        .map(|dir| dir.join(MANIFEST_FILE_NAME))
        .find(|candidate| candidate.is_file())
    {
        return Ok(found);
    }
    let not_found = || {
        miette!(
            help = "create one with `cargo mallorn init`, or pass --manifest-path",
            "no {MANIFEST_FILE_NAME} in {} or any parent directory",
            cwd.display()
        )
    };
    let package = package::containing(&cwd).map_err(|_| not_found())?;
    package.mallorn_manifest.ok_or_else(not_found)
}

/// True when `path` names a Cargo manifest.
pub fn is_cargo_toml(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == "Cargo.toml")
}

/// A Mallorn.toml that was read, valid or not, with everything needed to report on it.
pub struct Checked {
    /// How the file is shown to the user (relative to the current directory when possible).
    pub display: String,
    /// The file's text.
    pub text: String,
    /// Every problem (errors and warnings), in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The manifest, when it has no error.
    pub manifest: Option<LoadedManifest>,
}

impl Checked {
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// The summary error for an invalid manifest: "Mallorn.toml has 4 errors".
    pub fn summary(&self) -> miette::Report {
        let errors = self.error_count();
        let noun = if errors == 1 { "error" } else { "errors" };
        miette!("{} has {errors} {noun}", self.display)
    }

    /// Prints the diagnostics: human reports on stderr, or a JSON array (on stdout when
    /// `json_on_stdout`, for `check`; on stderr otherwise, keeping stdout for command data).
    pub fn print(&self, format: MessageFormat, json_on_stdout: bool) {
        match format {
            MessageFormat::Human => {
                let style = Style::for_stderr();
                for diagnostic in &self.diagnostics {
                    diagln!(
                        "{}",
                        render_human(diagnostic, &self.display, &self.text, style)
                    );
                }
            }
            MessageFormat::Json => {
                let array: Vec<_> = self
                    .diagnostics
                    .iter()
                    .map(|d| to_json(d, &self.display, &self.text))
                    .collect();
                let line = crate::output::json_line(&array);
                if json_on_stdout {
                    outln!("{line}");
                } else if !self.diagnostics.is_empty() {
                    diagln!("{line}");
                }
            }
        }
    }
}

/// Locates, reads and validates Mallorn.toml without printing anything.
pub fn check(global: &GlobalArgs) -> miette::Result<Checked> {
    let path = locate(global)?;
    let display = display_path(&path);
    match Manifest::load(&path) {
        Ok(manifest) => {
            let text = manifest.text().to_owned();
            let mut diagnostics = manifest.warnings().to_vec();
            point_at_existing_public_keys(&mut diagnostics, &text, &path);
            Ok(Checked {
                display,
                text,
                diagnostics,
                manifest: Some(manifest),
            })
        }
        Err(ManifestError::Invalid(invalid)) => Ok(Checked {
            display,
            text: invalid.text,
            diagnostics: invalid.diagnostics.into_vec(),
            manifest: None,
        }),
        Err(ManifestError::Read { source, .. }) => {
            let help = if source.kind() == std::io::ErrorKind::NotFound {
                "create it with `cargo mallorn init`, or pass --manifest-path"
            } else {
                "check the file's permissions"
            };
            Err(miette!(help = help, "cannot read {display}: {source}"))
        }
        Err(other) => Err(miette!("{other}")),
    }
}

/// A trusted key that does not exist is often the `.pub` of a key `keygen` named `.key.pub`
/// (or the reverse): the hint then names the file that does exist.
fn point_at_existing_public_keys(diagnostics: &mut [Diagnostic], text: &str, manifest: &Path) {
    let dir = manifest.parent().unwrap_or(Path::new("."));
    for diagnostic in diagnostics
        .iter_mut()
        .filter(|d| d.code == "missing-trusted-key")
    {
        let Some(written) = text
            .get(diagnostic.span.start..diagnostic.span.end)
            .map(|quoted| quoted.trim_matches(|c| c == '"' || c == '\''))
        else {
            continue;
        };
        if let Some(existing) = sibling_public_key(&dir.join(written)) {
            let name = existing.file_name().unwrap_or_default().to_string_lossy();
            let shown = Path::new(written).with_file_name(&*name);
            diagnostic.hint = Some(format!(
                "`{}` exists beside it: `cargo mallorn keygen -o FILE` writes the public key to \
                 FILE.pub; list that file here",
                shown.display()
            ));
        }
    }
}

/// For commands that need a valid manifest: loads it, prints its warnings (or its problems,
/// which then become the error).
pub fn load_valid(global: &GlobalArgs) -> miette::Result<LoadedManifest> {
    let checked = check(global)?;
    checked.print(global.message_format, false);
    let summary = checked.summary();
    checked.manifest.ok_or(summary)
}
