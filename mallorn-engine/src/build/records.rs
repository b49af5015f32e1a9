//! Building the `index.json` records: an artefact's record from its plan and its published
//! bundle's header, a target's record from its plan and template context.

use mallorn_manifest::LoadedManifest;
use mallorn_runtime::format::Flags;
use mallorn_runtime::hash::sha256;

use crate::build::bundles::Unit;
use crate::build::index::{
    ArtefactRecord, DigestRecord, GeneratedRecord, ImageRecord, ModelRecord, TargetRecord,
};
use crate::build::plan;
use crate::codegen::TargetContext;
use crate::signing::hex;

/// The index record of a planned artefact, before its bundle is known.
pub(crate) fn record_of(
    target: &plan::TargetPlan,
    model: &plan::ModelPlan,
    artefact: &plan::PlannedArtefact,
    releases: &[mallorn_manifest::Release],
) -> ArtefactRecord {
    ArtefactRecord {
        sku: target.sku.clone(),
        model: model.name.clone(),
        from: artefact.from.map(|i| releases[i].version.to_string()),
        to: releases[artefact.to].version.to_string(),
        kind: String::new(),
        path: artefact.path.clone(),
        size: 0,
        sha256: String::new(),
        key_id: None,
        ram_required: 0,
        security_counter: 0,
        lossless: false,
        plan: String::new(),
        decoders: Vec::new(),
        base: None,
        result: DigestRecord {
            len: 0,
            sha256: String::new(),
        },
        replaced_delta_size: None,
        reason: None,
    }
}

/// Fills the bundle-derived fields of `record` from the published bundle.
pub(crate) fn fill_from_unit(record: &mut ArtefactRecord, unit: &Unit, signer_id: Option<&str>) {
    let header = &unit.header;
    let full = header.flags.contains(Flags::FULL_IMAGE);
    record.kind = if full { "full" } else { "delta" }.into();
    record.size = unit.bytes.len() as u64;
    record.sha256 = hex(&sha256(&unit.bytes));
    record.key_id = if header.flags.contains(Flags::UNSIGNED) {
        None
    } else {
        Some(hex(&header.key_id))
    };
    debug_assert!(record.key_id.as_deref() == signer_id || signer_id.is_none());
    record.ram_required = header.ram_required;
    record.security_counter = header.security_counter;
    record.lossless = header.flags.contains(Flags::LOSSLESS);
    record.plan = unit.plan.into();
    record.decoders = header.decoders.names().map(str::to_owned).collect();
    record.base = (!full).then(|| DigestRecord {
        len: header.base_len,
        sha256: hex(&header.base_sha256),
    });
    record.result = DigestRecord {
        len: header.result_len,
        sha256: hex(&header.result_sha256),
    };
}

/// The index record of a target.
pub(crate) fn target_record(
    loaded: &LoadedManifest,
    plan: &plan::TargetPlan,
    context: &TargetContext,
    generated: Vec<GeneratedRecord>,
) -> TargetRecord {
    TargetRecord {
        sku: plan.sku.clone(),
        sku_id: context.sku_id_hex.clone(),
        coding: plan.coding.name().into(),
        coding_detail: plan.coding.describe(),
        notes: plan.notes.clone(),
        ram_buffer: context.ram_buffer,
        work_len: context.work_len,
        models: plan
            .models
            .iter()
            .zip(&context.models)
            .map(|(model_plan, model)| ModelRecord {
                model: model.name.clone(),
                model_id: model.model_id_hex.clone(),
                releases: loaded.models[model_plan.model]
                    .releases
                    .iter()
                    .map(|r| r.version.to_string())
                    .collect(),
                latest: ImageRecord {
                    version: model.latest.version.clone(),
                    counter: model.latest.counter,
                    len: model.latest.len,
                    sha256: model.latest.sha256_hex.clone(),
                },
            })
            .collect(),
        generated,
    }
}
