//! One file per subcommand; each parses its own arguments and calls into the libraries.

pub mod keygen;
pub mod verify;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the selected subcommand and maps its outcome to a process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Keygen(args) => keygen::run(&cli.global, &args),
        Command::Verify(args) => verify::run(&cli.global, &args),
    }
}
