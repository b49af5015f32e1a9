//! Building the `index.json` records: an artefact's record from its plan and its published
//! bundle's header, a target's record from its plan and template context.

use mallorn_manifest::LoadedManifest;
use mallorn_runtime::format::Flags;
use mallorn_runtime::hash::sha256;

use crate::build::bundles::Unit;
use crate::build::index::{
    ArtefactKind, ArtefactRecord, DigestRecord, GeneratedRecord, ImageRecord, ModelRecord,
    TargetRecord,
};
use crate::build::plan;
use crate::codegen::TargetContext;
use crate::signing::hex;

/// The index record of a planned artefact published as `unit`.
pub(crate) fn artefact_record(
    target: &plan::TargetPlan,
    model: &plan::ModelPlan,
    artefact: &plan::PlannedArtefact,
    releases: &[mallorn_manifest::Release],
    unit: &Unit,
) -> ArtefactRecord {
    let header = &unit.header;
    let full = header.flags.contains(Flags::FULL_IMAGE);
    ArtefactRecord {
        sku: target.sku.clone(),
        model: model.name.clone(),
        from: artefact.from.map(|i| releases[i].version.to_string()),
        to: releases[artefact.to].version.to_string(),
        kind: if full {
            ArtefactKind::Full
        } else {
            ArtefactKind::Delta
        },
        path: artefact.path.clone(),
        size: unit.bytes.len() as u64,
        sha256: hex(&sha256(&unit.bytes)),
        key_id: (!header.flags.contains(Flags::UNSIGNED)).then(|| hex(&header.key_id)),
        ram_required: header.ram_required,
        security_counter: header.security_counter,
        lossless: header.flags.contains(Flags::LOSSLESS),
        error_bound: (!header.flags.contains(Flags::LOSSLESS))
            .then(|| f32::from_bits(header.error_bound_bits)),
        plan: unit.plan,
        decoders: header.decoders.names().map(str::to_owned).collect(),
        base: (!full).then(|| DigestRecord {
            len: header.base_len,
            sha256: hex(&header.base_sha256),
        }),
        result: DigestRecord {
            len: header.result_len,
            sha256: hex(&header.result_sha256),
        },
        replaced_delta_size: None,
        reason: None,
    }
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
        coding: plan.coding.decoder(),
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
                releases: model_plan
                    .model_in(loaded)
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
