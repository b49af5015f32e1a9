//! The bundle jobs of a build and their cache keys: one full image per target and model, one
//! delta per historical release; and the key of the whole build.

use mallorn_manifest::{CodecPolicy, LoadedManifest};
use mallorn_runtime::format::ModelVersion;

use crate::build::cache::{key_of, tool_fingerprint};
use crate::build::error::BuildError;
use crate::build::plan::PlanModel;
use crate::build::prepare::Prepared;
use crate::build::versions::header_version;
use crate::bundle::BundleIdentity;

/// One bundle to encode (or reuse).
pub(crate) struct Job {
    /// The model on a target it is for.
    pub(crate) at: PlanModel,
    /// Base release index; `None` for the full image.
    pub(crate) from: Option<usize>,
    pub(crate) identity: BundleIdentity,
    /// The cache key of this bundle.
    pub(crate) key: String,
    pub(crate) label: String,
}

/// The bundle jobs of a build.
pub(crate) struct Jobs {
    /// One full image per target and model, in plan order.
    pub(crate) fulls: Vec<Job>,
    /// One delta per historical release, on targets that build deltas.
    pub(crate) deltas: Vec<Job>,
}

impl Jobs {
    /// Every job, full images first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Job> {
        self.fulls.iter().chain(&self.deltas)
    }

    /// The jobs one published artefact of model `at` needs: its full image, and for a bundle
    /// from release `from` that release's delta (the full-image policy weighs one against the
    /// other; a target without deltas publishes the full image).
    pub(crate) fn for_artefact(self, at: PlanModel, from: Option<usize>) -> Self {
        Self {
            fulls: self.fulls.into_iter().filter(|job| job.at == at).collect(),
            deltas: self
                .deltas
                .into_iter()
                .filter(|job| job.at == at && from.is_some() && job.from == from)
                .collect(),
        }
    }
}

/// The bundle jobs: one full image per target and model, then one delta per historical
/// release on targets that build deltas.
pub(crate) fn jobs(loaded: &LoadedManifest, prepared: &Prepared) -> Result<Jobs, BuildError> {
    let fingerprint = tool_fingerprint();
    let key_id = prepared.keys.signer_id().unwrap_or_default();
    let mut fulls = Vec::new();
    let mut deltas = Vec::new();
    for (ti, target_plan) in prepared.plan.targets.iter().enumerate() {
        let coding = target_plan.coding.cache_key();
        for (mi, model_plan) in target_plan.models.iter().enumerate() {
            let at = PlanModel {
                target: ti,
                model: mi,
            };
            let model = model_plan.model_in(loaded);
            let to = model.releases.len() - 1;
            let latest = &model.releases[to];
            let to_version = header_version(&model.name, &latest.version)?;
            let result = prepared.inputs.get(model_plan.manifest_model, to);
            let result_sha = result.sha256;
            let error_bound = result.fidelity.and_then(|f| f.header_bound());
            let identity = |from_version: ModelVersion| BundleIdentity {
                model_id: mallorn_runtime::format::model_id(&model.name),
                sku_id: mallorn_runtime::format::sku_id(&target_plan.sku),
                from_version,
                to_version,
                security_counter: u64::from(latest.counter),
                error_bound,
            };
            let key = |identity: &BundleIdentity, base: Option<[u8; 32]>| {
                key_of(&[
                    fingerprint.as_bytes(),
                    &identity.key_bytes(),
                    &base.map_or(Vec::new(), |b| b.to_vec()),
                    &result_sha,
                    &coding,
                    // The declared format decides how both files are parsed.
                    model.format.as_str().as_bytes(),
                    key_id.as_bytes(),
                ])
            };
            let full_identity = identity(ModelVersion::default());
            fulls.push(Job {
                at,
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
                let base_sha = prepared.inputs.get(model_plan.manifest_model, from).sha256;
                deltas.push(Job {
                    at,
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
    Ok(Jobs { fulls, deltas })
}

/// The key of the whole build: tool, plan, generated files (which carry the inputs'
/// versions, hashes and keys), every bundle's key and the policy thresholds.
pub(crate) fn build_key(loaded: &LoadedManifest, prepared: &Prepared, jobs: &Jobs) -> String {
    let summary = serde_json::to_vec(&prepared.plan.summary(loaded)).expect("plain data");
    let mut parts: Vec<Vec<u8>> = vec![
        tool_fingerprint().as_bytes().to_vec(),
        summary,
        vec![u8::from(prepared.keys.unsigned)],
    ];
    for model in &loaded.models {
        // The shipped images and their records in index.json follow the bounds; whether a
        // build passes follows the gate.
        let lossy = (&model.name, &model.lossy, &model.gate);
        parts.push(serde_json::to_vec(&lossy).expect("plain data"));
    }
    for (target, files) in prepared.plan.targets.iter().zip(&prepared.rendered) {
        parts.push(policy_key(&target.target_in(loaded).codec));
        for (file, content) in files {
            parts.push(file.path.clone().into_bytes());
            parts.push(content.clone().into_bytes());
        }
    }
    for job in jobs.all() {
        parts.push(job.key.clone().into_bytes());
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    key_of(&refs)
}

/// The codec policy fields a build's output depends on beyond the bundles' own keys.
fn policy_key(codec: &CodecPolicy) -> Vec<u8> {
    format!(
        "full-image-threshold {} effort {} mode {}",
        codec.full_image_threshold,
        codec.effort.as_str(),
        codec.mode.as_str()
    )
    .into_bytes()
}
