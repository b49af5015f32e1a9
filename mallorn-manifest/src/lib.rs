//! `Mallorn.toml`: the declarative description of model lineages, device targets, codec policy,
//! signing and outputs, with validation that reports every problem at once with source spans.
