//! Producing every bundle job's bundle: taken from the previous output when its key is
//! unchanged, encoded otherwise (in parallel). A delta the previous build found too large is
//! not encoded again: its recorded size decides.

use std::collections::BTreeMap;
use std::path::Path;

use mallorn_manifest::LoadedManifest;

use crate::build::BuildObserver;
use crate::build::bundles::{Unit, build_unit};
use crate::build::cache::{Cache, CachedUnit, Reused};
use crate::build::error::BuildError;
use crate::build::jobs::{Job, Jobs};
use crate::build::plan::PlanModel;
use crate::build::prepare::Prepared;
use crate::build::publish::FullImagePolicy;
use crate::parallel;

/// Where a bundle came from in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provenance {
    /// Encoded in this run.
    Encoded,
    /// Read back from the previous output.
    Reused,
}

/// A job's bundle, with its cache key.
pub(crate) struct Built {
    pub(crate) key: String,
    pub(crate) unit: Unit,
    pub(crate) provenance: Provenance,
}

/// What a delta job produced.
pub(crate) enum DeltaOutcome {
    /// The delta bundle (published if the full-image policy admits it).
    Built(Built),
    /// A delta the previous build found larger than the policy allows, unchanged since: only
    /// its record is kept.
    KnownTooLarge {
        /// Its cache key.
        key: String,
        /// What the previous build recorded.
        cached: CachedUnit,
    },
}

impl DeltaOutcome {
    pub(crate) fn provenance(&self) -> Provenance {
        match self {
            Self::Built(built) => built.provenance,
            Self::KnownTooLarge { .. } => Provenance::Reused,
        }
    }
}

/// The bundles of one model on one target.
pub(crate) struct ModelBundles {
    /// Its full image.
    pub(crate) full: Built,
    /// Its deltas, by base release index.
    pub(crate) deltas: BTreeMap<usize, DeltaOutcome>,
}

/// Every job's outcome, by model on a target.
pub(crate) struct Encoded {
    pub(crate) models: BTreeMap<PlanModel, ModelBundles>,
}

/// Where previous bundles are and who encodes.
pub(crate) struct Workers<'a> {
    /// The previous output, whose bundles `previous` describes.
    pub(crate) previous_dir: &'a Path,
    /// Encoding threads.
    pub(crate) threads: usize,
    /// Progress reports.
    pub(crate) observer: &'a dyn BuildObserver,
}

/// Runs the jobs: full images first (a delta's fate depends on its full image's size). Every
/// delta's full image must be among `jobs`.
pub(crate) fn encode_all(
    loaded: &LoadedManifest,
    prepared: &Prepared,
    jobs: &Jobs,
    previous: &Cache,
    workers: &Workers<'_>,
) -> Result<Encoded, BuildError> {
    let to_encode = jobs
        .all()
        .filter(|job| !previous.units.contains_key(&job.key))
        .count();
    workers.observer.encoding(to_encode);
    let fulls = parallel::run(&jobs.fulls, workers.threads, |job| {
        reuse_or_encode(loaded, prepared, job, previous, workers)
    })?;
    let mut models: BTreeMap<PlanModel, ModelBundles> = jobs
        .fulls
        .iter()
        .zip(fulls)
        .map(|(job, full)| {
            let deltas = BTreeMap::new();
            (job.at, ModelBundles { full, deltas })
        })
        .collect();
    let full_len = |job: &Job| {
        models
            .get(&job.at)
            .map_or(0, |bundles| bundles.full.unit.bytes.len() as u64)
    };
    let deltas = parallel::run(&jobs.deltas, workers.threads, |job| {
        let target = prepared.plan.targets[job.at.target].target_in(loaded);
        let policy = FullImagePolicy::of(target);
        match previous.reuse(workers.previous_dir, &job.key) {
            Some(Reused::SizeOnly(cached))
                if !policy.publishes_delta(cached.size, full_len(job)) =>
            {
                Ok(DeltaOutcome::KnownTooLarge {
                    key: job.key.clone(),
                    cached,
                })
            }
            _ => reuse_or_encode(loaded, prepared, job, previous, workers).map(DeltaOutcome::Built),
        }
    })?;
    for (job, delta) in jobs.deltas.iter().zip(deltas) {
        if let (Some(bundles), Some(from)) = (models.get_mut(&job.at), job.from) {
            bundles.deltas.insert(from, delta);
        }
    }
    Ok(Encoded { models })
}

/// The job's bundle from the previous output, or encoded now.
fn reuse_or_encode(
    loaded: &LoadedManifest,
    prepared: &Prepared,
    job: &Job,
    previous: &Cache,
    workers: &Workers<'_>,
) -> Result<Built, BuildError> {
    let (unit, provenance) = match previous.reuse(workers.previous_dir, &job.key) {
        Some(Reused::Bundle(unit)) => (unit, Provenance::Reused),
        _ => (
            encode(loaded, prepared, job, workers.observer)?,
            Provenance::Encoded,
        ),
    };
    Ok(Built {
        key: job.key.clone(),
        unit,
        provenance,
    })
}

/// Encodes one job's bundle: its model's latest release, from its base release if it has one.
fn encode(
    loaded: &LoadedManifest,
    prepared: &Prepared,
    job: &Job,
    observer: &dyn BuildObserver,
) -> Result<Unit, BuildError> {
    let target_plan = &prepared.plan.targets[job.at.target];
    let model_plan = &target_plan.models[job.at.model];
    let model = model_plan.model_in(loaded);
    let latest = model.releases.len() - 1;
    let result = &prepared.inputs.get(model_plan.manifest_model, latest).bytes;
    let base = job.from.map(|from| {
        prepared
            .inputs
            .get(model_plan.manifest_model, from)
            .bytes
            .as_slice()
    });
    let unit = build_unit(
        &target_plan.coding,
        model.format,
        base,
        result,
        job.identity.clone(),
        prepared.keys.signer.as_ref(),
    )
    .map_err(|source| BuildError::Bundle {
        sku: target_plan.sku.clone(),
        model: model_plan.name.clone(),
        what: job.label.clone(),
        source,
    })?;
    observer.encoded(&job.label);
    Ok(unit)
}
