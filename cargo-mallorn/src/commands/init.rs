//! `cargo mallorn init`: writes a commented Mallorn.toml, plus the JSON schema it points at.
//!
//! The file is valid as written (only `schema-version` and the default codec policy are
//! active; models, targets, signing and outputs are commented examples), so `cargo mallorn
//! check` passes straight away and nothing describes hardware the user has not confirmed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mallorn_manifest::MANIFEST_FILE_NAME;
use miette::{IntoDiagnostic, WrapErr, miette};

use crate::cli::GlobalArgs;
use crate::commands::CommandResult;
use crate::commands::schema::schema_text;
use crate::diagnostics::display_path;
use crate::{manifest, package};

/// The commented starting point (`{for_package}` is filled in).
pub const TEMPLATE: &str = include_str!("init_template.toml");

/// File name of the schema written next to Mallorn.toml (named by the template's first line).
pub const SCHEMA_FILE_NAME: &str = "mallorn.schema.json";

/// Arguments of `cargo mallorn init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Overwrite an existing Mallorn.toml.
    #[arg(long)]
    pub force: bool,
}

/// Writes Mallorn.toml next to the package's Cargo.toml (or at --manifest-path).
pub fn run(args: Args, global: &GlobalArgs) -> CommandResult {
    let (path, package_name) = destination(global)?;
    let shown = display_path(&path);
    if path.exists() && !args.force {
        return Err(miette!(
            help = "edit the existing file, or pass --force to replace it",
            "{shown} already exists"
        ));
    }
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let for_package = package_name.map_or_else(String::new, |name| format!(" for `{name}`"));
    write_atomically(&path, &TEMPLATE.replace("{for_package}", &for_package))?;
    write_atomically(&dir.join(SCHEMA_FILE_NAME), &schema_text())?;
    diagln!(
        "Created {shown} and {}",
        display_path(&dir.join(SCHEMA_FILE_NAME))
    );
    diagln!("Next: describe your models and targets in it, then run `cargo mallorn check`.");
    Ok(ExitCode::SUCCESS)
}

/// Where to write, and the package's name if a package was found.
fn destination(global: &GlobalArgs) -> miette::Result<(PathBuf, Option<String>)> {
    let package = match &global.manifest_path {
        Some(path) if !manifest::is_cargo_toml(path) => return Ok((path.clone(), None)),
        Some(cargo_toml) => package::from_cargo_toml(cargo_toml)?,
        None => {
            let cwd = std::env::current_dir().into_diagnostic()?;
            package::containing(&cwd)?
        }
    };
    let path = package
        .mallorn_manifest
        .clone()
        .unwrap_or_else(|| package.dir.join(MANIFEST_FILE_NAME));
    Ok((path, Some(package.name)))
}

/// Writes `content` through the engine's atomic write (complete or absent, never half a
/// file), as an ordinary file: 0644 under the usual umask 022.
fn write_atomically(path: &Path, content: &str) -> miette::Result<()> {
    mallorn_engine::atomic_write::write_atomically(path, content.as_bytes())
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", display_path(path)))
}
