//! Signing configuration: where the private key comes from, which public keys are trusted.

use crate::model::ResolvedPath;

/// Where the private signing key is read from at build time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key file.
    File(ResolvedPath),
    /// An environment variable, by name.
    Env(String),
}

/// `[signing]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signing {
    /// The private key's source.
    pub key: KeySource,
    /// Public key files devices accept (at least one), in the order written.
    pub trusted_keys: Vec<ResolvedPath>,
}
