//! Choosing and writing the bundle published for every planned artefact: the delta when the
//! full-image policy admits it, otherwise the full image under a header that names the
//! delta's base release (so the file, its header and `index.json` all say the same update).

use mallorn_manifest::{LoadedManifest, Target};
use mallorn_runtime::hash::sha256;

use crate::build::bundles::Unit;
use crate::build::cache::{CACHE_FILE, Cache, CachedUnit};
use crate::build::encode::{Built, DeltaOutcome, Encoded, ModelBundles, Provenance};
use crate::build::error::BuildError;
use crate::build::index::ArtefactRecord;
use crate::build::output_dir::Staging;
use crate::build::plan::{ModelPlan, PlanModel, PlannedArtefact, TargetPlan};
use crate::build::prepare::Prepared;
use crate::build::records::artefact_record;
use crate::build::versions::header_version;
use crate::signing::{SigningKey, hex};

/// The full-image rule (`full-image-threshold`): a delta is published only when it is at
/// most `threshold` times the size of the full image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FullImagePolicy {
    threshold: f64,
}

impl FullImagePolicy {
    pub(crate) fn of(target: &Target) -> Self {
        Self {
            threshold: target.codec.full_image_threshold,
        }
    }

    /// Whether a delta of `delta_len` bytes is published next to a full image of `full_len`.
    pub(crate) fn publishes_delta(&self, delta_len: u64, full_len: u64) -> bool {
        delta_len as f64 <= self.threshold * full_len as f64
    }

    /// Why a delta of `delta_len` bytes was replaced by the full image.
    fn reason(&self, delta_len: u64, full_len: u64) -> String {
        format!(
            "the delta ({delta_len} bytes) is larger than full-image-threshold {} x the full image ({full_len} bytes)",
            self.threshold
        )
    }
}

/// Files going into the staging directory, each recorded in the new cache.
pub(crate) struct OutputWriter<'a> {
    staging: &'a Staging,
    pub(crate) cache: Cache,
}

impl<'a> OutputWriter<'a> {
    pub(crate) fn new(staging: &'a Staging, cache: Cache) -> Self {
        Self { staging, cache }
    }

    /// Writes `bytes` at `path` (relative to the output directory).
    pub(crate) fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), BuildError> {
        self.staging.write(path, bytes)?;
        self.cache.files.insert(path.into(), hex(&sha256(bytes)));
        Ok(())
    }

    /// Writes the cache file (which lists every file written before it).
    pub(crate) fn finish(self) -> Result<(), BuildError> {
        self.staging.write(CACHE_FILE, &self.cache.to_bytes())
    }
}

/// Bundles encoded and reused, for the report.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) encoded: usize,
    pub(crate) reused: usize,
}

impl Counts {
    fn add(&mut self, provenance: Provenance) {
        match provenance {
            Provenance::Encoded => self.encoded += 1,
            Provenance::Reused => self.reused += 1,
        }
    }
}

/// Writes the bundle of every planned artefact and returns their index records.
pub(crate) fn publish_artefacts(
    loaded: &LoadedManifest,
    prepared: &Prepared,
    encoded: &Encoded,
    writer: &mut OutputWriter<'_>,
) -> Result<(Vec<ArtefactRecord>, Counts), BuildError> {
    let mut records = Vec::new();
    let mut counts = Counts::default();
    for bundles in encoded.models.values() {
        counts.add(bundles.full.provenance);
        for outcome in bundles.deltas.values() {
            counts.add(outcome.provenance());
        }
    }
    for (at, artefact) in prepared.plan.artefacts() {
        let (unit, record) =
            publish_artefact(loaded, prepared, encoded, at, artefact, &mut writer.cache)?;
        writer.write(&artefact.path, &unit.bytes)?;
        records.push(record);
    }
    Ok((records, counts))
}

