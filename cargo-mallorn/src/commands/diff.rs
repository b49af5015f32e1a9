//! `cargo mallorn diff OLD NEW -o BUNDLE`: builds one bundle that turns OLD into NEW, applies
//! it with the runtime's decoder to check it, signs it and writes it atomically.
//!
//! It codes exactly as `cargo mallorn build` codes a `[[target]]`: the same decoder choice
//! (`--decoders`, like `[target.codec] decoders`, tried smallest, fast, stored), the same
//! profile rule (the largest that fits `--buffer-limit`, like `ram-buffer`, unless `--profile`
//! says otherwise) and the same chunking (`--erase-size`, like `[target.flash] erase-size`).
//! The header binds `--model`, `--sku`, `--from-version`, `--to-version` and `--counter`.
//! What it chose, defaults included, is printed on stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use mallorn_engine::atomic_write::write_atomically;
use mallorn_engine::build::Coding;
use mallorn_engine::build::bundles::{Unit, UnitPlan, build_unit};
use mallorn_engine::build::coding::{choose, profile_name};
use mallorn_engine::build::versions::header_version;
use mallorn_engine::bundle::BundleIdentity;
use mallorn_engine::delta::ModelFormat;
use mallorn_engine::signing::{KeySource, SIGNING_KEY_ENV, SigningKey, hex};
use mallorn_manifest::{
    CodecPolicy, Decoder, FlashGeometry, Target, format_size, is_valid_model_name, is_valid_sku,
    parse_size,
};
use mallorn_runtime::apply::required_work_len;
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::format::segments::MIN_SEGMENT_LOG2;
use mallorn_runtime::format::{Decoders, model_id, sku_id};
use miette::{Context, IntoDiagnostic};

use crate::cli::{GlobalArgs, MessageFormat};
use crate::commands::build::build_error;
use crate::commands::{CommandResult, UsageError, map_file};
use crate::progress;

/// Header defaults when the flags are not given.
const DEFAULT_MODEL: &str = "model";
const DEFAULT_SKU: &str = "default";
const DEFAULT_FROM: semver::Version = semver::Version::new(0, 0, 0);
const DEFAULT_TO: semver::Version = semver::Version::new(0, 0, 1);
const DEFAULT_COUNTER: u64 = 1;

/// A decoder the device's firmware includes (as in Mallorn.toml's `decoders`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecoderArg {
    /// Bytes copied as they are (full images only).
    Stored,
    /// Fast decoder, modest ratio, no model RAM.
    Fast,
    /// Best ratio, slower; its model RAM depends on the profile.
    Smallest,
}

impl From<DecoderArg> for Decoder {
    fn from(arg: DecoderArg) -> Self {
        match arg {
            DecoderArg::Stored => Decoder::Stored,
            DecoderArg::Fast => Decoder::Fast,
            DecoderArg::Smallest => Decoder::Smallest,
        }
    }
}

/// How OLD and NEW are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Detect the model format; refuse a file that is no model.
    Auto,
    /// TensorFlow Lite.
    Tflite,
    /// GGUF.
    Gguf,
    /// ONNX.
    Onnx,
    /// safetensors.
    Safetensors,
    /// Opaque bytes, for files that are not models (no tensor awareness).
    Raw,
}

impl From<FormatArg> for ModelFormat {
    fn from(arg: FormatArg) -> Self {
        match arg {
            FormatArg::Auto => ModelFormat::Auto,
            FormatArg::Tflite => ModelFormat::Tflite,
            FormatArg::Gguf => ModelFormat::Gguf,
            FormatArg::Onnx => ModelFormat::Onnx,
            FormatArg::Safetensors => ModelFormat::Safetensors,
            FormatArg::Raw => ModelFormat::Raw,
        }
    }
}

/// A model-size profile of the smallest decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// About 2 KiB of model state.
    Tiny,
    /// About 17 KiB of model state.
    Compact,
    /// About 35 KiB of model state.
    Large,
}

impl From<ProfileArg> for Profile {
    fn from(arg: ProfileArg) -> Self {
        match arg {
            ProfileArg::Tiny => Profile::Tiny,
            ProfileArg::Compact => Profile::Compact,
            ProfileArg::Large => Profile::Large,
        }
    }
}

