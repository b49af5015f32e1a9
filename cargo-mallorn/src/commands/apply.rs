//! `cargo mallorn apply OLD BUNDLE -o NEW`: checks the bundle as a device would (signature by
//! a trusted key, base), applies it with the runtime's decoder through `mallorn-files` and
//! writes NEW atomically: a refused or failed apply leaves NEW as it was. An interrupted apply
//! (killed, out of space, power lost) resumes when the same command runs again.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mallorn_engine::bundle::{ApplyError, FileApplyOptions, apply_signed_bundle_to_file};
use mallorn_engine::signing::{PublicKey, VerifyPolicy, hex};

use crate::progress;

use crate::cli::{GlobalArgs, MessageFormat};
use crate::commands::{CommandResult, UsageError, error_report, map_file};

/// Arguments of `cargo mallorn apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model the bundle was built from.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The bundle.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// Where to write the new model.
    #[arg(short, long, value_name = "NEW")]
    pub output: PathBuf,
    /// A trusted public key (SPKI PEM); repeat for rotation.
    #[arg(long = "public-key", value_name = "FILE")]
    pub public_keys: Vec<PathBuf>,
    /// Accept an unsigned bundle (development only).
    #[arg(long)]
    pub allow_unsigned: bool,
}

/// Verifies and applies the bundle.
pub fn run(args: Args, global: &GlobalArgs) -> CommandResult {
    if args.public_keys.is_empty() && !args.allow_unsigned {
        return Err(UsageError {
            message: "no trusted key to check the bundle's signature against".into(),
            help: Some("pass --public-key FILE (the FILE.pub keygen wrote), or --allow-unsigned for a development bundle".into()),
        }
        .into());
    }
    let keys = args
        .public_keys
        .iter()
        .map(|path| PublicKey::load(path).map_err(|e| error_report(&e)))
        .collect::<miette::Result<Vec<_>>>()?;
    // Mapped, not read: with the streaming apply below, memory stays bounded for any model.
    let old = map_file(&args.old)?;
    let bundle = map_file(&args.bundle)?;
    let policy = VerifyPolicy {
        trusted_keys: &keys,
        allow_unsigned: args.allow_unsigned,
        ..VerifyPolicy::default()
    };
    let existed = args.output.exists();
    let spinner = progress::spinner(
        global.message_format,
        old.len().max(bundle.len()) as u64,
        "applying",
    );
    let applied = apply_signed_bundle_to_file(
        &bundle,
        &old,
        &policy,
        &args.output,
        &FileApplyOptions::default(),
    );
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let (verified, applied) = applied
        .map_err(|error| {
            let kept = matches!(&error, ApplyError::File(e) if e.keeps_progress());
            (error_report(&error), kept)
        })
        .map_err(|(report, kept)| {
            report.wrap_err(format!(
                "{} was not applied to {}; {} was not changed{}",
                args.bundle.display(),
                args.old.display(),
                args.output.display(),
                if kept {
                    "; the progress is kept: run the same command again to resume"
                } else {
                    ""
                }
            ))
        })?;
    let h = &verified.header;
    match global.message_format {
        MessageFormat::Human => diagln!(
            "{} {} ({} bytes, SHA-256 {}{}), {}",
            if existed { "replaced" } else { "created" },
            args.output.display(),
            h.result_len,
            hex(&h.result_sha256),
            match applied.resumed_from {
                Some(at) => format!(", resumed at byte {at}"),
                None => String::new(),
            },
            match verified.signed_by {
                Some(id) => format!("signed by key {}", hex(&id)),
                None => "UNSIGNED".into(),
            }
        ),
        MessageFormat::Json => outln!(
            "{}",
            crate::output::json_line(&Applied {
                reason: "bundle-applied",
                output: &args.output,
                created: !existed,
                bytes: h.result_len,
                sha256: hex(&h.result_sha256),
                signed_by: verified.signed_by.map(|id| hex(&id)),
                resumed_from: applied.resumed_from,
            })
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON line of an applied bundle.
#[derive(serde::Serialize)]
struct Applied<'a> {
    reason: &'static str,
    output: &'a Path,
    created: bool,
    bytes: u64,
    sha256: String,
    signed_by: Option<String>,
    /// Result bytes an interrupted earlier run had written, when this one resumed it.
    resumed_from: Option<u64>,
}
