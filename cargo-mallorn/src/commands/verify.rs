//! `cargo mallorn verify BUNDLE --public-key FILE`: checks a bundle the way a device will
//! (header, signature by a trusted key, SKU, model, counter, base, payload digest) and prints
//! its header. Writes no file. Exit 0 when the bundle passes, 1 when it is refused.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mallorn_engine::signing::{
    KeyError, PublicKey, VerifiedHeader, VerifyError, VerifyPolicy, hex, verify_bundle_with,
};
use mallorn_runtime::Error;
use mallorn_runtime::format::{Flags, model_id, sku_id};

use super::{CommandResult, failure};
use crate::cli::{GlobalArgs, MessageFormat};
use crate::header_view::{HeaderView, fidelity_text, flag_names};

/// Arguments of `cargo mallorn verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The bundle to check.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// A trusted public key (SPKI PEM, the FILE.pub keygen writes). Repeat for key rotation:
    /// the bundle's key id picks the key.
    #[arg(
        long = "public-key",
        value_name = "FILE",
        required_unless_present = "allow_unsigned"
    )]
    pub public_keys: Vec<PathBuf>,
    /// The model the bundle must apply to (the device's active slot); checked by length and
    /// SHA-256.
    #[arg(long, value_name = "OLD")]
    pub base: Option<PathBuf>,
    /// The SKU the bundle must be built for.
    #[arg(long, value_name = "NAME")]
    pub sku: Option<String>,
    /// The model name the bundle must update.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// The device's committed security counter; the bundle's must be greater.
    #[arg(long, value_name = "N")]
    pub committed_counter: Option<u64>,
    /// Accept an unsigned bundle (development only; devices refuse them).
    #[arg(long)]
    pub allow_unsigned: bool,
}

/// A refusal with the help text that tells the user what to do.
struct Failure {
    message: String,
    help: Option<String>,
}

impl Failure {
    fn new(message: impl Into<String>, help: Option<String>) -> Self {
        Self {
            message: message.into(),
            help,
        }
    }
}

