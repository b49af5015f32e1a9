//! `cargo mallorn build --job ID [--out-dir DIR]`: one bundle of the build (one entry of
//! `cargo mallorn plan --json`'s `jobs`) into a job directory of its own, for one machine of a
//! CI matrix; `cargo mallorn build --merge DIR...` assembles the output from every job's.
//!
//! Human output: the bundle and the directory on stdout. With `--message-format json`: a
//! `bundle-built` line, then `build-finished` with the `job`.

use std::process::ExitCode;
use std::time::Instant;

use mallorn_engine::build::{self, BuildObserver, JobId, JobOptions, Quiet};
use mallorn_manifest::LoadedManifest;

use crate::cli::{GlobalArgs, MessageFormat};
use crate::commands::build::{
    Args, Message, Progress, artefact_line, bundle_built, failed, message, warn_unsigned,
};
use crate::diagnostics::display_path;

/// Builds job `job` as `args` say.
pub(super) fn run(
    args: &Args,
    job: &str,
    global: &GlobalArgs,
    loaded: &LoadedManifest,
) -> super::CommandResult {
    let json = global.message_format == MessageFormat::Json;
    let job = JobId::parse(job);
    let job_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| build::default_job_dir(&crate::target_dir::output_dir(loaded), &job));
    let progress = Progress::new(global.message_format);
    let started = Instant::now();
    let options = JobOptions {
        job: job.clone(),
        allow_unsigned: args.allow_unsigned,
        job_dir,
        threads: args
            .jobs
            .unwrap_or_else(mallorn_engine::parallel::default_threads)
            .max(1),
        observer: progress
            .as_ref()
            .map_or(&Quiet as &dyn BuildObserver, |p| p),
    };
    let result = build::build_job(loaded, &options);
    if let Some(progress) = &progress {
        progress.bar.finish_and_clear();
    }
    let report = result.map_err(|error| failed(error, json))?;
    if report.unsigned {
        warn_unsigned();
    }
    let dir = display_path(&report.job_dir);
    if json {
        message(&bundle_built(&report.artefact));
        message(&Message::JobFinished {
            success: true,
            job: job.as_str(),
            output_dir: dir,
            bundles: 1,
            encoded: report.encoded,
        });
    } else {
        outln!(
            "{}: {}",
            report.artefact.sku,
            artefact_line(&report.artefact)
        );
        outln!(
            "built job {job} ({} encoded) into {dir} in {:.1} s",
            report.encoded,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