/// Arguments of `cargo mallorn diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model the device has now.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The model the bundle produces.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Where to write the bundle.
    #[arg(short, long, value_name = "BUNDLE")]
    pub output: PathBuf,
    /// Work RAM the device's applier may use (bytes, or "16KiB"), like `ram-buffer`: picks the
    /// best allowed decoder and the largest profile that fit; stated in the bundle header.
    #[arg(long, value_name = "BYTES", default_value = "64KiB")]
    pub buffer_limit: String,
    /// The device flash's erase size: chunks (the unit a power cut redoes) align to it.
    #[arg(long, value_name = "BYTES", default_value = "4KiB")]
    pub erase_size: String,
    /// Decoders the device's firmware includes, like `[codec] decoders` (comma-separated).
    /// Default: all of them.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_enum)]
    pub decoders: Vec<DecoderArg>,
    /// Profile of the smallest decoder. Default: the largest that fits --buffer-limit.
    #[arg(long, value_name = "PROFILE", value_enum)]
    pub profile: Option<ProfileArg>,
    /// How OLD and NEW are read: `auto` detects the model format and refuses files that
    /// are no model; `raw` codes any file as opaque bytes.
    #[arg(long, value_name = "FORMAT", value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// Private signing key (PKCS#8 PEM). Without it, the key comes from $MALLORN_SIGNING_KEY.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Write an unsigned bundle when no key is given (development only: devices refuse it).
    #[arg(long)]
    pub unsigned: bool,
    /// Model name bound into the header (must match the device's model); a Mallorn.toml model
    /// name: lower-case letters, digits, `-` and `_`. Default: "model".
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Device SKU bound into the header (must match the device); letters, digits, `.`, `-`
    /// and `_`. Default: "default".
    #[arg(long, value_name = "NAME")]
    pub sku: Option<String>,
    /// Release version of OLD (semver). Default: 0.0.0.
    #[arg(long, value_name = "X.Y.Z")]
    pub from_version: Option<semver::Version>,
    /// Release version of NEW (semver). Default: 0.0.1.
    #[arg(long, value_name = "X.Y.Z")]
    pub to_version: Option<semver::Version>,
    /// Anti-rollback counter of NEW: devices accept only counters above their committed one.
    /// Default: 1.
    #[arg(long, value_name = "N")]
    pub counter: Option<u64>,
}

fn size(arg: &str, flag: &str) -> Result<u64, UsageError> {
    parse_size(arg).map_err(|e| UsageError {
        message: format!("{flag} {arg:?}: {e}"),
        help: Some(format!(
            "write a byte count such as 16384 or \"16KiB\" for {flag}"
        )),
    })
}

/// A value and whether it was the default, for the report on stderr.
fn shown<T: std::fmt::Display>(value: T, given: bool) -> String {
    if given {
        value.to_string()
    } else {
        format!("{value} (default)")
    }
}

/// What `diff` decided from its flags.
struct Choice {
    coding: Coding,
    buffer_limit: u64,
    identity: BundleIdentity,
    /// One line per decision, for stderr.
    report: String,
}

/// Validates the flags and chooses the coding the way `build` chooses a target's.
fn choose_coding(args: &Args) -> Result<Choice, miette::Report> {
    let buffer_limit = size(&args.buffer_limit, "--buffer-limit")?;
    let erase_size = erase_size(args)?;
    let (model, sku) = header_names(args)?;
    let from = args.from_version.clone().unwrap_or(DEFAULT_FROM);
    let to = args.to_version.clone().unwrap_or(DEFAULT_TO);
    let counter = args.counter.unwrap_or(DEFAULT_COUNTER);
    let decoders = allowed_decoders(args);
    let target = diff_target(sku, buffer_limit, erase_size, &decoders);
    let (mut coding, passed_over) = choose_for(&target, buffer_limit)?;
    let profile_rule = apply_profile(args.profile, &mut coding, buffer_limit)?;
    let mut report = format!(
        "model {}, SKU {}, versions {} -> {}, security counter {}\n",
        shown(format!("{model:?}"), args.model.is_some()),
        shown(format!("{sku:?}"), args.sku.is_some()),
        shown(&from, args.from_version.is_some()),
        shown(&to, args.to_version.is_some()),
        shown(counter, args.counter.is_some()),
    );
    report += &describe_coding(args, &decoders, &coding, &profile_rule, buffer_limit);
    for note in passed_over {
        report += &format!("note: {}\n", note.replace("ram-buffer", "--buffer-limit"));
    }
    let identity = BundleIdentity {
        model_id: model_id(model),
        sku_id: sku_id(sku),
        from_version: header_version(model, &from).map_err(build_error)?,
        to_version: header_version(model, &to).map_err(build_error)?,
        security_counter: counter,
        error_bound: None,
    };
    Ok(Choice {
        coding,
        buffer_limit,
        identity,
        report,
    })
}

