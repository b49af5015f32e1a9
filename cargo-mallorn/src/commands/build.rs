//! `cargo mallorn build`: every bundle of every target (or of `--target SKU`), the generated
//! firmware files and `index.json`, into `<cargo target dir>/mallorn` (or `[output] dir`),
//! incrementally and atomically. `--check` only compares the generated files committed in the
//! source tree with what the build would write, and fails with a diff when they are stale.
//! `--job ID` builds one bundle into a job directory (`build_job.rs`); `--merge DIR...`
//! assembles the output from every job's directory, as one build would have written it.
//!
//! Human output: a summary on stdout, progress bars on stderr (on a terminal only). With
//! `--message-format json`, stdout carries JSON lines with a `reason` field, as cargo's do:
//! `bundle-built`, `file-generated`, `source-file-written`, `stale-file`, `build-finished`.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mallorn_engine::build::{
    self, ArtefactKind, ArtefactRecord, BuildError, BuildObserver, BuildOptions, BuildReport,
    CheckReport, MergeOptions, Quiet,
};
use mallorn_engine::codegen::GeneratedKind;
use mallorn_manifest::LoadedManifest;
use miette::miette;
use serde::Serialize;

use crate::cli::{GlobalArgs, MessageFormat};
use crate::diagnostics::display_path;
use crate::exit;

/// Arguments of `cargo mallorn build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build only this target (SKU); repeat for several. Default: every `[[target]]`.
    #[arg(long = "target", value_name = "SKU")]
    pub targets: Vec<String>,
    /// Check that the generated files committed in the source tree (`[output] rust`,
    /// `c-header`, `linker`) are up to date; print a diff and exit 1 when they are not.
    /// Writes nothing and needs no private key.
    #[arg(long)]
    pub check: bool,
    /// Build unsigned bundles when Mallorn.toml has no [signing] table (development only:
    /// devices refuse them).
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Encoding threads (default: one per CPU).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Build only this job, one bundle (`cargo mallorn plan --json` lists the ids in `jobs`),
    /// into a job directory of its own, for a CI matrix; `--merge` assembles the output.
    #[arg(long, value_name = "ID", conflicts_with_all = ["targets", "check", "merge"])]
    pub job: Option<String>,
    /// The job directory of `--job` (replaced as a whole; default: `<output dir>-jobs/<ID>`).
    #[arg(long, value_name = "DIR", requires = "job")]
    pub out_dir: Option<PathBuf>,
    /// Assemble the output from the directories of every job (`--job`), as one build writes
    /// it; refuses a missing, duplicated or foreign job directory.
    #[arg(long, value_name = "DIR", num_args = 1.., conflicts_with_all = ["targets", "check"])]
    pub merge: Vec<PathBuf>,
}

/// Where the bundles of a finished run came from, for its summary.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Encoded or reused by this build.
    Build,
    /// Taken from this many job directories.
    Merge(usize),
}

