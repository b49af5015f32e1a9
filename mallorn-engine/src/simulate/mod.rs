//! `cargo mallorn simulate` as a library: builds the bundles as `cargo mallorn build` does
//! (signed, into a temporary directory), then runs every published bundle of every model of
//! every selected SKU on a simulated NOR flash with the SKU's geometry and the model's slot
//! layout, with the device's real admission. Each bundle gets the power-cut sweep
//! ([`sweep`]) and the fault catalogue ([`faults`]), driven by a firmware-like driver
//! ([`firmware`]) that checks the invariants; [`report`] counts the runs.
//!
//! The simulated flash is the window of the SKU's flash that holds the model's slots and
//! journal, rebased to 0: nothing else of the flash is touched by the updater.

pub mod error;
pub mod faults;
pub mod firmware;
mod geometry;
pub mod report;
pub mod sweep;

use std::path::Path;
use std::sync::Mutex;

use mallorn_manifest::LoadedManifest;
use mallorn_runtime::storage::{BootPolicy, FlashLayout, Region};
use mallorn_runtime::verify::TrustedKey;

pub use error::SimulateError;
pub use firmware::{Case, Loaded, Violation};
pub use geometry::{SUPPORTED, supported_list};
pub use report::{Failure, Tally};

use crate::build::ArtefactRecord;
use crate::build::prepare::Prepared;
use crate::build::{self, BuildOptions, Quiet};
use crate::codegen::context::{ModelContext, RegionContext};
use geometry::{OnGeometry, with_geometry};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// SKUs to simulate; empty for all.
    pub targets: Vec<String>,
    /// Sweep every `sample`-th mutation (1: every one).
    pub sample: usize,
    /// Worker threads.
    pub threads: usize,
}

/// Progress of a simulation. Called from worker threads.
pub trait SimulateObserver: Sync {
    /// `count` bundles are about to be simulated.
    fn starting(&self, count: usize) {
        let _ = count;
    }
    /// One bundle is done.
    fn bundle_done(&self, case: &Case, tally: &Tally) {
        let _ = (case, tally);
    }
}

impl SimulateObserver for Quiet {}

/// `n` bytes as `4 KiB`, `64 KiB` or `n B`.
pub(crate) fn human_size(n: usize) -> String {
    if n >= 1024 && n % 1024 == 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} B")
    }
}

/// Builds the selected targets' bundles and simulates each one.
pub fn simulate(
    loaded: &LoadedManifest,
    options: &SimulateOptions,
    observer: &dyn SimulateObserver,
) -> Result<Tally, SimulateError> {
    let cases = cases(loaded, options)?;
    for case in &cases {
        if !SUPPORTED.contains(&(case.write_size, case.erase_size)) {
            return Err(SimulateError::UnsupportedGeometry {
                sku: case.sku.clone(),
                write_size: case.write_size,
                erase_size: case.erase_size,
                supported: supported_list(),
            });
        }
    }
    observer.starting(cases.len());
    let next = Mutex::new(0usize);
    let total = Mutex::new(Tally::default());
    std::thread::scope(|scope| {
        for _ in 0..options.threads.clamp(1, cases.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut next = next.lock().expect("no worker panics");
                        *next += 1;
                        *next - 1
                    };
                    let Some(case) = cases.get(i) else { break };
                    let tally = simulate_case(case, options.sample);
                    observer.bundle_done(case, &tally);
                    total.lock().expect("no worker panics").merge(tally);
                }
            });
        }
    });
    Ok(total.into_inner().expect("no worker panics"))
}

/// The sweep and the catalogue of one bundle.
pub fn simulate_case(case: &Case, sample: usize) -> Tally {
    struct Job<'a>(&'a Case, usize);
    impl OnGeometry for Job<'_> {
        type Out = Tally;
        fn run<const W: usize, const E: usize>(self) -> Tally {
            let mut tally = Tally::default();
            sweep::sweep::<W, E>(self.0, self.1, &mut tally);
            faults::catalogue::<W, E>(self.0, &mut tally);
            tally
        }
    }
    with_geometry(case.write_size, case.erase_size, Job(case, sample))
        .unwrap_or_else(|_| unreachable!("geometries are checked before the simulation starts"))
}

/// Builds the bundles and describes each as a [`Case`].
pub fn cases(
    loaded: &LoadedManifest,
    options: &SimulateOptions,
) -> Result<Vec<Case>, SimulateError> {
    let temp = tempfile::tempdir().map_err(SimulateError::TempDir)?;
    let out = temp.path().join("mallorn");
    let report = build::build(
        loaded,
        &BuildOptions {
            targets: options.targets.clone(),
            allow_unsigned: false,
            output_dir: out.clone(),
            threads: options.threads.max(1),
            write_source_tree: false,
            observer: &Quiet,
        },
    )?;
    let index = report
        .index
        .ok_or_else(|| SimulateError::NoIndex(out.clone()))?;
    let prepared = Prepared::new(loaded, &options.targets, false, false)?;
    let trusted_keys = prepared
        .keys
        .trusted
        .iter()
        .map(|t| t.key.trusted_key())
        .collect::<Vec<TrustedKey>>();
    let built = Built {
        loaded,
        prepared: &prepared,
        trusted_keys: &trusted_keys,
        out: &out,
    };
    index
        .artefacts
        .iter()
        .map(|artefact| built.case(artefact))
        .collect()
}