/// Verifies the bundle and prints the outcome.
pub fn run(global: &GlobalArgs, args: &VerifyArgs) -> CommandResult {
    match verify(args) {
        Ok(verified) => {
            match global.message_format {
                MessageFormat::Human => out!("{}", describe(args, &verified)),
                MessageFormat::Json => outln!("{}", json(args, &verified)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(refused) => {
            if global.message_format == MessageFormat::Json {
                #[derive(serde::Serialize)]
                struct Refused<'a> {
                    ok: bool,
                    error: &'a str,
                }
                let refused_json = Refused {
                    ok: false,
                    error: &refused.message,
                };
                outln!("{}", crate::output::json_line(&refused_json));
            }
            Err(failure(refused.message, refused.help))
        }
    }
}

fn verify(args: &VerifyArgs) -> Result<VerifiedHeader, Failure> {
    let trusted = args
        .public_keys
        .iter()
        .map(|path| PublicKey::load(path))
        .collect::<Result<Vec<_>, KeyError>>()
        .map_err(|e| Failure::new(e.to_string(), None))?;
    let bundle = read(&args.bundle, "bundle")?;
    let base = args.base.as_deref().map(|p| read(p, "base")).transpose()?;
    let policy = VerifyPolicy {
        trusted_keys: &trusted,
        allow_unsigned: args.allow_unsigned,
        sku_id: args.sku.as_deref().map(sku_id),
        model_id: args.model.as_deref().map(model_id),
        committed_counter: args.committed_counter,
    };
    verify_bundle_with(&bundle, &policy, base.as_deref()).map_err(|err| {
        let place = args.bundle.display();
        Failure::new(format!("{place}: {err}"), help_for(&err, args, &trusted))
    })
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::new(format!("cannot read {what} {}: {e}", path.display()), None))
}

/// What the user can do about a refusal.
fn help_for(err: &VerifyError, args: &VerifyArgs, trusted: &[PublicKey]) -> Option<String> {
    let trusted_ids = trusted
        .iter()
        .map(|k| hex(&k.key_id()))
        .collect::<Vec<_>>()
        .join(", ");
    let help = match err.runtime_error()? {
        Error::UnknownKey { .. } => format!(
            "trusted key ids: [{trusted_ids}]; pass the signer's public key with --public-key"
        ),
        Error::BadSignature => "the header or signature was changed after it was signed; \
            fetch the bundle again from its publisher"
            .into(),
        Error::UnsignedRejected => "sign the bundle (`cargo mallorn diff ... --key FILE`), or \
            pass --allow-unsigned for a development build"
            .into(),
        Error::WrongSku { .. } => format!(
            "the device SKU given is {:?}; build the bundle for that SKU",
            args.sku.as_deref().unwrap_or_default()
        ),
        Error::WrongModel { .. } => format!(
            "the model given is {:?}; build the bundle from that model's lineage",
            args.model.as_deref().unwrap_or_default()
        ),
        Error::CounterNotIncreasing { .. } => "devices refuse rollbacks and replays; build the \
            release with a higher security counter"
            .into(),
        Error::WrongBase => "--base must be byte-identical to the model the bundle was built \
            from (the one on the device)"
            .into(),
        Error::PayloadTruncated | Error::PayloadTooLong | Error::PayloadSegmentMismatch { .. } => {
            "the file was cut short or altered in transit; download it again".into()
        }
        _ => return None,
    };
    Some(help)
}

/// Human-readable header fields and the verdict.
fn describe(args: &VerifyArgs, verified: &VerifiedHeader) -> String {
    let h = &verified.header;
    let signer = match verified.signed_by {
        Some(id) => format!("key {} (trusted)", hex(&id)),
        None => "nobody: unsigned, allowed by --allow-unsigned".into(),
    };
    let named = |id: [u8; 8], name: &Option<String>| match name {
        Some(name) => format!("{} ({name:?}, checked)", hex(&id)),
        None => hex(&id),
    };
    let base = if h.flags.contains(Flags::FULL_IMAGE) {
        "none (full image)".to_string()
    } else {
        let status = if verified.base_checked {
            "checked"
        } else {
            "not checked: pass --base OLD"
        };
        format!(
            "{} bytes, sha256 {} ({status})",
            h.base_len,
            hex(&h.base_sha256)
        )
    };
    let counter = match args.committed_counter {
        Some(device) => format!("{} (above committed {device})", h.security_counter),
        None => h.security_counter.to_string(),
    };
    let lines = [
        ("bundle", args.bundle.display().to_string()),
        ("signed by", signer),
        ("model id", named(h.model_id, &args.model)),
        ("sku id", named(h.sku_id, &args.sku)),
        ("from version", h.from_version.to_string()),
        ("to version", h.to_version.to_string()),
        ("security counter", counter),
        ("base", base),
        (
            "result",
            format!("{} bytes, sha256 {}", h.result_len, hex(&h.result_sha256)),
        ),
        (
            "payload",
            format!(
                "{} bytes, sha256 {} (checked)",
                h.payload_len,
                hex(&h.payload_sha256)
            ),
        ),
        ("flags", flag_names(h.flags).join(", ")),
        ("fidelity", fidelity_text(h)),
        (
            "decoders",
            h.decoders.names().collect::<Vec<_>>().join(", "),
        ),
        ("chunk alignment", format!("{} bytes", h.chunk_align())),
        ("work RAM", format!("{} bytes", h.ram_required)),
    ];
    let mut out = String::new();
    for (name, value) in lines {
        out.push_str(&format!("{name:<17} {value}\n"));
    }
    out.push_str("OK\n");
    out
}

/// The same as JSON: the verdict, then the header as `inspect --json` shows it.
fn json(args: &VerifyArgs, verified: &VerifiedHeader) -> serde_json::Value {
    #[derive(serde::Serialize)]
    struct Verified<'a> {
        ok: bool,
        bundle: &'a Path,
        signed_by: Option<String>,
        base_checked: bool,
        #[serde(flatten)]
        header: HeaderView,
    }
    serde_json::to_value(Verified {
        ok: true,
        bundle: &args.bundle,
        signed_by: verified.signed_by.map(|id| hex(&id)),
        base_checked: verified.base_checked,
        header: HeaderView::from(&verified.header),
    })
    .expect("plain data serializes")
}