/// `--erase-size`: a power of two between 64 B and 1 GiB.
fn erase_size(args: &Args) -> Result<u64, UsageError> {
    let erase_size = size(&args.erase_size, "--erase-size")?;
    if !erase_size.is_power_of_two() || !(64..=1 << 30).contains(&erase_size) {
        return Err(UsageError {
            message: format!(
                "--erase-size {erase_size} is not a power of two between 64 B and 1 GiB"
            ),
            help: Some("give the flash's sector (erase block) size, e.g. --erase-size 4KiB".into()),
        });
    }
    Ok(erase_size)
}

/// The model name and SKU the header binds, checked as Mallorn.toml checks them.
fn header_names(args: &Args) -> Result<(&str, &str), UsageError> {
    let model = args.model.as_deref().unwrap_or(DEFAULT_MODEL);
    if !is_valid_model_name(model) {
        return Err(UsageError {
            message: format!("--model {model:?} is not a valid model name"),
            help: Some("use lower-case letters, digits, `-` and `_`, starting with a letter or digit (e.g. `okay-nabu`), as in Mallorn.toml".into()),
        });
    }
    let sku = args.sku.as_deref().unwrap_or(DEFAULT_SKU);
    if !is_valid_sku(sku) {
        return Err(UsageError {
            message: format!("--sku {sku:?} is not a valid SKU"),
            help: Some("use letters, digits, `.`, `-` and `_`, as in Mallorn.toml".into()),
        });
    }
    Ok((model, sku))
}

/// `--decoders` without repeats, in the order given; all of them when the flag is absent.
fn allowed_decoders(args: &Args) -> Vec<Decoder> {
    if args.decoders.is_empty() {
        return Decoder::ALL.to_vec();
    }
    let mut list: Vec<Decoder> = Vec::new();
    for decoder in args.decoders.iter().map(|&d| Decoder::from(d)) {
        if !list.contains(&decoder) {
            list.push(decoder);
        }
    }
    list
}

/// The `[[target]]` the flags describe, so that `build`'s coding rule applies as it is.
fn diff_target(sku: &str, buffer_limit: u64, erase_size: u64, decoders: &[Decoder]) -> Target {
    Target {
        sku: sku.to_owned(),
        ram_buffer: buffer_limit,
        flash: FlashGeometry {
            base: 0,
            size: u64::MAX,
            erase_size,
            write_size: 1,
        },
        models: Vec::new(),
        codec: CodecPolicy {
            decoders: decoders.to_vec(),
            ..CodecPolicy::default()
        },
        boot: Default::default(),
        span: Default::default(),
    }
}

/// `build`'s coding choice for `target`, its refusal worded with the flags of `diff`.
fn choose_for(target: &Target, buffer_limit: u64) -> Result<(Coding, Vec<String>), miette::Report> {
    let tiny = required_work_len(
        Decoders(Decoders::STORED | Decoders::SMALLEST),
        Profile::Tiny as u8,
        MIN_SEGMENT_LOG2,
    );
    choose(target).map_err(|error| {
        miette::Report::new(UsageError {
            message: format!("no allowed decoder fits --buffer-limit {}: {}", format_size(buffer_limit), match &error {
                mallorn_engine::build::BuildError::NoDecoder { reasons, .. } => reasons.replace("ram-buffer", "--buffer-limit"),
                other => other.to_string(),
            }),
            help: Some(format!(
                "raise --buffer-limit (the smallest decoder needs {tiny} bytes with --profile tiny), or allow the fast or stored decoder with --decoders"
            )),
        })
    })
}

