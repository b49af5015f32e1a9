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
    let message = plain_type_names(&message);
    if hint.is_none() {
        hint = unknown_variant_hint(&message)
            .or_else(|| quoted_number_hint(&message))
            .or_else(|| {
                message.contains("expected a sequence").then(|| {
                    "this key takes a list: `[a, b]` for values, `[[name]]` (double brackets) for tables"
                        .to_owned()
                })
            })
            .or_else(|| {
                Some("see docs/mallorn-toml.md for the keys and types Mallorn.toml accepts".to_owned())
            });
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

/// Replaces Rust type names in serde messages with words a TOML author knows.
fn plain_type_names(message: &str) -> String {
    let mut message = message.to_owned();
    for (rust, plain) in [
        ("expected u32", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected f64", "expected a number"),
        ("expected a string", "expected a string in quotes"),
    ] {
        if let Some(rest) = message.strip_suffix(rust) {
            message = format!("{rest}{plain}");
        }
    }
    message
}

/// For `invalid type: string "1", expected ...`: a number written in quotes.
fn quoted_number_hint(message: &str) -> Option<String> {
    let quoted = message.strip_prefix("invalid type: string \"")?;
    let (text, _) = quoted.split_once('"')?;
    text.parse::<f64>()
        .is_ok()
        .then(|| format!("write the number without quotes: {text}"))
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
    fn numbers_in_quotes_get_a_hint() {
        let message = plain_type_names("invalid type: string \"1\", expected u32");
        assert_eq!(
            message,
            "invalid type: string \"1\", expected a non-negative integer"
        );
        assert_eq!(
            quoted_number_hint(&message).as_deref(),
            Some("write the number without quotes: 1")
        );
        assert_eq!(
            quoted_number_hint("invalid type: string \"x\", expected u32"),
            None
        );
    }

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
