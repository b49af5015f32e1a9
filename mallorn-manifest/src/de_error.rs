//! Turns errors from the TOML parser and from serde into [`Diagnostic`]s.
//!
//! serde only carries a message, so custom errors raised while reading Mallorn.toml pack a
//! hint after a private separator ([`message_with_hint`]); this module unpacks it again and
//! adds "did you mean" hints to serde's `unknown variant` errors.

use crate::diagnostic::{Diagnostic, Span};
use crate::suggest::closest;

/// Separates message and hint inside a serde custom error message (never appears in TOML).
const HINT_SEPARATOR: char = '\u{1f}';

/// Packs `message` and `hint` into one serde error message.
pub(crate) fn message_with_hint(message: &str, hint: &str) -> String {
    format!("{message}{HINT_SEPARATOR}{hint}")
}

/// Converts a TOML syntax error (code `syntax`).
pub(crate) fn syntax_error(error: &toml::de::Error, text_len: usize) -> Diagnostic {
    let span = error.span().map_or(Span::new(0, 0), Span::from);
    let span = Span::new(span.start.min(text_len), span.end.min(text_len));
    Diagnostic::error("syntax", span, error.message().trim().to_owned())
        .with_hint("fix the TOML syntax; see https://toml.io for the format")
}

/// Converts an error raised while deserializing a section (code `invalid-value`, or
/// `missing-key`), falling back to `fallback` when the error carries no span.
pub(crate) fn value_error(error: &toml::de::Error, fallback: Span) -> Diagnostic {
    let span = error.span().map_or(fallback, Span::from);
    let raw = error.message().trim();
    let (message, mut hint) = match raw.split_once(HINT_SEPARATOR) {
        Some((message, hint)) => (message.to_owned(), Some(hint.to_owned())),
        None => (raw.to_owned(), None),
    };
    if hint.is_none() {
        hint = unknown_variant_hint(&message);
    }
    let code = if message.starts_with("missing field") {
        "missing-key"
    } else {
        "invalid-value"
    };
    let message = message.replace("missing field", "missing key");
    let mut diagnostic = Diagnostic::error(code, span, message);
    diagnostic.hint = hint;
    diagnostic
}

/// For serde's "unknown variant `x`, expected one of `a`, `b`": suggests the closest variant.
fn unknown_variant_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (wrong, expected) = rest.split_once('`')?;
    let options: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match closest(wrong, options.iter().copied()) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None => Some(format!(
            "use one of {}",
            options
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_variants_get_a_suggestion() {
        let hint = unknown_variant_hint(
            "unknown variant `tflit`, expected one of `auto`, `tflite`, `gguf`",
        );
        assert_eq!(hint.as_deref(), Some("did you mean `tflite`?"));
        let hint = unknown_variant_hint("unknown variant `zzz`, expected `a` or `b`");
        assert_eq!(hint.as_deref(), Some("use one of `a`, `b`"));
    }
}
