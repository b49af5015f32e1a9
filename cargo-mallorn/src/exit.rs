//! Documented process exit codes.

/// The command ran and failed: an invalid manifest, a rejected bundle, stale generated files.
pub const FAILURE: u8 = 1;
/// The command line itself was wrong.
pub const USAGE: u8 = 2;
