//! `cargo mallorn`: a thin command-line front end over mallorn-manifest and mallorn-engine.
//!
//! Works both as `cargo mallorn <cmd>` (cargo passes `mallorn` as the first argument) and as
//! `cargo-mallorn <cmd>`. Data goes to stdout; progress and diagnostics go to stderr.
//!
//! Exit codes: 0 success, 1 the command ran and failed (invalid manifest, rejected bundle,
//! stale generated files), 2 usage error (bad command line).

#![deny(clippy::print_stdout, clippy::print_stderr)]

#[macro_use]
mod output;
mod cli;
mod commands;
mod diagnostics;
mod exit;
mod header_view;
mod manifest;
mod package;
mod progress;
mod target_dir;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|arg| arg == "mallorn") {
        args.remove(1);
    }
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout and usage errors to stderr.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    commands::run(cli)
}
