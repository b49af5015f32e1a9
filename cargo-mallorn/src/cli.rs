//! Command-line arguments shared by every subcommand.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::commands;

/// Build signed, tensor-aware model update bundles for embedded devices.
#[derive(Debug, Parser)]
#[command(name = "cargo-mallorn", bin_name = "cargo mallorn", version, about)]
#[command(
    after_help = "Exit codes: 0 success, 1 failure (the command ran and failed), 2 usage error.\n\
Mallorn.toml is found from --manifest-path, else in the current directory or a parent, else through\n\
the package's `[package.metadata.mallorn] manifest` key."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Path to Mallorn.toml, or to a Cargo.toml whose package or workspace holds one.
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// How to print results: human-readable text, or JSON (check prints its diagnostics as a
    /// JSON array on stdout).
    #[arg(long, global = true, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

/// Output style for results and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    /// Readable text; diagnostics rendered with source snippets.
    Human,
    /// One JSON document (or JSON lines) on stdout.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a signed bundle that turns OLD into NEW (checked by applying it before writing).
    Diff(commands::diff::Args),
    /// Verify a bundle and apply it to OLD, writing NEW atomically.
    Apply(commands::apply::Args),
    /// Write a commented Mallorn.toml (and mallorn.schema.json) for the current package.
    Init(commands::init::Args),
    /// Build every update bundle, the generated firmware files and index.json.
    Build(commands::build::Args),
    /// Show what `build` would produce (for CI matrices), without reading any model.
    Plan(commands::plan::Args),
    /// Validate Mallorn.toml and report its problems, with their place in the file.
    Check(commands::check::Args),
    /// Run every bundle on a simulated flash of each SKU through power cuts and flash faults.
    Simulate(commands::simulate::Args),
    /// Print the JSON schema of Mallorn.toml (for editors) on stdout.
    Schema(commands::schema::Args),
    /// Show where every tensor's bytes live in a model file, and how much is glue.
    Inspect(commands::inspect::InspectArgs),
    /// Create an Ed25519 signing key pair (FILE, mode 0600, and FILE.pub).
    Keygen(commands::keygen::KeygenArgs),
    /// Check a bundle's signature, target and base as a device would, and print its header.
    Verify(commands::verify::VerifyArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
