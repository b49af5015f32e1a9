//! Problems found in a Mallorn.toml, each tied to a byte span of the file, with a hint.
//!
//! The library stays free of any renderer: the CLI turns these into miette reports (human
//! output) or JSON objects (`--message-format json`).

use std::fmt;
use std::ops::Range;

/// A byte range into the Mallorn.toml text (start inclusive, end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// First byte of the range.
    pub start: usize,
    /// One past the last byte of the range.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (swapped if given backwards).
    pub fn new(start: usize, end: usize) -> Self {
        Self {
            start: start.min(end),
            end: start.max(end),
        }
    }

    /// Number of bytes covered.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True when the span covers no byte (it still has a position).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The 1-based line and column (in characters) where the span starts in `text`.
    pub fn line_col(&self, text: &str) -> LineCol {
        LineCol::of(text, self.start)
    }

    /// The 1-based line and column just past the end of the span in `text`.
    pub fn end_line_col(&self, text: &str) -> LineCol {
        LineCol::of(text, self.end)
    }
}

impl From<Range<usize>> for Span {
    fn from(range: Range<usize>) -> Self {
        Self::new(range.start, range.end)
    }
}

impl From<Span> for Range<usize> {
    fn from(span: Span) -> Self {
        span.start..span.end
    }
}

/// A human position in a text file: 1-based line, 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineCol {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in Unicode scalar values from the start of the line.
    pub column: usize,
}

impl LineCol {
    /// The position of byte `offset` in `text` (clamped to the text, and to a char boundary).
    pub fn of(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// How bad a problem is: errors make the manifest invalid, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The manifest cannot be used until this is fixed.
    Error,
    /// Worth fixing, but the manifest is usable.
    Warning,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A secondary place in the file that explains a problem (e.g. the other overlapping slot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// Where.
    pub span: Span,
    /// What it is, shown next to the span.
    pub label: String,
}

/// One problem in a Mallorn.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable kebab-case identifier of the rule, e.g. `unknown-key`, `region-overlap`.
    pub code: &'static str,
    /// One-line statement of the problem.
    pub message: String,
    /// The place in the file the problem is about.
    pub span: Span,
    /// Short text shown at the span (defaults to nothing).
    pub label: Option<String>,
    /// How to fix it.
    pub hint: Option<String>,
    /// Other places involved.
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// An error of kind `code` at `span`.
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: None,
            hint: None,
            related: Vec::new(),
        }
    }

    /// A warning of kind `code` at `span`.
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, span, message)
        }
    }

    /// Sets the text shown at the primary span.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a secondary span.
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push(Related {
            span,
            label: label.into(),
        });
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.severity.as_str(), self.message)
    }
}

/// Every problem found in one manifest, in file order once [`Diagnostics::sort`] ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// True when at least one problem is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.0.len() - self.error_count()
    }

    /// Orders problems by position in the file, then by message, so output is deterministic.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            (a.span.start, a.span.end, a.code, &a.message).cmp(&(
                b.span.start,
                b.span.end,
                b.code,
                &b.message,
            ))
        });
    }

    /// Keeps only the problems for which `keep` returns true.
    pub fn retain(&mut self, keep: impl FnMut(&Diagnostic) -> bool) {
        self.0.retain(keep);
    }

    /// The problems as a vector.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

impl std::ops::Deref for Diagnostics {
    type Target = [Diagnostic];

    fn deref(&self) -> &[Diagnostic] {
        &self.0
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(LineCol::of(text, 0), LineCol { line: 1, column: 1 });
        assert_eq!(LineCol::of(text, 6), LineCol { line: 2, column: 1 });
        // byte 9 is the space after "bé" ('é' is two bytes)
        assert_eq!(LineCol::of(text, 9), LineCol { line: 2, column: 3 });
        // inside a multi-byte char clamps back to its start
        assert_eq!(LineCol::of(text, 8), LineCol { line: 2, column: 2 });
        assert_eq!(LineCol::of(text, 999), LineCol { line: 3, column: 1 });
    }

    #[test]
    fn sorting_follows_the_file() {
        let mut list = Diagnostics::new();
        list.push(Diagnostic::error("b", Span::new(10, 12), "later"));
        list.push(Diagnostic::warning("a", Span::new(2, 3), "earlier"));
        list.sort();
        assert_eq!(list[0].message, "earlier");
        assert_eq!(list.error_count(), 1);
        assert_eq!(list.warning_count(), 1);
    }
}
