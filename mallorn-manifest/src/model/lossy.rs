//! Lossy releases: the error bounds of a model's shipped images and its quality gate.

use serde::Serialize;

use crate::diagnostic::Span;
use crate::names::matches_pattern;

/// How far a model's shipped images may be from its release files. Bounds apply per element;
/// the engine proves every element against them at build time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossyPolicy {
    /// The model's bound, for tensors no [`LossyPolicy::tensors`] entry or exclusion matches.
    pub default: TensorBound,
    /// Tensor name patterns shipped exactly.
    pub exclude: Vec<String>,
    /// Per-pattern bounds, first match wins.
    pub tensors: Vec<PatternBound>,
    /// Where `[model.lossy]` is written in Mallorn.toml.
    #[serde(skip)]
    pub span: Span,
}

/// The bound of one tensor.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct TensorBound {
    /// Largest absolute error per float weight; `None`: floats ship exactly.
    pub max_abs_error: Option<f64>,
    /// Largest change per quantised value, in quantisation steps; `None`: exact.
    pub max_steps: Option<u32>,
}

impl TensorBound {
    /// The bound of a tensor shipped exactly.
    pub const EXACT: TensorBound = TensorBound {
        max_abs_error: None,
        max_steps: None,
    };

    /// True when nothing may change.
    pub fn is_exact(&self) -> bool {
        self.max_abs_error.is_none() && self.max_steps.is_none()
    }
}

/// A bound for the tensors whose name matches `pattern`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatternBound {
    /// Name pattern: `*` matches any run of characters, `?` one character.
    pub pattern: String,
    /// The bound of matching tensors.
    pub bound: TensorBound,
}

impl LossyPolicy {
    /// The bound of a tensor known by `names` (a shared buffer has several): exact when any
    /// name is excluded, else the first per-pattern bound matching any name, else the model's.
    pub fn bound_for<'n>(&self, names: impl IntoIterator<Item = &'n str> + Clone) -> TensorBound {
        let any = |pattern: &str| {
            names
                .clone()
                .into_iter()
                .any(|n| matches_pattern(pattern, n))
        };
        if self.exclude.iter().any(|p| any(p)) {
            return TensorBound::EXACT;
        }
        self.tensors
            .iter()
            .find(|t| any(&t.pattern))
            .map_or(self.default, |t| t.bound)
    }
}

/// A lossy model's quality gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityGate {
    /// Program and arguments; the release file and the shipped image are appended.
    pub command: Vec<String>,
    /// Lowest acceptable score.
    pub threshold: f64,
    /// Where `[model.gate]` is written in Mallorn.toml.
    #[serde(skip)]
    pub span: Span,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LossyPolicy {
        LossyPolicy {
            default: TensorBound {
                max_abs_error: Some(1e-3),
                max_steps: Some(1),
            },
            exclude: vec!["*norm*".into()],
            tensors: vec![
                PatternBound {
                    pattern: "encoder.?.weight".into(),
                    bound: TensorBound {
                        max_abs_error: Some(1e-5),
                        max_steps: None,
                    },
                },
                PatternBound {
                    pattern: "encoder.*".into(),
                    bound: TensorBound::EXACT,
                },
            ],
            span: Span::new(0, 0),
        }
    }

    #[test]
    fn exclusions_win_then_the_first_pattern_then_the_model() {
        let p = policy();
        assert_eq!(p.bound_for(["encoder.1.layernorm"]), TensorBound::EXACT);
        assert_eq!(p.bound_for(["encoder.1.weight"]).max_abs_error, Some(1e-5));
        assert_eq!(p.bound_for(["encoder.12.weight"]), TensorBound::EXACT);
        assert_eq!(p.bound_for(["decoder.weight"]), p.default);
        // A shared buffer is excluded when any of its names is.
        assert_eq!(
            p.bound_for(["decoder.weight", "final_norm"]),
            TensorBound::EXACT
        );
    }
}
