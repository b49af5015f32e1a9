//! `cargo mallorn`: a thin command-line front end over mallorn-manifest and mallorn-engine.

fn main() {}
