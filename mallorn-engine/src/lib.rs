//! The host side of Mallorn: parses model files into byte-exact tensor maps, builds
//! tensor-aware deltas, writes and signs bundles (checking each one with the runtime's own
//! applier) and generates the firmware include files.

pub mod atomic_write;
pub mod bundle;
pub mod delta;
pub mod model;
pub mod signing;
