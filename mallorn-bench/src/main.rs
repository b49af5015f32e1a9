//! Corpus benchmark: one row per consecutive pair of every lineage.

fn main() {}