/// What [`cases`] built: the prepared inputs and the output directory.
struct Built<'a> {
    loaded: &'a LoadedManifest,
    prepared: &'a Prepared,
    trusted_keys: &'a [TrustedKey],
    out: &'a Path,
}

impl Built<'_> {
    /// The [`Case`] of one published bundle: its target's flash and policy, its model's
    /// regions, the releases it turns into one another, and its bytes.
    fn case(&self, artefact: &ArtefactRecord) -> Result<Case, SimulateError> {
        let (target_plan, context) = self
            .prepared
            .plan
            .targets
            .iter()
            .zip(&self.prepared.contexts)
            .find(|(t, _)| t.sku == artefact.sku)
            .expect("the index names planned targets");
        let model_plan = target_plan
            .models
            .iter()
            .find(|m| m.name == artefact.model)
            .expect("the index names planned models");
        let model_context = context
            .models
            .iter()
            .find(|m| m.name == artefact.model)
            .expect("the context has every planned model");
        let releases = &self.loaded.models[model_plan.manifest_model].releases;
        let from = artefact
            .from
            .as_ref()
            .and_then(|v| releases.iter().position(|r| r.version.to_string() == *v))
            .unwrap_or(0);
        let latest = releases.len() - 1;
        let path = self.out.join(&artefact.path);
        let bundle = std::fs::read(&path).map_err(|source| SimulateError::ReadBundle {
            path: path.clone(),
            source,
        })?;
        let window = FlashWindow::of(model_context);
        let release = |index: usize| {
            self.prepared
                .inputs
                .get(model_plan.manifest_model, index)
                .bytes
                .clone()
        };
        Ok(Case {
            sku: artefact.sku.clone(),
            model: artefact.model.clone(),
            bundle_path: artefact.path.clone(),
            write_size: context.flash.write_size as usize,
            erase_size: context.flash.erase_size as usize,
            layout: window.layout,
            capacity: window.capacity,
            window_offset: window.offset,
            old: release(from),
            new: release(latest),
            bundle,
            old_counter: u64::from(releases[from].counter),
            new_counter: u64::from(releases[latest].counter),
            sku_id: id8(&context.sku_id),
            model_id: id8(&model_context.model_id),
            trusted_keys: self.trusted_keys.to_vec(),
            work_len: context.work_len as usize,
            // The SKU's `trial-boots` and `verify-trial-boot`, as its generated BOOT_POLICY.
            policy: BootPolicy {
                trial_boots: context.trial_boots,
                verify_trial_boot: context.verify_trial_boot,
            },
        })
    }
}

/// The part of the flash a model's regions span, which the simulated flash holds.
struct FlashWindow {
    /// Its offset in the target's flash.
    offset: u64,
    /// Its length.
    capacity: usize,
    /// The model's slots and state, relative to the window.
    layout: FlashLayout,
}

impl FlashWindow {
    fn of(model: &ModelContext) -> Self {
        let regions = [&model.slot_a, &model.slot_b, &model.state];
        let offset = regions.iter().map(|r| r.offset).min().unwrap_or(0);
        let end = regions.iter().map(|r| r.offset + r.size).max().unwrap_or(0);
        let rebase = |r: &RegionContext| Region::new((r.offset - offset) as u32, r.size as u32);
        FlashWindow {
            offset,
            capacity: (end - offset) as usize,
            layout: FlashLayout::new(
                rebase(&model.slot_a),
                rebase(&model.slot_b),
                rebase(&model.state),
            ),
        }
    }
}

/// The first 8 bytes of a model or SKU id.
fn id8(bytes: &[u8]) -> [u8; 8] {
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[..8]);
    id
}

#[cfg(test)]
pub(crate) mod tests {
    use mallorn_runtime::storage::{BootPolicy, FlashLayout, Region};

    use super::Case;

    /// A case with no bundle, for the report's tests.
    pub(crate) fn tiny_case() -> Case {
        Case {
            sku: "sku".into(),
            model: "model".into(),
            bundle_path: "sku/model/full.mlrn".into(),
            write_size: 4,
            erase_size: 4096,
            layout: FlashLayout::new(
                Region::new(0, 4096),
                Region::new(4096, 4096),
                Region::new(8192, 8192),
            ),
            capacity: 16384,
            window_offset: 0,
            old: vec![1; 100],
            new: vec![2; 100],
            bundle: Vec::new(),
            old_counter: 1,
            new_counter: 2,
            sku_id: [0; 8],
            model_id: [0; 8],
            trusted_keys: Vec::new(),
            work_len: 4096,
            policy: BootPolicy::DEFAULT,
        }
    }
}
