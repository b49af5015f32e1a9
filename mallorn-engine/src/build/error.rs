//! Why a build (or a plan, or a check) could not be done. Each error names the file, target or
//! model concerned; [`BuildError::help`] says what to change.

use std::path::PathBuf;

use crate::signing::KeyError;

/// A build failure. Nothing in the output directory has been changed when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `--target` named a SKU that Mallorn.toml does not define.
    #[error("no target `{sku}` in Mallorn.toml (targets: {known})")]
    UnknownTarget {
        /// The SKU asked for.
        sku: String,
        /// The SKUs that exist, comma-separated.
        known: String,
    },
    /// A SKU name that cannot be used as a folder name.
    #[error("target `{sku}`: the SKU cannot be used as a folder name in the output directory")]
    UnusableSku {
        /// The SKU.
        sku: String,
    },
    /// `--job` named a job that the build does not plan.
    #[error("no job `{job}` in this build (it has {count} jobs)")]
    UnknownJob {
        /// The id asked for.
        job: crate::build::job_id::JobId,
        /// How many jobs there are.
        count: usize,
    },
    /// Job directories cannot be merged.
    #[error(transparent)]
    Merge(#[from] crate::build::merge_error::MergeError),
    /// A model file could not be read.
    #[error("cannot read {path} (release {version} of model `{model}`): {source}")]
    ReadModel {
        /// The model.
        model: String,
        /// The release.
        version: String,
        /// The file, as written in Mallorn.toml.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A model file is not the format its `[[model]]` declares (or, with `auto`, no model).
    #[error("{path} (release {version} of model `{model}`, format = \"{format}\"): {source}")]
    ModelFormat {
        /// The model.
        model: String,
        /// The release.
        version: String,
        /// The file, as written in Mallorn.toml.
        path: String,
        /// The declared format.
        format: &'static str,
        /// Where and why it does not parse (boxed: it is large and rare).
        source: Box<crate::model::InputError>,
    },
    /// The shipped images of a lossy model could not be made.
    #[error("model `{model}`, release {version}: {source}")]
    Lossy {
        /// The model.
        model: String,
        /// The release.
        version: String,
        /// Why (boxed: it is large and rare).
        source: Box<crate::lossy::LossyError>,
    },
    /// The quality gate of a lossy model did not pass.
    #[error("quality gate of model `{model}`, release {version}: {source}")]
    Gate {
        /// The model.
        model: String,
        /// The release whose shipped image was evaluated.
        version: String,
        /// Why.
        source: crate::lossy::GateError,
    },
    /// A release does not fit a slot of a target.
    #[error(
        "release {version} of model `{model}` ({size} bytes) does not fit {region} of target `{sku}` ({capacity} bytes)"
    )]
    SlotOverflow {
        /// The target.
        sku: String,
        /// The model.
        model: String,
        /// The release.
        version: String,
        /// Its size.
        size: u64,
        /// `slot-a` or `slot-b`.
        region: &'static str,
        /// The slot's size.
        capacity: u64,
    },
    /// A version number does not fit the bundle header's 32-bit fields.
    #[error("version {version} of model `{model}`: {part} {value} is larger than 4294967295")]
    VersionTooLarge {
        /// The model.
        model: String,
        /// The version.
        version: String,
        /// `major`, `minor` or `patch`.
        part: &'static str,
        /// The number.
        value: u64,
    },
    /// None of the decoders a target allows can code its bundles.
    #[error("target `{sku}`: no allowed decoder can be used ({reasons})")]
    NoDecoder {
        /// The target.
        sku: String,
        /// Why each allowed decoder was passed over.
        reasons: String,
    },
    /// Two names map to the same identifier in generated code.
    #[error(
        "models `{first}` and `{second}` map to the same name `{ident}` in the generated files"
    )]
    NameClash {
        /// One model.
        first: String,
        /// The other.
        second: String,
        /// The shared identifier.
        ident: String,
    },
    /// Mallorn.toml has no `[signing]` table and unsigned bundles were not allowed.
    #[error("Mallorn.toml has no [signing] table: the bundles would be unsigned")]
    Unsigned,
    /// The signing key could not be loaded.
    #[error("signing key: {0}")]
    SigningKey(#[source] KeyError),
    /// A trusted public key could not be loaded.
    #[error("trusted key {path}: {source}")]
    TrustedKey {
        /// The file, as written in Mallorn.toml.
        path: String,
        /// What went wrong.
        #[source]
        source: KeyError,
    },
    /// The signing key's public key is not in `trusted-keys`.
    #[error(
        "the signing key (key id {key_id}) is not among [signing] trusted-keys (key ids {trusted}): devices would refuse its bundles"
    )]
    KeyNotTrusted {
        /// Id of the signing key.
        key_id: String,
        /// Ids of the trusted keys.
        trusted: String,
    },
    /// A source-tree output path names one file for several targets.
    #[error(
        "[output] {key} = \"{path}\" names a single file, but {count} targets are built: each needs its own"
    )]
    NeedsSkuPlaceholder {
        /// `rust`, `c-header` or `linker`.
        key: &'static str,
        /// The path as written.
        path: String,
        /// Number of targets.
        count: usize,
    },
    /// A template could not be loaded or rendered.
    #[error("template {name}: {detail}")]
    Template {
        /// Template file name.
        name: String,
        /// minijinja's explanation (with line numbers).
        detail: String,
    },
    /// A bundle could not be built.
    #[error("target `{sku}`, model `{model}`, {what}: {source}")]
    Bundle {
        /// The target.
        sku: String,
        /// The model.
        model: String,
        /// `1.0.0 -> 2.0.0` or `full image 2.0.0`.
        what: String,
        /// The engine's error.
        #[source]
        source: crate::bundle::BuildError,
    },
    /// The output directory holds files that a build did not write.
    #[error(
        "{} exists, is not empty and was not written by cargo mallorn (it has no {marker})",
        path.display()
    )]
    ForeignOutputDir {
        /// The directory.
        path: PathBuf,
        /// The file a directory mallorn wrote has.
        marker: &'static str,
    },
    /// A file system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`write`, `read`, `create`, `rename`).
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl BuildError {
    /// What the user can change to fix it, when there is something to say.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            Self::UnknownTarget { .. } => "pass one of the SKUs listed, as in `[[target]] sku`".into(),
            Self::UnusableSku { .. } => "rename the SKU in Mallorn.toml (`.` and `..` are not allowed)".into(),
            Self::UnknownJob { .. } => "pass an id that `cargo mallorn plan --json` lists in `jobs` (`<sku>~<model>~<from-version>`, or `<sku>~<model>~full`)".into(),
            Self::Merge(error) => error.help(),
            Self::ReadModel { .. } => "check `path` of that `[[model.release]]` in Mallorn.toml".into(),
            Self::ModelFormat { source, .. } => source.help().into(),
            Self::Lossy { source, .. } => match source.as_ref() {
                crate::lossy::LossyError::Parse { source, .. } => source.help().into(),
                crate::lossy::LossyError::Pinned { .. } => "pin the image the build wrote for this release (shipped/<model>/ in the output directory), or restore the `[model.lossy]` bounds it was published with".into(),
                crate::lossy::LossyError::Proof { .. } => "this is a bug in Mallorn's derivation (the proof caught it before anything was published): please report it with the model files; meanwhile exclude that tensor in `[model.lossy] exclude`".into(),
            },
            Self::Gate { source: crate::lossy::GateError::BelowThreshold { .. }, .. } => "tighten `[model.lossy]` (a smaller `max-abs-error` or `max-steps`, or `exclude` the sensitive tensors), or lower `[model.gate] threshold` if the score is acceptable".into(),
            Self::Gate { .. } => "check `[model.gate] command` in Mallorn.toml: it runs in the directory of Mallorn.toml with the release file and the shipped image appended, and must print one number".into(),
            Self::SlotOverflow { model, region, .. } => format!(
                "enlarge `{region}` in `[target.models.{model}]` of Mallorn.toml (both slots must hold every release)"
            ),
            Self::VersionTooLarge { .. } => "use smaller version numbers: bundle headers carry u32 major, minor and patch".into(),
            Self::NoDecoder { .. } => format!(
                "raise `ram-buffer`, or allow another decoder in `[target.codec] decoders` (\"stored\" needs the least: {})",
                mallorn_manifest::format_size(mallorn_manifest::MIN_RAM_BUFFER)
            ),
            Self::NameClash { .. } => "rename one of the models in Mallorn.toml".into(),
            Self::Unsigned => "add a [signing] table to Mallorn.toml (create a key with `cargo mallorn keygen`), or pass --allow-unsigned for a development build".into(),
            Self::SigningKey(KeyError::EnvMissing { name }) => format!(
                "export {name} with the PEM text of the private key (e.g. from a CI secret), or set [signing] key-file"
            ),
            Self::SigningKey(_) => "check [signing] key-file in Mallorn.toml; create a key with `cargo mallorn keygen -o FILE`".into(),
            Self::TrustedKey { .. } => "[signing] trusted-keys lists public key files (the FILE.pub that `cargo mallorn keygen` writes)".into(),
            Self::KeyNotTrusted { .. } => "add the signing key's public key (FILE.pub) to [signing] trusted-keys, and ship firmware that trusts it before publishing bundles signed with it".into(),
            Self::NeedsSkuPlaceholder { path, .. } => format!(
                "put `{{sku}}` in the path, e.g. \"{}\"", with_sku_placeholder(path)
            ),
            Self::Template { .. } => "fix the template named (in `[output] templates`, or the built-in one)".into(),
            Self::ForeignOutputDir { .. } => "remove it, or choose another directory (`[output] dir` in Mallorn.toml; `--out-dir` for a job)".into(),
            Self::Bundle { .. } | Self::Io { .. } => return None,
        })
    }
}

