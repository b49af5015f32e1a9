//! Errors returned by [`Manifest::load`](crate::Manifest::load).

use std::path::PathBuf;

use crate::diagnostic::Diagnostics;

/// Why a Mallorn.toml could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_MANIFEST_SIZE`](crate::MAX_MANIFEST_SIZE).
    #[error("{} is larger than {limit} bytes; is it really a Mallorn.toml?", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file was read but has problems; every problem found is listed.
    #[error(transparent)]
    Invalid(Box<InvalidManifest>),
}

/// A Mallorn.toml with at least one error, with everything needed to render the problems.
#[derive(Debug, thiserror::Error)]
#[error("{} has {} {}", path.display(), diagnostics.error_count(), if diagnostics.error_count() == 1 { "error" } else { "errors" })]
pub struct InvalidManifest {
    /// The manifest's path as given to [`Manifest::load`](crate::Manifest::load).
    pub path: PathBuf,
    /// The full text of the file (the spans index into it).
    pub text: String,
    /// Every problem found (errors and warnings), in file order.
    pub diagnostics: Diagnostics,
}
