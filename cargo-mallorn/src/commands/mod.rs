//! One file per subcommand; each parses its own arguments and calls into the libraries.
//!
//! A command module has an `Args` struct (deriving `clap::Args`) and
//! `run(args, &GlobalArgs) -> CommandResult`. It returns `Ok(exit code)` when it ran to the
//! end (a check that found problems returns `Ok` with [`exit::FAILURE`] after printing them),
//! or an error, which [`run`] prints and maps to exit code 1, or 2 for a [`UsageError`].
//! To add a command: a file here, a variant in `cli::Command`, an arm in [`run`].

pub mod apply;
pub mod build;
mod build_job;
pub mod check;
pub mod diff;
pub mod init;
pub mod inspect;
mod inspect_bundle;
pub mod keygen;
pub mod plan;
pub mod schema;
pub mod simulate;
pub mod verify;

use std::process::ExitCode;

use mallorn_engine::model::ModelFile;

use crate::cli::{Cli, Command};
use crate::diagnostics::Style;
use crate::exit;

/// What a command returns.
pub type CommandResult = Result<ExitCode, miette::Report>;

/// The command line was wrong in a way clap could not see (exit code 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
pub struct UsageError {
    /// What is wrong.
    pub message: String,
    /// How to call it instead.
    #[help]
    pub help: Option<String>,
}

/// Runs the selected subcommand and maps its outcome to a process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let Cli { global, command } = cli;
    let result = match command {
        Command::Init(args) => init::run(args, &global),
        Command::Build(args) => build::run(args, &global),
        Command::Plan(args) => plan::run(args, &global),
        Command::Diff(args) => diff::run(args, &global),
        Command::Apply(args) => apply::run(args, &global),
        Command::Check(args) => check::run(args, &global),
        Command::Schema(args) => schema::run(args, &global),
        Command::Simulate(args) => simulate::run(args, &global),
        Command::Inspect(args) => inspect::run(&args, &global),
        Command::Keygen(args) => keygen::run(&global, &args),
        Command::Verify(args) => verify::run(&global, &args),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            let mut rendered = String::new();
            let _ = Style::for_stderr()
                .handler()
                .render_report(&mut rendered, report.as_ref());
            diag!("{rendered}");
            ExitCode::from(exit_code_for(&report))
        }
    }
}

/// A failure a command reports: its message and what to do about it.
pub fn failure(message: impl Into<String>, help: impl Into<Option<String>>) -> miette::Report {
    let mut diagnostic = miette::MietteDiagnostic::new(message.into());
    if let Some(help) = help.into() {
        diagnostic = diagnostic.with_help(help);
    }
    miette::Report::new(diagnostic)
}

/// 2 for a [`UsageError`], 1 for anything else.
fn exit_code_for(report: &miette::Report) -> u8 {
    if report.downcast_ref::<UsageError>().is_some() {
        exit::USAGE
    } else {
        exit::FAILURE
    }
}

/// A library error as one report: its message, then each cause in its chain that the message
/// does not already quote (typed errors often write `"cannot write {path}: {source}"` and also
/// return the source, which miette would print a second time).
pub(crate) fn error_report(error: &dyn std::error::Error) -> miette::Report {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(source) = cause {
        let text = source.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = source.source();
    }
    miette::Report::new(miette::MietteDiagnostic::new(message))
}

/// `path` mapped into memory (read if it cannot be mapped): large models stay out of the
/// process's anonymous memory.
pub(crate) fn map_file(path: &std::path::Path) -> miette::Result<ModelFile> {
    use miette::{Context, IntoDiagnostic};
    ModelFile::open(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_map_to_2_and_failures_to_1() {
        let usage = miette::Report::new(UsageError {
            message: "--from and --to name the same release".into(),
            help: None,
        });
        assert_eq!(exit_code_for(&usage), 2);
        assert_eq!(exit_code_for(&miette::miette!("bundle rejected")), 1);
    }
}