/// The bundle published for `artefact` of model `at` and its index record; records the jobs
/// it came from in `cache`. `encoded` must hold that model's bundles.
pub(crate) fn publish_artefact(
    loaded: &LoadedManifest,
    prepared: &Prepared,
    encoded: &Encoded,
    at: PlanModel,
    artefact: &PlannedArtefact,
    cache: &mut Cache,
) -> Result<(Unit, ArtefactRecord), BuildError> {
    let target_plan = &prepared.plan.targets[at.target];
    let bundles = encoded
        .models
        .get(&at)
        .expect("the model's bundles were encoded before they are published");
    let model = Model {
        loaded,
        target: target_plan,
        plan: &target_plan.models[at.model],
        bundles,
        policy: FullImagePolicy::of(target_plan.target_in(loaded)),
        key: prepared.keys.signer.as_ref(),
    };
    model.publish(artefact, cache)
}

/// One model on one target, with its bundles.
struct Model<'a> {
    loaded: &'a LoadedManifest,
    target: &'a TargetPlan,
    plan: &'a ModelPlan,
    bundles: &'a ModelBundles,
    policy: FullImagePolicy,
    key: Option<&'a SigningKey>,
}

impl Model<'_> {
    /// The bundle published for `artefact` and its record; records the job in `cache`.
    fn publish(
        &self,
        artefact: &PlannedArtefact,
        cache: &mut Cache,
    ) -> Result<(Unit, ArtefactRecord), BuildError> {
        let full = &self.bundles.full;
        let Some(from) = artefact.from else {
            cache.units.insert(
                full.key.clone(),
                CachedUnit::of(&full.unit, Some(&artefact.path)),
            );
            return Ok((full.unit.clone(), self.record(artefact, &full.unit)));
        };
        let (delta_len, reason) = match self.bundles.deltas.get(&from) {
            None => (
                None,
                format!("target codes {} (no deltas)", self.target.coding.describe()),
            ),
            Some(DeltaOutcome::Built(delta)) if self.admits(delta) => {
                cache.units.insert(
                    delta.key.clone(),
                    CachedUnit::of(&delta.unit, Some(&artefact.path)),
                );
                return Ok((delta.unit.clone(), self.record(artefact, &delta.unit)));
            }
            Some(DeltaOutcome::Built(delta)) => {
                cache
                    .units
                    .insert(delta.key.clone(), CachedUnit::of(&delta.unit, None));
                let len = delta.unit.bytes.len() as u64;
                (
                    Some(len),
                    self.policy.reason(len, full.unit.bytes.len() as u64),
                )
            }
            Some(DeltaOutcome::KnownTooLarge { key, cached }) => {
                cache.units.insert(key.clone(), cached.clone());
                (
                    Some(cached.size),
                    self.policy
                        .reason(cached.size, full.unit.bytes.len() as u64),
                )
            }
        };
        let unit = self.full_image_from(from)?;
        let mut record = self.record(artefact, &unit);
        record.replaced_delta_size = delta_len;
        record.reason = Some(reason);
        Ok((unit, record))
    }

    fn admits(&self, delta: &Built) -> bool {
        self.policy.publishes_delta(
            delta.unit.bytes.len() as u64,
            self.bundles.full.unit.bytes.len() as u64,
        )
    }

    /// The full image, its header naming release `from` as the one it replaces.
    fn full_image_from(&self, from: usize) -> Result<Unit, BuildError> {
        let model = self.plan.model_in(self.loaded);
        let from_version = header_version(&model.name, &model.releases[from].version)?;
        self.bundles
            .full
            .unit
            .full_image_from(from_version, self.key)
            .map_err(|source| BuildError::Bundle {
                sku: self.target.sku.clone(),
                model: model.name.clone(),
                what: format!("full image for {}", model.releases[from].version),
                source,
            })
    }

    fn record(&self, artefact: &PlannedArtefact, unit: &Unit) -> ArtefactRecord {
        let releases = &self.plan.model_in(self.loaded).releases;
        artefact_record(self.target, self.plan, artefact, releases, unit)
    }
}
