//! `cargo mallorn build` end to end, as a library, on private copies of
//! `examples/wakeword-device`.

mod common;
mod compile_c;
mod doc_figures;
mod failures;
mod incremental;
mod link;
mod lossy;
mod private_include;
mod snapshots;
