//! The host side of Mallorn: parses model files into byte-exact tensor maps, builds
//! tensor-aware deltas, writes and signs bundles (checking each one with the runtime's own
//! applier), generates the firmware include files and runs whole builds (`build`).

pub mod atomic_write;
pub mod build;
pub mod bundle;
pub mod codegen;
pub mod delta;
pub mod inspect;
pub mod lossy;
pub mod model;
pub mod parallel;
pub mod signing;
pub mod simulate;
