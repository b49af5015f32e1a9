//! Finding the Cargo package a command works on, through `cargo metadata`.

use std::path::{Path, PathBuf};

use miette::{IntoDiagnostic, WrapErr, miette};

/// The package: its name, directory and where its `[package.metadata.mallorn] manifest` points.
#[derive(Debug, Clone)]
pub struct PackageInfo {
    /// `package.name`.
    pub name: String,
    /// Directory holding its Cargo.toml.
    pub dir: PathBuf,
    /// `[package.metadata.mallorn] manifest`, resolved against `dir`, if set.
    pub mallorn_manifest: Option<PathBuf>,
}

/// The package whose Cargo.toml is `cargo_toml`.
pub fn from_cargo_toml(cargo_toml: &Path) -> miette::Result<PackageInfo> {
    let wanted = cargo_toml
        .canonicalize()
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot open {}", cargo_toml.display()))?;
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(&wanted)
        .no_deps()
        .exec()
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read the Cargo package at {}", cargo_toml.display()))?;
    let package = metadata
        .packages
        .iter()
        .find(|package| package.manifest_path.as_std_path() == wanted)
        .ok_or_else(|| {
            miette!(
                help =
                    "point --manifest-path at a package's Cargo.toml or directly at a Mallorn.toml",
                "{} is a workspace manifest, not a package",
                cargo_toml.display()
            )
        })?;
    Ok(info(package))
}

/// The package containing directory `dir`: the innermost workspace member above it, or the
/// workspace's root package.
pub fn containing(dir: &Path) -> miette::Result<PackageInfo> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .current_dir(dir)
        .no_deps()
        .exec()
        .map_err(|error| {
            miette!(
                help = "run it inside a Cargo package (create one with `cargo new`), or pass --manifest-path",
                "no Cargo package found from {}: {error}",
                dir.display()
            )
        })?;
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let members = metadata.workspace_packages();
    let innermost = members
        .iter()
        .filter(|package| {
            package
                .manifest_path
                .parent()
                .is_some_and(|package_dir| dir.starts_with(package_dir.as_std_path()))
        })
        .max_by_key(|package| package.manifest_path.as_std_path().components().count());
    let package = innermost
        .copied()
        .or_else(|| metadata.root_package())
        .or_else(|| (members.len() == 1).then(|| members[0]))
        .ok_or_else(|| {
            miette!(
                help = "run it inside one package's directory, or pass --manifest-path <package>/Cargo.toml",
                "{} is in a workspace with several packages; which one?",
                dir.display()
            )
        })?;
    Ok(info(package))
}

fn info(package: &cargo_metadata::Package) -> PackageInfo {
    let dir = package
        .manifest_path
        .parent()
        .map_or_else(PathBuf::new, |dir| dir.as_std_path().to_owned());
    let mallorn_manifest = package
        .metadata
        .get("mallorn")
        .and_then(|mallorn| mallorn.get("manifest"))
        .and_then(|manifest| manifest.as_str())
        .map(|manifest| dir.join(manifest));
    PackageInfo {
        name: package.name.to_string(),
        dir,
        mallorn_manifest,
    }
}
