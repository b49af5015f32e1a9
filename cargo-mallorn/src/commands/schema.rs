//! `cargo mallorn schema`: prints the JSON schema of Mallorn.toml on stdout.
//!
//! Save it next to Mallorn.toml (`cargo mallorn schema > mallorn.schema.json`) and keep the
//! `#:schema ./mallorn.schema.json` line at the top of Mallorn.toml: Taplo / Even Better TOML
//! then complete keys, show their documentation and flag mistakes while typing.

use std::process::ExitCode;

use crate::cli::GlobalArgs;
use crate::commands::CommandResult;

/// Arguments of `cargo mallorn schema` (none).
#[derive(Debug, clap::Args)]
pub struct Args {}

/// The schema as pretty JSON with a trailing newline, as written to stdout and by `init`.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&mallorn_manifest::json_schema())
        .unwrap_or_else(|_| unreachable!("a serde_json::Value always serializes"));
    text.push('\n');
    text
}

/// Prints the schema.
pub fn run(_args: Args, _global: &GlobalArgs) -> CommandResult {
    out!("{}", schema_text());
    Ok(ExitCode::SUCCESS)
}