/// Applies `--profile` to the chosen coding (smallest only, and only if it fits); returns how
/// the profile was chosen, for the report.
fn apply_profile(
    profile: Option<ProfileArg>,
    coding: &mut Coding,
    buffer_limit: u64,
) -> Result<String, UsageError> {
    match (profile, &mut *coding) {
        (
            Some(profile),
            Coding::Coder {
                decoder: Decoder::Smallest,
                options,
            },
        ) => {
            options.profile = profile.into();
            let needed = coding.work_len() as u64;
            if needed > buffer_limit {
                return Err(UsageError {
                    message: format!(
                        "--profile {} needs {needed} bytes of work RAM; --buffer-limit is {buffer_limit}",
                        profile_name(profile.into())
                    ),
                    help: Some(format!(
                        "raise --buffer-limit to at least {needed}, or leave out --profile to use the largest that fits"
                    )),
                });
            }
            Ok("as given".to_owned())
        }
        (Some(profile), _) => Err(UsageError {
            message: format!(
                "--profile {} is for the smallest decoder, but the bundle is coded with {}",
                profile_name(profile.into()),
                coding.name()
            ),
            help: Some("leave out --profile, or allow smallest with --decoders and a --buffer-limit it fits".into()),
        }),
        (None, _) => Ok(format!("largest that fits {}", format_size(buffer_limit))),
    }
}

/// The report line on the decoders, the profile and the work RAM.
fn describe_coding(
    args: &Args,
    decoders: &[Decoder],
    coding: &Coding,
    profile_rule: &str,
    buffer_limit: u64,
) -> String {
    let allowed = decoders
        .iter()
        .map(|d| d.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut report = format!(
        "decoders allowed {}; coded with {}",
        shown(allowed, !args.decoders.is_empty()),
        coding.name()
    );
    if let Some(profile) = smallest_profile(coding) {
        report += &format!(", profile {profile} ({profile_rule})");
    }
    if !coding.builds_deltas() {
        report += " (full image: OLD is not used)";
    }
    report += &format!(
        "; work RAM {} of {} bytes (--buffer-limit{})\n",
        coding.work_len(),
        buffer_limit,
        if args.buffer_limit == "64KiB" {
            ", default"
        } else {
            ""
        }
    );
    report
}

/// The profile's name when `coding` is the smallest decoder's.
fn smallest_profile(coding: &Coding) -> Option<&'static str> {
    match coding {
        Coding::Coder {
            decoder: Decoder::Smallest,
            options,
        } => Some(profile_name(options.profile)),
        _ => None,
    }
}

/// A failed bundle build, an unreadable input named by its path (OLD or NEW as given) with
/// help in terms of `--format` (the engine's help speaks of Mallorn.toml, which `diff` does
/// not read).
fn diff_error(error: mallorn_engine::bundle::BuildError, args: &Args) -> miette::Report {
    use mallorn_engine::bundle::BuildError;
    use mallorn_engine::delta::Input;
    use mallorn_engine::model::InputError;
    match error {
        BuildError::Input(input) => {
            let help = match &input.source {
                InputError::Unrecognised { .. } => {
                    "the file may be truncated or damaged, or not a model: pass its format (e.g. \
                     `--format onnx`) to see where it stops parsing, or `--format raw` to code \
                     both files as opaque bytes"
                }
                InputError::Invalid { .. } => {
                    "the file may be truncated or damaged, or not that format: check it, pass \
                     the right `--format`, or `--format raw` to code both files as opaque bytes"
                }
                InputError::ExternalData { .. } => {
                    "save the model with its weights inside the file (ONNX: \
                     `onnx.save_model(model, path, save_as_external_data=False)`, for models \
                     under 2 GiB), or pass `--format raw` to code the model file alone as \
                     opaque bytes and ship the data file in a bundle of its own"
                }
            };
            let path = match input.input {
                Input::Base => &args.old,
                Input::Target => &args.new,
            };
            let message = format!("{}: {}", path.display(), input.source);
            super::failure(message, help.to_owned())
        }
        other => super::error_report(&other),
    }
}

