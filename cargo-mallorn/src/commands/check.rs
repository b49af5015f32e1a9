//! `cargo mallorn check`: validates Mallorn.toml and reports its problems (every unknown key
//! and rule in one run; a value of the wrong type stops the checks of its table).

use std::process::ExitCode;

use crate::cli::{GlobalArgs, MessageFormat};
use crate::commands::CommandResult;
use crate::manifest;

/// Arguments of `cargo mallorn check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fail (exit 1) on warnings too, e.g. in CI.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Validates and prints the diagnostics; exit 1 when there is an error (or a warning with
/// `--deny-warnings`).
pub fn run(args: Args, global: &GlobalArgs) -> CommandResult {
    let checked = manifest::check(global)?;
    checked.print(global.message_format, true);
    let warnings = checked.diagnostics.len() - checked.error_count();
    if checked.manifest.is_none() {
        return Err(checked.summary());
    }
    if args.deny_warnings && warnings > 0 {
        let noun = if warnings == 1 { "warning" } else { "warnings" };
        return Err(miette::miette!(
            "{} has {warnings} {noun} (denied by --deny-warnings)",
            checked.display
        ));
    }
    if global.message_format == MessageFormat::Human
        && let Some(loaded) = &checked.manifest
    {
        let releases: usize = loaded.models.iter().map(|m| m.releases.len()).sum();
        diagln!(
            "{} is valid: {} {}, {releases} {}, {} {}",
            checked.display,
            loaded.models.len(),
            plural(loaded.models.len(), "model", "models"),
            plural(releases, "release", "releases"),
            loaded.targets.len(),
            plural(loaded.targets.len(), "target", "targets"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn plural(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 { one } else { many }
}
