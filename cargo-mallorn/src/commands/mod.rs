//! One file per subcommand; each parses its own arguments and calls into the libraries.

pub mod inspect;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the selected subcommand and maps its outcome to a process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Inspect(args) => inspect::run(&args, &cli.global),
    }
}
