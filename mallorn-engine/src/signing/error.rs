//! Why a key could not be created, read or written. Messages name the file (or environment
//! variable) and never quote key material.

use std::path::PathBuf;

/// A key file or key source problem.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read.
    #[error("cannot read key file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A public key file does not exist (perhaps named `.pub` where keygen wrote `.key.pub`,
    /// or the other way round).
    #[error(
        "public key file {} not found{}",
        path.display(),
        existing.as_ref().map_or_else(String::new, |e| format!(" (but {} exists: did you mean it?)", e.display()))
    )]
    PublicKeyNotFound {
        /// The file asked for.
        path: PathBuf,
        /// A public key file beside it with the same stem, if there is one.
        existing: Option<PathBuf>,
    },
    /// A key file could not be written.
    #[error("cannot write key file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Key files are never overwritten.
    #[error("{} already exists; key files are never overwritten", path.display())]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The environment variable that should hold the private key is not set (or not UTF-8).
    #[error(
        "environment variable {name} is not set (it should hold the PKCS#8 PEM text of the signing key)"
    )]
    EnvMissing {
        /// Variable name.
        name: String,
    },
    /// The text is not an Ed25519 private key in PKCS#8 PEM.
    #[error(
        "{source_name} is not an Ed25519 private key in PKCS#8 PEM (\"-----BEGIN PRIVATE KEY-----\", as `cargo mallorn keygen` or `openssl genpkey -algorithm ed25519` writes): {reason}"
    )]
    BadPrivateKey {
        /// File path or environment variable the text came from.
        source_name: String,
        /// What the decoder found wrong (never includes key bytes).
        reason: String,
    },
    /// The text is not an Ed25519 public key in SPKI PEM.
    #[error(
        "{source_name} is not an Ed25519 public key in SPKI PEM (\"-----BEGIN PUBLIC KEY-----\", the .pub file `cargo mallorn keygen` writes): {reason}"
    )]
    BadPublicKey {
        /// File path the text came from.
        source_name: String,
        /// What was wrong.
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
}
