//! Rules for `[model.lossy]` and `[model.gate]`.

use crate::diagnostic::{Diagnostic, Diagnostics, Span};
use crate::located::Located;
use crate::model::{LossyPolicy, PatternBound, QualityGate, TensorBound};
use crate::raw::{RawGate, RawLossy};

/// The policy of `[model.lossy]`, or `None` (reported) when it is unusable.
pub(super) fn policy(
    model: &str,
    raw: &Located<RawLossy>,
    out: &mut Diagnostics,
) -> Option<LossyPolicy> {
    let default = bound(&raw.value.max_abs_error, &raw.value.max_steps, out)?;
    if default.is_exact() && raw.value.tensor.as_ref().is_none_or(Vec::is_empty) {
        out.push(
            Diagnostic::error(
                "lossy-without-bound",
                raw.span,
                format!("`[model.lossy]` of model `{model}` sets no bound"),
            )
            .with_hint("add `max-abs-error = 1e-4` (float weights) and/or `max-steps = 1` (quantised values), or remove `[model.lossy]` to ship releases byte-exactly"),
        );
        return None;
    }
    let exclude = raw.value.exclude.iter().flatten();
    let exclude: Vec<String> = exclude
        .filter(|p| pattern_ok(p, out))
        .map(|p| p.value.clone())
        .collect();
    let mut tensors = Vec::new();
    for entry in raw.value.tensor.iter().flatten() {
        let bound = bound(&entry.max_abs_error, &entry.max_steps, out);
        if let (true, Some(bound)) = (pattern_ok(&entry.pattern, out), bound) {
            tensors.push(PatternBound {
                pattern: entry.pattern.value.clone(),
                bound,
            });
        }
    }
    Some(LossyPolicy {
        default,
        exclude,
        tensors,
        span: raw.span,
    })
}

/// A bound from its two optional keys; `None` (reported) when a value is out of range.
fn bound(
    max_abs_error: &Option<Located<f64>>,
    max_steps: &Option<Located<u32>>,
    out: &mut Diagnostics,
) -> Option<TensorBound> {
    let mut ok = true;
    let max_abs_error = max_abs_error.as_ref().and_then(|e| {
        if e.value.is_finite() && e.value > 0.0 {
            return Some(e.value);
        }
        ok = false;
        out.push(
            Diagnostic::error(
                "invalid-bound",
                e.span,
                format!("max-abs-error {} is not a positive finite number", e.value),
            )
            .with_label("must be > 0")
            .with_hint("give the largest absolute change per weight, e.g. `max-abs-error = 1e-4`"),
        );
        None
    });
    let max_steps = max_steps.as_ref().and_then(|s| {
        if (1..=127).contains(&s.value) {
            return Some(s.value);
        }
        ok = false;
        out.push(
            Diagnostic::error(
                "invalid-bound",
                s.span,
                format!("max-steps {} is outside 1..=127", s.value),
            )
            .with_label("must be 1 to 127")
            .with_hint(
                "give the largest change per quantised value in steps, e.g. `max-steps = 1`",
            ),
        );
        None
    });
    ok.then_some(TensorBound {
        max_abs_error,
        max_steps,
    })
}

fn pattern_ok(pattern: &Located<String>, out: &mut Diagnostics) -> bool {
    if !pattern.value.is_empty() {
        return true;
    }
    out.push(
        Diagnostic::error("empty-pattern", pattern.span, "tensor pattern is empty").with_hint(
            "write a tensor name, with `*` for any run of characters: e.g. `\"*norm*\"`",
        ),
    );
    false
}

/// The gate of `[model.gate]`, or `None` (reported) when it is unusable.
pub(super) fn gate(
    model: &str,
    raw: &Located<RawGate>,
    lossy: bool,
    out: &mut Diagnostics,
) -> Option<QualityGate> {
    if !lossy {
        out.push(
            Diagnostic::error(
                "gate-without-lossy",
                raw.span,
                format!("model `{model}` has a quality gate but no `[model.lossy]`"),
            )
            .with_hint("a lossless model ships its release files byte-exactly, so there is nothing to evaluate: remove `[model.gate]` or add `[model.lossy]`"),
        );
        return None;
    }
    let command = match &raw.value.command {
        Some(c) if c.value.first().is_some_and(|p| !p.is_empty()) => c.value.clone(),
        other => {
            let span = other.as_ref().map_or(raw.span, |c| c.span);
            out.push(missing(
                span,
                "command",
                "`command = [\"python3\", \"eval/score.py\"]`",
            ));
            return None;
        }
    };
    let threshold = match &raw.value.threshold {
        Some(t) if t.value.is_finite() => t.value,
        other => {
            let span = other.as_ref().map_or(raw.span, |t| t.span);
            out.push(missing(span, "threshold", "`threshold = 0.999`"));
            return None;
        }
    };
    Some(QualityGate {
        command,
        threshold,
        span: raw.span,
    })
}

fn missing(span: Span, key: &str, example: &str) -> Diagnostic {
    Diagnostic::error(
        "invalid-gate",
        span,
        format!("`[model.gate]` needs a {key}"),
    )
    .with_hint(format!(
        "add {example}: the command gets the release file and the shipped image as its last two arguments and prints one number; the build fails below the threshold"
    ))
}
