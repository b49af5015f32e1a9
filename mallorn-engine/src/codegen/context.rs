//! The data a template sees for one target (SKU): flash geometry, work RAM, trusted keys and,
//! per model, its slots and latest release. Field names are part of the template interface
//! documented in `docs/generated-files.md`; everything is plain numbers, strings and byte
//! lists, with no absolute path.

use mallorn_manifest::{FlashGeometry, Manifest, Model, ModelSlots, Region, Target};
use serde::Serialize;

use crate::build::error::BuildError;
use crate::build::inputs::Inputs;
use crate::build::keys::TrustedKeyFile;
use crate::build::plan::TargetPlan;
use crate::build::versions::header_version;
use crate::signing::hex;

/// What generated files say about who generated them (tests redact the version).
pub fn generator() -> String {
    format!("mallorn {}", env!("CARGO_PKG_VERSION"))
}

/// The template context of one target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetContext {
    /// `mallorn <version>`.
    pub generator: String,
    /// File name of the manifest (no directory).
    pub manifest_file: String,
    /// The SKU as written.
    pub sku: String,
    /// `sku_id(sku)`, 8 bytes.
    pub sku_id: Vec<u8>,
    /// The same as lowercase hex.
    pub sku_id_hex: String,
    /// Flash geometry.
    pub flash: FlashContext,
    /// `ram-buffer`: bytes the applier may use.
    pub ram_buffer: u64,
    /// Bytes the applier needs for any bundle built for this target (at most `ram_buffer`).
    pub work_len: u64,
    /// `trial-boots`: boots a new model gets on trial.
    pub trial_boots: u8,
    /// `verify-trial-boot`: whether the trial slot is re-hashed at every trial boot.
    pub verify_trial_boot: bool,
    /// The coding of this target's bundles (`smallest` or `stored`).
    pub coding: String,
    /// The decoder bits (`mallorn_runtime::format::Decoders`) any bundle built for this
    /// target may name in its header: the decoders the firmware's runtime must contain.
    pub decoders: u16,
    /// Their names, as in Mallorn.toml (`stored, smallest`).
    pub decoder_names: String,
    /// True when bundles are signed (false for an `--allow-unsigned` build).
    pub signed: bool,
    /// Public keys the device accepts, in Mallorn.toml order.
    pub trusted_keys: Vec<KeyContext>,
    /// Models the target carries, in Mallorn.toml order.
    pub models: Vec<ModelContext>,
}

/// Flash geometry; addresses are absolute, offsets count from `base`.
#[derive(Debug, Clone, Serialize)]
pub struct FlashContext {
    /// Address of the first byte.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
    /// One past the last address.
    pub end: u64,
    /// Erase block size.
    pub erase_size: u64,
    /// Program unit.
    pub write_size: u64,
}

/// A trusted public key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyContext {
    /// Key id (8 bytes).
    pub id: Vec<u8>,
    /// Key id as hex.
    pub id_hex: String,
    /// The 32-byte Ed25519 public key.
    pub public_key: Vec<u8>,
    /// Its file, as written in Mallorn.toml.
    pub file: String,
}

/// A model on the target.
#[derive(Debug, Clone, Serialize)]
pub struct ModelContext {
    /// The name as written (`okay-nabu`).
    pub name: String,
    /// A Rust identifier for it (`okay_nabu`).
    pub ident: String,
    /// An upper-case C/linker identifier part (`OKAY_NABU`).
    pub upper: String,
    /// `model_id(name)`, 8 bytes.
    pub model_id: Vec<u8>,
    /// The same as hex.
    pub model_id_hex: String,
    /// The latest release.
    pub latest: ReleaseContext,
    /// Size of the largest release (what both slots must hold).
    pub largest_release: u64,
    /// Number of releases in the lineage.
    pub release_count: usize,
    /// Image slot A.
    pub slot_a: RegionContext,
    /// Image slot B.
    pub slot_b: RegionContext,
    /// State journal.
    pub state: RegionContext,
}

/// A release.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseContext {
    /// The full semantic version text (`2.1.0-rc.1`).
    pub version: String,
    /// Major, as carried in bundle headers.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
    /// Anti-rollback security counter.
    pub counter: u32,
    /// File length in bytes.
    pub len: u64,
    /// SHA-256 of the file (32 bytes).
    pub sha256: Vec<u8>,
    /// The same as hex.
    pub sha256_hex: String,
    /// The file, as written in Mallorn.toml.
    pub file: String,
}

/// A flash region.
#[derive(Debug, Clone, Serialize)]
pub struct RegionContext {
    /// Offset from the flash base.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// One past the last offset.
    pub end_offset: u64,
    /// Absolute address of the first byte.
    pub address: u64,
    /// One past the last address.
    pub end_address: u64,
}

impl RegionContext {
    fn new(flash: &FlashGeometry, region: Region) -> Self {
        let address = flash.base + region.offset;
        Self {
            offset: region.offset,
            size: region.size,
            end_offset: region.offset + region.size,
            address,
            end_address: address + region.size,
        }
    }
}

