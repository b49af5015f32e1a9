//! Helpers shared by the end-to-end tests: locating the workspace, the shared corpus and the
//! `cargo-mallorn` binary.
