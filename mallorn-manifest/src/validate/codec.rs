//! Rules for `[codec]` and `[target.codec]`, and their merge into an effective policy.

use crate::diagnostic::{Diagnostic, Diagnostics, Span};
use crate::located::Located;
use crate::model::{CodecMode, CodecPolicy, Decoder};
use crate::raw::{RawCodec, RawCodecMode};

/// `base` with the keys set in `raw` replaced; invalid values keep the base value.
pub(super) fn policy(
    base: &CodecPolicy,
    raw: Option<&Located<RawCodec>>,
    out: &mut Diagnostics,
) -> CodecPolicy {
    let mut policy = base.clone();
    let Some(raw) = raw else {
        return policy;
    };
    let raw = &raw.value;
    if let Some(mode) = &raw.mode {
        match mode.value {
            RawCodecMode::Lossless => policy.mode = CodecMode::Lossless,
            RawCodecMode::LossyWord => out.push(lossy_per_model(mode.span, "max-abs-error = ...")),
            RawCodecMode::Lossy { max_abs_error } => out.push(lossy_per_model(
                mode.span,
                &format!("max-abs-error = {max_abs_error}"),
            )),
        }
    }
    if let Some(effort) = &raw.effort {
        policy.effort = effort.value;
    }
    if let Some(threshold) = &raw.full_image_threshold {
        let value = threshold.value;
        if value.is_finite() && value > 0.0 && value <= 1.0 {
            policy.full_image_threshold = value;
        } else {
            out.push(
                Diagnostic::error(
                    "invalid-threshold",
                    threshold.span,
                    format!("full-image-threshold {value} is outside (0, 1]"),
                )
                .with_label("must be > 0 and <= 1")
                .with_hint("it is a fraction of the full image's coded size; 0.9 (the default) ships the full image when the delta saves less than 10%"),
            );
        }
    }
    if let Some(decoders) = &raw.decoders {
        if let Some(list) = decoder_list(decoders, out) {
            policy.decoders = list;
        }
    }
    policy
}

/// `mode = "lossy"` or `mode = { lossy = ... }`: lossy settings live per model.
fn lossy_per_model(span: Span, bound: &str) -> Diagnostic {
    Diagnostic::error(
        "lossy-per-model",
        span,
        "lossy settings are declared per model, in `[model.lossy]`, not in the codec policy",
    )
    .with_label("not a codec setting")
    .with_hint(format!(
        "remove this `mode` (or write \"lossless\" to refuse lossy models on this SKU) and add \
         `[model.lossy]` with `{bound}` to each model that may ship lossy: every SKU carrying a \
         model then holds the same shipped image"
    ))
}

fn decoder_list(
    decoders: &Located<Vec<Located<Decoder>>>,
    out: &mut Diagnostics,
) -> Option<Vec<Decoder>> {
    if decoders.value.is_empty() {
        out.push(
            Diagnostic::error("no-decoders", decoders.span, "no decoder allowed")
                .with_label("empty list")
                .with_hint("allow at least one of \"stored\", \"fast\", \"smallest\""),
        );
        return None;
    }
    let mut list: Vec<Decoder> = Vec::new();
    let mut valid = true;
    for decoder in &decoders.value {
        if list.contains(&decoder.value) {
            out.push(
                Diagnostic::error(
                    "duplicate-decoder",
                    decoder.span,
                    format!("decoder `{}` is listed twice", decoder.value.as_str()),
                )
                .with_hint("list each decoder once"),
            );
            valid = false;
        } else {
            list.push(decoder.value);
        }
    }
    valid.then_some(list)
}
