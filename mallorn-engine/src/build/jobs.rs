//! The bundle jobs of a build and their cache keys: one full image per target and model, one
//! delta per historical release; and the key of the whole build.

use mallorn_manifest::LoadedManifest;
use mallorn_runtime::format::ModelVersion;

use crate::build::cache::{key_of, tool_fingerprint};
use crate::build::error::BuildError;
use crate::build::prepare::Prepared;
use crate::build::versions::header_version;
use crate::bundle::BundleIdentity;

/// One bundle to encode (or reuse).
pub(crate) struct Job {
    /// Index into `plan.targets`.
    pub(crate) target: usize,
    /// Index into that target's `models`.
    pub(crate) model: usize,
    /// Base release index; `None` for the full image.
    pub(crate) from: Option<usize>,
    pub(crate) identity: BundleIdentity,
    /// The cache key of this bundle.
    pub(crate) key: String,
    pub(crate) label: String,
}

/// The bundle jobs: one full image per target and model, then one delta per historical
/// release on targets that build deltas.
pub(crate) fn jobs(
    loaded: &LoadedManifest,
    prepared: &Prepared,
) -> Result<(Vec<Job>, Vec<Job>), BuildError> {
    let fingerprint = tool_fingerprint();
    let key_id = prepared.keys.signer_id().unwrap_or_default();
    let mut fulls = Vec::new();
    let mut deltas = Vec::new();
    for (ti, target_plan) in prepared.plan.targets.iter().enumerate() {
        let coding = format!("{:?}", target_plan.coding);
        for (mi, model_plan) in target_plan.models.iter().enumerate() {
            let model = &loaded.models[model_plan.model];
            let to = model.releases.len() - 1;
            let latest = &model.releases[to];
            let to_version = header_version(&model.name, &latest.version)?;
            let result_sha = prepared.inputs.get(model_plan.model, to).sha256;
            let identity = |from_version: ModelVersion| BundleIdentity {
                model_id: mallorn_runtime::format::model_id(&model.name),
                sku_id: mallorn_runtime::format::sku_id(&target_plan.sku),
                from_version,
                to_version,
                security_counter: u64::from(latest.counter),
            };
            let key = |identity: &BundleIdentity, base: Option<[u8; 32]>| {
                key_of(&[
                    fingerprint.as_bytes(),
                    format!("{identity:?}").as_bytes(),
                    &base.map_or(Vec::new(), |b| b.to_vec()),
                    &result_sha,
                    coding.as_bytes(),
                    // The declared format decides how both files are parsed.
                    model.format.as_str().as_bytes(),
                    key_id.as_bytes(),
                ])
            };
            let full_identity = identity(ModelVersion::default());
            fulls.push(Job {
                target: ti,
                model: mi,
                from: None,
                key: key(&full_identity, None),
                identity: full_identity,
                label: format!(
                    "{} {} full image {}",
                    target_plan.sku, model.name, latest.version
                ),
            });
            if !target_plan.coding.builds_deltas() {
                continue;
            }
            for (from, release) in model.releases[..to].iter().enumerate() {
                let delta_identity = identity(header_version(&model.name, &release.version)?);
                let base_sha = prepared.inputs.get(model_plan.model, from).sha256;
                deltas.push(Job {
                    target: ti,
                    model: mi,
                    from: Some(from),
                    key: key(&delta_identity, Some(base_sha)),
                    identity: delta_identity,
                    label: format!(
                        "{} {} {} -> {}",
                        target_plan.sku, model.name, release.version, latest.version
                    ),
                });
            }
        }
    }
    Ok((fulls, deltas))
}

/// The key of the whole build: tool, plan, generated files (which carry the inputs'
/// versions, hashes and keys), every bundle's key and the policy thresholds.
pub(crate) fn build_key(
    loaded: &LoadedManifest,
    prepared: &Prepared,
    fulls: &[Job],
    deltas: &[Job],
) -> String {
    let summary = serde_json::to_vec(&prepared.plan.summary(loaded)).expect("plain data");
    let mut parts: Vec<Vec<u8>> = vec![
        tool_fingerprint().as_bytes().to_vec(),
        summary,
        vec![u8::from(prepared.keys.unsigned)],
    ];
    for (target, files) in prepared.plan.targets.iter().zip(&prepared.rendered) {
        let codec = &loaded.targets[target.target].codec;
        parts.push(
            format!(
                "{} {:?} {:?}",
                codec.full_image_threshold, codec.effort, codec.mode
            )
            .into_bytes(),
        );
        for (file, content) in files {
            parts.push(file.path.clone().into_bytes());
            parts.push(content.clone().into_bytes());
        }
    }
    for job in fulls.iter().chain(deltas) {
        parts.push(job.key.clone().into_bytes());
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    key_of(&refs)
}