/// `dir/name.ext` -> `dir/name-{sku}.ext`, to suggest a per-SKU path.
fn with_sku_placeholder(path: &str) -> String {
    let (dir, file) = path.rsplit_once('/').map_or(("", path), |(d, f)| (d, f));
    let (stem, ext) = file
        .split_once('.')
        .map_or((file, String::new()), |(s, e)| (s, format!(".{e}")));
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    format!("{prefix}{stem}-{{sku}}{ext}")
}

/// Shorthand for [`BuildError::Io`].
pub(crate) fn io_error(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> BuildError {
    let path = path.into();
    move |source| BuildError::Io {
        action,
        path,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_a_per_sku_path() {
        assert_eq!(
            with_sku_placeholder("src/mallorn.rs"),
            "src/mallorn-{sku}.rs"
        );
        assert_eq!(with_sku_placeholder("memory.x"), "memory-{sku}.x");
        assert_eq!(with_sku_placeholder("gen/mallorn"), "gen/mallorn-{sku}");
    }

    /// The hint names the least work buffer any decoder needs, as validation computes it.
    #[test]
    fn no_decoder_hint_names_the_minimum() {
        let error = BuildError::NoDecoder {
            sku: "s".into(),
            reasons: "stored: needs more".into(),
        };
        let help = error.help().unwrap();
        let minimum = mallorn_manifest::format_size(mallorn_manifest::MIN_RAM_BUFFER);
        assert!(
            help.contains(&format!("needs the least: {minimum}")),
            "{help}"
        );
        assert!(!help.contains("always fits"), "{help}");
    }
}
