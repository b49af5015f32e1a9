//! Where `cargo mallorn build` writes when `[output] dir` is not set: `<cargo target dir>/mallorn`,
//! with the target directory cargo itself would use for the package or workspace holding
//! Mallorn.toml (so `CARGO_TARGET_DIR` and `build.target-dir` are honoured).

use std::path::{Path, PathBuf};

use mallorn_manifest::LoadedManifest;

/// The output directory of a build of `loaded`.
pub fn output_dir(loaded: &LoadedManifest) -> PathBuf {
    if loaded.output.dir.is_some() {
        // `cargo metadata` is not needed (and may not even find a package).
        return loaded.output.dir_or_default(Path::new(""));
    }
    loaded
        .output
        .dir_or_default(&cargo_target_dir(loaded.base_dir()))
}

/// Cargo's target directory for the package or workspace around `dir`; `dir/target` when
/// there is none.
fn cargo_target_dir(dir: &Path) -> PathBuf {
    cargo_metadata::MetadataCommand::new()
        .current_dir(dir)
        .no_deps()
        .exec()
        .map(|metadata| metadata.target_directory.into_std_path_buf())
        .unwrap_or_else(|_| dir.join("target"))
}