/// Builds, checks, signs and writes the bundle.
pub fn run(args: Args, global: &GlobalArgs) -> CommandResult {
    let choice = choose_coding(&args)?;
    let key = signing_key(&args)?;
    // Mapped, not read: large models stay out of anonymous memory.
    let old = map_file(&args.old)?;
    let new = map_file(&args.new)?;
    diag!("{}", choice.report);
    let spinner = progress::spinner(global.message_format, new.len() as u64, "encoding");
    let built = build_unit(
        &choice.coding,
        args.format.into(),
        choice.coding.builds_deltas().then_some(&old[..]),
        &new,
        choice.identity.clone(),
        key.as_ref(),
    );
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let built = built.map_err(|error| diff_error(error, &args))?;
    write_atomically(&args.output, &built.bytes)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", args.output.display()))?;
    let written = Written {
        args: &args,
        choice: &choice,
        built: &built,
        old_len: old.len(),
        new_len: new.len(),
        signed: key.is_some(),
    };
    match global.message_format {
        MessageFormat::Human => diagln!("{}", written.human()),
        MessageFormat::Json => outln!("{}", crate::output::json_line(&written.json())),
    }
    Ok(ExitCode::SUCCESS)
}

/// The key of `--key` or `$MALLORN_SIGNING_KEY`; none only with `--unsigned`.
fn signing_key(args: &Args) -> Result<Option<SigningKey>, miette::Report> {
    match KeySource::resolve(args.key.as_deref()) {
        Some(source) => Ok(Some(source.load().into_diagnostic()?)),
        None if args.unsigned => Ok(None),
        None => Err(UsageError {
            message: "no signing key: devices only accept signed bundles".into(),
            help: Some(format!(
                "pass --key FILE (made by `cargo mallorn keygen`), set ${SIGNING_KEY_ENV}, or add --unsigned for a development bundle"
            )),
        }
        .into()),
    }
}

/// A bundle `run` wrote, for its report.
struct Written<'a> {
    args: &'a Args,
    choice: &'a Choice,
    built: &'a Unit,
    old_len: usize,
    new_len: usize,
    signed: bool,
}

/// The JSON line of a written bundle.
#[derive(serde::Serialize)]
struct BundleBuilt<'a> {
    reason: &'static str,
    bundle: &'a Path,
    bundle_bytes: usize,
    payload_bytes: u64,
    old_bytes: usize,
    new_bytes: usize,
    plan: &'a UnitPlan,
    coding: &'a str,
    profile: Option<&'static str>,
    ram_required: u32,
    buffer_limit: u64,
    signed: bool,
    key_id: String,
}

impl Written<'_> {
    /// The line on stderr in human mode.
    fn human(&self) -> String {
        let h = &self.built.header;
        format!(
            "wrote {}: {} bytes ({} payload) for {} -> {} bytes ({:.2}% of NEW), {} plan, {} bytes of work RAM, {}",
            self.args.output.display(),
            self.built.bytes.len(),
            h.payload_len,
            self.old_len,
            self.new_len,
            100.0 * self.built.bytes.len() as f64 / self.new_len.max(1) as f64,
            self.built.plan,
            h.ram_required,
            if self.signed {
                format!("signed by key {}", hex(&h.key_id))
            } else {
                "UNSIGNED".into()
            }
        )
    }

    /// The JSON line on stdout.
    fn json(&self) -> BundleBuilt<'_> {
        let h = &self.built.header;
        BundleBuilt {
            reason: "bundle-built",
            bundle: &self.args.output,
            bundle_bytes: self.built.bytes.len(),
            payload_bytes: h.payload_len,
            old_bytes: self.old_len,
            new_bytes: self.new_len,
            plan: &self.built.plan,
            coding: self.choice.coding.name(),
            profile: smallest_profile(&self.choice.coding),
            ram_required: h.ram_required,
            buffer_limit: self.choice.buffer_limit,
            signed: self.signed,
            key_id: hex(&h.key_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--decoders` spells a decoder as Mallorn.toml does (clap derives the CLI's names).
    #[test]
    fn decoder_args_are_named_as_in_mallorn_toml() {
        let names: Vec<(String, &str)> = DecoderArg::value_variants()
            .iter()
            .map(|arg| {
                let value = arg.to_possible_value().expect("no variant is skipped");
                (value.get_name().to_owned(), Decoder::from(*arg).as_str())
            })
            .collect();
        assert_eq!(names.len(), Decoder::ALL.len());
        for (cli, toml) in names {
            assert_eq!(cli, toml);
        }
    }
}