/// Builds the context of `plan`'s target.
pub fn target_context(
    manifest: &Manifest,
    manifest_file: &str,
    plan: &TargetPlan,
    inputs: &Inputs,
    trusted: &[TrustedKeyFile],
    signed: bool,
) -> Result<TargetContext, BuildError> {
    let target: &Target = &manifest.targets[plan.manifest_target];
    let flash = target.flash;
    let mut models: Vec<ModelContext> = Vec::new();
    for model_plan in &plan.models {
        let model = &manifest.models[model_plan.manifest_model];
        let Some(slots) = target.slots_for(&model.name) else {
            continue;
        };
        let context = model_context(model, model_plan.manifest_model, slots, inputs, &flash)?;
        if let Some(other) = models
            .iter()
            .find(|m| m.ident == context.ident || m.upper == context.upper)
        {
            return Err(BuildError::NameClash {
                first: other.name.clone(),
                second: context.name,
                ident: context.upper,
            });
        }
        models.push(context);
    }
    let sku_id = mallorn_runtime::format::sku_id(&target.sku);
    Ok(TargetContext {
        generator: generator(),
        manifest_file: manifest_file.into(),
        sku: target.sku.clone(),
        sku_id: sku_id.to_vec(),
        sku_id_hex: hex(&sku_id),
        flash: FlashContext {
            base: flash.base,
            size: flash.size,
            end: flash.base + flash.size,
            erase_size: flash.erase_size,
            write_size: flash.write_size,
        },
        ram_buffer: target.ram_buffer,
        work_len: plan.coding.work_len() as u64,
        trial_boots: target.boot.trial_boots,
        verify_trial_boot: target.boot.verify_trial_boot,
        coding: plan.coding.name().into(),
        decoders: plan.coding.decoders().0,
        decoder_names: plan
            .coding
            .decoders()
            .names()
            .collect::<Vec<_>>()
            .join(", "),
        signed,
        trusted_keys: trusted.iter().map(key_context).collect(),
        models,
    })
}

/// The context of `model` (the manifest's model `manifest_model`) in the `slots` of a target
/// with `flash`: its names, its latest release and its regions.
fn model_context(
    model: &Model,
    manifest_model: usize,
    slots: &ModelSlots,
    inputs: &Inputs,
    flash: &FlashGeometry,
) -> Result<ModelContext, BuildError> {
    let latest_index = model.releases.len() - 1;
    let latest = &model.releases[latest_index];
    let file = inputs.get(manifest_model, latest_index);
    let version = header_version(&model.name, &latest.version)?;
    Ok(ModelContext {
        name: model.name.clone(),
        ident: rust_ident(&model.name),
        upper: model.name.to_ascii_uppercase().replace('-', "_"),
        model_id: mallorn_runtime::format::model_id(&model.name).to_vec(),
        model_id_hex: hex(&mallorn_runtime::format::model_id(&model.name)),
        latest: ReleaseContext {
            version: latest.version.to_string(),
            major: version.major,
            minor: version.minor,
            patch: version.patch,
            counter: latest.counter,
            len: file.bytes.len() as u64,
            sha256: file.sha256.to_vec(),
            sha256_hex: hex(&file.sha256),
            file: latest.path.written.clone(),
        },
        largest_release: (0..model.releases.len())
            .map(|i| inputs.get(manifest_model, i).bytes.len() as u64)
            .max()
            .unwrap_or(0),
        release_count: model.releases.len(),
        slot_a: RegionContext::new(flash, slots.slot_a),
        slot_b: RegionContext::new(flash, slots.slot_b),
        state: RegionContext::new(flash, slots.state),
    })
}

/// The context of a trusted public key.
fn key_context(trusted: &TrustedKeyFile) -> KeyContext {
    KeyContext {
        id: trusted.key.key_id().to_vec(),
        id_hex: hex(&trusted.key.key_id()),
        public_key: trusted.key.to_bytes().to_vec(),
        file: trusted.written.clone(),
    }
}

/// A Rust identifier for a model name (`[a-z0-9][a-z0-9_-]*`): dashes become underscores, a
/// leading digit gets a `model_` prefix and keywords a `_model` suffix.
pub fn rust_ident(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
        "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait",
        "true", "try", "type", "unsafe", "use", "where", "while", "abstract", "become", "box",
        "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield",
    ];
    let ident = name.replace('-', "_");
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        format!("model_{ident}")
    } else if KEYWORDS.contains(&ident.as_str()) || ident == "_" {
        format!("{ident}_model")
    } else {
        ident
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_become_identifiers() {
        assert_eq!(rust_ident("okay-nabu"), "okay_nabu");
        assert_eq!(rust_ident("3d-net"), "model_3d_net");
        assert_eq!(rust_ident("type"), "type_model");
        assert_eq!(rust_ident("kws_v2"), "kws_v2");
    }
}