/// Runs the build (or the check).
pub fn run(args: Args, global: &GlobalArgs) -> super::CommandResult {
    let json = global.message_format == MessageFormat::Json;
    // A Mallorn.toml that cannot be used fails the build like any other error: with JSON,
    // the final `build-finished` line says so (the diagnostics themselves are on stderr).
    let loaded = crate::manifest::load_valid(global).inspect_err(|report| {
        if json {
            failed_message(report.to_string());
        }
    })?;
    if args.check {
        return check(&args, global, &loaded);
    }
    if let Some(job) = &args.job {
        return super::build_job::run(&args, job, global, &loaded);
    }
    let output_dir = crate::target_dir::output_dir(&loaded);
    let progress = Progress::new(global.message_format);
    let started = Instant::now();
    let options = BuildOptions {
        targets: args.targets.clone(),
        allow_unsigned: args.allow_unsigned,
        output_dir,
        threads: args
            .jobs
            .unwrap_or_else(mallorn_engine::parallel::default_threads)
            .max(1),
        write_source_tree: true,
        observer: progress
            .as_ref()
            .map_or(&Quiet as &dyn BuildObserver, |p| p),
    };
    let existed = existing_source_tree_files(&loaded, &args.targets);
    let (result, mode) = if args.merge.is_empty() {
        (build::build(&loaded, &options), Mode::Build)
    } else {
        let merge = MergeOptions {
            job_dirs: args.merge.clone(),
            allow_unsigned: args.allow_unsigned,
            output_dir: options.output_dir.clone(),
            write_source_tree: true,
        };
        (build::merge(&loaded, &merge), Mode::Merge(args.merge.len()))
    };
    if let Some(progress) = &progress {
        progress.bar.finish_and_clear();
    }
    let report = result.map_err(|error| failed(error, json))?;
    if report.unsigned {
        warn_unsigned();
    }
    if json {
        print_json(&report, &existed);
    } else {
        print_human(&report, &existed, mode, started.elapsed().as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}

/// A failed build: its `build-finished` message with `--message-format json`, and the error.
pub(crate) fn failed(error: BuildError, json: bool) -> miette::Report {
    if json {
        failed_message(error.to_string());
    }
    build_error(error)
}

/// The final `build-finished` message of a failed build.
fn failed_message(error: String) {
    message(&Message::BuildFailed {
        success: false,
        error,
    });
}

/// The warning an unsigned build prints on stderr.
pub(crate) fn warn_unsigned() {
    diagln!(
        "warning: the bundles are UNSIGNED (--allow-unsigned): devices refuse them unless their \
         firmware admits with `UnsignedDevelopmentAdmit`. Never publish them; add a [signing] \
         table to Mallorn.toml for release builds."
    );
}

/// `build --check`: compares the committed generated files with a fresh rendering.
fn check(args: &Args, global: &GlobalArgs, loaded: &LoadedManifest) -> super::CommandResult {
    let CheckReport { checked, stale } =
        build::check_generated(loaded, &args.targets, args.allow_unsigned).map_err(build_error)?;
    let json = global.message_format == MessageFormat::Json;
    for file in &stale {
        if json {
            message(&Message::StaleFile {
                path: &file.written,
                exists: file.current.is_some(),
            });
        } else {
            let current = file.current.as_deref().unwrap_or("");
            let diff = similar::TextDiff::from_lines(current, &file.expected);
            out!(
                "{}",
                diff.unified_diff().context_radius(3).header(
                    &format!("{} (committed)", file.written),
                    &format!("{} (as `cargo mallorn build` writes it)", file.written),
                )
            );
        }
    }
    if json {
        message(&Message::CheckFinished {
            success: stale.is_empty(),
            check: true,
            checked: &checked,
            stale: stale.iter().map(|f| f.written.as_str()).collect(),
        });
    }
    if checked.is_empty() {
        diagln!(
            "note: Mallorn.toml names no generated file in the source tree ([output] rust, c-header, linker): nothing to check"
        );
        return Ok(ExitCode::SUCCESS);
    }
    if stale.is_empty() {
        diagln!("{} generated files are up to date", checked.len());
        return Ok(ExitCode::SUCCESS);
    }
    let noun = if stale.len() == 1 {
        "file is"
    } else {
        "files are"
    };
    let report = miette!(
        help = "run `cargo mallorn build` and commit the result",
        "{} generated {noun} stale: {}",
        stale.len(),
        stale
            .iter()
            .map(|f| f.written.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    diagln!("{report:?}");
    Ok(ExitCode::from(exit::FAILURE))
}

/// A build error with its fix as help.
pub(crate) fn build_error(error: BuildError) -> miette::Report {
    let mut diagnostic = miette::MietteDiagnostic::new(error.to_string());
    if let Some(help) = error.help() {
        diagnostic = diagnostic.with_help(help);
    }
    miette::Report::new(diagnostic)
}

/// The generated source-tree files (as written in Mallorn.toml) that exist before the build,
/// so that the report can say "created" for the others.
fn existing_source_tree_files(loaded: &LoadedManifest, targets: &[String]) -> HashSet<String> {
    let Ok(plan) = build::plan(loaded, targets) else {
        return HashSet::new();
    };
    let base = loaded.base_dir();
    plan.summary(loaded)
        .targets
        .iter()
        .flat_map(|target| &target.generated)
        .filter_map(|file| file.source_tree.clone())
        .filter(|written| base.join(written).exists())
        .collect()
}

/// One JSON line of `build` on stdout, named by its `reason`.
#[derive(Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub(crate) enum Message<'a> {
    BundleBuilt {
        sku: &'a str,
        model: &'a str,
        from: &'a Option<String>,
        to: &'a str,
        kind: ArtefactKind,
        path: &'a str,
        size: u64,
        sha256: &'a str,
        key_id: &'a Option<String>,
        ram_required: u32,
        replaced_delta_size: Option<u64>,
        full_image_reason: &'a Option<String>,
    },
    FileGenerated {
        sku: &'a str,
        kind: &'a GeneratedKind,
        path: &'a str,
        source_tree: &'a Option<String>,
    },
    SourceFileWritten {
        path: &'a str,
        created: bool,
    },
    StaleFile {
        path: &'a str,
        exists: bool,
    },
    #[serde(rename = "build-finished")]
    BuildFailed {
        success: bool,
        error: String,
    },
    #[serde(rename = "build-finished")]
    CheckFinished {
        success: bool,
        check: bool,
        checked: &'a [String],
        stale: Vec<&'a str>,
    },
    BuildFinished {
        success: bool,
        up_to_date: bool,
        output_dir: String,
        bundles: usize,
        encoded: usize,
        reused: usize,
    },
    #[serde(rename = "build-finished")]
    JobFinished {
        success: bool,
        job: &'a str,
        output_dir: String,
        bundles: usize,
        encoded: usize,
    },
}

/// Prints `message` as one line of JSON.
pub(crate) fn message(message: &Message<'_>) {
    outln!("{}", crate::output::json_line(message));
}

/// The `bundle-built` message of a published bundle.
pub(crate) fn bundle_built(a: &ArtefactRecord) -> Message<'_> {
    Message::BundleBuilt {
        sku: &a.sku,
        model: &a.model,
        from: &a.from,
        to: &a.to,
        kind: a.kind,
        path: &a.path,
        size: a.size,
        sha256: &a.sha256,
        key_id: &a.key_id,
        ram_required: a.ram_required,
        replaced_delta_size: a.replaced_delta_size,
        full_image_reason: &a.reason,
    }
}

fn print_json(report: &BuildReport, existed: &HashSet<String>) {
    if let Some(index) = &report.index {
        for a in &index.artefacts {
            message(&bundle_built(a));
        }
        for target in &index.targets {
            for file in &target.generated {
                message(&Message::FileGenerated {
                    sku: &target.sku,
                    kind: &file.kind,
                    path: &file.path,
                    source_tree: &file.source_tree,
                });
            }
        }
    }
    for path in &report.source_tree_written {
        message(&Message::SourceFileWritten {
            path,
            created: !existed.contains(path),
        });
    }
    message(&Message::BuildFinished {
        success: true,
        up_to_date: report.up_to_date,
        output_dir: display_path(&report.output_dir),
        bundles: report.bundle_count,
        encoded: report.encoded,
        reused: report.reused,
    });
}

fn print_human(report: &BuildReport, existed: &HashSet<String>, mode: Mode, seconds: f64) {
    let out = display_path(&report.output_dir);
    for path in &report.source_tree_written {
        let verb = if existed.contains(path) {
            "updated"
        } else {
            "created"
        };
        outln!("{verb} {path}");
    }
    let Some(index) = &report.index else {
        outln!(
            "{out} is up to date ({} bundles); nothing to rebuild",
            report.bundle_count
        );
        return;
    };
    for target in &index.targets {
        outln!(
            "{}: {}, work RAM {} of {} bytes",
            target.sku,
            target.coding_detail,
            target.work_len,
            target.ram_buffer
        );
        for note in &target.notes {
            outln!("  note: {note}");
        }
        for a in index.artefacts.iter().filter(|a| a.sku == target.sku) {
            outln!("  {}", artefact_line(a));
        }
        let generated: Vec<_> = target.generated.iter().map(|g| g.path.as_str()).collect();
        outln!("  generated {}", generated.join(", "));
    }
    match mode {
        Mode::Build => outln!(
            "built {} bundles ({} encoded, {} reused) into {out} in {seconds:.1} s",
            report.bundle_count,
            report.encoded,
            report.reused
        ),
        Mode::Merge(dirs) => outln!(
            "merged {} bundles from {dirs} job directories into {out} in {seconds:.1} s",
            report.bundle_count
        ),
    }
}

/// One published bundle as the summary shows it: what, size, and delta or full (and why).
pub(crate) fn artefact_line(a: &ArtefactRecord) -> String {
    let what = match &a.from {
        Some(from) => format!("{} {from} -> {}", a.model, a.to),
        None => format!("{} {} full image", a.model, a.to),
    };
    let detail = match (&a.from, a.replaced_delta_size) {
        (Some(_), Some(delta)) => {
            format!(
                "full image instead (delta {} was not worth it)",
                size(delta)
            )
        }
        (Some(_), None) if a.kind == ArtefactKind::Full => {
            "full image (no deltas for this target)".into()
        }
        _ => a.kind.as_str().into(),
    };
    format!("{what:<32} {:>10}  {detail}", size(a.size))
}

/// `12345` -> `12.1 KiB`.
fn size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// A progress bar on stderr, for people at a terminal.
pub(crate) struct Progress {
    pub(crate) bar: ProgressBar,
}

impl Progress {
    pub(crate) fn new(format: MessageFormat) -> Option<Self> {
        if format != MessageFormat::Human || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} encoding [{bar:30}] {pos}/{len} {wide_msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        Some(Self { bar })
    }
}

impl BuildObserver for Progress {
    fn encoding(&self, count: usize) {
        self.bar.set_length(count as u64);
    }

    fn encoded(&self, label: &str) {
        self.bar.set_message(label.to_owned());
        self.bar.inc(1);
    }
}
