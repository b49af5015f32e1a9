//! Why a simulation could not run (its findings are in the report, not here).

use std::path::PathBuf;

use crate::build::BuildError;

/// A simulation that could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// Building the bundles failed.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The build wrote no index (it cannot be up to date in a fresh directory).
    #[error("the build into {0} wrote no index")]
    NoIndex(PathBuf),
    /// A published bundle could not be read back.
    #[error("cannot read the bundle {path}: {source}")]
    ReadBundle {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The temporary output directory could not be created.
    #[error("cannot create a temporary output directory: {0}")]
    TempDir(std::io::Error),
    /// A SKU's flash geometry is not in the simulator's table.
    #[error(
        "target `{sku}`: the simulator does not support write-size {write_size} with erase-size {erase_size} (supported: {supported})"
    )]
    UnsupportedGeometry {
        /// The SKU.
        sku: String,
        /// Its write size.
        write_size: usize,
        /// Its erase size.
        erase_size: usize,
        /// The supported pairs.
        supported: String,
    },
}
