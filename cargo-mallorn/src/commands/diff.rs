//! `cargo mallorn diff OLD NEW -o BUNDLE`: builds one bundle that turns OLD into NEW, applies
//! it with the runtime's decoder to check it, signs it and writes it atomically. The bundle
//! fits a device whose flash erases `--erase-size` bytes and whose applier may use
//! `--buffer-limit` bytes of work RAM.

use std::path::PathBuf;
use std::process::ExitCode;

use mallorn_engine::atomic_write::write_atomically;
use mallorn_engine::build::versions::header_version;
use mallorn_engine::bundle::{BundleIdentity, BundleRequest, build_bundle};
use mallorn_engine::delta::EncodeOptions;
use mallorn_engine::signing::{KeySource, SIGNING_KEY_ENV, hex};
use mallorn_manifest::parse_size;
use mallorn_runtime::format::{model_id, sku_id};
use miette::{Context, IntoDiagnostic};

use crate::cli::{GlobalArgs, MessageFormat};
use crate::commands::build::build_error;
use crate::commands::{CommandResult, UsageError, read_file};

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
    /// Work RAM the device's applier may use (bytes, or "16KiB"): picks the largest codec
    /// profile that fits and is stated in the bundle header.
    #[arg(long, value_name = "BYTES", default_value = "64KiB")]
    pub buffer_limit: String,
    /// The device flash's erase size: chunks (the unit a power cut redoes) align to it.
    #[arg(long, value_name = "BYTES", default_value = "4KiB")]
    pub erase_size: String,
    /// Private signing key (PKCS#8 PEM). Without it, the key comes from $MALLORN_SIGNING_KEY.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Write an unsigned bundle when no key is given (development only: devices refuse it).
    #[arg(long)]
    pub unsigned: bool,
    /// Model name bound into the header (must match the device's model).
    #[arg(long, value_name = "NAME", default_value = "model")]
    pub model: String,
    /// Device SKU bound into the header (must match the device).
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub sku: String,
    /// Release version of OLD.
    #[arg(long, value_name = "X.Y.Z", default_value = "0.0.0")]
    pub from_version: semver::Version,
    /// Release version of NEW.
    #[arg(long, value_name = "X.Y.Z", default_value = "0.0.1")]
    pub to_version: semver::Version,
    /// Anti-rollback counter of NEW: devices accept only counters above their committed one.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub counter: u64,
}

fn size(arg: &str, flag: &str) -> Result<u64, UsageError> {
    parse_size(arg).map_err(|e| UsageError {
        message: format!("{flag} {arg:?}: {e}"),
        help: Some(format!(
            "write a byte count such as 16384 or \"16KiB\" for {flag}"
        )),
    })
}

/// Builds, checks, signs and writes the bundle.
pub fn run(args: Args, global: &GlobalArgs) -> CommandResult {
    let buffer_limit = size(&args.buffer_limit, "--buffer-limit")?;
    let erase_size = size(&args.erase_size, "--erase-size")?;
    let options = EncodeOptions::for_target(erase_size, buffer_limit).map_err(|e| UsageError {
        message: e.to_string(),
        help: Some(
            "raise --buffer-limit, or give --erase-size as a power of two of at least 64".into(),
        ),
    })?;
    let key = match KeySource::resolve(args.key.as_deref()) {
        Some(source) => Some(source.load().into_diagnostic()?),
        None if args.unsigned => None,
        None => {
            return Err(UsageError {
                message: "no signing key: devices only accept signed bundles".into(),
                help: Some(format!(
                    "pass --key FILE (made by `cargo mallorn keygen`), set ${SIGNING_KEY_ENV}, or add --unsigned for a development bundle"
                )),
            }
            .into());
        }
    };
    let old = read_file(&args.old)?;
    let new = read_file(&args.new)?;
    let identity = BundleIdentity {
        model_id: model_id(&args.model),
        sku_id: sku_id(&args.sku),
        from_version: header_version(&args.model, &args.from_version).map_err(build_error)?,
        to_version: header_version(&args.model, &args.to_version).map_err(build_error)?,
        security_counter: args.counter,
    };
    let built = build_bundle(&BundleRequest {
        base: Some(&old),
        target: &new,
        identity,
        options,
        key: key.as_ref(),
    })
    .into_diagnostic()?;
    write_atomically(&args.output, &built.bytes)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", args.output.display()))?;
    let h = &built.header;
    let payload = h.payload_len;
    match global.message_format {
        MessageFormat::Human => {
            eprintln!(
                "wrote {}: {} bytes ({} payload) for {} -> {} bytes ({:.2}% of NEW), {} plan, profile {:?}, {} bytes of work RAM, {}",
                args.output.display(),
                built.bytes.len(),
                payload,
                old.len(),
                new.len(),
                100.0 * built.bytes.len() as f64 / new.len().max(1) as f64,
                format!("{:?}", built.plan).to_lowercase(),
                options.profile,
                h.ram_required,
                if key.is_some() {
                    format!("signed by key {}", hex(&h.key_id))
                } else {
                    "UNSIGNED".into()
                }
            );
        }
        MessageFormat::Json => outln!(
            "{}",
            serde_json::json!({
                "reason": "bundle-built",
                "bundle": args.output,
                "bundle_bytes": built.bytes.len(),
                "payload_bytes": payload,
                "old_bytes": old.len(),
                "new_bytes": new.len(),
                "plan": format!("{:?}", built.plan).to_lowercase(),
                "profile": format!("{:?}", options.profile).to_lowercase(),
                "ram_required": h.ram_required,
                "signed": key.is_some(),
                "key_id": hex(&h.key_id),
            })
        ),
    }
    Ok(ExitCode::SUCCESS)
}
